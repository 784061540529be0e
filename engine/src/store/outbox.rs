//! The outbox: outgoing emails as they move from Pending Send through Sending to Sent or Failed
//! (columns of `email_activity`), and the tracking numbers given out (`tracking_counter`).

use crate::domain::{ActivityId, EmailActivity, EmailStatus, MailboxId, Timestamp};
use crate::{Error, Result};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use std::collections::BTreeMap;

/// The next message counter of a user number (starting at 1), counted once given out.
pub fn next_tracking_counter(tx: &Transaction<'_>, user_number: u64) -> Result<u64> {
    let n = i64::try_from(user_number).unwrap_or(i64::MAX);
    tx.prepare_cached(
        "INSERT INTO tracking_counter (user_number, next) VALUES (?1, 1) ON CONFLICT (user_number) DO NOTHING",
    )?
    .execute([n])?;
    let next: i64 = tx
        .prepare_cached("UPDATE tracking_counter SET next = next + 1 WHERE user_number = ?1 RETURNING next - 1")?
        .query_row([n], |r| r.get(0))?;
    Ok(next.max(0) as u64)
}

fn ids(c: &Connection, sql: &str, p: impl rusqlite::Params) -> Result<Vec<ActivityId>> {
    let mut stmt = c.prepare_cached(sql)?;
    let rows = stmt.query_map(p, |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// A mailbox's emails due to be sent now (Pending Send, Send Later passed), oldest first.
pub fn due(c: &Connection, mailbox: MailboxId, now: Timestamp, limit: u32) -> Result<Vec<EmailActivity>> {
    // The limit is written into the statement: a bound LIMIT makes SQLite prepare it again at
    // each use.
    let ids = ids(
        c,
        &format!(
            "SELECT id FROM email_activity WHERE sender_mailbox_id = ?1 AND status = 'pending_send'
            AND (send_after IS NULL OR send_after <= ?2) ORDER BY created_on, id LIMIT {limit}"
        ),
        params![mailbox, now],
    )?;
    ids.into_iter().map(|id| super::activities::get(c, id)).collect()
}

/// A mailbox's emails left Sending since before `before`: a try whose end was never recorded.
pub fn stale_sending(c: &Connection, mailbox: MailboxId, before: Timestamp) -> Result<Vec<EmailActivity>> {
    let ids = ids(
        c,
        "SELECT id FROM email_activity WHERE sender_mailbox_id = ?1 AND status = 'sending'
            AND (sending_since IS NULL OR sending_since < ?2) ORDER BY created_on, id",
        params![mailbox, before],
    )?;
    ids.into_iter().map(|id| super::activities::get(c, id)).collect()
}

/// Marks an email Sending before its message leaves (one more attempt); returns the attempts, or
/// None when it is no longer Pending Send or Sending (another run took it, or it was cancelled).
pub fn mark_sending(tx: &Transaction<'_>, id: ActivityId, now: Timestamp) -> Result<Option<u32>> {
    Ok(tx
        .prepare_cached(
            "UPDATE email_activity SET status = 'sending', sending_since = ?2, delivery_attempts = delivery_attempts + 1
             WHERE id = ?1 AND status IN ('pending_send', 'sending') RETURNING delivery_attempts",
        )?
        .query_row(params![id, now], |r| r.get(0))
        .optional()?)
}

/// Records the end of a try: `status` with the reason (none for Sent), and the time it left.
pub fn finish(
    tx: &Transaction<'_>,
    id: ActivityId,
    status: EmailStatus,
    reason: Option<(&str, &BTreeMap<String, String>)>,
    now: Timestamp,
) -> Result<()> {
    let (code, params_json) = match reason {
        Some((code, p)) => (code.to_owned(), serde_json::to_string(p).map_err(Error::internal)?),
        None => (String::new(), "{}".to_owned()),
    };
    let sent_on = (status == EmailStatus::Sent).then_some(now);
    tx.prepare_cached(
        "UPDATE email_activity SET status = ?2, sending_since = NULL, last_error_code = ?3, last_error_params = ?4,
            waiting_code = '', waiting_params = '{}', sent_on = coalesce(?5, sent_on) WHERE id = ?1",
    )?
    .execute(params![id, status, code, params_json, sent_on])?;
    Ok(())
}

/// Says why a mailbox's Pending Send emails wait (the mailbox cannot send), or clears that
/// reason. The reason of each email's own last try is kept apart and left as it is.
pub fn set_waiting_reason(
    tx: &Transaction<'_>,
    mailbox: MailboxId,
    reason: Option<(&str, &BTreeMap<String, String>)>,
) -> Result<usize> {
    let (code, params_json) = match reason {
        Some((code, p)) => (code.to_owned(), serde_json::to_string(p).map_err(Error::internal)?),
        None => (String::new(), "{}".to_owned()),
    };
    Ok(tx
        .prepare_cached(
            "UPDATE email_activity SET waiting_code = ?2, waiting_params = ?3
             WHERE sender_mailbox_id = ?1 AND status = 'pending_send'
                AND (waiting_code <> ?2 OR waiting_params <> ?3)",
        )?
        .execute(params![mailbox, code, params_json])?)
}

/// The earliest Send Later time after `now` of the mailbox's Pending Send emails.
pub fn earliest_send_after(c: &Connection, mailbox: MailboxId, now: Timestamp) -> Result<Option<Timestamp>> {
    Ok(c.prepare_cached(
        "SELECT min(send_after) FROM email_activity WHERE sender_mailbox_id = ?1 AND status = 'pending_send'
            AND send_after > ?2",
    )?
    .query_row(params![mailbox, now], |r| r.get(0))?)
}

/// Whether a Pending Send email of the mailbox that may leave by `now` was never tried. At the
/// end of an outgoing cycle that tried every email it read, such an email came after the cycle
/// read the outbox: written, put back by Retry, or its Send Later time came while it ran.
pub fn has_untried_due(c: &Connection, mailbox: MailboxId, now: Timestamp) -> Result<bool> {
    Ok(c.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM email_activity WHERE sender_mailbox_id = ?1 AND status = 'pending_send'
            AND (send_after IS NULL OR send_after <= ?2) AND delivery_attempts = 0)",
    )?
    .query_row(params![mailbox, now], |r| r.get(0))?)
}

/// Whether some Pending Send email of the mailbox says the mailbox cannot send.
pub fn has_waiting_reason(c: &Connection, mailbox: MailboxId) -> Result<bool> {
    Ok(c.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM email_activity WHERE sender_mailbox_id = ?1 AND status = 'pending_send'
            AND waiting_code <> '')",
    )?
    .query_row([mailbox], |r| r.get(0))?)
}

/// Marks an email that may have arrived twice (sent again after a crash, unverifiable).
pub fn mark_possible_duplicate(tx: &Transaction<'_>, id: ActivityId) -> Result<()> {
    tx.prepare_cached("UPDATE email_activity SET possible_duplicate = 1 WHERE id = ?1")?.execute([id])?;
    Ok(())
}

/// Puts a Failed email back to Pending Send ("Retry"); false when it was not Failed.
pub fn retry(tx: &Transaction<'_>, id: ActivityId) -> Result<bool> {
    Ok(tx.execute(
        "UPDATE email_activity SET status = 'pending_send', delivery_attempts = 0, last_error_code = '',
            last_error_params = '{}' WHERE id = ?1 AND status = 'failed'",
        [id],
    )? == 1)
}

/// The addresses an email goes to (To, Cc and Bcc), each once, in order.
pub fn envelope_recipients(c: &Connection, id: ActivityId) -> Result<Vec<String>> {
    let mut stmt = c.prepare_cached(
        "SELECT address FROM activity_party WHERE activity_id = ?1 AND role IN ('to', 'cc', 'bcc')
         ORDER BY CASE role WHEN 'to' THEN 0 WHEN 'cc' THEN 1 ELSE 2 END, position",
    )?;
    let rows = stmt.query_map([id], |r| r.get::<_, String>(0))?;
    let mut out: Vec<String> = Vec::new();
    for a in rows {
        let a = a?;
        if !out.iter().any(|x| x.eq_ignore_ascii_case(&a)) {
            out.push(a);
        }
    }
    Ok(out)
}

/// One row of the Outbox view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: ActivityId,
    pub subject: String,
    pub sender_mailbox_id: Option<MailboxId>,
    pub sender_mailbox_name: String,
    pub to: String,
    pub status: EmailStatus,
    pub delivery_attempts: u32,
    pub send_after: Option<Timestamp>,
    pub created_on: Timestamp,
    /// Why it waits or failed: the mailbox's reason while the mailbox cannot send, else the
    /// reason of the email's own last try.
    pub last_error_code: String,
    pub last_error_params: BTreeMap<String, String>,
    pub possible_duplicate: bool,
}

/// The emails waiting, being sent, or failed (newest first), optionally of one status: `limit`
/// of them from `offset`.
pub fn list(c: &Connection, status: Option<EmailStatus>, offset: u32, limit: u32) -> Result<Vec<OutboxRow>> {
    // One status is one range of the outbox index, read in order; all three are merged and sorted.
    let of_status = if status.is_some() { "e.status = ?1" } else { "?1 IS NULL" };
    let mut stmt = c.prepare_cached(&format!(
        "SELECT e.id, e.subject, e.sender_mailbox_id, coalesce(m.name, ''),
            (SELECT group_concat(address, '; ') FROM (SELECT DISTINCT position, address FROM activity_party
                WHERE activity_id = e.id AND role = 'to' ORDER BY position)),
            e.status, e.delivery_attempts, e.send_after, e.created_on,
            -- The mailbox's reason first: while it stands, no try of the email can happen.
            CASE WHEN e.waiting_code <> '' THEN e.waiting_code ELSE e.last_error_code END,
            CASE WHEN e.waiting_code <> '' THEN e.waiting_params ELSE e.last_error_params END,
            e.possible_duplicate
         FROM email_activity e LEFT JOIN mailbox m ON m.id = e.sender_mailbox_id
         WHERE e.direction = 'outgoing' AND e.status IN ('pending_send', 'sending', 'failed') AND {of_status}
         ORDER BY e.created_on DESC, e.id DESC LIMIT {limit} OFFSET {offset}",
        // Numbers, not parameters: SQLite plans a LIMIT it can see.
        limit = limit.clamp(1, 10_000)
    ))?;
    let rows = stmt.query_map(params![status], |r| {
        Ok(OutboxRow {
            id: r.get(0)?,
            subject: r.get(1)?,
            sender_mailbox_id: r.get(2)?,
            sender_mailbox_name: r.get(3)?,
            to: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
            status: r.get(5)?,
            delivery_attempts: r.get(6)?,
            send_after: r.get(7)?,
            created_on: r.get(8)?,
            last_error_code: r.get(9)?,
            last_error_params: serde_json::from_str(&r.get::<_, String>(10)?).unwrap_or_default(),
            possible_duplicate: r.get(11)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// How many emails wait (Pending Send), are being sent, and failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    pub pending_send: u64,
    pub sending: u64,
    pub failed: u64,
}

impl OutboxCounts {
    /// The emails of `status` (all three without one).
    pub fn of(&self, status: Option<EmailStatus>) -> u64 {
        match status {
            Some(EmailStatus::PendingSend) => self.pending_send,
            Some(EmailStatus::Sending) => self.sending,
            Some(EmailStatus::Failed) => self.failed,
            Some(_) => 0,
            None => self.pending_send + self.sending + self.failed,
        }
    }
}

/// How many emails are in each outbox state.
pub fn counts(c: &Connection) -> Result<OutboxCounts> {
    let mut stmt = c.prepare_cached(
        "SELECT status, count(*) FROM email_activity
         WHERE direction = 'outgoing' AND status IN ('pending_send', 'sending', 'failed') GROUP BY status",
    )?;
    let mut counts = OutboxCounts::default();
    for row in stmt.query_map([], |r| Ok((r.get::<_, EmailStatus>(0)?, r.get::<_, i64>(1)?.max(0) as u64)))? {
        let (status, n) = row?;
        match status {
            EmailStatus::PendingSend => counts.pending_send = n,
            EmailStatus::Sending => counts.sending = n,
            EmailStatus::Failed => counts.failed = n,
            _ => {}
        }
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ActivityDirection, Mailbox};
    use crate::store::Store;

    /// A store with one mailbox that sends; its directory goes with the first element.
    fn outbox() -> Result<(tempfile::TempDir, Store, MailboxId, Timestamp)> {
        let dir = tempfile::tempdir()?;
        let store = Store::open(&dir.path().join("t.sqlite3"))?;
        let now = chrono::Utc::now();
        let mut m = Mailbox::new("m".into(), "m@x".into(), now);
        m.is_forward_mailbox = true;
        let mailbox = store.write(|tx| super::super::mailboxes::insert(tx, &m))?;
        Ok((dir, store, mailbox, now))
    }

    /// Writes a Pending Send email from `mailbox`, to leave now or at `send_after`.
    fn write(store: &Store, mailbox: MailboxId, subject: &str, send_after: Option<Timestamp>) -> Result<ActivityId> {
        let mut a = EmailActivity::blank(ActivityDirection::Outgoing, EmailStatus::PendingSend, chrono::Utc::now());
        a.subject = subject.into();
        a.dedupe_key = format!("<{subject}@x>");
        a.sender_mailbox_id = Some(mailbox);
        a.send_after = send_after;
        store.write(|tx| {
            super::super::activities::insert(
                tx,
                super::super::activities::NewEmail { activity: &a, parties: &[], attachments: &[], queue_items: &[] },
            )
        })
    }

    #[test]
    fn a_mailbox_reason_stands_over_an_email_reason_and_goes_without_it() -> Result<()> {
        let (_dir, store, mailbox, now) = outbox()?;
        let (busy, fine) = (write(&store, mailbox, "busy", None)?, write(&store, mailbox, "fine", None)?);
        let reasons = || -> Result<BTreeMap<ActivityId, String>> {
            Ok(store.read(|c| list(c, None, 0, 10))?.into_iter().map(|r| (r.id, r.last_error_code)).collect())
        };
        // The first email's try met a busy server: its own reason.
        let p = BTreeMap::from([("host".to_owned(), "smtp.x".to_owned())]);
        store.write(|tx| finish(tx, busy, EmailStatus::PendingSend, Some(("mail.server_busy", &p)), now))?;
        // Then the mailbox could not send at all: both say so.
        store.write(|tx| set_waiting_reason(tx, mailbox, Some(("mail.auth_failed", &BTreeMap::new()))))?;
        assert_eq!(reasons()?, BTreeMap::from([(busy, "mail.auth_failed".into()), (fine, "mail.auth_failed".into())]));
        // The mailbox can send again: the email's own reason is back, the other has none.
        store.write(|tx| set_waiting_reason(tx, mailbox, None))?;
        assert_eq!(reasons()?, BTreeMap::from([(busy, "mail.server_busy".into()), (fine, String::new())]));
        // An email's next try ends its waiting.
        store.write(|tx| set_waiting_reason(tx, mailbox, Some(("mail.auth_failed", &BTreeMap::new()))))?;
        store.write(|tx| finish(tx, fine, EmailStatus::Sent, None, now))?;
        assert_eq!(reasons()?, BTreeMap::from([(busy, "mail.auth_failed".into())]));
        Ok(())
    }

    #[test]
    fn an_email_never_tried_and_due_is_found_and_one_tried_or_later_is_not() -> Result<()> {
        let (_dir, store, mailbox, _) = outbox()?;
        let now = chrono::Utc::now();
        let untried = || store.read(|c| has_untried_due(c, mailbox, now));
        assert!(!untried()?, "an empty outbox");
        write(&store, mailbox, "later", Some(now + chrono::Duration::minutes(3)))?;
        assert!(!untried()?, "a Send Later still to come is not due");
        let id = write(&store, mailbox, "now", None)?;
        assert!(untried()?, "written and never tried");
        store.write(|tx| mark_sending(tx, id, now))?;
        store.write(|tx| finish(tx, id, EmailStatus::PendingSend, None, now))?;
        assert!(!untried()?, "tried once and left for a later cycle: it waits for the back-off");
        store.write(|tx| finish(tx, id, EmailStatus::Failed, None, now))?;
        assert!(store.write(|tx| retry(tx, id))?);
        assert!(untried()?, "put back by Retry");
        Ok(())
    }
}
