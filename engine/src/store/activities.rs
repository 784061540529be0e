//! The `email_activity` table and what hangs off it: `activity_party`, `email_attachment`,
//! `email_raw`, `email_receipt` and `queue_item`. Also the look-ups of incoming email: duplicate
//! detection and the candidates of each correlation method.

use crate::domain::{
    ActivityDirection, ActivityId, Attachment, EmailActivity, EmailEntity, MailboxId, Party, QueueId, RecordRef,
    Timestamp, UserId,
};
use crate::{Error, Result};
use rusqlite::{Connection, OptionalExtension, Row, ToSql, Transaction, params, params_from_iter};
use std::collections::{BTreeMap, BTreeSet};

const COLUMNS: &str = "id, subject, body_text, body_html, sender, direction, status, message_id, dedupe_key, \
    in_reply_to, references_ids, conversation_index, conversation_root, tracking_token, subject_key, \
    correlation_method, correlated_activity_id, parent_activity_id, regarding_entity, regarding_id, \
    receiving_mailbox_id, accepting_entity, accepting_id, accepting_filter, owner_user_id, size_bytes, \
    notifications, internet_headers, sent_on, received_on, created_on, sender_mailbox_id, delivery_attempts, \
    send_after, sending_since, last_error_code, last_error_params, possible_duplicate";

fn record_ref(entity: Option<EmailEntity>, id: Option<i64>) -> Option<RecordRef> {
    Some(RecordRef::new(entity?, id?))
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<EmailActivity> {
    Ok(EmailActivity {
        id: r.get(0)?,
        subject: r.get(1)?,
        body_text: r.get(2)?,
        body_html: r.get(3)?,
        sender: r.get(4)?,
        direction: r.get(5)?,
        status: r.get(6)?,
        message_id: r.get(7)?,
        dedupe_key: r.get(8)?,
        in_reply_to: r.get(9)?,
        references_ids: r.get(10)?,
        conversation_index: r.get(11)?,
        conversation_root: r.get(12)?,
        tracking_token: r.get(13)?,
        subject_key: r.get(14)?,
        correlation_method: r.get(15)?,
        correlated_activity_id: r.get(16)?,
        parent_activity_id: r.get(17)?,
        regarding: record_ref(r.get(18)?, r.get(19)?),
        receiving_mailbox_id: r.get(20)?,
        accepting: record_ref(r.get(21)?, r.get(22)?),
        accepting_filter: r.get(23)?,
        owner_user_id: r.get(24)?,
        size_bytes: r.get::<_, i64>(25)?.max(0) as u64,
        notifications: r.get(26)?,
        internet_headers: r.get(27)?,
        sent_on: r.get(28)?,
        received_on: r.get(29)?,
        created_on: r.get(30)?,
        sender_mailbox_id: r.get(31)?,
        delivery_attempts: r.get(32)?,
        send_after: r.get(33)?,
        sending_since: r.get(34)?,
        last_error_code: r.get(35)?,
        last_error_params: serde_json::from_str(&r.get::<_, String>(36)?).unwrap_or_default(),
        possible_duplicate: r.get(37)?,
    })
}

/// Everything one tracked email writes (its original message is written apart, see
/// [`set_raw`]).
#[derive(Debug, Clone, Copy)]
pub struct NewEmail<'a> {
    pub activity: &'a EmailActivity,
    pub parties: &'a [Party],
    pub attachments: &'a [Attachment],
    pub queue_items: &'a [QueueId],
}

/// Inserts an email with its parties, attachments, its receipt by the receiving mailbox and its
/// queue items. Returns its id.
pub fn insert(tx: &Transaction<'_>, e: NewEmail<'_>) -> Result<ActivityId> {
    let a = e.activity;
    tx.prepare_cached(
        "INSERT INTO email_activity (subject, body_text, body_html, sender, direction, status, message_id, dedupe_key,
            in_reply_to, references_ids, conversation_index, conversation_root, tracking_token, subject_key,
            correlation_method, correlated_activity_id, parent_activity_id, regarding_entity, regarding_id,
            receiving_mailbox_id, accepting_entity, accepting_id, accepting_filter, owner_user_id, size_bytes,
            notifications, internet_headers, sent_on, received_on, created_on, sender_mailbox_id, delivery_attempts,
            send_after, sending_since, last_error_code, last_error_params, possible_duplicate)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22,
            ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35, ?36, ?37)",
    )?
    .execute(params![
        a.subject,
        a.body_text,
        a.body_html,
        a.sender,
        a.direction,
        a.status,
        a.message_id,
        a.dedupe_key,
        a.in_reply_to,
        a.references_ids,
        a.conversation_index,
        a.conversation_root,
        a.tracking_token,
        a.subject_key,
        a.correlation_method,
        a.correlated_activity_id,
        a.parent_activity_id,
        a.regarding.map(|r| r.entity),
        a.regarding.map(|r| r.id),
        a.receiving_mailbox_id,
        a.accepting.map(|r| r.entity),
        a.accepting.map(|r| r.id),
        a.accepting_filter,
        a.owner_user_id,
        i64::try_from(a.size_bytes).unwrap_or(i64::MAX),
        a.notifications,
        a.internet_headers,
        a.sent_on,
        a.received_on,
        a.created_on,
        a.sender_mailbox_id,
        a.delivery_attempts,
        a.send_after,
        a.sending_since,
        a.last_error_code,
        serde_json::to_string(&a.last_error_params).map_err(Error::internal)?,
        a.possible_duplicate,
    ])?;
    let id = ActivityId(tx.last_insert_rowid());
    let mut party = tx.prepare_cached(
        "INSERT INTO activity_party (activity_id, role, position, address, display_name, entity, record_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for p in e.parties {
        party.execute(params![
            id,
            p.role,
            p.position,
            p.address,
            p.display_name,
            p.record.map(|r| r.entity),
            p.record.map(|r| r.id)
        ])?;
    }
    let mut att = tx.prepare_cached(
        "INSERT INTO email_attachment (activity_id, position, part_index, file_name, mime_type, content_id,
            size_bytes, not_saved_reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for x in e.attachments {
        att.execute(params![
            id,
            x.position,
            x.part_index,
            x.file_name,
            x.mime_type,
            x.content_id,
            i64::try_from(x.size_bytes).unwrap_or(i64::MAX),
            x.not_saved
        ])?;
    }
    if let Some(m) = a.receiving_mailbox_id {
        add_receipt(tx, id, m, a.received_on)?;
    }
    let mut qi =
        tx.prepare_cached("INSERT OR IGNORE INTO queue_item (queue_id, activity_id, created_on) VALUES (?1, ?2, ?3)")?;
    for q in e.queue_items {
        qi.execute(params![q, id, a.created_on])?;
    }
    Ok(id)
}

/// Records that `mailbox` received email `id` too (the same message in a second mailbox).
pub fn add_receipt(tx: &Transaction<'_>, id: ActivityId, mailbox: MailboxId, at: Timestamp) -> Result<()> {
    tx.prepare_cached(
        "INSERT OR IGNORE INTO email_receipt (activity_id, mailbox_id, received_on) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![id, mailbox, at])?;
    Ok(())
}

// The look-ups of every incoming message: each must be an index search, never a scan (a test
// below reads their query plans). The partial indexes are used because each query repeats the
// index's condition.
const BY_DEDUPE_KEY: &str = "SELECT id FROM email_activity WHERE direction = ?1 AND dedupe_key = ?2";
const BY_MESSAGE_ID: &str = "SELECT id, regarding_entity, regarding_id, owner_user_id FROM email_activity
    WHERE message_id = ?1 AND message_id <> '' ORDER BY id DESC LIMIT 1";
const BY_TRACKING_TOKEN: &str = "SELECT id, regarding_entity, regarding_id, owner_user_id FROM email_activity
    WHERE tracking_token = ?1 AND tracking_token <> '' ORDER BY id DESC LIMIT 1";
const BY_CONVERSATION_ROOT: &str = "SELECT id, conversation_index FROM email_activity
    WHERE conversation_root = ?1 AND conversation_root <> '' ORDER BY id DESC LIMIT 50";
const BY_SUBJECT_KEY: &str = "SELECT id FROM email_activity WHERE subject_key = ?1 AND subject_key <> ''
    AND received_on >= ?2 ORDER BY received_on DESC LIMIT ?3";

/// The activity in `direction` with this duplicate-detection key.
pub fn by_dedupe_key(c: &Connection, direction: ActivityDirection, key: &str) -> Result<Option<ActivityId>> {
    Ok(c.prepare_cached(BY_DEDUPE_KEY)?.query_row(params![direction, key], |r| r.get(0)).optional()?)
}

/// Whether any email of `direction` exists.
pub fn any_in_direction(c: &Connection, direction: ActivityDirection) -> Result<bool> {
    Ok(c.prepare_cached("SELECT EXISTS (SELECT 1 FROM email_activity WHERE direction = ?1)")?
        .query_row([direction], |r| r.get(0))?)
}

/// A tracked email as correlation sees it: its id, regarding and owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CorrelationRow {
    pub id: ActivityId,
    pub regarding: Option<RecordRef>,
    pub owner: Option<UserId>,
}

fn correlation_row(r: &Row<'_>) -> rusqlite::Result<CorrelationRow> {
    Ok(CorrelationRow { id: r.get(0)?, regarding: record_ref(r.get(1)?, r.get(2)?), owner: r.get(3)? })
}

/// The most recent tracked email whose Message-ID is one of `ids` (without brackets).
pub fn by_message_ids(c: &Connection, ids: &[String]) -> Result<Option<CorrelationRow>> {
    let mut stmt = c.prepare_cached(BY_MESSAGE_ID)?;
    for id in ids {
        if let Some(row) = stmt.query_row([format!("<{id}>")], correlation_row).optional()? {
            return Ok(Some(row));
        }
    }
    Ok(None)
}

/// The most recent tracked email carrying this tracking token.
pub fn by_tracking_token(c: &Connection, token: &str) -> Result<Option<CorrelationRow>> {
    Ok(c.prepare_cached(BY_TRACKING_TOKEN)?.query_row([token], correlation_row).optional()?)
}

/// One tracked email by id, as correlation sees it.
pub fn correlation_row_of(c: &Connection, id: ActivityId) -> Result<Option<CorrelationRow>> {
    Ok(c.prepare_cached("SELECT id, regarding_entity, regarding_id, owner_user_id FROM email_activity WHERE id = ?1")?
        .query_row([id], correlation_row)
        .optional()?)
}

/// The (most recent, at most 50) tracked emails of a thread root, with their conversation index.
pub fn by_conversation_root(c: &Connection, root: &str) -> Result<Vec<(ActivityId, String)>> {
    let mut stmt = c.prepare_cached(BY_CONVERSATION_ROOT)?;
    let rows = stmt.query_map([root], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Smart-matching candidates: at most `limit` tracked emails with this subject key received
/// since `since`, each with the addresses of its parties (lower-case).
pub fn by_subject_key(
    c: &Connection,
    key: &str,
    since: Timestamp,
    limit: u32,
) -> Result<Vec<(ActivityId, BTreeSet<String>)>> {
    let mut stmt = c.prepare_cached(BY_SUBJECT_KEY)?;
    let ids: Vec<ActivityId> =
        stmt.query_map(params![key, since, limit], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    let mut addr = c.prepare_cached("SELECT DISTINCT lower(address) FROM activity_party WHERE activity_id = ?1")?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let set = addr.query_map([id], |r| r.get(0))?.collect::<rusqlite::Result<BTreeSet<String>>>()?;
        out.push((id, set));
    }
    Ok(out)
}

/// One email, or `record.not_found`.
pub fn get(c: &Connection, id: ActivityId) -> Result<EmailActivity> {
    c.prepare_cached(&format!("SELECT {COLUMNS} FROM email_activity WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()?
        .ok_or_else(|| Error::not_found(ActivityId::ENTITY, id))
}

/// An email's parties, in order (From, To, Cc, Bcc; by position).
pub fn parties(c: &Connection, id: ActivityId) -> Result<Vec<Party>> {
    let mut stmt = c.prepare_cached(
        "SELECT role, position, address, display_name, entity, record_id FROM activity_party
         WHERE activity_id = ?1 ORDER BY CASE role WHEN 'from' THEN 0 WHEN 'to' THEN 1 WHEN 'cc' THEN 2 ELSE 3 END,
            position, entity, record_id",
    )?;
    let rows = stmt.query_map([id], |r| {
        Ok(Party {
            role: r.get(0)?,
            position: r.get(1)?,
            address: r.get(2)?,
            display_name: r.get(3)?,
            record: record_ref(r.get(4)?, r.get(5)?),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// An email's attachments, in order.
pub fn attachments(c: &Connection, id: ActivityId) -> Result<Vec<Attachment>> {
    let mut stmt = c.prepare_cached(
        "SELECT position, part_index, file_name, mime_type, content_id, size_bytes, not_saved_reason
         FROM email_attachment WHERE activity_id = ?1 ORDER BY position",
    )?;
    let rows = stmt.query_map([id], |r| {
        Ok(Attachment {
            position: r.get(0)?,
            part_index: r.get(1)?,
            file_name: r.get(2)?,
            mime_type: r.get(3)?,
            content_id: r.get(4)?,
            size_bytes: r.get::<_, i64>(5)?.max(0) as u64,
            not_saved: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The mailboxes that received an email, first receipt first.
pub fn receipts(c: &Connection, id: ActivityId) -> Result<Vec<(MailboxId, Timestamp)>> {
    let mut stmt = c.prepare_cached(
        "SELECT mailbox_id, received_on FROM email_receipt WHERE activity_id = ?1 ORDER BY received_on, mailbox_id",
    )?;
    let rows = stmt.query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The queues an email is a queue item of.
pub fn queue_items(c: &Connection, id: ActivityId) -> Result<Vec<QueueId>> {
    let mut stmt = c.prepare_cached("SELECT queue_id FROM queue_item WHERE activity_id = ?1 ORDER BY queue_id")?;
    let rows = stmt.query_map([id], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Records where an email's original message is kept.
pub fn set_raw(tx: &Transaction<'_>, id: ActivityId, slice: &super::messages::Slice) -> Result<()> {
    tx.prepare_cached("INSERT INTO email_raw (activity_id, pack, offset, length) VALUES (?1, ?2, ?3, ?4)")?.execute(
        params![
            id,
            slice.pack,
            i64::try_from(slice.offset).unwrap_or(i64::MAX),
            i64::try_from(slice.length).unwrap_or(i64::MAX)
        ],
    )?;
    Ok(())
}

/// Where an email's original message is kept.
pub fn raw_slice(c: &Connection, id: ActivityId) -> Result<super::messages::Slice> {
    c.prepare_cached("SELECT pack, offset, length FROM email_raw WHERE activity_id = ?1")?
        .query_row([id], |r| {
            Ok(super::messages::Slice {
                pack: r.get(0)?,
                offset: r.get::<_, i64>(1)?.max(0) as u64,
                length: r.get::<_, i64>(2)?.max(0) as u64,
            })
        })
        .optional()?
        .ok_or_else(|| Error::not_found(ActivityId::ENTITY, id))
}

/// The packs some email refers to.
pub fn packs(c: &Connection) -> Result<BTreeSet<String>> {
    let mut stmt = c.prepare_cached("SELECT DISTINCT pack FROM email_raw")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<BTreeSet<String>>>()?)
}

/// Sets (or clears) an email's regarding record.
pub fn set_regarding(tx: &Transaction<'_>, id: ActivityId, regarding: Option<RecordRef>) -> Result<()> {
    let n = tx.execute(
        "UPDATE email_activity SET regarding_entity = ?2, regarding_id = ?3 WHERE id = ?1",
        params![id, regarding.map(|r| r.entity), regarding.map(|r| r.id)],
    )?;
    if n != 1 {
        return Err(Error::not_found(ActivityId::ENTITY, id));
    }
    Ok(())
}

/// What the Email Activities grid filters on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActivityFilter {
    pub mailbox: Option<MailboxId>,
    pub direction: Option<ActivityDirection>,
    pub correlation: Option<crate::domain::CorrelationMethod>,
    /// Case-insensitive text in the subject or the sender.
    pub search: Option<String>,
    pub received_from: Option<Timestamp>,
    pub received_to: Option<Timestamp>,
}

/// One row of the grid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityRow {
    pub id: ActivityId,
    pub subject: String,
    pub sender: String,
    /// The To addresses, joined by "; ".
    pub to: String,
    pub regarding: Option<RecordRef>,
    pub regarding_name: String,
    pub received_on: Timestamp,
    pub receiving_mailbox_id: Option<MailboxId>,
    pub receiving_mailbox_name: String,
    pub correlation_method: crate::domain::CorrelationMethod,
    pub attachment_count: u32,
}

/// SQL for the display name of record (`entity`, `id`) given as column expressions.
pub(crate) fn record_name_sql(entity: &str, id: &str) -> String {
    format!(
        "CASE {entity}
            WHEN 'user' THEN (SELECT full_name FROM system_user WHERE id = {id})
            WHEN 'queue' THEN (SELECT name FROM queue WHERE id = {id})
            WHEN 'contact' THEN (SELECT trim(first_name || ' ' || last_name) FROM contact WHERE id = {id})
            WHEN 'account' THEN (SELECT name FROM account WHERE id = {id})
            WHEN 'lead' THEN (SELECT trim(first_name || ' ' || last_name) FROM lead WHERE id = {id})
         END"
    )
}

fn filter_sql(f: &ActivityFilter) -> (String, Vec<Box<dyn ToSql>>) {
    let mut clauses = vec!["1".to_owned()];
    let mut p: Vec<Box<dyn ToSql>> = Vec::new();
    let mut push = |clause: &str, v: Box<dyn ToSql>| {
        p.push(v);
        clauses.push(clause.replace('?', &format!("?{}", p.len())));
    };
    if let Some(m) = f.mailbox {
        push("e.id IN (SELECT activity_id FROM email_receipt WHERE mailbox_id = ?)", Box::new(m));
    }
    if let Some(d) = f.direction {
        push("e.direction = ?", Box::new(d));
    }
    if let Some(c) = f.correlation {
        push("e.correlation_method = ?", Box::new(c));
    }
    if let Some(from) = f.received_from {
        push("e.received_on >= ?", Box::new(from));
    }
    if let Some(to) = f.received_to {
        push("e.received_on < ?", Box::new(to));
    }
    if let Some(s) = f.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let like = format!("%{}%", s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        p.push(Box::new(like));
        let n = p.len();
        clauses.push(format!("(e.subject LIKE ?{n} ESCAPE '\\' OR e.sender LIKE ?{n} ESCAPE '\\')"));
    }
    (clauses.join(" AND "), p)
}

/// A page of the grid, newest first, and the number of rows matching the filter.
pub fn list(c: &Connection, f: &ActivityFilter, offset: u32, limit: u32) -> Result<(Vec<ActivityRow>, u64)> {
    let (where_sql, p) = filter_sql(f);
    let total: i64 = c
        .prepare_cached(&format!("SELECT count(*) FROM email_activity e WHERE {where_sql}"))?
        .query_row(params_from_iter(p.iter()), |r| r.get(0))?;
    // Numbers, not parameters: SQLite plans a LIMIT it can see.
    let limit = limit.clamp(1, 1000);
    let sql = format!(
        "SELECT e.id, e.subject, e.sender,
            (SELECT group_concat(address, '; ') FROM (SELECT DISTINCT position, address FROM activity_party
                WHERE activity_id = e.id AND role = 'to' ORDER BY position)),
            e.regarding_entity, e.regarding_id, coalesce({}, ''), e.received_on, e.receiving_mailbox_id,
            coalesce((SELECT name FROM mailbox WHERE id = e.receiving_mailbox_id), ''), e.correlation_method,
            (SELECT count(*) FROM email_attachment WHERE activity_id = e.id)
         FROM email_activity e WHERE {where_sql} ORDER BY e.received_on DESC, e.id DESC LIMIT {limit} OFFSET {offset}",
        record_name_sql("e.regarding_entity", "e.regarding_id")
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(p.iter()), |r| {
        Ok(ActivityRow {
            id: r.get(0)?,
            subject: r.get(1)?,
            sender: r.get(2)?,
            to: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
            regarding: record_ref(r.get(4)?, r.get(5)?),
            regarding_name: r.get(6)?,
            received_on: r.get(7)?,
            receiving_mailbox_id: r.get(8)?,
            receiving_mailbox_name: r.get(9)?,
            correlation_method: r.get(10)?,
            attachment_count: r.get(11)?,
        })
    })?;
    Ok((rows.collect::<rusqlite::Result<Vec<_>>>()?, total.max(0) as u64))
}

/// How many emails there are in each direction (tests, benchmarks, the dashboard).
pub fn count(c: &Connection) -> Result<u64> {
    let n: i64 = c.query_row("SELECT count(*) FROM email_activity", [], |r| r.get(0))?;
    Ok(n.max(0) as u64)
}

/// The display names of records, for parties and regarding.
pub fn record_names(c: &Connection, refs: &[RecordRef]) -> Result<BTreeMap<RecordRef, String>> {
    let sql = format!("SELECT coalesce({}, '')", record_name_sql("?1", "?2"));
    let mut stmt = c.prepare_cached(&sql)?;
    let mut out = BTreeMap::new();
    for r in refs {
        let name: String = stmt.query_row(params![r.entity, r.id], |row| row.get(0))?;
        out.insert(*r, name);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_look_ups_of_incoming_email_search_an_index_and_never_scan() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let store = crate::store::Store::open(&dir.path().join("t.sqlite3"))?;
        store.read(|c| {
            for sql in [BY_DEDUPE_KEY, BY_MESSAGE_ID, BY_TRACKING_TOKEN, BY_CONVERSATION_ROOT, BY_SUBJECT_KEY] {
                let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
                let args: Vec<Box<dyn ToSql>> =
                    (0..stmt.parameter_count()).map(|i| Box::new(format!("v{i}")) as Box<dyn ToSql>).collect();
                let plan: Vec<String> =
                    stmt.query_map(params_from_iter(args.iter()), |r| r.get(3))?.collect::<rusqlite::Result<_>>()?;
                assert!(plan.iter().any(|p| p.contains("USING")), "{sql}: {plan:?}");
                assert!(!plan.iter().any(|p| p.starts_with("SCAN")), "{sql} scans: {plan:?}");
            }
            Ok(())
        })
    }
}
