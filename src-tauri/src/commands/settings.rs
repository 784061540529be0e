//! Email Configuration Settings.

use super::{CmdResult, dto};
use serversync::Engine;
use serversync::api;
use serversync::domain::{OrgSettings, SettingsChanges};
use tauri::State;

#[tauri::command]
#[specta::specta]
pub async fn get_settings(engine: State<'_, Engine>) -> CmdResult<OrgSettings> {
    api::get_settings(&engine).await.map_err(dto)
}

#[tauri::command]
#[specta::specta]
pub async fn update_settings(engine: State<'_, Engine>, changes: SettingsChanges) -> CmdResult<OrgSettings> {
    api::update_settings(&engine, changes).await.map_err(dto)
}
