//! What Microsoft Graph sends and what is sent to it, as plain data: the token reply, the error
//! body, a page of the Inbox's delta, and `Retry-After`. Every parser here is pure, never panics
//! on what a server sends (it is fuzzed), and refuses links that leave the Graph endpoint: a
//! lying server must not be able to send the bearer token elsewhere.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::time::Duration;

/// A token endpoint's success reply.
#[derive(Deserialize)]
pub struct TokenReply {
    pub access_token: String,
    #[serde(default)]
    pub expires_in: Option<serde_json::Value>,
}

impl std::fmt::Debug for TokenReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenReply").field("access_token", &"<redacted>").field("expires_in", &self.expires_in).finish()
    }
}

impl TokenReply {
    /// The token's lifetime (`expires_in` is a number, or a string of digits on older endpoints).
    pub fn lifetime(&self) -> Duration {
        let secs = match &self.expires_in {
            Some(serde_json::Value::Number(n)) => n.as_u64(),
            Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        };
        Duration::from_secs(secs.unwrap_or(3599).min(24 * 3600))
    }
}

/// A token endpoint's refusal (Microsoft Entra: `error`, `error_description` with its AADSTS
/// number, `error_codes`).
#[derive(Debug, Default, Deserialize)]
pub struct TokenRefusal {
    #[serde(default)]
    pub error: String,
    #[serde(default)]
    pub error_description: String,
    #[serde(default)]
    pub error_codes: Vec<i64>,
}

impl TokenRefusal {
    /// The AADSTS number, from `error_codes` or the description's prefix.
    pub fn aadsts(&self) -> Option<i64> {
        self.error_codes.first().copied().or_else(|| {
            let rest = self.error_description.strip_prefix("AADSTS")?;
            rest.chars().take_while(char::is_ascii_digit).collect::<String>().parse().ok()
        })
    }

    /// The first line of the description (Entra appends trace and correlation ids).
    pub fn summary(&self) -> String {
        let first = self.error_description.lines().next().unwrap_or_default().trim();
        if first.is_empty() { self.error.clone() } else { first.to_owned() }
    }
}

/// Graph's error body: `{"error": {"code": …, "message": …}}`.
#[derive(Debug, Default, Deserialize)]
pub struct ODataError {
    #[serde(default)]
    pub error: ODataErrorMain,
}

#[derive(Debug, Default, Deserialize)]
pub struct ODataErrorMain {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
}

/// Reads an error body; anything else (HTML from a proxy, nothing) gives empty fields.
pub fn odata_error(body: &[u8]) -> ODataErrorMain {
    serde_json::from_slice::<ODataError>(body).map(|e| e.error).unwrap_or_default()
}

/// `Retry-After` as seconds (Graph sends seconds; an HTTP date is read too), bounded.
pub fn retry_after(value: Option<&str>, now: DateTime<Utc>, max: Duration) -> Option<Duration> {
    let v = value?.trim();
    let wait = if let Ok(secs) = v.parse::<u64>() {
        Duration::from_secs(secs)
    } else if let Ok(secs) = v.parse::<f64>() {
        Duration::try_from_secs_f64(secs).ok()?
    } else {
        let at = DateTime::parse_from_rfc2822(v).ok()?.with_timezone(&Utc);
        (at - now).to_std().unwrap_or(Duration::ZERO)
    };
    Some(wait.min(max))
}

/// One entry of a delta page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeltaItem {
    /// A message now in the folder.
    Message { id: String, received: Option<DateTime<Utc>> },
    /// A message that left the folder (moved or deleted).
    Removed { id: String },
}

/// One page of a delta query: its entries and the link to what follows (`next`, within this
/// round) or to the next round (`delta`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeltaPage {
    pub items: Vec<DeltaItem>,
    pub next: Option<String>,
    pub delta: Option<String>,
}

#[derive(Deserialize)]
struct RawPage {
    #[serde(default)]
    value: Vec<serde_json::Value>,
    #[serde(rename = "@odata.nextLink")]
    next: Option<String>,
    #[serde(rename = "@odata.deltaLink")]
    delta: Option<String>,
}

/// Why a delta page was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageError {
    /// Not the JSON of a delta page.
    Malformed(String),
    /// A link that leaves the Graph endpoint, or a page with neither link.
    BadLink(String),
}

/// Parses a delta page; its links must start with `base` (the profile's Graph endpoint).
pub fn delta_page(body: &[u8], base: &str) -> Result<DeltaPage, PageError> {
    let raw: RawPage = serde_json::from_slice(body).map_err(|e| PageError::Malformed(e.to_string()))?;
    let mut items = Vec::with_capacity(raw.value.len());
    for v in raw.value {
        let Some(id) = v.get("id").and_then(|i| i.as_str()).filter(|i| !i.is_empty()) else {
            return Err(PageError::Malformed("an entry without an id".into()));
        };
        let id = id.to_owned();
        if v.get("@removed").is_some() {
            items.push(DeltaItem::Removed { id });
            continue;
        }
        let received = v
            .get("receivedDateTime")
            .and_then(|r| r.as_str())
            .and_then(|r| DateTime::parse_from_rfc3339(r).ok())
            .map(|d| d.with_timezone(&Utc));
        items.push(DeltaItem::Message { id, received });
    }
    for link in raw.next.iter().chain(&raw.delta) {
        if !same_origin(link, base) {
            return Err(PageError::BadLink(link.clone()));
        }
    }
    if raw.next.is_none() && raw.delta.is_none() {
        return Err(PageError::BadLink(String::new()));
    }
    Ok(DeltaPage { items, next: raw.next, delta: raw.delta })
}

/// Whether `link` is under `base` (scheme, host and port; `base` has no trailing slash).
pub fn same_origin(link: &str, base: &str) -> bool {
    let base = base.trim_end_matches('/');
    link.len() > base.len()
        && link.is_char_boundary(base.len())
        && link[..base.len()].eq_ignore_ascii_case(base)
        && link[base.len()..].starts_with('/')
}

/// A mail folder as listed.
#[derive(Debug, Clone, Deserialize)]
pub struct MailFolder {
    pub id: String,
    #[serde(default, rename = "displayName")]
    pub display_name: String,
    #[serde(default, rename = "totalItemCount")]
    pub total_item_count: Option<i64>,
}

/// A list of folders (`value`).
#[derive(Debug, Deserialize)]
pub struct FolderList {
    #[serde(default)]
    pub value: Vec<MailFolder>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "https://graph.example.test";

    #[test]
    fn a_page_lists_messages_and_removals_and_keeps_its_links() {
        let body = br#"{"@odata.context":"x","value":[
            {"@odata.etag":"W/1","id":"AAA","receivedDateTime":"2026-12-01T10:00:00Z","subject":"s"},
            {"id":"BBB","@removed":{"reason":"deleted"}}],
            "@odata.nextLink":"https://graph.example.test/v1.0/users/a/mailFolders/inbox/messages/delta?$skiptoken=1"}"#;
        let page = delta_page(body, BASE).map_err(|e| format!("{e:?}"));
        let page = page.unwrap_or_default();
        assert_eq!(page.items.len(), 2);
        assert!(matches!(&page.items[0], DeltaItem::Message { id, received: Some(_) } if id == "AAA"));
        assert_eq!(page.items[1], DeltaItem::Removed { id: "BBB".into() });
        assert!(page.next.is_some() && page.delta.is_none());
    }

    #[test]
    fn links_that_leave_the_endpoint_or_pages_without_links_are_refused() {
        for body in [
            r#"{"value":[],"@odata.deltaLink":"https://evil.test/v1.0/x?$deltatoken=1"}"#,
            r#"{"value":[],"@odata.deltaLink":"https://graph.example.test.evil.test/v1.0/x"}"#,
            r#"{"value":[]}"#,
        ] {
            assert!(matches!(delta_page(body.as_bytes(), BASE), Err(PageError::BadLink(_))), "{body}");
        }
        for body in ["", "{", r#"{"value":[{"subject":"no id"}],"@odata.deltaLink":"x"}"#, r#"{"value":7}"#] {
            assert!(matches!(delta_page(body.as_bytes(), BASE), Err(PageError::Malformed(_))), "{body}");
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_dates_within_a_bound() {
        let now = DateTime::parse_from_rfc3339("2026-12-04T10:00:00Z").map(|d| d.with_timezone(&Utc));
        let now = now.unwrap_or_default();
        let max = Duration::from_secs(60);
        assert_eq!(retry_after(Some("3"), now, max), Some(Duration::from_secs(3)));
        assert_eq!(retry_after(Some(" 0.5 "), now, max), Some(Duration::from_millis(500)));
        assert_eq!(retry_after(Some("86400"), now, max), Some(max));
        assert_eq!(retry_after(Some("Fri, 04 Dec 2026 10:00:07 GMT"), now, max), Some(Duration::from_secs(7)));
        assert_eq!(retry_after(Some("soon"), now, max), None);
        assert_eq!(retry_after(None, now, max), None);
    }

    #[test]
    fn token_refusals_give_their_aadsts_number() {
        let r: TokenRefusal = serde_json::from_str(
            r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 1"}"#,
        )
        .unwrap_or_default();
        assert_eq!(r.aadsts(), Some(7000215));
        assert_eq!(r.summary(), "AADSTS7000215: Invalid client secret provided.");
    }
}
