//! Connecting a profile or a mailbox to its servers: where (the profile's locations, ports, TLS
//! and timeout), as whom (the credentials the profile's mode names, read from the keychain only
//! now), and the two tests built on it — Test Connection of a profile, and the per-workload test
//! of Test & Enable.

use super::{mailboxes, profiles};
use crate::domain::rules::{ProfileSecretKind, Workload};
use crate::domain::{AuthProtocol, CredentialMode, Mailbox, Profile, ProfileId, ServerType, TestExecutionStatus};
use crate::protocol::{self, Direction, Endpoint, IncomingProtocol, Login, Security, Step, StepOutcome, Steps};
use crate::store;
use crate::{Engine, Error, Result};
use serde::Serialize;
use std::time::{Duration, Instant};
use tracing::Instrument;

/// The bound on every step when the profile's "Timeout mailbox connection" is off: the longest
/// timeout the form allows (ADR 0004), so that no test can hang.
const MAX_TIMEOUT: Duration = Duration::from_secs(100);

/// Where a profile's incoming or outgoing server is.
pub(crate) fn endpoint(p: &Profile, direction: Direction) -> Result<Endpoint> {
    let (location, port, ssl, mode) = match direction {
        Direction::Incoming => (&p.incoming_location, p.incoming_port, p.incoming_use_ssl, p.incoming_tls_mode),
        Direction::Outgoing => (&p.outgoing_location, p.outgoing_port, p.outgoing_use_ssl, p.outgoing_tls_mode),
    };
    let field = if direction == Direction::Incoming { "incoming_location" } else { "outgoing_location" };
    let host = location.trim();
    if host.is_empty() {
        return Err(Error::validation("field.required").param("field", field));
    }
    let security = match (ssl, mode) {
        (false, _) => Security::None,
        (true, Some(crate::domain::TlsMode::StartTls)) => Security::StartTls,
        (true, _) => Security::Implicit,
    };
    let incoming = direction == Direction::Incoming;
    let port =
        port.or_else(|| crate::domain::rules::default_port(p.server_type, incoming, ssl, mode)).ok_or_else(|| {
            Error::validation("field.required").param("field", if incoming { "incoming_port" } else { "outgoing_port" })
        })?;
    let timeout = if p.timeout_mailbox_connection {
        Duration::from_secs(u64::from(p.timeout_seconds.max(1))).min(MAX_TIMEOUT)
    } else {
        MAX_TIMEOUT
    };
    Ok(Endpoint { host: host.to_owned(), port, security, timeout, ca_file: p.ca_file.trim().to_owned() })
}

/// The client a direction of a profile needs, if this build has one: the incoming protocol, or
/// None for SMTP (outgoing).
fn client_for(p: &Profile, direction: Direction) -> Result<Option<IncomingProtocol>> {
    match (p.server_type, direction) {
        (ServerType::ImapSmtp, Direction::Incoming) => Ok(Some(IncomingProtocol::Imap)),
        (ServerType::Pop3Smtp, Direction::Incoming) => Ok(Some(IncomingProtocol::Pop3)),
        (ServerType::ImapSmtp | ServerType::Pop3Smtp, Direction::Outgoing) => Ok(None),
        (t, Direction::Incoming) => Err(protocol::not_implemented(t, Workload::Incoming)),
        (t, Direction::Outgoing) => Err(protocol::not_implemented(t, Workload::Outgoing)),
    }
}

/// Whether the credentials of this mode are an OAuth access token rather than a password.
fn uses_token(mode: CredentialMode, auth: AuthProtocol) -> bool {
    mode == CredentialMode::UserOauth || auth == AuthProtocol::Oauth
}

/// Where a sign-in's credentials come from, for messages: a wrong password is the mailbox's to
/// fix, or the profile's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CredentialSource {
    Mailbox,
    Profile,
    None,
}

/// The credentials for one direction, read from the keychain.
pub(crate) async fn login(
    engine: &Engine,
    p: &Profile,
    m: Option<&Mailbox>,
    direction: Direction,
) -> Result<(Login, CredentialSource)> {
    let outgoing = direction == Direction::Outgoing;
    let mode = if outgoing { p.effective_outgoing_mode() } else { p.incoming_credential_mode };
    let auth = if outgoing { p.outgoing_auth_protocol } else { p.incoming_auth_protocol };
    let (user, path, source) = match mode {
        CredentialMode::Anonymous => return Ok((Login::Anonymous, CredentialSource::None)),
        CredentialMode::UserOrQueue | CredentialMode::UserOauth => {
            let Some(m) = m else {
                // Test Connection of a profile whose mailboxes sign in themselves: nothing to
                // sign in with; the connection steps are still tested.
                return Ok((Login::Anonymous, CredentialSource::None));
            };
            let user = if m.user_name.trim().is_empty() { m.email_address.clone() } else { m.user_name.clone() };
            (user, mailboxes::secret_path(m.id), CredentialSource::Mailbox)
        }
        CredentialMode::Profile => {
            let separate = outgoing && !p.use_same_settings_for_outgoing;
            let (user, kind) = if separate {
                (p.outgoing_user_name.clone(), ProfileSecretKind::OutgoingPassword)
            } else {
                (p.incoming_user_name.clone(), ProfileSecretKind::IncomingPassword)
            };
            (user, profiles::secret_path(p.id, kind), CredentialSource::Profile)
        }
        _ => {
            return Err(protocol::not_implemented(
                p.server_type,
                if outgoing { Workload::Outgoing } else { Workload::Incoming },
            ));
        }
    };
    let workload = if outgoing { "outgoing" } else { "incoming" };
    let missing = || match (source, m) {
        (CredentialSource::Mailbox, Some(m)) => {
            Error::validation("mailbox.credentials.missing").param("workload", workload).param("mailbox", &m.name)
        }
        (_, Some(m)) => {
            Error::validation("profile.credentials.missing").param("workload", workload).param("mailbox", &m.name)
        }
        // Test Connection of a profile whose own password is not set yet.
        (_, None) => {
            Error::validation("profile.password.not_set").param("workload", workload).param("profile", &p.name)
        }
    };
    let secret = engine.get_secret(path).await?.filter(|s| !s.is_empty()).ok_or_else(missing)?;
    let login = if uses_token(mode, auth) {
        Login::OAuth2 { user, token: secret }
    } else {
        Login::Password { user, password: secret }
    };
    Ok((login, source))
}

/// Names the credentials that a server refused: the mailbox's or the profile's.
fn name_credentials(e: Error, source: CredentialSource, p: &Profile) -> Error {
    if !protocol::failure::is_auth_failure(&e) {
        return e;
    }
    let code = match source {
        CredentialSource::Mailbox => protocol::failure::code::AUTH_FAILED_MAILBOX,
        CredentialSource::Profile => protocol::failure::code::AUTH_FAILED_PROFILE,
        CredentialSource::None => return e,
    };
    e.recode(code).param("profile", &p.name)
}

/// A refused connection as it is reported: naming whose credentials were refused, and without
/// the secret, should the server have echoed it.
fn refused(e: Error, login: &Login, source: CredentialSource, p: &Profile) -> Error {
    login.redact_error(name_credentials(e, source, p))
}

/// Tests one direction of a profile, step by step: for incoming, sign in and read the Inbox (or,
/// without `sign_in`, stop after the greeting); for outgoing, sign in where there is a login and
/// send the test message to `address` when there is one.
async fn test_direction(
    ep: &Endpoint,
    client: Option<IncomingProtocol>,
    login: &Login,
    sign_in: bool,
    address: Option<&str>,
    steps: &mut Steps,
) -> Result<()> {
    let span = tracing::info_span!("connection", host = %ep.host, port = ep.port, direction = ?steps.direction());
    async {
        match client {
            Some(proto) if sign_in => protocol::test_incoming(proto, ep, login, steps).await.map(|_| ()),
            Some(IncomingProtocol::Imap) => protocol::imap::connect(ep, steps).await.map(|_| ()),
            Some(IncomingProtocol::Pop3) => protocol::pop3::connect(ep, steps).await.map(|_| ()),
            None => protocol::test_outgoing(ep, if sign_in { login } else { &Login::Anonymous }, address, steps).await,
        }
    }
    .instrument(span)
    .await
}

/// Tests one workload of a mailbox for Test & Enable: sign in and read the Inbox (incoming), or
/// send the test message to the mailbox itself (outgoing).
pub(crate) async fn test_workload(engine: &Engine, p: &Profile, m: &Mailbox, w: Workload) -> Result<()> {
    if w == Workload::Act {
        return Err(protocol::not_implemented(p.server_type, w));
    }
    let direction = Direction::from(w);
    let client = client_for(p, direction)?;
    let ep = endpoint(p, direction)?;
    let (login, source) = login(engine, p, Some(m), direction).await?;
    let mut steps = Steps::new(direction);
    test_direction(&ep, client, &login, true, Some(m.email_address.trim()), &mut steps).await.map_err(|e| {
        refused(e, &login, source, p).param("workload", protocol::workload_code(w)).param("mailbox", &m.name)
    })
}

/// The result of Test Connection on a profile.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ConnectionTest {
    pub profile: Profile,
    pub steps: Vec<Step>,
    pub status: TestExecutionStatus,
}

/// Test Connection: for the incoming and the outgoing side of a profile, resolves the host,
/// connects, negotiates TLS, reads the greeting and signs in with the profile's credentials
/// where it has some. Each step is recorded; the profile's test-result fields are updated.
pub async fn test_profile_connection(engine: &Engine, id: ProfileId) -> Result<ConnectionTest> {
    let p = engine.read(move |c, _| store::profiles::get(c, id)).await?;
    let started_on = engine.inner.now();
    let started = Instant::now();
    let mut all: Vec<Step> = Vec::new();
    // Whether the profile's own credentials were accepted: None when it has none to try.
    let mut signed_in = None::<bool>;
    for direction in [Direction::Incoming, Direction::Outgoing] {
        let mut steps = Steps::new(direction);
        let outcome: Result<bool> = async {
            let client = client_for(&p, direction)?;
            let ep = endpoint(&p, direction)?;
            let (login, source) = login(engine, &p, None, direction).await?;
            let sign_in = source != CredentialSource::None;
            let r = test_direction(&ep, client, &login, sign_in, None, &mut steps).await;
            login.redact_steps(&mut steps);
            r.map(|()| sign_in).map_err(|e| {
                let e = refused(e, &login, source, &p);
                // The step log keeps the same words as the error.
                if let Some(step) = steps.list.iter_mut().rev().find(|s| s.outcome == StepOutcome::Failure) {
                    step.error_code = e.code().to_owned();
                    step.error_params = e.params().clone();
                }
                e
            })
        }
        .await;
        if let Err(e) = &outcome
            && steps.list.last().is_none_or(|s| s.outcome != StepOutcome::Failure)
        {
            // A failure before any step (no location, no credentials): recorded as a step too.
            let _ = steps.fail::<()>(protocol::StepKind::Resolve, e.clone());
        }
        match &outcome {
            Ok(true) => signed_in = Some(signed_in.unwrap_or(true)),
            Err(e) if e.code() == protocol::failure::code::AUTH_FAILED_PROFILE => signed_in = Some(false),
            _ => {}
        }
        all.extend(steps.list);
    }
    let failed = all.iter().any(|s| s.outcome == StepOutcome::Failure);
    let status = if failed { TestExecutionStatus::Failure } else { TestExecutionStatus::Success };
    let duration = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let summary =
        all.iter().find(|s| s.outcome == StepOutcome::Failure).map(|s| s.error_code.clone()).unwrap_or_default();
    let profile = engine
        .write(move |tx, _| {
            let mut p = store::profiles::get(tx, id)?;
            p.last_test_started_on = Some(started_on);
            p.last_test_duration_ms = Some(duration);
            p.last_test_execution_status = Some(status);
            p.last_authorization_status = signed_in;
            p.last_test_message = summary;
            crate::store::profiles::update(tx, &p)?;
            Ok(p)
        })
        .await?;
    Ok(ConnectionTest { profile, steps: all, status })
}
