//! Benchmark: Test & Enable Mailboxes for N mailboxes (default 200) of one IMAP/SMTP profile
//! against the real Dovecot and Postfix of tests/servers/, at several "Maximum Concurrent
//! Connections". Prints wall time, mailboxes per second, the peak connections each server saw
//! and this process's peak memory. Run with `bash bench/test-enable.sh [N]`.

use serversync::api::{self, CreateProfile, CreateUser};
use serversync::domain::{
    ActMethod, IncomingMethod, MailboxChanges, OutgoingMethod, ProfileChanges, ServerType, TlsMode,
};
use serversync::secrets::Secret;
use serversync_tests::mail::MailServers;
use serversync_tests::memory_engine;
use std::time::Instant;

fn ok<T>(r: serversync::Result<T>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(200);
    let limits: Vec<u32> = std::env::args().skip(2).filter_map(|a| a.parse().ok()).collect();
    let limits = if limits.is_empty() { vec![1, 2, 10] } else { limits };
    let users: Vec<(String, String)> = (0..n).map(|i| (format!("bench{i:04}"), format!("pass{i:04}"))).collect();
    let refs: Vec<(&str, &str)> = users.iter().map(|(u, p)| (u.as_str(), p.as_str())).collect();
    let started = Instant::now();
    let servers = MailServers::start(&refs);
    println!("servers up in {:.2} s ({} users)", started.elapsed().as_secs_f64(), n);
    println!(
        "{:>8} {:>10} {:>14} {:>10} {:>10} {:>12}",
        "max_conn", "wall_s", "mailboxes/s", "imap_peak", "smtp_peak", "peak_rss_MiB"
    );
    for max in limits {
        let (e, _, _d) = memory_engine().await;
        let p = ok(api::create_profile(
            &e,
            CreateProfile {
                server_type: ServerType::ImapSmtp,
                name: format!("Bench {max}"),
                changes: ProfileChanges {
                    incoming_location: Some("localhost".into()),
                    outgoing_location: Some("localhost".into()),
                    incoming_port: Some(Some(servers.port("IMAPS_PORT"))),
                    outgoing_port: Some(Some(servers.port("SMTP_PORT"))),
                    incoming_tls_mode: Some(Some(TlsMode::Implicit)),
                    outgoing_tls_mode: Some(Some(TlsMode::StartTls)),
                    ca_file: Some(servers.ca_file()),
                    max_concurrent_connections: Some(max),
                    ..Default::default()
                },
                set_as_default: false,
            },
        )
        .await);
        let mut ids = Vec::with_capacity(n);
        for (u, pw) in &users {
            let user = ok(api::create_user(
                &e,
                CreateUser {
                    full_name: u.clone(),
                    primary_email: format!("{u}@localhost"),
                    can_approve_email: false,
                    incoming_filtering_method: None,
                },
            )
            .await);
            let id = user.mailbox_id.unwrap_or_else(|| panic!("no mailbox"));
            let changes = MailboxChanges {
                profile_id: Some(Some(p.id)),
                incoming_method: Some(IncomingMethod::ServerSideSync),
                outgoing_method: Some(OutgoingMethod::ServerSideSync),
                act_method: Some(ActMethod::None),
                ..Default::default()
            };
            ok(api::update_mailbox(&e, id, changes).await);
            ok(api::set_mailbox_credentials(&e, id, u.clone(), Secret::new(pw.as_str())).await);
            ids.push(id);
        }
        ok(api::approve_mailboxes(&e, ids.clone(), None).await);
        let t = Instant::now();
        let job = ok(api::start_test_and_enable(&e, api::TestAndEnableScope::Profile(p.id)).await);
        let job = ok(api::wait_job(&e, job.job.id).await);
        let wall = t.elapsed().as_secs_f64();
        let failures = job.items.iter().filter(|i| !i.error_code.is_empty()).count();
        assert_eq!(failures, 0, "{:?}", job.items.iter().find(|i| !i.error_code.is_empty()));
        let seen = servers.max_connections();
        println!(
            "{:>8} {:>10.2} {:>14.1} {:>10} {:>10} {:>12.1}",
            max,
            wall,
            n as f64 / wall,
            seen.get("imap").map(ToString::to_string).unwrap_or_default(),
            seen.get("smtp").map(ToString::to_string).unwrap_or_default(),
            peak_rss_kib() as f64 / 1024.0
        );
    }
}
