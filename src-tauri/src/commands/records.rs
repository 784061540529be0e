//! Contacts, Accounts and Leads.

use super::{CmdResult, dto};
use serversync::Engine;
use serversync::api::{self, ImportSummary, PrincipalView, RecordQuery, RecordSelection, RecordSort, RecordState};
use serversync::api::{
    Account, AccountChanges, AccountId, AccountPage, Contact, ContactChanges, ContactId, ContactPage, Lead,
    LeadChanges, LeadId, LeadPage,
};
use tauri::State;

/// The eight commands of one record kind.
macro_rules! record_commands {
    ($ty:ident, $id:ident, $changes:ident, $create:ident, $update:ident, $list:ident, $set_state:ident, $import:ident,
     $page_ty:ident, $page:ident, $selected:ident, $get:ident) => {
        #[tauri::command]
        #[specta::specta]
        pub async fn $get(engine: State<'_, Engine>, id: $id) -> CmdResult<$ty> {
            api::$get(&engine, id).await.map_err(dto)
        }

        #[tauri::command]
        #[specta::specta]
        pub async fn $page(
            engine: State<'_, Engine>,
            query: RecordQuery,
            sort: RecordSort,
            offset: u32,
            limit: u32,
        ) -> CmdResult<$page_ty> {
            api::$page(&engine, query, sort, offset, limit).await.map_err(dto)
        }

        #[tauri::command]
        #[specta::specta]
        pub async fn $selected(engine: State<'_, Engine>, selection: RecordSelection) -> CmdResult<Vec<$id>> {
            api::$selected(&engine, selection).await.map_err(dto)
        }

        #[tauri::command]
        #[specta::specta]
        pub async fn $create(engine: State<'_, Engine>, changes: $changes) -> CmdResult<$ty> {
            api::$create(&engine, changes).await.map_err(dto)
        }

        #[tauri::command]
        #[specta::specta]
        pub async fn $update(engine: State<'_, Engine>, id: $id, changes: $changes) -> CmdResult<$ty> {
            api::$update(&engine, id, changes).await.map_err(dto)
        }

        #[tauri::command]
        #[specta::specta]
        pub async fn $list(engine: State<'_, Engine>, view: PrincipalView) -> CmdResult<Vec<$ty>> {
            api::$list(&engine, view).await.map_err(dto)
        }

        #[tauri::command]
        #[specta::specta]
        pub async fn $set_state(engine: State<'_, Engine>, ids: Vec<$id>, state: RecordState) -> CmdResult<Vec<$ty>> {
            api::$set_state(&engine, ids, state).await.map_err(dto)
        }

        /// CSV text (the file's content, read by the window), all rows or none.
        #[tauri::command]
        #[specta::specta]
        pub async fn $import(engine: State<'_, Engine>, csv: String) -> CmdResult<ImportSummary> {
            api::$import(&engine, csv).await.map_err(dto)
        }
    };
}

record_commands!(
    Contact,
    ContactId,
    ContactChanges,
    create_contact,
    update_contact,
    list_contacts,
    set_contact_state,
    import_contacts,
    ContactPage,
    list_contact_page,
    selected_contact_ids,
    get_contact
);
record_commands!(
    Account,
    AccountId,
    AccountChanges,
    create_account,
    update_account,
    list_accounts,
    set_account_state,
    import_accounts,
    AccountPage,
    list_account_page,
    selected_account_ids,
    get_account
);
record_commands!(
    Lead,
    LeadId,
    LeadChanges,
    create_lead,
    update_lead,
    list_leads,
    set_lead_state,
    import_leads,
    LeadPage,
    list_lead_page,
    selected_lead_ids,
    get_lead
);
