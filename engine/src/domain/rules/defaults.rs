//! Apply Default Email Settings, and the organisation's settings themselves (spec §2.3, §3.4).

use super::super::{
    ActMethod, IncomingMethod, Mailbox, MailboxKind, OrgSettings, OutgoingMethod, ProcessEmailUsing, Profile,
    RecordState,
};
use super::fields::*;
use crate::{Error, Result};

/// Apply Default Email Settings: the organisation's default profile and synchronization methods,
/// bounded by what the mailbox kind supports (no ACT for queue and forward mailboxes, no outgoing
/// for a forward mailbox). The caller validates the result.
pub fn apply_default_email_settings(m: &mut Mailbox, settings: &OrgSettings) {
    let kind = m.kind();
    m.profile_id = settings.default_profile_id;
    m.incoming_method = match (kind, settings.default_incoming_method) {
        (MailboxKind::Forward, IncomingMethod::ForwardMailbox) => IncomingMethod::ServerSideSync,
        (_, method) => method,
    };
    m.outgoing_method =
        if kind == MailboxKind::Forward { OutgoingMethod::None } else { settings.default_outgoing_method };
    m.act_method = if kind == MailboxKind::User { settings.default_act_method } else { ActMethod::None };
}

/// The bounds of the organisation settings' numeric fields.
pub const SETTINGS_BOUNDS: [Bounds; 8] = [
    Bounds::new("tracking_token_base", 0, 2_147_483_647),
    Bounds::new("tracking_user_digits", 1, 10),
    Bounds::new("tracking_counter_digits", 1, 9),
    Bounds::new("max_folder_tracking_mappings", 1, 25),
    Bounds::new("max_attachment_size_kb", 1, 131_072),
    Bounds::new("hash_max_count", 1, 1000),
    Bounds::new("hash_delta_subject_count", 0, 1000),
    Bounds::new("hash_min_address_count", 0, 1000),
];

/// Keeps a replaced tracking-token prefix among the earlier ones, so replies that carry it are
/// still correlated (spec §3.9); a prefix used again leaves the list.
pub fn remember_tracking_prefix(s: &mut OrgSettings, before: &str) {
    let (before, now) = (before.trim(), s.tracking_prefix.trim().to_owned());
    let mut earlier: Vec<String> = s
        .previous_tracking_prefixes
        .split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty() && *p != now && *p != before)
        .map(str::to_owned)
        .collect();
    if !before.is_empty() && before != now {
        earlier.push(before.to_owned());
    }
    s.previous_tracking_prefixes = earlier.join(";");
}

/// Validates the organisation's settings (ranges, and defaults that new mailboxes could use).
pub fn validate_settings(s: &OrgSettings, default_profile: Option<&Profile>) -> Result<()> {
    if s.process_email_using != ProcessEmailUsing::ServerSideSync {
        return Err(Error::validation("settings.email_router.not_supported"));
    }
    required("tracking_prefix", &s.tracking_prefix)?;
    max_len("tracking_prefix", &s.tracking_prefix, 20)?;
    if s.tracking_prefix.chars().any(|c| c.is_whitespace() || c == ':') {
        return Err(Error::validation("settings.tracking_prefix.invalid"));
    }
    let [token_base, user_digits, counter_digits, folder_mappings, attachment_kb, hash_max, hash_delta, hash_min] =
        SETTINGS_BOUNDS;
    token_base.check(s.tracking_token_base)?;
    user_digits.check(s.tracking_user_digits)?;
    counter_digits.check(s.tracking_counter_digits)?;
    folder_mappings.check(s.max_folder_tracking_mappings)?;
    attachment_kb.check(s.max_attachment_size_kb)?;
    hash_max.check(s.hash_max_count)?;
    hash_delta.check(s.hash_delta_subject_count)?;
    hash_min.check(s.hash_min_address_count)?;
    max_len("hash_filter_keywords", &s.hash_filter_keywords, 1000)?;
    if regex::Regex::new(&s.hash_filter_keywords).is_err() {
        return Err(Error::validation("settings.hash_filter_keywords.invalid").param("value", &s.hash_filter_keywords));
    }
    max_len("blocked_attachments", &s.blocked_attachments, 2000)?;
    if let Some(bad) = s
        .blocked_attachments
        .split(';')
        .map(|e| e.trim().trim_start_matches('.'))
        .find(|e| !e.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
    {
        return Err(Error::validation("settings.blocked_attachments.invalid").param("value", bad));
    }
    if let Some(p) = default_profile {
        if p.state != RecordState::Active {
            return Err(Error::validation("settings.default_profile.inactive").param("profile", &p.name));
        }
        if s.default_act_method == ActMethod::ServerSideSync && !p.server_type.is_exchange() {
            return Err(
                Error::validation("mailbox.act.not_supported_for_server_type").param("server_type", p.server_type)
            );
        }
    }
    Ok(())
}
