//! The scheduler's tables: `mailbox_schedule` (when each workload of each mailbox runs next and
//! how its last cycles went), `mailbox_lease` (which engine runs it now) and `sync_run` (the
//! history of cycles that the alerts, the dashboard and Download Mailbox Details read).
//!
//! A lease is a row with an expiry. It is taken only when there is none or it has expired (or
//! the taker already holds it), in one statement, so two engines on one database never both
//! hold it; a dead engine's leases expire and are taken over.

use crate::Result;
use crate::domain::rules::Workload;
use crate::domain::{MailboxId, ProfileId, RunOutcome, SyncRun, Timestamp, WorkloadSchedule};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

/// The workloads the scheduler runs today (appointments, contacts and tasks come later).
pub const SCHEDULED: [Workload; 2] = [Workload::Incoming, Workload::Outgoing];

/// The lease of a mailbox's IMAP IDLE connection (the other leases are named by their
/// workload's code).
pub const PUSH: &str = "push";

const COLUMNS: &str = "s.next_run_on, s.last_started_on, s.last_completed_on, s.last_success_on,
    s.transient_failures, s.idle_cycles, s.items_processed, s.items_failed, s.last_error_code,
    s.last_error_params, s.last_error_on, l.holder, l.expires_on";

fn from_row(mailbox_id: MailboxId, workload: Workload, r: &Row<'_>) -> rusqlite::Result<WorkloadSchedule> {
    let params: Option<String> = r.get(9)?;
    Ok(WorkloadSchedule {
        mailbox_id,
        workload,
        next_run_on: r.get(0)?,
        last_started_on: r.get(1)?,
        last_completed_on: r.get(2)?,
        last_success_on: r.get(3)?,
        transient_failures: r.get::<_, Option<u32>>(4)?.unwrap_or(0),
        idle_cycles: r.get::<_, Option<u32>>(5)?.unwrap_or(0),
        items_processed: r.get::<_, Option<u32>>(6)?.unwrap_or(0),
        items_failed: r.get::<_, Option<u32>>(7)?.unwrap_or(0),
        last_error_code: r.get::<_, Option<String>>(8)?.unwrap_or_default(),
        last_error_params: params.and_then(|p| serde_json::from_str(&p).ok()).unwrap_or_default(),
        last_error_on: r.get(10)?,
        lease_holder: r.get(11)?,
        lease_expires_on: r.get(12)?,
        idle_connected: false,
    })
}

/// A workload's schedule (the schedule of one that never ran, when there is none).
pub fn get(c: &Connection, mailbox: MailboxId, workload: Workload) -> Result<WorkloadSchedule> {
    let sql = format!(
        "SELECT {COLUMNS} FROM (SELECT ?1 AS mailbox_id, ?2 AS workload) k
         LEFT JOIN mailbox_schedule s ON s.mailbox_id = k.mailbox_id AND s.workload = k.workload
         LEFT JOIN mailbox_lease l ON l.mailbox_id = k.mailbox_id AND l.workload = k.workload"
    );
    Ok(c.prepare_cached(&sql)?.query_row(params![mailbox, workload], |r| from_row(mailbox, workload, r))?)
}

/// Every scheduled workload of a mailbox, in [`SCHEDULED`] order; the incoming one says whether
/// an engine keeps an IDLE connection for it at `now`.
pub fn for_mailbox(c: &Connection, mailbox: MailboxId, now: Timestamp) -> Result<Vec<WorkloadSchedule>> {
    let pushed = push_holder(c, mailbox, now)?.is_some();
    SCHEDULED
        .iter()
        .map(|w| {
            let mut s = get(c, mailbox, *w)?;
            s.idle_connected = pushed && *w == Workload::Incoming;
            Ok(s)
        })
        .collect()
}

/// The engine that keeps the mailbox's IDLE connection at `now`, if one does.
pub fn push_holder(c: &Connection, mailbox: MailboxId, now: Timestamp) -> Result<Option<String>> {
    Ok(c.prepare_cached(
        "SELECT holder FROM mailbox_lease WHERE mailbox_id = ?1 AND workload = 'push' AND expires_on > ?2",
    )?
    .query_row(params![mailbox, now], |r| r.get(0))
    .optional()?)
}

/// The mailboxes that could be pushed to by `holder` at `now`: active, enabled for incoming
/// email, on an active IMAP or Exchange Server profile, and whose push connection no other
/// engine keeps.
pub fn push_candidates(c: &Connection, now: Timestamp, holder: &str) -> Result<Vec<(MailboxId, ProfileId)>> {
    let mut stmt = c.prepare_cached(
        "SELECT m.id, m.profile_id FROM mailbox m
         JOIN email_server_profile p ON p.id = m.profile_id
         LEFT JOIN mailbox_lease l ON l.mailbox_id = m.id AND l.workload = 'push'
         WHERE m.state = 'active' AND m.enabled_for_incoming = 1 AND p.state = 'active'
           AND p.server_type IN ('imap_smtp', 'exchange_server')
           AND (l.expires_on IS NULL OR l.expires_on <= ?1 OR l.holder = ?2)
         ORDER BY m.id",
    )?;
    let rows = stmt.query_map(params![now, holder], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Writes a workload's schedule (its lease is not touched).
pub fn put(tx: &Transaction<'_>, s: &WorkloadSchedule) -> Result<()> {
    let params_json = serde_json::to_string(&s.last_error_params).map_err(crate::Error::internal)?;
    tx.prepare_cached(
        "INSERT INTO mailbox_schedule (mailbox_id, workload, next_run_on, last_started_on, last_completed_on,
            last_success_on, transient_failures, idle_cycles, items_processed, items_failed, last_error_code,
            last_error_params, last_error_on)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
         ON CONFLICT (mailbox_id, workload) DO UPDATE SET next_run_on = ?3, last_started_on = ?4,
            last_completed_on = ?5, last_success_on = ?6, transient_failures = ?7, idle_cycles = ?8,
            items_processed = ?9, items_failed = ?10, last_error_code = ?11, last_error_params = ?12,
            last_error_on = ?13",
    )?
    .execute(params![
        s.mailbox_id,
        s.workload,
        s.next_run_on,
        s.last_started_on,
        s.last_completed_on,
        s.last_success_on,
        s.transient_failures,
        s.idle_cycles,
        s.items_processed,
        s.items_failed,
        s.last_error_code,
        params_json,
        s.last_error_on,
    ])?;
    Ok(())
}

/// Runs a workload as soon as possible (an email was written, a retry asked): its next run
/// becomes `now` unless it is already due.
pub fn run_soon(tx: &Transaction<'_>, mailbox: MailboxId, workload: Workload, now: Timestamp) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO mailbox_schedule (mailbox_id, workload, next_run_on) VALUES (?1, ?2, ?3)
         ON CONFLICT (mailbox_id, workload) DO UPDATE SET next_run_on = ?3
         WHERE next_run_on IS NOT NULL AND next_run_on > ?3",
    )?
    .execute(params![mailbox, workload, now])?;
    Ok(())
}

/// Starts a mailbox's schedules again (Test & Enable passed): every workload runs at once, with
/// its failure count cleared.
pub fn reset(tx: &Transaction<'_>, mailbox: MailboxId) -> Result<()> {
    tx.prepare_cached("DELETE FROM mailbox_schedule WHERE mailbox_id = ?1")?.execute([mailbox])?;
    Ok(())
}

/// A workload that is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    pub mailbox_id: MailboxId,
    pub workload: Workload,
    pub profile_id: ProfileId,
    pub next_run_on: Option<Timestamp>,
}

/// The enabled workloads of active mailboxes that are due at `now` and whose lease is free,
/// those never run first, then the most overdue; at most `limit`.
pub fn due(c: &Connection, now: Timestamp, limit: u32) -> Result<Vec<Due>> {
    let mut stmt = c.prepare_cached(
        "SELECT m.id, w.workload, m.profile_id, s.next_run_on
         FROM mailbox m
         JOIN (SELECT 'incoming' AS workload UNION ALL SELECT 'outgoing') w
         LEFT JOIN mailbox_schedule s ON s.mailbox_id = m.id AND s.workload = w.workload
         LEFT JOIN mailbox_lease l ON l.mailbox_id = m.id AND l.workload = w.workload
         WHERE m.state = 'active' AND m.profile_id IS NOT NULL
           AND CASE w.workload WHEN 'incoming' THEN m.enabled_for_incoming ELSE m.enabled_for_outgoing END = 1
           AND (s.next_run_on IS NULL OR s.next_run_on <= ?1)
           AND (l.expires_on IS NULL OR l.expires_on <= ?1)
         ORDER BY s.next_run_on IS NOT NULL, s.next_run_on, m.id
         LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![now, limit], |r| {
        Ok(Due { mailbox_id: r.get(0)?, workload: r.get(1)?, profile_id: r.get(2)?, next_run_on: r.get(3)? })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// When the next enabled workload falls due (None when none is scheduled; a workload never run
/// is due now).
pub fn next_due_on(c: &Connection, now: Timestamp) -> Result<Option<Timestamp>> {
    let next: Option<Option<Timestamp>> = c
        .prepare_cached(
            "SELECT s.next_run_on
             FROM mailbox m
             JOIN (SELECT 'incoming' AS workload UNION ALL SELECT 'outgoing') w
             LEFT JOIN mailbox_schedule s ON s.mailbox_id = m.id AND s.workload = w.workload
             WHERE m.state = 'active' AND m.profile_id IS NOT NULL
               AND CASE w.workload WHEN 'incoming' THEN m.enabled_for_incoming ELSE m.enabled_for_outgoing END = 1
             ORDER BY s.next_run_on IS NOT NULL, s.next_run_on
             LIMIT 1",
        )?
        .query_row([], |r| r.get(0))
        .optional()?;
    Ok(next.map(|n| n.unwrap_or(now)))
}

/// Takes the lease of a workload for `holder` until `until`, when it is free, expired at `now`,
/// or already `holder`'s. Returns whether `holder` holds it now.
pub fn acquire_lease(
    tx: &Transaction<'_>,
    mailbox: MailboxId,
    kind: &str,
    holder: &str,
    now: Timestamp,
    until: Timestamp,
) -> Result<bool> {
    let n = tx
        .prepare_cached(
            "INSERT INTO mailbox_lease (mailbox_id, workload, holder, expires_on) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (mailbox_id, workload) DO UPDATE SET holder = excluded.holder, expires_on = excluded.expires_on
             WHERE mailbox_lease.expires_on <= ?5 OR mailbox_lease.holder = excluded.holder",
        )?
        .execute(params![mailbox, kind, holder, until, now])?;
    Ok(n == 1)
}

/// Who holds the lease `kind` of a mailbox (live or expired), if anyone.
pub fn lease_holder(c: &Connection, mailbox: MailboxId, kind: &str) -> Result<Option<String>> {
    Ok(c.prepare_cached("SELECT holder FROM mailbox_lease WHERE mailbox_id = ?1 AND workload = ?2")?
        .query_row(params![mailbox, kind], |r| r.get(0))
        .optional()?)
}

/// Takes the lease `kind` of a mailbox from `from` (an engine known to be gone) for `holder`.
pub fn take_over_lease(
    tx: &Transaction<'_>,
    mailbox: MailboxId,
    kind: &str,
    from: &str,
    holder: &str,
    until: Timestamp,
) -> Result<bool> {
    let n = tx
        .prepare_cached(
            "UPDATE mailbox_lease SET holder = ?4, expires_on = ?5 WHERE mailbox_id = ?1 AND workload = ?2 AND holder = ?3",
        )?
        .execute(params![mailbox, kind, from, holder, until])?;
    Ok(n == 1)
}

/// Extends `holder`'s lease to `until`. False when it is no longer `holder`'s (it expired and
/// another engine took it).
pub fn renew_lease(
    tx: &Transaction<'_>,
    mailbox: MailboxId,
    kind: &str,
    holder: &str,
    until: Timestamp,
) -> Result<bool> {
    let n = tx
        .prepare_cached(
            "UPDATE mailbox_lease SET expires_on = ?4 WHERE mailbox_id = ?1 AND workload = ?2 AND holder = ?3",
        )?
        .execute(params![mailbox, kind, holder, until])?;
    Ok(n == 1)
}

/// Lets go of `holder`'s lease of a workload.
pub fn release_lease(tx: &Transaction<'_>, mailbox: MailboxId, kind: &str, holder: &str) -> Result<()> {
    tx.prepare_cached("DELETE FROM mailbox_lease WHERE mailbox_id = ?1 AND workload = ?2 AND holder = ?3")?
        .execute(params![mailbox, kind, holder])?;
    Ok(())
}

/// Lets go of every lease `holder` still has (an engine that stops).
pub fn release_all(tx: &Transaction<'_>, holder: &str) -> Result<usize> {
    Ok(tx.prepare_cached("DELETE FROM mailbox_lease WHERE holder = ?1")?.execute([holder])?)
}

/// Records a cycle in the history.
pub fn record_run(tx: &Transaction<'_>, run: &SyncRun) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO sync_run (mailbox_id, workload, started_on, completed_on, outcome, items, failed_items, error_code, runner)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        run.mailbox_id,
        run.workload,
        run.started_on,
        run.completed_on,
        run.outcome,
        run.items,
        run.failed_items,
        run.error_code,
        run.runner,
    ])?;
    Ok(())
}

/// Removes the history older than `before`.
pub fn prune_runs(tx: &Transaction<'_>, before: Timestamp) -> Result<usize> {
    Ok(tx.prepare_cached("DELETE FROM sync_run WHERE completed_on < ?1")?.execute([before])?)
}

/// A mailbox's latest cycles, newest first.
pub fn runs(c: &Connection, mailbox: MailboxId, limit: u32) -> Result<Vec<SyncRun>> {
    let mut stmt = c.prepare_cached(
        "SELECT mailbox_id, workload, started_on, completed_on, outcome, items, failed_items, error_code, runner
         FROM sync_run WHERE mailbox_id = ?1 ORDER BY completed_on DESC, id DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![mailbox, limit], |r| {
        Ok(SyncRun {
            mailbox_id: r.get(0)?,
            workload: r.get(1)?,
            started_on: r.get(2)?,
            completed_on: r.get(3)?,
            outcome: r.get(4)?,
            items: r.get(5)?,
            failed_items: r.get(6)?,
            error_code: r.get(7)?,
            runner: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Of a profile's mailboxes that synchronise with ServerSync, how many had a failed cycle since
/// `since`, and how many there are: `(failed, total)`.
pub fn profile_failures(c: &Connection, profile: ProfileId, since: Timestamp) -> Result<(usize, usize)> {
    let row = c
        .prepare_cached(
            "SELECT
                (SELECT count(DISTINCT r.mailbox_id) FROM sync_run r JOIN mailbox m ON m.id = r.mailbox_id
                 WHERE m.profile_id = ?1 AND r.completed_on >= ?2 AND r.outcome <> 'success'),
                (SELECT count(*) FROM mailbox m WHERE m.profile_id = ?1 AND m.state = 'active'
                 AND (m.incoming_method = 'server_side_sync' OR m.outgoing_method = 'server_side_sync'))",
        )?
        .query_row(params![profile, since], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?;
    Ok((row.0.max(0) as usize, row.1.max(0) as usize))
}

/// How many cycles ended each way since `since`, for the dashboard.
pub fn outcome_counts(c: &Connection, since: Timestamp) -> Result<Vec<(RunOutcome, u64)>> {
    let mut stmt = c.prepare_cached(
        "SELECT outcome, count(*) FROM sync_run WHERE completed_on >= ?1 GROUP BY outcome ORDER BY outcome",
    )?;
    let rows = stmt.query_map([since], |r| Ok((r.get(0)?, r.get::<_, i64>(1)?.max(0) as u64)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Mailbox;
    use crate::store::Store;
    use chrono::TimeZone;

    fn at(minute: u32, second: u32) -> Timestamp {
        chrono::Utc.with_ymd_and_hms(2026, 12, 4, 10, minute, second).single().unwrap_or_default()
    }

    fn one_mailbox() -> Result<(tempfile::TempDir, Store, MailboxId)> {
        let dir = tempfile::tempdir()?;
        let store = Store::open(&dir.path().join("t.sqlite3"))?;
        let mut m = Mailbox::new("m".into(), "m@x".into(), at(0, 0));
        m.is_forward_mailbox = true;
        let id = store.write(|tx| super::super::mailboxes::insert(tx, &m))?;
        Ok((dir, store, id))
    }

    #[test]
    fn a_lease_is_held_by_one_engine_until_it_expires_or_is_let_go() -> Result<()> {
        let (_d, store, m) = one_mailbox()?;
        let w = Workload::Incoming.code();
        store.write(|tx| {
            assert!(acquire_lease(tx, m, w, "a", at(0, 0), at(2, 0))?, "a free lease is taken");
            assert!(!acquire_lease(tx, m, w, "b", at(1, 0), at(3, 0))?, "a live lease is not taken by another");
            assert!(acquire_lease(tx, m, w, "a", at(1, 0), at(3, 0))?, "its holder may take it again");
            assert!(renew_lease(tx, m, w, "a", at(4, 0))?, "its holder renews it");
            assert!(!renew_lease(tx, m, w, "b", at(9, 0))?, "another cannot renew it");
            assert!(!acquire_lease(tx, m, w, "b", at(3, 59), at(5, 0))?, "renewed: still live");
            assert!(acquire_lease(tx, m, w, "b", at(4, 0), at(6, 0))?, "expired: taken over");
            assert!(!renew_lease(tx, m, w, "a", at(7, 0))?, "the old holder learns it lost it");
            release_lease(tx, m, w, "a")?;
            assert!(!acquire_lease(tx, m, w, "c", at(5, 0), at(7, 0))?, "letting go of another's lease does nothing");
            release_lease(tx, m, w, "b")?;
            assert!(acquire_lease(tx, m, w, "c", at(5, 0), at(7, 0))?, "let go: free at once");
            assert!(
                acquire_lease(tx, m, Workload::Outgoing.code(), "d", at(5, 0), at(7, 0))?,
                "each workload has its own"
            );
            assert!(acquire_lease(tx, m, PUSH, "d", at(5, 0), at(7, 0))?, "and so does the IDLE connection");
            assert_eq!(push_holder(tx, m, at(6, 0))?.as_deref(), Some("d"));
            assert_eq!(push_holder(tx, m, at(7, 0))?, None, "expired: no one pushes");
            assert_eq!(release_all(tx, "c")?, 1);
            assert_eq!(release_all(tx, "d")?, 2);
            Ok(())
        })
    }

    #[test]
    fn a_workload_is_due_when_enabled_its_time_has_come_and_its_lease_is_free() -> Result<()> {
        let (_d, store, m) = one_mailbox()?;
        let due_now = |store: &Store, now| -> Result<Vec<(MailboxId, Workload)>> {
            Ok(store.read(|c| due(c, now, 10))?.into_iter().map(|d| (d.mailbox_id, d.workload)).collect())
        };
        assert!(due_now(&store, at(0, 0))?.is_empty(), "no profile, nothing enabled: nothing due");
        store.write(|tx| {
            let p = super::super::profiles::insert(
                tx,
                &crate::domain::Profile::new(crate::domain::ServerType::ImapSmtp, "p".into(), at(0, 0)),
            )?;
            tx.execute("UPDATE mailbox SET profile_id = ?1, enabled_for_incoming = 1 WHERE id = ?2", params![p, m])?;
            Ok(())
        })?;
        assert_eq!(due_now(&store, at(0, 0))?, vec![(m, Workload::Incoming)], "enabled and never run: due");
        store.write(|tx| {
            let mut s = get(tx, m, Workload::Incoming)?;
            s.next_run_on = Some(at(5, 0));
            put(tx, &s)
        })?;
        assert!(due_now(&store, at(4, 59))?.is_empty(), "not yet");
        assert_eq!(store.read(|c| next_due_on(c, at(0, 0)))?, Some(at(5, 0)));
        assert_eq!(due_now(&store, at(5, 0))?.len(), 1, "its time has come");
        store.write(|tx| acquire_lease(tx, m, Workload::Incoming.code(), "a", at(5, 0), at(7, 0)).map(|_| ()))?;
        assert!(due_now(&store, at(6, 0))?.is_empty(), "another engine runs it");
        assert_eq!(due_now(&store, at(7, 0))?.len(), 1, "that engine died: its lease expired");
        store.write(|tx| run_soon(tx, m, Workload::Outgoing, at(0, 0)))?;
        assert_eq!(due_now(&store, at(7, 0))?.len(), 1, "outgoing is not enabled: run soon does not make it due");
        store.write(|tx| {
            tx.execute("UPDATE mailbox SET state = 'inactive' WHERE id = ?1", [m])?;
            Ok(())
        })?;
        assert!(due_now(&store, at(9, 0))?.is_empty(), "an inactive mailbox is never due");
        Ok(())
    }
}
