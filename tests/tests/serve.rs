//! `serversync serve` against the real Dovecot and Postfix, with the OS keychain: mail delivered
//! to five mailboxes is tracked with no manual action; fifty emails written through the API are
//! sent, reach the recipient and the senders' Sent folders, and end Sent; a reply is tracked and
//! correlated; a wrong password set while serve runs disables that mailbox with its alert while
//! the others go on; SIGTERM stops it cleanly, and no password is in its logs. Two `serve`
//! processes on one database share fifty mailboxes without ever handling a message twice.

use serversync::api::{self, CorrelationMethod, EmailActivityFilter, EmailStatus, MailboxId, Recipient, SendEmail};
use serversync::protocol::TEST_MESSAGE_SUBJECT;
use serversync::secrets::Secret;
use serversync::{Engine, EngineConfig};
use serversync_tests::mail::{MailServers, deliver, deliver_many, folder_count, inbox_subjects, wait_for_subject};
use serversync_tests::setup::{ok, within};
use serversync_tests::{Serve, cli_json, cli_profile};
use std::path::Path;
use std::time::{Duration, Instant};

/// Creates user `name` with its mailbox on the default profile, tracking all email, approved,
/// with its password; returns the mailbox id.
fn user(data: &Path, name: &str, password: &str) -> String {
    let u = cli_json(data, &["user", "create", "--name", name, "--email", &format!("{name}@localhost")], None);
    let id = u["id"].to_string();
    let mailbox = u["mailbox_id"].to_string();
    cli_json(data, &["user", "update", &id, "--set", "incoming_filtering_method=all_email"], None);
    cli_json(data, &["mailbox", "set-credentials", &mailbox, "--user-name", name, "--password-stdin"], Some(password));
    cli_json(data, &["mailbox", "approve", &mailbox], None);
    mailbox
}

fn message(to: &str, subject: &str, id: &str, extra: &str) -> Vec<u8> {
    format!(
        "From: Ext <ext@localhost>\r\nTo: {to}@localhost\r\nSubject: {subject}\r\nMessage-ID: <{id}@ext.test>\r\n{extra}Date: {}\r\n\r\nHello\r\n",
        chrono::Utc::now().to_rfc2822()
    )
    .into_bytes()
}

async fn wait_until<F, Fut>(what: &str, secs: u64, check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    assert!(within(secs, check).await.is_some(), "{what}: not within {secs} s");
}

async fn tracked(e: &Engine, search: &str) -> Vec<api::EmailActivityRow> {
    let filter = EmailActivityFilter {
        search: Some(search.into()),
        direction: Some(api::ActivityDirection::Incoming),
        ..Default::default()
    };
    ok(api::list_email_activities(e, filter, 0, 500).await).rows
}

fn mailbox_id(s: &str) -> MailboxId {
    MailboxId(s.parse().unwrap_or_else(|e| panic!("{s}: {e}")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_tracks_sends_correlates_and_disables_a_wrong_password_while_the_others_go_on() {
    let names = ["ann", "ben", "cat", "dan", "eve"];
    let mut users: Vec<(&str, &str)> = names.iter().map(|n| (*n, "pass-of-a-user")).collect();
    users.push(("ext", "ext-pass"));
    let servers = MailServers::start(&users);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path().join("data");
    cli_profile(&data, &servers, "imap-smtp", "IMAPS_PORT", &[]);
    let ids: Vec<String> = names.iter().map(|n| user(&data, n, "pass-of-a-user")).collect();
    cli_json(&data, &["contact", "create", "--set", "last_name=Ext", "--set", "email_address_1=ext@localhost"], None);
    let mut args = vec!["mailbox", "test-enable"];
    args.extend(ids.iter().map(String::as_str));
    cli_json(&data, &args, None);
    for n in names {
        deliver(&servers, "ext@localhost", &[&format!("{n}@localhost")], &message(n, &format!("Welcome {n}"), n, ""));
    }

    let serve = Serve::start(&data, &dir.path().join("serve.log"), &[]);
    let e = Engine::open(EngineConfig::new(&data)).await.unwrap_or_else(|e| panic!("engine: {e}"));
    wait_until("the mail of all five mailboxes is tracked", 60, || async { tracked(&e, "Welcome").await.len() == 5 })
        .await;

    // Fifty emails written through the API, ten from each mailbox, over some seconds: serve's
    // cycles run while they are written, and an email written during a cycle leaves all the same
    // (at the next cycle, not a polling interval later).
    let mut sent_ids = Vec::new();
    for (i, id) in ids.iter().cycle().take(50).enumerate() {
        let email = SendEmail {
            from_mailbox_id: mailbox_id(id),
            to: vec![Recipient { record: None, address: Some("ext@localhost".into()) }],
            cc: vec![],
            bcc: vec![],
            subject: format!("Offer {i:02}"),
            body_text: format!("Offer number {i}"),
            body_html: String::new(),
            attachments: vec![],
            regarding: None,
            send_after: None,
            in_reply_to: None,
        };
        sent_ids.push(ok(api::send_email(&e, email).await).id);
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let statuses = || async {
        let mut statuses = Vec::new();
        for id in &sent_ids {
            statuses.push(ok(api::get_email_activity(&e, *id).await).status);
        }
        statuses
    };
    let t0 = Instant::now();
    if within(120, || async { statuses().await.iter().all(|s| *s == EmailStatus::Sent) }).await.is_none() {
        let log = serve.log_text();
        let tail: Vec<&str> = log.lines().rev().take(60).collect::<Vec<_>>().into_iter().rev().collect();
        panic!(
            "the fifty emails end Sent: not within 120 s: {:?}\nthe end of the log:\n{}",
            statuses().await,
            tail.join("\n")
        );
    }
    eprintln!("the fifty emails were Sent within {:.1} s", t0.elapsed().as_secs_f64());
    // Sent: the server accepted them; they reach the Inbox through Postfix's queue.
    let offers = || async {
        inbox_subjects(&servers, "ext", "ext-pass").await.iter().filter(|s| s.starts_with("Offer ")).count()
    };
    wait_until("the fifty reach the recipient", 60, || async { offers().await >= 50 }).await;
    let got = inbox_subjects(&servers, "ext", "ext-pass").await;
    assert_eq!(got.iter().filter(|s| s.starts_with("Offer ")).count(), 50, "each reached the recipient once: {got:?}");
    for n in names {
        assert_eq!(folder_count(&servers, n, "pass-of-a-user", "Sent").await, 10, "{n}'s Sent folder has its ten");
    }

    // A reply to one of them is tracked and correlated.
    let first = ok(api::get_email_activity(&e, sent_ids[0]).await);
    let reply =
        message("ann", &format!("RE: {}", first.subject), "reply-1", &format!("In-Reply-To: {}\r\n", first.message_id));
    deliver(&servers, "ext@localhost", &["ann@localhost"], &reply);
    wait_until("the reply is tracked", 30, || async { !tracked(&e, "RE: Offer 00").await.is_empty() }).await;
    let row = tracked(&e, "RE: Offer 00").await.remove(0);
    assert_eq!(row.correlation_method, CorrelationMethod::InReplyTo, "{row:?}");

    // A wrong password set while serve runs: that mailbox is disabled with its alert.
    let ben = mailbox_id(&ids[1]);
    ok(api::set_mailbox_credentials(&e, ben, "ben".into(), Secret::new("not-bens-password")).await);
    deliver(&servers, "ext@localhost", &["ben@localhost"], &message("ben", "For ben", "ben-2", ""));
    wait_until("ben is disabled for incoming", 60, || async {
        !ok(api::get_mailbox(&e, ben).await).mailbox.enabled_for_incoming
    })
    .await;
    let alerts = ok(api::list_alerts(&e, api::AlertFilter { mailbox_id: Some(ben), ..Default::default() }).await);
    assert!(
        alerts.iter().any(|a| a.code == "mail.auth.failed_mailbox" && a.level == api::AlertLevel::Error),
        "{alerts:?}"
    );
    deliver(&servers, "ext@localhost", &["cat@localhost"], &message("cat", "For cat", "cat-2", ""));
    wait_until("the others go on", 30, || async { !tracked(&e, "For cat").await.is_empty() }).await;

    let log = serve.log_text();
    let code = serve.terminate(Duration::from_secs(30));
    assert_eq!(code, Some(0), "SIGTERM stops serve cleanly");
    assert!(!log.contains("pass-of-a-user") && !log.contains("not-bens-password"), "no password in the logs");
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty() && !l.starts_with("serversync: ")).collect();
    assert!(!lines.is_empty(), "serve logged");
    for l in &lines {
        assert!(serde_json::from_str::<serde_json::Value>(l).is_ok(), "a JSON line: {l}");
    }
    let leases: i64 = rusqlite::Connection::open(data.join(serversync::DATABASE_FILE))
        .and_then(|c| c.query_row("SELECT count(*) FROM mailbox_lease", [], |r| r.get(0)))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(leases, 0, "a stopped serve lets go of every lease");
    e.close().await.unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_serve_processes_share_fifty_mailboxes_and_never_handle_a_message_twice() {
    const MAILBOXES: usize = 50;
    const PER_MAILBOX: usize = 40;
    let names: Vec<String> = (0..MAILBOXES).map(|i| format!("u{i:02}")).collect();
    let users: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "shared-pass")).collect();
    let servers = MailServers::start(&users);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path().join("data");
    cli_profile(&data, &servers, "imap-smtp", "IMAPS_PORT", &["max_concurrent_connections=20"]);
    let ids: Vec<String> = names.iter().map(|n| user(&data, n, "shared-pass")).collect();
    let mut args = vec!["mailbox", "test-enable"];
    args.extend(ids.iter().map(String::as_str));
    cli_json(&data, &args, None);
    // Each mailbox's Test & Enable message goes through Postfix's queue: it is counted below.
    for n in &names {
        assert!(wait_for_subject(&servers, n, "shared-pass", TEST_MESSAGE_SUBJECT).await, "{n}'s test message");
    }
    for n in &names {
        let messages: Vec<Vec<u8>> =
            (0..PER_MAILBOX).map(|i| message(n, &format!("Share {n} {i:02}"), &format!("share-{n}-{i}"), "")).collect();
        deliver_many(&servers, "ext@localhost", &[&format!("{n}@localhost")], messages.iter().map(Vec::as_slice));
    }

    let a = Serve::start(&data, &dir.path().join("a.log"), &[]);
    let b = Serve::start(&data, &dir.path().join("b.log"), &[]);
    let e = Engine::open(EngineConfig::new(&data)).await.unwrap_or_else(|e| panic!("engine: {e}"));
    let want = MAILBOXES * PER_MAILBOX;
    wait_until("every message is tracked", 180, || async {
        let filter = EmailActivityFilter { search: Some("Share ".into()), ..Default::default() };
        ok(api::list_email_activities(&e, filter, 0, 1).await).total as usize == want
    })
    .await;
    // Let the cycles that tracked them record their ends, then stop both.
    let handled = || {
        rusqlite::Connection::open(data.join(serversync::DATABASE_FILE))
            .and_then(|c| {
                c.query_row("SELECT coalesce(sum(items), 0) FROM sync_run WHERE workload = 'incoming'", [], |r| {
                    r.get::<_, i64>(0)
                })
            })
            .unwrap_or_default() as usize
    };
    wait_until("the cycles record their ends", 60, || async { handled() >= want + MAILBOXES }).await;
    assert_eq!(a.terminate(Duration::from_secs(30)), Some(0));
    assert_eq!(b.terminate(Duration::from_secs(30)), Some(0));
    e.close().await.unwrap_or_else(|e| panic!("{e}"));

    let c = rusqlite::Connection::open(data.join(serversync::DATABASE_FILE)).unwrap_or_else(|e| panic!("{e}"));
    let q = |sql: &str| -> i64 { c.query_row(sql, [], |r| r.get(0)).unwrap_or_else(|e| panic!("{sql}: {e}")) };
    assert_eq!(q("SELECT count(*) FROM email_activity WHERE subject LIKE 'Share %'") as usize, want, "no duplicate");
    assert_eq!(
        q("SELECT coalesce(sum(items), 0) FROM sync_run WHERE workload = 'incoming'") as usize,
        want + MAILBOXES,
        "each message (and each mailbox's Test & Enable message) was handled by exactly one cycle"
    );
    assert_eq!(
        q("SELECT count(DISTINCT mailbox_id) FROM sync_run WHERE workload = 'incoming' AND outcome = 'success'")
            as usize,
        MAILBOXES,
        "every mailbox was processed"
    );
    assert_eq!(q("SELECT count(DISTINCT runner) FROM sync_run"), 2, "both processes did work");
    let overlaps = q("SELECT count(*) FROM sync_run x JOIN sync_run y
         ON x.mailbox_id = y.mailbox_id AND x.workload = y.workload AND x.id < y.id AND x.runner <> y.runner
         AND x.started_on < y.completed_on AND y.started_on < x.completed_on");
    assert_eq!(overlaps, 0, "no two processes ever ran the same workload of a mailbox at once");
}
