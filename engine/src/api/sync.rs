//! Synchronize now, and Preview: one incoming cycle of each chosen mailbox, and what is known
//! of the mailboxes' sync (state, messages that were not tracked).

use super::alerts::raise_alert;
use super::wire::{self, Wire};
use crate::domain::rules::Workload;
use crate::domain::{self, AlertLevel, MailboxId, NewAlert, Regarding};
use crate::store;
use crate::sync::{self, Mode, Options};
use crate::{Engine, ErrorDto, Lang, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How many mailboxes one call synchronises at once (each also waits for its profile's
/// connection limit).
const PARALLEL_MAILBOXES: usize = 4;

/// What to synchronise.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case", tag = "scope", content = "ids")]
pub enum SyncScope {
    /// These mailboxes.
    Mailboxes(Vec<wire::MailboxId>),
    /// Every active mailbox enabled for incoming email.
    All,
    /// The grid's selection, which may be a whole view ("all").
    Selection(super::MailboxSelection),
}

/// How to synchronise.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(deny_unknown_fields, default)]
pub struct SyncRequest {
    /// Plan and decide only: nothing is written, nothing changes on the server.
    pub preview: bool,
    /// At most this many messages per mailbox (the rest waits for the next cycle).
    pub max_messages: Option<u32>,
}

/// One mailbox's cycle: its report, or why it could not run.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MailboxSync {
    pub mailbox_id: wire::MailboxId,
    pub mailbox_name: String,
    pub report: Option<wire::CycleReport>,
    pub error: Option<ErrorDto>,
}

/// How far a call has got: one mailbox's progress.
pub type SyncProgress = sync::Progress;

/// The mailboxes of a scope.
async fn mailboxes_of(engine: &Engine, scope: SyncScope) -> Result<Vec<(MailboxId, String)>> {
    engine
        .read(move |c, _| match scope {
            SyncScope::Mailboxes(ids) => {
                super::non_empty(&ids)?;
                ids.into_iter()
                    .map(|id| {
                        let m = store::mailboxes::get(c, id.into())?;
                        Ok((m.id, m.name))
                    })
                    .collect()
            }
            SyncScope::Selection(selection) => {
                let ids = selection.resolve(c)?;
                super::non_empty(&ids)?;
                ids.into_iter()
                    .map(|id| {
                        let m = store::mailboxes::get(c, id)?;
                        Ok((m.id, m.name))
                    })
                    .collect()
            }
            SyncScope::All => Ok(store::mailboxes::list(c, &Default::default())?
                .into_iter()
                .filter(|m| m.state == domain::RecordState::Active && m.enabled_for_incoming)
                .map(|m| (m.id, m.name))
                .collect()),
        })
        .await
}

/// Records a failed cycle on its mailbox (last error) and raises its alert: a warning when it may
/// pass (a timeout, a busy server), an error otherwise. A preview records nothing.
async fn record_failure(engine: &Engine, id: MailboxId, e: &crate::Error) -> Result<()> {
    let e = e.clone();
    engine
        .write(move |tx, ctx| {
            let now = ctx.now();
            let mut m = store::mailboxes::get(tx, id)?;
            m.last_sync_error_code = e.code().to_owned();
            m.last_sync_error_on = Some(now);
            store::mailboxes::update(tx, &m)?;
            let alert = NewAlert {
                level: if e.is_transient() { AlertLevel::Warning } else { AlertLevel::Error },
                code: e.code().to_owned(),
                params: e.params().clone(),
                regarding: Regarding::Mailbox(id),
                detail: e.detail().unwrap_or_default().to_owned(),
            };
            raise_alert(tx, &alert, now).map(|_| ())
        })
        .await
}

/// One incoming cycle of each mailbox of `scope` (a few at once), or a preview of it. Each
/// mailbox's result stands alone: one that cannot run is reported with its reason and does not
/// stop the others. `progress` is told after each batch of each mailbox.
pub async fn sync_mailboxes(
    engine: &Engine,
    scope: SyncScope,
    request: SyncRequest,
    lang: Lang,
    progress: std::sync::Arc<dyn Fn(SyncProgress) + Send + Sync>,
) -> Result<Vec<MailboxSync>> {
    let targets = mailboxes_of(engine, scope).await?;
    let options = Options {
        mode: if request.preview { Mode::Preview } else { Mode::Apply },
        max_messages: request.max_messages.map(|m| m as usize),
    };
    let mut results: BTreeMap<usize, MailboxSync> = BTreeMap::new();
    let mut tasks = tokio::task::JoinSet::new();
    let mut queue = targets.into_iter().enumerate();
    loop {
        while tasks.len() < PARALLEL_MAILBOXES {
            let Some((i, (id, name))) = queue.next() else { break };
            let (engine, progress) = (engine.clone(), progress.clone());
            tasks.spawn(async move {
                let r = match options.mode {
                    // Never beside the scheduler of any engine on this database.
                    Mode::Apply => {
                        let cycle = sync::run_cycle(&engine, id, options, &*progress);
                        sync::scheduler::with_lease(&engine, id, Workload::Incoming, cycle).await
                    }
                    Mode::Preview => sync::run_cycle(&engine, id, options, &*progress).await,
                };
                if let Err(e) = &r
                    && options.mode == Mode::Apply
                    && let Err(rec) = record_failure(&engine, id, e).await
                {
                    tracing::error!(error = %rec, "the cycle's failure could not be recorded");
                }
                (i, id, name, r)
            });
        }
        let Some(done) = tasks.join_next().await else { break };
        let (i, id, name, r) = done?;
        let (report, error) = match r {
            Ok(report) => (Some(report.wire()), None),
            Err(e) => (None, Some(e.to_dto(lang))),
        };
        results.insert(i, MailboxSync { mailbox_id: id.into(), mailbox_name: name, report, error });
    }
    Ok(results.into_values().collect())
}

/// One mailbox's sync state (cursor and last-sync counters).
pub async fn get_sync_state(engine: &Engine, id: wire::MailboxId) -> Result<wire::SyncState> {
    let id = MailboxId::from(id);
    engine
        .read(move |c, _| {
            store::mailboxes::get(c, id)?;
            store::sync_state::get(c, id)
        })
        .await
        .map(Wire::wire)
}

/// The latest messages that were not tracked (item-level monitoring), of one mailbox or all.
pub async fn list_item_outcomes(
    engine: &Engine,
    mailbox: Option<wire::MailboxId>,
    limit: u32,
) -> Result<Vec<wire::MailItemOutcome>> {
    let mailbox = mailbox.map(MailboxId::from);
    engine.read(move |c, _| store::sync_state::outcomes(c, mailbox, limit)).await.map(Wire::wire)
}
