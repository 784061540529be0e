//! Exchange Web Services, for Exchange Server on premises (2016, 2019, SE): SOAP over HTTPS with
//! NTLM, Basic or an OAuth bearer token, acting for a mailbox through `ExchangeImpersonation`
//! when the profile's service account signs in for its mailboxes.
//!
//! An [`EwsClient`] holds the connections of one credential (NTLM authenticates a connection,
//! so it is kept) and signs every request in the scheme the server offers: NTLM first, then
//! Basic, never Basic without TLS. A fault `ErrorServerBusy` is waited out as long as its
//! `BackOffMilliseconds` says, up to [`MAX_WAIT`]; every response code is classified transient or
//! permanent with a stable code ([`classify`]).

pub mod autodiscover;
pub mod reply;
pub mod soap;

use super::failure;
use crate::secrets::Secret;
use crate::{Error, ErrorKind, Result};
use base64::Engine as _;
use std::sync::Mutex;
use std::time::Duration;

pub use reply::{Change, SyncPage};
pub use soap::Operation;

/// The longest back-off waited out inside a call; a longer one ends the call.
pub const MAX_WAIT: Duration = Duration::from_secs(60);
/// How many busy answers one call waits out before it gives up.
const MAX_BUSY: u32 = 6;
/// NTLM handshakes one request tries (see `send_signed`).
const NTLM_TRIES: u32 = 3;
/// Changes per SyncFolderItems page (the schema allows 1–512).
pub const SYNC_PAGE: u32 = 100;
/// One envelope of a GetStreamingEvents stream may not grow beyond this (a notification is a
/// few kilobytes; a server that never ends one is not read forever).
const MAX_STREAM_ENVELOPE: usize = 4 << 20;
/// How long a GetStreamingEvents connection is asked to stay open (the schema allows 1–30).
pub const STREAM_MINUTES: u32 = 30;
/// A streaming connection silent for longer than the server was asked to keep it open is lost.
const STREAM_SILENCE: Duration = Duration::from_secs(STREAM_MINUTES as u64 * 60 + 60);

/// How a GetStreamingEvents connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEnd {
    /// The server closed it (its ConnectionTimeout passed): ask again with the same subscription.
    Closed,
    /// The server no longer knows the subscription: subscribe again.
    SubscriptionLost,
}

/// Stable codes of EWS failures.
pub mod code {
    pub const SERVER_BUSY: &str = "ews.server_busy";
    pub const SYNC_STATE_INVALID: &str = "ews.sync_state_invalid";
    pub const MAILBOX_NOT_FOUND: &str = "ews.mailbox_not_found";
    pub const IMPERSONATION_DENIED: &str = "ews.impersonation_denied";
    pub const ACCESS_DENIED: &str = "ews.access_denied";
    pub const ITEM_NOT_FOUND: &str = "ews.item_not_found";
    pub const TRANSIENT: &str = "ews.transient_error";
    pub const QUOTA: &str = "ews.quota_exceeded";
    pub const REFUSED: &str = "ews.refused";
    pub const MALFORMED: &str = "ews.malformed_response";
    pub const NOT_HTTPS: &str = "ews.url.invalid";
}

/// An EWS response code as an engine error (permanent or transient), with the server's code.
pub fn classify(host: &str, mailbox: &str, response_code: &str, text: &str) -> Error {
    let detail = format!("{response_code}: {}", failure::quote_reply(text));
    let (kind, code) = match response_code {
        "ErrorServerBusy" => (ErrorKind::Unavailable, code::SERVER_BUSY),
        "ErrorInvalidSyncStateData" | "ErrorSyncFolderNotFound" => (ErrorKind::Server, code::SYNC_STATE_INVALID),
        "ErrorNonExistentMailbox" | "ErrorMailboxStoreUnavailable" | "ErrorInvalidSmtpAddress" => {
            (ErrorKind::Server, code::MAILBOX_NOT_FOUND)
        }
        "ErrorImpersonateUserDenied" | "ErrorImpersonationDenied" | "ErrorImpersonationFailed" => {
            (ErrorKind::Server, code::IMPERSONATION_DENIED)
        }
        "ErrorAccessDenied" | "ErrorAccountDisabled" => (ErrorKind::Server, code::ACCESS_DENIED),
        "ErrorItemNotFound" => (ErrorKind::Server, code::ITEM_NOT_FOUND),
        "ErrorSubmissionQuotaExceeded" => (ErrorKind::Unavailable, code::QUOTA),
        "ErrorQuotaExceeded" => (ErrorKind::Server, code::QUOTA),
        "ErrorMailboxMoveInProgress"
        | "ErrorTimeoutExpired"
        | "ErrorInternalServerTransientError"
        | "ErrorConnectionFailed"
        | "ErrorMailboxFailover"
        | "ErrorBatchProcessingStopped"
        | "ErrorExceededConnectionCount"
        | "ErrorTooManyObjectsOpened" => (ErrorKind::Unavailable, code::TRANSIENT),
        _ => (ErrorKind::Server, code::REFUSED),
    };
    Error::new(kind, code)
        .param("host", host)
        .param("mailbox", mailbox)
        .param("reply", response_code)
        .with_detail(detail)
}

/// Whether an EWS failure is the mailbox's (it cannot be reached at all), not one message's.
pub fn is_mailbox_level(code: &str) -> bool {
    matches!(code, code::MAILBOX_NOT_FOUND | code::IMPERSONATION_DENIED | code::ACCESS_DENIED | code::NOT_HTTPS)
}

/// How the client signs in.
#[derive(Clone)]
pub enum Auth {
    /// NTLM or Basic, whichever the server offers (NTLM first).
    Negotiate {
        user: String,
        password: Secret,
    },
    Ntlm {
        user: String,
        password: Secret,
    },
    Basic {
        user: String,
        password: Secret,
    },
    Bearer(Secret),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Negotiate { user, .. } => write!(f, "Negotiate({user}, <redacted>)"),
            Auth::Ntlm { user, .. } => write!(f, "Ntlm({user}, <redacted>)"),
            Auth::Basic { user, .. } => write!(f, "Basic({user}, <redacted>)"),
            Auth::Bearer(_) => f.write_str("Bearer(<redacted>)"),
        }
    }
}

impl Auth {
    fn secret(&self) -> &Secret {
        match self {
            Auth::Negotiate { password, .. } | Auth::Ntlm { password, .. } | Auth::Basic { password, .. } => password,
            Auth::Bearer(t) => t,
        }
    }
}

/// Which scheme a server took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Ntlm,
    Basic,
}

/// `DOMAIN\user`, `user@domain` or `user` as NTLM's (user, domain).
fn ntlm_names(user: &str) -> (String, String) {
    if let Some((d, u)) = user.split_once('\\') {
        (u.to_owned(), d.to_owned())
    } else {
        (user.to_owned(), String::new())
    }
}

fn ntlm_negotiate() -> Result<String> {
    let flags = ntlmclient::Flags::NEGOTIATE_UNICODE
        | ntlmclient::Flags::REQUEST_TARGET
        | ntlmclient::Flags::NEGOTIATE_NTLM
        | ntlmclient::Flags::NEGOTIATE_ALWAYS_SIGN
        | ntlmclient::Flags::NEGOTIATE_NTLM2_KEY;
    let msg = ntlmclient::Message::Negotiate(ntlmclient::NegotiateMessage {
        flags,
        supplied_domain: String::new(),
        supplied_workstation: String::new(),
        os_version: Default::default(),
    });
    let bytes = msg.to_bytes().map_err(|e| Error::internal(format!("NTLM negotiate: {e:?}")))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

fn ntlm_authenticate(challenge_header: &str, user: &str, password: &Secret) -> std::result::Result<String, String> {
    let b64 =
        challenge_header.split(',').map(str::trim).find_map(|h| h.strip_prefix("NTLM ")).ok_or("no NTLM challenge")?;
    let bytes = base64::engine::general_purpose::STANDARD.decode(b64.trim()).map_err(|e| e.to_string())?;
    let msg = ntlmclient::Message::try_from(bytes.as_slice()).map_err(|e| format!("{e:?}"))?;
    let ntlmclient::Message::Challenge(c) = msg else { return Err("not a challenge".into()) };
    let target: Vec<u8> = c.target_information.iter().flat_map(|e| e.to_bytes()).collect();
    let (username, domain) = ntlm_names(user);
    let creds = ntlmclient::Credentials { username, password: password.expose().to_owned(), domain };
    let response = ntlmclient::respond_challenge_ntlm_v2(c.challenge, &target, ntlmclient::get_ntlm_time(), &creds);
    let flags = ntlmclient::Flags::NEGOTIATE_UNICODE | ntlmclient::Flags::NEGOTIATE_NTLM;
    let auth = response.to_message(&creds, "SERVERSYNC", flags);
    let bytes = auth.to_bytes().map_err(|e| format!("{e:?}"))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// What a URL is: EWS itself, or one of the two Autodiscover services.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    Ews,
    Pox,
    AutodiscoverSoap,
}

/// An answer: status, where a redirect points, body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub body: Vec<u8>,
}

/// A client of one EWS URL with one credential.
pub struct EwsClient {
    http: reqwest::Client,
    flavor: Flavor,
    url: String,
    host: String,
    auth: Auth,
    scheme: Mutex<Option<Scheme>>,
    /// NTLM authenticates a connection: its challenge and answer must travel on the same one, so
    /// NTLM requests of a client go one at a time over its one kept connection.
    ntlm: tokio::sync::Mutex<()>,
    timeout: Duration,
    waits: Mutex<(u32, Duration)>,
}

impl std::fmt::Debug for EwsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EwsClient").field("url", &self.url).field("auth", &self.auth).finish()
    }
}

/// The host of an `https://` URL, or an error naming `field`.
pub fn https_host(url: &str, field: &str) -> Result<String> {
    let rest = url.trim().strip_prefix("https://").filter(|r| !r.is_empty() && !r.contains(' '));
    let Some(rest) = rest else {
        return Err(Error::validation(code::NOT_HTTPS).param("field", field).param("value", url));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host = authority.rsplit_once(':').map(|(h, _)| h).unwrap_or(authority);
    Ok(host.trim_start_matches('[').trim_end_matches(']').to_owned())
}

impl EwsClient {
    /// A client for `url` (https only), trusting the OS store and the profile's CA file.
    pub fn new(url: &str, auth: Auth, ca_file: &str, timeout: Duration) -> Result<EwsClient> {
        EwsClient::build(url, auth, ca_file, timeout, timeout, Flavor::Ews)
    }

    /// A client of its own for one GetStreamingEvents connection ([`EwsClient::stream`]): its
    /// reads wait as long as the server may stay silent.
    pub fn streaming(url: &str, auth: Auth, ca_file: &str, timeout: Duration) -> Result<EwsClient> {
        EwsClient::build(url, auth, ca_file, timeout, STREAM_SILENCE.max(timeout), Flavor::Ews)
    }

    pub(crate) fn with_flavor(
        url: &str,
        auth: Auth,
        ca_file: &str,
        timeout: Duration,
        flavor: Flavor,
    ) -> Result<EwsClient> {
        EwsClient::build(url, auth, ca_file, timeout, timeout, flavor)
    }

    fn build(
        url: &str,
        auth: Auth,
        ca_file: &str,
        timeout: Duration,
        read_timeout: Duration,
        flavor: Flavor,
    ) -> Result<EwsClient> {
        let host = https_host(url, "incoming_location")?;
        let tls = (*super::tls::client_config(ca_file)?).clone();
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .https_only(true)
            .http1_only()
            .connect_timeout(timeout)
            .read_timeout(read_timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(1)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("ServerSync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::internal(format!("HTTP client: {e}")))?;
        Ok(EwsClient {
            http,
            flavor,
            url: url.trim().to_owned(),
            host,
            auth,
            scheme: Mutex::new(None),
            ntlm: tokio::sync::Mutex::new(()),
            timeout,
            waits: Mutex::new((0, Duration::ZERO)),
        })
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    async fn answer(&self, resp: reqwest::Response) -> Result<Answer> {
        let status = resp.status().as_u16();
        let location = EwsClient::location(&resp);
        let body = resp.bytes().await.map_err(|e| self.transport(&e))?.to_vec();
        Ok(Answer { status, location, body })
    }

    /// Busy answers waited out so far, and the time spent waiting.
    pub fn busy_waits(&self) -> (u32, Duration) {
        self.waits.lock().map(|w| *w).unwrap_or_default()
    }

    fn redact(&self, text: &str) -> String {
        let s = self.auth.secret().expose();
        if s.is_empty() { text.to_owned() } else { text.replace(s, "<redacted>") }
    }

    fn transport(&self, e: &reqwest::Error) -> Error {
        failure::http(&self.host, self.timeout, e)
    }

    fn post(&self, body: &str, action: &str) -> reqwest::RequestBuilder {
        let r = self.http.post(&self.url).header(reqwest::header::CONTENT_TYPE, "text/xml; charset=utf-8");
        let r = match self.flavor {
            Flavor::Ews => r.header(
                "SOAPAction",
                format!("\"http://schemas.microsoft.com/exchange/services/2006/messages/{action}\""),
            ),
            Flavor::Pox => r,
            Flavor::AutodiscoverSoap => r.header(
                "SOAPAction",
                format!("\"http://schemas.microsoft.com/exchange/2010/Autodiscover/Autodiscover/{action}\""),
            ),
        };
        r.body(body.to_owned())
    }

    /// Where a redirect (3xx) points.
    fn location(resp: &reqwest::Response) -> Option<String> {
        resp.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()).map(str::to_owned)
    }

    /// Whether requests go through the NTLM handshake (one at a time, see `ntlm`).
    fn signs_with_ntlm(&self) -> bool {
        let known = *self.scheme.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        matches!(self.auth, Auth::Negotiate { .. } | Auth::Ntlm { .. }) && known != Some(Scheme::Basic)
    }

    /// Sends one request, signed in the scheme the server takes. Returns the status and the body.
    pub(crate) async fn send_signed(&self, body: &str, action: &str) -> Result<Answer> {
        // NTLM requests of a client go one at a time, body read included: the connection they
        // signed in on is the one the next request must find.
        let _one_at_a_time = if self.signs_with_ntlm() { Some(self.ntlm.lock().await) } else { None };
        let resp = self.signed_response(body, action).await?;
        self.answer(resp).await
    }

    /// Sends one request, signed in the scheme the server takes, and returns the final response
    /// unread. With NTLM the caller holds `ntlm`.
    async fn signed_response(&self, body: &str, action: &str) -> Result<reqwest::Response> {
        let known = *self.scheme.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (user, password) = match &self.auth {
            Auth::Bearer(t) => {
                return self.post(body, action).bearer_auth(t.expose()).send().await.map_err(|e| self.transport(&e));
            }
            Auth::Negotiate { user, password } | Auth::Ntlm { user, password } | Auth::Basic { user, password } => {
                (user, password)
            }
        };
        let basic = || self.post(body, action).basic_auth(user, Some(password.expose()));
        let try_basic = matches!(self.auth, Auth::Basic { .. }) || known == Some(Scheme::Basic);
        if try_basic {
            return basic().send().await.map_err(|e| self.transport(&e));
        }
        // NTLM: negotiate on a connection, answer the challenge with the request itself. A
        // connection NTLM signed in stays signed in: the request goes without a new handshake.
        if known == Some(Scheme::Ntlm) {
            let resp = self.post(body, action).send().await.map_err(|e| self.transport(&e))?;
            if resp.status().as_u16() != 401 {
                return Ok(resp);
            }
            let _ = resp.bytes().await;
        }
        // The answer to a challenge must travel on the connection the challenge came on. The HTTP
        // client's pool may hand a just-released connection out a moment late and open another
        // one: an answer refused that way is tried again with a new handshake, a few times.
        let mut tries = 0;
        loop {
            tries += 1;
            let resp = self
                .post("", action)
                .header(reqwest::header::AUTHORIZATION, format!("NTLM {}", ntlm_negotiate()?))
                .send()
                .await
                .map_err(|e| self.transport(&e))?;
            let offers: Vec<String> = resp
                .headers()
                .get_all(reqwest::header::WWW_AUTHENTICATE)
                .iter()
                .filter_map(|v| v.to_str().ok().map(str::to_owned))
                .collect();
            if resp.status().as_u16() != 401 {
                // Signed in without a challenge (anonymous access, or a redirect).
                return Ok(resp);
            }
            let _ = resp.bytes().await;
            let challenge = offers.iter().find(|o| o.starts_with("NTLM "));
            return match challenge {
                Some(c) => {
                    let answer = ntlm_authenticate(c, user, password)
                        .map_err(|e| failure::protocol(&self.host, format!("NTLM challenge: {e}")))?;
                    let resp = self
                        .post(body, action)
                        .header(reqwest::header::AUTHORIZATION, format!("NTLM {answer}"))
                        .send()
                        .await
                        .map_err(|e| self.transport(&e))?;
                    if resp.status().as_u16() == 401 && tries < NTLM_TRIES {
                        let _ = resp.bytes().await;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                    if resp.status().as_u16() != 401 {
                        *self.scheme.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Scheme::Ntlm);
                    }
                    Ok(resp)
                }
                None if matches!(self.auth, Auth::Negotiate { .. })
                    && offers.iter().any(|o| o.starts_with("Basic")) =>
                {
                    *self.scheme.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Scheme::Basic);
                    basic().send().await.map_err(|e| self.transport(&e))
                }
                None => Err(failure::auth_unsupported(&self.host, &offers.join(", "))),
            };
        }
    }

    /// The root element of an answer (a fault included), or the error an unreadable one is.
    fn root_of(&self, status: u16, bytes: &[u8], op: &str, mailbox: &str) -> Result<reply::Node> {
        if status == 401 {
            return Err(failure::auth_failed(&self.host, &format!("HTTP 401 to {op}")));
        }
        match reply::parse(bytes) {
            Ok(r) => Ok(r),
            Err(e) if (200..300).contains(&status) || status == 500 => {
                Err(self.malformed(format!("HTTP {status}: {e}")))
            }
            Err(_) => Err(Error::new(
                if status >= 500 { ErrorKind::Unavailable } else { ErrorKind::Server },
                if status >= 500 { code::TRANSIENT } else { code::REFUSED },
            )
            .param("host", &self.host)
            .param("mailbox", mailbox)
            .param("reply", status)
            .with_detail(format!("HTTP {status}"))),
        }
    }

    fn malformed(&self, detail: impl std::fmt::Display) -> Error {
        Error::new(ErrorKind::Unavailable, code::MALFORMED)
            .param("host", &self.host)
            .with_detail(self.redact(&detail.to_string()))
    }

    /// Runs one operation for `mailbox` (impersonated when `impersonate`), waiting out
    /// ErrorServerBusy. Returns the answer's root element when it is not a fault.
    pub async fn call(&self, op: &Operation<'_>, mailbox: &str, impersonate: bool) -> Result<reply::Node> {
        let body = soap::request(op, impersonate.then_some(mailbox)).map_err(Error::internal)?;
        let mut busy = 0u32;
        loop {
            let Answer { status, body: bytes, .. } = self.send_signed(&body, op.name()).await?;
            let root = self.root_of(status, &bytes, op.name(), mailbox)?;
            if let Some(f) = reply::fault(&root) {
                let code = if f.response_code.is_empty() { f.code.clone() } else { f.response_code.clone() };
                if code == "ErrorServerBusy" {
                    let wait = Duration::from_millis(f.back_off_ms.unwrap_or(1000 << busy.min(5)));
                    if busy < MAX_BUSY && wait <= MAX_WAIT {
                        busy += 1;
                        tracing::info!(mailbox, wait_ms = wait.as_millis() as u64, "Exchange asked to back off");
                        if let Ok(mut w) = self.waits.lock() {
                            w.0 += 1;
                            w.1 += wait;
                        }
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                }
                return Err(classify(&self.host, mailbox, &code, &self.redact(&f.text)));
            }
            if !(200..300).contains(&status) {
                return Err(Error::new(ErrorKind::Unavailable, code::TRANSIENT)
                    .param("host", &self.host)
                    .param("mailbox", mailbox)
                    .param("reply", status)
                    .with_detail(format!("HTTP {status}")));
            }
            return Ok(root);
        }
    }

    /// The first response message of an answer, as an error when it is one.
    fn first<'a>(&self, root: &'a reply::Node, mailbox: &str) -> Result<&'a reply::Node> {
        let ms = reply::messages(root);
        let m = ms.first().ok_or_else(|| {
            Error::new(ErrorKind::Unavailable, code::MALFORMED)
                .param("host", &self.host)
                .with_detail("no response message")
        })?;
        if m.is_error() {
            return Err(classify(&self.host, mailbox, m.code, m.text));
        }
        Ok(m.node)
    }

    /// One page of the Inbox's changes since `state`.
    pub async fn sync_inbox(&self, mailbox: &str, impersonate: bool, state: Option<&str>) -> Result<SyncPage> {
        let root = self.call(&Operation::SyncInbox { state, max: SYNC_PAGE }, mailbox, impersonate).await?;
        let m = self.first(&root, mailbox)?;
        reply::sync_page(m)
            .map_err(|e| Error::new(ErrorKind::Unavailable, code::MALFORMED).param("host", &self.host).with_detail(e))
    }

    /// The MIME of each item, in order (None: the item is gone).
    pub async fn mime(&self, mailbox: &str, impersonate: bool, ids: &[String]) -> Result<Vec<Option<Vec<u8>>>> {
        let root = self.call(&Operation::GetMime { ids }, mailbox, impersonate).await?;
        let ms = reply::messages(&root);
        if ms.len() != ids.len() {
            return Err(Error::new(ErrorKind::Unavailable, code::MALFORMED)
                .param("host", &self.host)
                .with_detail(format!("{} answers to {} items", ms.len(), ids.len())));
        }
        ms.iter()
            .map(|m| {
                if m.is_error() {
                    return if m.code == "ErrorItemNotFound" {
                        Ok(None)
                    } else {
                        Err(classify(&self.host, mailbox, m.code, m.text))
                    };
                }
                reply::mime(m.node).map(Some).map_err(|e| {
                    Error::new(ErrorKind::Unavailable, code::MALFORMED).param("host", &self.host).with_detail(e)
                })
            })
            .collect()
    }

    /// Sends a MIME message, keeping a copy in Sent Items or not.
    pub async fn send(&self, mailbox: &str, impersonate: bool, raw: &[u8], save_copy: bool) -> Result<()> {
        let b64 = base64::engine::general_purpose::STANDARD.encode(raw);
        let root = self.call(&Operation::Send { mime_base64: &b64, save_copy }, mailbox, impersonate).await?;
        self.first(&root, mailbox).map(drop)
    }

    /// The Inbox's item count.
    pub async fn inbox_count(&self, mailbox: &str, impersonate: bool) -> Result<u64> {
        let root = self.call(&Operation::GetInbox, mailbox, impersonate).await?;
        let m = self.first(&root, mailbox)?;
        Ok(reply::folders(m).first().and_then(|f| f.2).unwrap_or_default())
    }

    /// The id of the top-level folder `name`, created when missing.
    pub async fn folder(&self, mailbox: &str, impersonate: bool, name: &str) -> Result<String> {
        let root = self.call(&Operation::FindFolder { name }, mailbox, impersonate).await?;
        let m = self.first(&root, mailbox)?;
        if let Some((id, _, _)) = reply::folders(m).into_iter().find(|f| f.1.eq_ignore_ascii_case(name)) {
            return Ok(id);
        }
        let root = self.call(&Operation::CreateFolder { name }, mailbox, impersonate).await?;
        let m = self.first(&root, mailbox)?;
        reply::folders(m).into_iter().next().map(|f| f.0).ok_or_else(|| {
            Error::new(ErrorKind::Unavailable, code::MALFORMED).param("host", &self.host).with_detail("no folder id")
        })
    }

    /// Moves items to a folder.
    pub async fn move_to(&self, mailbox: &str, impersonate: bool, ids: &[String], folder: &str) -> Result<()> {
        let root = self.call(&Operation::Move { ids, folder }, mailbox, impersonate).await?;
        for m in reply::messages(&root) {
            if m.is_error() && m.code != "ErrorItemNotFound" {
                return Err(classify(&self.host, mailbox, m.code, m.text));
            }
        }
        Ok(())
    }

    /// A streaming subscription to the mailbox's Inbox; returns its id.
    pub async fn subscribe(&self, mailbox: &str, impersonate: bool) -> Result<String> {
        let root = self.call(&Operation::SubscribeInbox, mailbox, impersonate).await?;
        let id = self.first(&root, mailbox)?.find("SubscriptionId").map(|n| n.text.trim().to_owned());
        id.filter(|id| !id.is_empty()).ok_or_else(|| self.malformed("no SubscriptionId"))
    }

    /// Ends a subscription (one the server no longer knows is ended too).
    pub async fn unsubscribe(&self, mailbox: &str, impersonate: bool, subscription: &str) -> Result<()> {
        let root = self.call(&Operation::Unsubscribe { subscription }, mailbox, impersonate).await?;
        match reply::messages(&root).first() {
            Some(m) if m.is_error() && m.code != "ErrorSubscriptionNotFound" => {
                Err(classify(&self.host, mailbox, m.code, m.text))
            }
            _ => Ok(()),
        }
    }

    /// Holds a GetStreamingEvents connection open for up to `minutes` and calls `on_events` with
    /// the number of events of each notification as it arrives. Ends when the server closes the
    /// connection or no longer knows the subscription. The connection stays busy all along: a
    /// client that streams should do nothing else.
    pub async fn stream(
        &self,
        mailbox: &str,
        impersonate: bool,
        subscription: &str,
        minutes: u32,
        on_events: &mut (dyn FnMut(usize) + Send),
    ) -> Result<StreamEnd> {
        let op = Operation::GetStreamingEvents { subscription, minutes };
        let body = soap::request(&op, impersonate.then_some(mailbox)).map_err(Error::internal)?;
        let _one_at_a_time = if self.signs_with_ntlm() { Some(self.ntlm.lock().await) } else { None };
        let mut resp = self.signed_response(&body, op.name()).await?;
        let status = resp.status().as_u16();
        if !(200..300).contains(&status) {
            let bytes = resp.bytes().await.map_err(|e| self.transport(&e))?;
            let root = self.root_of(status, &bytes, op.name(), mailbox)?;
            return Err(match reply::fault(&root) {
                Some(f) => {
                    let code = if f.response_code.is_empty() { f.code } else { f.response_code };
                    classify(&self.host, mailbox, &code, &self.redact(&f.text))
                }
                None => Error::new(ErrorKind::Unavailable, code::TRANSIENT)
                    .param("host", &self.host)
                    .param("mailbox", mailbox)
                    .param("reply", status)
                    .with_detail(format!("HTTP {status}")),
            });
        }
        let mut buf = Vec::new();
        loop {
            let Some(chunk) = resp.chunk().await.map_err(|e| self.transport(&e))? else {
                return Ok(StreamEnd::Closed);
            };
            buf.extend_from_slice(&chunk);
            if buf.len() > MAX_STREAM_ENVELOPE {
                return Err(self.malformed(format!("a streamed envelope longer than {MAX_STREAM_ENVELOPE} bytes")));
            }
            while let Some(end) = reply::envelope_end(&buf) {
                let envelope: Vec<u8> = buf.drain(..end).collect();
                let root = reply::parse(&envelope).map_err(|e| self.malformed(e))?;
                if let Some(f) = reply::fault(&root) {
                    let code = if f.response_code.is_empty() { f.code } else { f.response_code };
                    return Err(classify(&self.host, mailbox, &code, &self.redact(&f.text)));
                }
                let ms = reply::messages(&root);
                if ms.is_empty() {
                    return Err(self.malformed("no response message"));
                }
                for m in ms {
                    if m.is_error() {
                        if m.code == "ErrorSubscriptionNotFound" {
                            return Ok(StreamEnd::SubscriptionLost);
                        }
                        return Err(classify(&self.host, mailbox, m.code, m.text));
                    }
                    let read = reply::stream_envelope(m.node);
                    if read.events > 0 {
                        on_events(read.events);
                    }
                    if read.closed {
                        return Ok(StreamEnd::Closed);
                    }
                }
            }
        }
    }

    /// A connection test: reach the server (resolve, connect, TLS), sign in and, for a mailbox,
    /// open its Inbox (incoming) or send it the test message from itself (outgoing).
    pub async fn test(
        &self,
        mailbox: Option<&str>,
        impersonate: bool,
        sign_in: bool,
        direction: super::Direction,
        ca_file: &str,
        obs: &mut dyn super::Observer,
    ) -> Result<()> {
        use super::{StepKind, step, step_with};
        let port = self
            .url
            .trim_start_matches("https://")
            .split('/')
            .next()
            .and_then(|a| a.rsplit_once(':'))
            .and_then(|(_, p)| p.parse().ok())
            .unwrap_or(443);
        let ep = super::Endpoint {
            host: self.host.clone(),
            port,
            security: super::Security::Implicit,
            timeouts: super::Timeouts::from_profile(self.timeout),
            ca_file: ca_file.to_owned(),
        };
        let addrs = step_with(obs, StepKind::Resolve, ep.resolve(), |a| super::addresses(a)).await?;
        let tcp = step(obs, StepKind::Connect, ep.connect_tcp(&addrs)).await?;
        drop(step(obs, StepKind::Tls, ep.start_tls(tcp)).await?);
        if !sign_in {
            return Ok(());
        }
        let target = mailbox.unwrap_or_default();
        match (mailbox, direction) {
            (Some(m), super::Direction::Outgoing) => {
                step(obs, StepKind::Authenticate, async { Ok(()) }).await?;
                let raw = test_message(m);
                step(obs, StepKind::SendTestMessage, self.send(m, impersonate, &raw, false)).await?;
            }
            (None, _) if impersonate && matches!(self.auth, Auth::Bearer(_)) => {
                // An application's token (Hybrid Modern Auth) has no mailbox of its own: the
                // server taking it and asking whose mailbox to act for is the sign-in.
                let first = async {
                    match self.inbox_count("", false).await {
                        Err(e) if e.param_value("reply") == Some("ErrorInvalidExchangeImpersonationHeaderData") => {
                            Ok(())
                        }
                        other => other.map(drop),
                    }
                };
                step(obs, StepKind::Authenticate, first).await?;
            }
            _ => {
                // Signing in is tested with a first call: the Inbox of the mailbox, or of the
                // service account itself.
                let count = step_with(
                    obs,
                    StepKind::Authenticate,
                    self.inbox_count(target, impersonate && mailbox.is_some()),
                    |n| format!("{n} messages in the Inbox"),
                )
                .await?;
                let _ = count;
            }
        }
        Ok(())
    }
}

/// The test message Test & Enable sends a mailbox from itself.
fn test_message(address: &str) -> Vec<u8> {
    let domain = address.rsplit_once('@').map(|(_, d)| d).unwrap_or("serversync.invalid");
    format!(
        "From: ServerSync <{address}>\r\nTo: <{address}>\r\nSubject: {subject}\r\nMessage-ID: <{id}@{domain}>\r\n\
Date: {date}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{subject}.\r\n\r\n\
This message was sent by Test & Enable Mailboxes through Exchange Web Services to check that the mailbox can send \
email. It needs no answer.\r\n",
        subject = super::TEST_MESSAGE_SUBJECT,
        id = uuid::Uuid::new_v4(),
        date = chrono::Utc::now().to_rfc2822(),
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_codes_are_classified_transient_or_permanent() {
        let rows = [
            ("ErrorServerBusy", code::SERVER_BUSY, true),
            ("ErrorInvalidSyncStateData", code::SYNC_STATE_INVALID, false),
            ("ErrorNonExistentMailbox", code::MAILBOX_NOT_FOUND, false),
            ("ErrorImpersonateUserDenied", code::IMPERSONATION_DENIED, false),
            ("ErrorAccessDenied", code::ACCESS_DENIED, false),
            ("ErrorItemNotFound", code::ITEM_NOT_FOUND, false),
            ("ErrorSubmissionQuotaExceeded", code::QUOTA, true),
            ("ErrorQuotaExceeded", code::QUOTA, false),
            ("ErrorMailboxMoveInProgress", code::TRANSIENT, true),
            ("ErrorSchemaValidation", code::REFUSED, false),
            ("SomethingNew", code::REFUSED, false),
        ];
        for (response, want, transient) in rows {
            let e = classify("ex.test", "a@x.test", response, "text");
            assert_eq!((e.code(), e.is_transient()), (want, transient), "{response}");
            assert_eq!(e.param_value("reply"), Some(response));
        }
    }

    #[test]
    fn ntlm_user_names_split_their_domain() {
        assert_eq!(ntlm_names("CONTOSO\\svc"), ("svc".to_owned(), "CONTOSO".to_owned()));
        assert_eq!(ntlm_names("svc@contoso.test"), ("svc@contoso.test".to_owned(), String::new()));
    }

    #[test]
    fn only_https_urls_are_taken() {
        assert_eq!(
            https_host("https://mail.contoso.test/EWS/Exchange.asmx", "f").ok().as_deref(),
            Some("mail.contoso.test")
        );
        assert_eq!(https_host("https://127.0.0.1:8443/EWS/Exchange.asmx", "f").ok().as_deref(), Some("127.0.0.1"));
        assert!(https_host("http://mail.contoso.test/EWS/Exchange.asmx", "f").is_err());
        assert!(https_host("mail.contoso.test", "f").is_err());
    }
}
