//! Email Configuration Settings.

use super::{CmdResult, dto};
use serversync::Engine;
use serversync::api;
use serversync::api::{FirstRunProgress, OrgSettings, SettingsChanges};
use tauri::State;

#[tauri::command]
#[specta::specta]
pub async fn get_settings(engine: State<'_, Engine>) -> CmdResult<OrgSettings> {
    api::get_settings(&engine).await.map_err(dto)
}

#[tauri::command]
#[specta::specta]
pub async fn first_run_progress(engine: State<'_, Engine>) -> CmdResult<FirstRunProgress> {
    api::first_run_progress(&engine).await.map_err(dto)
}

#[tauri::command]
#[specta::specta]
pub async fn update_settings(engine: State<'_, Engine>, changes: SettingsChanges) -> CmdResult<OrgSettings> {
    let settings = api::update_settings(&engine, changes).await.map_err(dto)?;
    // The window's scheduler follows "Synchronize while the desktop app is open".
    api::follow_desktop_setting(&engine).await.map_err(dto)?;
    Ok(settings)
}

/// The choices and numeric bounds the forms offer, from the engine's own lists.
#[tauri::command]
#[specta::specta]
pub fn form_catalog() -> api::FormCatalog {
    api::form_catalog()
}
