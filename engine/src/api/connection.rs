//! The two tests built on a connection (`remote::connect`): Test Connection of a profile, and
//! the per-workload test of Test & Enable.

use crate::domain::rules::Workload;
use crate::domain::{Mailbox, Profile, ProfileId, ServerType, TestExecutionStatus};
use crate::protocol::{
    self, Direction, Endpoint, IncomingProtocol, Login, Observer, Step, StepOutcome, Steps, Unobserved,
};
use crate::remote::connect::{
    CredentialSource, Discovery, client_for, endpoint, ews_client, graph_client, login, name_credentials, refused,
};
use crate::store;
use crate::{Engine, Result};
use serde::Serialize;
use std::time::Instant;
use tracing::Instrument;

/// Tests one direction of a profile, step by step: for incoming, sign in and read the Inbox (or,
/// without `sign_in`, stop after the greeting); for outgoing, sign in where there is a login and
/// send the test message to `address` when there is one.
async fn test_direction(
    ep: &Endpoint,
    client: Option<IncomingProtocol>,
    login: &Login,
    sign_in: bool,
    address: Option<&str>,
    direction: Direction,
    obs: &mut dyn Observer,
) -> Result<()> {
    let span = tracing::info_span!("connection", host = %ep.host, port = ep.port, direction = ?direction);
    async {
        match client {
            Some(proto) if sign_in => protocol::test_incoming(proto, ep, login, obs).await.map(|_| ()),
            Some(IncomingProtocol::Imap) => protocol::imap::connect(ep, obs).await.map(|_| ()),
            Some(IncomingProtocol::Pop3) => protocol::pop3::connect(ep, obs).await.map(|_| ()),
            None => protocol::test_outgoing(ep, if sign_in { login } else { &Login::Anonymous }, address, obs).await,
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
    if p.server_type == ServerType::ExchangeOnline {
        let graph = graph_client(engine, p).await?;
        return graph.test(Some(m.email_address.trim()), direction, p.ca_file.trim(), &mut Unobserved).await.map_err(
            |e| name_credentials(e, CredentialSource::Profile, p).param("workload", w.code()).param("mailbox", &m.name),
        );
    }
    if p.server_type == ServerType::ExchangeServer {
        let (ews, impersonate, source) =
            ews_client(engine, p, Some(m), direction, Discovery::Fresh, &mut Unobserved).await.map_err(|e| {
                name_credentials(e, CredentialSource::Profile, p).param("workload", w.code()).param("mailbox", &m.name)
            })?;
        return ews
            .test(Some(m.email_address.trim()), impersonate, true, direction, p.ca_file.trim(), &mut Unobserved)
            .await
            .map_err(|e| name_credentials(e, source, p).param("workload", w.code()).param("mailbox", &m.name));
    }
    let client = client_for(p, direction)?;
    let ep = endpoint(p, direction)?;
    let (login, source) = login(engine, p, Some(m), direction).await?;
    let address = Some(m.email_address.trim());
    test_direction(&ep, client, &login, true, address, direction, &mut Unobserved)
        .await
        .map_err(|e| refused(e, &login, source, p).param("workload", w.code()).param("mailbox", &m.name))
}

/// The result of Test Connection on a profile.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ConnectionTest {
    pub profile: super::wire::Profile,
    pub steps: Vec<Step>,
    pub status: super::wire::TestExecutionStatus,
}

/// Test Connection: for the incoming and the outgoing side of a profile, resolves the host,
/// connects, negotiates TLS, reads the greeting and signs in with the profile's credentials
/// where it has some. Each step is recorded; the profile's test-result fields are updated.
pub async fn test_profile_connection(engine: &Engine, id: super::wire::ProfileId) -> Result<ConnectionTest> {
    let id = ProfileId::from(id);
    let p = engine.read(move |c, _| store::profiles::get(c, id)).await?;
    let started_on = engine.inner.now();
    let started = Instant::now();
    let mut all: Vec<Step> = Vec::new();
    // Whether the profile's own credentials were accepted: None when it has none to try.
    let mut signed_in = None::<bool>;
    for direction in [Direction::Incoming, Direction::Outgoing] {
        let mut steps = Steps::new(direction);
        if p.server_type.is_exchange() && direction == Direction::Outgoing {
            // One app signs in for both sides: its token was tested with the incoming side.
            continue;
        }
        let outcome: Result<bool> = async {
            if p.server_type == ServerType::ExchangeServer {
                let (ews, impersonate, source) =
                    ews_client(engine, &p, None, direction, Discovery::Fresh, &mut steps).await?;
                let sign_in = source != CredentialSource::None;
                let r = ews.test(None, impersonate, sign_in, direction, p.ca_file.trim(), &mut steps).await;
                return r.map(|()| sign_in).map_err(|e| {
                    let e = name_credentials(e, source, &p);
                    if let Some(step) = steps.list.iter_mut().rev().find(|s| s.outcome == StepOutcome::Failure) {
                        step.error_code = e.code().to_owned();
                        step.error_params = e.params().clone();
                    }
                    e
                });
            }
            if p.server_type == ServerType::ExchangeOnline {
                let graph = graph_client(engine, &p).await?;
                let r = graph.test(None, direction, p.ca_file.trim(), &mut steps).await;
                return r.map(|()| true).map_err(|e| {
                    let e = name_credentials(e, CredentialSource::Profile, &p);
                    if let Some(step) = steps.list.iter_mut().rev().find(|s| s.outcome == StepOutcome::Failure) {
                        step.error_code = e.code().to_owned();
                        step.error_params = e.params().clone();
                    }
                    e
                });
            }
            let client = client_for(&p, direction)?;
            let ep = endpoint(&p, direction)?;
            let (login, source) = login(engine, &p, None, direction).await?;
            let sign_in = source != CredentialSource::None;
            let r = test_direction(&ep, client, &login, sign_in, None, direction, &mut steps).await;
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
            let _ = protocol::step_failed::<()>(&mut steps, protocol::StepKind::Resolve, e.clone());
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
    Ok(ConnectionTest { profile: profile.into(), steps: all, status: status.into() })
}
