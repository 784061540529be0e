//! Test Connection and Test & Enable Mailboxes against real servers: Dovecot (IMAP, POP3) and
//! Postfix (SMTP) on 127.0.0.1, with a throwaway certificate authority (tests/servers/).

use serversync::Engine;
use serversync::api::ProfileSecretKind;
use serversync::api::{self, CreateUser};
use serversync::api::{
    AlertFilter, AlertLevel, CredentialMode, JobItemState, JobState, MailboxChanges, MailboxId, ProfileChanges,
    ProfileId, ServerType, TestExecutionStatus, TestStatus, TlsMode,
};
use serversync::protocol::{StepKind, StepOutcome, TEST_MESSAGE_SUBJECT};
use serversync::secrets::Secret;
use serversync_tests::mail::{MailServers, inbox_subjects, silent_server, wait_for_subject};
use serversync_tests::memory_engine;
use serversync_tests::setup::{Sides, alerts, item, mailbox, ok, profile, sync_methods, test_and_enable};
use std::time::{Duration, Instant};

async fn p_name(e: &Engine, id: ProfileId) -> String {
    ok(api::get_profile(e, id).await).name
}

const USERS: &[(&str, &str)] = &[
    ("alice", "alice-pass"),
    ("bob", "bob-pass"),
    ("carol", "carol-pass"),
    ("dave", "dave-pass"),
    ("erin", "erin-pass"),
];

/// The acceptance scenario: five mailboxes — two good, one with a wrong password, one not
/// approved, one whose server's certificate is not trusted — and exactly the two good ones end
/// enabled, with the test message in their Inboxes.
async fn five_mailboxes(sides: Sides, untrusted_port: u16, servers: &MailServers) {
    let (e, _, _d) = memory_engine().await;
    let ca = servers.ca_file();
    let good = profile(&e, "Loopback mail", &sides, &ca, ProfileChanges::default()).await;
    // A profile that does not name the servers' authority: neither certificate is trusted (the
    // throwaway authority is in no system store). Its incoming side even uses the servers' other
    // listener, whose certificate comes from yet another authority.
    let untrusted_sides = Sides { incoming_port: untrusted_port, incoming_tls: TlsMode::Implicit, ..sides };
    let untrusted = profile(&e, "Untrusted certificate", &untrusted_sides, "", ProfileChanges::default()).await;

    let alice = mailbox(&e, good, "alice", "alice-pass", true).await;
    let bob = mailbox(&e, good, "bob", "bob-pass", true).await;
    let carol = mailbox(&e, good, "carol", "not-carols-password", true).await;
    let dave = mailbox(&e, good, "dave", "dave-pass", false).await;
    let erin = mailbox(&e, untrusted, "erin", "erin-pass", true).await;

    let job = test_and_enable(&e, vec![alice, bob, carol, dave, erin]).await;
    assert_eq!(job.job.state, JobState::Failed, "{job:?}");
    for good in [alice, bob] {
        let i = item(&job, good);
        assert_eq!((i.state, i.error_code.as_str()), (JobItemState::Success, ""), "{i:?}");
        let m = ok(api::get_mailbox(&e, good).await).mailbox;
        assert_eq!((m.incoming_status, m.outgoing_status), (TestStatus::Success, TestStatus::Success));
        assert!(m.enabled_for_incoming && m.enabled_for_outgoing && m.test_completed_on.is_some());
        assert_eq!(alerts(&e, good).await[0].0, AlertLevel::Information);
    }
    let expect = [
        (carol, "mail.auth.failed_mailbox", "refused the user name or password of the mailbox carol"),
        (dave, "mailbox.not_approved", "is not approved"),
        (erin, "mail.tls.untrusted", "certificate is not trusted"),
    ];
    for (id, code, words) in expect {
        let i = item(&job, id);
        assert_eq!((i.state, i.error_code.as_str()), (JobItemState::Failure, code), "{i:?}");
        let m = ok(api::get_mailbox(&e, id).await).mailbox;
        assert_eq!(m.incoming_status, TestStatus::Failure, "{code}");
        assert!(!m.enabled_for_incoming && !m.enabled_for_outgoing, "{code}: the mailbox stays disabled");
        assert_eq!(m.last_sync_error_code, code);
        let a = alerts(&e, id).await;
        assert_eq!((a[0].0, a[0].1.as_str()), (AlertLevel::Error, code));
        assert!(a[0].2.contains(words), "alert text for {code}: {}", a[0].2);
    }

    // A certificate problem is the profile's: raised once on it too; a wrong mailbox password
    // is the mailbox's alone.
    let on_profile = |p: ProfileId| {
        let e = e.clone();
        async move {
            ok(api::list_alerts(&e, AlertFilter { profile_id: Some(p), ..Default::default() }).await)
                .into_iter()
                .filter(|a| a.regarding == serversync::api::Regarding::Profile(p))
                .map(|a| (a.level, a.code))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(on_profile(untrusted).await, vec![(AlertLevel::Error, "mail.tls.untrusted".to_owned())]);
    // The alert keeps the technical detail for its Details, and never a password.
    let erin_alert = ok(api::list_alerts(&e, AlertFilter { mailbox_id: Some(erin), ..Default::default() }).await);
    assert!(erin_alert[0].detail.contains("UnknownIssuer"), "{:?}", erin_alert[0].detail);
    let carol_alert = ok(api::list_alerts(&e, AlertFilter { mailbox_id: Some(carol), ..Default::default() }).await);
    assert!(!carol_alert[0].detail.contains("not-carols-password"), "{:?}", carol_alert[0].detail);
    assert_eq!(on_profile(good).await, vec![]);

    for (user, password) in [("alice", "alice-pass"), ("bob", "bob-pass")] {
        assert!(
            wait_for_subject(servers, user, password, TEST_MESSAGE_SUBJECT).await,
            "the test message never reached {user}'s Inbox: {:?}",
            inbox_subjects(servers, user, password).await
        );
    }
    for (user, password) in [("carol", "carol-pass"), ("dave", "dave-pass"), ("erin", "erin-pass")] {
        assert!(inbox_subjects(servers, user, password).await.is_empty(), "{user} was sent a test message");
    }
}

#[tokio::test]
async fn imap_over_tls_and_smtp_with_starttls_enable_exactly_the_good_mailboxes() {
    let servers = MailServers::start(USERS);
    let sides = Sides::imaps_and_submission(&servers);
    five_mailboxes(sides, servers.port("UNTRUSTED_IMAPS_PORT"), &servers).await;
}

#[tokio::test]
async fn pop3_with_stls_and_smtp_over_tls_enable_exactly_the_good_mailboxes() {
    let servers = MailServers::start(USERS);
    let sides = Sides::pop3_stls_and_smtps(&servers);
    five_mailboxes(sides, servers.port("UNTRUSTED_POP3S_PORT"), &servers).await;
}

#[tokio::test]
async fn test_connection_runs_each_step_for_every_protocol_and_tls_mode() {
    let servers = MailServers::start(&[("svc", "svc-pass")]);
    let (e, _, _d) = memory_engine().await;
    let ca = servers.ca_file();
    let cases = [
        (ServerType::ImapSmtp, "IMAP_PORT", TlsMode::StartTls),
        (ServerType::ImapSmtp, "IMAPS_PORT", TlsMode::Implicit),
        (ServerType::Pop3Smtp, "POP3_PORT", TlsMode::StartTls),
        (ServerType::Pop3Smtp, "POP3S_PORT", TlsMode::Implicit),
    ];
    for (server_type, port, tls) in cases {
        let sides = Sides {
            incoming: server_type,
            incoming_port: servers.port(port),
            incoming_tls: tls,
            outgoing_port: servers.port("SMTP_PORT"),
            outgoing_tls: TlsMode::StartTls,
        };
        let with_profile_credentials = ProfileChanges {
            incoming_credential_mode: Some(CredentialMode::Profile),
            incoming_user_name: Some("svc".into()),
            ..Default::default()
        };
        let id = profile(&e, &format!("{server_type} {port}"), &sides, &ca, with_profile_credentials).await;
        // Before its password is entered, the profile says so (and nothing is sent to a server).
        let t = ok(api::test_profile_connection(&e, id).await);
        assert_eq!(t.status, TestExecutionStatus::Failure);
        assert_eq!(t.steps[0].error_code, "profile.password.not_set", "{:#?}", t.steps);
        assert_eq!(t.steps[0].error_params.get("profile"), Some(&p_name(&e, id).await));
        ok(api::set_profile_secret(&e, id, ProfileSecretKind::IncomingPassword, Secret::new("svc-pass")).await);
        let t = ok(api::test_profile_connection(&e, id).await);
        let kinds: Vec<_> = t.steps.iter().map(|s| (s.direction, s.kind, s.outcome)).collect();
        assert_eq!(t.status, TestExecutionStatus::Success, "{port}: {:#?}", t.steps);
        assert!(t.steps.iter().all(|s| s.outcome == StepOutcome::Success), "{kinds:?}");
        let incoming: Vec<_> = t
            .steps
            .iter()
            .filter(|s| s.direction == serversync::protocol::Direction::Incoming)
            .map(|s| s.kind)
            .collect();
        let mut want = vec![StepKind::Resolve, StepKind::Connect];
        if tls == TlsMode::Implicit {
            want.extend([StepKind::Tls, StepKind::Greeting]);
        } else {
            want.extend([StepKind::Greeting, StepKind::StartTls, StepKind::Tls]);
        }
        want.extend([StepKind::Authenticate, StepKind::OpenInbox, StepKind::Logout]);
        assert_eq!(incoming, want, "{port}");
        assert!(
            t.steps
                .iter()
                .any(|s| s.kind == StepKind::Authenticate && s.direction == serversync::protocol::Direction::Outgoing)
        );
        let p = t.profile;
        assert_eq!(p.last_test_execution_status, Some(TestExecutionStatus::Success));
        assert_eq!(p.last_authorization_status, Some(true));
        assert!(p.last_test_started_on.is_some() && p.last_test_duration_ms.is_some());

        // The same profile with a wrong password: the sign-in step fails and says whose it is.
        ok(api::set_profile_secret(&e, id, ProfileSecretKind::IncomingPassword, Secret::new("wrong")).await);
        let t = ok(api::test_profile_connection(&e, id).await);
        assert_eq!(t.status, TestExecutionStatus::Failure);
        let failed = t.steps.iter().find(|s| s.outcome == StepOutcome::Failure).unwrap_or_else(|| panic!("no failure"));
        assert_eq!((failed.kind, failed.error_code.as_str()), (StepKind::Authenticate, "mail.auth.failed_profile"));
        assert_eq!(t.profile.last_authorization_status, Some(false));
        assert_eq!(t.profile.last_test_message, "mail.auth.failed_profile");
    }
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_within_the_profile_limit_and_the_job_goes_on() {
    let servers = MailServers::start(&[("alice", "alice-pass")]);
    let silent_port = silent_server().await;
    let (e, _, _d) = memory_engine().await;
    let ca = servers.ca_file();
    let good_sides = Sides::imaps_and_submission(&servers);
    let silent_sides = Sides { incoming_port: silent_port, ..Sides::imaps_and_submission(&servers) };
    let limit = 2;
    let hanging = profile(
        &e,
        "Silent server",
        &silent_sides,
        &ca,
        ProfileChanges { timeout_seconds: Some(limit), ..Default::default() },
    )
    .await;
    let good = profile(&e, "Loopback mail", &good_sides, &ca, ProfileChanges::default()).await;
    let stuck = mailbox(&e, hanging, "alice", "alice-pass", true).await;
    let fine = {
        let u = ok(api::create_user(
            &e,
            CreateUser {
                full_name: "Alice Again".into(),
                primary_email: "alice@localhost".into(),
                can_approve_email: false,
                incoming_filtering_method: None,
            },
        )
        .await);
        let id = u.mailbox_id.unwrap_or_else(|| panic!("no mailbox"));
        ok(api::update_mailbox(&e, id, sync_methods(good)).await);
        ok(api::set_mailbox_credentials(&e, id, "alice".into(), Secret::new("alice-pass")).await);
        ok(api::approve_mailboxes(&e, vec![id], None).await);
        id
    };
    let started = Instant::now();
    let job = test_and_enable(&e, vec![stuck, fine]).await;
    let took = started.elapsed();
    let s = item(&job, stuck);
    assert_eq!((s.state, s.error_code.as_str()), (JobItemState::Failure, "mail.timeout"), "{s:?}");
    assert_eq!(s.error_params.get("seconds").map(String::as_str), Some("2"));
    assert!(took < Duration::from_secs(u64::from(limit) * 3 + 15), "the timeout took {took:?}");
    assert_eq!(item(&job, fine).state, JobItemState::Success, "the job went on with the other mailbox");
    // A timeout is transient: a warning, counted towards automatic disabling.
    let a = alerts(&e, stuck).await;
    assert_eq!((a[0].0, a[0].1.as_str()), (AlertLevel::Warning, "mail.timeout"));
    assert_eq!(ok(api::get_mailbox(&e, stuck).await).mailbox.transient_failure_count, 1);
}

#[tokio::test]
async fn the_servers_never_see_more_connections_than_the_profile_allows() {
    let users: Vec<(String, String)> = (0..8).map(|i| (format!("user{i}"), format!("pass{i}"))).collect();
    let user_refs: Vec<(&str, &str)> = users.iter().map(|(u, p)| (u.as_str(), p.as_str())).collect();
    let servers = MailServers::start(&user_refs);
    let (e, _, _d) = memory_engine().await;
    let sides = Sides::imaps_and_submission(&servers);
    let id = profile(
        &e,
        "Two at a time",
        &sides,
        &servers.ca_file(),
        ProfileChanges { max_concurrent_connections: Some(2), ..Default::default() },
    )
    .await;
    let mut ids = Vec::new();
    for (u, p) in &users {
        ids.push(mailbox(&e, id, u, p, true).await);
    }
    let job = ok(api::start_test_and_enable(&e, api::TestAndEnableScope::Profile(id)).await);
    let job = ok(api::wait_job(&e, job.job.id).await);
    assert_eq!(job.job.state, JobState::Succeeded, "{job:?}");
    let seen = servers.max_connections();
    for service in ["imap", "smtp"] {
        let n = seen.get(service).and_then(serde_json::Value::as_u64).unwrap_or(u64::MAX);
        assert!(n <= 2, "{service} saw {n} connections at once: {seen}");
        assert!(n >= 1, "{service} saw no connection: {seen}");
    }
}

#[tokio::test]
async fn cancelling_a_job_finishes_the_mailbox_being_tested_and_leaves_the_others_untouched() {
    // A server that accepts and never answers: each test takes the profile's whole timeout.
    let port = silent_server().await;
    let (e, _, _d) = memory_engine().await;
    let sides = Sides {
        incoming: ServerType::ImapSmtp,
        incoming_port: port,
        incoming_tls: TlsMode::Implicit,
        outgoing_port: port,
        outgoing_tls: TlsMode::StartTls,
    };
    let changes =
        ProfileChanges { timeout_seconds: Some(2), max_concurrent_connections: Some(1), ..Default::default() };
    let p = profile(&e, "One at a time", &sides, "", changes).await;
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(mailbox(&e, p, &format!("user{i}"), "pw", true).await);
    }
    let job = ok(api::start_test_and_enable(&e, api::TestAndEnableScope::Profile(p)).await);
    // Wait until the first mailbox is being tested, then cancel.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ok(api::get_job(&e, job.job.id).await).items.iter().any(|i| i.state == JobItemState::Testing) {
        assert!(Instant::now() < deadline, "no mailbox started testing");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let cancelled = ok(api::cancel_job(&e, job.job.id).await);
    assert_eq!(cancelled.job.state, JobState::Cancelled);
    let done = ok(api::wait_job(&e, job.job.id).await);
    let states: Vec<JobItemState> = done.items.iter().map(|i| i.state).collect();
    assert_eq!(states.iter().filter(|s| **s == JobItemState::Cancelled).count(), 3, "{states:?}");
    // The one being tested finished its test (a timeout) and recorded it; the job stays cancelled.
    let after = done;
    assert!(after.finished);
    assert_eq!(after.job.state, JobState::Cancelled);
    let tested: Vec<_> = after.items.iter().filter(|i| i.state == JobItemState::Failure).collect();
    assert_eq!(tested.len(), 1, "{:?}", after.items);
    assert_eq!(tested[0].error_code, "mail.timeout");
    for i in after.items.iter().filter(|i| i.state == JobItemState::Cancelled) {
        let m = ok(api::get_mailbox(&e, i.mailbox_id).await).mailbox;
        assert!(m.test_completed_on.is_none(), "a cancelled mailbox was not tested");
    }
}

/// XOAUTH2: a mailbox whose profile signs in with OAuth tokens (Gmail and Outlook.com work this
/// way) keeps the access token in the keychain as its secret; the servers validate it.
#[tokio::test]
async fn xoauth2_signs_in_with_a_valid_token_and_a_forged_one_is_refused() {
    let servers = MailServers::start(&[("alice", "alice-pass"), ("bob", "bob-pass")]);
    let (e, _, _d) = memory_engine().await;
    let ca = servers.ca_file();
    // The application the tokens are issued to (the consent flow that obtains them is not
    // part of this test: the servers trust tokens signed with their key).
    let oauth = || ProfileChanges {
        incoming_credential_mode: Some(CredentialMode::UserOauth),
        oauth_client_id: Some("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0".into()),
        ..Default::default()
    };
    let imap = Sides::imaps_and_submission(&servers);
    let pop3 = Sides::pop3_stls_and_smtps(&servers);
    let p_imap = profile(&e, "OAuth IMAP", &imap, &ca, oauth()).await;
    let p_pop3 = profile(&e, "OAuth POP3", &pop3, &ca, oauth()).await;
    let token = servers.mint_token("alice");
    assert!(token.split('.').count() == 3, "a JWT: {token}");
    let alice = mailbox(&e, p_imap, "alice", &token, true).await;
    // A token whose signature is forged: alice's claims, signed by nobody the server knows.
    let forged = format!("{}.{}", token.rsplit_once('.').map(|(h, _)| h).unwrap_or_default(), "c2lnbmF0dXJl");
    let bob = mailbox(&e, p_imap, "bob", &forged, true).await;
    let job = test_and_enable(&e, vec![alice, bob]).await;
    assert_eq!(item(&job, alice).state, JobItemState::Success, "{job:?}");
    assert_eq!(item(&job, bob).error_code, "mail.auth.failed_mailbox", "{job:?}");
    assert!(wait_for_subject(&servers, "alice", "alice-pass", TEST_MESSAGE_SUBJECT).await);

    // The same token over POP3 with STLS, and SMTP over implicit TLS.
    ok(api::update_mailbox(&e, alice, MailboxChanges { profile_id: Some(Some(p_pop3)), ..Default::default() }).await);
    let job = test_and_enable(&e, vec![alice]).await;
    assert_eq!(item(&job, alice).state, JobItemState::Success, "{job:?}");
}

/// A server that offers no SASL PLAIN: SMTP signs in with AUTH LOGIN instead. (IMAP's LOGIN
/// command and POP3's USER/PASS, the other fallbacks, cannot be tested this way: Dovecot serves
/// them through PLAIN internally, so without PLAIN it refuses them.)
#[tokio::test]
async fn without_sasl_plain_smtp_signs_in_with_auth_login() {
    let servers = MailServers::start_with(&[("svc", "svc-pass")], &[("AUTH_MECHANISMS", "login")]);
    let (e, _, _d) = memory_engine().await;
    let sides = Sides::imaps_and_submission(&servers);
    let changes = ProfileChanges {
        incoming_credential_mode: Some(CredentialMode::Profile),
        incoming_user_name: Some("svc".into()),
        ..Default::default()
    };
    let id = profile(&e, "LOGIN only", &sides, &servers.ca_file(), changes).await;
    ok(api::set_profile_secret(&e, id, ProfileSecretKind::IncomingPassword, Secret::new("svc-pass")).await);
    let t = ok(api::test_profile_connection(&e, id).await);
    let outgoing: Vec<_> = t
        .steps
        .iter()
        .filter(|s| s.direction == serversync::protocol::Direction::Outgoing)
        .map(|s| (s.kind, s.outcome))
        .collect();
    assert!(outgoing.contains(&(StepKind::Authenticate, StepOutcome::Success)), "{:#?}", t.steps);
    assert!(outgoing.iter().all(|(_, o)| *o == StepOutcome::Success), "{:#?}", t.steps);
}

/// Closing the engine stops a running Test & Enable: `close` returns only once the job's task
/// has ended, long before the hung server's timeout, and every mailbox it had not finished is
/// recorded as cancelled (interrupted), none left "testing".
#[tokio::test]
async fn closing_the_engine_cancels_a_running_job_and_waits_for_its_task() {
    let port = silent_server().await;
    let (e, _, _d) = memory_engine().await;
    let sides = Sides {
        incoming: ServerType::ImapSmtp,
        incoming_port: port,
        incoming_tls: TlsMode::Implicit,
        outgoing_port: port,
        outgoing_tls: TlsMode::StartTls,
    };
    let changes =
        ProfileChanges { timeout_seconds: Some(60), max_concurrent_connections: Some(1), ..Default::default() };
    let p = profile(&e, "Hung server", &sides, "", changes).await;
    for i in 0..4 {
        mailbox(&e, p, &format!("user{i}"), "pw", true).await;
    }
    let job = ok(api::start_test_and_enable(&e, api::TestAndEnableScope::Profile(p)).await);
    let deadline = Instant::now() + Duration::from_secs(10);
    while ok(api::job_progress(&e, job.job.id).await).testing == 0 {
        assert!(Instant::now() < deadline, "no mailbox started testing");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let started = Instant::now();
    ok(tokio::time::timeout(Duration::from_secs(10), e.close()).await.unwrap_or_else(|_| panic!("close hung")));
    assert!(started.elapsed() < Duration::from_secs(10), "close waited for the server's timeout");
    let done = ok(api::get_job(&e, job.job.id).await);
    assert!(done.finished, "{done:?}");
    assert_eq!(done.job.state, JobState::Cancelled);
    for i in &done.items {
        assert_eq!((i.state, i.error_code.as_str()), (JobItemState::Cancelled, "job.interrupted"), "{i:?}");
        let m = ok(api::get_mailbox(&e, i.mailbox_id).await).mailbox;
        assert!(
            m.test_completed_on.is_none() && !m.enabled_for_incoming,
            "an interrupted mailbox was recorded as tested"
        );
    }
    // Nothing new starts on a closed engine.
    let refused = api::start_test_and_enable(&e, api::TestAndEnableScope::Profile(p)).await;
    assert_eq!(refused.err().map(|e| e.code()), Some("engine.closing"));
}

/// Maximum Concurrent Connections lowered from 10 to 2 while a job runs: once the connections
/// that were open under the old limit have closed, the servers never see more than 2 at once.
#[tokio::test]
async fn a_limit_lowered_from_10_to_2_during_a_job_is_never_exceeded_afterwards() {
    let users: Vec<(String, String)> = (0..40).map(|i| (format!("user{i:02}"), format!("pass{i:02}"))).collect();
    let user_refs: Vec<(&str, &str)> = users.iter().map(|(u, p)| (u.as_str(), p.as_str())).collect();
    let servers = MailServers::start(&user_refs);
    let (e, _, _d) = memory_engine().await;
    let sides = Sides::imaps_and_submission(&servers);
    let changes = ProfileChanges { max_concurrent_connections: Some(10), ..Default::default() };
    let p = profile(&e, "Ten, then two", &sides, &servers.ca_file(), changes).await;
    for (u, pw) in &users {
        mailbox(&e, p, u, pw, true).await;
    }
    let job = ok(api::start_test_and_enable(&e, api::TestAndEnableScope::Profile(p)).await).job.id;
    let deadline = Instant::now() + Duration::from_secs(60);
    while ok(api::job_progress(&e, job).await).done < 5 {
        assert!(Instant::now() < deadline, "the job does not progress");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    ok(api::update_profile(&e, p, ProfileChanges { max_concurrent_connections: Some(2), ..Default::default() }).await);
    // The mailboxes being tested when the limit changed finish under the old limit.
    let old: Vec<MailboxId> = ok(api::get_job(&e, job).await)
        .items
        .iter()
        .filter(|i| i.state == JobItemState::Testing)
        .map(|i| i.mailbox_id)
        .collect();
    loop {
        let now = ok(api::get_job(&e, job).await);
        if now.items.iter().filter(|i| old.contains(&i.mailbox_id)).all(|i| i.state != JobItemState::Testing) {
            break;
        }
        assert!(Instant::now() < deadline, "the old connections never closed");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    servers.reset_max_connections();
    let left = ok(api::job_progress(&e, job).await);
    assert!(left.total - left.done >= 10, "too few mailboxes left to test the new limit: {left:?}");
    let done = ok(api::wait_job(&e, job).await);
    assert_eq!(done.job.state, JobState::Succeeded, "{done:?}");
    let seen = servers.max_connections();
    for service in ["imap", "smtp"] {
        let n = seen.get(service).and_then(serde_json::Value::as_u64).unwrap_or(u64::MAX);
        assert!(n <= 2, "{service} saw {n} connections at once after the limit went down to 2: {seen}");
        assert!(n >= 1, "{service} saw no connection after the change: {seen}");
    }
}
