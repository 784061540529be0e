//! The incoming cycle of an Exchange mailbox: pages of the Inbox's changes since a server's own
//! cursor — Graph's delta query (Exchange Online), EWS's SyncFolderItems (Exchange Server) — fed
//! into the same pipeline as IMAP and POP3 (parse, decide, commit, acknowledge).
//!
//! The cursor (a delta or next link, a SyncState) is committed with the batch that ends its page.
//! A batch within a page leaves the cursor where it was, so a crash there reads the page again,
//! and Message-ID dedupe keeps that free of duplicates. A cursor the server no longer knows
//! starts a new round the same way.

use super::{BATCH_BYTES, BATCH_MESSAGES, CycleReport, UNDELIVERABLE_FOLDER};
use super::{Ctx, Cursor, Fetched, FetchedKind, InFlight, Mode, Options, Progress, consume, in_flight_budget, reserve};
use crate::domain::Timestamp;
use crate::protocol::Direction;
use crate::protocol::ews::{self, EwsClient};
use crate::protocol::graph::{self, DeltaItem, GraphClient, Mime};
use crate::sync::plan::{self, Rescan};
use crate::{Engine, Error, Result, store};
use futures_util::StreamExt as _;
use std::sync::Arc;

/// One page of changes: the messages now in the Inbox, the cursor after the page, and whether
/// more pages follow in this round.
struct Page {
    messages: Vec<(String, Option<Timestamp>)>,
    after: String,
    more: bool,
}

/// A server that lists an Inbox's changes since its own cursor.
enum Source {
    Graph { client: Arc<GraphClient>, mailbox: String },
    Ews { client: Arc<EwsClient>, mailbox: String, impersonate: bool },
}

/// Messages fetched at once from EWS (one GetItem).
const EWS_FETCH: usize = 10;

impl Source {
    fn prefix(&self) -> &'static str {
        match self {
            Source::Graph { .. } => "graph:",
            Source::Ews { .. } => "ews:",
        }
    }

    /// Whether `e` says the cursor is no longer known.
    fn cursor_lost(e: &Error) -> bool {
        matches!(e.code(), graph::code::SYNC_STATE_EXPIRED | ews::code::SYNC_STATE_INVALID)
    }

    async fn page(&self, cursor: Option<&str>) -> Result<Page> {
        match self {
            Source::Graph { client, mailbox } => {
                let p = client.delta(mailbox, cursor).await?;
                let messages = p
                    .items
                    .into_iter()
                    .filter_map(|i| match i {
                        DeltaItem::Message { id, received } => Some((id, received)),
                        DeltaItem::Removed { .. } => None,
                    })
                    .collect();
                let more = p.next.is_some();
                let after = p.next.or(p.delta).unwrap_or_default();
                Ok(Page { messages, after, more })
            }
            Source::Ews { client, mailbox, impersonate } => {
                let p = client.sync_inbox(mailbox, *impersonate, cursor).await?;
                let messages = p
                    .changes
                    .into_iter()
                    .filter_map(|c| match c {
                        ews::Change::Item { id, received } => Some((id, received)),
                        ews::Change::Deleted { .. } => None,
                    })
                    .collect();
                Ok(Page { messages, after: p.state, more: !p.last })
            }
        }
    }

    /// Fetches listed messages, in order, passing over those before the start date.
    async fn fetch(&self, listed: Vec<(String, Option<Timestamp>)>, dates: plan::Dates) -> Result<Vec<Fetched>> {
        let prefix = self.prefix();
        let fetched = |id: &str, received, kind| Fetched {
            server_ref: format!("{prefix}{id}"),
            uid: 0,
            received_on: received,
            kind,
        };
        let (before, wanted): (Vec<_>, Vec<_>) =
            listed.into_iter().enumerate().partition(|(_, (_, r))| plan::before_start(*r, dates));
        let mut out: Vec<(usize, Fetched)> =
            before.into_iter().map(|(i, (id, r))| (i, fetched(&id, r, FetchedKind::BeforeStartDate))).collect();
        match self {
            Source::Graph { client, mailbox } => {
                let bodies = futures_util::stream::iter(wanted.into_iter().map(|(i, (id, r))| {
                    let (client, mailbox) = (client.clone(), mailbox.clone());
                    async move {
                        let kind = match client.mime(&mailbox, &id, plan::MAX_MESSAGE_BYTES).await? {
                            Mime::Body(b) => FetchedKind::Body(b),
                            Mime::TooLarge(n) => FetchedKind::TooLarge(n),
                            Mime::Gone => FetchedKind::Vanished,
                        };
                        Ok::<_, Error>((i, id, r, kind))
                    }
                }))
                .buffered(graph::MAX_PER_MAILBOX)
                .collect::<Vec<_>>()
                .await;
                for b in bodies {
                    let (i, id, r, kind) = b?;
                    out.push((i, fetched(&id, r, kind)));
                }
            }
            Source::Ews { client, mailbox, impersonate } => {
                for chunk in wanted.chunks(EWS_FETCH) {
                    let ids: Vec<String> = chunk.iter().map(|(_, (id, _))| id.clone()).collect();
                    let bodies = client.mime(mailbox, *impersonate, &ids).await?;
                    for ((i, (id, r)), body) in chunk.iter().zip(bodies) {
                        let kind = match body {
                            Some(b) if b.len() as u64 > plan::MAX_MESSAGE_BYTES => {
                                FetchedKind::TooLarge(b.len() as u64)
                            }
                            Some(b) => FetchedKind::Body(b),
                            None => FetchedKind::Vanished,
                        };
                        out.push((*i, fetched(id, *r, kind)));
                    }
                }
            }
        }
        out.sort_by_key(|(i, _)| *i);
        Ok(out.into_iter().map(|(_, f)| f).collect())
    }

    /// Moves items to the Undeliverable folder (created when missing).
    async fn move_to_undeliverable(&self, ids: &[String]) -> Result<()> {
        match self {
            Source::Graph { client, mailbox } => {
                let folder = client.folder(mailbox, UNDELIVERABLE_FOLDER).await?;
                for id in ids {
                    match client.move_to(mailbox, id, &folder).await {
                        Ok(()) => {}
                        Err(e) if e.code() == graph::code::ITEM_NOT_FOUND => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(())
            }
            Source::Ews { client, mailbox, impersonate } => {
                let folder = client.folder(mailbox, *impersonate, UNDELIVERABLE_FOLDER).await?;
                client.move_to(mailbox, *impersonate, ids, &folder).await
            }
        }
    }
}

fn size(f: &Fetched) -> u64 {
    match &f.kind {
        FetchedKind::Body(b) => b.len() as u64,
        _ => 0,
    }
}

pub(super) async fn cycle(
    engine: &Engine,
    ctx: &Arc<Ctx>,
    options: Options,
    progress: &(dyn Fn(Progress) + Send + Sync),
    report: &mut CycleReport,
) -> Result<()> {
    let mailbox = ctx.mailbox.email_address.trim().to_owned();
    let source = if ctx.profile.server_type == crate::domain::ServerType::ExchangeOnline {
        Source::Graph { client: crate::remote::connect::graph_client(engine, &ctx.profile).await?, mailbox }
    } else {
        let (client, impersonate, _) = crate::remote::connect::ews_client(
            engine,
            &ctx.profile,
            Some(&ctx.mailbox),
            Direction::Incoming,
            crate::remote::connect::Discovery::Cached,
            &mut crate::protocol::Unobserved,
        )
        .await?;
        Source::Ews { client, mailbox, impersonate }
    };
    let (start, rescan) = plan::cursor_start(&ctx.state, ctx.dates);
    report.rescan = rescan;
    let stored = ctx.state.server_cursor.clone();
    let (tx, rx) = tokio::sync::mpsc::channel::<InFlight>(1);
    let budget = in_flight_budget();
    let shutdown = engine.shutdown_token().clone();
    let dates = ctx.dates;
    let max = options.max_messages;
    let producer = async {
        // Owned by the producer: the consumer ends when it is dropped.
        let tx = tx;
        let mut cursor = start;
        let mut expired = false;
        let mut listed = 0usize;
        loop {
            if shutdown.is_cancelled() {
                return Ok::<(bool, bool), Error>((true, expired));
            }
            let page = match source.page(cursor.as_deref()).await {
                Ok(p) => p,
                Err(e) if Source::cursor_lost(&e) && cursor.is_some() && !expired => {
                    tracing::warn!(code = e.code(), "the server no longer knows the cursor: the Inbox is read again");
                    expired = true;
                    cursor = None;
                    continue;
                }
                Err(e) => return Err(e),
            };
            listed += page.messages.len();
            let mut batch: Vec<Fetched> = Vec::new();
            let mut held: Option<tokio::sync::OwnedSemaphorePermit> = None;
            let mut bytes = 0u64;
            for f in source.fetch(page.messages, dates).await? {
                let n = size(&f);
                if !batch.is_empty() && (bytes + n > BATCH_BYTES || batch.len() >= BATCH_MESSAGES) {
                    // Within the page: the cursor stays where it was.
                    let h = match held.take() {
                        Some(h) => h,
                        None => reserve(&budget, 1).await?,
                    };
                    if tx.send(InFlight { batch: std::mem::take(&mut batch), held: h, cursor: None }).await.is_err() {
                        return Ok((false, expired));
                    }
                    bytes = 0;
                }
                let permit = reserve(&budget, n).await?;
                match held.as_mut() {
                    Some(h) => h.merge(permit),
                    None => held = Some(permit),
                }
                bytes += n;
                batch.push(f);
            }
            let moved = !page.after.is_empty() && page.after != stored;
            if !batch.is_empty() || moved {
                let h = match held.take() {
                    Some(h) => h,
                    None => reserve(&budget, 1).await?,
                };
                let next = (!page.after.is_empty()).then(|| Cursor::Server(page.after.clone()));
                if tx.send(InFlight { batch, held: h, cursor: next }).await.is_err() {
                    return Ok((false, expired));
                }
            }
            if !page.more || max.is_some_and(|m| listed >= m) || page.after.is_empty() {
                return Ok((false, expired));
            }
            cursor = Some(page.after);
        }
    };
    let consumer = consume(engine, ctx, options.mode, rx, |_| None, progress, report);
    let (produced, consumed) = tokio::join!(producer, consumer);
    consumed?;
    let (interrupted, expired) = produced?;
    report.interrupted = interrupted;
    report.planned = report.planned.max(report.done());
    if expired {
        report.rescan = Some(Rescan::CursorExpired);
    }
    if options.mode == Mode::Apply && ctx.profile.move_failed_to_undeliverable {
        report.moved_to_undeliverable = move_failed(engine, ctx, &source).await?;
    }
    Ok(())
}

/// Moves the messages whose activity could not be created to the Undeliverable folder, then
/// records that they were moved; failures of earlier cycles too.
async fn move_failed(engine: &Engine, ctx: &Ctx, source: &Source) -> Result<u32> {
    let id = ctx.mailbox.id;
    let prefix = source.prefix();
    let pending = super::failed_not_moved(engine, id, prefix).await?;
    if pending.is_empty() {
        return Ok(0);
    }
    let ids: Vec<String> = pending.iter().map(|r| r.trim_start_matches(prefix).to_owned()).collect();
    source.move_to_undeliverable(&ids).await?;
    let n = pending.len() as u32;
    engine.write(move |tx, _| store::sync_state::mark_moved(tx, id, &pending)).await?;
    tracing::info!(moved = n, "failed messages moved to {UNDELIVERABLE_FOLDER}");
    Ok(n)
}
