//! Background jobs: Test & Enable Mailboxes runs as one. Progress is kept per mailbox in the
//! database (pending → testing → success | failure | cancelled), so any window or command can
//! follow it, and a job whose engine died (the app was closed or crashed) is found and closed
//! when an engine next opens the data directory: no mailbox is left "testing". A job belongs to
//! its engine: closing the engine stops it, records the mailboxes it had not finished as
//! cancelled, and waits for it.

use super::wire::{self, Wire};
use crate::api::alerts::raise_alert;
use crate::domain::job::{self as record, KIND_TEST_AND_ENABLE};
use crate::domain::rules::{Workload, check_processable, is_configured};
use crate::domain::test_enable::{WorkloadOutcome, apply_test_results};
use crate::domain::{JobId, JobItemState, JobState, MailboxId, ProfileId, Timestamp};
use crate::store;
use crate::{Engine, Error, ErrorKind, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;
use tracing::Instrument;

/// A background job.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Job {
    pub id: wire::JobId,
    pub kind: String,
    pub profile_id: Option<wire::ProfileId>,
    pub state: wire::JobState,
    pub created_on: Timestamp,
    pub started_on: Option<Timestamp>,
    pub completed_on: Option<Timestamp>,
}

impl From<record::Job> for Job {
    fn from(j: record::Job) -> Job {
        Job {
            id: j.id.into(),
            kind: j.kind,
            profile_id: j.profile_id.wire(),
            state: j.state.into(),
            created_on: j.created_on,
            started_on: j.started_on,
            completed_on: j.completed_on,
        }
    }
}

/// One mailbox of a Test & Enable job.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct JobItem {
    pub mailbox_id: wire::MailboxId,
    pub mailbox_name: String,
    pub state: wire::JobItemState,
    /// Why it failed: a message code, worded by the UI with `error_params`.
    pub error_code: String,
    pub error_params: BTreeMap<String, String>,
}

impl From<record::JobItem> for JobItem {
    fn from(i: record::JobItem) -> JobItem {
        JobItem {
            mailbox_id: i.mailbox_id.into(),
            mailbox_name: i.mailbox_name,
            state: i.state.into(),
            error_code: i.error_code,
            error_params: i.error_params,
        }
    }
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
    Mailboxes(Vec<wire::MailboxId>),
    /// Every mailbox of a profile (the profile's "Test & Enable Mailboxes").
    Profile(wire::ProfileId),
    /// The grid's selection, which may be a whole view ("all").
    Selection(super::MailboxSelection),
}

fn load_job(c: &rusqlite::Connection, id: JobId) -> Result<JobDto> {
    let job = store::jobs::get(c, id)?;
    let items = store::jobs::items(c, id)?;
    let total = items.len() as u32;
    let done = items.iter().filter(|i| i.is_done()).count() as u32;
    let testing = items.iter().filter(|i| i.state == JobItemState::Testing).count() as u32;
    let finished = record::JobProgress { state: job.state, total, done, testing }.finished();
    Ok(JobDto { job: job.into(), items: items.into_iter().map(Into::into).collect(), done, total, finished })
}

/// Starts Test & Enable for a set of mailboxes or every mailbox of a profile; returns at once
/// with the job, which then runs in the background.
pub async fn start_test_and_enable(engine: &Engine, scope: TestAndEnableScope) -> Result<JobDto> {
    if engine.is_closing() {
        return Err(Error::new(ErrorKind::Unavailable, "engine.closing"));
    }
    let dto = engine
        .write(move |tx, ctx| {
            let (profile_id, ids): (Option<ProfileId>, Vec<MailboxId>) = match scope {
                TestAndEnableScope::Mailboxes(ids) => (None, ids.wire()),
                TestAndEnableScope::Selection(selection) => (None, selection.resolve(tx)?),
                TestAndEnableScope::Profile(pid) => {
                    let pid = ProfileId::from(pid);
                    store::profiles::get(tx, pid)?;
                    (Some(pid), store::mailboxes::of_profile(tx, pid)?.into_iter().map(|m| m.id).collect())
                }
            };
            if ids.is_empty() {
                return Err(Error::validation("job.no_mailboxes"));
            }
            for id in &ids {
                store::mailboxes::get(tx, *id)?;
            }
            let now = ctx.now();
            let job = record::Job {
                id: JobId(0),
                kind: KIND_TEST_AND_ENABLE.to_owned(),
                profile_id,
                state: JobState::Running,
                runner: ctx.runner_id.clone(),
                created_on: now,
                started_on: Some(now),
                completed_on: None,
            };
            let id = store::jobs::insert(tx, &job, &ids)?;
            load_job(tx, id)
        })
        .await?;
    let runner = engine.clone();
    let job_id = JobId::from(dto.job.id);
    let span = tracing::info_span!("job", job = %job_id, kind = KIND_TEST_AND_ENABLE, mailboxes = dto.total);
    engine.spawn(async move { run_test_and_enable(&runner, job_id).await }.instrument(span));
    Ok(dto)
}

/// A job and the state of each of its mailboxes.
pub async fn get_job(engine: &Engine, id: wire::JobId) -> Result<JobDto> {
    let id = JobId::from(id);
    engine.read(move |c, _| load_job(c, id)).await
}

/// How far a job has got, without its items: cheap however large the job.
pub async fn job_progress(engine: &Engine, id: wire::JobId) -> Result<record::JobProgress> {
    let id = JobId::from(id);
    engine.read(move |c, _| store::jobs::progress(c, id)).await
}

/// The most recent jobs, newest first.
pub async fn list_jobs(engine: &Engine, limit: u32) -> Result<Vec<Job>> {
    engine.read(move |c, _| Ok(store::jobs::recent(c, limit)?.into_iter().map(Into::into).collect())).await
}

/// Cancels a running job: mailboxes not yet tested are marked cancelled; the one being tested
/// finishes its test.
pub async fn cancel_job(engine: &Engine, id: wire::JobId) -> Result<JobDto> {
    let id = JobId::from(id);
    let dto = engine
        .write(move |tx, ctx| {
            store::jobs::cancel(tx, id, "", ctx.now())?;
            load_job(tx, id)
        })
        .await?;
    tracing::info!(job = %id, "job cancelled");
    engine.job_changed(id);
    Ok(dto)
}

/// Waits until a job has finished (succeeded, failed or cancelled, with no mailbox still being
/// tested) and returns it. Each change is checked with a count, not by reading every item, so
/// waiting costs the same per change however large the job.
pub async fn wait_job(engine: &Engine, id: wire::JobId) -> Result<JobDto> {
    let mut changes = engine.subscribe_job_changes();
    loop {
        if job_progress(engine, id).await?.finished() {
            return get_job(engine, id).await;
        }
        next_job_change(&mut changes, id, Duration::from_secs(1)).await;
    }
}

/// What woke a waiter of [`next_job_change`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobWake {
    /// One mailbox of the job started or finished: reading that item is enough.
    Item(wire::MailboxId),
    /// The job as a whole changed, notifications were missed, or `max` passed: read the job.
    Job,
}

/// Waits until job `id` changes (as announced by [`Engine::subscribe_job_changes`]) or `max`
/// has passed, whichever comes first; then the caller reads what changed. The bound covers a job
/// run by another engine on the same data directory, which announces nothing here.
pub async fn next_job_change(
    changes: &mut tokio::sync::broadcast::Receiver<crate::JobChange>,
    id: wire::JobId,
    max: Duration,
) -> JobWake {
    let id = JobId::from(id);
    let wait = async {
        loop {
            match changes.recv().await {
                Ok(c) if c.job == id => return c.mailbox.map_or(JobWake::Job, |m| JobWake::Item(m.into())),
                Ok(_) => {}
                // Missed notifications or no engine: read the job again.
                Err(_) => return JobWake::Job,
            }
        }
    };
    tokio::time::timeout(max, wait).await.unwrap_or(JobWake::Job)
}

/// One mailbox of a job.
pub async fn get_job_item(engine: &Engine, id: wire::JobId, mailbox: wire::MailboxId) -> Result<JobItem> {
    let (id, mailbox) = (JobId::from(id), MailboxId::from(mailbox));
    engine.read(move |c, _| store::jobs::item(c, id, mailbox).map(Into::into)).await
}

/// The most mailboxes one job tests at once, whatever the profiles allow.
const MAX_JOB_WORKERS: usize = 16;

/// What stopped a worker: the engine closing, or a database that cannot record results.
enum Stop {
    Closing,
    Storage,
}

async fn run_test_and_enable(engine: &Engine, job: JobId) {
    let pending = match engine.read(move |c, _| store::jobs::pending(c, job)).await {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "the job's mailboxes could not be read");
            Vec::new()
        }
    };
    tracing::info!(pending = pending.len(), "job started");
    let workers = pending.len().clamp(1, MAX_JOB_WORKERS);
    let queue = std::sync::Arc::new(tokio::sync::Mutex::new(std::collections::VecDeque::from(pending)));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let engine = engine.clone();
        let queue = queue.clone();
        tasks.spawn(
            async move {
                loop {
                    let (mailbox, profile) = queue.lock().await.pop_front()?;
                    match test_one_item(&engine, job, mailbox, profile).await {
                        Ok(()) => {}
                        Err(stop) => return Some(stop),
                    }
                }
            }
            .in_current_span(),
        );
    }
    let mut closing = false;
    while let Some(stopped) = tasks.join_next().await {
        closing |= matches!(stopped, Ok(Some(Stop::Closing)));
    }
    let ended = engine
        .write(move |tx, ctx| {
            if closing {
                // Stopped by the engine closing: what was not tested is recorded as cancelled.
                store::jobs::cancel(tx, job, "job.interrupted", ctx.now())?;
            }
            store::jobs::complete(tx, job, ctx.now())?;
            store::jobs::progress(tx, job)
        })
        .await;
    match ended {
        Ok(p) => tracing::info!(state = %p.state, done = p.done, total = p.total, "job ended"),
        Err(e) => tracing::error!(error = %e, "the job's end could not be recorded"),
    }
    engine.job_changed(job);
}

/// Tests one mailbox of a job, within its profile's connection limit, and records the outcome.
/// Stops when the engine closes: a test under way is abandoned and recorded as cancelled.
async fn test_one_item(
    engine: &Engine,
    job: JobId,
    mailbox: MailboxId,
    profile: Option<ProfileId>,
) -> std::result::Result<(), Stop> {
    let shutdown = engine.shutdown_token().clone();
    let span = tracing::info_span!("mailbox", mailbox = %mailbox);
    async {
        // One connection at a time per mailbox: a permit of its profile's limit covers it.
        let (_permit, outcome) = match profile {
            Some(p) => tokio::select! {
                _ = shutdown.cancelled() => return Err(Stop::Closing),
                permit = engine.connection_permit(p) => match permit {
                    Ok(permit) => (Some(permit), None),
                    // The limit could not be read: the mailbox fails, it is never "no limit".
                    Err(e) => (None, Some(Err(e))),
                },
            },
            None => (None, None),
        };
        match engine.write(move |tx, ctx| store::jobs::start_item(tx, job, mailbox, ctx.now())).await {
            Ok(true) => engine.job_item_changed(job, mailbox),
            Ok(false) => return Ok(()),
            Err(e) => {
                tracing::error!(error = %e, "the mailbox's test could not be started");
                return Err(Stop::Storage);
            }
        }
        let outcome = match outcome {
            Some(failed) => failed,
            None => tokio::select! {
                _ = shutdown.cancelled() => {
                    let interrupted = Error::new(ErrorKind::Unavailable, "job.interrupted");
                    let _ = engine
                        .write(move |tx, ctx| {
                            store::jobs::finish_item(tx, job, mailbox, JobItemState::Cancelled, Some(&interrupted), ctx.now())
                        })
                        .await;
                    tracing::info!("test abandoned: the engine is closing");
                    engine.job_item_changed(job, mailbox);
                    return Err(Stop::Closing);
                }
                outcome = test_and_enable_one(engine, mailbox) => outcome,
            },
        };
        match &outcome {
            Ok(()) => tracing::info!("mailbox tested: success"),
            Err(e) => tracing::info!(code = e.code(), transient = e.is_transient(), "mailbox tested: failure"),
        }
        let recorded = engine
            .write(move |tx, ctx| {
                let (state, err) = match &outcome {
                    Ok(()) => (JobItemState::Success, None),
                    Err(e) => (JobItemState::Failure, Some(e)),
                };
                store::jobs::finish_item(tx, job, mailbox, state, err, ctx.now())
            })
            .await;
        if let Err(e) = recorded {
            tracing::error!(error = %e, "the mailbox's result could not be recorded");
            return Err(Stop::Storage);
        }
        engine.job_item_changed(job, mailbox);
        Ok(())
    }
    .instrument(span)
    .await
}

/// Tests every configured workload of one mailbox, then records statuses, enabled flags, the
/// test time and alerts in one transaction. Returns the first failure, if any.
async fn test_and_enable_one(engine: &Engine, id: MailboxId) -> Result<()> {
    let (mailbox, profile, settings) = engine
        .read(move |c, _| {
            let m = store::mailboxes::get(c, id)?;
            let p = super::profile_of(c, &m)?;
            Ok((m, p, store::settings::get(c)?))
        })
        .await?;
    let mut results: Vec<WorkloadOutcome> = Vec::with_capacity(3);
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
    let outcome = engine
        .write(move |tx, ctx| {
            let now = ctx.now();
            let mut m = store::mailboxes::get(tx, id)?;
            let plan =
                apply_test_results(&mut m, &results, |e| crate::protocol::failure::is_server_level(e.code()), now);
            store::mailboxes::update(tx, &m)?;
            // Tested again: each enabled workload runs at once, its failures forgotten.
            store::schedule::reset(tx, id)?;
            for alert in &plan.alerts {
                raise_alert(tx, alert, now)?;
            }
            Ok(plan.outcome)
        })
        .await?;
    engine.wake_scheduler();
    outcome
}
