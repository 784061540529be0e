//! Small field checks shared by the rules: required, bounded, in range; email addresses, hosts,
//! URLs and GUIDs as typed in a form.

use crate::{Error, Result};

pub(super) fn required(field: &'static str, value: &str) -> Result<()> {
    if value.trim().is_empty() { Err(Error::validation("field.required").param("field", field)) } else { Ok(()) }
}

pub(super) fn max_len(field: &'static str, value: &str, max: usize) -> Result<()> {
    if value.chars().count() > max {
        Err(Error::validation("field.too_long").param("field", field).param("max", max))
    } else {
        Ok(())
    }
}

/// The inclusive bounds of a numeric field: Save refuses a value outside them, and the forms take
/// them from here (through the API's form catalog) instead of copying them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    pub field: &'static str,
    pub min: u64,
    pub max: u64,
}

impl Bounds {
    pub(super) const fn new(field: &'static str, min: u64, max: u64) -> Bounds {
        Bounds { field, min, max }
    }

    /// Refuses `value` outside the bounds, naming the field and the bounds.
    pub(super) fn check(&self, value: impl Into<u64>) -> Result<()> {
        in_range(self.field, value.into(), self.min, self.max)
    }
}

pub(super) fn in_range(field: &'static str, value: u64, min: u64, max: u64) -> Result<()> {
    if value < min || value > max {
        Err(Error::validation("field.out_of_range")
            .param("field", field)
            .param("min", min)
            .param("max", max)
            .param("value", value))
    } else {
        Ok(())
    }
}

/// A syntactically valid email address (one `@`, a non-empty local part, a dotted or `localhost`
/// domain, no spaces or control characters). Deliverability is for Test & Enable to find out.
pub fn is_valid_email(address: &str) -> bool {
    let Some((local, domain)) = address.split_once('@') else {
        return false;
    };
    let bad = |c: char| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '(' | ')' | ',' | ';' | '"');
    !local.is_empty()
        && local.len() <= 64
        && !domain.is_empty()
        && !domain.contains('@')
        && !address.chars().any(bad)
        && is_valid_host(domain)
}

/// A host name or IP literal as typed in a location field (no scheme, no port, no path).
pub fn is_valid_host(host: &str) -> bool {
    if host.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// An `https://` (or, without SSL, `http://`) URL with a valid host, as an EWS URL must be.
pub fn is_valid_http_url(url: &str, require_https: bool) -> bool {
    let rest = if let Some(r) = url.strip_prefix("https://") {
        r
    } else if let Some(r) = url.strip_prefix("http://") {
        if require_https {
            return false;
        }
        r
    } else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) && !port.is_empty() => h,
        _ => authority,
    };
    !url.chars().any(char::is_whitespace) && is_valid_host(host.trim_start_matches('[').trim_end_matches(']'))
}

/// A GUID in its 8-4-4-4-12 text form.
pub fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}
