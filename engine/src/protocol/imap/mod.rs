//! IMAP (RFC 9051 / 3501) through async-imap, over our own TCP/TLS stream so that STARTTLS,
//! certificate checks and timeouts are the same as for every other protocol.
//!
//! [`connect`] reads the greeting and the capabilities, and starts TLS; [`Connected::sign_in`]
//! reads the capabilities again once TLS is up (RFC 3501 §6.2.1), honours LOGINDISABLED
//! (§6.2.3) and picks AUTHENTICATE PLAIN where offered; the [`ImapSession`] it returns carries
//! the operations sync needs. The connection is tapped ([`Tap`]): the server's own status lines
//! are read back from it, so an error quotes the server and is classified on its response code
//! ([`reply`]), not on async-imap's debug text.

pub mod reply;

use super::net::{Endpoint, MailStream, Security};
use super::policy::ByteCounter;
use super::{InboxState, Login, Observer, StepKind, failure, step, step_with};
use crate::{Error, Result};
use async_imap::{Client, Session};
use futures_util::StreamExt;
use reply::{Capabilities, Meaning, Status};
use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_util::sync::CancellationToken;

type ImapError = async_imap::error::Error;

/// How many of the last bytes read a tap keeps: enough for any status or capability line.
const TAP_KEEP: usize = 16 * 1024;

/// What a connection read lately, and how much it read in all.
#[derive(Clone, Default)]
pub struct Tap {
    recent: Arc<Mutex<VecDeque<u8>>>,
    bytes: ByteCounter,
}

impl fmt::Debug for Tap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tap({} bytes)", self.bytes.get())
    }
}

impl Tap {
    fn keep(&self, data: &[u8]) {
        self.bytes.add(data.len());
        let data = &data[data.len().saturating_sub(TAP_KEEP)..];
        let mut r = self.recent.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // A ring: dropping the oldest bytes moves nothing, however much a large FETCH reads.
        let held = r.len();
        let overflow = (held + data.len()).saturating_sub(TAP_KEEP).min(held);
        r.drain(..overflow);
        r.extend(data);
    }

    /// Forgets what was read so far: what follows is the answer to the next command.
    fn mark(&self) {
        self.recent.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
    }

    fn recent(&self) -> Vec<u8> {
        self.recent.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter().copied().collect()
    }
}

/// A mail stream whose reads are copied into a [`Tap`] (reads only: what the client writes,
/// passwords included, is never kept).
#[derive(Debug)]
pub struct Tapped {
    inner: MailStream,
    tap: Tap,
}

impl AsyncRead for Tapped {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let r = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = r {
            this.tap.keep(&buf.filled()[before..]);
        }
        r
    }
}

impl AsyncWrite for Tapped {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// An IMAP error as an engine error, in the server's own words: the status line that ended the
/// command is read back from the tap and classified on its response code.
fn imap_error(ep: &Endpoint, tap: &Tap, e: ImapError, during_sign_in: bool) -> Error {
    match e {
        ImapError::Io(io) => failure::io(&ep.host, ep.port, &io),
        ImapError::ConnectionLost => failure::connection_lost(&ep.host),
        ImapError::No(debug) | ImapError::Bad(debug) => {
            let Some(line) = reply::last_status(&tap.recent()) else {
                return failure::protocol(&ep.host, debug);
            };
            let text = &line.text;
            match (line.status, reply::meaning(line.code.as_deref(), during_sign_in)) {
                (Status::Bye, _) | (_, Meaning::Busy) => failure::server_busy(&ep.host, text),
                (Status::Bad, _) => failure::protocol(&ep.host, failure::quote_reply(text)),
                (_, m) => failure::refusal(m, &ep.host, text),
            }
        }
        other => failure::protocol(&ep.host, other),
    }
}

struct Sasl(zeroize::Zeroizing<String>);

impl async_imap::Authenticator for Sasl {
    type Response = Vec<u8>;
    fn process(&mut self, challenge: &[u8]) -> Vec<u8> {
        if challenge.is_empty() {
            self.0.as_bytes().to_vec()
        } else {
            // XOAUTH2: the server's error details (a JSON document); an empty answer ends the
            // exchange. PLAIN sends its response to the first, empty, challenge.
            Vec::new()
        }
    }
}

/// A connection that has read the greeting and started TLS as the profile says, ready to sign in.
#[derive(Debug)]
pub struct Connected {
    client: Client<Tapped>,
    tap: Tap,
    ep: Endpoint,
    greeting: String,
    /// What the greeting announced, if it did (never kept across STARTTLS).
    caps: Option<Capabilities>,
}

/// Reads the greeting: `* OK` (or `* PREAUTH`); `* BYE` means the server will not talk now.
async fn greeting(ep: &Endpoint, client: &mut Client<Tapped>) -> Result<String> {
    let resp = ep
        .bounded(async { client.read_response().await.map_err(|e| failure::io(&ep.host, ep.port, &e)) })
        .await?
        .ok_or_else(|| failure::connection_lost(&ep.host))?;
    let text = String::from_utf8_lossy(resp.borrow_owner()).trim_end().to_owned();
    let upper = text.to_ascii_uppercase();
    if upper.starts_with("* OK") || upper.starts_with("* PREAUTH") {
        Ok(text)
    } else if upper.starts_with("* BYE") {
        Err(failure::server_busy(&ep.host, &text))
    } else {
        Err(failure::protocol(&ep.host, format!("unexpected greeting: {}", failure::quote_reply(&text))))
    }
}

fn tapped(stream: MailStream) -> (Client<Tapped>, Tap) {
    let tap = Tap::default();
    (Client::new(Tapped { inner: stream, tap: tap.clone() }), tap)
}

/// Connects, reads the greeting and starts TLS as the profile says.
pub async fn connect(ep: &Endpoint, obs: &mut dyn Observer) -> Result<Connected> {
    let addrs = step_with(obs, StepKind::Resolve, ep.resolve(), |a| super::addresses(a)).await?;
    let tcp = step(obs, StepKind::Connect, ep.connect_tcp(&addrs)).await?;
    let stream = match ep.security {
        Security::Implicit => step(obs, StepKind::Tls, ep.start_tls(tcp)).await?,
        Security::StartTls | Security::None => MailStream::Plain(tcp),
    };
    let (mut client, mut tap) = tapped(stream);
    let greeting_text = step_with(obs, StepKind::Greeting, greeting(ep, &mut client), |g| g.clone()).await?;
    let mut caps = reply::capabilities(greeting_text.as_bytes());
    if ep.security == Security::StartTls {
        step(obs, StepKind::StartTls, async {
            ep.bounded(async {
                client.run_command_and_check_ok("STARTTLS", None).await.map_err(|e| match e {
                    ImapError::No(_) | ImapError::Bad(_) => failure::tls_not_offered(&ep.host),
                    other => imap_error(ep, &tap, other, false),
                })
            })
            .await
        })
        .await?;
        let plain = client.into_inner().inner;
        let upgraded = step(obs, StepKind::Tls, plain.upgrade(ep)).await?;
        (client, tap) = tapped(upgraded);
        // What the server said before TLS may have been tampered with (RFC 3501 §6.2.1).
        caps = None;
    }
    Ok(Connected { client, tap, ep: ep.clone(), greeting: greeting_text, caps })
}

impl Connected {
    /// The server's capabilities: as announced since TLS started, else asked for.
    async fn capabilities(&mut self) -> Result<Capabilities> {
        if let Some(c) = &self.caps {
            return Ok(c.clone());
        }
        let (ep, tap) = (&self.ep, &self.tap);
        tap.mark();
        ep.bounded(async {
            self.client.run_command_and_check_ok("CAPABILITY", None).await.map_err(|e| imap_error(ep, tap, e, false))
        })
        .await?;
        let caps = reply::capabilities(&tap.recent())
            .ok_or_else(|| failure::protocol(&ep.host, "no capabilities in the answer to CAPABILITY"))?;
        self.caps = Some(caps.clone());
        Ok(caps)
    }

    /// Signs in with the mechanism the capabilities allow: AUTHENTICATE PLAIN where offered,
    /// else LOGIN unless LOGINDISABLED; XOAUTH2 for a token. A server that allows no sign-in
    /// without TLS gets no password.
    async fn authenticate(mut self, login: &Login) -> Result<(ImapSession, &'static str)> {
        let host = self.ep.host.clone();
        if self.greeting.to_ascii_uppercase().starts_with("* PREAUTH") {
            return Err(failure::protocol(&host, "the server signed in before being asked (PREAUTH)"));
        }
        let caps = self.capabilities().await?;
        let secured = self.client.get_ref().inner.is_tls();
        let Connected { client, tap, ep, .. } = self;
        tap.mark();
        let (attempt, mechanism) = match login {
            Login::Password { user, password } if caps.offers("PLAIN") => {
                let r = Login::plain_response(user, password);
                (ep.bounded(async { Ok(client.authenticate("PLAIN", Sasl(r)).await) }).await?, "AUTHENTICATE PLAIN")
            }
            Login::Password { .. } if caps.login_disabled() && !secured => {
                return Err(failure::requires_tls(&host, "LOGINDISABLED"));
            }
            Login::Password { .. } if caps.login_disabled() => {
                return Err(failure::auth_unsupported(&host, &format!("LOGINDISABLED {}", caps.mechanisms())));
            }
            Login::Password { user, password } => {
                (ep.bounded(async { Ok(client.login(user, password.expose()).await) }).await?, "LOGIN")
            }
            Login::OAuth2 { user, token } if caps.offers("XOAUTH2") => {
                let r = Login::xoauth2_response(user, token);
                (ep.bounded(async { Ok(client.authenticate("XOAUTH2", Sasl(r)).await) }).await?, "AUTHENTICATE XOAUTH2")
            }
            Login::OAuth2 { .. } => return Err(failure::auth_unsupported(&host, &caps.mechanisms())),
            Login::Anonymous => return Err(failure::auth_unsupported(&host, "anonymous")),
        };
        let session = attempt.map_err(|(e, _client)| imap_error(&ep, &tap, e, true))?;
        let mut session = ImapSession { session, tap, ep, caps };
        // Capabilities change once signed in (MOVE, IDLE, UIDPLUS): as the OK said, or asked.
        match reply::capabilities(&session.tap.recent()) {
            Some(c) => session.caps = c,
            None => session.refresh_capabilities().await?,
        }
        Ok((session, mechanism))
    }

    /// Signs in; the step's info names the mechanism used.
    pub async fn sign_in(self, login: &Login, obs: &mut dyn Observer) -> Result<ImapSession> {
        let (session, _) =
            step_with(obs, StepKind::Authenticate, self.authenticate(login), |(_, m)| (*m).to_owned()).await?;
        Ok(session)
    }
}

/// Connects, starts TLS as the profile says, and signs in.
pub async fn sign_in(ep: &Endpoint, login: &Login, obs: &mut dyn Observer) -> Result<ImapSession> {
    connect(ep, obs).await?.sign_in(login, obs).await
}

/// A folder's state, as the IMAP commands to open a folder (read-write or read-only) or to ask its
/// status report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FolderState {
    pub exists: u32,
    pub uid_validity: Option<u32>,
    pub uid_next: Option<u32>,
    pub unseen: Option<u32>,
    pub highest_modseq: Option<u64>,
}

impl From<async_imap::types::Mailbox> for FolderState {
    fn from(m: async_imap::types::Mailbox) -> FolderState {
        FolderState {
            exists: m.exists,
            uid_validity: m.uid_validity,
            uid_next: m.uid_next,
            unseen: m.unseen,
            highest_modseq: m.highest_modseq,
        }
    }
}

/// One message of a UID FETCH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedMessage {
    pub uid: u32,
    pub flags: Vec<String>,
    pub size: Option<u32>,
    /// When the server received it (INTERNALDATE).
    pub internal_date: Option<crate::domain::Timestamp>,
    /// The whole message (RFC 822), when it was asked for.
    pub body: Option<Vec<u8>>,
}

/// A folder name as an IMAP quoted string.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A flag as IMAP writes it (`\\Seen`, `$Junk`).
fn flag_name(f: async_imap::types::Flag<'_>) -> String {
    use async_imap::types::Flag as F;
    match f {
        F::Seen => "\\Seen".into(),
        F::Answered => "\\Answered".into(),
        F::Flagged => "\\Flagged".into(),
        F::Deleted => "\\Deleted".into(),
        F::Draft => "\\Draft".into(),
        F::Recent => "\\Recent".into(),
        F::MayCreate => "\\*".into(),
        F::Custom(c) => c.into_owned(),
    }
}

/// How an IDLE ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdleEnd {
    /// The server reported a change (new mail, an expunge, changed flags).
    Changed,
    /// Nothing happened before the renewal time.
    Renew,
    /// The engine asked it to stop.
    Cancelled,
}

/// A signed-in IMAP connection with the operations sync needs. Each command is bounded by the
/// connection's policy: a command's answer by `command`, a FETCH by the transfer floor, an IDLE
/// by its renewal time.
pub struct ImapSession {
    session: Session<Tapped>,
    tap: Tap,
    ep: Endpoint,
    caps: Capabilities,
}

impl fmt::Debug for ImapSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ImapSession({:?})", self.ep)
    }
}

impl ImapSession {
    /// The capabilities the server announced (after TLS, and after signing in when it said them).
    pub fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    /// Asks the server for its capabilities again.
    pub async fn refresh_capabilities(&mut self) -> Result<()> {
        self.command(|s| Box::pin(async move { s.run_command_and_check_ok("CAPABILITY").await })).await?;
        let host = self.ep.host.clone();
        self.caps = reply::capabilities(&self.tap.recent())
            .ok_or_else(|| failure::protocol(&host, "no capabilities in the answer to CAPABILITY"))?;
        Ok(())
    }

    fn err(&self, e: ImapError) -> Error {
        imap_error(&self.ep, &self.tap, e, false)
    }

    /// Runs one command within the command bound, with its errors in the server's words.
    async fn command<T, F>(&mut self, run: F) -> Result<T>
    where
        F: for<'s> FnOnce(&'s mut Session<Tapped>) -> futures_util::future::BoxFuture<'s, async_imap::error::Result<T>>,
    {
        self.tap.mark();
        let ep = self.ep.clone();
        let r = ep.bounded(async { Ok(run(&mut self.session).await) }).await?;
        r.map_err(|e| self.err(e))
    }

    /// Turns on an extension the server offers (RFC 5161 ENABLE), e.g. `CONDSTORE` so that
    /// SELECT reports HIGHESTMODSEQ.
    pub async fn enable(&mut self, capability: &str) -> Result<()> {
        let command = format!("ENABLE {capability}");
        self.command(move |s| Box::pin(async move { s.run_command_and_check_ok(command).await })).await
    }

    /// Whether a folder exists (LIST).
    pub async fn folder_exists(&mut self, folder: &str) -> Result<bool> {
        let pattern = quote(folder);
        let names: Vec<String> = self
            .command(move |s| {
                Box::pin(async move {
                    let stream = s.list(Some(""), Some(&pattern)).await?;
                    let mut stream = std::pin::pin!(stream);
                    let mut out = Vec::new();
                    while let Some(n) = stream.next().await {
                        out.push(n?.name().to_owned());
                    }
                    Ok(out)
                })
            })
            .await?;
        Ok(names.iter().any(|n| n.eq_ignore_ascii_case(folder) || n == folder))
    }

    /// The folder the server marks as Sent (RFC 6154 SPECIAL-USE), else the first of the usual
    /// names that exists, else None.
    pub async fn sent_folder(&mut self) -> Result<Option<String>> {
        let names: Vec<(String, bool)> = self
            .command(move |s| {
                Box::pin(async move {
                    let stream = s.list(Some(""), Some("*")).await?;
                    let mut stream = std::pin::pin!(stream);
                    let mut out = Vec::new();
                    while let Some(n) = stream.next().await {
                        let n = n?;
                        let sent = n.attributes().iter().any(|a| matches!(a, async_imap::types::NameAttribute::Sent));
                        out.push((n.name().to_owned(), sent));
                    }
                    Ok(out)
                })
            })
            .await?;
        if let Some((name, _)) = names.iter().find(|(_, sent)| *sent) {
            return Ok(Some(name.clone()));
        }
        Ok(["Sent", "Sent Items", "Sent Messages", "INBOX.Sent"]
            .iter()
            .find_map(|usual| names.iter().find(|(n, _)| n.eq_ignore_ascii_case(usual)).map(|(n, _)| n.clone())))
    }

    /// Whether a message with this Message-ID (with its angle brackets) is in `folder`.
    pub async fn has_message_id(&mut self, folder: &str, message_id: &str) -> Result<bool> {
        self.examine(folder).await?;
        let id = message_id.replace(['"', '\\', '\r', '\n'], "");
        Ok(!self.uid_search(&format!("HEADER Message-ID \"{id}\"")).await?.is_empty())
    }

    /// Creates a folder unless it exists.
    pub async fn ensure_folder(&mut self, folder: &str) -> Result<()> {
        if self.folder_exists(folder).await? {
            return Ok(());
        }
        let f = folder.to_owned();
        self.command(move |s| Box::pin(async move { s.create(f).await })).await
    }

    /// Opens a folder read-write.
    pub async fn select(&mut self, folder: &str) -> Result<FolderState> {
        let f = folder.to_owned();
        self.command(move |s| Box::pin(async move { s.select(f).await })).await.map(FolderState::from)
    }

    /// Opens a folder read-only.
    pub async fn examine(&mut self, folder: &str) -> Result<FolderState> {
        let f = folder.to_owned();
        self.command(move |s| Box::pin(async move { s.examine(f).await })).await.map(FolderState::from)
    }

    /// A folder's state without opening it.
    pub async fn status(&mut self, folder: &str) -> Result<FolderState> {
        let f = folder.to_owned();
        let items = "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN)";
        self.command(move |s| Box::pin(async move { s.status(f, items).await })).await.map(FolderState::from)
    }

    /// The UIDs that match `query` (IMAP search syntax, e.g. `UID 42:*` or `UNSEEN`), in order.
    pub async fn uid_search(&mut self, query: &str) -> Result<Vec<u32>> {
        let q = query.to_owned();
        let mut uids: Vec<u32> =
            self.command(move |s| Box::pin(async move { s.uid_search(q).await })).await?.into_iter().collect();
        uids.sort_unstable();
        Ok(uids)
    }

    /// Fetches the messages of `uid_set`, handing each to `on_message` as it arrives: one
    /// message is in memory at a time. Without `bodies`, each message's flags, size and date; with
    /// `bodies`, only the whole message (without setting \Seen). Bounded by the transfer floor
    /// rate, not by one command's time.
    pub async fn uid_fetch(
        &mut self,
        uid_set: &str,
        bodies: bool,
        mut on_message: impl FnMut(FetchedMessage) -> Result<()> + Send,
    ) -> Result<()> {
        let items = if bodies { "(UID BODY.PEEK[])" } else { "(UID FLAGS RFC822.SIZE INTERNALDATE)" };
        self.tap.mark();
        let (ep, tap) = (self.ep.clone(), self.tap.clone());
        let counter = tap.bytes.clone();
        let session = &mut self.session;
        ep.bounded_transfer(&counter, async {
            let mut stream = session.uid_fetch(uid_set, items).await.map_err(|e| imap_error(&ep, &tap, e, false))?;
            while let Some(item) = stream.next().await {
                let f = item.map_err(|e| imap_error(&ep, &tap, e, false))?;
                let Some(uid) = f.uid else { continue };
                on_message(FetchedMessage {
                    uid,
                    flags: f.flags().map(flag_name).collect(),
                    size: f.size,
                    internal_date: f.internal_date().map(|d| d.with_timezone(&chrono::Utc)),
                    body: f.body().map(<[u8]>::to_vec),
                })?;
            }
            Ok(())
        })
        .await
    }

    /// Changes the flags of `uid_set` (`+FLAGS.SILENT (\Seen)`, `-FLAGS.SILENT (\Flagged)`).
    pub async fn uid_store(&mut self, uid_set: &str, change: &str) -> Result<()> {
        let (set, change) = (uid_set.to_owned(), change.to_owned());
        self.command(move |s| {
            Box::pin(async move {
                let mut stream = s.uid_store(set, change).await?;
                while let Some(r) = stream.next().await {
                    r?;
                }
                Ok(())
            })
        })
        .await
    }

    /// Copies `uid_set` to `folder`.
    pub async fn uid_copy(&mut self, uid_set: &str, folder: &str) -> Result<()> {
        let (set, f) = (uid_set.to_owned(), folder.to_owned());
        self.command(move |s| Box::pin(async move { s.uid_copy(set, f).await })).await
    }

    /// Moves `uid_set` to `folder`: MOVE (RFC 6851) where offered, else COPY, \Deleted and
    /// UID EXPUNGE (RFC 4315) of just those messages.
    pub async fn uid_move(&mut self, uid_set: &str, folder: &str) -> Result<()> {
        if self.caps.has("MOVE") {
            let (set, f) = (uid_set.to_owned(), folder.to_owned());
            return self.command(move |s| Box::pin(async move { s.uid_mv(set, f).await })).await;
        }
        if !self.caps.has("UIDPLUS") {
            return Err(failure::server_refused(&self.ep.host, "neither MOVE nor UIDPLUS is offered"));
        }
        self.uid_copy(uid_set, folder).await?;
        self.uid_store(uid_set, "+FLAGS.SILENT (\\Deleted)").await?;
        let set = uid_set.to_owned();
        self.command(move |s| {
            Box::pin(async move {
                let stream = s.uid_expunge(set).await?;
                let mut stream = std::pin::pin!(stream);
                while let Some(r) = stream.next().await {
                    r?;
                }
                Ok(())
            })
        })
        .await
    }

    /// Appends a message to `folder` with `flags` (e.g. `(\Seen)`), bounded by its size.
    pub async fn append(&mut self, folder: &str, flags: Option<&str>, message: &[u8]) -> Result<()> {
        self.tap.mark();
        let (ep, tap) = (self.ep.clone(), self.tap.clone());
        let bound = ep.timeouts.transfer(message.len() as u64);
        let session = &mut self.session;
        match tokio::time::timeout(bound, session.append(folder, flags, None, message)).await {
            Ok(r) => r.map_err(|e| imap_error(&ep, &tap, e, false)),
            Err(_) => Err(failure::timeout(&ep.host, bound.as_secs())),
        }
    }

    /// Waits in IDLE (RFC 2177) until the server reports a change, the renewal time passes, or
    /// `cancel` fires; then ends the IDLE and gives the session back.
    pub async fn idle(self, cancel: &CancellationToken) -> Result<(ImapSession, IdleEnd)> {
        if !self.caps.has("IDLE") {
            return Err(failure::server_refused(&self.ep.host, "IDLE is not offered"));
        }
        let ImapSession { session, tap, ep, caps } = self;
        let mut handle = session.idle();
        tap.mark();
        ep.bounded(async { handle.init().await.map_err(|e| imap_error(&ep, &tap, e, false)) }).await?;
        let end = {
            let (wait, stop) = handle.wait_with_timeout(ep.timeouts.idle_renewal);
            tokio::select! {
                r = wait => match r.map_err(|e| imap_error(&ep, &tap, e, false))? {
                    async_imap::extensions::idle::IdleResponse::NewData(_) => IdleEnd::Changed,
                    async_imap::extensions::idle::IdleResponse::Timeout => IdleEnd::Renew,
                    async_imap::extensions::idle::IdleResponse::ManualInterrupt => IdleEnd::Cancelled,
                },
                () = cancel.cancelled() => {
                    drop(stop);
                    IdleEnd::Cancelled
                }
            }
        };
        let session = ep.bounded(async { handle.done().await.map_err(|e| imap_error(&ep, &tap, e, false)) }).await?;
        Ok((ImapSession { session, tap, ep, caps }, end))
    }

    /// Says goodbye.
    pub async fn logout(mut self) -> Result<()> {
        self.command(|s| Box::pin(async move { s.logout().await })).await
    }
}

/// Signs in, opens the Inbox read-only and reads how many messages it holds, then logs out.
pub async fn test(ep: &Endpoint, login: &Login, obs: &mut dyn Observer) -> Result<InboxState> {
    let mut session = sign_in(ep, login, obs).await?;
    let inbox = step_with(obs, StepKind::OpenInbox, session.examine("INBOX"), |m| {
        format!("{} messages, UIDVALIDITY {}", m.exists, m.uid_validity.unwrap_or_default())
    })
    .await?;
    // A failed goodbye does not make the test fail: the mailbox worked.
    let _ = step(obs, StepKind::Logout, session.logout()).await;
    Ok(InboxState { messages: inbox.exists })
}
