//! Test & Enable Mailboxes, as a background job the UI follows.

use super::{CmdResult, dto};
use serversync::Engine;
use serversync::api::JobId;
use serversync::api::{self, JobDto, TestAndEnableScope};
use tauri::State;

#[tauri::command]
#[specta::specta]
pub async fn start_test_and_enable(engine: State<'_, Engine>, scope: TestAndEnableScope) -> CmdResult<JobDto> {
    api::start_test_and_enable(&engine, scope).await.map_err(dto)
}

#[tauri::command]
#[specta::specta]
pub async fn get_job(engine: State<'_, Engine>, id: JobId) -> CmdResult<JobDto> {
    api::get_job(&engine, id).await.map_err(dto)
}

#[tauri::command]
#[specta::specta]
pub async fn cancel_job(engine: State<'_, Engine>, id: JobId) -> CmdResult<JobDto> {
    api::cancel_job(&engine, id).await.map_err(dto)
}
