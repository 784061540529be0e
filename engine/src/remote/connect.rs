//! From a profile (and a mailbox) to a server connection: where (the profile's locations, ports,
//! TLS and timeout) and as whom (the credentials the profile's mode names, read from the keychain
//! only now). Shared by `api` (Test Connection, Test & Enable) and the sync engine to come, so
//! neither has to go through the other.

use crate::domain::rules::{ProfileSecretKind, Workload};
use crate::domain::{
    AuthProtocol, CredentialMode, Mailbox, OauthCredentialKind, Profile, ProfileId, ServerType, Timestamp,
};
use crate::protocol::{self, Direction, Endpoint, IncomingProtocol, Login, Security, ews, graph};
use crate::{Engine, Error, Result};
use std::time::Duration;

/// The bound on every step when the profile's "Timeout mailbox connection" is off: the longest
/// timeout the form allows (ADR 0004), so that no test can hang.
const MAX_TIMEOUT: Duration = Duration::from_secs(100);

/// Where a profile's incoming or outgoing server is.
pub fn endpoint(p: &Profile, direction: Direction) -> Result<Endpoint> {
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
    let timeouts = protocol::Timeouts::from_profile(timeout);
    Ok(Endpoint { host: host.to_owned(), port, security, timeouts, ca_file: p.ca_file.trim().to_owned() })
}

/// The client a direction of a profile needs, if this build has one: the incoming protocol, or
/// None for SMTP (outgoing).
pub fn client_for(p: &Profile, direction: Direction) -> Result<Option<IncomingProtocol>> {
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
pub enum CredentialSource {
    Mailbox,
    Profile,
    None,
}

/// The credentials for one direction, read from the keychain.
pub async fn login(
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
            (user, crate::secrets::paths::mailbox_password(m.id), CredentialSource::Mailbox)
        }
        CredentialMode::Profile => {
            let separate = outgoing && !p.use_same_settings_for_outgoing;
            let (user, kind) = if separate {
                (p.outgoing_user_name.clone(), ProfileSecretKind::OutgoingPassword)
            } else {
                (p.incoming_user_name.clone(), ProfileSecretKind::IncomingPassword)
            };
            (user, crate::secrets::paths::profile_secret(p.id, kind), CredentialSource::Profile)
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
pub fn name_credentials(e: Error, source: CredentialSource, p: &Profile) -> Error {
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
pub fn refused(e: Error, login: &Login, source: CredentialSource, p: &Profile) -> Error {
    login.redact_error(name_credentials(e, source, p))
}

/// The Graph client of an Exchange Online profile: the cached one while the profile's settings and
/// its app's secret are unchanged (it keeps the token and the connections), else a new one. For an
/// Exchange Server profile with Hybrid Modern Auth, the same client gets tokens for the server.
pub async fn graph_client(engine: &Engine, p: &Profile) -> Result<std::sync::Arc<graph::GraphClient>> {
    use sha2::{Digest, Sha256};
    let path = crate::secrets::paths::profile_secret(p.id, ProfileSecretKind::OauthSecret);
    let secret = engine.get_secret(path).await?.filter(|s| !s.is_empty()).ok_or_else(|| {
        Error::validation("profile.password.not_set").param("workload", "incoming").param("profile", &p.name)
    })?;
    let certificate = p.oauth_credential_kind == Some(OauthCredentialKind::Certificate);
    let mut h = Sha256::new();
    for part in [
        p.tenant_id.as_str(),
        p.oauth_client_id.as_str(),
        &format!("{:?}/{certificate}/{}", p.server_authority, p.timeout_seconds),
        p.authority_host.as_str(),
        p.graph_endpoint.as_str(),
        p.aad_resource_id.as_str(),
        p.ca_file.as_str(),
        secret.expose(),
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let fingerprint: [u8; 32] = h.finalize().into();
    let lock = || engine.inner.graph_clients.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((f, c)) = lock().get(&p.id)
        && *f == fingerprint
    {
        return Ok(c.clone());
    }
    let cloud = if p.server_type == ServerType::ExchangeServer {
        graph::Cloud::for_resource(p.server_authority, &p.authority_host, &p.aad_resource_id)?
    } else {
        graph::Cloud::of(p.server_authority, &p.authority_host, &p.graph_endpoint)?
    };
    let credential =
        if certificate { graph::Credential::Certificate(secret) } else { graph::Credential::Secret(secret) };
    let app = graph::App { tenant: p.tenant_id.clone(), client_id: p.oauth_client_id.clone(), credential };
    let timeout = if p.timeout_mailbox_connection {
        Duration::from_secs(u64::from(p.timeout_seconds.max(1))).min(MAX_TIMEOUT)
    } else {
        MAX_TIMEOUT
    };
    let client = std::sync::Arc::new(graph::GraphClient::new(cloud, app, p.ca_file.trim(), timeout)?);
    lock().insert(p.id, (fingerprint, client.clone()));
    Ok(client)
}

/// How long the EWS URL that Autodiscover found for a mailbox is used before it is asked again
/// (Autodiscover answers rarely change; a failed cycle forgets the URL sooner).
pub const AUTODISCOVER_TTL: Duration = Duration::from_secs(24 * 3600);

/// The EWS URLs Autodiscover found: (profile, lower-cased address) → (the profile's
/// `modified_on` then, when, the URL).
pub(crate) type DiscoveredUrls =
    std::sync::Mutex<std::collections::HashMap<(ProfileId, String), (Timestamp, std::time::Instant, String)>>;

/// Whether an EWS client may use the URL Autodiscover found earlier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discovery {
    /// Test Connection and Test & Enable: Autodiscover runs (and its answer is kept).
    Fresh,
    /// Synchronization: the URL found earlier for the mailbox, while the profile is unchanged and
    /// for at most [`AUTODISCOVER_TTL`].
    Cached,
}

fn discovery_key(p: &Profile, address: &str) -> (ProfileId, String) {
    (p.id, address.trim().to_lowercase())
}

/// Forgets the EWS URL found for a mailbox after a cycle that failed in a way a moved mailbox
/// or server would cause: the next cycle runs Autodiscover again. Refused credentials and
/// throttling keep it (the URL is not their cause).
pub fn forget_ews_url(engine: &Engine, p: &Profile, m: &Mailbox, e: &Error) {
    if !p.use_autodiscover
        || e.retry_after().is_some()
        || protocol::failure::is_auth_failure(e)
        || !matches!(e.kind(), crate::ErrorKind::Server | crate::ErrorKind::Unavailable)
    {
        return;
    }
    let mut urls = engine.inner.ews_urls.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    urls.remove(&discovery_key(p, &m.email_address));
}

/// What an EWS client of a mailbox is made of.
struct EwsParts {
    url: String,
    auth: ews::Auth,
    impersonate: bool,
    source: CredentialSource,
    login: Login,
}

async fn ews_parts(
    engine: &Engine,
    p: &Profile,
    m: Option<&Mailbox>,
    direction: Direction,
    discovery: Discovery,
    obs: &mut dyn protocol::Observer,
) -> Result<EwsParts> {
    let outgoing = direction == Direction::Outgoing;
    let mode = if outgoing { p.effective_outgoing_mode() } else { p.incoming_credential_mode };
    let hma = mode == CredentialMode::ExchangeHybridModernAuth;
    let (login, source) = if hma {
        // Hybrid Modern Auth: the profile's Entra app gets a token for the Exchange server, and
        // acts for each mailbox through impersonation (it has no mailbox of its own).
        let token = graph_client(engine, p).await?.token().await?;
        (Login::OAuth2 { user: String::new(), token }, CredentialSource::Profile)
    } else {
        login(engine, p, m, direction).await?
    };
    let auth_protocol = if outgoing { p.outgoing_auth_protocol } else { p.incoming_auth_protocol };
    let impersonate = hma
        || source == CredentialSource::Profile
            && if outgoing && !p.use_same_settings_for_outgoing {
                p.outgoing_use_impersonation
            } else {
                p.incoming_use_impersonation
            };
    let url = if p.use_autodiscover {
        // Test Connection has no mailbox: the service account's own address is looked up.
        let address =
            m.map(|m| m.email_address.trim().to_owned()).unwrap_or_else(|| p.incoming_user_name.trim().to_owned());
        let key = discovery_key(p, &address);
        let urls = || engine.inner.ews_urls.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let cached = match discovery {
            Discovery::Fresh => None,
            Discovery::Cached => urls()
                .get(&key)
                .filter(|(modified, at, _)| *modified == p.modified_on && at.elapsed() < AUTODISCOVER_TTL)
                .map(|(_, _, url)| url.clone()),
        };
        match cached {
            Some(url) => url,
            None => {
                let found = ews::autodiscover::ews_url(&address, &login, p.ca_file.trim(), timeout_of(p));
                let url = protocol::step_with(obs, protocol::StepKind::Autodiscover, found, Clone::clone).await?;
                urls().insert(key, (p.modified_on, std::time::Instant::now(), url.clone()));
                url
            }
        }
    } else {
        let location = if outgoing && !p.outgoing_location.trim().is_empty() {
            p.outgoing_location.trim()
        } else {
            p.incoming_location.trim()
        };
        location.to_owned()
    };
    let auth = match (&login, auth_protocol) {
        (Login::OAuth2 { token, .. }, _) => ews::Auth::Bearer(token.clone()),
        (Login::Password { user, password }, AuthProtocol::Ntlm) => {
            ews::Auth::Ntlm { user: user.clone(), password: password.clone() }
        }
        (Login::Password { user, password }, AuthProtocol::Basic) => {
            ews::Auth::Basic { user: user.clone(), password: password.clone() }
        }
        (Login::Password { user, password }, _) => {
            ews::Auth::Negotiate { user: user.clone(), password: password.clone() }
        }
        (Login::Anonymous, _) => {
            ews::Auth::Negotiate { user: String::new(), password: crate::secrets::Secret::new("") }
        }
    };
    Ok(EwsParts { url, auth, impersonate, source, login })
}

/// A client of its own for a mailbox's EWS streaming notifications (its one connection stays
/// busy with GetStreamingEvents), and whether it acts for the mailbox through impersonation.
pub async fn ews_stream_client(engine: &Engine, p: &Profile, m: &Mailbox) -> Result<(ews::EwsClient, bool)> {
    let parts = ews_parts(engine, p, Some(m), Direction::Incoming, Discovery::Cached, &mut protocol::Unobserved)
        .await
        .map_err(|e| name_credentials(e, CredentialSource::Profile, p))?;
    let client = ews::EwsClient::streaming(&parts.url, parts.auth, p.ca_file.trim(), timeout_of(p))?;
    Ok((client, parts.impersonate))
}

/// The EWS client of an Exchange Server mailbox: the URL (the profile's EWS URL; Autodiscover
/// otherwise), the credentials of the profile's mode, and whether requests act for the mailbox
/// through impersonation. Clients are kept per credential (NTLM authenticates connections).
pub async fn ews_client(
    engine: &Engine,
    p: &Profile,
    m: Option<&Mailbox>,
    direction: Direction,
    discovery: Discovery,
    obs: &mut dyn protocol::Observer,
) -> Result<(std::sync::Arc<ews::EwsClient>, bool, CredentialSource)> {
    use sha2::{Digest, Sha256};
    let EwsParts { url, auth, impersonate, source, login } = ews_parts(engine, p, m, direction, discovery, obs).await?;
    let mut h = Sha256::new();
    let user = match &login {
        Login::Password { user, .. } | Login::OAuth2 { user, .. } => user.clone(),
        Login::Anonymous => String::new(),
    };
    let secret = match &login {
        Login::Password { password, .. } => password.expose().to_owned(),
        Login::OAuth2 { token, .. } => token.expose().to_owned(),
        Login::Anonymous => String::new(),
    };
    for part in [url.as_str(), &format!("{auth:?}/{}", p.timeout_seconds), p.ca_file.as_str(), secret.as_str()] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let fingerprint: [u8; 32] = h.finalize().into();
    let key = (p.id, user);
    let lock = || engine.inner.ews_clients.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((f, c)) = lock().get(&key)
        && *f == fingerprint
    {
        return Ok((c.clone(), impersonate, source));
    }
    let client = std::sync::Arc::new(ews::EwsClient::new(&url, auth, p.ca_file.trim(), timeout_of(p))?);
    lock().insert(key, (fingerprint, client.clone()));
    Ok((client, impersonate, source))
}

/// The bound on each request of a profile's connections.
fn timeout_of(p: &Profile) -> Duration {
    if p.timeout_mailbox_connection {
        Duration::from_secs(u64::from(p.timeout_seconds.max(1))).min(MAX_TIMEOUT)
    } else {
        MAX_TIMEOUT
    }
}
