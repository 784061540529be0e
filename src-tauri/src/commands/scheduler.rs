//! The scheduler while the window is open, each mailbox's schedule and history, and the
//! monitoring figures.

use super::{CmdResult, dto};
use serversync::api::{self, CycleEnd, MailboxId, MonitoringSummary, SchedulerStatus, SyncRun, WorkloadSchedule};
use serversync::{Engine, Lang};
use tauri::State;

/// What the scheduler of this window is doing (the status indicator).
#[tauri::command]
#[specta::specta]
pub async fn scheduler_status(engine: State<'_, Engine>) -> CmdResult<SchedulerStatus> {
    api::scheduler_status(&engine).await.map_err(dto)
}

/// Runs every workload that is due now, once.
#[tauri::command]
#[specta::specta]
pub async fn run_due_workloads(engine: State<'_, Engine>) -> CmdResult<Vec<CycleEnd>> {
    api::run_due_workloads(&engine, Default::default()).await.map_err(dto)
}

#[tauri::command]
#[specta::specta]
pub async fn get_mailbox_schedule(engine: State<'_, Engine>, id: MailboxId) -> CmdResult<Vec<WorkloadSchedule>> {
    api::get_mailbox_schedule(&engine, id).await.map_err(dto)
}

#[tauri::command]
#[specta::specta]
pub async fn list_sync_runs(engine: State<'_, Engine>, id: MailboxId, limit: u32) -> CmdResult<Vec<SyncRun>> {
    api::list_sync_runs(&engine, id, limit).await.map_err(dto)
}

/// Download Mailbox Details: the CSV goes to the Downloads folder; returns its path.
#[tauri::command]
#[specta::specta]
pub async fn export_mailbox_details(engine: State<'_, Engine>, id: MailboxId, lang: String) -> CmdResult<String> {
    let lang = Lang::from_locale(&lang).unwrap_or(Lang::En);
    api::export_mailbox_details(&engine, id, lang).await.map_err(dto)
}

/// The Monitoring dashboard's figures over the last `hours`.
#[tauri::command]
#[specta::specta]
pub async fn monitoring_summary(engine: State<'_, Engine>, hours: u32) -> CmdResult<MonitoringSummary> {
    api::monitoring_summary(&engine, hours).await.map_err(dto)
}
