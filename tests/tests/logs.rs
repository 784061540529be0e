//! What the engine logs during a Test & Enable run against the real servers. A test binary of
//! its own: the log subscriber is process-wide.

use serversync::api::{JobItemState, ProfileChanges};
use serversync_tests::mail::MailServers;
use serversync_tests::setup::{Sides, item, mailbox, profile, test_and_enable};
use serversync_tests::{capture_logs, memory_engine};

const USERS: &[(&str, &str)] = &[("alice", "alice-pass"), ("bob", "bob-pass"), ("carol", "carol-pass")];

/// The logs of a whole Test & Enable run (every level, text and JSON) name the job, the mailboxes
/// and their connections, and contain no password: neither as typed nor as the base64 that SASL
/// PLAIN and LOGIN send. IMAP and POP3 in, both SMTP ports out, and a refused password.
#[tokio::test]
async fn the_logs_of_a_test_and_enable_run_contain_no_password() {
    use base64::Engine as _;
    let logs = capture_logs();
    let servers = MailServers::start(USERS);
    let (e, _, _d) = memory_engine().await;
    let ca = servers.ca_file();
    let imap = profile(&e, "IMAP", &Sides::imaps_and_submission(&servers), &ca, ProfileChanges::default()).await;
    let pop3 = profile(&e, "POP3", &Sides::pop3_stls_and_smtps(&servers), &ca, ProfileChanges::default()).await;
    let alice = mailbox(&e, imap, "alice", "alice-pass", true).await;
    let bob = mailbox(&e, pop3, "bob", "bob-pass", true).await;
    let carol = mailbox(&e, imap, "carol", "not-carols-password", true).await;
    let job = test_and_enable(&e, vec![alice, bob, carol]).await;
    let states: Vec<_> = [alice, bob, carol].iter().map(|id| item(&job, *id).state).collect();
    assert_eq!(states, [JobItemState::Success, JobItemState::Success, JobItemState::Failure], "{job:?}");

    let text = logs.text();
    for expected in ["job", "mailbox tested", "connection", "host", "\"step\"", "mail.auth.failed_mailbox"] {
        assert!(text.contains(expected), "the logs do not mention {expected:?}:\n{text}");
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    for (user, password) in USERS.iter().copied().chain([("carol", "not-carols-password")]) {
        let forms = [password.to_owned(), b64.encode(format!("\0{user}\0{password}")), b64.encode(password)];
        for form in forms {
            assert!(!text.contains(&form), "the logs contain {user}'s password (as {form:?})");
        }
    }
}
