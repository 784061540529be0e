//! The organisation's email configuration as plain data, and the rules over it as pure
//! functions. Nothing here touches SQLite, the keychain or the network.

pub mod activity;
pub mod alert;
pub mod crm;
pub mod job;
pub mod mailbox;
pub mod options;
pub mod principal;
pub mod profile;
pub mod rules;
pub mod schedule;
pub mod settings;
pub mod test_enable;

use std::fmt;

pub use activity::{Attachment, EmailActivity, Party, RecordRef, SyncState};
pub use alert::{Alert, AlertFilter, NewAlert, Regarding};
pub use crm::{Account, AccountChanges, Contact, ContactChanges, Lead, LeadChanges};
pub use mailbox::{Mailbox, MailboxChanges, MailboxKind};
pub use options::*;
pub use principal::{Queue, QueueChanges, User, UserChanges};
pub use profile::{Profile, ProfileChanges, ProfileField};
pub use schedule::{RunOutcome, SyncRun, WorkloadSchedule};
pub use settings::{OrgSettings, SettingsChanges};

/// A point in time, always UTC.
pub type Timestamp = chrono::DateTime<chrono::Utc>;

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident, $entity:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub i64);

        impl $name {
            /// The entity name used in errors and keychain keys.
            pub const ENTITY: &'static str = $entity;
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = crate::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.trim().parse::<i64>().map($name).map_err(|_| {
                    crate::Error::validation("id.invalid").param("entity", $entity).param("value", s)
                })
            }
        }
    };
}

/// Every record id, listed once: `id_types!(m)` expands to `m!(Name, "entity")` for each. The
/// domain declares them with it; `api::wire` declares their wire twins (branded in TypeScript).
macro_rules! id_types {
    ($m:ident) => {
        $m!(/// An email server profile.
            ProfileId, "profile");
        $m!(/// A mailbox.
            MailboxId, "mailbox");
        $m!(/// A user (systemuser).
            UserId, "user");
        $m!(/// A queue.
            QueueId, "queue");
        $m!(/// An alert (tracelog).
            AlertId, "alert");
        $m!(/// A background job (asyncoperation).
            JobId, "job");
        $m!(/// A contact.
            ContactId, "contact");
        $m!(/// An account.
            AccountId, "account");
        $m!(/// A lead.
            LeadId, "lead");
        $m!(/// An email activity.
            ActivityId, "email");
    };
}
pub(crate) use id_types;

id_types!(id_type);

/// Declares a change set: every field optional, absent = unchanged; `apply_to` writes the
/// present ones onto the record. Its wire twin (which refuses unknown fields, so a typo never
/// passes silently) is declared in `api::wire`.
macro_rules! change_set {
    ($(#[$meta:meta])* $name:ident for $target:ty { $($(#[$fmeta:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct $name {
            $(
                $(#[$fmeta])*
                pub $field: Option<$ty>,
            )*
        }

        impl $name {
            /// The names of every field of the change set, in declaration order.
            pub const FIELDS: &'static [&'static str] = &[$(stringify!($field)),*];

            /// The names of the fields this change set touches.
            pub fn touched(&self) -> Vec<&'static str> {
                let mut v = Vec::new();
                $(if self.$field.is_some() { v.push(stringify!($field)); })*
                v
            }

            /// Writes every present field onto `target`.
            pub fn apply_to(self, target: &mut $target) {
                $(if let Some(v) = self.$field { target.$field = v; })*
            }
        }
    };
}
pub(crate) use change_set;
