//! The `email_server_profile` table.

use super::record::{self, table_record};
use crate::Result;
use crate::domain::{Profile, ProfileId, RecordState, Timestamp};
use rusqlite::{Connection, OptionalExtension, Transaction};

table_record!(Profile, "email_server_profile", id: ProfileId {
    name, description, server_type, owner_user_id, state,
    tenant_id, oauth_client_id, oauth_credential_kind, server_authority, aad_resource_id,
    authority_host, graph_endpoint,
    use_autodiscover, incoming_location, outgoing_location,
    incoming_credential_mode, incoming_user_name, incoming_use_impersonation,
    use_same_settings_for_outgoing, outgoing_credential_mode, outgoing_user_name, outgoing_use_impersonation,
    incoming_port, outgoing_port, incoming_use_ssl, outgoing_use_ssl, incoming_tls_mode, outgoing_tls_mode,
    incoming_auth_protocol, outgoing_auth_protocol, ca_file,
    process_email_from, min_polling_interval_minutes, max_concurrent_connections,
    move_failed_to_undeliverable, send_alert_email,
    timeout_mailbox_connection, timeout_seconds,
    is_incoming_password_set, is_outgoing_password_set, is_oauth_secret_set, oauth_certificate_thumbprint,
    last_test_started_on, last_test_duration_ms, last_test_execution_status, last_authorization_status,
    last_test_message, created_on, modified_on,
});

/// One profile, or `record.not_found`.
pub fn get(c: &Connection, id: ProfileId) -> Result<Profile> {
    record::get(c, id, ProfileId::ENTITY)
}

/// The profiles in `state` (all of them for `None`), by name.
pub fn list(c: &Connection, state: Option<RecordState>) -> Result<Vec<Profile>> {
    match state {
        Some(s) => record::select(c, "state = ?1", "name COLLATE NOCASE, id", &[&s]),
        None => record::select(c, "1", "name COLLATE NOCASE, id", &[]),
    }
}

/// Inserts a new profile and returns its id.
pub fn insert(tx: &Transaction<'_>, p: &Profile) -> Result<ProfileId> {
    record::insert(tx, p).map(ProfileId)
}

/// Writes every field of a profile.
pub fn update(tx: &Transaction<'_>, p: &Profile) -> Result<()> {
    record::update(tx, p)
}

/// Deletes a profile (its mailboxes lose their profile; its alerts go with it).
pub fn delete(tx: &Transaction<'_>, id: ProfileId) -> Result<()> {
    record::delete::<Profile>(tx, id)?;
    Ok(())
}

/// The profile's Maximum Concurrent Connections and when the profile last changed; `None` when
/// the profile does not exist.
pub fn max_concurrent_connections(c: &Connection, id: ProfileId) -> Result<Option<(u32, Timestamp)>> {
    let mut stmt =
        c.prepare_cached("SELECT max_concurrent_connections, modified_on FROM email_server_profile WHERE id = ?1")?;
    Ok(stmt.query_row([id], |r| Ok((r.get::<_, u32>(0)?, r.get::<_, Timestamp>(1)?))).optional()?)
}
