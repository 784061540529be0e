//! The Exchange Web Services test server (tests/servers/ews), started beside the mail servers: it
//! serves their certificate, so the tests trust it through the same throwaway CA
//! ([`MailServers::ca_file`]). EWS and Autodiscover over HTTPS (NTLM, Basic, Bearer), every EWS
//! request checked against Microsoft's schemas; an admin API over plain HTTP drives it (users,
//! mail, faults, the request log). See tests/servers/ews/README.md.

use crate::admin::{self, Started};
use crate::mail::MailServers;
use serde_json::{Value, json};

/// A running EWS test server; stopped (ews/down.sh) when dropped.
#[derive(Debug)]
pub struct EwsServer {
    server: Started,
}

/// `s` with everything but letters, digits and `-._~@` percent-encoded, for a URL path or query.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~@".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

impl EwsServer {
    /// Runs tests/servers/ews/up.sh on the mail servers' state directory, with the schemas of
    /// `<repo>/../shared/fixtures/ews` (`SERVERSYNC_SHARED` overrides the shared directory).
    pub fn start(mail: &MailServers) -> EwsServer {
        EwsServer { server: Started::start("ews", mail.dir()) }
    }

    /// Like [`EwsServer::start`], also serving on 127.0.0.1:443, where Autodiscover's standard
    /// URLs for the domain `localhost` lead. One such server at a time.
    pub fn start_on_443(mail: &MailServers) -> EwsServer {
        EwsServer { server: Started::start_env("ews", mail.dir(), &[("EWS_AUTODISCOVER_PORT", "443")]) }
    }

    /// `https://127.0.0.1:<port>/EWS/Exchange.asmx`.
    pub fn ews_url(&self) -> String {
        self.server.text("ews_url")
    }

    /// `https://127.0.0.1:<port>`: Autodiscover is at `/autodiscover/autodiscover.xml` (POX) and
    /// `/autodiscover/autodiscover.svc` (SOAP).
    pub fn base_url(&self) -> String {
        self.server.text("base")
    }

    /// The HTTPS port.
    pub fn port(&self) -> u16 {
        self.server.port("port")
    }

    fn admin(&self) -> u16 {
        self.server.port("admin_port")
    }

    /// Adds a mailbox (or sets its password and role). NTLM user name: the address's local part,
    /// domain `CONTOSO` (or the whole address); `impersonation`: the account holds the
    /// ApplicationImpersonation role.
    pub fn add_user(&self, mail: &str, password: &str, impersonation: bool) {
        admin::json(
            self.admin(),
            "POST",
            "/users",
            &json!({"mail": mail, "password": password, "impersonation": impersonation}),
        );
    }

    /// Lets a Microsoft Entra app act for every mailbox (Hybrid Modern Auth), signing in with the
    /// tokens that the server found at `token_lookup_url` issued it for this server.
    pub fn trust_app(&self, client_id: &str, token_lookup_url: &str) {
        admin::json(self.admin(), "POST", "/apps", &json!({"client_id": client_id}));
        self.configure(json!({"entra_token_url": token_lookup_url}));
    }

    /// Lets `Authorization: Bearer <token>` sign in as `mail`.
    pub fn add_token(&self, token: &str, mail: &str) {
        admin::json(self.admin(), "POST", "/tokens", &json!({"token": token, "mail": mail}));
    }

    /// Puts a message (raw MIME, kept byte for byte) in the user's Inbox; returns its ItemId.
    pub fn deliver(&self, mail: &str, raw: &[u8]) -> String {
        let out = admin::call(self.admin(), "POST", &format!("/users/{}/deliver", encode(mail)), raw);
        let v: Value = serde_json::from_slice(&out).unwrap_or(Value::Null);
        v["id"].as_str().map(str::to_owned).unwrap_or_else(|| panic!("deliver: no id in {v}"))
    }

    /// The messages of a folder (`inbox`, `sentitems`, or a display name such as `Undeliverable`),
    /// oldest first: `[{"id", "folder", "subject", "internet_message_id", "to", "cc", "bcc",
    /// "raw_b64", …}]`.
    pub fn messages(&self, mail: &str, folder: &str) -> Value {
        let path = format!("/users/{}/messages?folder={}", encode(mail), encode(folder));
        admin::json(self.admin(), "GET", &path, &Value::Null)
    }

    /// Sets a fault for the next EWS requests, e.g.
    /// `{"kind": "server_busy", "backoff_ms": 500, "count": 2, "user": "a@contoso.com"}`,
    /// `{"kind": "expire_syncstate", "user": "a@contoso.com"}`, `{"kind": "slow", "seconds": 2}`,
    /// `{"kind": "malformed"}`.
    pub fn fault(&self, fault: Value) {
        admin::json(self.admin(), "POST", "/faults", &fault);
    }

    /// Changes settings, e.g. `{"basic": false}`, `{"pox": false}`, `{"pox_redirect_url": "…"}`,
    /// `{"ews_url_override": "…"}`.
    /// Forgets every streaming subscription, as a restarted server would.
    pub fn forget_subscriptions(&self) -> u64 {
        admin::json(self.admin(), "POST", "/forget-subscriptions", &Value::Null)["forgotten"]
            .as_u64()
            .unwrap_or_default()
    }

    pub fn configure(&self, config: Value) {
        admin::json(self.admin(), "POST", "/configure", &config);
    }

    /// Every request so far: `[{"t", "operation", "auth", "user", "acting_as", "status",
    /// "server_version", "response_code", …}]`.
    pub fn requests(&self) -> Value {
        admin::json(self.admin(), "GET", "/requests", &Value::Null)
    }

    /// Requests that broke the schemas or the protocol, and answers of the server's own that did:
    /// `[{"what", "error", …}]`; empty when all is well.
    pub fn violations(&self) -> Value {
        admin::json(self.admin(), "GET", "/violations", &Value::Null)
    }

    /// The messages sent with CreateItem: `[{"from", "to", "cc", "bcc", "message_id", "subject", …}]`.
    pub fn outbound(&self) -> Value {
        admin::json(self.admin(), "GET", "/outbound", &Value::Null)
    }

    /// Clears the request log, the violations and the outbound log.
    pub fn reset_log(&self) {
        admin::json(self.admin(), "POST", "/reset-log", &Value::Null);
    }
}
