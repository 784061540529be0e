//! What a UI or the CLI may ask of the engine: `pub async fn verb_noun(&Engine, …) -> Result<…>`.
//!
//! Each call is one write transaction (or one read): it validates with the pure rules of
//! `domain::rules`, then writes everything or nothing. Calls that store a secret write the
//! keychain first and the "is set" flag second, and undo the keychain write if the database
//! write fails, so a refused call leaves neither behind.

mod alerts;
mod connection;
mod jobs;
mod mailboxes;
mod parties;
mod profiles;
mod settings;

pub use alerts::*;
pub use connection::{ConnectionTest, test_profile_connection};
pub use jobs::*;
pub use mailboxes::*;
pub use parties::*;
pub use profiles::*;
pub use settings::*;

use crate::domain::{MailboxId, OrgSettings, ProfileId, QueueId, UserId};
use crate::store::{self, Record};
use crate::{Error, Result};
use rusqlite::Connection;
use std::fmt::Display;

/// Reads a record or fails with `record.not_found`.
pub(crate) fn load<R>(c: &Connection, id: R::Id, entity: &'static str) -> Result<R>
where
    R: Record,
    R::Id: Display,
{
    store::get::<R>(c, id)?.ok_or_else(|| Error::not_found(entity, id))
}

/// The organisation row.
pub(crate) fn load_settings(c: &Connection) -> Result<OrgSettings> {
    load::<OrgSettings>(c, 1, "settings")
}

pub(crate) fn load_profile(c: &Connection, id: ProfileId) -> Result<crate::domain::Profile> {
    load(c, id, ProfileId::ENTITY)
}

pub(crate) fn load_mailbox(c: &Connection, id: MailboxId) -> Result<crate::domain::Mailbox> {
    load(c, id, MailboxId::ENTITY)
}

pub(crate) fn load_user(c: &Connection, id: UserId) -> Result<crate::domain::User> {
    load(c, id, UserId::ENTITY)
}

pub(crate) fn load_queue(c: &Connection, id: QueueId) -> Result<crate::domain::Queue> {
    load(c, id, QueueId::ENTITY)
}

/// The profile a mailbox points at, if any.
pub(crate) fn profile_of(c: &Connection, m: &crate::domain::Mailbox) -> Result<Option<crate::domain::Profile>> {
    match m.profile_id {
        Some(id) => Ok(Some(load_profile(c, id)?)),
        None => Ok(None),
    }
}

/// Refuses an empty selection.
pub(crate) fn non_empty<T>(ids: &[T]) -> Result<()> {
    if ids.is_empty() { Err(Error::validation("selection.empty")) } else { Ok(()) }
}
