//! Where each mailbox's incoming sync stands: `mailbox_sync_state` (the IMAP cursor or a server's
//! opaque cursor, and the last-sync counters), `pop3_seen` (the UIDLs handled) and `mail_item_outcome` (messages that were
//! not tracked, and why). Cursors are written in the same transaction as the activities they
//! cover.

use crate::domain::{ItemOutcome, MailboxId, SyncState, Timestamp};
use crate::{Error, Result};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use std::collections::BTreeMap;

/// A mailbox's sync state (the default for one never synchronised).
pub fn get(c: &Connection, mailbox: MailboxId) -> Result<SyncState> {
    let row = c
        .prepare_cached(
            "SELECT uid_validity, last_uid, highest_modseq, uid_next, process_from, last_sync_started_on,
                last_sync_completed_on, items_processed_last_sync, items_failed_last_sync, no_email_count,
                server_cursor
             FROM mailbox_sync_state WHERE mailbox_id = ?1",
        )?
        .query_row([mailbox], |r| {
            Ok(SyncState {
                uid_validity: r.get(0)?,
                last_uid: r.get(1)?,
                highest_modseq: r.get::<_, Option<i64>>(2)?.map(|v| v.max(0) as u64),
                uid_next: r.get(3)?,
                process_from: r.get(4)?,
                last_sync_started_on: r.get(5)?,
                last_sync_completed_on: r.get(6)?,
                items_processed_last_sync: r.get(7)?,
                items_failed_last_sync: r.get(8)?,
                no_email_count: r.get(9)?,
                server_cursor: r.get(10)?,
            })
        })
        .optional()?;
    Ok(row.unwrap_or_default())
}

/// When a synchronisation of a mailbox last completed: a scheduled cycle of any workload, or an
/// incoming cycle run by hand.
pub fn last_completed(c: &Connection, mailbox: MailboxId) -> Result<Option<Timestamp>> {
    Ok(c.prepare_cached(
        "SELECT max(t) FROM (SELECT last_completed_on AS t FROM mailbox_schedule WHERE mailbox_id = ?1
             UNION ALL SELECT last_sync_completed_on FROM mailbox_sync_state WHERE mailbox_id = ?1)",
    )?
    .query_row([mailbox], |r| r.get(0))?)
}

/// Writes a mailbox's sync state.
pub fn put(tx: &Transaction<'_>, mailbox: MailboxId, s: &SyncState) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO mailbox_sync_state (mailbox_id, uid_validity, last_uid, highest_modseq, uid_next, process_from,
            last_sync_started_on, last_sync_completed_on, items_processed_last_sync, items_failed_last_sync,
            no_email_count, server_cursor)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT (mailbox_id) DO UPDATE SET uid_validity = ?2, last_uid = ?3, highest_modseq = ?4, uid_next = ?5,
            process_from = ?6, last_sync_started_on = ?7, last_sync_completed_on = ?8,
            items_processed_last_sync = ?9, items_failed_last_sync = ?10, no_email_count = ?11,
            server_cursor = ?12",
    )?
    .execute(params![
        mailbox,
        s.uid_validity,
        s.last_uid,
        s.highest_modseq.map(|v| i64::try_from(v).unwrap_or(i64::MAX)),
        s.uid_next,
        s.process_from,
        s.last_sync_started_on,
        s.last_sync_completed_on,
        s.items_processed_last_sync,
        s.items_failed_last_sync,
        s.no_email_count,
        s.server_cursor,
    ])?;
    Ok(())
}

/// Every mailbox's sync state (the Mailboxes grid and monitoring).
pub fn all(c: &Connection) -> Result<BTreeMap<MailboxId, SyncState>> {
    let mut stmt = c.prepare_cached("SELECT mailbox_id FROM mailbox_sync_state")?;
    let ids: Vec<MailboxId> = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    ids.into_iter().map(|id| Ok((id, get(c, id)?))).collect()
}

/// The POP3 UIDLs of a mailbox already handled, each with whether an activity holds it.
pub fn pop3_seen(c: &Connection, mailbox: MailboxId) -> Result<BTreeMap<String, bool>> {
    let mut stmt = c.prepare_cached("SELECT uidl, tracked FROM pop3_seen WHERE mailbox_id = ?1")?;
    let rows = stmt.query_map([mailbox], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<BTreeMap<String, bool>>>()?)
}

/// Remembers that a POP3 message was handled (and whether an activity holds it).
pub fn pop3_mark_seen(
    tx: &Transaction<'_>,
    mailbox: MailboxId,
    uidl: &str,
    tracked: bool,
    at: Timestamp,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO pop3_seen (mailbox_id, uidl, tracked, seen_on) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (mailbox_id, uidl) DO UPDATE SET tracked = max(tracked, ?3)",
    )?
    .execute(params![mailbox, uidl, tracked, at])?;
    Ok(())
}

/// Forgets POP3 UIDLs no longer on the server.
pub fn pop3_forget(tx: &Transaction<'_>, mailbox: MailboxId, uidls: &[String]) -> Result<()> {
    let mut stmt = tx.prepare_cached("DELETE FROM pop3_seen WHERE mailbox_id = ?1 AND uidl = ?2")?;
    for u in uidls {
        stmt.execute(params![mailbox, u])?;
    }
    Ok(())
}

/// A message that was not tracked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub mailbox_id: MailboxId,
    pub server_ref: String,
    pub outcome: ItemOutcome,
    pub code: String,
    pub params: BTreeMap<String, String>,
    pub message_id: String,
    pub subject: String,
    pub moved_to_undeliverable: bool,
    pub occurred_on: Timestamp,
}

/// Records (or replaces) a message's outcome.
pub fn record_outcome(tx: &Transaction<'_>, o: &Outcome) -> Result<()> {
    let params_json = serde_json::to_string(&o.params).map_err(Error::internal)?;
    tx.prepare_cached(
        "INSERT INTO mail_item_outcome (mailbox_id, server_ref, outcome, code, params, message_id, subject,
            moved_to_undeliverable, occurred_on) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (mailbox_id, server_ref) DO UPDATE SET outcome = ?3, code = ?4, params = ?5, message_id = ?6,
            subject = ?7, moved_to_undeliverable = ?8, occurred_on = ?9",
    )?
    .execute(params![
        o.mailbox_id,
        o.server_ref,
        o.outcome,
        o.code,
        params_json,
        o.message_id,
        o.subject,
        o.moved_to_undeliverable,
        o.occurred_on
    ])?;
    Ok(())
}

/// Marks outcomes as moved to the Undeliverable folder.
pub fn mark_moved(tx: &Transaction<'_>, mailbox: MailboxId, refs: &[String]) -> Result<()> {
    let mut stmt = tx.prepare_cached(
        "UPDATE mail_item_outcome SET moved_to_undeliverable = 1 WHERE mailbox_id = ?1 AND server_ref = ?2",
    )?;
    for r in refs {
        stmt.execute(params![mailbox, r])?;
    }
    Ok(())
}

/// The most recent outcomes of a mailbox (all mailboxes for None), newest first.
pub fn outcomes(c: &Connection, mailbox: Option<MailboxId>, limit: u32) -> Result<Vec<Outcome>> {
    let mut stmt = c.prepare_cached(
        "SELECT mailbox_id, server_ref, outcome, code, params, message_id, subject, moved_to_undeliverable, occurred_on
         FROM mail_item_outcome WHERE (?1 IS NULL OR mailbox_id = ?1) ORDER BY occurred_on DESC, id DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![mailbox, limit.clamp(1, 10_000)], |r| {
        let params: String = r.get(4)?;
        Ok(Outcome {
            mailbox_id: r.get(0)?,
            server_ref: r.get(1)?,
            outcome: r.get(2)?,
            code: r.get(3)?,
            params: serde_json::from_str(&params).unwrap_or_default(),
            message_id: r.get(5)?,
            subject: r.get(6)?,
            moved_to_undeliverable: r.get(7)?,
            occurred_on: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}
