//! Alerts.

use super::{CmdResult, dto};
use serversync::Engine;
use serversync::api;
use serversync::api::{Alert, AlertFilter, AlertPage};
use tauri::State;

#[tauri::command]
#[specta::specta]
pub async fn list_alerts(engine: State<'_, Engine>, filter: AlertFilter) -> CmdResult<Vec<Alert>> {
    api::list_alerts(&engine, filter).await.map_err(dto)
}

/// The Alerts wall, a window of rows at a time.
#[tauri::command]
#[specta::specta]
pub async fn list_alert_page(
    engine: State<'_, Engine>,
    filter: AlertFilter,
    offset: u32,
    limit: u32,
) -> CmdResult<AlertPage> {
    api::list_alert_page(&engine, filter, offset, limit).await.map_err(dto)
}

#[tauri::command]
#[specta::specta]
pub async fn delete_alerts(engine: State<'_, Engine>, filter: AlertFilter) -> CmdResult<u32> {
    api::delete_alerts(&engine, filter).await.map(|n| n as u32).map_err(dto)
}
