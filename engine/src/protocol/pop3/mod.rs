//! POP3 (RFC 1939) with STLS (RFC 2595), CAPA and extended codes (RFC 2449) and SASL (RFC 5034):
//! PLAIN, XOAUTH2, or USER/PASS where the server offers no SASL. The wire format is parsed by
//! the pure functions of [`parse`].

pub mod parse;

use super::net::{Endpoint, MailStream, Security};
use super::{InboxState, Login, StepKind, Steps, failure};
use crate::{Error, Result};
use parse::{Capabilities, Indicator, Status};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A POP3 connection.
#[derive(Debug)]
pub struct Connection {
    stream: MailStream,
    buf: Vec<u8>,
    ep: Endpoint,
}

impl Connection {
    fn new(stream: MailStream, ep: &Endpoint) -> Connection {
        Connection { stream, buf: Vec::with_capacity(4096), ep: ep.clone() }
    }

    async fn fill(&mut self) -> Result<()> {
        let mut chunk = [0u8; 4096];
        let n = self.stream.read(&mut chunk).await.map_err(|e| failure::io(&self.ep.host, self.ep.port, &e))?;
        if n == 0 {
            return Err(failure::connection_lost(&self.ep.host));
        }
        self.buf.extend_from_slice(&chunk[..n]);
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
            Indicator::Err if s.code.as_ref().is_some_and(|c| c.is_transient()) => {
                Err(failure::server_busy(&self.ep.host, &s.text))
            }
            Indicator::Err => Err(failure::server_refused(&self.ep.host, &s.text)),
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

    /// Signs in; a `-ERR` to the credentials is "wrong credentials" unless the server says it is
    /// busy.
    async fn authenticate(&mut self, login: &Login, caps: &Capabilities) -> Result<()> {
        let host = self.ep.host.clone();
        let auth_err = |s: Status| -> Error {
            if s.code.as_ref().is_some_and(|c| c.is_transient()) {
                failure::server_busy(&host, &s.text)
            } else {
                failure::auth_failed(&host, &s.text)
            }
        };
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
                s
            }
            Login::Password { user, password } if caps.has_sasl("PLAIN") => {
                let r = Login::plain_response(user, password);
                self.send(&format!("AUTH PLAIN {}", super::sasl_base64(&r))).await?;
                self.read_status().await?
            }
            Login::Password { user, password } => {
                if user.contains(['\r', '\n']) || password.expose().contains(['\r', '\n']) {
                    return Err(failure::auth_failed(&host, "a line break in the user name or password"));
                }
                self.send(&format!("USER {user}")).await?;
                let s = self.read_status().await?;
                if s.indicator != Indicator::Ok {
                    return Err(auth_err(s));
                }
                let pass = zeroize::Zeroizing::new(format!("PASS {}", password.expose()));
                self.send(&pass).await?;
                self.read_status().await?
            }
            Login::Anonymous => return Err(failure::auth_unsupported(&host, "anonymous")),
        };
        match status.indicator {
            Indicator::Ok => Ok(()),
            _ => Err(auth_err(status)),
        }
    }
}

/// Connects, reads the greeting and capabilities, and starts TLS as the profile says; returns
/// the connection, ready to sign in, and the capabilities.
pub async fn connect(ep: &Endpoint, steps: &mut Steps) -> Result<(Connection, Capabilities)> {
    let addrs = steps.run_with(StepKind::Resolve, ep.resolve(), |a| super::addresses(a)).await?;
    let tcp = steps.run(StepKind::Connect, ep.connect_tcp(&addrs)).await?;
    let stream = match ep.security {
        Security::Implicit => steps.run(StepKind::Tls, ep.start_tls(tcp)).await?,
        Security::StartTls | Security::None => MailStream::Plain(tcp),
    };
    let mut conn = Connection::new(stream, ep);
    let mut caps = steps
        .run_with(
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
        steps
            .run(StepKind::StartTls, async {
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
        let Connection { stream, .. } = conn;
        let secured = steps.run(StepKind::Tls, stream.upgrade(ep)).await?;
        conn = Connection::new(secured, ep);
        // Capabilities may change once the connection is encrypted.
        caps = conn.capabilities().await?;
    }
    Ok((conn, caps))
}

/// Connects, starts TLS as the profile says, and signs in.
pub async fn sign_in(ep: &Endpoint, login: &Login, steps: &mut Steps) -> Result<Connection> {
    let (mut conn, caps) = connect(ep, steps).await?;
    steps.run(StepKind::Authenticate, conn.authenticate(login, &caps)).await?;
    Ok(conn)
}

/// Signs in, reads the Inbox's message count (STAT), and quits.
pub async fn test(ep: &Endpoint, login: &Login, steps: &mut Steps) -> Result<InboxState> {
    let mut conn = sign_in(ep, login, steps).await?;
    let host = ep.host.clone();
    let (messages, octets) = steps
        .run_with(
            StepKind::OpenInbox,
            async {
                let s = conn.command("STAT").await?;
                parse::parse_stat(&s.text).map_err(|e| failure::protocol(&host, e))
            },
            |(n, o)| format!("{n} messages, {o} octets"),
        )
        .await?;
    let _ = octets;
    let _ = steps.run(StepKind::Logout, conn.command("QUIT")).await;
    Ok(InboxState { messages })
}
