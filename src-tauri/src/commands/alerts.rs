//! Alerts.

use super::{CmdResult, dto};
use serversync::Engine;
use serversync::api;
use serversync::api::{Alert, AlertFilter};
use tauri::State;

#[tauri::command]
#[specta::specta]
pub async fn list_alerts(engine: State<'_, Engine>, filter: AlertFilter) -> CmdResult<Vec<Alert>> {
    api::list_alerts(&engine, filter).await.map_err(dto)
}

#[tauri::command]
#[specta::specta]
pub async fn delete_alerts(engine: State<'_, Engine>, filter: AlertFilter) -> CmdResult<u32> {
    api::delete_alerts(&engine, filter).await.map(|n| n as u32).map_err(dto)
}
