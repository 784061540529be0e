//! The `organization_settings` table (one row) and the `meta` table.

use super::record::{self, table_record};
use crate::Result;
use crate::domain::OrgSettings;
use rusqlite::{Connection, OptionalExtension, Transaction};

table_record!(OrgSettings, "organization_settings", id: i64 {
    process_email_using, default_profile_id, default_incoming_method, default_outgoing_method, default_act_method,
    require_approval_for_user_email, require_approval_for_queue_email, require_privilege_to_self_approve,
    allow_credentials_over_insecure_channels, sync_irm_emails, allow_delete_appointments_on_ownership_change,
    folder_level_tracking_enabled, max_folder_tracking_mappings, email_correlation_enabled, use_tracking_tokens,
    tracking_prefix, tracking_token_base, tracking_user_digits, tracking_counter_digits,
    smart_matching_enabled, hash_filter_keywords, hash_max_count, hash_delta_subject_count, hash_min_address_count,
    track_categorized_items, auto_track_sent_items, track_internal_email_as_two_activities, save_sent_to_server, sync_in_desktop_app,
    render_secure_frames, allow_unresolved_recipients_on_send, unresolve_if_multiple_matches,
    resolve_similar_unresolved_addresses, max_attachment_size_kb, blocked_attachments,
    alerts_for_errors, alerts_for_warnings, alerts_for_information, notify_mailbox_owner,
    sync_appointment_attachments, sync_contact_mailing_address_only, sync_assigned_tasks, previous_tracking_prefixes, modified_on,
});

/// The organisation's settings.
pub fn get(c: &Connection) -> Result<OrgSettings> {
    record::get(c, 1, "settings")
}

/// Writes the organisation's settings.
pub fn update(tx: &Transaction<'_>, s: &OrgSettings) -> Result<()> {
    record::update(tx, s)
}

/// Creates the organisation row with `defaults` if there is none yet.
pub fn ensure(tx: &Transaction<'_>, defaults: &OrgSettings) -> Result<()> {
    let has: bool = tx.query_row("SELECT count(*) FROM organization_settings", [], |r| r.get(0))?;
    if !has {
        record::insert_with_id(tx, defaults)?;
    }
    Ok(())
}

/// This installation's id (names its keychain entries), created on first use.
pub fn installation_id(tx: &Transaction<'_>) -> Result<String> {
    let existing: Option<String> =
        tx.query_row("SELECT value FROM meta WHERE key = 'installation_id'", [], |r| r.get(0)).optional()?;
    match existing {
        Some(id) => Ok(id),
        None => {
            let id = uuid::Uuid::new_v4().to_string();
            tx.execute("INSERT INTO meta (key, value) VALUES ('installation_id', ?1)", [&id])?;
            Ok(id)
        }
    }
}

/// The first-run steps done: an active profile, a default profile, an active user or queue, an
/// active mailbox approved, an active mailbox that passed Test & Enable (each an EXISTS).
pub fn first_run(c: &Connection) -> Result<[bool; 5]> {
    let sql = "SELECT
        EXISTS (SELECT 1 FROM email_server_profile WHERE state = 'active'),
        EXISTS (SELECT 1 FROM organization_settings WHERE default_profile_id IS NOT NULL),
        EXISTS (SELECT 1 FROM system_user WHERE state = 'active') OR EXISTS (SELECT 1 FROM queue WHERE state = 'active'),
        EXISTS (SELECT 1 FROM mailbox WHERE state = 'active' AND email_address_status = 'approved'),
        EXISTS (SELECT 1 FROM mailbox WHERE state = 'active' AND (incoming_status = 'success' OR outgoing_status = 'success'))";
    Ok(c.prepare_cached(sql)?.query_row([], |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?]))?)
}
