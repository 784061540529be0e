//! Wire protocols: the sessions the connection tests and the sync engine use.
//!
//! - [`imap`]: async-imap over our TCP/TLS stream, tapped so that errors quote the server's own
//!   status line and are classified on its response code ([`imap::reply`]); an
//!   [`imap::ImapSession`] selects, searches, fetches (streamed), stores flags, copies, moves,
//!   appends and IDLEs;
//! - [`pop3`]: our own client, with a pure response parser ([`pop3::parse`]) that is
//!   property-tested and fuzzed; a [`pop3::Pop3Session`] runs STAT, UIDL, LIST, RETR (streamed),
//!   DELE and QUIT;
//! - [`smtp`]: lettre's SMTP connection; an [`smtp::SmtpSession`] sends many messages, each with
//!   a Message-ID.
//!
//! Connecting reads the capabilities again once TLS is up, and no password is sent where the
//! server allows no sign-in without TLS. Every connection verifies the server's certificate
//! ([`tls`]) and bounds each operation by its [`policy`]: connect, command, a floor rate for
//! large transfers, IDLE renewal. Failures are engine errors with stable codes ([`failure`]),
//! permanent or transient. Connecting and signing in report their steps to an [`Observer`]:
//! Test Connection records them in [`Steps`]; sync passes [`Unobserved`].

pub mod ews;
pub mod failure;
pub mod graph;
pub mod imap;
pub mod net;
pub mod policy;
pub mod pop3;
pub mod smtp;
pub mod tls;

use crate::domain::rules::Workload;
use crate::secrets::Secret;
use crate::{Error, Result};
pub use net::{Endpoint, Security};
pub use policy::Timeouts;
use serde::Serialize;
use std::fmt;
use std::future::Future;
use std::time::Instant;

/// How a client proves who it is.
#[derive(Clone)]
pub enum Login {
    /// A user name and password (SASL PLAIN, or LOGIN where PLAIN is not offered).
    Password { user: String, password: Secret },
    /// A user name and an OAuth 2.0 access token (SASL XOAUTH2).
    OAuth2 { user: String, token: Secret },
    /// No sign-in (an SMTP relay that accepts the organisation's address without one).
    Anonymous,
}

impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Login::Password { user, .. } => write!(f, "Password({user}, <redacted>)"),
            Login::OAuth2 { user, .. } => write!(f, "OAuth2({user}, <redacted>)"),
            Login::Anonymous => f.write_str("Anonymous"),
        }
    }
}

impl Login {
    /// The SASL XOAUTH2 initial response (`user=…^Aauth=Bearer …^A^A`), not yet base64.
    pub fn xoauth2_response(user: &str, token: &Secret) -> zeroize::Zeroizing<String> {
        zeroize::Zeroizing::new(format!("user={user}\x01auth=Bearer {}\x01\x01", token.expose()))
    }

    /// `text` with the secret removed, in the forms it travelled in (as typed, and inside the
    /// base64 of a SASL response): a server's reply is shown and stored, and a hostile server
    /// could echo what it was sent.
    pub fn redact(&self, text: &str) -> String {
        let (secret, sasl) = match self {
            Login::Password { user, password } => (password, Login::plain_response(user, password)),
            Login::OAuth2 { user, token } => (token, Login::xoauth2_response(user, token)),
            Login::Anonymous => return text.to_owned(),
        };
        let mut out = text.to_owned();
        let b64 = sasl_base64(&sasl);
        for s in [b64.as_str(), secret.expose()] {
            if !s.is_empty() {
                out = out.replace(s, "<redacted>");
            }
        }
        out
    }

    /// Removes the secret from an error's parameters and detail.
    pub fn redact_error(&self, e: Error) -> Error {
        e.map_text(|t| self.redact(t))
    }

    /// Removes the secret from what the steps recorded.
    pub fn redact_steps(&self, steps: &mut Steps) {
        for s in &mut steps.list {
            s.info = self.redact(&s.info);
            s.error_detail = self.redact(&s.error_detail);
            for v in s.error_params.values_mut() {
                *v = self.redact(v);
            }
        }
    }

    /// The SASL PLAIN initial response (`\0user\0password`), not yet base64.
    pub fn plain_response(user: &str, password: &Secret) -> zeroize::Zeroizing<String> {
        zeroize::Zeroizing::new(format!("\0{user}\0{}", password.expose()))
    }
}

/// The base64 of a SASL response (for protocols that send it inline or as a continuation).
pub fn sasl_base64(raw: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(raw.as_bytes())
}

/// Which side of a profile a step tested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Incoming,
    Outgoing,
}

impl From<Workload> for Direction {
    fn from(w: Workload) -> Direction {
        match w {
            Workload::Outgoing => Direction::Outgoing,
            Workload::Incoming | Workload::Act => Direction::Incoming,
        }
    }
}

/// One step of a connection test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// Find the mailbox's server with Autodiscover (Exchange Server).
    Autodiscover,
    /// Look the host name up.
    Resolve,
    /// Open the TCP connection.
    Connect,
    /// Negotiate TLS and verify the server's certificate (implicit TLS, or after STARTTLS/STLS).
    Tls,
    /// Read the server's greeting and capabilities.
    Greeting,
    /// Ask the server to start TLS (STARTTLS / STLS).
    StartTls,
    /// Sign in.
    Authenticate,
    /// Open the Inbox and read its state.
    OpenInbox,
    /// Send the test message.
    SendTestMessage,
    /// Say goodbye.
    Logout,
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum StepOutcome {
    Success,
    Failure,
}

/// A step's record: what, how it ended, how long it took, and why it failed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Step {
    pub direction: Direction,
    pub kind: StepKind,
    pub outcome: StepOutcome,
    pub duration_ms: u32,
    /// What the step found (e.g. the greeting, the number of messages), never a secret.
    pub info: String,
    /// The failure's code; its words come from the catalogs with `error_params`.
    pub error_code: String,
    pub error_params: std::collections::BTreeMap<String, String>,
    /// The technical detail of the failure (the server's reply, the TLS alert).
    pub error_detail: String,
}

/// Who watches the steps of a connection: Test Connection records them ([`Steps`]); sync does
/// not ([`Unobserved`]). Only connecting and signing in report steps; a session's operations
/// are timed by whoever calls them.
pub trait Observer: Send {
    /// One step ended: its info when it worked, its error when it did not.
    fn record(&mut self, kind: StepKind, duration_ms: u32, outcome: std::result::Result<String, &Error>);
}

/// Records nothing (the step events still reach the debug log).
#[derive(Debug, Default)]
pub struct Unobserved;

impl Observer for Unobserved {
    fn record(&mut self, _: StepKind, _: u32, _: std::result::Result<String, &Error>) {}
}

/// Runs one step, reports its outcome and duration to `obs`.
pub async fn step<T>(obs: &mut dyn Observer, kind: StepKind, fut: impl Future<Output = Result<T>>) -> Result<T> {
    step_with(obs, kind, fut, |_| String::new()).await
}

/// Runs one step and reports what it found with `info`.
pub async fn step_with<T>(
    obs: &mut dyn Observer,
    kind: StepKind,
    fut: impl Future<Output = Result<T>>,
    info: impl FnOnce(&T) -> String,
) -> Result<T> {
    let started = Instant::now();
    let r = fut.await;
    let duration_ms = u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX);
    // The code only: a detail may quote a server that echoed a secret, and is redacted later.
    let code = r.as_ref().err().map(Error::code).unwrap_or_default();
    tracing::debug!(step = ?kind, ok = r.is_ok(), duration_ms, code, "step");
    obs.record(kind, duration_ms, r.as_ref().map(|v| failure::quote_reply(&info(v))));
    r
}

/// Reports a step that failed without running (a refusal decided before any I/O).
pub fn step_failed<T>(obs: &mut dyn Observer, kind: StepKind, e: Error) -> Result<T> {
    tracing::debug!(step = ?kind, ok = false, duration_ms = 0, code = e.code(), "step");
    obs.record(kind, 0, Err(&e));
    Err(e)
}

/// The steps of one connection test, in order.
#[derive(Debug)]
pub struct Steps {
    direction: Direction,
    pub list: Vec<Step>,
}

impl Observer for Steps {
    fn record(&mut self, kind: StepKind, duration_ms: u32, outcome: std::result::Result<String, &Error>) {
        let mut step = Step {
            direction: self.direction,
            kind,
            outcome: StepOutcome::Success,
            duration_ms,
            info: String::new(),
            error_code: String::new(),
            error_params: Default::default(),
            error_detail: String::new(),
        };
        match outcome {
            Ok(info) => step.info = info,
            Err(e) => {
                step.outcome = StepOutcome::Failure;
                step.error_code = e.code().to_owned();
                step.error_params = e.params().clone();
                step.error_detail = e.detail().unwrap_or_default().to_owned();
            }
        }
        self.list.push(step);
    }
}

impl Steps {
    pub fn new(direction: Direction) -> Steps {
        Steps { direction, list: Vec::new() }
    }

    /// Which side these steps test.
    pub fn direction(&self) -> Direction {
        self.direction
    }
}

/// Resolved addresses as a step shows them.
pub fn addresses(a: &[std::net::SocketAddr]) -> String {
    a.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

/// What an incoming test found in the Inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InboxState {
    pub messages: u32,
}

/// The incoming protocol of a POP3/IMAP profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncomingProtocol {
    Imap,
    Pop3,
}

/// Signs in to the incoming server and reads the Inbox's state.
pub async fn test_incoming(
    protocol: IncomingProtocol,
    ep: &Endpoint,
    login: &Login,
    obs: &mut dyn Observer,
) -> Result<InboxState> {
    match protocol {
        IncomingProtocol::Imap => imap::test(ep, login, obs).await,
        IncomingProtocol::Pop3 => pop3::test(ep, login, obs).await,
    }
}

/// The test message Test & Enable sends a mailbox from itself.
pub const TEST_MESSAGE_SUBJECT: &str = "Your mailbox is now connected to ServerSync";

/// Signs in to the outgoing server and sends the test message from `address` to itself (or
/// only signs in, when `address` is None: Test Connection of a profile).
pub async fn test_outgoing(ep: &Endpoint, login: &Login, address: Option<&str>, obs: &mut dyn Observer) -> Result<()> {
    smtp::test(ep, login, address, obs).await
}

/// The error for a profile type this build has no client for yet.
pub fn not_implemented(server_type: crate::domain::ServerType, w: Workload) -> Error {
    Error::validation("test.not_implemented").param("server_type", server_type).param("workload", w.code())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_echoed_by_a_server_is_removed_from_what_is_shown_and_stored() {
        let login = Login::Password { user: "alice".into(), password: Secret::new("s3cret-Pw") };
        let b64 = sasl_base64(&Login::plain_response("alice", &Secret::new("s3cret-Pw")));
        let e = failure::server_refused("h", &format!("-ERR bad PASS s3cret-Pw ({b64})")).with_detail("s3cret-Pw");
        let e = login.redact_error(e);
        let shown = format!("{:?} {:?}", e.params(), e.detail());
        assert!(!shown.contains("s3cret-Pw") && !shown.contains(&b64), "{shown}");
        assert!(shown.contains("<redacted>"));
        let token = Login::OAuth2 { user: "alice".into(), token: Secret::new("eyJ.tok.en") };
        assert_eq!(token.redact("NO token eyJ.tok.en refused"), "NO token <redacted> refused");
        assert_eq!(Login::Anonymous.redact("nothing"), "nothing");
    }
}
