//! The Microsoft Graph test server (tests/servers/graph), started beside the mail servers (it
//! serves their certificate, so the tests trust it through the same throwaway CA).

use crate::admin::{self, Started};
use crate::mail::MailServers;
use serde_json::{Value, json};

/// A running Graph test server.
#[derive(Debug)]
pub struct GraphServer {
    server: Started,
}

impl GraphServer {
    pub fn start(mail: &MailServers) -> GraphServer {
        GraphServer { server: Started::start("graph", mail.dir()) }
    }

    /// `https://127.0.0.1:<port>`: both the sign-in host and the Graph endpoint.
    pub fn base_url(&self) -> String {
        self.server.text("base")
    }

    fn admin(&self) -> u16 {
        self.server.port("admin_port")
    }

    /// Registers an app: a client secret or a certificate (PEM), for these users ("*": all).
    pub fn add_app(
        &self,
        tenant: &str,
        client_id: &str,
        secret: Option<&str>,
        certificate_pem: Option<&str>,
        users: &[&str],
    ) {
        let users = if users == ["*"] { json!("*") } else { json!(users) };
        admin::json(
            self.admin(),
            "POST",
            "/apps",
            &json!({"tenant": tenant, "client_id": client_id, "secret": secret, "certificate_pem": certificate_pem, "users": users}),
        );
    }

    /// Registers an app with a client secret that may also get tokens for `resource` (an
    /// Exchange Server's `https://host:port`, for Hybrid Modern Auth).
    pub fn add_app_for_resource(&self, tenant: &str, client_id: &str, secret: &str, resource: &str) {
        admin::json(
            self.admin(),
            "POST",
            "/apps",
            &json!({"tenant": tenant, "client_id": client_id, "secret": secret, "users": "*", "resources": [resource]}),
        );
    }

    /// Where another test server looks the tokens of this one up (`GET <url>/<token>`).
    pub fn token_lookup_url(&self) -> String {
        format!("http://127.0.0.1:{}/tokens", self.admin())
    }

    pub fn add_user(&self, mail: &str, licensed: bool, enabled: bool) {
        admin::json(self.admin(), "POST", "/users", &json!({"mail": mail, "licensed": licensed, "enabled": enabled}));
    }

    /// Puts a message in the user's Inbox; returns its id.
    pub fn deliver(&self, mail: &str, raw: &[u8]) -> String {
        let out = admin::call(self.admin(), "POST", &format!("/users/{mail}/deliver"), raw);
        serde_json::from_slice::<Value>(&out).ok().and_then(|v| v["id"].as_str().map(str::to_owned)).unwrap_or_default()
    }

    /// The messages of a folder (`inbox`, `sentitems`, a display name).
    pub fn messages(&self, mail: &str, folder: &str) -> Value {
        admin::json(self.admin(), "GET", &format!("/users/{mail}/messages?folder={folder}"), &Value::Null)
    }

    pub fn fault(&self, fault: Value) {
        admin::json(self.admin(), "POST", "/faults", &fault);
    }

    pub fn requests(&self) -> Value {
        admin::json(self.admin(), "GET", "/requests", &Value::Null)
    }

    pub fn violations(&self) -> Value {
        admin::json(self.admin(), "GET", "/violations", &Value::Null)
    }

    pub fn max_concurrency(&self) -> Value {
        admin::json(self.admin(), "GET", "/concurrency", &Value::Null)
    }

    pub fn outbound(&self) -> Value {
        admin::json(self.admin(), "GET", "/outbound", &Value::Null)
    }
}
