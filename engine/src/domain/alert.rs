//! Alerts (`tracelog`): what went wrong or right, regarding a profile or a mailbox. The same
//! alert raised again (same regarding record, same code) updates one row: last seen and count.

use super::{AlertId, AlertLevel, MailboxId, ProfileId, Timestamp};
use std::collections::BTreeMap;

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Regarding {
    Profile(ProfileId),
    Mailbox(MailboxId),
}

/// An alert as stored and shown.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub id: AlertId,
    pub level: AlertLevel,
    /// Stable code; the UI words it from the catalogs with `params`.
    pub code: String,
    pub params: BTreeMap<String, String>,
    pub regarding: Regarding,
    /// The technical detail of the latest occurrence (a server's reply, a TLS error), or "".
    pub detail: String,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub count: u32,
}

/// Which alerts to list or delete.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertFilter {
    pub level: Option<AlertLevel>,
    pub profile_id: Option<ProfileId>,
    pub mailbox_id: Option<MailboxId>,
}

/// A new alert to raise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAlert {
    pub level: AlertLevel,
    pub code: String,
    pub params: BTreeMap<String, String>,
    pub regarding: Regarding,
    /// The technical detail (never a secret), or "".
    pub detail: String,
}

/// Whether the organisation records alerts of `level` (*Configure alerts*: errors, warnings,
/// information).
pub fn is_recorded(level: AlertLevel, settings: &super::OrgSettings) -> bool {
    match level {
        AlertLevel::Error => settings.alerts_for_errors,
        AlertLevel::Warning => settings.alerts_for_warnings,
        AlertLevel::Information => settings.alerts_for_information,
    }
}
