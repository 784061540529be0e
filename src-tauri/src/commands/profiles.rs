//! Email Server Profiles.

use super::{CmdResult, dto};
use serversync::api::{self, CreateProfile, ProfileView};
use serversync::api::{OrgSettings, Profile, ProfileChanges, ProfileId, RecordState, ServerType};
use serversync::api::{ProfileFieldVisibility, ProfileSecretKind};
use serversync::{Engine, secrets::Secret};
use tauri::State;

#[tauri::command]
#[specta::specta]
pub async fn list_profiles(engine: State<'_, Engine>, view: ProfileView) -> CmdResult<Vec<Profile>> {
    api::list_profiles(&engine, view).await.map_err(dto)
}

#[tauri::command]
#[specta::specta]
pub async fn get_profile(engine: State<'_, Engine>, id: ProfileId) -> CmdResult<Profile> {
    api::get_profile(&engine, id).await.map_err(dto)
}

#[tauri::command]
#[specta::specta]
pub async fn create_profile(engine: State<'_, Engine>, request: CreateProfile) -> CmdResult<Profile> {
    api::create_profile(&engine, request).await.map_err(dto)
}

#[tauri::command]
#[specta::specta]
pub async fn update_profile(engine: State<'_, Engine>, id: ProfileId, changes: ProfileChanges) -> CmdResult<Profile> {
    api::update_profile(&engine, id, changes).await.map_err(dto)
}

#[tauri::command]
#[specta::specta]
pub async fn set_profile_state(
    engine: State<'_, Engine>,
    ids: Vec<ProfileId>,
    state: RecordState,
) -> CmdResult<Vec<Profile>> {
    api::set_profile_state(&engine, ids, state).await.map_err(dto)
}

#[tauri::command]
#[specta::specta]
pub async fn set_default_profile(engine: State<'_, Engine>, id: ProfileId) -> CmdResult<OrgSettings> {
    api::set_default_profile(&engine, id).await.map_err(dto)
}

#[tauri::command]
#[specta::specta]
pub async fn delete_profile(engine: State<'_, Engine>, id: ProfileId) -> CmdResult<()> {
    api::delete_profile(&engine, id).await.map_err(dto)
}

/// The secret arrives once, is wrapped at once, and is never sent back.
#[tauri::command]
#[specta::specta]
pub async fn set_profile_secret(
    engine: State<'_, Engine>,
    id: ProfileId,
    kind: ProfileSecretKind,
    secret: String,
) -> CmdResult<Profile> {
    api::set_profile_secret(&engine, id, kind, Secret::new(secret)).await.map_err(dto)
}

#[tauri::command]
#[specta::specta]
pub async fn clear_profile_secret(
    engine: State<'_, Engine>,
    id: ProfileId,
    kind: ProfileSecretKind,
) -> CmdResult<Profile> {
    api::clear_profile_secret(&engine, id, kind).await.map_err(dto)
}

#[tauri::command]
#[specta::specta]
pub async fn profile_form_fields(
    engine: State<'_, Engine>,
    server_type: ServerType,
    changes: ProfileChanges,
) -> CmdResult<ProfileFieldVisibility> {
    api::profile_form_fields(&engine, server_type, changes).await.map_err(dto)
}

#[tauri::command]
#[specta::specta]
pub async fn new_profile_draft(engine: State<'_, Engine>, server_type: ServerType) -> CmdResult<Profile> {
    api::new_profile_draft(&engine, server_type).await.map_err(dto)
}

#[tauri::command]
#[specta::specta]
pub async fn test_profile_connection(engine: State<'_, Engine>, id: ProfileId) -> CmdResult<api::ConnectionTest> {
    api::test_profile_connection(&engine, id).await.map_err(dto)
}
