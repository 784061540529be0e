//! Faults between the engine and the real Dovecot and Postfix (issue 10, "Faults"): a TCP proxy
//! cuts the IMAP connection mid-FETCH and the SMTP connection mid-DATA, stalls past the timeout,
//! and answers with a busy greeting. Each ends as a transient failure with its code, a warning
//! and a retry (a cut mid-DATA: the email in flight waits for the next cycle, marked as a possible
//! duplicate); nothing panics, nothing is lost, and no email is received twice unless it was
//! counted as a possible duplicate.

use chrono::Duration;
use serversync::api::{
    self, AlertFilter, AlertLevel, EmailStatus, FilteringMethod, MailboxId, ProfileChanges, Recipient, RunOutcome,
    SendEmail, Workload,
};
use serversync::clock::{Clock, FixedClock};
use serversync::{Engine, Result};
use serversync_tests::fixed_engine;
use serversync_tests::mail::{MailServers, deliver_many};
use serversync_tests::proxy::{Fault, FaultProxy};
use serversync_tests::setup::{Sides, mailbox, ok, profile, test_and_enable, user_filter};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

fn database(d: &tempfile::TempDir) -> PathBuf {
    d.path().join("data").join(serversync::DATABASE_FILE)
}

/// One pass of the scheduler, bounded so that a hang fails the test instead of stalling it.
async fn pass(e: &Engine) -> (Vec<api::CycleEnd>, std::time::Duration) {
    let t0 = Instant::now();
    match tokio::time::timeout(std::time::Duration::from_secs(90), api::run_due_workloads(e, Default::default())).await
    {
        Ok(r) => (ok(r), t0.elapsed()),
        Err(_) => panic!("a scheduler pass did not end within 90 s"),
    }
}

fn of(ends: &[api::CycleEnd], m: MailboxId, w: Workload) -> &api::CycleEnd {
    ends.iter()
        .find(|e| e.mailbox_id == m && e.workload == w)
        .unwrap_or_else(|| panic!("no {w:?} cycle of {m} ran: {ends:?}"))
}

async fn schedule(e: &Engine, m: MailboxId, w: Workload) -> api::WorkloadSchedule {
    ok(api::get_mailbox_schedule(e, m).await)
        .into_iter()
        .find(|s| s.workload == w)
        .unwrap_or_else(|| panic!("no {w:?} schedule"))
}

async fn alerts(e: &Engine, m: MailboxId) -> Vec<api::Alert> {
    ok(api::list_alerts(e, AlertFilter { mailbox_id: Some(m), ..Default::default() }).await)
}

/// A transient failure with `code`: a warning, a retry 5 minutes on, the workload still enabled.
async fn assert_transient(
    e: &Engine,
    end: &api::CycleEnd,
    m: MailboxId,
    w: Workload,
    code: &str,
    now: chrono::DateTime<chrono::Utc>,
) {
    assert_eq!(end.outcome, RunOutcome::Transient, "{end:?}");
    assert_eq!(end.error_code.as_deref(), Some(code), "{end:?}");
    assert!(!end.disabled, "a transient failure does not disable: {end:?}");
    assert_eq!(end.next_run_on, Some(now + Duration::minutes(5)), "retried after the back-off: {end:?}");
    let s = schedule(e, m, w).await;
    assert_eq!((s.transient_failures, s.last_error_code.as_str()), (1, code), "{s:?}");
    let mb = ok(api::get_mailbox(e, m).await).mailbox;
    let enabled = if w == Workload::Incoming { mb.enabled_for_incoming } else { mb.enabled_for_outgoing };
    assert!(enabled, "the mailbox stays enabled for {w:?}");
    let alerts = alerts(e, m).await;
    assert!(
        alerts.iter().any(|a| a.code == code && a.level == AlertLevel::Warning),
        "the failure is a warning: {alerts:?}"
    );
    assert!(!alerts.iter().any(|a| a.level == AlertLevel::Error), "no error alert for a passing fault: {alerts:?}");
}

/// A message of about `size` bytes with a Message-ID of its own.
fn message(n: usize, size: usize) -> Vec<u8> {
    let mut m = format!(
        "From: Ext <ext@localhost>\r\nTo: alice@localhost\r\nSubject: Fault in {n:02}\r\nMessage-ID: <fault-in-{n:02}@ext.test>\r\nDate: {}\r\n\r\n",
        chrono::Utc::now().to_rfc2822()
    );
    let line = format!("Message {n:02}, a line of text to make the message as large as it must be.\r\n");
    while m.len() < size {
        m.push_str(&line);
    }
    m.into_bytes()
}

/// 30 messages, every third one about 200 KB, delivered to alice.
fn deliver_thirty(servers: &MailServers) {
    let messages: Vec<Vec<u8>> = (0..30).map(|n| message(n, if n % 3 == 0 { 200_000 } else { 2_000 })).collect();
    deliver_many(servers, "ext@localhost", &["alice@localhost"], messages.iter().map(Vec::as_slice));
}

/// The Message-IDs of the tracked copies of the 30 messages, one per activity.
fn tracked_fault_ids(db: &Path) -> Vec<String> {
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap_or_else(|e| panic!("{e}"));
    c.busy_timeout(std::time::Duration::from_secs(10)).unwrap_or_else(|e| panic!("{e}"));
    let mut stmt = c
        .prepare("SELECT message_id FROM email_activity WHERE subject LIKE 'Fault in %'")
        .unwrap_or_else(|e| panic!("{e}"));
    stmt.query_map([], |r| r.get(0)).unwrap_or_else(|e| panic!("{e}")).filter_map(|r| r.ok()).collect()
}

/// Asserts that each of the 30 messages is tracked exactly once.
fn assert_thirty_once(db: &Path) {
    let ids = tracked_fault_ids(db);
    let distinct: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(ids.len(), 30, "every message is tracked once: {ids:?}");
    assert_eq!(distinct.len(), 30, "no message is tracked twice: {ids:?}");
    for n in 0..30 {
        let want = format!("fault-in-{n:02}@ext.test");
        assert!(ids.iter().any(|i| i.contains(&want)), "{want} is tracked: {ids:?}");
    }
}

/// Alice, tracking all her email, her incoming side through `incoming`, outgoing through
/// `outgoing` (a port each); tested and enabled.
async fn alice(
    e: &Engine,
    servers: &MailServers,
    incoming: u16,
    outgoing: u16,
    timeout_seconds: u32,
) -> (api::ProfileId, MailboxId) {
    let sides = Sides { incoming_port: incoming, outgoing_port: outgoing, ..Sides::imaps_and_submission(servers) };
    let changes = ProfileChanges { timeout_seconds: Some(timeout_seconds), ..Default::default() };
    let p = profile(e, "Through the proxy", &sides, &servers.ca_file(), changes).await;
    let alice = mailbox(e, p, "alice", "alice-pass", true).await;
    user_filter(e, alice, FilteringMethod::AllEmail).await;
    // The recipient of the emails alice writes is a contact.
    ok(api::create_contact(
        e,
        api::ContactChanges {
            last_name: Some("External".into()),
            email_address_1: Some("ext@localhost".into()),
            ..Default::default()
        },
    )
    .await);
    let job = test_and_enable(e, vec![alice]).await;
    let m = ok(api::get_mailbox(e, alice).await).mailbox;
    assert!(m.enabled_for_incoming && m.enabled_for_outgoing, "Test & Enable through the proxy: {job:?}");
    (p, alice)
}

#[tokio::test]
async fn a_connection_cut_mid_fetch_is_retried_and_every_message_is_tracked_once() -> Result<()> {
    let servers = MailServers::start(&[("alice", "alice-pass")]);
    let (e, clock, d) = fixed_engine().await;
    let proxy = FaultProxy::start(servers.port("IMAPS_PORT")).await;
    let (_, alice) = alice(&e, &servers, proxy.port(), servers.port("SMTP_PORT"), 5).await;
    deliver_thirty(&servers);
    // Past the handshake, the sign-in and the search: about 600 KB into the answer to FETCH.
    let (_, before) = proxy.bytes();
    proxy.set(Fault::CutAfterServerBytes(600_000));
    let now = clock.now();

    let (ends, _) = pass(&e).await;
    assert!(proxy.fired() >= 1, "the proxy cut a connection (server bytes before: {before})");
    let end = of(&ends, alice, Workload::Incoming);
    assert_transient(&e, end, alice, Workload::Incoming, "mail.connection_lost", now).await;
    let partial = tracked_fault_ids(&database(&d));
    assert!(partial.len() < 30, "the cut came before the end of the messages: {partial:?}");

    proxy.set(Fault::None);
    clock.set(now + Duration::minutes(5));
    let (ends, _) = pass(&e).await;
    let end = of(&ends, alice, Workload::Incoming);
    assert_eq!((end.outcome, end.error_code.as_deref(), end.disabled), (RunOutcome::Success, None, false), "{end:?}");
    assert_thirty_once(&database(&d));
    assert_eq!(schedule(&e, alice, Workload::Incoming).await.transient_failures, 0, "success resets the count");
    Ok(())
}

#[tokio::test]
async fn a_stall_before_and_during_fetch_times_out_within_bounds_and_is_retried() -> Result<()> {
    let servers = MailServers::start(&[("alice", "alice-pass")]);
    let (e, clock, d) = fixed_engine().await;
    let proxy = FaultProxy::start(servers.port("IMAPS_PORT")).await;
    let (_, alice) = alice(&e, &servers, proxy.port(), servers.port("SMTP_PORT"), 2).await;
    deliver_thirty(&servers);

    // A server that accepts and never answers.
    proxy.set(Fault::Stall);
    let mut now = clock.now();
    let (ends, took) = pass(&e).await;
    assert!(proxy.fired() >= 1, "the proxy stalled a connection");
    assert!(took < std::time::Duration::from_secs(20), "the timeout is the profile's 2 s, not minutes: {took:?}");
    let end = of(&ends, alice, Workload::Incoming);
    assert_transient(&e, end, alice, Workload::Incoming, "mail.timeout", now).await;

    // A server that stops talking in the middle of the answer to FETCH.
    proxy.set(Fault::StallAfterServerBytes(600_000));
    now += Duration::minutes(5);
    clock.set(now);
    let fired = proxy.fired();
    let (ends, took) = pass(&e).await;
    assert!(proxy.fired() > fired, "the proxy stalled mid-answer");
    assert!(took < std::time::Duration::from_secs(30), "a silent transfer times out: {took:?}");
    let end = of(&ends, alice, Workload::Incoming);
    assert_eq!(end.outcome, RunOutcome::Transient, "{end:?}");
    assert_eq!((end.error_code.as_deref(), end.disabled), (Some("mail.timeout"), false), "{end:?}");
    assert_eq!(end.next_run_on, Some(now + Duration::minutes(5)), "{end:?}");
    assert_eq!(schedule(&e, alice, Workload::Incoming).await.transient_failures, 2);

    proxy.set(Fault::None);
    clock.set(now + Duration::minutes(5));
    let (ends, _) = pass(&e).await;
    let end = of(&ends, alice, Workload::Incoming);
    assert_eq!((end.outcome, end.error_code.as_deref()), (RunOutcome::Success, None), "{end:?}");
    assert_thirty_once(&database(&d));
    Ok(())
}

fn email(from: MailboxId, subject: &str, body_bytes: usize) -> SendEmail {
    let line = format!("{subject}: a line of text to make the message as large as it must be.\n");
    SendEmail {
        from_mailbox_id: from,
        to: vec![Recipient { record: None, address: Some("ext@localhost".into()) }],
        cc: vec![],
        bcc: vec![],
        subject: subject.into(),
        body_text: line.repeat(body_bytes / line.len() + 1),
        body_html: String::new(),
        attachments: vec![],
        regarding: None,
        send_after: None,
        in_reply_to: None,
    }
}

/// How many times each Message-ID (without its angle brackets) is in a user's Maildir.
fn received(servers: &MailServers, user: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for sub in ["new", "cur"] {
        let dir = servers.dir().join(format!("mail/{user}/Maildir/{sub}"));
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let text = std::fs::read(entry.path()).unwrap_or_default();
            let text = String::from_utf8_lossy(&text);
            let mut lines = text.lines();
            while let Some(l) = lines.next() {
                if l.is_empty() {
                    break;
                }
                if l.to_ascii_lowercase().starts_with("message-id:") {
                    let mut v = l["message-id:".len()..].trim().to_owned();
                    if v.is_empty() {
                        v = lines.next().unwrap_or_default().trim().to_owned();
                    }
                    *out.entry(v.trim_matches(['<', '>']).to_owned()).or_insert(0) += 1;
                    break;
                }
            }
        }
    }
    out
}

/// Waits up to 20 s for every one of `ids` to be in the user's Maildir, then a moment more for
/// a second copy to show; returns the counts.
async fn wait_received(servers: &MailServers, user: &str, ids: &[String]) -> BTreeMap<String, usize> {
    for _ in 0..300 {
        let got = received(servers, user);
        if ids.iter().all(|id| got.contains_key(id)) {
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            return received(servers, user);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    received(servers, user)
}

/// Runs passes (5 minutes apart) until nothing of `ids` is left to send, at most `max` passes.
async fn until_sent(e: &Engine, clock: &FixedClock, m: MailboxId, ids: &[api::ActivityId], max: usize) {
    for _ in 0..max {
        let mut left = 0;
        for id in ids {
            if ok(api::get_email_activity(e, *id).await).status != EmailStatus::Sent {
                left += 1;
            }
        }
        if left == 0 {
            return;
        }
        clock.set(clock.now() + Duration::minutes(5));
        let (ends, _) = pass(e).await;
        if let Some(end) = ends.iter().find(|c| c.mailbox_id == m && c.workload == Workload::Outgoing) {
            assert!(!end.disabled && end.outcome != RunOutcome::Permanent, "{end:?}");
        }
    }
    let outbox = ok(api::list_outbox(e, None, 100).await);
    panic!("not every email was sent after {max} passes: {outbox:?}");
}

#[tokio::test]
async fn a_connection_cut_mid_data_leaves_no_email_unsent_and_none_received_twice_unflagged() -> Result<()> {
    let servers = MailServers::start(&[("alice", "alice-pass"), ("ext", "ext-pass")]);
    let (e, clock, d) = fixed_engine().await;
    let proxy = FaultProxy::start(servers.port("SMTP_PORT")).await;
    let (_, alice) = alice(&e, &servers, servers.port("IMAPS_PORT"), proxy.port(), 5).await;
    // Everything due now (Test & Enable's cycle) runs before the emails are written.
    pass(&e).await;

    let mut emails = Vec::new();
    for i in 0..10 {
        emails.push(ok(api::send_email(&e, email(alice, &format!("Fault out {i:02}"), 150_000)).await));
    }
    // The first connection is cut in the third email's DATA (about 150 KB each).
    proxy.set_once(Fault::CutAfterClientBytes(380_000));
    let ids: Vec<api::ActivityId> = emails.iter().map(|m| m.id).collect();
    let now = clock.now() + Duration::seconds(1);
    clock.set(now);
    let (ends, _) = pass(&e).await;
    assert_eq!(proxy.fired(), 1, "the proxy cut the SMTP connection once");
    let end = of(&ends, alice, Workload::Outgoing);
    println!("cycle cut mid-DATA: {end:?}");
    // The cut ends the cycle: a transient failure of the mailbox, a warning, retried in 5 minutes.
    assert_transient(&e, end, alice, Workload::Outgoing, "mail.connection_lost", now).await;
    let outbox = ok(api::list_outbox(&e, None, 100).await);
    let in_flight: Vec<&api::OutboxRow> = outbox.iter().filter(|r| ids.contains(&r.id)).collect();
    let cut: Vec<&&api::OutboxRow> = in_flight.iter().filter(|r| r.delivery_attempts == 1).collect();
    assert_eq!(cut.len(), 1, "one email was on its way when the connection was cut: {outbox:?}");
    assert!(cut[0].possible_duplicate, "cut mid-DATA, it may have left: a possible duplicate: {:?}", cut[0]);
    assert_eq!(in_flight.len(), 8, "two sent before the cut, eight waiting: {outbox:?}");
    for r in &in_flight {
        assert_eq!(r.status, EmailStatus::PendingSend, "waits for the retry: {r:?}");
        assert_eq!(r.last_error_code, "mail.connection_lost", "says why it waits: {r:?}");
    }
    let in_flight_ids: Vec<api::ActivityId> = in_flight.iter().map(|r| r.id).collect();
    for id in &ids {
        let a = ok(api::get_email_activity(&e, *id).await);
        assert_eq!(
            a.status == EmailStatus::Sent,
            !in_flight_ids.contains(id),
            "each email is Sent or waiting, none lost: {a:?}"
        );
    }

    until_sent(&e, &clock, alice, &ids, 4).await;
    let mut flagged = BTreeSet::new();
    let mut message_ids = Vec::new();
    for id in &ids {
        let a = ok(api::get_email_activity(&e, *id).await);
        assert_eq!(a.status, EmailStatus::Sent);
        let mid = a.message_id.trim().trim_matches(['<', '>']).to_owned();
        let row = rusqlite::Connection::open(database(&d))
            .and_then(|c| {
                c.query_row("SELECT possible_duplicate FROM email_activity WHERE id = ?1", [id.0], |r| {
                    r.get::<_, i64>(0)
                })
            })
            .unwrap_or_else(|e| panic!("{e}"));
        if row == 1 {
            flagged.insert(mid.clone());
        }
        message_ids.push(mid);
    }
    assert!(!flagged.is_empty(), "the email cut mid-DATA keeps its mark once sent");
    let got = wait_received(&servers, "ext", &message_ids).await;
    for mid in &message_ids {
        let n = got.get(mid).copied().unwrap_or(0);
        assert!(n >= 1, "{mid} was received: {got:?}");
        assert!(n == 1 || flagged.contains(mid), "{mid} was received {n} times without the possible-duplicate mark");
    }
    Ok(())
}

#[tokio::test]
async fn a_busy_smtp_greeting_is_transient_and_the_email_is_sent_once_later() -> Result<()> {
    let servers = MailServers::start(&[("alice", "alice-pass"), ("ext", "ext-pass")]);
    let (e, clock, _d) = fixed_engine().await;
    let proxy = FaultProxy::start(servers.port("SMTP_PORT")).await;
    let (_, alice) = alice(&e, &servers, servers.port("IMAPS_PORT"), proxy.port(), 5).await;
    pass(&e).await;

    proxy.set(Fault::Reply(b"421 4.7.0 Try again later, closing connection\r\n".to_vec()));
    let sent = ok(api::send_email(&e, email(alice, "Fault busy", 1_000)).await);
    let now = clock.now() + Duration::seconds(1);
    clock.set(now);
    let (ends, _) = pass(&e).await;
    assert!(proxy.fired() >= 1, "the proxy answered in the server's place");
    let end = of(&ends, alice, Workload::Outgoing);
    assert_transient(&e, end, alice, Workload::Outgoing, "mail.server_busy", now).await;
    let row = ok(api::list_outbox(&e, None, 10).await).into_iter().find(|r| r.id == sent.id);
    let row = row.unwrap_or_else(|| panic!("the email is still in the outbox"));
    assert_eq!((row.status, row.last_error_code.as_str()), (EmailStatus::PendingSend, "mail.server_busy"), "{row:?}");
    assert!(!row.possible_duplicate, "the message never left: {row:?}");

    proxy.set(Fault::None);
    until_sent(&e, &clock, alice, &[sent.id], 3).await;
    let mid = ok(api::get_email_activity(&e, sent.id).await).message_id.trim().trim_matches(['<', '>']).to_owned();
    let got = wait_received(&servers, "ext", std::slice::from_ref(&mid)).await;
    assert_eq!(got.get(&mid).copied(), Some(1), "received once: {got:?}");
    Ok(())
}

#[tokio::test]
async fn a_busy_imap_greeting_is_transient_and_the_messages_are_tracked_later() -> Result<()> {
    let servers = MailServers::start(&[("alice", "alice-pass")]);
    let (e, clock, d) = fixed_engine().await;
    // Plain IMAP with STARTTLS: the greeting comes before TLS, so the proxy can answer it.
    let proxy = FaultProxy::start(servers.port("IMAP_PORT")).await;
    let sides = Sides {
        incoming_port: proxy.port(),
        incoming_tls: api::TlsMode::StartTls,
        ..Sides::imaps_and_submission(&servers)
    };
    let changes = ProfileChanges { timeout_seconds: Some(5), ..Default::default() };
    let p = profile(&e, "IMAP STARTTLS through the proxy", &sides, &servers.ca_file(), changes).await;
    let alice = mailbox(&e, p, "alice", "alice-pass", true).await;
    user_filter(&e, alice, FilteringMethod::AllEmail).await;
    test_and_enable(&e, vec![alice]).await;
    assert!(ok(api::get_mailbox(&e, alice).await).mailbox.enabled_for_incoming, "enabled through the proxy");
    deliver_thirty(&servers);

    proxy.set(Fault::Reply(b"* BYE [UNAVAILABLE] Server busy, try again later\r\n".to_vec()));
    let now = clock.now();
    let (ends, _) = pass(&e).await;
    assert!(proxy.fired() >= 1, "the proxy answered in the server's place");
    let end = of(&ends, alice, Workload::Incoming);
    println!("cycle after an IMAP BYE greeting: {end:?}");
    assert_transient(&e, end, alice, Workload::Incoming, "mail.server_busy", now).await;
    assert!(tracked_fault_ids(&database(&d)).is_empty(), "nothing was read");

    proxy.set(Fault::None);
    clock.set(now + Duration::minutes(5));
    let (ends, _) = pass(&e).await;
    let end = of(&ends, alice, Workload::Incoming);
    assert_eq!((end.outcome, end.error_code.as_deref()), (RunOutcome::Success, None), "{end:?}");
    assert_thirty_once(&database(&d));
    Ok(())
}
