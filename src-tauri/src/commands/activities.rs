//! Email Activities, Synchronize now and Preview, and sending email (the Outbox).

use super::{CmdResult, dto};
use serversync::api::{self, ActivityId, EmailActivityDetail, EmailActivityFilter, EmailActivityPage, RecordRef};
use serversync::api::{EmailStatus, MailboxSend, OutboxPage, SendEmail};
use serversync::api::{MailItemOutcome, MailboxId, MailboxSync, SyncRequest, SyncScope, SyncState};
use serversync::{Engine, Lang};
use tauri::State;

#[tauri::command]
#[specta::specta]
pub async fn list_email_activities(
    engine: State<'_, Engine>,
    filter: EmailActivityFilter,
    offset: u32,
    limit: u32,
) -> CmdResult<EmailActivityPage> {
    api::list_email_activities(&engine, filter, offset, limit).await.map_err(dto)
}

#[tauri::command]
#[specta::specta]
pub async fn get_email_activity(engine: State<'_, Engine>, id: ActivityId) -> CmdResult<EmailActivityDetail> {
    api::get_email_activity(&engine, id).await.map_err(dto)
}

#[tauri::command]
#[specta::specta]
pub async fn set_email_regarding(
    engine: State<'_, Engine>,
    id: ActivityId,
    regarding: Option<RecordRef>,
) -> CmdResult<EmailActivityDetail> {
    api::set_email_regarding(&engine, id, regarding).await.map_err(dto)
}

/// "Download .eml": saved in the Downloads folder; returns the file's path.
#[tauri::command]
#[specta::specta]
pub async fn export_email(engine: State<'_, Engine>, id: ActivityId) -> CmdResult<String> {
    api::export_email(&engine, id).await.map_err(dto)
}

/// Saves an attachment in the Downloads folder; returns the file's path.
#[tauri::command]
#[specta::specta]
pub async fn export_attachment(engine: State<'_, Engine>, id: ActivityId, position: u32) -> CmdResult<String> {
    api::export_attachment(&engine, id, position).await.map_err(dto)
}

/// Synchronize now (or Preview): one incoming cycle of each mailbox; each result stands alone.
#[tauri::command]
#[specta::specta]
pub async fn sync_mailboxes(
    engine: State<'_, Engine>,
    scope: SyncScope,
    request: SyncRequest,
) -> CmdResult<Vec<MailboxSync>> {
    api::sync_mailboxes(&engine, scope, request, Lang::En, std::sync::Arc::new(|_| {})).await.map_err(dto)
}

#[tauri::command]
#[specta::specta]
pub async fn get_sync_state(engine: State<'_, Engine>, id: MailboxId) -> CmdResult<SyncState> {
    api::get_sync_state(&engine, id).await.map_err(dto)
}

#[tauri::command]
#[specta::specta]
pub async fn list_item_outcomes(
    engine: State<'_, Engine>,
    mailbox: Option<MailboxId>,
    limit: u32,
) -> CmdResult<Vec<MailItemOutcome>> {
    api::list_item_outcomes(&engine, mailbox, limit).await.map_err(dto)
}

/// Send: the email goes to the outbox (Pending Send) and leaves with its mailbox's next cycle.
#[tauri::command]
#[specta::specta]
pub async fn send_email(engine: State<'_, Engine>, request: SendEmail) -> CmdResult<EmailActivityDetail> {
    api::send_email(&engine, request).await.map_err(dto)
}

#[tauri::command]
#[specta::specta]
pub async fn list_outbox_page(
    engine: State<'_, Engine>,
    status: Option<EmailStatus>,
    offset: u32,
    limit: u32,
) -> CmdResult<OutboxPage> {
    api::list_outbox_page(&engine, status, offset, limit).await.map_err(dto)
}

#[tauri::command]
#[specta::specta]
pub async fn retry_email(engine: State<'_, Engine>, id: ActivityId) -> CmdResult<EmailActivityDetail> {
    api::retry_email(&engine, id).await.map_err(dto)
}

/// Send now: one outgoing cycle of each mailbox.
#[tauri::command]
#[specta::specta]
pub async fn send_pending(engine: State<'_, Engine>, ids: Vec<MailboxId>) -> CmdResult<Vec<MailboxSend>> {
    api::send_pending(&engine, ids, Lang::En).await.map_err(dto)
}
