//! What a UI or the CLI may ask of the engine: `pub async fn verb_noun(&Engine, …) -> Result<…>`.
//!
//! Each call is one write transaction (or one read): it validates with the pure rules of
//! `domain::rules`, then writes everything or nothing. Calls that store a secret write the
//! keychain first and the "is set" flag second, and undo the keychain write if the database
//! write fails, so a refused call leaves neither behind.

mod activities;
mod alerts;
mod catalog;
mod connection;
mod jobs;
mod mailboxes;
mod outgoing;
mod principals;
mod profiles;
mod records;
mod scheduler;
mod settings;
mod sync;
pub mod wire;

pub use activities::*;
pub use alerts::*;
pub use catalog::*;
pub use connection::{ConnectionTest, test_profile_connection};
pub use jobs::*;
pub use mailboxes::*;
pub use outgoing::*;
pub use principals::*;
pub use profiles::*;
pub use records::*;
pub use scheduler::*;
pub use settings::*;
pub use sync::*;
pub use wire::*;

use crate::store;
use crate::{Error, Result};
use rusqlite::Connection;

/// The profile a mailbox points at, if any.
pub(crate) fn profile_of(c: &Connection, m: &crate::domain::Mailbox) -> Result<Option<crate::domain::Profile>> {
    match m.profile_id {
        Some(id) => Ok(Some(store::profiles::get(c, id)?)),
        None => Ok(None),
    }
}

/// Refuses an empty selection.
pub(crate) fn non_empty<T>(ids: &[T]) -> Result<()> {
    if ids.is_empty() { Err(Error::validation("selection.empty")) } else { Ok(()) }
}
