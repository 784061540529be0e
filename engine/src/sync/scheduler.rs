//! The scheduler: one per engine, it runs each enabled mailbox's incoming and outgoing
//! workloads when they are due (spec §3.6), each under a lease so that engines sharing one
//! database never run the same workload at once, and turns the end of every cycle into the next
//! run, the failure count, a disabled workload and alerts (spec §3.11, decided by
//! [`super::schedule`]).
//!
//! A pass reads what is due, takes the lease of each (one statement: free, expired, or already
//! ours), runs it within the engine-wide parallelism and the profile's Maximum Concurrent
//! Connections, renews the lease while the cycle runs, and records the end and lets the lease go
//! in one transaction. Between passes the scheduler sleeps until the next workload falls due, it
//! is woken (an email was written, a mailbox enabled), a cycle ends, or `max_wait` passes (other
//! engines change the schedule too).

use super::push::{self, PushEnd};
use super::schedule::{self, Counters, Outcome};
use super::{Mode, Options, outbound};
use crate::domain::rules::Workload;
use crate::domain::{
    AlertLevel, MailboxId, NewAlert, Regarding, RunOutcome, SyncRun, TestStatus, Timestamp, WorkloadSchedule,
};
use crate::protocol::failure;
use crate::store::{self, schedule::Due};
use crate::{Engine, Error, Result};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// How a scheduler runs.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    /// Cycles running at once across every mailbox (each also waits for its profile's
    /// Maximum Concurrent Connections).
    pub parallel: usize,
    /// How long a lease lasts unless renewed (it is renewed every third of it).
    pub lease: Duration,
    /// The longest sleep between two looks at the schedule.
    pub max_wait: Duration,
    /// Messages per incoming cycle (IncomingMaximumEmailsPerCycle); a mailbox with more runs
    /// again at once.
    pub incoming_per_cycle: u32,
    /// Emails per outgoing cycle.
    pub outgoing_per_cycle: u32,
    /// Keep an IMAP IDLE connection for each mailbox whose server offers it (push).
    pub push: bool,
}

impl Default for SchedulerOptions {
    fn default() -> SchedulerOptions {
        SchedulerOptions {
            parallel: 32,
            lease: Duration::from_secs(120),
            max_wait: Duration::from_secs(5),
            incoming_per_cycle: 1000,
            outgoing_per_cycle: outbound::MAX_PER_CYCLE,
            push: true,
        }
    }
}

/// What the scheduler is doing, for a status indicator.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchedulerStatus {
    pub running: bool,
    pub started_on: Option<Timestamp>,
    /// Cycles running now.
    pub active: u32,
    /// Cycles ended since it started, and how many of them failed.
    pub cycles: u64,
    pub failures: u64,
    pub last_cycle_on: Option<Timestamp>,
    /// When the next workload falls due (None when nothing is enabled).
    pub next_due_on: Option<Timestamp>,
}

/// A running scheduler: stop it with [`SchedulerHandle::stop`].
#[derive(Debug)]
pub struct SchedulerHandle {
    stop: CancellationToken,
    status: Arc<Mutex<SchedulerStatus>>,
    done: tokio::sync::watch::Receiver<bool>,
}

impl SchedulerHandle {
    /// What it is doing now.
    pub fn status(&self) -> SchedulerStatus {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Stops starting cycles, waits for the running ones to end, and lets go of every lease.
    pub async fn stop(mut self) {
        self.stop.cancel();
        let _ = self.done.wait_for(|d| *d).await;
    }
}

/// What one cycle of one workload came to.
#[derive(Debug, Clone, PartialEq)]
pub struct CycleEnd {
    pub mailbox_id: MailboxId,
    pub workload: Workload,
    pub outcome: Outcome,
    pub items: u32,
    pub failed_items: u32,
    pub error_code: Option<String>,
    /// The workload was disabled by this cycle.
    pub disabled: bool,
    pub next_run_on: Option<Timestamp>,
}

/// Starts a scheduler on `engine`'s task tracker; it stops with the handle or when the engine
/// closes.
pub fn start(engine: &Engine, options: SchedulerOptions) -> SchedulerHandle {
    let stop = engine.shutdown_token().child_token();
    let status = Arc::new(Mutex::new(SchedulerStatus {
        running: true,
        started_on: Some(engine.inner.now()),
        ..Default::default()
    }));
    let (done_tx, done) = tokio::sync::watch::channel(false);
    let (e, s, st) = (engine.clone(), stop.clone(), status.clone());
    engine.spawn(async move {
        run(e, options, s, st.clone()).await;
        if let Ok(mut st) = st.lock() {
            st.running = false;
            st.active = 0;
        }
        let _ = done_tx.send(true);
    });
    SchedulerHandle { stop, status, done }
}

fn update(status: &Mutex<SchedulerStatus>, f: impl FnOnce(&mut SchedulerStatus)) {
    if let Ok(mut s) = status.lock() {
        f(&mut s);
    }
}

async fn run(engine: Engine, options: SchedulerOptions, stop: CancellationToken, status: Arc<Mutex<SchedulerStatus>>) {
    tracing::info!(parallel = options.parallel, "scheduler started");
    let slots = Arc::new(Semaphore::new(options.parallel.max(1)));
    let running: Arc<Mutex<HashSet<(MailboxId, Workload)>>> = Arc::default();
    let mut tasks = tokio::task::JoinSet::new();
    let mut last_prune: Option<Timestamp> = None;
    let mut push = Push::default();
    loop {
        if stop.is_cancelled() {
            break;
        }
        let now = engine.inner.now();
        if options.push {
            push.manage(&engine, &options, &stop, now).await;
        }
        if last_prune.is_none_or(|t| now - t > chrono::Duration::hours(1)) {
            last_prune = Some(now);
            let before = now - chrono::Duration::days(HISTORY_DAYS);
            if let Err(e) = engine.write(move |tx, _| store::schedule::prune_runs(tx, before)).await {
                tracing::warn!(error = %e, "the sync history could not be pruned");
            }
        }
        let limit = u32::try_from(options.parallel.max(1) * 4).unwrap_or(u32::MAX);
        let due = match engine.read(move |c, _| store::schedule::due(c, now, limit)).await {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(error = %e, "the schedule could not be read");
                Vec::new()
            }
        };
        let mut started = 0usize;
        for d in due {
            let key = (d.mailbox_id, d.workload);
            if running.lock().map(|r| r.contains(&key)).unwrap_or(true) {
                continue;
            }
            let Ok(slot) = slots.clone().try_acquire_owned() else { break };
            if let Ok(mut r) = running.lock() {
                r.insert(key);
            }
            started += 1;
            update(&status, |s| s.active += 1);
            let (engine, options, running, status) = (engine.clone(), options.clone(), running.clone(), status.clone());
            tasks.spawn(async move {
                let _slot = slot;
                let end = run_due(&engine, d, &options).await;
                if let Ok(mut r) = running.lock() {
                    r.remove(&key);
                }
                update(&status, |s| {
                    s.active = s.active.saturating_sub(1);
                    if let Ok(Some(end)) = &end {
                        s.cycles += 1;
                        s.last_cycle_on = Some(engine.inner.now());
                        if !matches!(end.outcome, Outcome::Success { .. }) {
                            s.failures += 1;
                        }
                    }
                });
                if let Err(e) = end {
                    tracing::error!(mailbox = %d.mailbox_id, workload = d.workload.code(), error = %e, "a cycle's end could not be recorded");
                }
            });
        }
        // Sleep until the next workload is due, a wake, a cycle's end, or max_wait.
        let now = engine.inner.now();
        let next = engine.read(move |c, _| store::schedule::next_due_on(c, now)).await.ok().flatten();
        update(&status, |s| s.next_due_on = next);
        let mut wait = next
            .map(|t| (t - now).to_std().unwrap_or(Duration::ZERO))
            .unwrap_or(options.max_wait)
            .min(options.max_wait);
        if started == 0 && wait.is_zero() {
            // Due but not startable now (leased by another engine, or already running here).
            wait = Duration::from_millis(200);
        }
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = engine.inner.scheduler_wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            Some(ended) = push.tasks.join_next(), if !push.tasks.is_empty() => push.ended(&engine, ended),
        }
    }
    push.stop_all().await;
    // Running cycles see the engine's shutdown (when it is closing) and stop at a safe point;
    // otherwise they end normally.
    while tasks.join_next().await.is_some() {}
    let holder = engine.inner.runner_id.clone();
    if let Err(e) = engine.write(move |tx, _| store::schedule::release_all(tx, &holder)).await {
        tracing::warn!(error = %e, "leases could not be let go (they expire by themselves)");
    }
    tracing::info!("scheduler stopped");
}

/// The mailboxes this scheduler keeps an IDLE connection for.
#[derive(Default)]
struct Push {
    watching: HashMap<MailboxId, CancellationToken>,
    /// Not before: a watch that ended waits a while before the mailbox is watched again.
    retry_on: HashMap<MailboxId, Timestamp>,
    tasks: tokio::task::JoinSet<(MailboxId, PushEnd)>,
    last_look: Option<Timestamp>,
}

impl Push {
    /// Starts watching the mailboxes that became eligible and stops those that no longer are
    /// (every few seconds at most).
    async fn manage(&mut self, engine: &Engine, options: &SchedulerOptions, stop: &CancellationToken, now: Timestamp) {
        if self.last_look.is_some_and(|t| now >= t && now - t < chrono::Duration::seconds(5)) {
            return;
        }
        self.last_look = Some(now);
        let holder = engine.inner.runner_id.clone();
        let candidates = match engine.read(move |c, _| store::schedule::push_candidates(c, now, &holder)).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "the mailboxes to push to could not be read");
                return;
            }
        };
        let eligible: HashSet<MailboxId> = candidates.iter().map(|(m, _)| *m).collect();
        self.watching.retain(|m, token| {
            if eligible.contains(m) {
                return true;
            }
            token.cancel();
            false
        });
        for (mailbox, profile) in candidates {
            if self.watching.contains_key(&mailbox) || self.retry_on.get(&mailbox).is_some_and(|t| *t > now) {
                continue;
            }
            let token = stop.child_token();
            self.watching.insert(mailbox, token.clone());
            let (engine, lease) = (engine.clone(), options.lease);
            self.tasks.spawn(async move { (mailbox, push::watch(engine, mailbox, profile, lease, token).await) });
        }
    }

    fn ended(&mut self, engine: &Engine, ended: std::result::Result<(MailboxId, PushEnd), tokio::task::JoinError>) {
        if let Ok((mailbox, end)) = ended {
            self.watching.remove(&mailbox);
            let wait = chrono::Duration::from_std(end.retry_after()).unwrap_or_default();
            self.retry_on.insert(mailbox, engine.inner.now() + wait);
            // Look again soon: a watch that could not start frees its place for another.
            self.last_look = None;
        }
    }

    async fn stop_all(&mut self) {
        for token in self.watching.values() {
            token.cancel();
        }
        while self.tasks.join_next().await.is_some() {}
        self.watching.clear();
    }
}

/// How long the history of cycles is kept.
const HISTORY_DAYS: i64 = 30;

/// Runs every workload due now, one pass, to its end: what a fixed-clock test or a one-shot
/// command uses. Returns what each cycle came to (a workload whose lease another engine holds
/// is left out).
pub async fn run_pass(engine: &Engine, options: &SchedulerOptions) -> Result<Vec<CycleEnd>> {
    let now = engine.inner.now();
    let limit = u32::try_from(options.parallel.max(1) * 64).unwrap_or(u32::MAX);
    let due = engine.read(move |c, _| store::schedule::due(c, now, limit)).await?;
    let slots = Arc::new(Semaphore::new(options.parallel.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for d in due {
        let (engine, options, slots) = (engine.clone(), options.clone(), slots.clone());
        tasks.spawn(async move {
            let _slot = slots.acquire_owned().await.map_err(Error::internal)?;
            run_due(&engine, d, &options).await
        });
    }
    let mut ends = Vec::new();
    while let Some(r) = tasks.join_next().await {
        if let Some(end) = r?? {
            ends.push(end);
        }
    }
    ends.sort_by_key(|e| (e.mailbox_id, e.workload.code()));
    Ok(ends)
}

/// One due workload: take its lease, run its cycle (renewing the lease), record the end and let
/// the lease go. None when another engine holds the lease.
async fn run_due(engine: &Engine, d: Due, options: &SchedulerOptions) -> Result<Option<CycleEnd>> {
    let holder = engine.inner.runner_id.clone();
    let lease = chrono::Duration::from_std(options.lease).map_err(Error::internal)?;
    let h = holder.clone();
    // The start is read inside the transaction that takes the lease: the history then never
    // shows two engines' cycles of one workload overlapping.
    let acquired = engine
        .write(move |tx, ctx| {
            let started = ctx.now();
            let ok = take_lease(tx, ctx, d.mailbox_id, d.workload.code(), &h, started + lease)?;
            if !ok {
                return Ok(None);
            }
            let mut s = store::schedule::get(tx, d.mailbox_id, d.workload)?;
            s.last_started_on = Some(started);
            store::schedule::put(tx, &s)?;
            Ok(Some(started))
        })
        .await?;
    let Some(started) = acquired else {
        return Ok(None);
    };
    let result = renewing(
        engine,
        d.mailbox_id,
        d.workload.code(),
        holder.clone(),
        options.lease,
        run_workload(engine, d, options),
    )
    .await;
    let end = finish(engine, d, started, result, holder).await?;
    engine.sync_changed(d.mailbox_id);
    Ok(Some(end))
}

/// Takes the lease `kind` of a mailbox for `holder` until `until`: when it is free or expired,
/// or when the engine that holds it is gone (its runner lock on this data directory is free), so
/// a killed process's mailboxes are taken over at once rather than when its leases expire.
pub(crate) fn take_lease(
    tx: &rusqlite::Transaction<'_>,
    ctx: &crate::engine::Inner,
    mailbox: MailboxId,
    kind: &str,
    holder: &str,
    until: Timestamp,
) -> Result<bool> {
    let now = ctx.now();
    if store::schedule::acquire_lease(tx, mailbox, kind, holder, now, until)? {
        return Ok(true);
    }
    match store::schedule::lease_holder(tx, mailbox, kind)? {
        Some(other) if !ctx.holder_is_alive(&other) => {
            tracing::info!(mailbox = %mailbox, lease = kind, "taking over the lease of an engine that is gone");
            store::schedule::take_over_lease(tx, mailbox, kind, &other, holder, until)
        }
        _ => Ok(false),
    }
}

/// Runs `work` while renewing the lease `kind` (a workload's code, or the IDLE connection's).
pub(crate) async fn renewing<T>(
    engine: &Engine,
    mailbox: MailboxId,
    kind: &'static str,
    holder: String,
    lease: Duration,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    let renewal = renew_while(engine, mailbox, kind, holder, lease);
    // A cycle's future is large: kept on the heap, not on the caller's stack.
    let work = Box::pin(work);
    tokio::select! {
        r = work => r,
        () = renewal => Err(Error::internal("the lease renewal ended first")),
    }
}

/// Runs `work` (Synchronize now, Send now) under the lease of a workload of a mailbox, so that
/// it never runs beside the scheduler of any engine on the same database. Refused with
/// `mailbox.busy` (transient) while another holds the lease.
pub(crate) async fn with_lease<T>(
    engine: &Engine,
    mailbox: MailboxId,
    workload: Workload,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    let holder = format!("{}:now", engine.inner.runner_id);
    let lease = SchedulerOptions::default().lease;
    let until = chrono::Duration::from_std(lease).map_err(Error::internal)?;
    let h = holder.clone();
    let acquired = engine
        .write(move |tx, ctx| {
            let ok = take_lease(tx, ctx, mailbox, workload.code(), &h, ctx.now() + until)?;
            if ok { Ok(None) } else { Ok(Some(store::mailboxes::get(tx, mailbox)?.name)) }
        })
        .await?;
    if let Some(name) = acquired {
        return Err(Error::new(crate::ErrorKind::Unavailable, "mailbox.busy")
            .param("mailbox", name)
            .param("workload", workload.code()));
    }
    let result = renewing(engine, mailbox, workload.code(), holder.clone(), lease, work).await;
    let released =
        engine.write(move |tx, _| store::schedule::release_lease(tx, mailbox, workload.code(), &holder)).await;
    if let Err(e) = released {
        tracing::warn!(error = %e, "a lease could not be let go (it expires by itself)");
    }
    engine.sync_changed(mailbox);
    result
}

/// Renews a lease every third of its length, for as long as it is polled.
async fn renew_while(engine: &Engine, mailbox: MailboxId, kind: &'static str, holder: String, lease: Duration) {
    let every = lease / 3;
    loop {
        tokio::time::sleep(every).await;
        let until = engine.inner.now() + chrono::Duration::from_std(lease).unwrap_or_default();
        let h = holder.clone();
        match engine.write(move |tx, _| store::schedule::renew_lease(tx, mailbox, kind, &h, until)).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(mailbox = %mailbox, lease = kind, "the lease was taken over")
            }
            Err(e) => tracing::warn!(error = %e, "the lease could not be renewed"),
        }
    }
}

/// What a cycle handled: items, failed items, whether a cap left more.
struct Handled {
    items: u32,
    failed: u32,
    more: bool,
    /// The cycle tried every email it read and left none for later (outgoing): an email that
    /// came meanwhile may be sent at once without trying any email again before its time.
    settled: bool,
}

async fn run_workload(engine: &Engine, d: Due, options: &SchedulerOptions) -> Result<Handled> {
    match d.workload {
        Workload::Incoming => {
            let cap = options.incoming_per_cycle.max(1);
            let opts = Options { mode: Mode::Apply, max_messages: Some(cap as usize) };
            let r = super::run_cycle(engine, d.mailbox_id, opts, &|_| {}).await?;
            Ok(Handled {
                items: r.tracked + r.already_tracked,
                failed: r.failed,
                more: r.interrupted || r.planned >= cap,
                settled: false,
            })
        }
        Workload::Outgoing => {
            let cap = options.outgoing_per_cycle.max(1);
            let r = outbound::run_outgoing(engine, d.mailbox_id, cap).await?;
            let handled = r.sent + r.found_sent + r.failed + r.retried_later;
            Ok(Handled {
                items: r.sent + r.found_sent,
                failed: r.failed,
                more: r.retried_later == 0 && handled >= cap,
                settled: schedule::outgoing_settled(handled, r.retried_later, cap),
            })
        }
        // Not scheduled yet (store::schedule::SCHEDULED): appointments, contacts and tasks come later.
        Workload::Act => Err(Error::validation("mailbox.workload.not_configured").param("workload", "act")),
    }
}

/// Records the end of a cycle in one transaction: the next run and counters (spec §3.6,
/// §3.11), the history row, a disabled workload, the alerts, and the lease let go.
async fn finish(
    engine: &Engine,
    d: Due,
    started: Timestamp,
    result: Result<Handled>,
    holder: String,
) -> Result<CycleEnd> {
    engine
        .write(move |tx, ctx| {
            let now = ctx.now();
            let mut m = store::mailboxes::get(tx, d.mailbox_id)?;
            let profile = m.profile_id.map(|p| store::profiles::get(tx, p)).transpose()?;
            let min_polling = profile.as_ref().map_or(0, |p| p.min_polling_interval_minutes);
            let mut s: WorkloadSchedule = store::schedule::get(tx, d.mailbox_id, d.workload)?;
            let (outcome, handled, error) = match result {
                Ok(h) => (Outcome::Success { items: h.items, more: h.more }, Some(h), None),
                Err(e) => (schedule::classify(&e), None, Some(e)),
            };
            let before = Counters { transient_failures: s.transient_failures, idle_cycles: s.idle_cycles };
            let mut after = schedule::after_cycle(d.workload, outcome, before, min_polling, now);
            if d.workload == Workload::Outgoing {
                let settled = handled.as_ref().is_some_and(|h| h.settled);
                let outbox = schedule::OutboxAtEnd {
                    untried_due: settled && store::outbox::has_untried_due(tx, d.mailbox_id, now)?,
                    earliest_send_after: store::outbox::earliest_send_after(tx, d.mailbox_id, now)?,
                };
                after = schedule::with_outbox(after, outcome, outbox, now);
            }
            s.next_run_on = after.next_run;
            s.transient_failures = after.counters.transient_failures;
            s.idle_cycles = after.counters.idle_cycles;
            s.last_completed_on = Some(now);
            let (items, failed_items) = handled.as_ref().map_or((0, 0), |h| (h.items, h.failed));
            s.items_processed = items;
            s.items_failed = failed_items;
            match &error {
                None => {
                    s.last_success_on = Some(now);
                    s.last_error_code.clear();
                    s.last_error_params.clear();
                }
                Some(e) => {
                    s.last_error_code = e.code().to_owned();
                    s.last_error_params = e.params().clone();
                    s.last_error_on = Some(now);
                }
            }
            store::schedule::put(tx, &s)?;
            store::schedule::record_run(
                tx,
                &SyncRun {
                    mailbox_id: d.mailbox_id,
                    workload: d.workload,
                    started_on: started,
                    completed_on: now,
                    outcome: match outcome {
                        Outcome::Success { .. } => RunOutcome::Success,
                        Outcome::Transient { .. } => RunOutcome::Transient,
                        Outcome::Permanent => RunOutcome::Permanent,
                    },
                    items,
                    failed_items,
                    error_code: error.as_ref().map(|e| e.code().to_owned()).unwrap_or_default(),
                    runner: holder.clone(),
                },
            )?;
            // The mailbox's own summary of its errors.
            let mut changed = false;
            if after.disable {
                match d.workload {
                    Workload::Incoming => (m.enabled_for_incoming, m.incoming_status) = (false, TestStatus::Failure),
                    Workload::Outgoing => (m.enabled_for_outgoing, m.outgoing_status) = (false, TestStatus::Failure),
                    Workload::Act => (m.enabled_for_act, m.act_status) = (false, TestStatus::Failure),
                }
                changed = true;
            }
            if let Some(e) = &error {
                m.last_sync_error_code = e.code().to_owned();
                m.last_sync_error_on = Some(now);
                m.transient_failure_count = s.transient_failures;
                changed = true;
            } else if m.transient_failure_count != 0 || !m.last_sync_error_code.is_empty() {
                m.transient_failure_count = 0;
                m.last_sync_error_code.clear();
                changed = true;
            }
            if changed {
                store::mailboxes::update(tx, &m)?;
            }
            if let (Some(e), Some(level)) = (&error, after.alert) {
                for alert in alerts_for(&m, d.workload, e, level, after.disable) {
                    store::alerts::raise(tx, &alert, now)?;
                }
                if let Some(p) = &profile {
                    let (failed, total) = store::schedule::profile_failures(tx, p.id, now - chrono::Duration::hours(1))?;
                    if schedule::profile_alert(failed, total) {
                        let mut params = BTreeMap::new();
                        params.insert("profile".to_owned(), p.name.clone());
                        params.insert("failed".to_owned(), failed.to_string());
                        params.insert("total".to_owned(), total.to_string());
                        let alert = NewAlert {
                            level: AlertLevel::Error,
                            code: "profile.many_mailboxes_failing".to_owned(),
                            params,
                            regarding: Regarding::Profile(p.id),
                            detail: String::new(),
                        };
                        store::alerts::raise(tx, &alert, now)?;
                    }
                }
            }
            store::schedule::release_lease(tx, d.mailbox_id, d.workload.code(), &holder)?;
            if let Some(e) = &error {
                tracing::warn!(mailbox = %d.mailbox_id, workload = d.workload.code(), code = e.code(), disabled = after.disable, "cycle failed");
            }
            Ok(CycleEnd {
                mailbox_id: d.mailbox_id,
                workload: d.workload,
                outcome,
                items,
                failed_items,
                error_code: error.map(|e| e.code().to_owned()),
                disabled: after.disable,
                next_run_on: after.next_run,
            })
        })
        .await
}

/// The alerts a failed cycle raises (spec §3.13): on the mailbox, and on its profile too when the
/// failure is the profile's (server, TLS, profile credentials). Each says what follows: the
/// workload disabled, or a retry later.
fn alerts_for(m: &crate::domain::Mailbox, w: Workload, e: &Error, level: AlertLevel, disabled: bool) -> Vec<NewAlert> {
    let mut params = e.params().clone();
    params.insert("mailbox".to_owned(), m.name.clone());
    params.insert("workload".to_owned(), w.code().to_owned());
    params.insert("consequence".to_owned(), if disabled { "disabled" } else { "retry" }.to_owned());
    let alert = |regarding| NewAlert {
        level,
        code: e.code().to_owned(),
        params: params.clone(),
        regarding,
        detail: e.detail().unwrap_or_default().to_owned(),
    };
    let mut out = vec![alert(Regarding::Mailbox(m.id))];
    if let Some(p) = m.profile_id
        && failure::is_server_level(e.code())
    {
        out.push(alert(Regarding::Profile(p)));
    }
    out
}
