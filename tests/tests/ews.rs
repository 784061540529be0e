//! Exchange Server through EWS, against the EWS test server of tests/servers/ews: it checks every
//! request against Microsoft's published EWS schemas (an invalid one is answered with a SOAP fault
//! and recorded as a violation), checks NTLMv2 against the known passwords, and records for each
//! request the account that signed in and the mailbox it acted for.
//!
//! Test & Enable of five mailboxes (the results of the IMAP tests), impersonation for three
//! mailboxes by one service account, 200 messages through SyncFolderItems/GetItem and a second
//! cycle that fetches nothing, 50 emails sent with none twice, ErrorServerBusy waited out as the
//! server said, a malformed answer and an expired SyncState, Basic refused when the server says
//! so, Autodiscover at the standard URLs, and new mail pushed through streaming notifications.

use serde_json::{Value, json};
use serversync::api::{
    self, AuthProtocol, CreateProfile, CredentialMode, FilteringMethod, JobItemState, ProfileChanges, ProfileId,
    ProfileSecretKind, ServerType,
};
use serversync::protocol::TEST_MESSAGE_SUBJECT;
use serversync::secrets::Secret;
use serversync::{Engine, Lang};
use serversync_tests::ews::EwsServer;
use serversync_tests::mail::MailServers;
use serversync_tests::memory_engine;
use serversync_tests::setup::{
    email, exchange_mailbox, item, ok, report, subjects, sync_methods, sync_one, test_and_enable, user_filter, within,
};
use std::collections::HashSet;

const SERVICE: &str = "svc@contoso.test";
const SERVICE_PASSWORD: &str = "Svc-Pass-1";

/// A profile whose service account signs in for its mailboxes with impersonation.
async fn ews_profile(e: &Engine, name: &str, url: &str, ca: &str, password: &str, auth: AuthProtocol) -> ProfileId {
    let p = ok(api::create_profile(
        e,
        CreateProfile {
            server_type: ServerType::ExchangeServer,
            name: name.into(),
            changes: ProfileChanges {
                use_autodiscover: Some(false),
                incoming_location: Some(url.into()),
                outgoing_location: Some(url.into()),
                incoming_credential_mode: Some(CredentialMode::Profile),
                incoming_user_name: Some(SERVICE.into()),
                incoming_use_impersonation: Some(true),
                incoming_auth_protocol: Some(auth),
                outgoing_auth_protocol: Some(auth),
                ca_file: Some(ca.into()),
                timeout_seconds: Some(10),
                ..Default::default()
            },
            set_as_default: false,
        },
    )
    .await)
    .id;
    ok(api::set_profile_secret(e, p, ProfileSecretKind::IncomingPassword, Secret::new(password)).await);
    p
}

fn message(n: usize, subject: &str) -> Vec<u8> {
    format!(
        "From: Yui Nakamura <yui@fabrikam.test>\r\nTo: nancy@contoso.test\r\nSubject: {subject}\r\n\
Message-ID: <ews-{n}@fabrikam.test>\r\nDate: Thu, 03 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\nMessage {n}: お見積もりの件\r\n"
    )
    .into_bytes()
}

fn log(server: &EwsServer) -> Vec<Value> {
    server.requests().as_array().cloned().unwrap_or_default()
}

fn assert_no_violations(server: &EwsServer) {
    let v = server.violations();
    assert_eq!(v.as_array().map(Vec::len), Some(0), "requests that do not validate against the EWS schemas: {v:#}");
}

#[tokio::test]
async fn exchange_server_mailboxes_are_tested_enabled_and_synchronised_through_ews() {
    let servers = MailServers::start(&[("alice", "alice-pass")]);
    let ews = EwsServer::start(&servers);
    let url = ews.ews_url();
    let ca = servers.ca_file();
    ews.add_user(SERVICE, SERVICE_PASSWORD, true);
    for user in ["nancy", "carol", "dave", "erin", "frank"] {
        ews.add_user(&format!("{user}@contoso.test"), &format!("{user}-pass"), false);
    }
    let (e, _, _d) = memory_engine().await;
    let good = ews_profile(&e, "Exchange Server", &url, &ca, SERVICE_PASSWORD, AuthProtocol::Ntlm).await;
    let wrong = ews_profile(&e, "Wrong password", &url, &ca, "not-the-password", AuthProtocol::Ntlm).await;
    let untrusted = ews_profile(&e, "Untrusted", &url, "", SERVICE_PASSWORD, AuthProtocol::Ntlm).await;

    // Test Connection: each step, NTLM checked by the server against the password.
    let t = ok(api::test_profile_connection(&e, good).await);
    let kinds: Vec<String> = t.steps.iter().map(|s| format!("{:?}:{:?}", s.kind, s.outcome)).collect();
    assert_eq!(kinds, ["Resolve:Success", "Connect:Success", "Tls:Success", "Authenticate:Success"], "{t:?}");
    let t = ok(api::test_profile_connection(&e, wrong).await);
    assert!(t.steps.iter().any(|s| s.error_code == "mail.auth.failed_profile"), "{:?}", t.steps);
    assert!(!format!("{t:?}").contains("not-the-password"));

    // Test & Enable: five mailboxes.
    let nancy = exchange_mailbox(&e, good, "nancy", "contoso.test", true).await;
    let carol = exchange_mailbox(&e, wrong, "carol", "contoso.test", true).await;
    let dave = exchange_mailbox(&e, good, "dave", "contoso.test", false).await;
    let erin = exchange_mailbox(&e, untrusted, "erin", "contoso.test", true).await;
    let gina = exchange_mailbox(&e, good, "gina", "contoso.test", true).await; // no such mailbox on the server
    let job = test_and_enable(&e, vec![nancy, carol, dave, erin, gina]).await;
    let expect = [
        (nancy, ""),
        (carol, "mail.auth.failed_profile"),
        (dave, "mailbox.not_approved"),
        (erin, "mail.tls.untrusted"),
        (gina, "ews.mailbox_not_found"),
    ];
    for (id, code) in expect {
        let i = item(&job, id);
        let state = if code.is_empty() { JobItemState::Success } else { JobItemState::Failure };
        assert_eq!((i.state, i.error_code.as_str()), (state, code), "{i:?}");
    }
    let inbox = ews.messages("nancy@contoso.test", "inbox");
    assert!(
        inbox.as_array().is_some_and(|l| l.iter().any(|m| m["subject"] == TEST_MESSAGE_SUBJECT)),
        "the test message never reached nancy: {inbox:#}"
    );

    // Impersonation: one service account acts for three mailboxes, each request for the right one.
    let frank = exchange_mailbox(&e, good, "frank", "contoso.test", true).await;
    let carol_good = {
        ok(api::update_mailbox(&e, carol, sync_methods(good)).await);
        carol
    };
    let job = test_and_enable(&e, vec![frank, carol_good]).await;
    assert!(job.items.iter().all(|i| i.error_code.is_empty()), "{job:?}");
    for id in [nancy, frank, carol_good] {
        let s = sync_one(&e, id).await;
        assert!(s.error.is_none(), "{s:?}");
    }
    let requests = log(&ews);
    for who in ["nancy@contoso.test", "frank@contoso.test", "carol@contoso.test"] {
        let acting: Vec<&Value> = requests.iter().filter(|r| r["acting_as"].as_str() == Some(who)).collect();
        assert!(!acting.is_empty(), "no request acted for {who}");
        assert!(
            acting.iter().all(|r| r["user"].as_str().is_some_and(|u| u.eq_ignore_ascii_case(SERVICE))),
            "{who}: {acting:#?}"
        );
    }

    // Incoming: 200 messages become 200 activities; a second cycle fetches nothing.
    user_filter(&e, nancy, FilteringMethod::AllEmail).await;
    for n in 0..200 {
        ews.deliver("nancy@contoso.test", &message(n, &format!("EWS order {n:03}")));
    }
    let first = sync_one(&e, nancy).await;
    assert_eq!(report(&first).tracked, 200, "{:?}", first.error);
    assert_eq!(subjects(&e, "EWS order ").await.len(), 200);
    let gets = |l: &[Value]| l.iter().filter(|r| r["operation"] == "GetItem").count();
    let before = gets(&log(&ews));
    let second = sync_one(&e, nancy).await;
    assert_eq!((report(&second).planned, report(&second).tracked), (0, 0));
    assert_eq!(gets(&log(&ews)), before, "the second cycle fetched a message");

    // ErrorServerBusy: the cycle backs off as long as the server said, then goes on.
    ews.deliver("nancy@contoso.test", &message(300, "EWS order busy"));
    ews.fault(json!({"kind": "server_busy", "backoff_ms": 1500, "count": 1}));
    let start = log(&ews).len();
    let s = sync_one(&e, nancy).await;
    assert_eq!(report(&s).tracked, 1, "{s:?}");
    let l = log(&ews);
    let busy = (start..l.len())
        .find(|i| l[*i]["status"].as_u64() == Some(500))
        .unwrap_or_else(|| panic!("no busy answer in {:#?}", &l[start..]));
    let next = (busy + 1..l.len()).find(|i| l[*i]["operation"] == l[busy]["operation"]).unwrap_or(busy + 1);
    let waited = l[next]["t"].as_f64().unwrap_or(0.0) - l[busy]["t"].as_f64().unwrap_or(0.0);
    // At least what the server asked; the rest is this machine waking up and asking again.
    assert!((1.5..6.5).contains(&waited), "waited {waited:.3} s after BackOffMilliseconds 1500");

    // A malformed answer fails the cycle with a code; the next cycle goes on.
    ews.deliver("nancy@contoso.test", &message(301, "EWS order after malformed"));
    ews.fault(json!({"kind": "malformed", "count": 1}));
    let s = sync_one(&e, nancy).await;
    assert_eq!(s.error.as_ref().map(|e| e.code.as_str()), Some("ews.malformed_response"), "{s:?}");
    let s = sync_one(&e, nancy).await;
    assert_eq!(report(&s).tracked, 1, "{s:?}");

    // An expired SyncState: the Inbox is read again; nothing is tracked twice.
    ews.deliver("nancy@contoso.test", &message(302, "EWS order after expiry"));
    ews.fault(json!({"kind": "expire_syncstate", "user": "nancy@contoso.test"}));
    let s = sync_one(&e, nancy).await;
    let r = report(&s);
    assert_eq!(r.rescan, Some(api::Rescan::CursorExpired), "{s:?}");
    // The Inbox read again: what was tracked is recognised; the new message (and the test message,
    // passed over while nancy tracked only replies) is tracked now.
    assert!(r.already_tracked >= 202 && (1..=2).contains(&r.tracked), "{r:?}");
    let all = subjects(&e, "EWS order").await;
    let unique: HashSet<&String> = all.iter().collect();
    assert_eq!((all.len(), unique.len()), (203, 203), "no message lost or tracked twice");

    // Outgoing: 50 emails reach carol once each, with a copy in Sent Items; the Bcc is hidden.
    for n in 0..50 {
        ok(api::send_email(
            &e,
            email(
                nancy,
                "carol@contoso.test",
                "frank@contoso.test",
                format!("EWS outgoing {n:02}"),
                format!("Offre n° {n}"),
                String::new(),
            ),
        )
        .await);
    }
    let sent = ok(api::send_pending(&e, vec![nancy], Lang::En).await);
    assert_eq!((sent[0].sent, sent[0].failed, sent[0].possible_duplicates), (50, 0, 0), "{sent:?}");
    let at = |who: &str, folder: &str| -> Vec<Value> {
        ews.messages(who, folder)
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|m| m["subject"].as_str().is_some_and(|s| s.starts_with("EWS outgoing")))
            .collect()
    };
    let received = at("carol@contoso.test", "inbox");
    let ids: HashSet<&str> = received.iter().filter_map(|m| m["internet_message_id"].as_str()).collect();
    assert_eq!((received.len(), ids.len()), (50, 50), "each email once, with its own Message-ID");
    assert_eq!(at("frank@contoso.test", "inbox").len(), 50, "the Bcc recipient got each email");
    assert!(
        received
            .iter()
            .all(|m| !m["bcc"].to_string().contains("frank") && !m["raw_b64"].as_str().unwrap_or_default().is_empty()),
        "carol must not see the Bcc"
    );
    assert_eq!(at("nancy@contoso.test", "sentitems").len(), 50);
    assert_no_violations(&ews);
}

#[tokio::test]
async fn basic_is_used_where_the_server_offers_it_and_refused_where_it_does_not() {
    let servers = MailServers::start(&[("alice", "alice-pass")]);
    let ews = EwsServer::start(&servers);
    ews.add_user(SERVICE, SERVICE_PASSWORD, true);
    let (e, _, _d) = memory_engine().await;
    let p = ews_profile(&e, "Basic", &ews.ews_url(), &servers.ca_file(), SERVICE_PASSWORD, AuthProtocol::Basic).await;
    let t = ok(api::test_profile_connection(&e, p).await);
    assert!(t.steps.iter().all(|s| s.error_code.is_empty()), "{:?}", t.steps);
    assert!(log(&ews).iter().any(|r| r["auth"] == "Basic"));
    ews.configure(json!({"basic": false}));
    let t = ok(api::test_profile_connection(&e, p).await);
    let failed: Vec<&str> = t.steps.iter().map(|s| s.error_code.as_str()).filter(|c| !c.is_empty()).collect();
    assert_eq!(failed, ["mail.auth.failed_profile"], "{:?}", t.steps);
    assert_no_violations(&ews);
}

/// Autodiscover at the standard URLs of the mailbox's domain (`localhost`, whose port 443 the test
/// server also serves): POX first, SOAP when POX is off, and a redirect to plain HTTP refused.
#[tokio::test]
async fn autodiscover_finds_the_ews_url_at_the_standard_urls() {
    let servers = MailServers::start(&[("alice", "alice-pass")]);
    let ews = EwsServer::start_on_443(&servers);
    ews.add_user("svc@localhost", SERVICE_PASSWORD, true);
    ews.add_user("nancy@localhost", "nancy-pass", false);
    let (e, _, _d) = memory_engine().await;
    let p = ok(api::create_profile(
        &e,
        CreateProfile {
            server_type: ServerType::ExchangeServer,
            name: "Autodiscover".into(),
            changes: ProfileChanges {
                use_autodiscover: Some(true),
                incoming_credential_mode: Some(CredentialMode::Profile),
                incoming_user_name: Some("svc@localhost".into()),
                incoming_use_impersonation: Some(true),
                ca_file: Some(servers.ca_file()),
                timeout_seconds: Some(10),
                ..Default::default()
            },
            set_as_default: false,
        },
    )
    .await)
    .id;
    ok(api::set_profile_secret(&e, p, ProfileSecretKind::IncomingPassword, Secret::new(SERVICE_PASSWORD)).await);
    let steps = |t: &api::ConnectionTest| -> Vec<String> {
        t.steps.iter().map(|s| format!("{:?}:{:?}{}", s.kind, s.outcome, s.error_code)).collect()
    };

    // POX.
    let t = ok(api::test_profile_connection(&e, p).await);
    assert_eq!(
        steps(&t),
        ["Autodiscover:Success", "Resolve:Success", "Connect:Success", "Tls:Success", "Authenticate:Success"],
        "{t:?}"
    );
    assert!(t.steps[0].info.ends_with("/EWS/Exchange.asmx"), "{:?}", t.steps[0]);
    let nancy = exchange_mailbox(&e, p, "nancy", "localhost", true).await;
    let job = test_and_enable(&e, vec![nancy]).await;
    assert!(job.items.iter().all(|i| i.error_code.is_empty()), "{job:?}");
    let asked = |op: &str| log(&ews).iter().filter(|r| r["operation"] == op).count();
    assert!(asked("Autodiscover") > 0, "{:#?}", log(&ews));

    // Synchronization uses the URL Test & Enable found: no Autodiscover at each cycle.
    let discovered = asked("Autodiscover");
    for _ in 0..2 {
        let s = sync_one(&e, nancy).await;
        assert!(s.error.is_none(), "{s:?}");
    }
    assert_eq!(asked("Autodiscover"), discovered, "Autodiscover ran again while its answer was known");
    // A cycle that fails at the server forgets the URL: the next one asks Autodiscover again.
    ews.fault(json!({"kind": "malformed", "count": 1}));
    let s = sync_one(&e, nancy).await;
    assert_eq!(s.error.as_ref().map(|e| e.code.as_str()), Some("ews.malformed_response"), "{s:?}");
    let s = sync_one(&e, nancy).await;
    assert!(s.error.is_none(), "{s:?}");
    assert!(asked("Autodiscover") > discovered, "the URL was not looked up again after the failure");

    // SOAP, when POX is off.
    ews.configure(json!({"pox": false}));
    let t = ok(api::test_profile_connection(&e, p).await);
    assert!(t.steps.iter().all(|s| s.error_code.is_empty()), "{t:?}");
    assert!(asked("GetUserSettings") > 0, "{:#?}", log(&ews));

    // A redirect to plain HTTP is not followed: nothing is found.
    ews.configure(
        json!({"pox": true, "soap": false, "pox_redirect_url": "http://127.0.0.1:9/autodiscover/autodiscover.xml"}),
    );
    let t = ok(api::test_profile_connection(&e, p).await);
    assert_eq!(steps(&t)[0], "Autodiscover:Failureews.autodiscover.failed", "{t:?}");
    assert_no_violations(&ews);
}

async fn pushed(e: &Engine, id: api::MailboxId) -> bool {
    ok(api::get_mailbox_schedule(e, id).await)
        .into_iter()
        .any(|s| s.workload == api::Workload::Incoming && s.idle_connected)
}

#[tokio::test]
async fn the_running_scheduler_is_pushed_new_mail_through_ews_streaming_notifications() {
    let servers = MailServers::start(&[("alice", "alice-pass")]);
    let ews = EwsServer::start(&servers);
    ews.add_user(SERVICE, SERVICE_PASSWORD, true);
    ews.add_user("nancy@contoso.test", "nancy-pass", false);
    // A "minute" of ConnectionTimeout lasts 0.1 s here: the server closes each streaming
    // connection after 3 s, and the engine must ask again with its subscription.
    ews.configure(json!({"stream_minute_s": 0.1, "stream_heartbeat_s": 1.0}));
    let (e, _, _d) = memory_engine().await;
    let p =
        ews_profile(&e, "Exchange Server", &ews.ews_url(), &servers.ca_file(), SERVICE_PASSWORD, AuthProtocol::Ntlm)
            .await;
    let nancy = exchange_mailbox(&e, p, "nancy", "contoso.test", true).await;
    user_filter(&e, nancy, FilteringMethod::AllEmail).await;
    let job = test_and_enable(&e, vec![nancy]).await;
    assert!(job.items.iter().all(|i| i.error_code.is_empty()), "{job:?}");
    ok(api::start_scheduler(&e, Default::default()).await);
    assert!(within(20, || pushed(&e, nancy)).await.is_some(), "nancy's Inbox is not watched");
    let tracked = |n: usize| {
        let e = e.clone();
        async move { subjects(&e, &format!("Streamed {n}")).await.len() == 1 }
    };

    // New mail is tracked within seconds (the poll is 5 minutes), over several connections.
    let arrivals = |n: usize| message(9000 + n, &format!("Streamed {n}"));
    for n in 0..3 {
        ews.deliver("nancy@contoso.test", &arrivals(n));
        // Within a minute: pushed, since the poll is 5 minutes away.
        assert!(within(60, || tracked(n)).await.is_some(), "message {n} was not pushed");
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    }
    let ask =
        |op: &str| log(&ews).into_iter().filter(|r| r["operation"] == op && r["status"] != 401).collect::<Vec<_>>();
    assert!(ask("GetStreamingEvents").len() >= 2, "the closed connection was not asked again");
    assert_eq!(ask("Subscribe").len(), 1, "one subscription serves every connection");

    // A server that forgot the subscription (restarted) is subscribed to again.
    assert_eq!(ews.forget_subscriptions(), 1);
    let again = within(20, || async { ask("Subscribe").len() == 2 }).await;
    assert!(again.is_some(), "no new subscription after ErrorSubscriptionNotFound: {:#?}", ask("GetStreamingEvents"));
    ews.deliver("nancy@contoso.test", &arrivals(3));
    assert!(within(60, || tracked(3)).await.is_some(), "not pushed after subscribing again");

    // Every streaming request acted for nancy through the service account (NTLM's legs aside).
    for r in ask("Subscribe").into_iter().chain(ask("GetStreamingEvents")).filter(|r| r["status"] == 200) {
        assert_eq!((r["user"].as_str(), r["acting_as"].as_str()), (Some(SERVICE), Some("nancy@contoso.test")), "{r}");
    }

    // Stopping lets the connection and the subscription go.
    ok(api::stop_scheduler(&e).await);
    assert!(!pushed(&e, nancy).await, "a stopped scheduler keeps its streaming connection");
    assert_eq!(ask("Unsubscribe").len(), 1, "the subscription was not ended");
    assert_no_violations(&ews);
}

#[tokio::test]
async fn hybrid_modern_auth_signs_in_with_an_entra_token_and_acts_for_each_mailbox() {
    use serversync::api::{OauthCredentialKind, ServerAuthority};
    use serversync_tests::graph::GraphServer;
    const TENANT: &str = "6f1d3c1e-2b7a-4c55-9d0e-0a1b2c3d4e5f";
    const CLIENT: &str = "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d";
    const SECRET: &str = "Hma~Secret.Value-for-tests";
    let servers = MailServers::start(&[("alice", "alice-pass")]);
    let graph = GraphServer::start(&servers);
    let ews = EwsServer::start(&servers);
    let exchange = format!("https://127.0.0.1:{}", ews.port());
    graph.add_app_for_resource(TENANT, CLIENT, SECRET, &exchange);
    ews.trust_app(CLIENT, &graph.token_lookup_url());
    for user in ["nancy", "frank"] {
        ews.add_user(&format!("{user}@contoso.test"), &format!("{user}-pass"), false);
    }
    let (e, _, _d) = memory_engine().await;
    let hma = |name: &str, resource: &str, secret: &str| {
        let (e, name, resource, secret) = (e.clone(), name.to_owned(), resource.to_owned(), secret.to_owned());
        let (url, ca, base) = (ews.ews_url(), servers.ca_file(), graph.base_url());
        async move {
            let p = ok(api::create_profile(
                &e,
                CreateProfile {
                    server_type: ServerType::ExchangeServer,
                    name,
                    changes: ProfileChanges {
                        use_autodiscover: Some(false),
                        incoming_location: Some(url.clone()),
                        outgoing_location: Some(url),
                        incoming_credential_mode: Some(CredentialMode::ExchangeHybridModernAuth),
                        tenant_id: Some(TENANT.into()),
                        oauth_client_id: Some(CLIENT.into()),
                        oauth_credential_kind: Some(Some(OauthCredentialKind::ClientSecret)),
                        server_authority: Some(Some(ServerAuthority::Public)),
                        authority_host: Some(base),
                        aad_resource_id: Some(resource),
                        ca_file: Some(ca),
                        timeout_seconds: Some(10),
                        ..Default::default()
                    },
                    set_as_default: false,
                },
            )
            .await)
            .id;
            ok(api::set_profile_secret(&e, p, ProfileSecretKind::OauthSecret, Secret::new(secret)).await);
            p
        }
    };
    // The resource ID is the EWS URL's scheme and host, as it usually is.
    let good = hma("Hybrid", &exchange, SECRET).await;
    let wrong = hma("Hybrid, wrong secret", &exchange, "not-the-secret").await;
    let elsewhere = hma("Hybrid, another server", "https://mail.fabrikam.test", SECRET).await;

    let t = ok(api::test_profile_connection(&e, good).await);
    assert!(t.steps.iter().all(|s| s.error_code.is_empty()), "{t:?}");
    let nancy = exchange_mailbox(&e, good, "nancy", "contoso.test", true).await;
    let frank = exchange_mailbox(&e, good, "frank", "contoso.test", true).await;
    let carol = exchange_mailbox(&e, wrong, "carol", "contoso.test", true).await;
    let dave = exchange_mailbox(&e, elsewhere, "dave", "contoso.test", true).await;
    let job = test_and_enable(&e, vec![nancy, frank, carol, dave]).await;
    for (id, code) in
        [(nancy, ""), (frank, ""), (carol, "mail.auth.failed_profile"), (dave, "mail.auth.failed_profile")]
    {
        let i = item(&job, id);
        assert_eq!(i.error_code, code, "{i:?}");
    }
    assert!(!format!("{job:?}").contains("not-the-secret"));

    // Mail flows: the app's token, acting for each mailbox.
    user_filter(&e, nancy, FilteringMethod::AllEmail).await;
    for n in 0..5 {
        ews.deliver("nancy@contoso.test", &message(7000 + n, &format!("Hybrid {n}")));
    }
    let s = sync_one(&e, nancy).await;
    assert_eq!(subjects(&e, "Hybrid ").await.len(), 5, "{s:?}");
    let signed: Vec<Value> = log(&ews).into_iter().filter(|r| r["status"] == 200).collect();
    assert!(!signed.is_empty());
    for r in &signed {
        assert_eq!(r["auth"], "Bearer", "{r}");
        assert_eq!(r["user"].as_str(), Some(format!("app:{CLIENT}").as_str()), "{r}");
        assert!(
            ["nancy@contoso.test", "frank@contoso.test"].contains(&r["acting_as"].as_str().unwrap_or_default()),
            "{r}"
        );
    }
    assert_no_violations(&ews);
    assert_eq!(graph.violations().as_array().map(Vec::len), Some(0), "{:#}", graph.violations());
}
