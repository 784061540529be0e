//! IMAP (RFC 9051 / 3501) through async-imap, over our own TCP/TLS stream so that STARTTLS,
//! certificate checks and timeouts are the same as for every other protocol.

use super::net::{Endpoint, MailStream, Security};
use super::{InboxState, Login, StepKind, Steps, failure};
use crate::{Error, Result};
use async_imap::{Client, Session};

type ImapError = async_imap::error::Error;

/// An IMAP error as an engine error. `NO` answers to a sign-in are wrong credentials; other `NO`
/// answers are refusals, unless the server says it is unavailable for now.
fn imap_error(ep: &Endpoint, e: ImapError) -> Error {
    match e {
        ImapError::Io(io) => failure::io(&ep.host, ep.port, &io),
        ImapError::No(text) | ImapError::Bad(text) if is_busy(&text) => failure::server_busy(&ep.host, &text),
        ImapError::No(text) => failure::server_refused(&ep.host, &text),
        ImapError::Bad(text) => failure::protocol(&ep.host, format!("BAD {text}")),
        ImapError::ConnectionLost => failure::connection_lost(&ep.host),
        other => failure::protocol(&ep.host, other),
    }
}

/// RFC 5530 response codes that mean "try again later".
fn is_busy(text: &str) -> bool {
    let t = text.to_ascii_uppercase();
    t.contains("[UNAVAILABLE]") || t.contains("[INUSE]") || t.contains("[LIMIT]") || t.contains("[SERVERBUG]")
}

struct XOAuth2(zeroize::Zeroizing<String>);

impl async_imap::Authenticator for XOAuth2 {
    type Response = Vec<u8>;
    fn process(&mut self, challenge: &[u8]) -> Vec<u8> {
        if challenge.is_empty() {
            self.0.as_bytes().to_vec()
        } else {
            // The server's error details (a JSON document); an empty answer ends the exchange.
            Vec::new()
        }
    }
}

struct Plain(zeroize::Zeroizing<String>);

impl async_imap::Authenticator for Plain {
    type Response = Vec<u8>;
    fn process(&mut self, _challenge: &[u8]) -> Vec<u8> {
        self.0.as_bytes().to_vec()
    }
}

/// Reads the greeting: `* OK` (or `* PREAUTH`); `* BYE` means the server will not talk now.
async fn greeting(ep: &Endpoint, client: &mut Client<MailStream>) -> Result<String> {
    let resp = ep
        .bounded(async { client.read_response().await.map_err(|e| failure::io(&ep.host, ep.port, &e)) })
        .await?
        .ok_or_else(|| failure::connection_lost(&ep.host))?;
    let text = String::from_utf8_lossy(resp.borrow_owner()).trim_end().to_owned();
    let upper = text.to_ascii_uppercase();
    if upper.starts_with("* OK") || upper.starts_with("* PREAUTH") {
        Ok(text)
    } else if upper.starts_with("* BYE") {
        Err(failure::server_busy(&ep.host, &text))
    } else {
        Err(failure::protocol(&ep.host, format!("unexpected greeting: {}", failure::quote_reply(&text))))
    }
}

/// Connects, reads the greeting and starts TLS as the profile says; returns the client, ready to
/// sign in, and the greeting.
pub async fn connect(ep: &Endpoint, steps: &mut Steps) -> Result<(Client<MailStream>, String)> {
    let addrs = steps.run_with(StepKind::Resolve, ep.resolve(), |a| super::addresses(a)).await?;
    let tcp = steps.run(StepKind::Connect, ep.connect_tcp(&addrs)).await?;
    let stream = match ep.security {
        Security::Implicit => steps.run(StepKind::Tls, ep.start_tls(tcp)).await?,
        Security::StartTls | Security::None => MailStream::Plain(tcp),
    };
    let mut client = Client::new(stream);
    let greeting_text = steps.run_with(StepKind::Greeting, greeting(ep, &mut client), |g| g.clone()).await?;
    if ep.security == Security::StartTls {
        steps
            .run(StepKind::StartTls, async {
                ep.bounded(async {
                    client.run_command_and_check_ok("STARTTLS", None).await.map_err(|e| match e {
                        ImapError::No(_) | ImapError::Bad(_) => failure::tls_not_offered(&ep.host),
                        other => imap_error(ep, other),
                    })
                })
                .await
            })
            .await?;
        let plain = client.into_inner();
        let secured = steps.run(StepKind::Tls, plain.upgrade(ep)).await?;
        client = Client::new(secured);
    }
    Ok((client, greeting_text))
}

/// Connects, starts TLS as the profile says, and signs in.
pub async fn sign_in(ep: &Endpoint, login: &Login, steps: &mut Steps) -> Result<Session<MailStream>> {
    let (client, greeting_text) = connect(ep, steps).await?;
    let host = ep.host.clone();
    let session = steps
        .run(StepKind::Authenticate, async {
            if greeting_text.to_ascii_uppercase().contains("PREAUTH") {
                return Err(failure::protocol(&host, "the server signed in before being asked (PREAUTH)"));
            }
            let attempt = match login {
                Login::Password { user, password } => {
                    if greeting_text.to_ascii_uppercase().contains("AUTH=PLAIN") {
                        let plain = Login::plain_response(user, password);
                        ep.bounded(async { Ok(client.authenticate("PLAIN", Plain(plain)).await) }).await?
                    } else {
                        ep.bounded(async { Ok(client.login(user, password.expose()).await) }).await?
                    }
                }
                Login::OAuth2 { user, token } => {
                    let r = Login::xoauth2_response(user, token);
                    ep.bounded(async { Ok(client.authenticate("XOAUTH2", XOAuth2(r)).await) }).await?
                }
                Login::Anonymous => return Err(failure::auth_unsupported(&host, "anonymous")),
            };
            attempt.map_err(|(e, _client)| match e {
                ImapError::No(text) if !is_busy(&text) => failure::auth_failed(&host, &text),
                other => imap_error(ep, other),
            })
        })
        .await?;
    Ok(session)
}

/// Signs in, opens the Inbox read-only and reads how many messages it holds, then logs out.
pub async fn test(ep: &Endpoint, login: &Login, steps: &mut Steps) -> Result<InboxState> {
    let mut session = sign_in(ep, login, steps).await?;
    let inbox = steps
        .run_with(
            StepKind::OpenInbox,
            ep.bounded(async { session.examine("INBOX").await.map_err(|e| imap_error(ep, e)) }),
            |m| format!("{} messages, UIDVALIDITY {}", m.exists, m.uid_validity.unwrap_or_default()),
        )
        .await?;
    // A failed goodbye does not make the test fail: the mailbox worked.
    let _ =
        steps.run(StepKind::Logout, ep.bounded(async { session.logout().await.map_err(|e| imap_error(ep, e)) })).await;
    Ok(InboxState { messages: inbox.exists })
}
