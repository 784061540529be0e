//! The `system_user` and `queue` tables: the principals that own mailboxes.

use super::record::{self, table_record};
use crate::Result;
use crate::domain::{Queue, QueueId, RecordState, User, UserId};
use rusqlite::{Connection, Transaction};

table_record!(User, "system_user", id: UserId {
    full_name, primary_email, can_approve_email, incoming_filtering_method, state, created_on, modified_on,
} derived { mailbox_id = "(SELECT m.id FROM mailbox m WHERE m.user_id = system_user.id)" });

table_record!(Queue, "queue", id: QueueId {
    name, email_address, owner_user_id, incoming_filtering_method, state, created_on, modified_on,
} derived { mailbox_id = "(SELECT m.id FROM mailbox m WHERE m.queue_id = queue.id)" });

/// One user, or `record.not_found`.
pub fn user(c: &Connection, id: UserId) -> Result<User> {
    record::get(c, id, UserId::ENTITY)
}

/// The users in `state` (all of them for `None`), by name.
pub fn users(c: &Connection, state: Option<RecordState>) -> Result<Vec<User>> {
    match state {
        Some(s) => record::select(c, "state = ?1", "full_name COLLATE NOCASE, id", &[&s]),
        None => record::select(c, "1", "full_name COLLATE NOCASE, id", &[]),
    }
}

/// Inserts a new user and returns its id.
pub fn insert_user(tx: &Transaction<'_>, u: &User) -> Result<UserId> {
    record::insert(tx, u).map(UserId)
}

/// Writes every field of a user.
pub fn update_user(tx: &Transaction<'_>, u: &User) -> Result<()> {
    record::update(tx, u)
}

/// One queue, or `record.not_found`.
pub fn queue(c: &Connection, id: QueueId) -> Result<Queue> {
    record::get(c, id, QueueId::ENTITY)
}

/// The queues in `state` (all of them for `None`), by name.
pub fn queues(c: &Connection, state: Option<RecordState>) -> Result<Vec<Queue>> {
    match state {
        Some(s) => record::select(c, "state = ?1", "name COLLATE NOCASE, id", &[&s]),
        None => record::select(c, "1", "name COLLATE NOCASE, id", &[]),
    }
}

/// Inserts a new queue and returns its id.
pub fn insert_queue(tx: &Transaction<'_>, q: &Queue) -> Result<QueueId> {
    record::insert(tx, q).map(QueueId)
}

/// Writes every field of a queue.
pub fn update_queue(tx: &Transaction<'_>, q: &Queue) -> Result<()> {
    record::update(tx, q)
}
