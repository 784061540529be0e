//! The scheduler: start and stop it, what it is doing, each mailbox's schedule and history
//! (the mailbox form, Download Mailbox Details).

use super::wire::{self, Wire};
use crate::domain::MailboxId;
use crate::domain::rules::Workload;
use crate::store;
use crate::sync::scheduler;
use crate::{Engine, Error, Lang, Result, i18n};

pub use crate::sync::scheduler::SchedulerOptions;

/// Starts this engine's scheduler (nothing happens when it already runs). It stops with
/// [`stop_scheduler`] or when the engine closes.
pub async fn start_scheduler(engine: &Engine, options: SchedulerOptions) -> Result<wire::SchedulerStatus> {
    let mut slot = engine.inner.scheduler.lock().await;
    if slot.as_ref().is_none_or(|h| !h.status().running) {
        *slot = Some(scheduler::start(engine, options));
    }
    Ok(slot.as_ref().map(|h| h.status()).unwrap_or_default().wire())
}

/// Stops this engine's scheduler: no new cycle starts, the running ones end, its leases are let
/// go. Nothing happens when none runs.
pub async fn stop_scheduler(engine: &Engine) -> Result<wire::SchedulerStatus> {
    let handle = engine.inner.scheduler.lock().await.take();
    if let Some(h) = handle {
        h.stop().await;
    }
    Ok(scheduler::SchedulerStatus::default().wire())
}

/// The desktop app's scheduler follows the organisation's setting: it runs while "Synchronize
/// while the desktop app is open" is on, and stops when it is turned off.
pub async fn follow_desktop_setting(engine: &Engine) -> Result<wire::SchedulerStatus> {
    let on = engine.read(|c, _| Ok(store::settings::get(c)?.sync_in_desktop_app)).await?;
    if on { start_scheduler(engine, SchedulerOptions::default()).await } else { stop_scheduler(engine).await }
}

/// What this engine's scheduler is doing (not running when it was never started).
pub async fn scheduler_status(engine: &Engine) -> Result<wire::SchedulerStatus> {
    let slot = engine.inner.scheduler.lock().await;
    Ok(slot.as_ref().map(|h| h.status()).unwrap_or_default().wire())
}

/// Runs every workload that is due now, once, to its end (what `serve` does continuously).
pub async fn run_due_workloads(engine: &Engine, options: SchedulerOptions) -> Result<Vec<wire::CycleEnd>> {
    scheduler::run_pass(engine, &options).await.map(Wire::wire)
}

/// A mailbox's schedule: one row per scheduled workload.
pub async fn get_mailbox_schedule(engine: &Engine, id: wire::MailboxId) -> Result<Vec<wire::WorkloadSchedule>> {
    let id = MailboxId::from(id);
    engine
        .read(move |c, ctx| {
            store::mailboxes::get(c, id)?;
            store::schedule::for_mailbox(c, id, ctx.now())
        })
        .await
        .map(Wire::wire)
}

/// A mailbox's latest cycles, newest first.
pub async fn list_sync_runs(engine: &Engine, id: wire::MailboxId, limit: u32) -> Result<Vec<wire::SyncRun>> {
    let id = MailboxId::from(id);
    engine
        .read(move |c, _| {
            store::mailboxes::get(c, id)?;
            store::schedule::runs(c, id, limit.min(10_000))
        })
        .await
        .map(Wire::wire)
}

/// Download Mailbox Details: a mailbox's sync history (each cycle, with its error in `lang`) and
/// the messages that were not tracked, as CSV.
pub async fn mailbox_details_csv(engine: &Engine, id: wire::MailboxId, lang: Lang) -> Result<String> {
    let id = MailboxId::from(id);
    let (runs, items) = engine
        .read(move |c, _| {
            store::mailboxes::get(c, id)?;
            Ok((store::schedule::runs(c, id, 10_000)?, store::sync_state::outcomes(c, Some(id), 10_000)?))
        })
        .await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let csv_err = |e: csv::Error| Error::internal(e);
    w.write_record([
        "kind",
        "workload",
        "started_on",
        "completed_on",
        "outcome",
        "items",
        "failed_items",
        "code",
        "message",
        "reference",
        "runner",
    ])
    .map_err(csv_err)?;
    for r in runs {
        let message = if r.error_code.is_empty() {
            String::new()
        } else {
            i18n::render(lang, &r.error_code, &Default::default())
        };
        w.write_record([
            "cycle",
            r.workload.code(),
            &r.started_on.to_rfc3339(),
            &r.completed_on.to_rfc3339(),
            r.outcome.code(),
            &r.items.to_string(),
            &r.failed_items.to_string(),
            &r.error_code,
            &message,
            "",
            &r.runner,
        ])
        .map_err(csv_err)?;
    }
    for o in items {
        let message = i18n::render(lang, &o.code, &o.params);
        let reference =
            if o.subject.is_empty() { o.server_ref.clone() } else { format!("{} ({})", o.subject, o.server_ref) };
        w.write_record([
            "message",
            Workload::Incoming.code(),
            "",
            &o.occurred_on.to_rfc3339(),
            o.outcome.code(),
            "",
            "",
            &o.code,
            &message,
            &reference,
            "",
        ])
        .map_err(csv_err)?;
    }
    let bytes = w.into_inner().map_err(|e| Error::internal(e.to_string()))?;
    String::from_utf8(bytes).map_err(Error::internal)
}

/// Download Mailbox Details into the Downloads folder; returns the file's path.
pub async fn export_mailbox_details(engine: &Engine, id: wire::MailboxId, lang: Lang) -> Result<String> {
    let csv = mailbox_details_csv(engine, id, lang).await?;
    let name = engine.read(move |c, _| Ok(store::mailboxes::get(c, id.into())?.name)).await?;
    let dir = super::activities::export_dir(engine);
    let file = format!("{}.csv", super::activities::safe_file_name(&format!("{name} sync details"), "mailbox-details"));
    let path =
        tokio::task::spawn_blocking(move || super::activities::write_new_file(&dir, &file, csv.as_bytes())).await??;
    Ok(path.display().to_string())
}

/// The Monitoring dashboard's figures over the last `hours` (1 to 168).
pub async fn monitoring_summary(engine: &Engine, hours: u32) -> Result<wire::MonitoringSummary> {
    let hours = i64::from(hours.clamp(1, 168));
    engine
        .read(move |c, ctx| {
            let now = ctx.now();
            let since = now - chrono::Duration::hours(hours);
            Ok(wire::MonitoringSummary {
                generated_on: now,
                since,
                per_hour: store::monitoring::per_hour(c, since)?.wire(),
                latency: store::monitoring::latency_per_hour(c, since)?.wire(),
                failures: store::monitoring::failures_by_code(c, since)?.wire(),
                mailboxes: store::monitoring::mailboxes_by_state(c)?.wire(),
                backlog: store::monitoring::backlog(c, now)?.wire(),
            })
        })
        .await
}
