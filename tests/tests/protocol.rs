//! The protocol sessions against the real servers (Dovecot, Postfix on loopback): what sync will
//! do with them, and how they sign in where a server is strict. Dovecot counts a client of its
//! own address as secure, so the strict cases connect to 127.0.0.2 (from 127.0.0.1): there it
//! announces LOGINDISABLED, no AUTH= before TLS, and no USER in CAPA (tests/servers/up.sh).

use serversync::Engine;
use serversync::api;
use serversync::api::ProfileSecretKind;
use serversync::api::{
    CredentialMode, ProfileChanges, ProfileId, ServerType, SettingsChanges, TestExecutionStatus, TlsMode,
};
use serversync::protocol::imap::IdleEnd;
use serversync::protocol::{Direction, Security, Step, StepKind, StepOutcome, Unobserved, imap, pop3, smtp};
use serversync::secrets::Secret;
use serversync_tests::mail::{MailServers, endpoint, inbox_subjects, password, wait_for_subject};
use serversync_tests::memory_engine;
use serversync_tests::setup::{Sides, ok, profile};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const USERS: &[(&str, &str)] = &[("alice", "alice-pass"), ("bob", "bob-pass")];

fn message(n: u32, body: &str) -> Vec<u8> {
    format!(
        "Message-ID: <m{n}@localhost>\r\nFrom: bob@localhost\r\nTo: alice@localhost\r\nSubject: Message {n}\r\n\
         \r\n{body}\r\n"
    )
    .into_bytes()
}

/// A signed-in IMAP session does what sync needs: append, select, search, fetch streamed, store
/// flags, copy, move, status, IDLE woken by new mail and stopped on request, logout.
#[tokio::test]
async fn an_imap_session_appends_searches_fetches_flags_copies_moves_and_idles() {
    let servers = MailServers::start(USERS);
    let ep = endpoint(&servers, "localhost", "IMAPS_PORT", Security::Implicit);
    let mut s =
        imap::sign_in(&ep, &password("alice", "alice-pass"), &mut Unobserved).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(
        s.capabilities().has("IDLE") && s.capabilities().has("MOVE"),
        "post-login capabilities: {:?}",
        s.capabilities()
    );
    // A body with a line starting with a dot and one long line: both come back as they went.
    let long = "x".repeat(5000);
    for n in 1..=3 {
        ok(s.append("INBOX", None, &message(n, &format!(".dot {n}\r\n{long}"))).await);
    }
    let inbox = ok(s.select("INBOX").await);
    assert_eq!(inbox.exists, 3);
    assert!(inbox.uid_validity.is_some() && inbox.uid_next.is_some(), "{inbox:?}");
    let uids = ok(s.uid_search("ALL").await);
    assert_eq!(uids.len(), 3);

    let mut seen = Vec::new();
    ok(s.uid_fetch(&format!("{}:*", uids[0]), true, |m| {
        let body = String::from_utf8_lossy(m.body.as_deref().unwrap_or_default()).into_owned();
        seen.push((
            m.uid,
            m.size,
            body.contains(&format!("Subject: Message {}", seen.len() + 1)),
            body.contains(&long),
        ));
        Ok(())
    })
    .await);
    assert_eq!(seen.len(), 3, "{seen:?}");
    // A body fetch asks for the body alone (the listing gave sizes, flags and dates).
    assert!(seen.iter().all(|(_, size, subject, long_line)| size.is_none() && *subject && *long_line), "{seen:?}");
    let mut sizes = Vec::new();
    ok(s.uid_fetch(&format!("{}:*", uids[0]), false, |m| {
        sizes.push((m.size.is_some(), m.internal_date.is_some(), m.body.is_none()));
        Ok(())
    })
    .await);
    assert_eq!(sizes, vec![(true, true, true); 3], "the listing gives each message's size and date, no body");

    // Fetching the bodies did not mark them read (BODY.PEEK); a STORE does.
    assert_eq!(ok(s.uid_search("UNSEEN").await), uids);
    ok(s.uid_store(&uids[0].to_string(), "+FLAGS.SILENT (\\Seen)").await);
    assert_eq!(ok(s.uid_search("UNSEEN").await), uids[1..].to_vec());
    let mut flags = Vec::new();
    ok(s.uid_fetch(&uids[0].to_string(), false, |m| {
        flags = m.flags;
        Ok(())
    })
    .await);
    assert!(flags.contains(&"\\Seen".to_owned()), "{flags:?}");

    ok(s.uid_copy(&uids[0].to_string(), "Trash").await);
    ok(s.uid_move(&uids[1].to_string(), "Junk").await);
    assert_eq!(ok(s.status("Trash").await).exists, 1);
    assert_eq!(ok(s.status("Junk").await).exists, 1);
    assert_eq!(ok(s.select("INBOX").await).exists, 2, "the moved message left the Inbox");

    // IDLE: a message delivered by another connection wakes it.
    let other = tokio::spawn({
        let ep = ep.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let mut o = imap::sign_in(&ep, &password("alice", "alice-pass"), &mut Unobserved).await?;
            o.append("INBOX", None, &message(4, "new")).await?;
            o.logout().await
        }
    });
    let never = CancellationToken::new();
    let (mut s, end) = tokio::time::timeout(Duration::from_secs(20), s.idle(&never))
        .await
        .unwrap_or_else(|_| panic!("IDLE never woke"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(end, IdleEnd::Changed);
    ok(other.await.unwrap_or_else(|e| panic!("{e}")));
    assert_eq!(ok(s.select("INBOX").await).exists, 3, "the session works after IDLE");

    // IDLE stopped by the engine: it ends at once and the session is still usable.
    let stop = CancellationToken::new();
    let stopper = stop.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        stopper.cancel();
    });
    let (mut s, end) = tokio::time::timeout(Duration::from_secs(10), s.idle(&stop))
        .await
        .unwrap_or_else(|_| panic!("IDLE did not stop"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(end, IdleEnd::Cancelled);
    assert_eq!(ok(s.uid_search("ALL").await).len(), 3);
    ok(s.logout().await);
}

/// A POP3 session lists, streams a message and deletes it; the deletion happens at QUIT.
#[tokio::test]
async fn a_pop3_session_lists_streams_and_deletes_on_quit() {
    let servers = MailServers::start(USERS);
    let imaps = endpoint(&servers, "localhost", "IMAPS_PORT", Security::Implicit);
    let mut s =
        imap::sign_in(&imaps, &password("bob", "bob-pass"), &mut Unobserved).await.unwrap_or_else(|e| panic!("{e}"));
    let long = "y".repeat(70_000);
    ok(s.append("INBOX", None, &message(1, &format!("..two dots\r\n.\r\n{long}"))).await);
    ok(s.append("INBOX", None, &message(2, "second")).await);
    ok(s.logout().await);

    let ep = endpoint(&servers, "localhost", "POP3S_PORT", Security::Implicit);
    let mut p =
        pop3::sign_in(&ep, &password("bob", "bob-pass"), &mut Unobserved).await.unwrap_or_else(|e| panic!("{e}"));
    let (count, octets) = ok(p.stat().await);
    assert_eq!(count, 2);
    let uidl = ok(p.uidl().await);
    let list = ok(p.list().await);
    assert_eq!((uidl.len(), list.len()), (2, 2), "{uidl:?} {list:?}");
    assert_eq!(list.iter().map(|(_, o)| o).sum::<u64>(), octets);
    let mut body = Vec::new();
    let mut pieces = 0;
    ok(p.retr(1, |chunk| {
        body.extend_from_slice(chunk);
        pieces += 1;
        Ok(())
    })
    .await);
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains("Subject: Message 1"), "{}", &text[..200.min(text.len())]);
    assert!(text.contains("\r\n..two dots\r\n.\r\n"), "the dots are unstuffed once");
    assert!(text.contains(&long));
    assert_eq!(body.len() as u64, list[0].1, "RETR gives the message as LIST sized it");
    assert!(pieces > 1, "a 70 kB message arrives in pieces");
    ok(p.dele(1).await);
    ok(p.quit().await);

    let mut p =
        pop3::sign_in(&ep, &password("bob", "bob-pass"), &mut Unobserved).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ok(p.stat().await).0, 1);
    let left = ok(p.uidl().await);
    assert_eq!(left[0].1, uidl[1].1, "the second message is the one left");
    ok(p.quit().await);
}

/// A message from alice to bob, with a Message-ID or without.
fn letter(subject: &str, with_id: bool) -> lettre::Message {
    let b = lettre::Message::builder()
        .from("alice@localhost".parse().unwrap_or_else(|e| panic!("{e}")))
        .to("bob@localhost".parse().unwrap_or_else(|e| panic!("{e}")))
        .subject(subject);
    let b = if with_id { b.message_id(Some(smtp::new_message_id("localhost"))) } else { b };
    b.body(format!("{subject}\r\n")).unwrap_or_else(|e| panic!("{e}"))
}

/// One SMTP session sends many messages; a message without a Message-ID is refused before it
/// reaches the server.
#[tokio::test]
async fn an_smtp_session_sends_several_messages_on_one_connection() {
    let servers = MailServers::start(USERS);
    let ep = endpoint(&servers, "localhost", "SMTP_PORT", Security::StartTls);
    let mut s =
        smtp::connect(&ep, &password("alice", "alice-pass"), &mut Unobserved).await.unwrap_or_else(|e| panic!("{e}"));
    for n in 1..=3 {
        ok(s.send(&letter(&format!("Batch {n}"), true)).await);
        assert!(s.is_usable());
    }
    let bare = letter("No id", false);
    assert!(s.send(&bare).await.is_err(), "a message without a Message-ID is not sent");
    ok(s.quit().await);
    for n in 1..=3 {
        assert!(wait_for_subject(&servers, "bob", "bob-pass", &format!("Batch {n}")).await, "Batch {n} never arrived");
    }
    let log = std::fs::read_to_string(servers.dir().join("logs/postfix.log")).unwrap_or_default();
    let accepted = log.lines().filter(|l| l.contains("sasl_username=alice")).count();
    let connections = log.lines().filter(|l| l.contains("smtpd[") && l.contains(" connect from ")).count();
    assert_eq!((accepted, connections), (3, 1), "three messages on one connection:\n{log}");
}

fn raw_letter(subject: &str) -> Vec<u8> {
    format!(
        "From: alice@localhost\r\nTo: bob@localhost\r\nSubject: {subject}\r\nMessage-ID: {}\r\n\r\nCafé {subject}\r\n",
        smtp::new_message_id("localhost")
    )
    .into_bytes()
}

/// MAIL, RCPT and DATA go together (PIPELINING); their replies still decide each message. A
/// recipient refused for good fails the message, which reaches no one (the connection is closed
/// inside DATA); one refused for now is a passing failure and the connection goes on; a message
/// whose only recipient is refused ends with RSET and the connection goes on.
#[tokio::test]
async fn pipelined_transactions_keep_each_refusal_to_its_message() {
    let servers = MailServers::start(USERS);
    let ep = endpoint(&servers, "localhost", "SMTP_PORT", Security::StartTls);
    let login = password("alice", "alice-pass");
    let mut s = smtp::connect(&ep, &login, &mut Unobserved).await.unwrap_or_else(|e| panic!("{e}"));
    let to = |list: &[&str]| list.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>();

    let deferred = s.send_raw("alice@localhost", &to(&["deferred@localhost"]), &raw_letter("Deferred")).await;
    assert_eq!(deferred.err().map(|e| e.code()), Some("mail.server_busy"), "450 at RCPT is for now");
    assert!(s.is_usable(), "a refusal at RCPT leaves the connection in step");
    let alone = s.send_raw("alice@localhost", &to(&["refused@localhost"]), &raw_letter("Refused alone")).await;
    assert_eq!(alone.err().map(|e| e.code()), Some("mail.server_refused"), "550 at RCPT is for good");
    assert!(s.is_usable(), "RSET after a transaction no recipient was taken for");
    ok(s.send_raw("alice@localhost", &to(&["bob@localhost"]), &raw_letter("Pipelined 1")).await);
    let mixed = s.send_raw("alice@localhost", &to(&["bob@localhost", "refused@localhost"]), &raw_letter("Mixed")).await;
    assert_eq!(mixed.err().map(|e| e.code()), Some("mail.server_refused"));
    assert!(!s.is_usable(), "left inside DATA: the connection is given up, the message unsent");
    drop(s);

    let mut s = smtp::connect(&ep, &login, &mut Unobserved).await.unwrap_or_else(|e| panic!("{e}"));
    ok(s.send_raw("alice@localhost", &to(&["bob@localhost"]), &raw_letter("Pipelined 2")).await);
    ok(s.quit().await);
    for subject in ["Pipelined 1", "Pipelined 2"] {
        assert!(wait_for_subject(&servers, "bob", "bob-pass", subject).await, "{subject} never arrived");
    }
    // The message with a refused recipient reached no one.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let inbox = inbox_subjects(&servers, "bob", "bob-pass").await;
    assert!(!inbox.iter().any(|s| s == "Mixed"), "the mixed message was not delivered: {inbox:?}");
    let log = std::fs::read_to_string(servers.dir().join("logs/postfix.log")).unwrap_or_default();
    assert!(!log.contains("improper command pipelining"), "{log}");
}

/// A profile whose incoming side is `host`/`port`/`ssl` (with the profile's own credentials
/// for alice) and whose outgoing side is the submission port with STARTTLS.
async fn strict_profile(
    e: &Engine,
    servers: &MailServers,
    kind: ServerType,
    port: &str,
    ssl: Option<TlsMode>,
) -> ProfileId {
    let sides = Sides {
        incoming: kind,
        incoming_port: servers.port(port),
        incoming_tls: ssl.unwrap_or(TlsMode::StartTls),
        outgoing_port: servers.port("SMTP_PORT"),
        outgoing_tls: TlsMode::StartTls,
    };
    let creds = ProfileChanges {
        incoming_credential_mode: Some(CredentialMode::Profile),
        incoming_user_name: Some("alice".into()),
        ..Default::default()
    };
    let id = profile(e, &format!("{kind} {port} {ssl:?}"), &sides, &servers.ca_file(), creds).await;
    let strict = ProfileChanges {
        incoming_location: Some("127.0.0.2".into()),
        incoming_use_ssl: Some(ssl.is_some()),
        incoming_tls_mode: Some(ssl),
        ..Default::default()
    };
    ok(api::update_profile(e, id, strict).await);
    ok(api::set_profile_secret(e, id, ProfileSecretKind::IncomingPassword, Secret::new("alice-pass")).await);
    id
}

fn step(steps: &[Step], direction: Direction, kind: StepKind) -> &Step {
    steps
        .iter()
        .find(|s| s.direction == direction && s.kind == kind)
        .unwrap_or_else(|| panic!("no {direction:?} {kind:?} step: {steps:#?}"))
}

/// Dovecot's login lines for connections to 127.0.0.2: whether a sign-in was attempted there.
fn strict_logins(servers: &MailServers) -> Vec<String> {
    let log = std::fs::read_to_string(servers.dir().join("logs/dovecot.log")).unwrap_or_default();
    log.lines().filter(|l| l.contains("lip=127.0.0.2") && l.contains("Disconnected")).map(str::to_owned).collect()
}

/// IMAP with STARTTLS where the server offers AUTH=PLAIN only after TLS: the client asks for
/// the capabilities again once TLS is up and signs in with AUTHENTICATE PLAIN, not LOGIN.
#[tokio::test]
async fn imap_reads_the_capabilities_again_after_starttls() {
    let servers = MailServers::start(USERS);
    let (e, _, _d) = memory_engine().await;
    let id = strict_profile(&e, &servers, ServerType::ImapSmtp, "IMAP_PORT", Some(TlsMode::StartTls)).await;
    let t = ok(api::test_profile_connection(&e, id).await);
    assert_eq!(t.status, TestExecutionStatus::Success, "{:#?}", t.steps);
    let auth = step(&t.steps, Direction::Incoming, StepKind::Authenticate);
    assert_eq!((auth.outcome, auth.info.as_str()), (StepOutcome::Success, "AUTHENTICATE PLAIN"), "{auth:?}");
    let smtp_auth = step(&t.steps, Direction::Outgoing, StepKind::Authenticate);
    assert_eq!(smtp_auth.info, "AUTH PLAIN");
}

/// IMAP and POP3 without TLS where the server allows no plaintext sign-in (LOGINDISABLED; CAPA
/// without USER or SASL): their own code, and the password is never sent (Dovecot logs no
/// sign-in attempt).
#[tokio::test]
async fn a_server_that_requires_tls_before_sign_in_gets_no_password() {
    let servers = MailServers::start(USERS);
    let (e, _, _d) = memory_engine().await;
    // The organisation allows it, so the profile may be saved; the server still refuses.
    let allow = SettingsChanges { allow_credentials_over_insecure_channels: Some(true), ..Default::default() };
    ok(api::update_settings(&e, allow).await);
    for (kind, port) in [(ServerType::ImapSmtp, "IMAP_PORT"), (ServerType::Pop3Smtp, "POP3_PORT")] {
        let id = strict_profile(&e, &servers, kind, port, None).await;
        let t = ok(api::test_profile_connection(&e, id).await);
        assert_eq!(t.status, TestExecutionStatus::Failure);
        let auth = step(&t.steps, Direction::Incoming, StepKind::Authenticate);
        assert_eq!(
            (auth.outcome, auth.error_code.as_str()),
            (StepOutcome::Failure, "mail.auth.requires_tls"),
            "{kind}: {auth:?}"
        );
        let words = serversync::i18n::render(serversync::Lang::En, &auth.error_code, &auth.error_params);
        assert!(words.contains("encrypted connection") && words.contains("127.0.0.2"), "{words}");
    }
    let logins = strict_logins(&servers);
    assert_eq!(logins.len(), 2, "{logins:#?}");
    assert!(logins.iter().all(|l| l.contains("no auth attempts")), "a sign-in was attempted: {logins:#?}");
}

/// SMTP without TLS on a port that offers AUTH only after STARTTLS: "requires TLS", not "offers
/// no sign-in method", and no lettre debug text.
#[tokio::test]
async fn smtp_that_offers_auth_only_after_starttls_says_so() {
    let servers = MailServers::start(USERS);
    let ep = endpoint(&servers, "localhost", "SMTP_PORT", Security::None);
    let e = smtp::connect(&ep, &password("alice", "alice-pass"), &mut Unobserved).await.err();
    let e = e.unwrap_or_else(|| panic!("signed in without TLS"));
    assert_eq!(e.code(), "mail.auth.requires_tls", "{e:?}");
    let shown = format!("{:?} {:?}", e.params(), e.detail());
    assert!(!shown.contains("offered=") && !shown.contains("StartTls") && !shown.contains("EightBitMime"), "{shown}");
}

/// A wrong password: every protocol quotes the server's own reply with its response code, not a
/// library's debug text, and classifies it as the credentials.
#[tokio::test]
async fn a_refused_password_quotes_the_servers_reply() {
    let servers = MailServers::start(USERS);
    let wrong = password("alice", "not-alices-password");
    let imaps = endpoint(&servers, "localhost", "IMAPS_PORT", Security::Implicit);
    let pop3s = endpoint(&servers, "localhost", "POP3S_PORT", Security::Implicit);
    let smtps = endpoint(&servers, "localhost", "SMTPS_PORT", Security::Implicit);
    let errors = [
        ("IMAP", imap::sign_in(&imaps, &wrong, &mut Unobserved).await.err(), "NO [AUTHENTICATIONFAILED]"),
        ("POP3", pop3::sign_in(&pop3s, &wrong, &mut Unobserved).await.err(), "-ERR [AUTH]"),
        ("SMTP", smtp::connect(&smtps, &wrong, &mut Unobserved).await.err(), "535 5.7.8"),
    ];
    for (name, e, reply) in errors {
        let e = e.unwrap_or_else(|| panic!("{name}: signed in with a wrong password"));
        assert_eq!(e.code(), "mail.auth.failed", "{name}: {e:?}");
        let detail = e.detail().unwrap_or_default();
        assert!(detail.starts_with(reply), "{name}: {detail:?}");
        assert!(
            !detail.contains("code:") && !detail.contains("info:") && !detail.contains("Some("),
            "{name}: {detail:?}"
        );
        assert!(!detail.contains("not-alices-password"));
    }
}
