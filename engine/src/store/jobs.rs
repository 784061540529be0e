//! The `async_job` and `async_job_item` tables.

use super::record::{self, table_record};
use crate::domain::job::{Job, JobItem, JobProgress, final_state};
use crate::domain::{JobId, JobItemState, JobState, MailboxId, ProfileId, Timestamp};
use crate::{Error, Result};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

table_record!(Job, "async_job", id: JobId { kind, profile_id, state, runner, created_on, started_on, completed_on });

/// One job, or `record.not_found`.
pub fn get(c: &Connection, id: JobId) -> Result<Job> {
    record::get(c, id, JobId::ENTITY)
}

/// The most recent jobs, newest first.
pub fn recent(c: &Connection, limit: u32) -> Result<Vec<Job>> {
    record::select(c, "1", &format!("id DESC LIMIT {}", limit.clamp(1, 500)), &[])
}

/// Inserts a job and one pending item per mailbox (a mailbox named twice counts once).
pub fn insert(tx: &Transaction<'_>, job: &Job, mailboxes: &[MailboxId]) -> Result<JobId> {
    let id = JobId(record::insert(tx, job)?);
    let mut stmt = tx.prepare_cached(
        "INSERT INTO async_job_item (job_id, mailbox_id, state, updated_on) VALUES (?1, ?2, 'pending', ?3)
         ON CONFLICT (job_id, mailbox_id) DO NOTHING",
    )?;
    for m in mailboxes {
        stmt.execute(params![id, m, job.created_on])?;
    }
    Ok(id)
}

/// A job's items, by mailbox name.
pub fn items(c: &Connection, id: JobId) -> Result<Vec<JobItem>> {
    let mut stmt = c.prepare_cached(
        "SELECT i.mailbox_id, m.name, i.state, i.error_code, i.error_params
         FROM async_job_item i JOIN mailbox m ON m.id = i.mailbox_id
         WHERE i.job_id = ?1 ORDER BY m.name COLLATE NOCASE, m.id",
    )?;
    let items = stmt
        .query_map([id], |r| {
            let params: String = r.get(4)?;
            Ok(JobItem {
                mailbox_id: r.get(0)?,
                mailbox_name: r.get(1)?,
                state: r.get(2)?,
                error_code: r.get(3)?,
                error_params: serde_json::from_str(&params).unwrap_or_default(),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(items)
}

/// One item of a job, or `record.not_found`.
pub fn item(c: &Connection, id: JobId, mailbox: MailboxId) -> Result<JobItem> {
    let mut stmt = c.prepare_cached(
        "SELECT i.mailbox_id, m.name, i.state, i.error_code, i.error_params
         FROM async_job_item i JOIN mailbox m ON m.id = i.mailbox_id
         WHERE i.job_id = ?1 AND i.mailbox_id = ?2",
    )?;
    let item = stmt
        .query_row(params![id, mailbox], |r| {
            let params: String = r.get(4)?;
            Ok(JobItem {
                mailbox_id: r.get(0)?,
                mailbox_name: r.get(1)?,
                state: r.get(2)?,
                error_code: r.get(3)?,
                error_params: serde_json::from_str(&params).unwrap_or_default(),
            })
        })
        .optional()?;
    item.ok_or_else(|| Error::not_found(MailboxId::ENTITY, mailbox))
}

/// How far a job has got: one indexed count, however many items it has.
pub fn progress(c: &Connection, id: JobId) -> Result<JobProgress> {
    let state = get(c, id)?.state;
    let mut stmt = c.prepare_cached(
        "SELECT count(*),
                coalesce(sum(state NOT IN ('pending', 'testing')), 0),
                coalesce(sum(state = 'testing'), 0)
         FROM async_job_item WHERE job_id = ?1",
    )?;
    let (total, done, testing) = stmt.query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(JobProgress { state, total, done, testing })
}

/// The items of a job that are still pending, with each mailbox's profile, by mailbox id.
pub fn pending(c: &Connection, id: JobId) -> Result<Vec<(MailboxId, Option<ProfileId>)>> {
    let mut stmt = c.prepare_cached(
        "SELECT i.mailbox_id, m.profile_id FROM async_job_item i JOIN mailbox m ON m.id = i.mailbox_id
         WHERE i.job_id = ?1 AND i.state = 'pending' ORDER BY i.mailbox_id",
    )?;
    let rows = stmt.query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Marks a pending item of a running job as testing; false when the job is no longer running or
/// the item is no longer pending.
pub fn start_item(tx: &Transaction<'_>, id: JobId, mailbox: MailboxId, now: Timestamp) -> Result<bool> {
    if get(tx, id)?.state != JobState::Running {
        return Ok(false);
    }
    let changed = tx
        .prepare_cached(
            "UPDATE async_job_item SET state = 'testing', updated_on = ?3
         WHERE job_id = ?1 AND mailbox_id = ?2 AND state = 'pending'",
        )?
        .execute(params![id, mailbox, now])?;
    Ok(changed == 1)
}

/// Records an item's outcome: its state and, for a failure, the error's code and parameters.
pub fn finish_item(
    tx: &Transaction<'_>,
    id: JobId,
    mailbox: MailboxId,
    state: JobItemState,
    error: Option<&Error>,
    now: Timestamp,
) -> Result<()> {
    let (code, params) = match error {
        Some(e) => (e.code().to_owned(), serde_json::to_string(e.params()).map_err(Error::internal)?),
        None => (String::new(), "{}".to_owned()),
    };
    tx.prepare_cached(
        "UPDATE async_job_item SET state = ?3, error_code = ?4, error_params = ?5, updated_on = ?6
         WHERE job_id = ?1 AND mailbox_id = ?2",
    )?
    .execute(params![id, mailbox, state, code, params, now])?;
    Ok(())
}

/// Cancels a job that is still queued or running: its pending items become cancelled (with
/// `code`, "" for a cancel the administrator asked for); an item being tested keeps running.
pub fn cancel(tx: &Transaction<'_>, id: JobId, code: &str, now: Timestamp) -> Result<()> {
    tx.execute(
        "UPDATE async_job SET state = 'cancelled', completed_on = ?2 WHERE id = ?1 AND state IN ('queued', 'running')",
        params![id, now],
    )?;
    tx.execute(
        "UPDATE async_job_item SET state = 'cancelled', error_code = ?3, updated_on = ?2
         WHERE job_id = ?1 AND state = 'pending'",
        params![id, now, code],
    )?;
    Ok(())
}

/// Ends a running job once its workers are done: succeeded when every item succeeded, failed
/// otherwise. A job that was cancelled meanwhile stays cancelled.
pub fn complete(tx: &Transaction<'_>, id: JobId, now: Timestamp) -> Result<()> {
    let not_succeeded: u32 = tx.query_row(
        "SELECT count(*) FROM async_job_item WHERE job_id = ?1 AND state IN ('failure', 'pending', 'testing')",
        [id],
        |r| r.get(0),
    )?;
    tx.execute(
        "UPDATE async_job SET state = ?2, completed_on = ?3 WHERE id = ?1 AND state = 'running'",
        params![id, final_state(not_succeeded), now],
    )?;
    Ok(())
}

/// Jobs that are queued or running, by id.
pub fn unfinished(c: &Connection) -> Result<Vec<Job>> {
    record::select(c, "state IN ('queued', 'running')", "id", &[])
}

/// Closes a job whose engine is gone: every unfinished item becomes cancelled with
/// `job.interrupted`, and the job is cancelled.
pub fn interrupt(tx: &Transaction<'_>, id: JobId, now: Timestamp) -> Result<()> {
    tx.execute(
        "UPDATE async_job_item SET state = 'cancelled', error_code = 'job.interrupted', updated_on = ?2
         WHERE job_id = ?1 AND state IN ('pending', 'testing')",
        params![id, now],
    )?;
    tx.execute("UPDATE async_job SET state = 'cancelled', completed_on = ?2 WHERE id = ?1", params![id, now])?;
    Ok(())
}

/// Closes the jobs of engines that are gone (`is_alive` says which runners still live): their
/// unfinished mailboxes become cancelled and the job is marked cancelled. Returns how many.
pub fn recover_abandoned(tx: &Transaction<'_>, is_alive: &dyn Fn(&str) -> bool, now: Timestamp) -> Result<usize> {
    let mut recovered = 0;
    for job in unfinished(tx)?.into_iter().filter(|j| !is_alive(&j.runner)) {
        interrupt(tx, job.id, now)?;
        recovered += 1;
    }
    Ok(recovered)
}
