//! Every way a mail connection fails, as an engine error with a stable code: permanent failures
//! ([`ErrorKind::Server`]: someone must fix a setting, a password or a certificate) and transient
//! ones ([`ErrorKind::Unavailable`]: timeout, reset, busy; trying later may work). The table of
//! codes and their classes is spec §3.11/§3.13 applied to IMAP, POP3 and SMTP.

use crate::{Error, ErrorKind};
use std::io;

/// Codes, listed once so tests and the catalogs can name them.
pub mod code {
    pub const HOST_NOT_FOUND: &str = "mail.host_not_found";
    pub const CONNECTION_REFUSED: &str = "mail.connection_refused";
    pub const TIMEOUT: &str = "mail.timeout";
    pub const CONNECTION_LOST: &str = "mail.connection_lost";
    pub const TLS_UNTRUSTED: &str = "mail.tls.untrusted";
    pub const TLS_NAME_MISMATCH: &str = "mail.tls.name_mismatch";
    pub const TLS_EXPIRED: &str = "mail.tls.expired";
    pub const TLS_FAILED: &str = "mail.tls.failed";
    pub const TLS_NOT_OFFERED: &str = "mail.tls.not_offered";
    pub const CA_FILE: &str = "mail.ca_file.unreadable";
    pub const AUTH_FAILED: &str = "mail.auth.failed";
    pub const AUTH_FAILED_MAILBOX: &str = "mail.auth.failed_mailbox";
    pub const AUTH_FAILED_PROFILE: &str = "mail.auth.failed_profile";
    pub const AUTH_UNSUPPORTED: &str = "mail.auth.unsupported";
    pub const AUTH_REQUIRES_TLS: &str = "mail.auth.requires_tls";
    pub const SERVER_BUSY: &str = "mail.server_busy";
    pub const SERVER_REFUSED: &str = "mail.server_refused";
    pub const PROTOCOL: &str = "mail.protocol_error";
}

/// The longest server reply quoted in a message.
const MAX_REPLY: usize = 200;

/// A server's reply, made safe to show: one line, printable, bounded.
pub fn quote_reply(reply: &str) -> String {
    let mut s: String = reply.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() > MAX_REPLY {
        s = s.chars().take(MAX_REPLY).collect::<String>() + "…";
    }
    s
}

pub fn host_not_found(host: &str) -> Error {
    Error::new(ErrorKind::Server, code::HOST_NOT_FOUND).param("host", host)
}

pub fn ca_file(path: &str) -> Error {
    Error::new(ErrorKind::Server, code::CA_FILE).param("path", path)
}

pub fn timeout(host: &str, seconds: u64) -> Error {
    Error::new(ErrorKind::Unavailable, code::TIMEOUT).param("host", host).param("seconds", seconds)
}

pub fn tls_not_offered(host: &str) -> Error {
    Error::new(ErrorKind::Server, code::TLS_NOT_OFFERED).param("host", host)
}

pub fn auth_failed(host: &str, reply: &str) -> Error {
    Error::new(ErrorKind::Server, code::AUTH_FAILED).param("host", host).with_detail(quote_reply(reply))
}

pub fn auth_unsupported(host: &str, offered: &str) -> Error {
    Error::new(ErrorKind::Server, code::AUTH_UNSUPPORTED).param("host", host).param("offered", quote_reply(offered))
}

/// The server accepts a sign-in only over an encrypted connection: the password was not sent.
pub fn requires_tls(host: &str, reply: &str) -> Error {
    Error::new(ErrorKind::Server, code::AUTH_REQUIRES_TLS).param("host", host).with_detail(quote_reply(reply))
}

pub fn server_busy(host: &str, reply: &str) -> Error {
    Error::new(ErrorKind::Unavailable, code::SERVER_BUSY).param("host", host).param("reply", quote_reply(reply))
}

pub fn server_refused(host: &str, reply: &str) -> Error {
    Error::new(ErrorKind::Server, code::SERVER_REFUSED).param("host", host).param("reply", quote_reply(reply))
}

pub fn protocol(host: &str, detail: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Server, code::PROTOCOL).param("host", host).with_detail(detail)
}

pub fn connection_lost(host: &str) -> Error {
    Error::new(ErrorKind::Unavailable, code::CONNECTION_LOST).param("host", host)
}

/// A rustls error met during the handshake, as the administrator can act on it.
pub fn tls(host: &str, e: &rustls::Error) -> Error {
    use rustls::CertificateError as C;
    let code = match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer | C::BadSignature | C::InvalidPurpose | C::ApplicationVerificationFailure => {
                code::TLS_UNTRUSTED
            }
            C::NotValidForName | C::NotValidForNameContext { .. } => code::TLS_NAME_MISMATCH,
            C::Expired | C::ExpiredContext { .. } | C::NotValidYet | C::NotValidYetContext { .. } => code::TLS_EXPIRED,
            C::Other(_) => code::TLS_UNTRUSTED,
            _ => code::TLS_FAILED,
        },
        _ => code::TLS_FAILED,
    };
    Error::new(ErrorKind::Server, code).param("host", host).with_detail(e)
}

/// An HTTP client's failure (Graph, EWS) as the administrator can act on it: a timeout, a TLS
/// failure, a host that does not resolve, a refused or lost connection.
pub fn http(host: &str, limit: std::time::Duration, e: &reqwest::Error) -> Error {
    if e.is_timeout() {
        return timeout(host, limit.as_secs());
    }
    let source: &(dyn std::error::Error + 'static) = e;
    if let Some(r) = find_rustls(source) {
        return tls(host, r);
    }
    let mut cur = std::error::Error::source(e);
    while let Some(s) = cur {
        if let Some(err) = s.downcast_ref::<io::Error>() {
            return self::io(host, 443, err);
        }
        let text = s.to_string();
        if text.contains("dns error") || text.contains("failed to lookup address") {
            return host_not_found(host).with_detail(text);
        }
        cur = s.source();
    }
    if e.is_connect() {
        return Error::new(ErrorKind::Unavailable, code::CONNECTION_REFUSED).param("host", host).with_detail(e);
    }
    connection_lost(host).with_detail(e)
}

/// Finds the rustls error inside an error chain (io errors wrap it during a handshake).
pub fn find_rustls<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut cur: Option<&'a (dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        if let Some(io) = err.downcast_ref::<io::Error>()
            && let Some(inner) = io.get_ref()
            && let Some(r) = inner.downcast_ref::<rustls::Error>()
        {
            return Some(r);
        }
        cur = err.source();
    }
    None
}

/// Finds the io error inside an error chain.
pub fn find_io<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a io::Error> {
    let mut cur: Option<&'a (dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<io::Error>() {
            return Some(io);
        }
        cur = err.source();
    }
    None
}

/// An io error on a connection to `host:port`.
pub fn io(host: &str, port: u16, e: &io::Error) -> Error {
    if let Some(inner) = e.get_ref()
        && let Some(r) = inner.downcast_ref::<rustls::Error>()
    {
        return tls(host, r);
    }
    use io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused => {
            Error::new(ErrorKind::Server, code::CONNECTION_REFUSED).param("host", host).param("port", port)
        }
        K::TimedOut => Error::new(ErrorKind::Unavailable, code::TIMEOUT).param("host", host).with_detail(e),
        K::InvalidData => protocol(host, e),
        _ => connection_lost(host).with_detail(e),
    }
}

/// What a server's refusal means, read from its response code (IMAP RFC 5530, POP3 RFC 2449 and
/// 3206, SMTP RFC 3463 enhanced codes) rather than from its words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meaning {
    /// The credentials are wrong or no longer valid.
    Credentials,
    /// Signing in needs an encrypted connection.
    RequiresTls,
    /// Try again later.
    Busy,
    /// Refused for another reason.
    Refused,
}

/// The error for a refusal of that meaning, quoting the server's `reply`.
pub fn refusal(m: Meaning, host: &str, reply: &str) -> Error {
    match m {
        Meaning::Credentials => auth_failed(host, reply),
        Meaning::RequiresTls => requires_tls(host, reply),
        Meaning::Busy => server_busy(host, reply),
        Meaning::Refused => server_refused(host, reply),
    }
}

/// Whether a failure is the profile's (its server location, port, encryption, certificate
/// authority or credentials) rather than one mailbox's: such failures are also raised on the
/// profile, whose owner must act (spec §3.11, "profile/server-level").
pub fn is_server_level(c: &str) -> bool {
    matches!(
        c,
        code::HOST_NOT_FOUND
            | code::CONNECTION_REFUSED
            | code::TLS_UNTRUSTED
            | code::TLS_NAME_MISMATCH
            | code::TLS_EXPIRED
            | code::TLS_FAILED
            | code::TLS_NOT_OFFERED
            | code::CA_FILE
            | code::AUTH_FAILED_PROFILE
            | code::AUTH_UNSUPPORTED
            | code::AUTH_REQUIRES_TLS
            | code::PROTOCOL
    )
}

/// Whether an error is about who signed in (so it names the credentials that were used).
pub fn is_auth_failure(e: &Error) -> bool {
    e.code() == code::AUTH_FAILED
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_quoted_on_one_bounded_line() {
        assert_eq!(
            quote_reply("NO [AUTHENTICATIONFAILED]\r\n  Authentication failed."),
            "NO [AUTHENTICATIONFAILED] Authentication failed."
        );
        let long = "x".repeat(1000);
        assert_eq!(quote_reply(&long).chars().count(), MAX_REPLY + 1);
        assert_eq!(quote_reply("a\u{1b}[31mb"), "a [31mb");
    }

    #[test]
    fn certificate_errors_say_what_to_fix() {
        let untrusted = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        assert_eq!(tls("h", &untrusted).code(), code::TLS_UNTRUSTED);
        let expired = rustls::Error::InvalidCertificate(rustls::CertificateError::Expired);
        assert_eq!(tls("h", &expired).code(), code::TLS_EXPIRED);
        let name = rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName);
        assert_eq!(tls("h", &name).code(), code::TLS_NAME_MISMATCH);
        let wrapped = io::Error::new(io::ErrorKind::InvalidData, untrusted);
        assert_eq!(io("h", 993, &wrapped).code(), code::TLS_UNTRUSTED);
    }

    #[test]
    fn network_errors_are_classified() {
        let refused = io("h", 1, &io::Error::from(io::ErrorKind::ConnectionRefused));
        assert_eq!((refused.code(), refused.kind()), (code::CONNECTION_REFUSED, ErrorKind::Server));
        let reset = io("h", 1, &io::Error::from(io::ErrorKind::ConnectionReset));
        assert_eq!((reset.code(), reset.kind()), (code::CONNECTION_LOST, ErrorKind::Unavailable));
        assert!(reset.kind().is_transient() && !refused.kind().is_transient());
    }
}
