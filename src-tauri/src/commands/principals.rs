//! Users & Queues.

use super::{CmdResult, dto};
use serversync::Engine;
use serversync::api::{self, CreateQueue, CreateUser, PrincipalSort, QueuePage, RecordQuery, UserPage};
use serversync::api::{Queue, QueueChanges, QueueId, RecordState, User, UserChanges, UserId};
use tauri::State;

#[tauri::command]
#[specta::specta]
pub async fn get_user(engine: State<'_, Engine>, id: UserId) -> CmdResult<User> {
    api::get_user(&engine, id).await.map_err(dto)
}

#[tauri::command]
#[specta::specta]
pub async fn get_queue(engine: State<'_, Engine>, id: QueueId) -> CmdResult<Queue> {
    api::get_queue(&engine, id).await.map_err(dto)
}

#[tauri::command]
#[specta::specta]
pub async fn list_user_page(
    engine: State<'_, Engine>,
    query: RecordQuery,
    sort: PrincipalSort,
    offset: u32,
    limit: u32,
) -> CmdResult<UserPage> {
    api::list_user_page(&engine, query, sort, offset, limit).await.map_err(dto)
}

#[tauri::command]
#[specta::specta]
pub async fn list_queue_page(
    engine: State<'_, Engine>,
    query: RecordQuery,
    sort: PrincipalSort,
    offset: u32,
    limit: u32,
) -> CmdResult<QueuePage> {
    api::list_queue_page(&engine, query, sort, offset, limit).await.map_err(dto)
}

#[tauri::command]
#[specta::specta]
pub async fn create_user(engine: State<'_, Engine>, request: CreateUser) -> CmdResult<User> {
    api::create_user(&engine, request).await.map_err(dto)
}

#[tauri::command]
#[specta::specta]
pub async fn update_user(engine: State<'_, Engine>, id: UserId, changes: UserChanges) -> CmdResult<User> {
    api::update_user(&engine, id, changes).await.map_err(dto)
}

#[tauri::command]
#[specta::specta]
pub async fn set_user_state(engine: State<'_, Engine>, ids: Vec<UserId>, state: RecordState) -> CmdResult<Vec<User>> {
    api::set_user_state(&engine, ids, state).await.map_err(dto)
}

#[tauri::command]
#[specta::specta]
pub async fn create_queue(engine: State<'_, Engine>, request: CreateQueue) -> CmdResult<Queue> {
    api::create_queue(&engine, request).await.map_err(dto)
}

#[tauri::command]
#[specta::specta]
pub async fn update_queue(engine: State<'_, Engine>, id: QueueId, changes: QueueChanges) -> CmdResult<Queue> {
    api::update_queue(&engine, id, changes).await.map_err(dto)
}

#[tauri::command]
#[specta::specta]
pub async fn set_queue_state(
    engine: State<'_, Engine>,
    ids: Vec<QueueId>,
    state: RecordState,
) -> CmdResult<Vec<Queue>> {
    api::set_queue_state(&engine, ids, state).await.map_err(dto)
}
