//! Events the shell pushes to the UI: a job changed (so the Test & Enable panel reads it at once
//! instead of waiting for its next poll); a sync cycle ended (so the dashboard and the mailbox
//! form refresh their figures).

use serde::Serialize;
use serversync::Engine;
use serversync::api::{JobId, MailboxId};
use tauri_specta::Event;

/// A Test & Enable job changed: a mailbox started or finished, or the job ended.
#[derive(Debug, Clone, Serialize, specta::Type, tauri_specta::Event)]
pub struct JobChanged {
    pub id: JobId,
}

/// Forwards the engine's job changes to the window for as long as the app runs.
pub fn forward_job_changes(app: tauri::AppHandle, engine: &Engine) {
    let mut changes = engine.subscribe_job_changes();
    tauri::async_runtime::spawn(async move {
        use tokio::sync::broadcast::error::RecvError;
        loop {
            match changes.recv().await {
                Ok(change) => {
                    let _ = JobChanged { id: change.job.into() }.emit(&app);
                }
                // Missed some: the UI reads whole jobs, so one notification is enough.
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => break,
            }
        }
    });
}

/// A sync cycle of a mailbox ended.
#[derive(Debug, Clone, Serialize, specta::Type, tauri_specta::Event)]
pub struct SyncChanged {
    pub mailbox_id: MailboxId,
}

/// Forwards the engine's sync cycle ends to the window for as long as the app runs.
pub fn forward_sync_changes(app: tauri::AppHandle, engine: &Engine) {
    let mut changes = engine.subscribe_sync_changes();
    tauri::async_runtime::spawn(async move {
        use tokio::sync::broadcast::error::RecvError;
        loop {
            match changes.recv().await {
                Ok(change) => {
                    let _ = SyncChanged { mailbox_id: change.mailbox.into() }.emit(&app);
                }
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => break,
            }
        }
    });
}
