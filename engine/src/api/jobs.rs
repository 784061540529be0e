//! Background jobs: Test & Enable Mailboxes runs as one. Progress is kept per mailbox in the
//! database (pending → testing → success | failure | cancelled), so any window or command can
//! follow it, and a job whose engine died (the app was closed or crashed) is found and closed
//! when an engine next opens the data directory: no mailbox is left "testing".

use super::{load_mailbox, load_profile, load_settings};
use crate::api::alerts::{NewAlert, raise_alert};
use crate::domain::rules::{Workload, check_processable, is_configured};
use crate::domain::{
    AlertLevel, JobId, JobItemState, JobState, Mailbox, MailboxId, ProfileId, Regarding, TestStatus, Timestamp,
    table_record,
};
use crate::engine::Inner;
use crate::store;
use crate::{Engine, Error, Result};
use rusqlite::{Connection, Transaction, params};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// A background job.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Job {
    pub id: JobId,
    pub kind: String,
    pub profile_id: Option<ProfileId>,
    pub state: JobState,
    #[serde(skip)]
    pub runner: String,
    pub created_on: Timestamp,
    pub started_on: Option<Timestamp>,
    pub completed_on: Option<Timestamp>,
}

table_record!(Job, "async_job", id: JobId { kind, profile_id, state, runner, created_on, started_on, completed_on });

/// One mailbox of a Test & Enable job.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct JobItem {
    pub mailbox_id: MailboxId,
    pub mailbox_name: String,
    pub state: JobItemState,
    /// Why it failed: a message code, worded by the UI with `error_params`.
    pub error_code: String,
    pub error_params: BTreeMap<String, String>,
}

/// A job with its items, as the UI follows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct JobDto {
    #[serde(flatten)]
    pub job: Job,
    pub items: Vec<JobItem>,
    pub done: u32,
    pub total: u32,
    /// Whether nothing more will change: the job ended (or was cancelled) and no mailbox is
    /// still being tested.
    pub finished: bool,
}

/// What to test and enable.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case", tag = "scope", content = "id")]
pub enum TestAndEnableScope {
    /// The selected mailboxes (grid or form).
    Mailboxes(Vec<MailboxId>),
    /// Every mailbox of a profile (the profile's "Test & Enable Mailboxes").
    Profile(ProfileId),
}

const KIND_TEST_AND_ENABLE: &str = "test_and_enable";

fn load_job(c: &Connection, id: JobId) -> Result<JobDto> {
    let job: Job = super::load(c, id, JobId::ENTITY)?;
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
    let total = items.len() as u32;
    let done =
        items.iter().filter(|i| !matches!(i.state, JobItemState::Pending | JobItemState::Testing)).count() as u32;
    let finished = !matches!(job.state, JobState::Queued | JobState::Running)
        && !items.iter().any(|i| i.state == JobItemState::Testing);
    Ok(JobDto { job, items, done, total, finished })
}

/// Starts Test & Enable for a set of mailboxes or every mailbox of a profile; returns at once
/// with the job, which then runs in the background.
pub async fn start_test_and_enable(engine: &Engine, scope: TestAndEnableScope) -> Result<JobDto> {
    let dto = engine
        .write(move |tx, ctx| {
            let (profile_id, ids): (Option<ProfileId>, Vec<MailboxId>) = match scope {
                TestAndEnableScope::Mailboxes(ids) => (None, ids),
                TestAndEnableScope::Profile(pid) => {
                    load_profile(tx, pid)?;
                    let ms: Vec<Mailbox> = store::list(tx, "profile_id = ?1", "id", &[&pid])?;
                    (Some(pid), ms.into_iter().map(|m| m.id).collect())
                }
            };
            if ids.is_empty() {
                return Err(Error::validation("job.no_mailboxes"));
            }
            let now = ctx.now();
            let mut job = Job {
                id: JobId(0),
                kind: KIND_TEST_AND_ENABLE.to_owned(),
                profile_id,
                state: JobState::Running,
                runner: ctx.runner_id.clone(),
                created_on: now,
                started_on: Some(now),
                completed_on: None,
            };
            job.id = JobId(store::insert(tx, &job)?);
            for id in ids {
                load_mailbox(tx, id)?;
                tx.execute(
                    "INSERT INTO async_job_item (job_id, mailbox_id, state, updated_on) VALUES (?1, ?2, 'pending', ?3)
                     ON CONFLICT (job_id, mailbox_id) DO NOTHING",
                    params![job.id, id, now],
                )?;
            }
            load_job(tx, job.id)
        })
        .await?;
    let runner = engine.clone();
    let job_id = dto.job.id;
    tokio::spawn(async move { run_test_and_enable(&runner, job_id).await });
    Ok(dto)
}

/// A job and the state of each of its mailboxes.
pub async fn get_job(engine: &Engine, id: JobId) -> Result<JobDto> {
    engine.read(move |c, _| load_job(c, id)).await
}

/// The most recent jobs, newest first.
pub async fn list_jobs(engine: &Engine, limit: u32) -> Result<Vec<Job>> {
    engine.read(move |c, _| store::list(c, "1", &format!("id DESC LIMIT {}", limit.clamp(1, 500)), &[])).await
}

/// Cancels a running job: mailboxes not yet tested are marked cancelled; the one being tested
/// finishes its test.
pub async fn cancel_job(engine: &Engine, id: JobId) -> Result<JobDto> {
    let dto = engine
        .write(move |tx, ctx| {
            let now = ctx.now();
            tx.execute(
                "UPDATE async_job SET state = 'cancelled', completed_on = ?2 WHERE id = ?1 AND state IN ('queued', 'running')",
                params![id, now],
            )?;
            tx.execute(
                "UPDATE async_job_item SET state = 'cancelled', updated_on = ?2 WHERE job_id = ?1 AND state = 'pending'",
                params![id, now],
            )?;
            load_job(tx, id)
        })
        .await?;
    engine.job_changed(id);
    Ok(dto)
}

/// Waits until a job has finished (succeeded, failed or cancelled, with no mailbox still being
/// tested) and returns it.
pub async fn wait_job(engine: &Engine, id: JobId) -> Result<JobDto> {
    let mut changes = engine.subscribe_job_changes();
    loop {
        let job = get_job(engine, id).await?;
        if job.finished {
            return Ok(job);
        }
        next_job_change(&mut changes, id, Duration::from_secs(1)).await;
    }
}

/// Waits until job `id` changes (as announced by [`Engine::subscribe_job_changes`]) or `max`
/// has passed, whichever comes first; then the caller reads the job again. The bound covers a job
/// run by another engine on the same data directory, which announces nothing here.
pub async fn next_job_change(changes: &mut tokio::sync::broadcast::Receiver<JobId>, id: JobId, max: Duration) {
    let wait = async {
        loop {
            match changes.recv().await {
                Ok(changed) if changed == id => return,
                Ok(_) => {}
                // Missed notifications or no engine: read the job again.
                Err(_) => return,
            }
        }
    };
    let _ = tokio::time::timeout(max, wait).await;
}

fn set_item(
    tx: &Transaction<'_>,
    job: JobId,
    mailbox: MailboxId,
    state: JobItemState,
    err: Option<&Error>,
    now: Timestamp,
) -> Result<()> {
    let (code, params) = match err {
        Some(e) => (e.code().to_owned(), serde_json::to_string(e.params()).map_err(Error::internal)?),
        None => (String::new(), "{}".to_owned()),
    };
    tx.execute(
        "UPDATE async_job_item SET state = ?3, error_code = ?4, error_params = ?5, updated_on = ?6
         WHERE job_id = ?1 AND mailbox_id = ?2",
        params![job, mailbox, state, code, params, now],
    )?;
    Ok(())
}

/// Marks a pending mailbox of a running job as testing; false when the job was cancelled or the
/// mailbox is no longer pending.
fn start_item(tx: &Transaction<'_>, job: JobId, mailbox: MailboxId, now: Timestamp) -> Result<bool> {
    let state: JobState = tx.query_row("SELECT state FROM async_job WHERE id = ?1", [job], |r| r.get(0))?;
    if state != JobState::Running {
        return Ok(false);
    }
    let changed = tx.execute(
        "UPDATE async_job_item SET state = 'testing', updated_on = ?3
         WHERE job_id = ?1 AND mailbox_id = ?2 AND state = 'pending'",
        params![job, mailbox, now],
    )?;
    Ok(changed == 1)
}

/// The most mailboxes one job tests at once, whatever the profiles allow.
const MAX_JOB_WORKERS: usize = 16;

async fn run_test_and_enable(engine: &Engine, job: JobId) {
    let pending = engine
        .read(move |c, _| {
            let mut stmt = c.prepare(
                "SELECT i.mailbox_id, m.profile_id FROM async_job_item i JOIN mailbox m ON m.id = i.mailbox_id
                 WHERE i.job_id = ?1 AND i.state = 'pending' ORDER BY i.mailbox_id",
            )?;
            let rows = stmt
                .query_map([job], |r| Ok((r.get::<_, MailboxId>(0)?, r.get::<_, Option<ProfileId>>(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
        .unwrap_or_default();
    let workers = pending.len().clamp(1, MAX_JOB_WORKERS);
    let queue = std::sync::Arc::new(tokio::sync::Mutex::new(std::collections::VecDeque::from(pending)));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let engine = engine.clone();
        let queue = queue.clone();
        tasks.spawn(async move {
            loop {
                let Some((mailbox, profile)) = queue.lock().await.pop_front() else { break };
                // One connection at a time per mailbox: a permit of its profile's limit covers it.
                let _permit = match profile {
                    Some(p) => Some(engine.connection_permit(p).await),
                    None => None,
                };
                match engine.write(move |tx, ctx| start_item(tx, job, mailbox, ctx.now())).await {
                    Ok(true) => engine.job_changed(job),
                    Ok(false) => continue,
                    Err(_) => break,
                }
                let outcome = test_and_enable_one(&engine, mailbox).await;
                let recorded = engine
                    .write(move |tx, ctx| {
                        let (state, err) = match &outcome {
                            Ok(()) => (JobItemState::Success, None),
                            Err(e) => (JobItemState::Failure, Some(e)),
                        };
                        set_item(tx, job, mailbox, state, err, ctx.now())
                    })
                    .await;
                if recorded.is_err() {
                    break;
                }
                engine.job_changed(job);
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let _ = engine
        .write(move |tx, ctx| {
            let failures: i64 = tx.query_row(
                "SELECT count(*) FROM async_job_item WHERE job_id = ?1 AND state IN ('failure', 'pending', 'testing')",
                [job],
                |r| r.get(0),
            )?;
            let state = if failures == 0 { JobState::Succeeded } else { JobState::Failed };
            tx.execute(
                "UPDATE async_job SET state = ?2, completed_on = ?3 WHERE id = ?1 AND state = 'running'",
                params![job, state, ctx.now()],
            )?;
            Ok(())
        })
        .await;
    engine.job_changed(job);
}

/// The outcome of testing one workload.
type WorkloadResult = (Workload, Option<Result<()>>);

/// Tests every configured workload of one mailbox, then records statuses, enabled flags, the
/// test time and alerts in one transaction. Returns the first failure, if any.
async fn test_and_enable_one(engine: &Engine, id: MailboxId) -> Result<()> {
    let (mailbox, profile, settings) = engine
        .read(move |c, _| {
            let m = load_mailbox(c, id)?;
            let p = super::profile_of(c, &m)?;
            Ok((m, p, load_settings(c)?))
        })
        .await?;
    let mut results: Vec<WorkloadResult> = Vec::with_capacity(3);
    for w in Workload::ALL {
        if !is_configured(&mailbox, w) {
            results.push((w, None));
            continue;
        }
        let checked = check_processable(&mailbox, profile.as_ref(), &settings, w);
        let outcome = match (checked, profile.as_ref()) {
            (Ok(()), Some(p)) => super::connection::test_workload(engine, p, &mailbox, w).await,
            (Ok(()), None) => {
                Err(Error::validation("mailbox.profile.missing_or_inactive").param("mailbox", &mailbox.name))
            }
            (Err(e), _) => Err(e),
        };
        results.push((w, Some(outcome)));
    }
    // The results are committed whatever they say; the mailbox's own outcome is returned after.
    engine.write(move |tx, ctx| record_test_results(tx, ctx, id, &results)).await?
}

fn record_test_results(
    tx: &Transaction<'_>,
    ctx: &Inner,
    id: MailboxId,
    results: &[WorkloadResult],
) -> Result<Result<()>> {
    let now = ctx.now();
    let mut m = load_mailbox(tx, id)?;
    let mut first_error: Option<Error> = None;
    let mut any_configured = false;
    for (w, outcome) in results {
        let (status, enabled) = match outcome {
            None => (TestStatus::NotRun, false),
            Some(Ok(())) => (TestStatus::Success, true),
            Some(Err(e)) => {
                if first_error.is_none() {
                    first_error = Some(e.clone());
                }
                (TestStatus::Failure, false)
            }
        };
        any_configured |= outcome.is_some();
        match w {
            Workload::Incoming => (m.incoming_status, m.enabled_for_incoming) = (status, enabled),
            Workload::Outgoing => (m.outgoing_status, m.enabled_for_outgoing) = (status, enabled),
            Workload::Act => (m.act_status, m.enabled_for_act) = (status, enabled),
        }
    }
    m.test_completed_on = Some(now);
    m.test_and_enable_last_attempted_on = Some(now);
    // A transient failure (timeout, busy server) counts towards the automatic disabling of the
    // mailbox (spec §3.11); any other outcome starts the count again.
    let transient = first_error.as_ref().is_some_and(|e| e.kind().is_transient());
    m.transient_failure_count = if transient { m.transient_failure_count.saturating_add(1) } else { 0 };
    m.modified_on = now;
    let outcome = match (&first_error, any_configured) {
        (Some(e), _) => Err(e.clone()),
        (None, false) => Err(Error::validation("mailbox.nothing_to_test").param("mailbox", &m.name)),
        (None, true) => Ok(()),
    };
    match &outcome {
        Ok(()) => {
            m.last_sync_error_code.clear();
            m.last_sync_error_on = None;
        }
        Err(e) => {
            m.last_sync_error_code = e.code().to_owned();
            m.last_sync_error_on = Some(now);
        }
    }
    store::update(tx, &m)?;
    let (level, code, mut params) = match &outcome {
        Ok(()) => (AlertLevel::Information, "mailbox.test_and_enable.succeeded".to_owned(), BTreeMap::new()),
        Err(e) if e.kind().is_transient() => (AlertLevel::Warning, e.code().to_owned(), e.params().clone()),
        Err(e) => (AlertLevel::Error, e.code().to_owned(), e.params().clone()),
    };
    params.insert("mailbox".to_owned(), m.name.clone());
    let detail = match &outcome {
        Err(e) => e.detail().unwrap_or_default().to_owned(),
        Ok(()) => String::new(),
    };
    if let (Err(e), Some(profile)) = (&outcome, m.profile_id)
        && crate::protocol::failure::is_server_level(e.code())
    {
        // The profile's own failure: its owner sees it once on the profile, however many
        // mailboxes met it.
        let regarding = Regarding::Profile(profile);
        let alert = NewAlert { level, code: code.clone(), params: params.clone(), regarding, detail: detail.clone() };
        raise_alert(tx, &alert, now)?;
    }
    raise_alert(tx, &NewAlert { level, code, params, regarding: Regarding::Mailbox(id), detail }, now)?;
    Ok(outcome)
}

/// Closes the jobs of engines that are gone (their runner lock is free): their unfinished
/// mailboxes become cancelled and the job is marked cancelled.
pub(crate) fn recover_abandoned_jobs(
    tx: &Transaction<'_>,
    is_alive: &dyn Fn(&str) -> bool,
    now: Timestamp,
) -> Result<usize> {
    let running: Vec<Job> = store::list(tx, "state IN ('queued', 'running')", "id", &[])?;
    let mut recovered = 0;
    for job in running.into_iter().filter(|j| !is_alive(&j.runner)) {
        tx.execute(
            "UPDATE async_job_item SET state = 'cancelled', error_code = 'job.interrupted', updated_on = ?2
             WHERE job_id = ?1 AND state IN ('pending', 'testing')",
            params![job.id, now],
        )?;
        tx.execute("UPDATE async_job SET state = 'cancelled', completed_on = ?2 WHERE id = ?1", params![job.id, now])?;
        recovered += 1;
    }
    Ok(recovered)
}
