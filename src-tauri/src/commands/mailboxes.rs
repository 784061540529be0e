//! Mailboxes.

use super::{CmdResult, dto};
use serversync::api::{
    self, CreateForwardMailbox, MailboxDto, MailboxPage, MailboxQuery, MailboxSelection, MailboxSort,
};
use serversync::api::{MailboxChanges, MailboxId, RecordState, UserId};
use serversync::{Engine, secrets::Secret};
use tauri::State;

#[tauri::command]
#[specta::specta]
pub async fn list_mailbox_page(
    engine: State<'_, Engine>,
    query: MailboxQuery,
    sort: MailboxSort,
    offset: u32,
    limit: u32,
) -> CmdResult<MailboxPage> {
    api::list_mailbox_page(&engine, query, sort, offset, limit).await.map_err(dto)
}

#[tauri::command]
#[specta::specta]
pub async fn selected_mailbox_ids(engine: State<'_, Engine>, selection: MailboxSelection) -> CmdResult<Vec<MailboxId>> {
    api::selected_mailbox_ids(&engine, selection).await.map_err(dto)
}

#[tauri::command]
#[specta::specta]
pub async fn get_mailbox(engine: State<'_, Engine>, id: MailboxId) -> CmdResult<MailboxDto> {
    api::get_mailbox(&engine, id).await.map_err(dto)
}

#[tauri::command]
#[specta::specta]
pub async fn create_forward_mailbox(engine: State<'_, Engine>, request: CreateForwardMailbox) -> CmdResult<MailboxDto> {
    api::create_forward_mailbox(&engine, request).await.map_err(dto)
}

/// Deletes a forward mailbox (user and queue mailboxes go with their owner).
#[tauri::command]
#[specta::specta]
pub async fn delete_forward_mailbox(engine: State<'_, Engine>, id: MailboxId) -> CmdResult<()> {
    api::delete_forward_mailbox(&engine, id).await.map_err(dto)
}

#[tauri::command]
#[specta::specta]
pub async fn update_mailbox(
    engine: State<'_, Engine>,
    id: MailboxId,
    changes: MailboxChanges,
) -> CmdResult<MailboxDto> {
    api::update_mailbox(&engine, id, changes).await.map_err(dto)
}

#[tauri::command]
#[specta::specta]
pub async fn edit_mailboxes(
    engine: State<'_, Engine>,
    ids: Vec<MailboxId>,
    changes: MailboxChanges,
) -> CmdResult<Vec<MailboxDto>> {
    api::edit_mailboxes(&engine, ids, changes).await.map_err(dto)
}

#[tauri::command]
#[specta::specta]
pub async fn set_mailbox_state(
    engine: State<'_, Engine>,
    ids: Vec<MailboxId>,
    state: RecordState,
) -> CmdResult<Vec<MailboxDto>> {
    api::set_mailbox_state(&engine, ids, state).await.map_err(dto)
}

#[tauri::command]
#[specta::specta]
pub async fn approve_mailboxes(
    engine: State<'_, Engine>,
    ids: Vec<MailboxId>,
    acting_user: Option<UserId>,
) -> CmdResult<Vec<MailboxDto>> {
    api::approve_mailboxes(&engine, ids, acting_user).await.map_err(dto)
}

#[tauri::command]
#[specta::specta]
pub async fn reject_mailboxes(
    engine: State<'_, Engine>,
    ids: Vec<MailboxId>,
    acting_user: Option<UserId>,
) -> CmdResult<Vec<MailboxDto>> {
    api::reject_mailboxes(&engine, ids, acting_user).await.map_err(dto)
}

#[tauri::command]
#[specta::specta]
pub async fn apply_default_settings(engine: State<'_, Engine>, ids: Vec<MailboxId>) -> CmdResult<Vec<MailboxDto>> {
    api::apply_default_settings(&engine, ids).await.map_err(dto)
}

/// The password arrives once, is wrapped at once, and is never sent back.
#[tauri::command]
#[specta::specta]
pub async fn set_mailbox_credentials(
    engine: State<'_, Engine>,
    id: MailboxId,
    user_name: String,
    password: String,
) -> CmdResult<MailboxDto> {
    api::set_mailbox_credentials(&engine, id, user_name, Secret::new(password)).await.map_err(dto)
}

#[tauri::command]
#[specta::specta]
pub async fn clear_mailbox_credentials(engine: State<'_, Engine>, id: MailboxId) -> CmdResult<MailboxDto> {
    api::clear_mailbox_credentials(&engine, id).await.map_err(dto)
}
