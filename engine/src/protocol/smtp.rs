//! SMTP submission through lettre's connection, driven step by step so that each step is timed
//! and bounded: connect (and implicit TLS) with the greeting and EHLO, STARTTLS, AUTH, the test
//! message, QUIT. Certificates are verified by the platform verifier plus the profile's CA file
//! (lettre's rustls back end with the same rules as [`super::tls`]).

use super::net::{Endpoint, Security};
use super::{Login, StepKind, Steps, TEST_MESSAGE_SUBJECT, failure};
use crate::{Error, Result};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{Address, Message, message::Mailbox};

type SmtpError = lettre::transport::smtp::Error;

/// An SMTP error as an engine error: 535/534/530 are credentials, other 5xx refusals, 4xx busy.
fn smtp_error(ep: &Endpoint, e: &SmtpError, during_auth: bool) -> Error {
    if let Some(code) = e.status() {
        let reply = e.to_string();
        let n = u16::from(code);
        return match n {
            530 | 534 | 535 | 538 if during_auth => failure::auth_failed(&ep.host, &reply),
            400..=499 => failure::server_busy(&ep.host, &reply),
            _ => failure::server_refused(&ep.host, &reply),
        };
    }
    if let Some(r) = failure::find_rustls(e) {
        return failure::tls(&ep.host, r);
    }
    if e.is_timeout() {
        return failure::timeout(&ep.host, ep.timeout.as_secs());
    }
    if let Some(io) = failure::find_io(e) {
        return failure::io(&ep.host, ep.port, io);
    }
    if e.is_tls() {
        return Error::new(crate::ErrorKind::Server, failure::code::TLS_FAILED).param("host", &ep.host).with_detail(e);
    }
    failure::protocol(&ep.host, e)
}

/// lettre's TLS parameters for a server and the profile's CA file: the platform verifier plus
/// that file's authorities, as [`super::tls`] does for IMAP and POP3.
///
/// Built for each connection, on purpose: cached parameters share one session store, so TLS
/// sessions are resumed, and lettre does not set TCP_NODELAY; the resumed handshake's small
/// writes then wait on delayed ACKs. Measured with `bench/test-enable.sh` (200 mailboxes): one
/// connection at a time took 15.6 s cached against 13.1 s built each time.
fn tls_parameters(ep: &Endpoint) -> Result<TlsParameters> {
    super::tls::provider();
    let mut b = TlsParameters::builder(ep.host.clone());
    if !ep.ca_file.is_empty() {
        for der in super::tls::read_ca_file(&ep.ca_file)? {
            let cert = Certificate::from_der(der.to_vec()).map_err(|e| failure::ca_file(&ep.ca_file).with_detail(e))?;
            b = b.add_root_certificate(cert);
        }
    }
    b.build_rustls().map_err(|e| failure::ca_file(&ep.ca_file).with_detail(e))
}

/// The EHLO name: this machine's name where it is a valid domain, else a literal.
fn hello_name() -> ClientId {
    ClientId::default()
}

/// A new, globally unique Message-ID in the sender's domain (`<uuid@domain>`): every message
/// ServerSync sends carries one, so a reply's In-Reply-To finds it and a resend can be recognised.
pub fn new_message_id(domain: &str) -> String {
    let domain = domain.trim().trim_start_matches('[').trim_end_matches(']');
    let domain = if domain.is_empty() { "serversync.invalid" } else { domain };
    format!("<{}@{domain}>", uuid::Uuid::new_v4().simple())
}

/// The test message, from the mailbox to itself.
fn test_message(address: &str, host: &str) -> Result<Message> {
    let addr: Address = address
        .parse()
        .map_err(|_| Error::validation("field.not_an_email").param("field", "email_address").param("value", address))?;
    let message_id = new_message_id(addr.domain());
    let me = Mailbox::new(Some("ServerSync".to_owned()), addr);
    Message::builder()
        .message_id(Some(message_id))
        .from(me.clone())
        .to(me)
        .subject(TEST_MESSAGE_SUBJECT)
        .header(lettre::message::header::ContentType::TEXT_PLAIN)
        .body(format!(
            "{TEST_MESSAGE_SUBJECT}.\r\n\r\nThis message was sent by Test & Enable Mailboxes through {host} to check that \
             the mailbox can send email. It needs no answer.\r\n"
        ))
        .map_err(|e| failure::protocol(host, e))
}

/// Connects, starts TLS, signs in and (when `address` is given) sends the test message to it.
pub async fn test(ep: &Endpoint, login: &Login, address: Option<&str>, steps: &mut Steps) -> Result<()> {
    let message = address.map(|a| test_message(a, &ep.host)).transpose()?;
    let addrs = steps.run_with(StepKind::Resolve, ep.resolve(), |a| super::addresses(a)).await?;
    let params = match ep.security {
        Security::None => None,
        Security::Implicit | Security::StartTls => Some(tls_parameters(ep)?),
    };
    let implicit = if ep.security == Security::Implicit { params.clone() } else { None };
    let hello = hello_name();
    let mut conn = steps
        .run_with(
            StepKind::Connect,
            ep.bounded(async {
                let mut last = None;
                for a in &addrs {
                    match AsyncSmtpConnection::connect_tokio1(*a, Some(ep.timeout), &hello, implicit.clone(), None)
                        .await
                    {
                        Ok(c) => return Ok(c),
                        Err(e) => last = Some(smtp_error(ep, &e, false)),
                    }
                }
                Err(last.unwrap_or_else(|| failure::host_not_found(&ep.host)))
            }),
            |c| c.server_info().name().to_owned(),
        )
        .await?;
    if let (Security::StartTls, Some(p)) = (ep.security, params) {
        if !conn.can_starttls() {
            return steps.fail(StepKind::StartTls, failure::tls_not_offered(&ep.host));
        }
        steps
            .run(
                StepKind::StartTls,
                ep.bounded(async { conn.starttls(p, &hello).await.map_err(|e| smtp_error(ep, &e, false)) }),
            )
            .await?;
    }
    let (creds, mechanisms) = match login {
        Login::Password { user, password } => (
            Some(Credentials::new(user.clone(), password.expose().to_owned())),
            vec![Mechanism::Plain, Mechanism::Login],
        ),
        Login::OAuth2 { user, token } => {
            (Some(Credentials::new(user.clone(), token.expose().to_owned())), vec![Mechanism::Xoauth2])
        }
        Login::Anonymous => (None, Vec::new()),
    };
    if let Some(creds) = creds {
        steps
            .run(
                StepKind::Authenticate,
                ep.bounded(async {
                    let offered = conn.server_info().to_string();
                    if conn.server_info().get_auth_mechanism(&mechanisms).is_none() {
                        return Err(failure::auth_unsupported(&ep.host, &offered));
                    }
                    conn.auth(&mechanisms, &creds).await.map(|_| ()).map_err(|e| smtp_error(ep, &e, true))
                }),
            )
            .await?;
    }
    if let Some(m) = message {
        let envelope = m.envelope().clone();
        let bytes = m.formatted();
        steps
            .run_with(
                StepKind::SendTestMessage,
                ep.bounded(async { conn.send(&envelope, &bytes).await.map_err(|e| smtp_error(ep, &e, false)) }),
                |r| r.message().collect::<Vec<_>>().join(" "),
            )
            .await?;
    }
    let _ = steps
        .run(
            StepKind::Logout,
            ep.bounded(async { conn.quit().await.map(|_| ()).map_err(|e| smtp_error(ep, &e, false)) }),
        )
        .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_message_carries_a_message_id_in_the_senders_domain() {
        let m = test_message("alice@contoso.com", "smtp.contoso.com").unwrap_or_else(|e| panic!("{e}"));
        let raw = String::from_utf8_lossy(&m.formatted()).into_owned();
        let line = raw.lines().find(|l| l.to_ascii_lowercase().starts_with("message-id:")).unwrap_or_default();
        assert!(line.ends_with("@contoso.com>"), "{raw}");
        let other = test_message("alice@contoso.com", "smtp.contoso.com").unwrap_or_else(|e| panic!("{e}"));
        let other = String::from_utf8_lossy(&other.formatted()).into_owned();
        assert!(!other.contains(line), "two messages shared a Message-ID");
    }
}
