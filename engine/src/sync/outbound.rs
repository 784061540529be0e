//! Outgoing email (spec §3.12): composing the message of an email written in ServerSync, and one
//! outgoing cycle of a mailbox.
//!
//! The message is built once, at Send: its Message-ID and tracking token are fixed then and its
//! bytes kept with the email, so every try sends the same message and the Sent folder can be asked
//! whether a try left. A cycle sends the mailbox's due emails over one SMTP connection, each one:
//! 1. marked Sending, one more attempt, committed durably **before** the message leaves;
//! 2. sent; 3. marked Sent, or Pending Send / Failed with its reason (`domain::rules::outgoing`).
//!
//! An email found Sending at the start of a cycle was left by a run that died mid-try: the Sent
//! folder (IMAP) is searched for its Message-ID before it is sent again; where the server cannot be
//! asked (POP3), it is sent again and marked as a possible duplicate, counted in the Outbox.
//! Copies go to the Sent folder after the sends, when the organisation saves them there.

use crate::domain::rules::outgoing::{SendResult, after_try};
use crate::domain::rules::{Workload, check_processable};
use crate::domain::{ActivityId, EmailActivity, EmailStatus, Mailbox, MailboxId, OrgSettings, Profile, ServerType};
use crate::protocol::{self, Direction, Unobserved, failure};
use crate::remote::connect::{endpoint, login, refused};
use crate::store::{self, Durability};
use crate::{Engine, Error, Result};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox as Addressee, MultiPart, SinglePart};
use std::collections::BTreeMap;
use tracing::Instrument;

/// At most this many emails per cycle of a mailbox.
pub const MAX_PER_CYCLE: u32 = 500;

/// An attachment of an email being written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttachment {
    pub file_name: String,
    pub mime_type: String,
    pub content: Vec<u8>,
}

/// What the message of an email being sent says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composed {
    pub from_name: String,
    pub from_address: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    /// The message's own Message-ID, with its brackets.
    pub message_id: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    /// The Message-ID this one answers, with its brackets, and the thread's references.
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub attachments: Vec<NewAttachment>,
}

fn addressee(name: &str, address: &str) -> Result<Addressee> {
    let addr = address
        .trim()
        .parse()
        .map_err(|_| Error::validation("field.not_an_email").param("field", "email_address").param("value", address))?;
    Ok(Addressee::new((!name.trim().is_empty()).then(|| name.trim().to_owned()), addr))
}

/// The message's bytes (no Bcc header: Bcc recipients are only in the envelope).
pub fn compose(c: &Composed) -> Result<Vec<u8>> {
    let mut b = lettre::Message::builder()
        .message_id(Some(c.message_id.clone()))
        .from(addressee(&c.from_name, &c.from_address)?)
        .subject(c.subject.clone())
        .date_now();
    for to in &c.to {
        b = b.to(addressee("", to)?);
    }
    for cc in &c.cc {
        b = b.cc(addressee("", cc)?);
    }
    if let Some(parent) = &c.in_reply_to {
        b = b.in_reply_to(parent.clone());
    }
    if !c.references.is_empty() {
        b = b.references(c.references.join(" "));
    }
    let text = if c.body_text.is_empty() && !c.body_html.is_empty() {
        mail_parser::decoders::html::html_to_text(&c.body_html)
    } else {
        c.body_text.clone()
    };
    let body = if c.body_html.is_empty() {
        MultiPart::mixed().singlepart(SinglePart::plain(text))
    } else {
        MultiPart::mixed().multipart(MultiPart::alternative_plain_html(text, c.body_html.clone()))
    };
    let mut body = body;
    for a in &c.attachments {
        let ct = ContentType::parse(&a.mime_type)
            .unwrap_or(ContentType::parse("application/octet-stream").map_err(Error::internal)?);
        body = body.singlepart(Attachment::new(a.file_name.clone()).body(a.content.clone(), ct));
    }
    let message = b.multipart(body).map_err(|e| Error::validation("email.compose_failed").with_detail(e))?;
    Ok(message.formatted())
}

/// What an outgoing cycle did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutgoingReport {
    pub mailbox_id: Option<MailboxId>,
    pub sent: u32,
    /// Found in the Sent folder after a crash: already sent, not sent again.
    pub found_sent: u32,
    pub failed: u32,
    /// Left Pending Send for a later cycle (a passing failure).
    pub retried_later: u32,
    /// Sent again after a crash without a way to know whether the first try had left.
    pub possible_duplicates: u32,
    pub copied_to_sent: u32,
}

/// The result of a try as the rules see it, from the error of a send over a connection that is up.
fn classify(e: &Error) -> SendResult {
    match e.code() {
        failure::code::SERVER_REFUSED | "field.not_an_email" => SendResult::RefusedForThisEmail,
        c if protocol::graph::is_message_level(c) => SendResult::RefusedForThisEmail,
        c if protocol::graph::is_mailbox_level(c) || protocol::ews::is_mailbox_level(c) => SendResult::MailboxLevel,
        protocol::ews::code::REFUSED => SendResult::RefusedForThisEmail,
        failure::code::AUTH_FAILED_MAILBOX | failure::code::AUTH_FAILED_PROFILE => SendResult::MailboxLevel,
        c if failure::is_auth_failure(e) || failure::is_server_level(c) => SendResult::MailboxLevel,
        _ => SendResult::Transient,
    }
}

struct Ctx {
    mailbox: Mailbox,
    profile: Profile,
    settings: OrgSettings,
}

/// Why a mailbox cannot send now, checked before anything is read from its outbox.
fn gate(m: &Mailbox, p: Option<&Profile>, s: &OrgSettings) -> Result<()> {
    check_processable(m, p, s, Workload::Outgoing)?;
    if !m.enabled_for_outgoing {
        return Err(Error::validation("mailbox.outgoing.not_enabled").param("mailbox", &m.name));
    }
    Ok(())
}

/// One outgoing cycle of a mailbox: its due emails sent over one connection, each committed
/// Sending before it leaves. A mailbox that may not send leaves its emails Pending Send with the
/// reason, and the cycle fails with it.
pub async fn run_outgoing(engine: &Engine, id: MailboxId, max: u32) -> Result<OutgoingReport> {
    let span = tracing::info_span!("mailbox", mailbox = %id, cycle = "outgoing");
    async {
        let loaded = engine
            .read(move |c, _| {
                let mailbox = store::mailboxes::get(c, id)?;
                let profile = mailbox.profile_id.map(|p| store::profiles::get(c, p)).transpose()?;
                Ok((mailbox, profile, store::settings::get(c)?))
            })
            .await?;
        let (mailbox, profile, settings) = loaded;
        if let Err(e) = gate(&mailbox, profile.as_ref(), &settings) {
            return Err(stop(engine, id, None, e).await);
        }
        let profile = profile.ok_or_else(|| Error::validation("mailbox.profile.missing_or_inactive"))?;
        let ctx = Ctx { mailbox, profile, settings };
        let now = engine.inner.now();
        let (stale, due, waiting) = engine
            .read(move |c, _| {
                // A cycle runs under the mailbox's outgoing lease: no other run sends from it now,
                // so an email still Sending belongs to a run that died.
                Ok((
                    store::outbox::stale_sending(c, id, now)?,
                    store::outbox::due(c, id, now, max)?,
                    store::outbox::has_waiting_reason(c, id)?,
                ))
            })
            .await?;
        let mut report = OutgoingReport { mailbox_id: Some(id), ..Default::default() };
        if stale.is_empty() && due.is_empty() {
            if waiting {
                engine.write(move |tx, _| store::outbox::set_waiting_reason(tx, id, None)).await?;
            }
            return Ok(report);
        }
        let _permit = engine.connection_permit(ctx.profile.id).await?;
        // Emails left Sending by a run that died: already in the Sent folder, or to send again.
        let mut to_send: Vec<EmailActivity> = Vec::new();
        if !stale.is_empty() {
            let found = find_in_sent(engine, &ctx, &stale).await;
            for e in stale {
                match &found {
                    Ok(ids) if ids.contains(&e.id) => {
                        let eid = e.id;
                        engine
                            .write_with(Durability::Full, move |tx, ctx| {
                                store::outbox::finish(tx, eid, EmailStatus::Sent, None, ctx.now())
                            })
                            .await?;
                        report.found_sent += 1;
                    }
                    // Not in the Sent folder, or the folder cannot be asked: the message may
                    // have left before the crash (the copy is saved right after the server
                    // accepts it). It is sent again and counted as a possible duplicate.
                    Ok(_) | Err(_) => {
                        let eid = e.id;
                        engine.write(move |tx, _| store::outbox::mark_possible_duplicate(tx, eid)).await?;
                        report.possible_duplicates += 1;
                        to_send.push(e);
                    }
                }
            }
        }
        to_send.extend(due);
        send_all(engine, &ctx, to_send, &mut report).await?;
        engine.write(move |tx, _| store::outbox::set_waiting_reason(tx, id, None)).await?;
        tracing::info!(
            sent = report.sent,
            failed = report.failed,
            later = report.retried_later,
            "outgoing cycle ended"
        );
        Ok(report)
    }
    .instrument(span)
    .await
}

/// Whether a copy of each sent email goes to the mailbox's Sent folder (IMAP only).
fn saves_copies(ctx: &Ctx) -> bool {
    ctx.settings.save_sent_to_server && ctx.profile.server_type == ServerType::ImapSmtp
}

/// Which of `emails` the mailbox's Sent folder holds (by Message-ID). An error when the server
/// cannot be asked (POP3, no copies saved, no Sent folder, a connection failure).
async fn find_in_sent(engine: &Engine, ctx: &Ctx, emails: &[EmailActivity]) -> Result<Vec<ActivityId>> {
    if !saves_copies(ctx) {
        return Err(Error::validation("email.sent_folder.unavailable"));
    }
    let ep = endpoint(&ctx.profile, Direction::Incoming)?;
    let (login, _) = login(engine, &ctx.profile, Some(&ctx.mailbox), Direction::Incoming).await?;
    let mut session = protocol::imap::sign_in(&ep, &login, &mut Unobserved).await?;
    let folder = session.sent_folder().await?.ok_or_else(|| Error::validation("email.sent_folder.unavailable"))?;
    let mut found = Vec::new();
    for e in emails {
        if !e.message_id.is_empty() && session.has_message_id(&folder, &e.message_id).await? {
            found.push(e.id);
        }
    }
    let _ = session.logout().await;
    Ok(found)
}

/// Where a cycle's emails leave through: an SMTP connection (a new one after a failure closed
/// it), or Microsoft Graph's `sendMail` for Exchange Online.
enum Transport {
    Smtp {
        ep: protocol::Endpoint,
        login: protocol::Login,
        source: crate::remote::connect::CredentialSource,
        session: Option<Box<protocol::smtp::SmtpSession>>,
    },
    Graph {
        client: std::sync::Arc<protocol::graph::GraphClient>,
        /// Whether Exchange keeps a copy in Sent Items.
        save: bool,
    },
    Ews {
        client: std::sync::Arc<protocol::ews::EwsClient>,
        impersonate: bool,
        source: crate::remote::connect::CredentialSource,
        save: bool,
    },
}

impl Transport {
    async fn open(engine: &Engine, ctx: &Ctx) -> Result<Transport> {
        if ctx.profile.server_type == ServerType::ExchangeOnline {
            let client = crate::remote::connect::graph_client(engine, &ctx.profile).await.map_err(|e| name(e, ctx))?;
            return Ok(Transport::Graph { client, save: ctx.settings.save_sent_to_server });
        }
        if ctx.profile.server_type == ServerType::ExchangeServer {
            let (client, impersonate, source) = crate::remote::connect::ews_client(
                engine,
                &ctx.profile,
                Some(&ctx.mailbox),
                Direction::Outgoing,
                crate::remote::connect::Discovery::Cached,
                &mut Unobserved,
            )
            .await
            .map_err(|e| name(e, ctx))?;
            return Ok(Transport::Ews { client, impersonate, source, save: ctx.settings.save_sent_to_server });
        }
        let ep = endpoint(&ctx.profile, Direction::Outgoing)?;
        let (login, source) = login(engine, &ctx.profile, Some(&ctx.mailbox), Direction::Outgoing).await?;
        Ok(Transport::Smtp { ep, login, source, session: None })
    }

    /// Connects when there is no usable connection.
    async fn ready(&mut self, ctx: &Ctx) -> Result<()> {
        if let Transport::Smtp { ep, login, source, session } = self
            && session.as_ref().is_none_or(|s| !s.is_usable())
        {
            let s = protocol::smtp::connect(ep, login, &mut Unobserved)
                .await
                .map_err(|e| refused(e, login, *source, &ctx.profile))?;
            *session = Some(Box::new(s));
        }
        Ok(())
    }

    async fn send(&mut self, ctx: &Ctx, to: &[String], raw: &[u8]) -> Result<()> {
        match self {
            Transport::Smtp { session: Some(s), .. } => s.send_raw(&ctx.mailbox.email_address, to, raw).await.map(drop),
            Transport::Smtp { session: None, .. } => Err(Error::internal("sending without a connection")),
            Transport::Graph { client, save } => {
                let body = protocol::graph::send::send_mail_body(&graph_message(raw, to)?, *save);
                client.send_mail(ctx.mailbox.email_address.trim(), &body).await
            }
            Transport::Ews { client, impersonate, save, .. } => {
                let raw = with_bcc(raw, to);
                client.send(ctx.mailbox.email_address.trim(), *impersonate, &raw, *save).await
            }
        }
    }

    /// Whether the transport is still up after a failure (a lost SMTP connection is not).
    fn usable(&self) -> bool {
        match self {
            Transport::Smtp { session, .. } => session.as_ref().is_some_and(|s| s.is_usable()),
            Transport::Graph { .. } | Transport::Ews { .. } => true,
        }
    }

    /// A refusal of the mailbox's credentials, naming whose they are, without the secret.
    fn refused(&self, e: Error, ctx: &Ctx) -> Error {
        match self {
            Transport::Smtp { login, source, .. } => refused(e, login, *source, &ctx.profile),
            Transport::Graph { .. } => name(e, ctx),
            Transport::Ews { source, .. } => crate::remote::connect::name_credentials(e, *source, &ctx.profile),
        }
    }

    /// Whether Exchange itself saves the copy in Sent Items.
    fn saves_copy(&self) -> bool {
        matches!(self, Transport::Graph { save: true, .. } | Transport::Ews { save: true, .. })
    }

    async fn close(self) {
        if let Transport::Smtp { session: Some(s), .. } = self {
            let _ = s.quit().await;
        }
    }
}

fn name(e: Error, ctx: &Ctx) -> Error {
    crate::remote::connect::name_credentials(e, crate::remote::connect::CredentialSource::Profile, &ctx.profile)
}

/// The message with a Bcc header naming the envelope's recipients that are not in To or Cc:
/// Exchange sends a MIME message to the recipients its headers name, and keeps Bcc out of what
/// the others receive.
fn with_bcc(raw: &[u8], envelope: &[String]) -> Vec<u8> {
    let shown: Vec<String> = crate::sync::inbound::parse::parse(raw)
        .map(|p| p.to.iter().chain(&p.cc).map(|a| a.address.to_ascii_lowercase()).collect())
        .unwrap_or_default();
    let hidden: Vec<&str> =
        envelope.iter().map(|e| e.trim()).filter(|e| !shown.contains(&e.to_ascii_lowercase())).collect();
    if hidden.is_empty() {
        return raw.to_vec();
    }
    let mut out = format!("Bcc: {}\r\n", hidden.join(", ")).into_bytes();
    out.extend_from_slice(raw);
    out
}

/// The message ServerSync built, as Graph's `sendMail` takes it; `envelope` holds every recipient,
/// so those not in To or Cc are the Bcc.
fn graph_message(raw: &[u8], envelope: &[String]) -> Result<protocol::graph::send::OutgoingMessage> {
    use protocol::graph::send::{OutgoingAttachment, OutgoingMessage};
    let p = crate::sync::inbound::parse::parse(raw)?;
    if p.truncated {
        return Err(Error::new(crate::ErrorKind::Server, protocol::graph::code::TOO_LARGE)
            .param("size", raw.len())
            .param("max", protocol::graph::send::MAX_REQUEST_BYTES));
    }
    let listed = |l: &[crate::sync::inbound::parse::MailAddress]| -> Vec<String> {
        l.iter().map(|a| a.address.clone()).collect()
    };
    let (to, cc) = (listed(&p.to), listed(&p.cc));
    let bcc =
        envelope.iter().filter(|e| !to.iter().chain(&cc).any(|a| a.eq_ignore_ascii_case(e.trim()))).cloned().collect();
    let attachments = p
        .attachments
        .iter()
        .map(|a| OutgoingAttachment {
            name: a.file_name.clone(),
            content_type: a.mime_type.clone(),
            content_id: a.content_id.clone(),
            content: crate::sync::inbound::parse::attachment_content(raw, a.part_index).unwrap_or_default(),
        })
        .collect();
    Ok(OutgoingMessage {
        message_id: p.message_id.clone().map(|m| format!("<{m}>")).unwrap_or_default(),
        subject: p.subject,
        html: p.html,
        text: p.text,
        to,
        cc,
        bcc,
        in_reply_to: p.in_reply_to,
        references: p.references,
        attachments,
    })
}

/// Sends `emails` in order through the mailbox's transport.
async fn send_all(engine: &Engine, ctx: &Ctx, emails: Vec<EmailActivity>, report: &mut OutgoingReport) -> Result<()> {
    let mut transport = match Transport::open(engine, ctx).await {
        Ok(t) => t,
        Err(e) => return Err(stop(engine, ctx.mailbox.id, None, e).await),
    };
    // The Sent folder, opened at the first email sent: each copy is saved right after the server
    // accepts the message and before it is recorded Sent, so a crash in between is found again.
    let mut sent = SentCopies::new(saves_copies(ctx));
    let dir = engine.inner.store.messages_dir();
    // The end of the email sent last, not yet committed.
    let mut finished: Option<Finished> = None;
    // Each email's message and recipients are read while the one before it is being sent.
    let read = |id: ActivityId| {
        let (engine, dir) = (engine.clone(), dir.clone());
        tokio::spawn(async move {
            engine
                .read(move |c, _| {
                    let slice = store::activities::raw_slice(c, id)?;
                    Ok((store::messages::read(&dir, &slice)?, store::outbox::envelope_recipients(c, id)?))
                })
                .await
        })
    };
    let mut next = emails.first().map(|e| read(e.id));
    for (i, email) in emails.iter().enumerate() {
        let id = email.id;
        let Some(reading) = next.take() else { break };
        let (raw, to) = reading.await??;
        next = emails.get(i + 1).map(|e| read(e.id));
        if let Err(e) = transport.ready(ctx).await {
            // The mailbox cannot send at all: this email and the rest wait, with the reason.
            return Err(stop(engine, ctx.mailbox.id, finished.take(), e).await);
        }
        // Committed Sending before the message leaves: a crash from here on is found again. The
        // previous email's end is committed in the same transaction (one flush per email).
        let done = finished.take();
        let Some(attempts) = engine
            .write_with(Durability::Full, move |tx, c| {
                if let Some(f) = &done {
                    f.commit(tx, c.now())?;
                }
                store::outbox::mark_sending(tx, id, c.now())
            })
            .await?
        else {
            continue; // taken by another run, or no longer to send
        };
        let result = transport.send(ctx, &to, &raw).await;
        let outcome = match &result {
            Ok(_) => SendResult::Sent,
            Err(e) => classify(e),
        };
        let status = after_try(outcome, attempts);
        let reason: Option<(&'static str, BTreeMap<String, String>)> = match &result {
            Ok(_) => None,
            Err(_) if status == EmailStatus::Failed && outcome == SendResult::Transient => Some((
                "email.delivery_attempts_exhausted",
                BTreeMap::from([("attempts".to_owned(), attempts.to_string())]),
            )),
            Err(e) => Some((e.code(), e.params().clone())),
        };
        if status == EmailStatus::Sent && (transport.saves_copy() || sent.save(engine, ctx, &raw).await) {
            report.copied_to_sent += 1;
        }
        // The connection ended while the message was on its way: the server may have taken it
        // before the reply was lost. Sending it again may duplicate it; that is counted.
        if let Err(e) = &result
            && matches!(e.code(), failure::code::CONNECTION_LOST | failure::code::TIMEOUT)
            && status != EmailStatus::Failed
        {
            engine.write(move |tx, _| store::outbox::mark_possible_duplicate(tx, id)).await?;
            report.possible_duplicates += 1;
        }
        let end = Finished { id, status, reason };
        match status {
            EmailStatus::Sent => report.sent += 1,
            EmailStatus::Failed => report.failed += 1,
            _ => report.retried_later += 1,
        }
        // A passing failure that took the connection with it (lost, timed out, the server busy
        // and closing): the mailbox's cycle ends with it, as a transient failure retried with
        // back-off, and the emails not tried yet wait for that retry with the reason.
        if outcome == SendResult::Transient && !transport.usable() {
            let e = result.err().unwrap_or_else(|| Error::internal("a failed try without its error"));
            return Err(stop(engine, ctx.mailbox.id, Some(end), e).await);
        }
        // The mailbox itself cannot send (credentials, TLS): the rest wait for it to be fixed.
        if let (SendResult::MailboxLevel, Err(e)) = (outcome, result) {
            let e = transport.refused(e, ctx);
            return Err(stop(engine, ctx.mailbox.id, Some(end), e).await);
        }
        finished = Some(end);
    }
    if let Some(end) = finished.take() {
        engine.write_with(Durability::Full, move |tx, c| end.commit(tx, c.now())).await?;
    }
    transport.close().await;
    sent.close().await;
    Ok(())
}

/// Ends a cycle that cannot go on with `e`: the end of the email tried last is committed, and
/// the mailbox's emails still to send wait with its reason. Returns the error the cycle ends with.
async fn stop(engine: &Engine, mailbox: MailboxId, end: Option<Finished>, e: Error) -> Error {
    let (code, params) = (e.code(), e.params().clone());
    let written = engine
        .write_with(Durability::Full, move |tx, c| {
            if let Some(f) = &end {
                f.commit(tx, c.now())?;
            }
            store::outbox::set_waiting_reason(tx, mailbox, Some((code, &params)))
        })
        .await;
    match written {
        Ok(_) => e,
        Err(w) => w,
    }
}

/// How an email's try ended: committed with the next email's Sending mark, or at the cycle's end.
struct Finished {
    id: ActivityId,
    status: EmailStatus,
    reason: Option<(&'static str, BTreeMap<String, String>)>,
}

impl Finished {
    fn commit(&self, tx: &rusqlite::Transaction<'_>, now: crate::domain::Timestamp) -> Result<()> {
        store::outbox::finish(tx, self.id, self.status, self.reason.as_ref().map(|(code, p)| (*code, p)), now)
    }
}

/// The mailbox's Sent folder over IMAP, for the copies of the emails sent in one cycle.
enum SentCopies {
    Off,
    NotOpened,
    Open(Box<protocol::imap::ImapSession>, String),
}

impl SentCopies {
    fn new(on: bool) -> SentCopies {
        if on { SentCopies::NotOpened } else { SentCopies::Off }
    }

    /// Appends one sent message, marked read; false when it could not be saved (logged: the
    /// email is sent all the same; the folder is not tried again this cycle).
    async fn save(&mut self, engine: &Engine, ctx: &Ctx, raw: &[u8]) -> bool {
        if matches!(self, SentCopies::NotOpened) {
            *self = match open_sent(engine, ctx).await {
                Ok((s, folder)) => SentCopies::Open(Box::new(s), folder),
                Err(e) => {
                    tracing::warn!(
                        code = e.code(),
                        "the Sent folder could not be opened: sent email is not saved there"
                    );
                    SentCopies::Off
                }
            };
        }
        let SentCopies::Open(session, folder) = self else { return false };
        match session.append(folder, Some("(\\Seen)"), raw).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(code = e.code(), "a sent email could not be saved in the Sent folder");
                *self = SentCopies::Off;
                false
            }
        }
    }

    async fn close(self) {
        if let SentCopies::Open(session, _) = self {
            let _ = session.logout().await;
        }
    }
}

async fn open_sent(engine: &Engine, ctx: &Ctx) -> Result<(protocol::imap::ImapSession, String)> {
    let ep = endpoint(&ctx.profile, Direction::Incoming)?;
    let (login, _) = login(engine, &ctx.profile, Some(&ctx.mailbox), Direction::Incoming).await?;
    let mut session = protocol::imap::sign_in(&ep, &login, &mut Unobserved).await?;
    match session.sent_folder().await? {
        Some(folder) => Ok((session, folder)),
        None => {
            let _ = session.logout().await;
            Err(Error::validation("email.sent_folder.unavailable"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_composed_message_carries_its_id_threading_and_no_bcc() -> Result<()> {
        let c = Composed {
            from_name: "Nancy Anderson".into(),
            from_address: "nancy@contoso.com".into(),
            to: vec!["yui@fabrikam.com".into()],
            cc: vec!["sales@contoso.com".into()],
            message_id: "<abc@contoso.com>".into(),
            subject: "Réunion CRM:0001002".into(),
            body_text: "Bonjour".into(),
            body_html: String::new(),
            in_reply_to: Some("<parent@fabrikam.com>".into()),
            references: vec!["<root@fabrikam.com>".into(), "<parent@fabrikam.com>".into()],
            attachments: vec![NewAttachment {
                file_name: "devis.pdf".into(),
                mime_type: "application/pdf".into(),
                content: b"%PDF-1.4".to_vec(),
            }],
        };
        let raw = compose(&c)?;
        let p = crate::sync::inbound::parse::parse(&raw)?;
        assert_eq!(p.subject, "Réunion CRM:0001002");
        assert_eq!(p.message_id.as_deref(), Some("abc@contoso.com"));
        assert_eq!(p.in_reply_to, vec!["parent@fabrikam.com"]);
        assert_eq!(p.to.len() + p.cc.len(), 2);
        assert!(p.bcc.is_empty());
        assert_eq!(p.attachments.iter().map(|a| a.file_name.as_str()).collect::<Vec<_>>(), vec!["devis.pdf"]);
        assert_eq!(p.text.trim(), "Bonjour");
        Ok(())
    }

    #[test]
    fn send_failures_are_classified_for_the_email_the_mailbox_or_later() {
        let e = |code: &'static str| Error::new(crate::ErrorKind::Server, code);
        assert_eq!(classify(&e(failure::code::SERVER_REFUSED)), SendResult::RefusedForThisEmail);
        assert_eq!(classify(&e(failure::code::AUTH_FAILED_MAILBOX)), SendResult::MailboxLevel);
        assert_eq!(classify(&e(failure::code::TLS_UNTRUSTED)), SendResult::MailboxLevel);
        assert_eq!(classify(&e(failure::code::TIMEOUT)), SendResult::Transient);
        assert_eq!(classify(&e(failure::code::SERVER_BUSY)), SendResult::Transient);
        assert_eq!(classify(&e(failure::code::CONNECTION_LOST)), SendResult::Transient);
    }
}
