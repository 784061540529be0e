//! Exchange Online through Microsoft Graph, against the Graph test server of tests/servers/graph:
//! every request it receives is checked against Microsoft's published OpenAPI description, and a
//! request that does not match is answered with an error and recorded as a violation.
//!
//! Test & Enable of five mailboxes (the results of the IMAP tests, plus a user without an
//! Exchange Online licence), 200 messages through the delta query and a second cycle that
//! fetches nothing, 50 emails sent with none twice, throttling waited out as the server said,
//! a malformed answer and an expired delta link, and a profile signing in with a certificate.

use serde_json::{Value, json};
use serversync::api::{
    self, CreateProfile, FilteringMethod, JobItemState, OauthCredentialKind, ProfileChanges, ProfileId,
    ProfileSecretKind, ServerAuthority, ServerType,
};
use serversync::protocol::TEST_MESSAGE_SUBJECT;
use serversync::secrets::Secret;
use serversync::{Engine, Lang};
use serversync_tests::graph::GraphServer;
use serversync_tests::mail::MailServers;
use serversync_tests::memory_engine;
use serversync_tests::setup::{
    email, exchange_mailbox, item, ok, report, subjects, sync_one, test_and_enable, user_filter,
};
use std::collections::HashSet;

const TENANT: &str = "6f1d3c1e-2b7a-4c55-9d0e-0a1b2c3d4e5f";
const CLIENT: &str = "0b8c7d6e-5f4a-4b3c-8d2e-1f0a9b8c7d6e";
const SECRET: &str = "Xy7~q2.Secret-Value_for-tests";

async fn exo_profile(e: &Engine, name: &str, base: &str, ca: &str, secret: &str) -> ProfileId {
    let p = ok(api::create_profile(
        e,
        CreateProfile {
            server_type: ServerType::ExchangeOnline,
            name: name.into(),
            changes: ProfileChanges {
                tenant_id: Some(TENANT.into()),
                oauth_client_id: Some(CLIENT.into()),
                oauth_credential_kind: Some(Some(OauthCredentialKind::ClientSecret)),
                server_authority: Some(Some(ServerAuthority::Public)),
                authority_host: Some(base.into()),
                graph_endpoint: Some(base.into()),
                ca_file: Some(ca.into()),
                timeout_seconds: Some(10),
                ..Default::default()
            },
            set_as_default: false,
        },
    )
    .await)
    .id;
    ok(api::set_profile_secret(e, p, ProfileSecretKind::OauthSecret, Secret::new(secret)).await);
    p
}

fn message(n: usize, subject: &str) -> Vec<u8> {
    format!(
        "From: Yui Nakamura <yui@fabrikam.test>\r\nTo: nancy@contoso.test\r\nSubject: {subject}\r\n\
Message-ID: <graph-{n}@fabrikam.test>\r\nDate: Thu, 03 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\nMessage {n}: où en est la commande ?\r\n"
    )
    .into_bytes()
}

fn requests_matching(server: &GraphServer, needle: &str) -> Vec<Value> {
    let all = server.requests();
    all.as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.contains(needle)))
        .collect()
}

fn assert_no_violations(server: &GraphServer) {
    let v = server.violations();
    assert_eq!(v.as_array().map(Vec::len), Some(0), "requests that do not match Graph's description: {v:#}");
}

#[tokio::test]
async fn exchange_online_mailboxes_are_tested_enabled_and_synchronised_through_graph() {
    let servers = MailServers::start(&[("alice", "alice-pass")]);
    let graph = GraphServer::start(&servers);
    let base = graph.base_url();
    let ca = servers.ca_file();
    graph.add_app(TENANT, CLIENT, Some(SECRET), None, &["*"]);
    for (user, licensed) in
        [("nancy", true), ("carol", true), ("dave", true), ("erin", true), ("frank", true), ("gina", false)]
    {
        graph.add_user(&format!("{user}@contoso.test"), licensed, true);
    }
    let (e, _, _d) = memory_engine().await;
    let good = exo_profile(&e, "Exchange Online", &base, &ca, SECRET).await;
    let wrong = exo_profile(&e, "Wrong secret", &base, &ca, "not-the-secret").await;
    // No CA file: the test server's certificate is from an authority no system store has.
    let untrusted = exo_profile(&e, "Untrusted", &base, "", SECRET).await;

    // Test Connection of the profile: each step, and a wrong secret refused by name.
    let t = ok(api::test_profile_connection(&e, good).await);
    let kinds: Vec<String> = t.steps.iter().map(|s| format!("{:?}:{:?}", s.kind, s.outcome)).collect();
    assert_eq!(kinds, ["Resolve:Success", "Connect:Success", "Tls:Success", "Authenticate:Success"], "{t:?}");
    let t = ok(api::test_profile_connection(&e, wrong).await);
    let failed = t.steps.iter().find(|s| s.error_code == "mail.auth.failed_profile");
    assert!(failed.is_some_and(|s| s.error_detail.contains("AADSTS7000215")), "{:?}", t.steps);
    assert!(!format!("{t:?}").contains(SECRET) && !format!("{t:?}").contains("not-the-secret"));

    // Test & Enable: five mailboxes, the results of the IMAP tests plus a user without a licence.
    let nancy = exchange_mailbox(&e, good, "nancy", "contoso.test", true).await;
    let carol = exchange_mailbox(&e, wrong, "carol", "contoso.test", true).await;
    let dave = exchange_mailbox(&e, good, "dave", "contoso.test", false).await;
    let erin = exchange_mailbox(&e, untrusted, "erin", "contoso.test", true).await;
    let gina = exchange_mailbox(&e, good, "gina", "contoso.test", true).await;
    let job = test_and_enable(&e, vec![nancy, carol, dave, erin, gina]).await;
    let expect = [
        (nancy, ""),
        (carol, "mail.auth.failed_profile"),
        (dave, "mailbox.not_approved"),
        (erin, "mail.tls.untrusted"),
        (gina, "graph.mailbox_not_enabled"),
    ];
    for (id, code) in expect {
        let i = item(&job, id);
        let state = if code.is_empty() { JobItemState::Success } else { JobItemState::Failure };
        assert_eq!((i.state, i.error_code.as_str()), (state, code), "{i:?}");
        let m = ok(api::get_mailbox(&e, id).await).mailbox;
        assert_eq!(m.enabled_for_incoming, code.is_empty(), "{code}");
    }
    let inbox = graph.messages("nancy@contoso.test", "inbox");
    assert!(
        inbox.as_array().is_some_and(|l| l.iter().any(|m| m["subject"] == TEST_MESSAGE_SUBJECT)),
        "the test message never reached nancy: {inbox:#}"
    );

    // Incoming: 200 messages become 200 activities; a second cycle fetches nothing.
    user_filter(&e, nancy, FilteringMethod::AllEmail).await;
    for n in 0..200 {
        graph.deliver("nancy@contoso.test", &message(n, &format!("Graph order {n:03}")));
    }
    let first = sync_one(&e, nancy).await;
    assert_eq!(report(&first).tracked, 200 + 1, "the 200 messages and the test message: {:?}", first.error);
    assert_eq!(subjects(&e, "Graph order ").await.len(), 200);
    let fetched_before = requests_matching(&graph, "/$value").len();
    let second = sync_one(&e, nancy).await;
    assert_eq!((report(&second).planned, report(&second).tracked), (0, 0));
    assert_eq!(requests_matching(&graph, "/$value").len(), fetched_before, "the second cycle fetched a message");

    // Throttling: the cycle waits as long as Retry-After says, then goes on.
    graph.deliver("nancy@contoso.test", &message(300, "Graph order throttled"));
    graph.fault(json!({"kind": "throttle", "status": 429, "retry_after": 2, "count": 1}));
    let started = std::time::Instant::now();
    let s = sync_one(&e, nancy).await;
    assert_eq!(report(&s).tracked, 1);
    let log = graph.requests();
    let log = log.as_array().cloned().unwrap_or_default();
    let throttled = log.iter().position(|r| r["status"] == 429).unwrap_or_else(|| panic!("no 429 in {log:#?}"));
    let (t429, t_next) = (log[throttled]["t"].as_f64().unwrap_or(0.0), log[throttled + 1]["t"].as_f64().unwrap_or(0.0));
    let waited = t_next - t429;
    // At least what the server asked; the rest is this machine waking up and asking again.
    assert!((2.0..7.0).contains(&waited), "waited {waited:.3} s after Retry-After: 2");
    assert!(started.elapsed().as_secs_f64() >= 2.0);

    // A malformed answer fails the cycle with a code, and the next cycle goes on.
    graph.deliver("nancy@contoso.test", &message(301, "Graph order after malformed"));
    graph.fault(json!({"kind": "malformed", "count": 1}));
    let s = sync_one(&e, nancy).await;
    let err = s.error.as_ref().map(|e| e.code.as_str());
    assert_eq!(err, Some("graph.malformed_response"), "{s:?}");
    let s = sync_one(&e, nancy).await;
    assert_eq!(report(&s).tracked, 1, "{s:?}");

    // An expired delta link: the Inbox is read again, and nothing is tracked twice.
    graph.deliver("nancy@contoso.test", &message(302, "Graph order after expiry"));
    graph.fault(json!({"kind": "expire_delta", "user": "nancy@contoso.test"}));
    let s = sync_one(&e, nancy).await;
    let r = report(&s);
    assert_eq!(r.rescan, Some(api::Rescan::CursorExpired));
    assert_eq!(r.tracked, 1, "{r:?}");
    let all = subjects(&e, "Graph order").await;
    let unique: HashSet<&String> = all.iter().collect();
    assert_eq!((all.len(), unique.len()), (203, 203), "no message lost or tracked twice");

    // Outgoing: 50 emails reach carol's Inbox once each, with a copy in Sent Items; Bcc hidden.
    graph.add_user("carol@contoso.test", true, true);
    for n in 0..50 {
        ok(api::send_email(
            &e,
            email(
                nancy,
                "carol@contoso.test",
                "dave@contoso.test",
                format!("Graph outgoing {n:02}"),
                String::new(),
                format!("<p>Offre n° {n}</p>"),
            ),
        )
        .await);
    }
    let sent = ok(api::send_pending(&e, vec![nancy], Lang::En).await);
    assert_eq!((sent[0].sent, sent[0].failed, sent[0].possible_duplicates), (50, 0, 0), "{sent:?}");
    let received = graph.messages("carol@contoso.test", "inbox");
    let received = received.as_array().cloned().unwrap_or_default();
    let ids: Vec<&str> = received
        .iter()
        .filter(|m| m["subject"].as_str().is_some_and(|s| s.starts_with("Graph outgoing")))
        .filter_map(|m| m["internet_message_id"].as_str())
        .collect();
    let unique: HashSet<&&str> = ids.iter().collect();
    assert_eq!((ids.len(), unique.len()), (50, 50), "each email once, with its own Message-ID");
    assert!(received.iter().all(|m| !m["raw_b64"].as_str().unwrap_or_default().is_empty()));
    let copies = graph.messages("nancy@contoso.test", "sentitems");
    assert_eq!(copies.as_array().map(Vec::len), Some(50), "Sent Items: {copies:#}");
    let outbound = graph.outbound();
    let hidden =
        outbound.as_array().map(|o| o.iter().filter(|m| m["bcc"].to_string().contains("dave@contoso.test")).count());
    assert_eq!(hidden, Some(50), "the Bcc recipient was given every email: {outbound:#}");
    assert!(received.iter().all(|m| m["bcc"].as_str().unwrap_or_default().is_empty()), "carol must not see the Bcc");

    // Graph's own limit: at most 4 requests at once for one mailbox.
    let most = graph.max_concurrency();
    assert!(most["nancy@contoso.test"].as_u64().is_some_and(|n| (1..=4).contains(&n)), "{most:#}");
    assert_no_violations(&graph);
}

/// A self-signed certificate and its RSA key, as one PEM.
fn certificate(dir: &std::path::Path, name: &str) -> String {
    let (key, cert) = (dir.join(format!("{name}.key")), dir.join(format!("{name}.pem")));
    let out = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", &format!("/CN={name}")])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap_or_else(|e| panic!("openssl: {e}"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let read = |p: &std::path::Path| std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    format!("{}{}", read(&cert), read(&key))
}

/// The SHA-1 fingerprint of `certificate(dir, name)`'s certificate, upper-case hex, per openssl.
fn fingerprint(dir: &std::path::Path, name: &str) -> String {
    let out = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha1", "-in"])
        .arg(dir.join(format!("{name}.pem")))
        .output()
        .unwrap_or_else(|e| panic!("openssl: {e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim().rsplit('=').next().unwrap_or_default().replace(':', "")
}

#[tokio::test]
async fn a_certificate_profile_gets_a_token_and_another_certificate_is_refused() {
    let servers = MailServers::start(&[("alice", "alice-pass")]);
    let graph = GraphServer::start(&servers);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let registered = certificate(dir.path(), "registered");
    let other = certificate(dir.path(), "other");
    let cert_only: String = registered.split_inclusive('\n').take_while(|l| !l.contains("PRIVATE KEY")).collect();
    graph.add_app(TENANT, CLIENT, None, Some(&cert_only), &["*"]);
    let (e, _, _d) = memory_engine().await;
    let base = graph.base_url();
    let ca = servers.ca_file();
    for (name, pem, want) in [("Registered", &registered, ""), ("Other", &other, "mail.auth.failed_profile")] {
        let p = exo_profile(&e, name, &base, &ca, "placeholder").await;
        ok(api::update_profile(
            &e,
            p,
            ProfileChanges {
                oauth_credential_kind: Some(Some(OauthCredentialKind::Certificate)),
                ..Default::default()
            },
        )
        .await);
        // A certificate without its key is refused before it reaches the keychain.
        let refused =
            api::set_profile_secret(&e, p, ProfileSecretKind::OauthSecret, Secret::new(cert_only.as_str())).await;
        let refused = refused.err().unwrap_or_else(|| panic!("a certificate without its key was accepted"));
        assert_eq!(
            (refused.code(), refused.param_value("field")),
            ("graph.certificate.unreadable", Some("oauth_secret")),
            "{refused:?}"
        );
        let saved = ok(api::set_profile_secret(&e, p, ProfileSecretKind::OauthSecret, Secret::new(pem.as_str())).await);
        // The thumbprint Microsoft Entra shows for the certificate (openssl's SHA-1 fingerprint).
        assert_eq!(saved.oauth_certificate_thumbprint, fingerprint(dir.path(), &name.to_lowercase()), "{name}");
        let t = ok(api::test_profile_connection(&e, p).await);
        let failure = t.steps.iter().find(|s| !s.error_code.is_empty());
        assert_eq!(failure.map(|s| s.error_code.as_str()).unwrap_or_default(), want, "{name}: {:?}", t.steps);
        if let Some(f) = failure {
            assert!(f.error_detail.contains("AADSTS700027"), "{name}: {f:?}");
            assert!(!f.error_detail.contains("PRIVATE KEY"));
        }
    }
    assert_no_violations(&graph);
}
