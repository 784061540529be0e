//! SMTP submission through lettre's connection, driven step by step so that each step is timed
//! and bounded: connect (and implicit TLS) with the greeting and EHLO, STARTTLS, AUTH, the test
//! message, QUIT. Certificates are verified by the platform verifier plus the profile's CA file
//! (lettre's rustls back end with the same rules as [`super::tls`]).

use super::net::{Endpoint, MailStream, Security};
use super::{Login, Observer, StepKind, TEST_MESSAGE_SUBJECT, failure, step, step_failed, step_with};
use crate::{Error, Result};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, Certificate, TlsParameters};
use lettre::transport::smtp::commands::{Data, Ehlo, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use lettre::transport::smtp::response::Response;
use lettre::{Address, Message, message::Mailbox};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Mutex, OnceLock};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

type SmtpError = lettre::transport::smtp::Error;
type SmtpResult<T> = std::result::Result<T, SmtpError>;

/// Command lines written as they are (several at once, pipelined).
struct Lines(String);

impl std::fmt::Display for Lines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An RFC 3463 enhanced status code (`5.7.8`) at the start of a reply's text.
fn enhanced(text: &str) -> Option<(u8, u16, u16)> {
    let word = text.split_ascii_whitespace().next()?;
    let mut it = word.split('.');
    let class = it.next()?.parse().ok()?;
    let subject = it.next()?.parse().ok()?;
    let detail = it.next()?.parse().ok()?;
    (it.next().is_none() && matches!(class, 2 | 4 | 5)).then_some((class, subject, detail))
}

/// What an SMTP refusal means, from its reply code and enhanced code (RFC 4954 §6, RFC 3207,
/// RFC 3463): a sign-in that needs TLS first, wrong credentials, "later", or a refusal.
pub fn meaning(code: u16, text: &str, during_auth: bool, secured: bool) -> failure::Meaning {
    use failure::Meaning as M;
    let e = enhanced(text);
    match (code, e) {
        // 5.7.11 "encryption required", or 530 5.7.0 "Must issue a STARTTLS command first".
        (_, Some((_, 7, 11))) => M::RequiresTls,
        (530, Some((5, 7, 0)) | None) if !secured => M::RequiresTls,
        (_, Some((4, _, _))) | (400..=499, _) => M::Busy,
        (_, Some((5, 7, 8))) | (535, _) => M::Credentials,
        (530 | 534 | 538, _) if during_auth => M::Credentials,
        _ => M::Refused,
    }
}

/// An SMTP error as an engine error, quoting the server's reply (its code and its lines, not
/// lettre's description of them).
fn smtp_error(ep: &Endpoint, e: &SmtpError, during_auth: bool, secured: bool) -> Error {
    if let Some(code) = e.status() {
        let n = u16::from(code);
        let text = std::error::Error::source(e).map(ToString::to_string).unwrap_or_default();
        let reply = format!("{n} {text}");
        return failure::refusal(meaning(n, &text, during_auth, secured), &ep.host, &reply);
    }
    if let Some(r) = failure::find_rustls(e) {
        return failure::tls(&ep.host, r);
    }
    if e.is_timeout() {
        return failure::timeout(&ep.host, ep.timeouts.command.as_secs());
    }
    if let Some(io) = failure::find_io(e) {
        return failure::io(&ep.host, ep.port, io);
    }
    if e.is_tls() {
        return Error::new(crate::ErrorKind::Server, failure::code::TLS_FAILED).param("host", &ep.host).with_detail(e);
    }
    failure::protocol(&ep.host, e)
}

/// lettre's TLS parameters for STARTTLS to a server: the platform verifier plus the profile's
/// CA file, as [`super::tls`] does for IMAP and POP3. Built once per host and CA file version:
/// building them loads the OS trust store, which costs milliseconds per connection. The cached
/// parameters share a session store, so a later STARTTLS resumes the TLS session; this is fast
/// because the socket is ours and sets TCP_NODELAY ([`connect`]), so the resumed handshake's
/// small writes do not wait on delayed ACKs.
fn tls_parameters(ep: &Endpoint) -> Result<TlsParameters> {
    type Key = (String, super::tls::CaVersion);
    static CACHE: OnceLock<Mutex<HashMap<Key, TlsParameters>>> = OnceLock::new();
    let key = (ep.host.clone(), super::tls::ca_version(&ep.ca_file)?);
    let cache = CACHE.get_or_init(Default::default);
    if let Some(p) = cache.lock().map_err(Error::internal)?.get(&key) {
        return Ok(p.clone());
    }
    super::tls::provider();
    let mut b = TlsParameters::builder(ep.host.clone());
    if !ep.ca_file.is_empty() {
        for der in super::tls::read_ca_file(&ep.ca_file)? {
            let cert = Certificate::from_der(der.to_vec()).map_err(|e| failure::ca_file(&ep.ca_file).with_detail(e))?;
            b = b.add_root_certificate(cert);
        }
    }
    let params = b.build_rustls().map_err(|e| failure::ca_file(&ep.ca_file).with_detail(e))?;
    cache.lock().map_err(Error::internal)?.insert(key, params.clone());
    Ok(params)
}

/// Our own connection (TCP_NODELAY set, implicit TLS negotiated by [`super::tls`]) handed to
/// lettre, which then speaks SMTP over it and upgrades it for STARTTLS.
#[derive(Debug)]
struct Transport {
    stream: MailStream,
    peer: SocketAddr,
}

impl AsyncTokioStream for Transport {
    fn peer_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.peer)
    }
}

impl AsyncRead for Transport {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Transport {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// The EHLO name: this machine's name where it is a valid domain, else a literal.
fn hello_name() -> ClientId {
    ClientId::default()
}

/// A new, globally unique Message-ID in the sender's domain (`<uuid@domain>`): every message
/// ServerSync sends carries one, so a reply's In-Reply-To finds it and a resend can be recognised.
pub fn new_message_id(domain: &str) -> String {
    let domain = domain.trim().trim_start_matches('[').trim_end_matches(']');
    let domain = if domain.is_empty() { "serversync.invalid" } else { domain };
    format!("<{}@{domain}>", uuid::Uuid::new_v4().simple())
}

/// The test message, from the mailbox to itself.
fn test_message(address: &str, host: &str) -> Result<Message> {
    let addr: Address = address
        .parse()
        .map_err(|_| Error::validation("field.not_an_email").param("field", "email_address").param("value", address))?;
    let message_id = new_message_id(addr.domain());
    let me = Mailbox::new(Some("ServerSync".to_owned()), addr);
    Message::builder()
        .message_id(Some(message_id))
        .from(me.clone())
        .to(me)
        .subject(TEST_MESSAGE_SUBJECT)
        .header(lettre::message::header::ContentType::TEXT_PLAIN)
        .body(format!(
            "{TEST_MESSAGE_SUBJECT}.\r\n\r\nThis message was sent by Test & Enable Mailboxes through {host} to check that \
             the mailbox can send email. It needs no answer.\r\n"
        ))
        .map_err(|e| failure::protocol(host, e))
}

/// The SASL mechanisms this client can use that the server offers, for messages.
fn offered(conn: &AsyncSmtpConnection) -> String {
    let all = [(Mechanism::Plain, "PLAIN"), (Mechanism::Login, "LOGIN"), (Mechanism::Xoauth2, "XOAUTH2")];
    let names: Vec<_> =
        all.iter().filter(|(m, _)| conn.server_info().supports_auth_mechanism(*m)).map(|(_, n)| *n).collect();
    if names.is_empty() { "none".to_owned() } else { names.join(" ") }
}

/// A submission connection, signed in, that sends many messages one after the other. Each
/// message is bounded by its size at the transfer floor rate.
pub struct SmtpSession {
    conn: AsyncSmtpConnection,
    ep: Endpoint,
    /// Whether the connection is encrypted (by implicit TLS or STARTTLS).
    secured: bool,
    /// The server takes MAIL, RCPT and DATA written together (PIPELINING, RFC 2920).
    pipelining: bool,
    /// The connection can no longer be trusted to be in step with the server (a network error or
    /// a timeout mid-command, or a transaction that had to be left inside DATA).
    poisoned: bool,
}

impl std::fmt::Debug for SmtpSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SmtpSession({:?})", self.ep)
    }
}

/// Connects (greeting and EHLO), starts TLS as the profile says, and signs in (unless
/// anonymous). A server that offers a sign-in only after STARTTLS, on a connection the profile
/// keeps plain, gets its own code and no password.
pub async fn connect(ep: &Endpoint, login: &Login, obs: &mut dyn Observer) -> Result<SmtpSession> {
    let addrs = step_with(obs, StepKind::Resolve, ep.resolve(), |a| super::addresses(a)).await?;
    let hello = hello_name();
    let mut conn = step_with(
        obs,
        StepKind::Connect,
        ep.bounded_connect(async {
            let tcp = ep.connect_tcp(&addrs).await?;
            let peer = tcp.peer_addr().map_err(|e| failure::io(&ep.host, ep.port, &e))?;
            let stream = match ep.security {
                Security::Implicit => ep.start_tls(tcp).await?,
                Security::StartTls | Security::None => MailStream::Plain(tcp),
            };
            let secured = stream.is_tls();
            let transport = Box::new(Transport { stream, peer });
            AsyncSmtpConnection::connect_with_transport(transport, &hello)
                .await
                .map_err(|e| smtp_error(ep, &e, false, secured))
        }),
        |c| c.server_info().name().to_owned(),
    )
    .await?;
    if ep.security == Security::StartTls {
        if !conn.can_starttls() {
            return step_failed(obs, StepKind::StartTls, failure::tls_not_offered(&ep.host));
        }
        let params = tls_parameters(ep)?;
        step(
            obs,
            StepKind::StartTls,
            ep.bounded_connect(async {
                conn.starttls(params, &hello).await.map_err(|e| smtp_error(ep, &e, false, false))
            }),
        )
        .await?;
    }
    // lettre sees implicit TLS as a plain stream (the TLS is ours): ask the endpoint.
    let secured = ep.security == Security::Implicit || conn.is_encrypted();
    // lettre keeps only the extensions it knows from EHLO; PIPELINING is read from a second EHLO
    // (before AUTH, where a client may repeat it), one round trip per connection.
    let pipelining = ep
        .bounded(async { conn.command(Ehlo::new(hello.clone())).await.map_err(|e| smtp_error(ep, &e, false, secured)) })
        .await?
        .message()
        .any(|line| line.trim().eq_ignore_ascii_case("PIPELINING"));
    let (creds, mechanisms) = match login {
        Login::Password { user, password } => (
            Some(Credentials::new(user.clone(), password.expose().to_owned())),
            vec![Mechanism::Plain, Mechanism::Login],
        ),
        Login::OAuth2 { user, token } => {
            (Some(Credentials::new(user.clone(), token.expose().to_owned())), vec![Mechanism::Xoauth2])
        }
        Login::Anonymous => (None, Vec::new()),
    };
    if let Some(creds) = creds {
        step_with(
            obs,
            StepKind::Authenticate,
            ep.bounded(async {
                let Some(m) = conn.server_info().get_auth_mechanism(&mechanisms) else {
                    let offers_any = [Mechanism::Plain, Mechanism::Login, Mechanism::Xoauth2]
                        .iter()
                        .any(|m| conn.server_info().supports_auth_mechanism(*m));
                    if !secured && !offers_any && conn.can_starttls() {
                        return Err(failure::requires_tls(&ep.host, "EHLO: STARTTLS, no AUTH"));
                    }
                    return Err(failure::auth_unsupported(&ep.host, &offered(&conn)));
                };
                conn.auth(&[m], &creds).await.map_err(|e| smtp_error(ep, &e, true, secured))?;
                Ok(m)
            }),
            |m| format!("AUTH {m}"),
        )
        .await?;
    }
    Ok(SmtpSession { conn, ep: ep.clone(), secured, pipelining, poisoned: false })
}

impl SmtpSession {
    /// Sends one message. It must carry a Message-ID: every message ServerSync sends does, so
    /// that a reply finds it and a resend is recognised. Returns the server's reply (the queue
    /// id, for most servers). After a failure the connection is closed ([`Self::is_usable`]).
    pub async fn send(&mut self, message: &Message) -> Result<String> {
        if message.headers().get_raw("Message-ID").is_none_or(str::is_empty) {
            return Err(Error::internal("a message without a Message-ID"));
        }
        let envelope = message.envelope().clone();
        let bytes = message.formatted();
        let bound = self.ep.timeouts.transfer(bytes.len() as u64);
        let (ep, secured) = (&self.ep, self.secured);
        match tokio::time::timeout(bound, self.conn.send(&envelope, &bytes)).await {
            Ok(Ok(r)) => Ok(r.message().collect::<Vec<_>>().join(" ")),
            Ok(Err(e)) => Err(smtp_error(ep, &e, false, secured)),
            Err(_) => Err(failure::timeout(&ep.host, bound.as_secs())),
        }
    }

    /// Sends a message already built (its bytes as stored, headers included) from `from` to
    /// `to`, which need not appear in its headers (Bcc). Bounded like [`Self::send`].
    pub async fn send_raw(&mut self, from: &str, to: &[String], bytes: &[u8]) -> Result<String> {
        let bad = |a: &str| Error::validation("field.not_an_email").param("field", "email_address").param("value", a);
        let from: Address = from.trim().parse().map_err(|_| bad(from))?;
        let to: Vec<Address> = to.iter().map(|a| a.trim().parse().map_err(|_| bad(a))).collect::<Result<_>>()?;
        let envelope =
            lettre::address::Envelope::new(Some(from), to).map_err(|e| failure::protocol(&self.ep.host, e))?;
        let bound = self.ep.timeouts.transfer(bytes.len() as u64);
        let done = tokio::time::timeout(bound, self.transaction(&envelope, bytes)).await;
        let (ep, secured) = (&self.ep, self.secured);
        match done {
            Ok(Ok(r)) => Ok(r.message().collect::<Vec<_>>().join(" ")),
            Ok(Err(e)) => Err(smtp_error(ep, &e, false, secured)),
            Err(_) => {
                // Stopped mid-command: where the server stands is unknown.
                self.poisoned = true;
                Err(failure::timeout(&ep.host, bound.as_secs()))
            }
        }
    }

    /// One mail transaction. With PIPELINING, MAIL, every RCPT and DATA go in one write and
    /// their replies are read after it (one round trip instead of two plus one per recipient);
    /// otherwise, and for what needs SMTPUTF8, lettre sends it command by command.
    async fn transaction(&mut self, envelope: &lettre::address::Envelope, email: &[u8]) -> SmtpResult<Response> {
        let ascii_addresses = envelope.from().is_none_or(|a| AsRef::<str>::as_ref(a).is_ascii())
            && envelope.to().iter().all(|a| AsRef::<str>::as_ref(a).is_ascii());
        let eight_bit = !email.is_ascii();
        if !self.pipelining
            || !ascii_addresses
            || (eight_bit && !self.conn.server_info().supports_feature(Extension::EightBitMime))
        {
            return self.conn.send(envelope, email).await;
        }
        let parameters = if eight_bit { vec![MailParameter::Body(MailBodyParameter::EightBitMime)] } else { vec![] };
        let mut lines = Mail::new(envelope.from().cloned(), parameters).to_string();
        for to in envelope.to() {
            lines.push_str(&Rcpt::new(to.clone(), vec![]).to_string());
        }
        lines.push_str(&Data.to_string());
        // A reply that is a refusal keeps the connection in step; anything else does not.
        let mut refused: Option<SmtpError> = None;
        let mut note = |r: SmtpResult<Response>, poisoned: &mut bool| -> SmtpResult<()> {
            match r {
                Ok(_) => Ok(()),
                Err(e) if e.status().is_some() => {
                    refused.get_or_insert(e);
                    Ok(())
                }
                Err(e) => {
                    *poisoned = true;
                    Err(e)
                }
            }
        };
        note(self.conn.command(Lines(lines)).await, &mut self.poisoned)?;
        for _ in envelope.to() {
            note(self.conn.read_response().await, &mut self.poisoned)?;
        }
        let data = self.conn.read_response().await;
        if data.as_ref().is_err_and(|e| e.status().is_none()) {
            self.poisoned = true;
            return data;
        }
        match (data, refused) {
            (Ok(_), None) => {
                let end = self.conn.message(email).await;
                if end.as_ref().is_err_and(|e| e.status().is_none()) {
                    self.poisoned = true;
                }
                end
            }
            // The sender or a recipient was refused but DATA was taken: the message must not go
            // to the others, and the only way out of DATA unsent is to close the connection.
            (Ok(_), Some(e)) => {
                self.poisoned = true;
                Err(e)
            }
            (Err(data), refused) => {
                if self.conn.command(Rset).await.is_err() {
                    self.poisoned = true;
                }
                Err(refused.unwrap_or(data))
            }
        }
    }

    /// Whether the connection can send another message (it closes itself after a failure).
    pub fn is_usable(&self) -> bool {
        !self.conn.has_broken() && !self.poisoned
    }

    /// Says goodbye.
    pub async fn quit(mut self) -> Result<()> {
        let (ep, secured) = (self.ep.clone(), self.secured);
        ep.bounded(async { self.conn.quit().await.map(|_| ()).map_err(|e| smtp_error(&ep, &e, false, secured)) }).await
    }
}

/// Connects, starts TLS, signs in and (when `address` is given) sends the test message to it.
pub async fn test(ep: &Endpoint, login: &Login, address: Option<&str>, obs: &mut dyn Observer) -> Result<()> {
    let message = address.map(|a| test_message(a, &ep.host)).transpose()?;
    let mut session = connect(ep, login, obs).await?;
    if let Some(m) = message {
        step_with(obs, StepKind::SendTestMessage, session.send(&m), Clone::clone).await?;
    }
    let _ = step(obs, StepKind::Logout, session.quit()).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_refusals_are_classified_by_their_codes() {
        use failure::Meaning as M;
        // code, text, during AUTH, on TLS → meaning
        let table = [
            (530, "5.7.0 Must issue a STARTTLS command first", false, false, M::RequiresTls),
            (530, "5.7.0 Authentication required", true, true, M::Credentials),
            (538, "5.7.11 Encryption required for requested authentication mechanism", true, false, M::RequiresTls),
            (535, "5.7.8 Error: authentication failed: authentication failure", true, true, M::Credentials),
            (454, "4.7.0 Temporary authentication failure", true, true, M::Busy),
            (421, "Service not available", false, true, M::Busy),
            (550, "5.1.1 <x@y>: Recipient address rejected", false, true, M::Refused),
            (554, "5.7.1 Relay access denied", false, true, M::Refused),
        ];
        for (code, text, auth, secured, expected) in table {
            assert_eq!(meaning(code, text, auth, secured), expected, "{code} {text}");
        }
        assert_eq!(enhanced("5.7.8 Error"), Some((5, 7, 8)));
        assert_eq!(enhanced("Error 5.7.8"), None);
        assert_eq!(enhanced("3.1.1 no"), None);
    }

    #[test]
    fn the_test_message_carries_a_message_id_in_the_senders_domain() {
        let m = test_message("alice@contoso.com", "smtp.contoso.com").unwrap_or_else(|e| panic!("{e}"));
        let raw = String::from_utf8_lossy(&m.formatted()).into_owned();
        let line = raw.lines().find(|l| l.to_ascii_lowercase().starts_with("message-id:")).unwrap_or_default();
        assert!(line.ends_with("@contoso.com>"), "{raw}");
        let other = test_message("alice@contoso.com", "smtp.contoso.com").unwrap_or_else(|e| panic!("{e}"));
        let other = String::from_utf8_lossy(&other.formatted()).into_owned();
        assert!(!other.contains(line), "two messages shared a Message-ID");
    }
}
