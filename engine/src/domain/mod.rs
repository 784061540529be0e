//! The organisation's email configuration as plain data, and the rules over it as pure
//! functions. Nothing here touches SQLite, the keychain or the network.

pub mod alert;
pub mod job;
pub mod mailbox;
pub mod options;
pub mod principal;
pub mod profile;
pub mod rules;
pub mod settings;
pub mod test_enable;

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

pub use alert::{Alert, AlertFilter, NewAlert, Regarding};
pub use mailbox::{Mailbox, MailboxChanges, MailboxKind};
pub use options::*;
pub use principal::{Queue, QueueChanges, User, UserChanges};
pub use profile::{Profile, ProfileChanges};
pub use settings::{OrgSettings, SettingsChanges};

/// A point in time, always UTC.
pub type Timestamp = chrono::DateTime<chrono::Utc>;

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident, $entity:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "specta", derive(specta::Type))]
        #[serde(transparent)]
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

id_type!(/// An email server profile.
    ProfileId, "profile");
id_type!(/// A mailbox.
    MailboxId, "mailbox");
id_type!(/// A user (systemuser).
    UserId, "user");
id_type!(/// A queue.
    QueueId, "queue");
id_type!(/// An alert (tracelog).
    AlertId, "alert");
id_type!(/// A background job (asyncoperation).
    JobId, "job");

/// Deserializes a field that is present in a change set: `Some(value)`, where `value` may itself
/// be an `Option` so that JSON `null` clears a nullable field while an absent key leaves it alone.
pub(crate) fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// Declares a change set: every field optional, absent = unchanged; `apply_to` writes the
/// present ones onto the record. Unknown fields are refused so a typo never passes silently.
macro_rules! change_set {
    ($(#[$meta:meta])* $name:ident for $target:ty { $($(#[$fmeta:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
        #[cfg_attr(feature = "specta", derive(specta::Type))]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $(
                $(#[$fmeta])*
                #[serde(default, deserialize_with = "crate::domain::present", skip_serializing_if = "Option::is_none")]
                #[cfg_attr(feature = "specta", specta(type = $ty, optional))]
                pub $field: Option<$ty>,
            )*
        }

        impl $name {
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
