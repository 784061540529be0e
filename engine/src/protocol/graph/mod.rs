//! Microsoft Graph, for Exchange Online (ADR 0003): app-only OAuth 2.0 with client credentials (a
//! client secret, or a certificate's signed assertion), the Inbox's delta query, each message's
//! MIME, `sendMail`, `move` and the mail folders.
//!
//! One [`GraphClient`] per profile holds the HTTP connections (TLS verified like every other
//! connection, with the profile's CA file), the access token until shortly before it expires, and
//! a gate of [`MAX_PER_MAILBOX`] requests at once per mailbox, Graph's own limit. A 429 or 503 is
//! waited out as its `Retry-After` says, up to [`MAX_WAIT`], and tried again; longer hints end the
//! call as a passing failure that the scheduler retries. Every refusal becomes an engine error
//! with a stable code and the server's own code in its detail, never a secret.

pub mod assertion;
pub mod send;
pub mod wire;

use super::failure;
use crate::domain::ServerAuthority;
use crate::secrets::Secret;
use crate::{Error, ErrorKind, Result};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
pub use wire::{DeltaItem, DeltaPage, MailFolder};

/// Graph serves at most this many requests at once for one mailbox.
pub const MAX_PER_MAILBOX: usize = 4;
/// The longest `Retry-After` waited out inside a call; a longer one ends the call.
pub const MAX_WAIT: Duration = Duration::from_secs(60);
/// How many throttled answers one call waits out before it gives up.
const MAX_THROTTLED: u32 = 6;
/// A token is renewed this long before it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(300);
/// Messages per page of the Inbox's delta.
pub const DELTA_PAGE_SIZE: u32 = 100;

/// Stable codes of Graph failures (the catalogs give their words).
pub mod code {
    pub const TENANT_NOT_FOUND: &str = "graph.tenant_not_found";
    pub const APP_NOT_FOUND: &str = "graph.app_not_found";
    pub const MAILBOX_NOT_ENABLED: &str = "graph.mailbox_not_enabled";
    pub const USER_NOT_FOUND: &str = "graph.user_not_found";
    pub const USER_DISABLED: &str = "graph.user_disabled";
    pub const ACCESS_DENIED: &str = "graph.access_denied";
    pub const THROTTLED: &str = "graph.throttled";
    pub const SERVER_ERROR: &str = "graph.server_error";
    pub const MALFORMED: &str = "graph.malformed_response";
    pub const REFUSED: &str = "graph.refused";
    pub const TOO_LARGE: &str = "graph.too_large";
    pub const ITEM_NOT_FOUND: &str = "graph.item_not_found";
    pub const SYNC_STATE_EXPIRED: &str = "graph.sync_state_expired";
    pub const NOT_HTTPS: &str = "graph.endpoint.not_https";
    pub const CERTIFICATE: &str = "graph.certificate.unreadable";
}

/// Whether a Graph failure is the mailbox's (it cannot be reached at all: licence, user, access
/// policy), rather than one message's or a passing one.
pub fn is_mailbox_level(code: &str) -> bool {
    matches!(
        code,
        code::MAILBOX_NOT_ENABLED
            | code::USER_NOT_FOUND
            | code::USER_DISABLED
            | code::ACCESS_DENIED
            | code::TENANT_NOT_FOUND
            | code::APP_NOT_FOUND
            | code::NOT_HTTPS
            | code::CERTIFICATE
    )
}

/// Whether a Graph failure is the refusal of one message (it would be refused again).
pub fn is_message_level(code: &str) -> bool {
    matches!(code, code::REFUSED | code::TOO_LARGE)
}

/// Where a profile's app signs in and where Graph is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cloud {
    /// `https://login.microsoftonline.com`, without a trailing slash.
    pub authority: String,
    /// `https://graph.microsoft.com`, without a trailing slash.
    pub graph: String,
}

impl Cloud {
    /// The hosts of a national cloud, or the profile's own (for a sovereign cloud or a test
    /// server) where it names them.
    pub fn of(authority: Option<ServerAuthority>, authority_host: &str, graph_endpoint: &str) -> Result<Cloud> {
        let (a, g) = match authority {
            Some(ServerAuthority::UsGovernment) => ("https://login.microsoftonline.us", "https://graph.microsoft.us"),
            Some(ServerAuthority::China) => {
                ("https://login.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn")
            }
            _ => ("https://login.microsoftonline.com", "https://graph.microsoft.com"),
        };
        Ok(Cloud {
            authority: https_base(authority_host, a, "authority_host")?,
            graph: https_base(graph_endpoint, g, "graph_endpoint")?,
        })
    }

    /// The sign-in host of the authority (or the profile's own), and `resource` in place of
    /// Graph: the audience of an Exchange Server's Hybrid Modern Auth tokens.
    pub fn for_resource(authority: Option<ServerAuthority>, authority_host: &str, resource: &str) -> Result<Cloud> {
        let cloud = Cloud::of(authority, authority_host, "")?;
        if resource.trim().is_empty() {
            return Err(Error::validation("field.required").param("field", "aad_resource_id"));
        }
        Ok(Cloud { graph: https_base(resource, "", "aad_resource_id")?, ..cloud })
    }

    fn host(url: &str) -> &str {
        let rest = url.strip_prefix("https://").unwrap_or(url);
        rest.split(['/', ':']).next().unwrap_or(rest)
    }
}

/// `own` (or `default` when empty) as an `https://` base URL without a trailing slash, or an
/// error naming `field`.
fn https_base(own: &str, default: &str, field: &str) -> Result<String> {
    let own = own.trim().trim_end_matches('/');
    let url = if own.is_empty() { default.to_owned() } else { own.to_owned() };
    let rest = url.strip_prefix("https://").filter(|r| !r.is_empty() && !r.contains(['?', '#', ' ']));
    if rest.is_none() {
        return Err(Error::validation(code::NOT_HTTPS).param("field", field).param("value", &url));
    }
    Ok(url)
}

/// What `$value` gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mime {
    Body(Vec<u8>),
    /// Larger than the bound (bytes read, or announced).
    TooLarge(u64),
    /// No longer in the mailbox.
    Gone,
}

/// How the app proves who it is.
#[derive(Clone)]
pub enum Credential {
    /// A client secret.
    Secret(Secret),
    /// A certificate and its private key (PEM), signing a client assertion.
    Certificate(Secret),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Credential::Secret(_) => "Secret(<redacted>)",
            Credential::Certificate(_) => "Certificate(<redacted>)",
        })
    }
}

/// A Microsoft Entra app registration.
#[derive(Debug, Clone)]
pub struct App {
    pub tenant: String,
    pub client_id: String,
    pub credential: Credential,
}

struct Token {
    value: Secret,
    renew_after: Instant,
}

/// A profile's client of Graph (see the module's documentation).
pub struct GraphClient {
    http: reqwest::Client,
    cloud: Cloud,
    app: App,
    token: tokio::sync::Mutex<Option<Token>>,
    gates: Mutex<HashMap<String, Arc<Semaphore>>>,
    timeout: Duration,
    /// Throttled answers waited out, and for how long in all (for the log and the tests).
    waits: Mutex<(u32, Duration)>,
}

impl std::fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphClient").field("cloud", &self.cloud).field("tenant", &self.app.tenant).finish()
    }
}

/// Encodes one path segment (a mailbox address, an item id).
fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl GraphClient {
    /// A client for `app` in `cloud`, trusting the OS store and the profile's `ca_file`.
    pub fn new(cloud: Cloud, app: App, ca_file: &str, timeout: Duration) -> Result<GraphClient> {
        if app.tenant.trim().is_empty() {
            return Err(Error::validation("field.required").param("field", "tenant_id"));
        }
        if app.client_id.trim().is_empty() {
            return Err(Error::validation("field.required").param("field", "oauth_client_id"));
        }
        let tls = (*super::tls::client_config(ca_file)?).clone();
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .https_only(true)
            .connect_timeout(timeout)
            .read_timeout(timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("ServerSync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::internal(format!("HTTP client: {e}")))?;
        Ok(GraphClient {
            http,
            cloud,
            app,
            token: tokio::sync::Mutex::new(None),
            gates: Mutex::new(HashMap::new()),
            timeout,
            waits: Mutex::new((0, Duration::ZERO)),
        })
    }

    /// The Graph host, for messages.
    pub fn host(&self) -> &str {
        Cloud::host(&self.cloud.graph)
    }

    /// The sign-in host, for messages.
    pub fn authority_host(&self) -> &str {
        Cloud::host(&self.cloud.authority)
    }

    /// The token endpoint of the app's tenant.
    pub fn token_url(&self) -> String {
        format!("{}/{}/oauth2/v2.0/token", self.cloud.authority, segment(self.app.tenant.trim()))
    }

    /// Throttled answers waited out so far, and the time spent waiting.
    pub fn throttle_waits(&self) -> (u32, Duration) {
        self.waits.lock().map(|w| *w).unwrap_or_default()
    }

    fn transport(&self, host: &str, e: &reqwest::Error) -> Error {
        failure::http(host, self.timeout, e)
    }

    /// A valid access token: the cached one, or a new one from the token endpoint.
    pub async fn token(&self) -> Result<Secret> {
        let mut cached = self.token.lock().await;
        if let Some(t) = cached.as_ref()
            && Instant::now() < t.renew_after
        {
            return Ok(t.value.clone());
        }
        let url = self.token_url();
        let scope = format!("{}/.default", self.cloud.graph);
        let mut form: Vec<(&str, String)> = vec![
            ("grant_type", "client_credentials".into()),
            ("client_id", self.app.client_id.trim().to_owned()),
            ("scope", scope),
        ];
        let secret = match &self.app.credential {
            Credential::Secret(s) => {
                form.push(("client_secret", s.expose().to_owned()));
                s.clone()
            }
            Credential::Certificate(pem) => {
                let jwt = assertion::sign(pem, self.app.client_id.trim(), &url)?;
                form.push(("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into()));
                form.push(("client_assertion", jwt.expose().to_owned()));
                jwt
            }
        };
        let host = self.authority_host().to_owned();
        let started = Instant::now();
        let resp = self.http.post(&url).form(&form).send().await.map_err(|e| self.transport(&host, &e))?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| self.transport(&host, &e))?;
        let redact = |t: &str| t.replace(secret.expose(), "<redacted>");
        if status.is_success() {
            let reply: wire::TokenReply = serde_json::from_slice(&body).map_err(|e| {
                Error::new(ErrorKind::Unavailable, code::MALFORMED)
                    .param("host", &host)
                    .with_detail(redact(&e.to_string()))
            })?;
            if reply.access_token.is_empty() {
                return Err(Error::new(ErrorKind::Unavailable, code::MALFORMED).param("host", &host));
            }
            let lifetime = reply.lifetime();
            let renew_after = started + lifetime.saturating_sub(TOKEN_MARGIN.min(lifetime / 2));
            let value = Secret::new(reply.access_token);
            *cached = Some(Token { value: value.clone(), renew_after });
            return Ok(value);
        }
        let refusal: wire::TokenRefusal = serde_json::from_slice(&body).unwrap_or_default();
        let detail = redact(&format!("HTTP {} {}: {}", status.as_u16(), refusal.error, refusal.summary()));
        Err(match (status.as_u16(), refusal.aadsts()) {
            (_, Some(90002)) => Error::new(ErrorKind::Server, code::TENANT_NOT_FOUND)
                .param("tenant", self.app.tenant.trim())
                .with_detail(detail),
            (_, Some(700016)) => Error::new(ErrorKind::Server, code::APP_NOT_FOUND)
                .param("client_id", self.app.client_id.trim())
                .with_detail(detail),
            (s, _) if s >= 500 || s == 429 => Error::new(ErrorKind::Unavailable, code::SERVER_ERROR)
                .param("host", &host)
                .param("status", s)
                .with_detail(detail),
            // A wrong or expired secret, an assertion signed by another certificate.
            _ => failure::auth_failed(&host, &detail),
        })
    }

    fn gate(&self, mailbox: &str) -> Arc<Semaphore> {
        let mut gates = self.gates.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        gates.entry(mailbox.to_ascii_lowercase()).or_insert_with(|| Arc::new(Semaphore::new(MAX_PER_MAILBOX))).clone()
    }

    /// Sends a request for `mailbox` (within its gate), waiting out throttling and renewing a
    /// token the server no longer takes, once. Returns a successful response.
    async fn call(
        &self,
        mailbox: &str,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response> {
        let gate = self.gate(mailbox);
        let _slot = gate.acquire_owned().await.map_err(Error::internal)?;
        let host = self.host().to_owned();
        let mut throttled = 0u32;
        let mut renewed = false;
        loop {
            let token = self.token().await?;
            let resp =
                build(&self.http).bearer_auth(token.expose()).send().await.map_err(|e| self.transport(&host, &e))?;
            let status = resp.status().as_u16();
            if resp.status().is_success() {
                return Ok(resp);
            }
            if status == 429 || status == 503 {
                let hint = resp.headers().get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok());
                let wait = wire::retry_after(hint, chrono::Utc::now(), Duration::from_secs(24 * 3600))
                    .unwrap_or(Duration::from_secs(1 << throttled.min(5)));
                if throttled < MAX_THROTTLED && wait <= MAX_WAIT {
                    throttled += 1;
                    tracing::info!(mailbox, status, wait_ms = wait.as_millis() as u64, "Graph asked to wait");
                    if let Ok(mut w) = self.waits.lock() {
                        w.0 += 1;
                        w.1 += wait;
                    }
                    drop(resp);
                    tokio::time::sleep(wait).await;
                    continue;
                }
                let body = resp.bytes().await.unwrap_or_default();
                let e = wire::odata_error(&body);
                return Err(Error::new(ErrorKind::Unavailable, code::THROTTLED)
                    .param("host", &host)
                    .param("seconds", wait.as_secs())
                    .with_detail(format!("HTTP {status} {}: {}", e.code, failure::quote_reply(&e.message))));
            }
            if status == 401 && !renewed {
                renewed = true;
                *self.token.lock().await = None;
                continue;
            }
            let body = resp.bytes().await.map_err(|e| self.transport(&host, &e))?;
            return Err(refusal(&host, mailbox, status, &body));
        }
    }

    fn url(&self, mailbox: &str, rest: &str) -> String {
        format!("{}/v1.0/users/{}{rest}", self.cloud.graph, segment(mailbox.trim()))
    }

    async fn json<T: serde::de::DeserializeOwned>(&self, resp: reqwest::Response) -> Result<T> {
        let host = self.host().to_owned();
        let body = resp.bytes().await.map_err(|e| self.transport(&host, &e))?;
        serde_json::from_slice(&body).map_err(|e| malformed(&host, e))
    }

    /// The mailbox's user (`GET /users/{id}`): whether Graph knows it.
    pub async fn user(&self, mailbox: &str) -> Result<serde_json::Value> {
        let url = self.url(mailbox, "?$select=id,mail,userPrincipalName,displayName");
        let resp = self.call(mailbox, |h| h.get(&url)).await?;
        self.json(resp).await
    }

    /// The Inbox (`GET /users/{id}/mailFolders/inbox`): the mailbox is enabled for Graph and
    /// licensed.
    pub async fn inbox(&self, mailbox: &str) -> Result<MailFolder> {
        let url = self.url(mailbox, "/mailFolders/inbox");
        let resp = self.call(mailbox, |h| h.get(&url)).await?;
        self.json(resp).await
    }

    /// One page of the Inbox's delta: from the start of a new round (`link` None) or from a
    /// next or delta link of an earlier page.
    pub async fn delta(&self, mailbox: &str, link: Option<&str>) -> Result<DeltaPage> {
        let url = match link {
            Some(l) if wire::same_origin(l, &self.cloud.graph) => l.to_owned(),
            Some(l) => return Err(malformed(self.host(), format!("a link outside the endpoint: {l}"))),
            None => self.url(mailbox, "/mailFolders/inbox/messages/delta?$select=id,receivedDateTime"),
        };
        let prefer = format!("odata.maxpagesize={DELTA_PAGE_SIZE}");
        let resp = self.call(mailbox, |h| h.get(&url).header("Prefer", &prefer)).await?;
        let host = self.host().to_owned();
        let body = resp.bytes().await.map_err(|e| self.transport(&host, &e))?;
        wire::delta_page(&body, &self.cloud.graph).map_err(|e| malformed(&host, format!("{e:?}")))
    }

    /// A message's MIME (`$value`), read as it arrives and given up past `max` bytes.
    pub async fn mime(&self, mailbox: &str, id: &str, max: u64) -> Result<Mime> {
        let url = self.url(mailbox, &format!("/messages/{}/$value", segment(id)));
        let mut resp = match self.call(mailbox, |h| h.get(&url)).await {
            Ok(resp) => resp,
            Err(e) if e.code() == code::ITEM_NOT_FOUND => return Ok(Mime::Gone),
            Err(e) => return Err(e),
        };
        if let Some(len) = resp.content_length().filter(|l| *l > max) {
            return Ok(Mime::TooLarge(len));
        }
        let host = self.host().to_owned();
        let mut body = Vec::with_capacity(usize::try_from(resp.content_length().unwrap_or(0).min(max)).unwrap_or(0));
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.transport(&host, &e))? {
            body.extend_from_slice(&chunk);
            if body.len() as u64 > max {
                return Ok(Mime::TooLarge(body.len() as u64));
            }
        }
        Ok(Mime::Body(body))
    }

    /// Sends a message (`sendMail`, the body of [`send::send_mail_body`]).
    pub async fn send_mail(&self, mailbox: &str, body: &serde_json::Value) -> Result<()> {
        let bytes = serde_json::to_vec(body).map_err(Error::internal)?;
        if bytes.len() > send::MAX_REQUEST_BYTES {
            return Err(Error::new(ErrorKind::Server, code::TOO_LARGE)
                .param("size", bytes.len())
                .param("max", send::MAX_REQUEST_BYTES));
        }
        let url = self.url(mailbox, "/sendMail");
        self.call(mailbox, |h| {
            h.post(&url).header(reqwest::header::CONTENT_TYPE, "application/json").body(bytes.clone())
        })
        .await
        .map(drop)
    }

    /// The id of the top-level folder `name`, created when missing.
    pub async fn folder(&self, mailbox: &str, name: &str) -> Result<String> {
        let quoted = name.replace('\'', "''");
        let filter: String = format!("displayName eq '{quoted}'")
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        let url = self.url(mailbox, &format!("/mailFolders?$filter={filter}"));
        let resp = self.call(mailbox, |h| h.get(&url)).await?;
        let list: wire::FolderList = self.json(resp).await?;
        if let Some(f) = list.value.into_iter().find(|f| f.display_name.eq_ignore_ascii_case(name)) {
            return Ok(f.id);
        }
        let url = self.url(mailbox, "/mailFolders");
        let body = serde_json::json!({ "displayName": name });
        let resp = self.call(mailbox, |h| h.post(&url).json(&body)).await?;
        let created: MailFolder = self.json(resp).await?;
        Ok(created.id)
    }

    /// Moves a message to a folder (by id or well-known name).
    pub async fn move_to(&self, mailbox: &str, id: &str, folder: &str) -> Result<()> {
        let url = self.url(mailbox, &format!("/messages/{}/move", segment(id)));
        let body = serde_json::json!({ "destinationId": folder });
        self.call(mailbox, |h| h.post(&url).json(&body)).await.map(drop)
    }
}

/// The Graph host's address, as a connection test opens it.
fn endpoint_of(url: &str, timeout: Duration, ca_file: &str) -> super::Endpoint {
    let rest = url.strip_prefix("https://").unwrap_or(url);
    let authority = rest.split('/').next().unwrap_or(rest);
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (h, p.parse().unwrap_or(443)),
        _ => (authority, 443),
    };
    super::Endpoint {
        host: host.trim_start_matches('[').trim_end_matches(']').to_owned(),
        port,
        security: super::Security::Implicit,
        timeouts: super::Timeouts::from_profile(timeout),
        ca_file: ca_file.to_owned(),
    }
}

/// The body of the test message Test & Enable sends a mailbox from itself.
fn test_message(address: &str) -> serde_json::Value {
    let m = send::OutgoingMessage {
        subject: super::TEST_MESSAGE_SUBJECT.to_owned(),
        text: format!(
            "{}.\r\n\r\nThis message was sent by Test & Enable Mailboxes through Microsoft Graph to check that the \
             mailbox can send email. It needs no answer.\r\n",
            super::TEST_MESSAGE_SUBJECT
        ),
        to: vec![address.to_owned()],
        ..Default::default()
    };
    send::send_mail_body(&m, false)
}

impl GraphClient {
    /// A connection test, step by step: for incoming, reach Graph (resolve, connect, TLS), get a
    /// token and, for a mailbox, open its Inbox; for outgoing, get a token and, for a mailbox,
    /// send it the test message from itself.
    pub async fn test(
        &self,
        mailbox: Option<&str>,
        direction: super::Direction,
        ca_file: &str,
        obs: &mut dyn super::Observer,
    ) -> Result<()> {
        use super::{StepKind, step, step_with};
        if direction == super::Direction::Incoming {
            let ep = endpoint_of(&self.cloud.graph, self.timeout, ca_file);
            let addrs = step_with(obs, StepKind::Resolve, ep.resolve(), |a| super::addresses(a)).await?;
            let tcp = step(obs, StepKind::Connect, ep.connect_tcp(&addrs)).await?;
            drop(step(obs, StepKind::Tls, ep.start_tls(tcp)).await?);
        }
        let authority = self.authority_host().to_owned();
        step_with(obs, StepKind::Authenticate, self.token(), |_| format!("token from {authority}")).await?;
        match (mailbox, direction) {
            (Some(m), super::Direction::Incoming) => {
                step_with(obs, StepKind::OpenInbox, self.inbox(m), |f| {
                    format!("{} messages", f.total_item_count.unwrap_or_default())
                })
                .await?;
            }
            (Some(m), super::Direction::Outgoing) => {
                step(obs, StepKind::SendTestMessage, self.send_mail(m, &test_message(m))).await?;
            }
            (None, _) => {}
        }
        Ok(())
    }
}

fn malformed(host: &str, detail: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Unavailable, code::MALFORMED)
        .param("host", host)
        .with_detail(failure::quote_reply(&detail.to_string()))
}

/// A refusal as an engine error: Graph's error code decides, then the HTTP status.
pub fn refusal(host: &str, mailbox: &str, status: u16, body: &[u8]) -> Error {
    let e = wire::odata_error(body);
    let detail = format!("HTTP {status} {}: {}", e.code, failure::quote_reply(&e.message));
    let server =
        |code: &'static str| Error::new(ErrorKind::Server, code).param("mailbox", mailbox).with_detail(&detail);
    match (e.code.as_str(), status) {
        ("MailboxNotEnabledForRESTAPI" | "MailboxNotSupportedForRESTAPI" | "ErrorInvalidLicense", _) => {
            server(code::MAILBOX_NOT_ENABLED)
        }
        ("ErrorInvalidUser" | "Request_ResourceNotFound" | "ErrorNonExistentMailbox" | "ResourceNotFound", _) => {
            server(code::USER_NOT_FOUND)
        }
        ("ErrorAccountDisabled" | "ErrorMailboxDisabled" | "AccountDisabled", _) => server(code::USER_DISABLED),
        ("ErrorItemNotFound", _) => server(code::ITEM_NOT_FOUND),
        ("SyncStateNotFound" | "SyncStateInvalid" | "resyncRequired", _) | (_, 410) => server(code::SYNC_STATE_EXPIRED),
        ("ErrorRequestEntityTooLarge" | "ErrorMessageSizeExceeded", _) | (_, 413) => {
            server(code::TOO_LARGE).param("size", "").param("max", send::MAX_REQUEST_BYTES)
        }
        ("ErrorAccessDenied" | "Authorization_RequestDenied" | "ErrorAccessDeniedException", _) | (_, 403) => {
            server(code::ACCESS_DENIED)
        }
        (_, 401) => failure::auth_failed(host, &detail),
        (_, s) if s >= 500 => Error::new(ErrorKind::Unavailable, code::SERVER_ERROR)
            .param("host", host)
            .param("status", s)
            .with_detail(&detail),
        (_, s) => Error::new(ErrorKind::Server, code::REFUSED)
            .param("host", host)
            .param("status", s)
            .param("reply", if e.code.is_empty() { s.to_string() } else { e.code.clone() })
            .with_detail(&detail),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_classified_by_graph_code_then_status() {
        let body = |c: &str| format!(r#"{{"error":{{"code":"{c}","message":"m"}}}}"#).into_bytes();
        let cases: &[(&str, u16, &str, bool)] = &[
            ("MailboxNotEnabledForRESTAPI", 404, code::MAILBOX_NOT_ENABLED, false),
            ("ErrorInvalidUser", 404, code::USER_NOT_FOUND, false),
            ("ErrorAccessDenied", 403, code::ACCESS_DENIED, false),
            ("ErrorItemNotFound", 404, code::ITEM_NOT_FOUND, false),
            ("SyncStateNotFound", 410, code::SYNC_STATE_EXPIRED, false),
            ("InvalidAuthenticationToken", 401, failure::code::AUTH_FAILED, false),
            ("UnknownError", 502, code::SERVER_ERROR, true),
            ("ErrorInvalidRecipients", 400, code::REFUSED, false),
            ("", 413, code::TOO_LARGE, false),
        ];
        for (c, status, want, transient) in cases {
            let e = refusal("graph.test", "a@x.test", *status, &body(c));
            assert_eq!(e.code(), *want, "{c} {status}");
            assert_eq!(e.is_transient(), *transient, "{c} {status}");
            assert!(e.detail().unwrap_or_default().contains(&status.to_string()), "{c}: the server's answer is kept");
        }
        // Not JSON at all (a proxy's HTML page).
        assert_eq!(refusal("h", "m", 400, b"<html>").code(), code::REFUSED);
    }

    #[test]
    fn clouds_follow_the_authority_unless_the_profile_names_its_own_https_hosts() -> Result<()> {
        let c = Cloud::of(Some(ServerAuthority::China), "", "")?;
        assert_eq!(c.graph, "https://microsoftgraph.chinacloudapi.cn");
        let c = Cloud::of(None, "https://127.0.0.1:8443/", "https://127.0.0.1:8443")?;
        assert_eq!((c.authority.as_str(), c.graph.as_str()), ("https://127.0.0.1:8443", "https://127.0.0.1:8443"));
        assert_eq!(Cloud::host(&c.graph), "127.0.0.1");
        for bad in ["http://graph.test", "graph.test", "https://", "https://a b"] {
            let e = Cloud::of(None, "", bad).err().map(|e| e.code().to_owned());
            assert_eq!(e.as_deref(), Some(code::NOT_HTTPS), "{bad}");
        }
        Ok(())
    }

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(segment("a.b+c@x.test"), "a.b%2Bc@x.test");
        assert_eq!(segment("AAMk/x=="), "AAMk%2Fx%3D%3D");
    }
}
