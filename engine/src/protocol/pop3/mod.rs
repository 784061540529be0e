//! POP3 (RFC 1939) with STLS (RFC 2595), CAPA and extended codes (RFC 2449) and SASL (RFC 5034):
//! PLAIN, XOAUTH2, or USER/PASS where the server offers no SASL. The wire format is parsed by
//! the pure functions of [`parse`].

pub mod parse;

use super::net::{Endpoint, MailStream, Security};
use super::policy::ByteCounter;
use super::{InboxState, Login, Observer, StepKind, failure, step, step_with};
use crate::{Error, Result};
use parse::{Capabilities, Indicator, RespCode, Status};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A POP3 connection: before signing in, the greeting and capabilities; after, the session's
/// operations (STAT, UIDL, LIST, RETR streamed, DELE, QUIT). Each command is bounded by the
/// connection's policy; RETR by the transfer floor rate.
#[derive(Debug)]
pub struct Pop3Session {
    stream: MailStream,
    buf: Vec<u8>,
    ep: Endpoint,
    bytes: ByteCounter,
}

/// The server's reply as it wrote it, for messages: `-ERR [CODE] text`.
fn reply_text(s: &Status) -> String {
    let indicator = match s.indicator {
        Indicator::Ok => "+OK",
        Indicator::Err => "-ERR",
        Indicator::Continue => "+",
    };
    let code = match &s.code {
        None => String::new(),
        Some(c) => format!(" [{}]", c.name()),
    };
    format!("{indicator}{code} {}", s.text).trim_end().to_owned()
}

impl Pop3Session {
    fn new(stream: MailStream, ep: &Endpoint) -> Pop3Session {
        Pop3Session { stream, buf: Vec::with_capacity(4096), ep: ep.clone(), bytes: ByteCounter::default() }
    }

    /// Reads what the server sent next into the buffer (in place: no buffer on the stack or in
    /// the future, which nests deep in a session's operations).
    async fn fill(&mut self) -> Result<()> {
        self.buf.reserve(16 * 1024);
        let n = self.stream.read_buf(&mut self.buf).await.map_err(|e| failure::io(&self.ep.host, self.ep.port, &e))?;
        if n == 0 {
            return Err(failure::connection_lost(&self.ep.host));
        }
        self.bytes.add(n);
        Ok(())
    }

    fn parse_error(&self, e: parse::ParseError) -> Error {
        failure::protocol(&self.ep.host, e)
    }

    /// Reads until `parse` finds a complete answer in the buffer, within the profile's timeout.
    async fn read_with<T>(&mut self, parse: fn(&[u8]) -> parse::Parsed<T>) -> Result<T> {
        let timeout = self.ep.clone();
        timeout
            .bounded(async {
                loop {
                    match parse(&self.buf).map_err(|e| self.parse_error(e))? {
                        Some((value, used)) => {
                            self.buf.drain(..used);
                            return Ok(value);
                        }
                        None => self.fill().await?,
                    }
                }
            })
            .await
    }

    /// Reads one status line.
    async fn read_status(&mut self) -> Result<Status> {
        self.read_with(parse::status).await
    }

    /// Reads the lines of a multi-line answer.
    async fn read_multiline(&mut self) -> Result<Vec<Vec<u8>>> {
        self.read_with(parse::multiline).await
    }

    async fn send(&mut self, line: &str) -> Result<()> {
        let ep = self.ep.clone();
        ep.bounded(async {
            let written: std::io::Result<()> = async {
                self.stream.write_all(line.as_bytes()).await?;
                self.stream.write_all(b"\r\n").await?;
                self.stream.flush().await
            }
            .await;
            written.map_err(|e| failure::io(&ep.host, ep.port, &e))
        })
        .await
    }

    /// Sends a command and reads its status line; `-ERR` becomes an error.
    async fn command(&mut self, line: &str) -> Result<Status> {
        self.send(line).await?;
        let s = self.read_status().await?;
        self.check(s)
    }

    fn check(&self, s: Status) -> Result<Status> {
        match s.indicator {
            Indicator::Ok | Indicator::Continue => Ok(s),
            Indicator::Err => Err(self.refusal(&s, false)),
        }
    }

    /// A `-ERR` as an engine error, classified on its RFC 2449/3206 code: [IN-USE],
    /// [LOGIN-DELAY] and [SYS/TEMP] are for later; [AUTH] (or, signing in, no code) is the
    /// credentials; anything else a refusal.
    fn refusal(&self, s: &Status, during_sign_in: bool) -> Error {
        let (host, text) = (&self.ep.host, reply_text(s));
        match &s.code {
            Some(c) if c.is_transient() => failure::server_busy(host, &text),
            Some(RespCode::Auth) => failure::auth_failed(host, &text),
            None if during_sign_in => failure::auth_failed(host, &text),
            _ => failure::server_refused(host, &text),
        }
    }

    /// The server's capabilities (an empty list when it does not know CAPA).
    async fn capabilities(&mut self) -> Result<Capabilities> {
        self.send("CAPA").await?;
        let s = self.read_status().await?;
        if s.indicator != Indicator::Ok {
            return Ok(Capabilities::default());
        }
        Ok(Capabilities::from_lines(&self.read_multiline().await?))
    }

    /// Signs in: SASL PLAIN where offered, else USER/PASS where offered (or where the server
    /// knows no CAPA, as RFC 1939 servers); XOAUTH2 for a token. A server whose capabilities
    /// allow neither before TLS gets no password.
    async fn authenticate(&mut self, login: &Login, caps: &Capabilities) -> Result<&'static str> {
        let host = self.ep.host.clone();
        let secured = self.stream.is_tls();
        let offers_user = caps.has("USER") || caps.0.is_empty();
        let status = match login {
            Login::OAuth2 { user, token } => {
                let r = Login::xoauth2_response(user, token);
                self.send(&format!("AUTH XOAUTH2 {}", super::sasl_base64(&r))).await?;
                let mut s = self.read_status().await?;
                if s.indicator == Indicator::Continue {
                    // The server's error details; an empty line ends the exchange.
                    self.send("").await?;
                    s = self.read_status().await?;
                }
                (s, "AUTH XOAUTH2")
            }
            Login::Password { user, password } if caps.has_sasl("PLAIN") => {
                let r = Login::plain_response(user, password);
                self.send(&format!("AUTH PLAIN {}", super::sasl_base64(&r))).await?;
                (self.read_status().await?, "AUTH PLAIN")
            }
            Login::Password { .. } if !offers_user && !secured => {
                return Err(failure::requires_tls(&host, "CAPA: neither USER nor SASL PLAIN"));
            }
            Login::Password { .. } if !offers_user => {
                let offered = caps.0.iter().find(|(k, _)| k == "SASL").map(|(_, a)| a.join(" ")).unwrap_or_default();
                return Err(failure::auth_unsupported(&host, &offered));
            }
            Login::Password { user, password } => {
                if user.contains(['\r', '\n']) || password.expose().contains(['\r', '\n']) {
                    return Err(failure::auth_failed(&host, "a line break in the user name or password"));
                }
                self.send(&format!("USER {user}")).await?;
                let s = self.read_status().await?;
                if s.indicator != Indicator::Ok {
                    return Err(self.refusal(&s, true));
                }
                let pass = zeroize::Zeroizing::new(format!("PASS {}", password.expose()));
                self.send(&pass).await?;
                (self.read_status().await?, "USER/PASS")
            }
            Login::Anonymous => return Err(failure::auth_unsupported(&host, "anonymous")),
        };
        match status {
            (s, mechanism) if s.indicator == Indicator::Ok => Ok(mechanism),
            (s, _) => Err(self.refusal(&s, true)),
        }
    }

    /// STAT: how many messages the maildrop holds, and their size.
    pub async fn stat(&mut self) -> Result<(u32, u64)> {
        let s = self.command("STAT").await?;
        parse::parse_stat(&s.text).map_err(|e| self.parse_error(e))
    }

    /// A multi-line listing command (UIDL, LIST): message numbers and values.
    async fn listing(&mut self, command: &str) -> Result<Vec<(u32, String)>> {
        self.command(command).await?;
        let lines = self.read_multiline().await?;
        lines.iter().map(|l| parse::parse_listing(l).map_err(|e| self.parse_error(e))).collect()
    }

    /// UIDL: each message's number and unique id (RFC 1939 §7).
    pub async fn uidl(&mut self) -> Result<Vec<(u32, String)>> {
        self.listing("UIDL").await
    }

    /// LIST: each message's number and size in octets.
    pub async fn list(&mut self) -> Result<Vec<(u32, u64)>> {
        let host = self.ep.host.clone();
        self.listing("LIST")
            .await?
            .into_iter()
            .map(|(n, v)| v.parse().map(|o| (n, o)).map_err(|_| failure::protocol(&host, format!("LIST {n} {v}"))))
            .collect()
    }

    /// RETR: message `n`, handed to `sink` piece by piece (unstuffed, CRLF line ends) as it
    /// arrives, so that a large message is never held whole. Bounded by the transfer floor.
    pub async fn retr(&mut self, n: u32, mut sink: impl FnMut(&[u8]) -> Result<()> + Send) -> Result<()> {
        self.command(&format!("RETR {n}")).await?;
        let (ep, counter) = (self.ep.clone(), self.bytes.clone());
        ep.bounded_transfer(&counter, async {
            loop {
                let chunk = parse::body_chunk(&self.buf).map_err(|e| self.parse_error(e))?;
                self.buf.drain(..chunk.used);
                if !chunk.bytes.is_empty() {
                    sink(&chunk.bytes)?;
                }
                if chunk.done {
                    return Ok(());
                }
                self.fill().await?;
            }
        })
        .await
    }

    /// DELE: marks message `n` for deletion when the session ends with QUIT.
    pub async fn dele(&mut self, n: u32) -> Result<()> {
        self.command(&format!("DELE {n}")).await.map(|_| ())
    }

    /// QUIT: ends the session; the server deletes what DELE marked (RFC 1939 §6).
    pub async fn quit(mut self) -> Result<()> {
        self.command("QUIT").await.map(|_| ())
    }
}

/// Connects, reads the greeting and capabilities, and starts TLS as the profile says; returns
/// the connection, ready to sign in, and the capabilities (read again once TLS is up).
pub async fn connect(ep: &Endpoint, obs: &mut dyn Observer) -> Result<(Pop3Session, Capabilities)> {
    let addrs = step_with(obs, StepKind::Resolve, ep.resolve(), |a| super::addresses(a)).await?;
    let tcp = step(obs, StepKind::Connect, ep.connect_tcp(&addrs)).await?;
    let stream = match ep.security {
        Security::Implicit => step(obs, StepKind::Tls, ep.start_tls(tcp)).await?,
        Security::StartTls | Security::None => MailStream::Plain(tcp),
    };
    let mut conn = Pop3Session::new(stream, ep);
    let mut caps = step_with(
        obs,
        StepKind::Greeting,
        async {
            let g = conn.read_status().await?;
            conn.check(g)?;
            conn.capabilities().await
        },
        |c| c.0.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(" "),
    )
    .await?;
    if ep.security == Security::StartTls {
        step(obs, StepKind::StartTls, async {
            conn.command("STLS").await.map_err(|e| match e.kind() {
                crate::ErrorKind::Server => failure::tls_not_offered(&ep.host),
                _ => e,
            })
        })
        .await?;
        if !conn.buf.is_empty() {
            // Bytes after the STLS answer, before TLS: a man in the middle's injection.
            return Err(failure::protocol(&ep.host, "data after the STLS answer"));
        }
        let Pop3Session { stream, .. } = conn;
        let secured = step(obs, StepKind::Tls, stream.upgrade(ep)).await?;
        conn = Pop3Session::new(secured, ep);
        // Capabilities may change once the connection is encrypted.
        caps = conn.capabilities().await?;
    }
    Ok((conn, caps))
}

/// Connects, starts TLS as the profile says, and signs in; the step's info names the mechanism.
pub async fn sign_in(ep: &Endpoint, login: &Login, obs: &mut dyn Observer) -> Result<Pop3Session> {
    let (mut conn, caps) = connect(ep, obs).await?;
    step_with(obs, StepKind::Authenticate, conn.authenticate(login, &caps), |m| (*m).to_owned()).await?;
    Ok(conn)
}

/// Signs in, reads the Inbox's message count (STAT), and quits.
pub async fn test(ep: &Endpoint, login: &Login, obs: &mut dyn Observer) -> Result<InboxState> {
    let mut conn = sign_in(ep, login, obs).await?;
    let (messages, _) =
        step_with(obs, StepKind::OpenInbox, conn.stat(), |(n, o)| format!("{n} messages, {o} octets")).await?;
    let _ = step(obs, StepKind::Logout, conn.quit()).await;
    Ok(InboxState { messages })
}
