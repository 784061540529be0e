//! The `system_user` and `queue` tables: the principals that own mailboxes.

use super::record::Record;
use super::record::{self, table_record};
use crate::Result;
use crate::domain::{Queue, QueueId, RecordState, User, UserId};
use rusqlite::{Connection, OptionalExtension, ToSql, Transaction};

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

/// A principal table as a grid reads it.
pub(crate) trait PrincipalTable: Record {
    /// The name column.
    const NAME: &'static str;
    /// The e-mail address column.
    const EMAIL: &'static str;
}

impl PrincipalTable for User {
    const NAME: &'static str = "full_name";
    const EMAIL: &'static str = "primary_email";
}

impl PrincipalTable for Queue {
    const NAME: &'static str = "name";
    const EMAIL: &'static str = "email_address";
}

/// One window of the users or queues in `state` (all for None) whose name or address contains
/// `search`, sorted in SQL by name or by address (blank addresses last), and how many match.
pub(crate) fn page<R: PrincipalTable>(
    c: &Connection,
    state: Option<RecordState>,
    search: Option<&str>,
    by_email: bool,
    descending: bool,
    offset: u32,
    limit: u32,
) -> Result<(Vec<R>, u64)> {
    let (where_sql, params) = super::grid_filter(state, search, &[R::NAME, R::EMAIL]);
    let refs: Vec<&dyn ToSql> = params.iter().map(|p| p.as_ref()).collect();
    let dir = if descending { "DESC" } else { "ASC" };
    let order = if by_email {
        format!("{email} = '' ASC, {email} COLLATE NOCASE {dir}, id {dir}", email = R::EMAIL)
    } else {
        format!("{} COLLATE NOCASE {dir}, id {dir}", R::NAME)
    };
    record::window(c, &where_sql, &order, &refs, offset, limit)
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

/// A user or a queue as the incoming pipeline sees it: how it filters incoming email, whether it
/// is active, who owns what it receives, and its mailbox's incoming settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrincipalRow {
    pub filter: crate::domain::FilteringMethod,
    pub active: bool,
    /// The user itself, or the queue's owner.
    pub owner_user_id: Option<UserId>,
    /// Its mailbox: incoming method, enabled for incoming, active.
    pub mailbox: Option<(crate::domain::IncomingMethod, bool, bool)>,
}

/// The users and queues among `refs` (other entities are ignored), by reference.
pub fn principal_rows(
    c: &Connection,
    refs: impl IntoIterator<Item = crate::domain::RecordRef>,
) -> Result<std::collections::BTreeMap<crate::domain::RecordRef, PrincipalRow>> {
    use crate::domain::EmailEntity;
    let mut user = c.prepare_cached(
        "SELECT u.incoming_filtering_method, u.state = 'active', m.incoming_method, m.enabled_for_incoming,
                m.state = 'active'
         FROM system_user u LEFT JOIN mailbox m ON m.user_id = u.id WHERE u.id = ?1",
    )?;
    let mut queue = c.prepare_cached(
        "SELECT q.incoming_filtering_method, q.state = 'active', m.incoming_method, m.enabled_for_incoming,
                m.state = 'active', q.owner_user_id
         FROM queue q LEFT JOIN mailbox m ON m.queue_id = q.id WHERE q.id = ?1",
    )?;
    let mut out = std::collections::BTreeMap::new();
    for r in refs {
        let row = match r.entity {
            EmailEntity::User => user
                .query_row([r.id], |row| {
                    let method: Option<crate::domain::IncomingMethod> = row.get(2)?;
                    Ok(PrincipalRow {
                        filter: row.get(0)?,
                        active: row.get(1)?,
                        owner_user_id: Some(UserId(r.id)),
                        mailbox: method.map(|m| Ok::<_, rusqlite::Error>((m, row.get(3)?, row.get(4)?))).transpose()?,
                    })
                })
                .optional()?,
            EmailEntity::Queue => queue
                .query_row([r.id], |row| {
                    let method: Option<crate::domain::IncomingMethod> = row.get(2)?;
                    Ok(PrincipalRow {
                        filter: row.get(0)?,
                        active: row.get(1)?,
                        owner_user_id: row.get(5)?,
                        mailbox: method.map(|m| Ok::<_, rusqlite::Error>((m, row.get(3)?, row.get(4)?))).transpose()?,
                    })
                })
                .optional()?,
            _ => None,
        };
        if let Some(row) = row {
            out.insert(r, row);
        }
    }
    Ok(out)
}
