//! Push: a mailbox keeps one connection open on which its server reports new mail, and when it
//! does the mailbox's incoming workload is made due at once, so new mail is tracked within
//! seconds instead of at the next poll.
//!
//! * IMAP: IDLE (RFC 2177) on the Inbox, when the server offers it.
//! * Exchange Server: an EWS streaming subscription to the Inbox (`Subscribe`), read through
//!   `GetStreamingEvents` on a connection of its own, asked again whenever the server closes it
//!   (every 30 minutes at most) and subscribed again when the server forgets the subscription.
//!   `Unsubscribe` when the watch stops.
//! * Exchange Online: Graph's change notifications need a public HTTPS endpoint, which a
//!   desktop does not have: its mailboxes are polled (ADR 0014).
//!
//! The connection counts against the profile's Maximum Concurrent Connections, and never takes
//! the last free one (the cycles need it): when the limit is reached, or the server does not
//! offer IDLE, the mailbox is polled as before. The IDLE command is renewed before the server's
//! inactivity timeout (RFC 2177 asks for 29 minutes at most). One engine at a time keeps a
//! mailbox's IDLE connection, under the `push` lease; the mailbox form shows it as connected.

use super::scheduler::renewing;
use crate::domain::rules::Workload;
use crate::domain::{Mailbox, MailboxId, Profile, ProfileId, ServerType};
use crate::protocol::imap::{self, IdleEnd};
use crate::protocol::{Direction, Unobserved, ews};
use crate::remote::connect::{endpoint, ews_stream_client, login, refused};
use crate::store::{self, schedule::PUSH};
use crate::{Engine, Result};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// How a mailbox's IDLE watch ended, and so when to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushEnd {
    /// Stopped on purpose (the engine closes, the mailbox is no longer eligible).
    Stopped,
    /// The server does not offer IDLE: poll.
    NotOffered,
    /// Every connection the profile allows but one is in use: poll, and try later.
    LimitReached,
    /// Another engine keeps this mailbox's IDLE connection.
    HeldElsewhere,
    /// The connection failed or was lost: try again after a pause.
    Failed,
}

impl PushEnd {
    /// How long to wait before watching this mailbox again.
    pub fn retry_after(self) -> Duration {
        match self {
            PushEnd::Stopped | PushEnd::HeldElsewhere => Duration::from_secs(5),
            PushEnd::LimitReached | PushEnd::Failed => Duration::from_secs(60),
            PushEnd::NotOffered => Duration::from_secs(3600),
        }
    }
}

/// Watches one mailbox's Inbox in IDLE until `stop` fires or the connection ends.
pub async fn watch(
    engine: Engine,
    mailbox: MailboxId,
    profile: ProfileId,
    lease: Duration,
    stop: CancellationToken,
) -> PushEnd {
    let span = tracing::info_span!("push", mailbox = %mailbox);
    match watch_inner(&engine, mailbox, profile, lease, &stop).instrument(span).await {
        Ok(end) => end,
        Err(e) => {
            tracing::info!(mailbox = %mailbox, code = e.code(), "IDLE connection ended; the mailbox is polled meanwhile");
            PushEnd::Failed
        }
    }
}

async fn watch_inner(
    engine: &Engine,
    mailbox: MailboxId,
    profile: ProfileId,
    lease: Duration,
    stop: &CancellationToken,
) -> Result<PushEnd> {
    let Some(_permit) = engine.idle_connection_permit(profile).await? else {
        return Ok(PushEnd::LimitReached);
    };
    let holder = engine.inner.runner_id.clone();
    let until = chrono::Duration::from_std(lease).map_err(crate::Error::internal)?;
    let h = holder.clone();
    let acquired = engine
        .write(move |tx, ctx| super::scheduler::take_lease(tx, ctx, mailbox, PUSH, &h, ctx.now() + until))
        .await?;
    if !acquired {
        return Ok(PushEnd::HeldElsewhere);
    }
    let result = renewing(engine, mailbox, PUSH, holder.clone(), lease, idle_loop(engine, mailbox, stop)).await;
    let released = engine.write(move |tx, _| store::schedule::release_lease(tx, mailbox, PUSH, &holder)).await;
    if let Err(e) = released {
        tracing::warn!(error = %e, "the IDLE lease could not be let go (it expires by itself)");
    }
    engine.sync_changed(mailbox);
    result
}

async fn idle_loop(engine: &Engine, mailbox: MailboxId, stop: &CancellationToken) -> Result<PushEnd> {
    let (m, p) = engine
        .read(move |c, _| {
            let m = store::mailboxes::get(c, mailbox)?;
            let p = m.profile_id.map(|id| store::profiles::get(c, id)).transpose()?;
            Ok((m, p))
        })
        .await?;
    let Some(p) = p else { return Ok(PushEnd::Stopped) };
    match p.server_type {
        ServerType::ImapSmtp => {}
        ServerType::ExchangeServer => return stream_loop(engine, &m, &p, stop).await,
        _ => return Ok(PushEnd::NotOffered),
    }
    let ep = endpoint(&p, Direction::Incoming)?;
    let (creds, source) = login(engine, &p, Some(&m), Direction::Incoming).await?;
    let mut session = imap::sign_in(&ep, &creds, &mut Unobserved).await.map_err(|e| refused(e, &creds, source, &p))?;
    if !session.capabilities().has("IDLE") {
        let _ = session.logout().await;
        return Ok(PushEnd::NotOffered);
    }
    session.select("INBOX").await?;
    engine.sync_changed(mailbox);
    tracing::debug!(mailbox = %mailbox, "IDLE connected");
    loop {
        let (s, end) = session.idle(stop).await?;
        session = s;
        match end {
            IdleEnd::Changed => changed(engine, mailbox).await?,
            IdleEnd::Renew => {}
            IdleEnd::Cancelled => {
                let _ = session.logout().await;
                return Ok(PushEnd::Stopped);
            }
        }
    }
}

/// The server reported a change: the mailbox's incoming workload is due now.
async fn changed(engine: &Engine, mailbox: MailboxId) -> Result<()> {
    engine.write(move |tx, ctx| store::schedule::run_soon(tx, mailbox, Workload::Incoming, ctx.now())).await?;
    engine.wake_scheduler();
    Ok(())
}

/// EWS streaming notifications of an Exchange Server mailbox's Inbox.
async fn stream_loop(engine: &Engine, m: &Mailbox, p: &Profile, stop: &CancellationToken) -> Result<PushEnd> {
    let mailbox = m.id;
    let address = m.email_address.trim().to_owned();
    let (client, impersonate) = ews_stream_client(engine, p, m).await?;
    let mut subscription = client.subscribe(&address, impersonate).await?;
    engine.sync_changed(mailbox);
    tracing::debug!(mailbox = %mailbox, "EWS streaming subscription made");
    loop {
        // Notifications arrive while the connection stays open: each one makes the workload
        // due (in the background, so the stream is read on).
        let mut on_events = |n: usize| {
            tracing::debug!(mailbox = %mailbox, events = n, "Exchange reported new mail");
            let engine2 = engine.clone();
            engine.spawn(async move {
                if let Err(e) = changed(&engine2, mailbox).await {
                    tracing::warn!(mailbox = %mailbox, code = e.code(), "new mail reported but not scheduled");
                }
            });
        };
        let streamed = tokio::select! {
            r = client.stream(&address, impersonate, &subscription, ews::STREAM_MINUTES, &mut on_events) => r?,
            () = stop.cancelled() => {
                if let Err(e) = client.unsubscribe(&address, impersonate, &subscription).await {
                    tracing::debug!(mailbox = %mailbox, code = e.code(), "the subscription could not be ended (it expires by itself)");
                }
                return Ok(PushEnd::Stopped);
            }
        };
        match streamed {
            ews::StreamEnd::Closed => {}
            ews::StreamEnd::SubscriptionLost => {
                tracing::info!(mailbox = %mailbox, "Exchange forgot the subscription: subscribing again");
                subscription = client.subscribe(&address, impersonate).await?;
                // Mail may have come while no subscription was there.
                changed(engine, mailbox).await?;
            }
        }
    }
}
