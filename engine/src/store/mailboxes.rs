//! The `mailbox` table.

use super::record::{self, table_record};
use crate::Result;
use crate::domain::{Mailbox, MailboxId, ProfileId, RecordState, UserId};
use rusqlite::{Connection, ToSql, Transaction};

table_record!(Mailbox, "mailbox", id: MailboxId {
    name, owner_user_id, email_address, delete_after_processing, user_id, queue_id, is_forward_mailbox,
    allow_credentials, user_name, is_password_set,
    profile_id, incoming_method, outgoing_method, act_method,
    incoming_status, outgoing_status, act_status, test_completed_on, test_and_enable_last_attempted_on,
    email_address_status, approved_by_user_id, approved_by_administrator, approved_on,
    enabled_for_incoming, enabled_for_outgoing, enabled_for_act, process_email_received_after, state,
    created_on, modified_on, transient_failure_count, last_sync_error_code, last_sync_error_on,
});

/// Which mailboxes a grid view lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailboxFilter {
    pub state: Option<RecordState>,
    pub owner: Option<UserId>,
    pub profile: Option<ProfileId>,
    /// Case-insensitive text found in the name or the email address.
    pub search: Option<String>,
    /// Only the mailboxes that can send email: forward mailboxes are left out.
    pub senders_only: bool,
}

/// One mailbox, or `record.not_found`.
pub fn get(c: &Connection, id: MailboxId) -> Result<Mailbox> {
    record::get(c, id, MailboxId::ENTITY)
}

/// A grid column the mailboxes are sorted by (then by id, so pages never overlap).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MailboxSortKey {
    #[default]
    Name,
    EmailAddress,
    EmailAddressStatus,
    /// The profile's name.
    Profile,
    IncomingStatus,
    OutgoingStatus,
    ActStatus,
    /// User, queue, forward.
    Kind,
}

/// A choice column in the order of its option values, as Dynamics sorts choice columns (not in
/// the alphabetical order of its codes, which means nothing in any language).
fn by_option_value<T: Copy>(
    column: &str,
    all: &[T],
    code: impl Fn(T) -> &'static str,
    value: impl Fn(T) -> i32,
) -> String {
    let whens: String = all.iter().map(|v| format!(" WHEN '{}' THEN {}", code(*v), value(*v))).collect();
    format!("CASE {column}{whens} END")
}

impl MailboxSortKey {
    fn sql(self) -> String {
        use crate::domain::{EmailAddressStatus, TestStatus};
        let status =
            |column: &str| by_option_value(column, TestStatus::ALL, TestStatus::code, TestStatus::dataverse_value);
        match self {
            MailboxSortKey::Name => "name COLLATE NOCASE".to_owned(),
            MailboxSortKey::EmailAddress => "email_address COLLATE NOCASE".to_owned(),
            MailboxSortKey::EmailAddressStatus => by_option_value(
                "email_address_status",
                EmailAddressStatus::ALL,
                EmailAddressStatus::code,
                EmailAddressStatus::dataverse_value,
            ),
            MailboxSortKey::Profile => {
                "(SELECT p.name FROM email_server_profile p WHERE p.id = mailbox.profile_id) COLLATE NOCASE".to_owned()
            }
            MailboxSortKey::IncomingStatus => status("incoming_status"),
            MailboxSortKey::OutgoingStatus => status("outgoing_status"),
            MailboxSortKey::ActStatus => status("act_status"),
            MailboxSortKey::Kind => {
                "CASE WHEN user_id IS NOT NULL THEN 0 WHEN queue_id IS NOT NULL THEN 1 ELSE 2 END".to_owned()
            }
        }
    }
}

/// The WHERE clause of a filter and its parameters.
fn where_of(filter: &MailboxFilter) -> (String, Vec<Box<dyn ToSql>>) {
    let mut clauses: Vec<String> = Vec::new();
    let mut params: Vec<Box<dyn ToSql>> = Vec::new();
    let mut push = |clause: &str, p: Box<dyn ToSql>| {
        params.push(p);
        clauses.push(clause.replace('?', &format!("?{}", params.len())));
    };
    if let Some(s) = filter.state {
        push("state = ?", Box::new(s));
    }
    if let Some(owner) = filter.owner {
        push("owner_user_id = ?", Box::new(owner));
    }
    if let Some(p) = filter.profile {
        push("profile_id = ?", Box::new(p));
    }
    if let Some(pattern) = super::like_pattern(filter.search.as_deref()) {
        // One placeholder number, used twice: both refer to the same value.
        push("(name LIKE ? ESCAPE '\\' OR email_address LIKE ? ESCAPE '\\')", Box::new(pattern));
    }
    if filter.senders_only {
        clauses.push("is_forward_mailbox = 0".to_owned());
    }
    let where_sql = if clauses.is_empty() { "1".to_owned() } else { clauses.join(" AND ") };
    (where_sql, params)
}

/// The mailboxes matching `filter`, by name.
pub fn list(c: &Connection, filter: &MailboxFilter) -> Result<Vec<Mailbox>> {
    let (where_sql, params) = where_of(filter);
    let refs: Vec<&dyn ToSql> = params.iter().map(|p| p.as_ref()).collect();
    record::select(c, &where_sql, "name COLLATE NOCASE, id", &refs)
}

/// One window of the mailboxes matching `filter`, sorted in SQL, and how many match in all.
pub fn page(
    c: &Connection,
    filter: &MailboxFilter,
    key: MailboxSortKey,
    descending: bool,
    offset: u32,
    limit: u32,
) -> Result<(Vec<Mailbox>, u64)> {
    let (where_sql, params) = where_of(filter);
    let refs: Vec<&dyn ToSql> = params.iter().map(|p| p.as_ref()).collect();
    let dir = if descending { "DESC" } else { "ASC" };
    record::window(c, &where_sql, &format!("{} {dir}, id {dir}", key.sql()), &refs, offset, limit)
}

/// The ids of the mailboxes matching `filter` (a selection made by query), by id.
pub fn ids(c: &Connection, filter: &MailboxFilter) -> Result<Vec<MailboxId>> {
    let (where_sql, params) = where_of(filter);
    let refs: Vec<&dyn ToSql> = params.iter().map(|p| p.as_ref()).collect();
    record::ids::<Mailbox, MailboxId>(c, &where_sql, &refs)
}

/// The mailboxes that use a profile, by id.
pub fn of_profile(c: &Connection, profile: ProfileId) -> Result<Vec<Mailbox>> {
    record::select(c, "profile_id = ?1", "id", &[&profile])
}

/// Inserts a new mailbox and returns its id.
pub fn insert(tx: &Transaction<'_>, m: &Mailbox) -> Result<MailboxId> {
    record::insert(tx, m).map(MailboxId)
}

/// Writes every field of a mailbox.
pub fn update(tx: &Transaction<'_>, m: &Mailbox) -> Result<()> {
    record::update(tx, m)
}

/// Deletes a mailbox.
pub fn delete(tx: &Transaction<'_>, id: MailboxId) -> Result<()> {
    record::delete::<Mailbox>(tx, id)?;
    Ok(())
}
