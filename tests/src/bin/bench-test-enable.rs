//! Benchmark: Test & Enable Mailboxes for N mailboxes (default 200) of one IMAP/SMTP profile
//! against the real Dovecot and Postfix of tests/servers/, at several "Maximum Concurrent
//! Connections". Prints wall time, mailboxes per second, the peak connections each server saw
//! and this process's peak memory. Run with `bash bench/test-enable.sh [N]`.

use serversync::api;
use serversync::api::ProfileChanges;
use serversync_tests::mail::MailServers;
use serversync_tests::memory_engine;
use serversync_tests::setup::{Sides, mailbox, ok, profile};
use std::time::Instant;

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
        let changes = ProfileChanges { max_concurrent_connections: Some(max), ..Default::default() };
        let sides = Sides::imaps_and_submission(&servers);
        let p = profile(&e, &format!("Bench {max}"), &sides, &servers.ca_file(), changes).await;
        let mut ids = Vec::with_capacity(n);
        for (u, pw) in &users {
            // Approved below in one call, as an administrator would.
            ids.push(mailbox(&e, p, u, pw, false).await);
        }
        ok(api::approve_mailboxes(&e, ids.clone(), None).await);
        let t = Instant::now();
        let job = ok(api::start_test_and_enable(&e, api::TestAndEnableScope::Profile(p)).await);
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
