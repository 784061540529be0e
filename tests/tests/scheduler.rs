//! The scheduler against the real Dovecot and Postfix, on a fixed clock: a pass runs what is due
//! and schedules the next run (§3.6); an email written is sent at once; a wrong password disables
//! that mailbox's workloads with the alert that says so while the others go on; transient
//! failures count, success resets them, the tenth in a row disables (§3.11); the profile gets its
//! alert when more than half of its mailboxes fail.

use chrono::Duration;
use serversync::api::{
    self, AlertFilter, AlertLevel, FilteringMethod, MailboxId, ProfileChanges, Recipient, RunOutcome, SendEmail,
    TestStatus, Workload,
};
use serversync::clock::Clock;
use serversync::protocol::TEST_MESSAGE_SUBJECT;
use serversync::secrets::Secret;
use serversync::{Engine, Result};
use serversync_tests::fixed_engine;
use serversync_tests::mail::{MailServers, deliver, silent_server, wait_for_subjects};
use serversync_tests::proxy::{Fault, FaultProxy};
use serversync_tests::setup::{Sides, mailbox, ok, profile, test_and_enable, user_filter, within};

fn message(n: u32) -> Vec<u8> {
    format!(
        "From: Ext <ext@localhost>\r\nTo: alice@localhost\r\nSubject: Order {n}\r\nMessage-ID: <order-{n}@ext.test>\r\nDate: {}\r\n\r\nHello {n}\r\n",
        chrono::Utc::now().to_rfc2822()
    )
    .into_bytes()
}

/// An email from `from` to bob@localhost, to leave now or at `send_after`.
fn to_bob(from: MailboxId, subject: &str, send_after: Option<chrono::DateTime<chrono::Utc>>) -> SendEmail {
    SendEmail {
        from_mailbox_id: from,
        to: vec![Recipient { record: None, address: Some("bob@localhost".into()) }],
        cc: vec![],
        bcc: vec![],
        subject: subject.into(),
        body_text: format!("{subject}: sent by the scheduler"),
        body_html: String::new(),
        attachments: vec![],
        regarding: None,
        send_after,
        in_reply_to: None,
    }
}

/// Runs one pass; returns (mailbox, workload) → the cycle's end.
async fn pass(e: &Engine) -> Vec<api::CycleEnd> {
    ok(api::run_due_workloads(e, Default::default()).await)
}

fn of(ends: &[api::CycleEnd], m: MailboxId, w: Workload) -> Option<&api::CycleEnd> {
    ends.iter().find(|e| e.mailbox_id == m && e.workload == w)
}

async fn schedule(e: &Engine, m: MailboxId, w: Workload) -> api::WorkloadSchedule {
    ok(api::get_mailbox_schedule(e, m).await)
        .into_iter()
        .find(|s| s.workload == w)
        .unwrap_or_else(|| panic!("no {w:?} schedule"))
}

use Workload as W;

#[tokio::test]
async fn a_pass_runs_what_is_due_schedules_the_next_run_and_sends_a_new_email_at_once() -> Result<()> {
    let servers = MailServers::start(&[("alice", "alice-pass"), ("bob", "bob-pass")]);
    let (e, clock, _d) = fixed_engine().await;
    let p =
        profile(&e, "Dovecot", &Sides::imaps_and_submission(&servers), &servers.ca_file(), ProfileChanges::default())
            .await;
    let alice = mailbox(&e, p, "alice", "alice-pass", true).await;
    let bob = mailbox(&e, p, "bob", "bob-pass", true).await;
    user_filter(&e, alice, FilteringMethod::AllEmail).await;
    test_and_enable(&e, vec![alice, bob]).await;
    // Test & Enable's message goes through Postfix's queue: it is counted below once it is there.
    assert!(wait_for_subjects(&servers, "alice", "alice-pass", TEST_MESSAGE_SUBJECT, 1).await);
    for n in 0..3 {
        deliver(&servers, "ext@localhost", &["alice@localhost"], &message(n));
    }
    let t0 = clock.now();

    let ends = pass(&e).await;
    assert_eq!(ends.len(), 4, "both workloads of both mailboxes were due: {ends:?}");
    let a_in = of(&ends, alice, W::Incoming).unwrap_or_else(|| panic!("alice incoming ran"));
    assert_eq!((a_in.items, a_in.disabled), (4, false), "the three messages and Test & Enable's own were tracked");
    assert_eq!(a_in.next_run_on, Some(t0 + Duration::minutes(5)), "incoming is postponed 5 minutes");
    let b_in = of(&ends, bob, W::Incoming).unwrap_or_else(|| panic!("bob incoming ran"));
    assert_eq!(b_in.items, 0);
    assert_eq!(schedule(&e, bob, Workload::Incoming).await.idle_cycles, 1, "an empty cycle counts as idle");
    assert_eq!(schedule(&e, alice, Workload::Incoming).await.items_processed, 4);
    assert!(pass(&e).await.is_empty(), "nothing is due again at the same time");

    clock.set(t0 + Duration::minutes(1));
    // An email to leave two minutes on (Send Later), written before one to leave now.
    let later_at = t0 + Duration::minutes(3);
    let later = ok(api::send_email(&e, to_bob(alice, "Later", Some(later_at))).await);
    let sent = ok(api::send_email(&e, to_bob(alice, "Scheduled", None)).await);
    let ends = pass(&e).await;
    assert_eq!(ends.len(), 1, "only alice's outgoing was made due by the new email: {ends:?}");
    let a_out = of(&ends, alice, W::Outgoing).unwrap_or_else(|| panic!("alice outgoing ran"));
    assert_eq!(a_out.items, 1, "the email was sent");
    assert_eq!(ok(api::get_email_activity(&e, sent.id).await).status, api::EmailStatus::Sent);
    // The cycle does not push the Send Later email back by a polling interval.
    assert_eq!(a_out.next_run_on, Some(later_at), "the next outgoing run is at the Send Later time");
    clock.set(later_at);
    let ends = pass(&e).await;
    let a_out = of(&ends, alice, W::Outgoing).unwrap_or_else(|| panic!("alice outgoing ran at the Send Later time"));
    assert_eq!(a_out.items, 1, "the Send Later email left at its time: {ends:?}");
    assert_eq!(ok(api::get_email_activity(&e, later.id).await).status, api::EmailStatus::Sent);

    // Bob's copies of the two go through Postfix's queue: the next pass tracks them once there.
    for id in [sent.id, later.id] {
        let subject = ok(api::get_email_activity(&e, id).await).subject;
        assert!(wait_for_subjects(&servers, "bob", "bob-pass", &subject, 1).await, "{subject} reached bob");
    }
    clock.set(t0 + Duration::minutes(5));
    let ends = pass(&e).await;
    assert_eq!(
        ends.iter().filter(|c| c.workload == W::Incoming).count(),
        2,
        "five minutes on, both incoming workloads are due again: {ends:?}"
    );
    let runs = ok(api::list_sync_runs(&e, alice, 100).await);
    assert!(runs.len() >= 4 && runs.iter().all(|r| r.outcome == RunOutcome::Success), "the history: {runs:?}");

    let m = ok(api::monitoring_summary(&e, 24).await);
    let incoming: u32 = m.per_hour.iter().map(|h| h.incoming).sum();
    let outgoing: u32 = m.per_hour.iter().map(|h| h.outgoing).sum();
    // Alice's four, and bob's copies of the two emails alice sent him (mail between users is
    // tracked as two activities by default).
    assert_eq!((incoming, outgoing), (6, 2), "the dashboard counts what was tracked and sent: {m:?}");
    assert_eq!(m.latency.iter().map(|l| l.count).sum::<u32>(), 6);
    assert!(m.failures.is_empty(), "nothing failed: {:?}", m.failures);
    let enabled = m.mailboxes.iter().find(|s| s.state == "enabled").map(|s| s.count);
    assert_eq!(enabled, Some(2), "{:?}", m.mailboxes);
    assert_eq!((m.backlog.pending_send, m.backlog.overdue_workloads), (0, 0), "{:?}", m.backlog);
    let csv = ok(api::mailbox_details_csv(&e, alice, serversync::Lang::Fr).await);
    assert!(csv.starts_with("kind,workload,started_on"), "{csv}");
    assert_eq!(csv.lines().filter(|l| l.starts_with("cycle,")).count(), runs.len(), "every cycle is a line: {csv}");
    Ok(())
}

/// An email written while its mailbox's outgoing cycle runs was not seen by that cycle: the
/// next cycle runs at once instead of a polling interval later (the SMTP server is reached
/// through a slow link so that the cycle surely runs while the email is written).
#[tokio::test]
async fn an_email_written_while_its_mailbox_sends_leaves_at_the_next_pass() -> Result<()> {
    let servers = MailServers::start(&[("alice", "alice-pass"), ("bob", "bob-pass")]);
    let (e, clock, _d) = fixed_engine().await;
    let proxy = FaultProxy::start(servers.port("SMTP_PORT")).await;
    let sides = Sides { outgoing_port: proxy.port(), ..Sides::imaps_and_submission(&servers) };
    let p = profile(&e, "Slow SMTP", &sides, &servers.ca_file(), ProfileChanges::default()).await;
    let alice = mailbox(&e, p, "alice", "alice-pass", true).await;
    mailbox(&e, p, "bob", "bob-pass", true).await;
    test_and_enable(&e, vec![alice]).await;
    let first = ok(api::send_email(&e, to_bob(alice, "Written first", None)).await);
    proxy.set(Fault::Slow(std::time::Duration::from_millis(150)));

    let running = tokio::spawn({
        let e = e.clone();
        async move { pass(&e).await }
    });
    let sending =
        within(30, || async { ok(api::get_email_activity(&e, first.id).await).status == api::EmailStatus::Sending })
            .await;
    assert!(sending.is_some(), "the first email is being sent");
    let second = ok(api::send_email(&e, to_bob(alice, "Written during the cycle", None)).await);
    let ends = running.await.unwrap_or_else(|err| panic!("{err}"));
    let a_out = of(&ends, alice, W::Outgoing).unwrap_or_else(|| panic!("alice outgoing ran: {ends:?}"));
    assert_eq!(a_out.items, 1, "the cycle sent the email it read: {ends:?}");
    assert_eq!(ok(api::get_email_activity(&e, second.id).await).status, api::EmailStatus::PendingSend);
    assert_eq!(
        schedule(&e, alice, W::Outgoing).await.next_run_on,
        Some(clock.now()),
        "the email the cycle did not see makes the next run due at once"
    );

    let ends = pass(&e).await;
    let a_out = of(&ends, alice, W::Outgoing).unwrap_or_else(|| panic!("alice outgoing ran again: {ends:?}"));
    assert_eq!(a_out.items, 1, "{ends:?}");
    assert_eq!(ok(api::get_email_activity(&e, second.id).await).status, api::EmailStatus::Sent);
    assert_eq!(
        schedule(&e, alice, W::Outgoing).await.next_run_on,
        Some(clock.now() + Duration::minutes(5)),
        "nothing left: the polling interval again"
    );
    Ok(())
}

#[tokio::test]
async fn a_wrong_password_disables_that_mailbox_with_its_alert_and_the_others_go_on() -> Result<()> {
    let servers = MailServers::start(&[("alice", "alice-pass"), ("bob", "bob-pass")]);
    let (e, clock, _d) = fixed_engine().await;
    let p =
        profile(&e, "Dovecot", &Sides::imaps_and_submission(&servers), &servers.ca_file(), ProfileChanges::default())
            .await;
    let alice = mailbox(&e, p, "alice", "alice-pass", true).await;
    let bob = mailbox(&e, p, "bob", "bob-pass", true).await;
    user_filter(&e, alice, FilteringMethod::AllEmail).await;
    user_filter(&e, bob, FilteringMethod::AllEmail).await;
    test_and_enable(&e, vec![alice, bob]).await;
    assert!(wait_for_subjects(&servers, "bob", "bob-pass", TEST_MESSAGE_SUBJECT, 1).await);
    assert!(wait_for_subjects(&servers, "alice", "alice-pass", TEST_MESSAGE_SUBJECT, 1).await);
    ok(api::set_mailbox_credentials(&e, alice, "alice".into(), Secret::new("not-the-password")).await);
    deliver(&servers, "ext@localhost", &["alice@localhost", "bob@localhost"], &message(7));

    let ends = pass(&e).await;
    let a_in = of(&ends, alice, W::Incoming).unwrap_or_else(|| panic!("alice incoming ran"));
    assert!(a_in.disabled, "a wrong password is permanent: {a_in:?}");
    assert_eq!(a_in.next_run_on, None);
    assert_eq!(a_in.error_code.as_deref(), Some("mail.auth.failed_mailbox"));
    let b_in = of(&ends, bob, W::Incoming).unwrap_or_else(|| panic!("bob incoming ran"));
    assert_eq!((b_in.items, b_in.disabled), (2, false), "bob's mail (and Test & Enable's) is tracked all the same");
    let m = ok(api::get_mailbox(&e, alice).await).mailbox;
    assert!(!m.enabled_for_incoming, "alice is disabled for incoming");
    assert_eq!(m.incoming_status, TestStatus::Failure);
    let alerts = ok(api::list_alerts(&e, AlertFilter { mailbox_id: Some(alice), ..Default::default() }).await);
    let alert = alerts
        .iter()
        .find(|a| a.code == "mail.auth.failed_mailbox" && a.level == AlertLevel::Error)
        .unwrap_or_else(|| panic!("the error alert was raised: {alerts:?}"));
    let text = serversync::i18n::render(serversync::Lang::En, &alert.code, &alert.params);
    assert!(text.contains("has been disabled for incoming"), "the alert says the mailbox was disabled: {text}");
    let failures = ok(api::monitoring_summary(&e, 1).await).failures;
    assert!(
        failures.iter().any(|f| f.source == "cycle" && f.code == "mail.auth.failed_mailbox"),
        "the dashboard shows the failure by its code: {failures:?}"
    );
    let csv = ok(api::mailbox_details_csv(&e, alice, serversync::Lang::En).await);
    assert!(csv.contains("cycle,incoming,") && csv.contains("mail.auth.failed_mailbox"), "{csv}");
    let profile_alerts = ok(api::list_alerts(&e, AlertFilter { profile_id: Some(p), ..Default::default() }).await);
    assert!(
        !profile_alerts.iter().any(|a| a.code == "profile.many_mailboxes_failing"),
        "one mailbox of two is not more than half: {profile_alerts:?}"
    );

    clock.set(clock.now() + Duration::minutes(30));
    let ends = pass(&e).await;
    assert!(of(&ends, alice, W::Incoming).is_none(), "a disabled workload is not run again: {ends:?}");
    assert!(of(&ends, bob, W::Incoming).is_some(), "bob goes on");

    // Test & Enable with the right password brings it back, at once.
    ok(api::set_mailbox_credentials(&e, alice, "alice".into(), Secret::new("alice-pass")).await);
    test_and_enable(&e, vec![alice]).await;
    assert!(wait_for_subjects(&servers, "alice", "alice-pass", TEST_MESSAGE_SUBJECT, 2).await);
    let ends = pass(&e).await;
    let a_in = of(&ends, alice, W::Incoming).unwrap_or_else(|| panic!("alice runs again after Test & Enable"));
    assert_eq!(
        (a_in.items, a_in.disabled),
        (3, false),
        "the message that waited is tracked (with the two Test & Enable messages)"
    );
    Ok(())
}

#[tokio::test]
async fn transient_failures_count_success_resets_them_and_the_tenth_disables() -> Result<()> {
    let servers = MailServers::start(&[("alice", "alice-pass")]);
    let (e, clock, _d) = fixed_engine().await;
    let p =
        profile(&e, "Dovecot", &Sides::imaps_and_submission(&servers), &servers.ca_file(), ProfileChanges::default())
            .await;
    let alice = mailbox(&e, p, "alice", "alice-pass", true).await;
    test_and_enable(&e, vec![alice]).await;
    let good_port = servers.port("IMAPS_PORT");
    let hung = silent_server().await;
    // A short timeout where the server hangs (each cycle waits it out); a roomy one where the
    // real server must answer under load.
    let point_at = |port: u16, timeout: u32| ProfileChanges {
        incoming_port: Some(Some(port)),
        timeout_seconds: Some(timeout),
        ..Default::default()
    };
    ok(api::update_profile(&e, p, point_at(hung, 1)).await);

    let mut now = clock.now();
    for n in 1..=3u32 {
        let ends = pass(&e).await;
        let end = of(&ends, alice, W::Incoming).unwrap_or_else(|| panic!("cycle {n} ran"));
        assert_eq!(end.error_code.as_deref(), Some("mail.timeout"), "a server that hangs times out");
        assert_eq!(end.next_run_on, Some(now + Duration::minutes(5)), "retried after the 5-minute back-off");
        assert_eq!(schedule(&e, alice, Workload::Incoming).await.transient_failures, n);
        now += Duration::minutes(5);
        clock.set(now);
    }
    let warnings = ok(api::list_alerts(&e, AlertFilter { mailbox_id: Some(alice), ..Default::default() }).await);
    assert!(
        warnings.iter().any(|a| a.code == "mail.timeout" && a.level == AlertLevel::Warning && a.count == 3),
        "each transient failure is a warning (one row, counted): {warnings:?}"
    );
    let profile_alerts = ok(api::list_alerts(&e, AlertFilter { profile_id: Some(p), ..Default::default() }).await);
    assert!(
        profile_alerts.iter().any(|a| a.code == "profile.many_mailboxes_failing"),
        "its only mailbox failing is more than half of the profile's: {profile_alerts:?}"
    );

    ok(api::update_profile(&e, p, point_at(good_port, 10)).await);
    let ends = pass(&e).await;
    assert!(of(&ends, alice, W::Incoming).is_some_and(|c| c.error_code.is_none()), "{ends:?}");
    assert_eq!(schedule(&e, alice, Workload::Incoming).await.transient_failures, 0, "success resets the count");

    ok(api::update_profile(&e, p, point_at(hung, 1)).await);
    now += Duration::minutes(5);
    clock.set(now);
    for n in 1..=10u32 {
        let ends = pass(&e).await;
        let end = of(&ends, alice, W::Incoming).unwrap_or_else(|| panic!("cycle {n} ran"));
        assert_eq!(end.disabled, n == 10, "only the tenth failure in a row disables (cycle {n})");
        now += Duration::minutes(5);
        clock.set(now);
    }
    let m = ok(api::get_mailbox(&e, alice).await).mailbox;
    assert!(!m.enabled_for_incoming && m.enabled_for_outgoing, "incoming only is disabled");
    let alerts = ok(api::list_alerts(&e, AlertFilter { mailbox_id: Some(alice), ..Default::default() }).await);
    assert!(
        alerts.iter().any(|a| a.code == "mail.timeout" && a.level == AlertLevel::Error),
        "the tenth is an error: {alerts:?}"
    );
    Ok(())
}

/// How many tracked emails have `subject` in their subject.
async fn tracked(e: &Engine, subject: &str) -> u64 {
    let filter = api::EmailActivityFilter { search: Some(subject.into()), ..Default::default() };
    ok(api::list_email_activities(e, filter, 0, 10).await).total
}

#[tokio::test]
async fn the_running_scheduler_is_pushed_new_mail_through_idle_and_polls_when_the_limit_is_reached() -> Result<()> {
    let servers = MailServers::start(&[("alice", "alice-pass"), ("bob", "bob-pass")]);
    let (e, _, _d) = serversync_tests::memory_engine().await;
    let p =
        profile(&e, "Dovecot", &Sides::imaps_and_submission(&servers), &servers.ca_file(), ProfileChanges::default())
            .await;
    let alice = mailbox(&e, p, "alice", "alice-pass", true).await;
    user_filter(&e, alice, FilteringMethod::AllEmail).await;
    test_and_enable(&e, vec![alice]).await;
    ok(api::start_scheduler(&e, Default::default()).await);

    let connected = within(20, || async { schedule(&e, alice, Workload::Incoming).await.idle_connected }).await;
    assert!(connected.is_some(), "alice's Inbox is watched with IDLE");
    // The IDLE connection and the first cycle start together; either may be first to finish.
    let first =
        within(20, || async { schedule(&e, alice, Workload::Incoming).await.last_completed_on.is_some() }).await;
    assert!(first.is_some(), "the first cycle ran at once");
    deliver(&servers, "ext@localhost", &["alice@localhost"], &message(42));
    // Within a minute: pushed, since the poll is 5 minutes away.
    let took = within(60, || async { tracked(&e, "Order 42").await == 1 }).await;
    assert!(took.is_some(), "the pushed message was not tracked within 60 s (the poll is 5 minutes)");
    let status = ok(api::scheduler_status(&e).await);
    assert!(status.running && status.cycles >= 2, "{status:?}");

    // A profile whose limit leaves no connection to spare is polled, not pushed to.
    let tight = profile(
        &e,
        "One connection",
        &Sides::imaps_and_submission(&servers),
        &servers.ca_file(),
        ProfileChanges { max_concurrent_connections: Some(1), ..Default::default() },
    )
    .await;
    let bob = mailbox(&e, tight, "bob", "bob-pass", true).await;
    user_filter(&e, bob, FilteringMethod::AllEmail).await;
    test_and_enable(&e, vec![bob]).await;
    let ran = within(20, || async { schedule(&e, bob, Workload::Incoming).await.last_completed_on.is_some() }).await;
    assert!(ran.is_some(), "bob's first cycle ran");
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    assert!(!schedule(&e, bob, Workload::Incoming).await.idle_connected, "no IDLE on the last free connection");
    assert!(schedule(&e, alice, Workload::Incoming).await.idle_connected, "alice is still pushed to");

    ok(api::stop_scheduler(&e).await);
    assert!(!ok(api::scheduler_status(&e).await).running);
    assert!(
        !schedule(&e, alice, Workload::Incoming).await.idle_connected,
        "a stopped scheduler lets its IDLE connections go"
    );
    Ok(())
}
