//! Benchmark of continuous sync against the real Dovecot and Postfix of tests/servers/ (release
//! build; run with `bash bench/sync.sh`). Prints figures, asserts nothing but that the work was
//! done:
//!
//! - **Idle cycle**: N enabled mailboxes (default 1,000) with no new mail: the wall time of one
//!   full polling pass of the scheduler and the IMAP and SMTP logins it made per mailbox.
//! - **Idle RSS**: this process's resident memory while the scheduler runs over those mailboxes
//!   with its IDLE connections open (the engine and scheduler that `serversync serve` runs).
//! - **Sending**: M Pending Send emails (default 1,000) from one mailbox: emails/s of the outgoing
//!   cycle, with and without the copy to the Sent folder, beside a raw pipelined SMTP injection
//!   (STARTTLS, AUTH, then MAIL/RCPT/DATA sent together for each message) of messages of the same
//!   size over one connection to the same port, measured in the same run.
//! - **Push latency**: 20 mailboxes on IDLE, 200 messages delivered over LMTP at random intervals:
//!   p50, p95 and max from delivery to the committed activity.

use chrono::Duration as ChronoDuration;
use serversync::Engine;
use serversync::api::{self, FilteringMethod, ProfileChanges, Recipient, SchedulerOptions, SendEmail, SettingsChanges};
use serversync::clock::{Clock, FixedClock, SystemClock};
use serversync::secrets::MemoryStore;
use serversync_tests::mail::{MailServers, deliver};
use serversync_tests::setup::{Sides, mailbox, ok, profile, user_filter};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

fn count_in(path: &std::path::Path, needle: &str) -> usize {
    std::fs::read_to_string(path).map(|t| t.matches(needle).count()).unwrap_or(0)
}

struct Logins<'a>(&'a MailServers);

impl Logins<'_> {
    /// (IMAP logins, SMTP AUTH logins) the servers logged so far.
    fn now(&self) -> (usize, usize) {
        let logs = self.0.dir().join("logs");
        (count_in(&logs.join("dovecot.log"), "Login: user=<"), count_in(&logs.join("postfix.log"), "sasl_username="))
    }
}

async fn engine(clock: Arc<dyn Clock>) -> (Engine, tempfile::TempDir) {
    serversync_tests::engine_with(Arc::new(MemoryStore::new()), clock).await
}

async fn enabled_mailboxes(
    e: &Engine,
    servers: &MailServers,
    users: &[(String, String)],
    changes: ProfileChanges,
) -> Vec<api::MailboxId> {
    let p = profile(e, "Bench", &Sides::imaps_and_submission(servers), &servers.ca_file(), changes).await;
    let mut ids = Vec::with_capacity(users.len());
    for (u, pw) in users {
        ids.push(mailbox(e, p, u, pw, false).await);
    }
    ok(api::approve_mailboxes(e, ids.clone(), None).await);
    let job = ok(api::start_test_and_enable(e, api::TestAndEnableScope::Profile(p)).await);
    let job = ok(api::wait_job(e, job.job.id).await);
    let failed = job.items.iter().filter(|i| !i.error_code.is_empty()).count();
    assert_eq!(failed, 0, "Test & Enable failed: {:?}", job.items.iter().find(|i| !i.error_code.is_empty()));
    ids
}

fn options() -> SchedulerOptions {
    SchedulerOptions { outgoing_per_cycle: 100_000, ..SchedulerOptions::default() }
}

async fn idle_cycle(servers: &MailServers, users: &[(String, String)]) {
    let clock = Arc::new(FixedClock::new(SystemClock.now()));
    let (e, _d) = engine(clock.clone()).await;
    let ids = enabled_mailboxes(&e, servers, users, ProfileChanges::default()).await;
    // The first pass after Test & Enable reads each mailbox's state; the measured one has nothing.
    let first = ok(api::run_due_workloads(&e, options()).await);
    clock.set(clock.now() + ChronoDuration::hours(2));
    let logins = Logins(servers);
    let before = logins.now();
    let t = Instant::now();
    let ends = ok(api::run_due_workloads(&e, options()).await);
    let wall = t.elapsed().as_secs_f64();
    let after = logins.now();
    let incoming = ends.iter().filter(|c| c.workload == api::Workload::Incoming).count();
    let failed = ends.iter().filter(|c| c.error_code.is_some()).count();
    let n = ids.len() as f64;
    println!("\n== idle cycle: {} enabled mailboxes, no new mail", ids.len());
    println!("first pass after Test & Enable: {} cycles", first.len());
    println!("{:>10} {:>10} {:>10} {:>16} {:>16}", "cycles", "failed", "wall_s", "imap_logins/mbx", "smtp_logins/mbx");
    println!(
        "{:>10} {:>10} {:>10.2} {:>16.2} {:>16.2}",
        ends.len(),
        failed,
        wall,
        (after.0 - before.0) as f64 / n,
        (after.1 - before.1) as f64 / n
    );
    assert_eq!(incoming, ids.len(), "every mailbox's incoming workload ran");
    // The server's own cost of the same logins, in the same run: a raw client that only signs in,
    // selects the Inbox and leaves, as many at once as the profile allows.
    let raw =
        raw_idle_pass(servers, users, serversync::domain::profile::DEFAULT_MAX_CONCURRENT_CONNECTIONS as usize).await;
    println!(
        "raw pass (TLS, LOGIN, SELECT INBOX, LOGOUT; {} at once): {raw:.2} s; the engine's pass is {:.2}x that",
        serversync::domain::profile::DEFAULT_MAX_CONCURRENT_CONNECTIONS,
        wall / raw
    );

    // The same engine left running, as `serve` runs it: IDLE connections within the profile's
    // limit, nothing due for two hours.
    let base = status_kib("VmRSS:");
    ok(api::start_scheduler(&e, SchedulerOptions::default()).await);
    tokio::time::sleep(Duration::from_secs(15)).await;
    println!(
        "\n== idle RSS with the scheduler running over {} mailboxes: {:.1} MiB (before starting it {:.1} MiB; peak {:.1} MiB)",
        ids.len(),
        status_kib("VmRSS:") as f64 / 1024.0,
        base as f64 / 1024.0,
        status_kib("VmHWM:") as f64 / 1024.0
    );
    ok(api::stop_scheduler(&e).await);
}

const BODY_LINE: &str =
    "Bonjour, voici le point hebdomadaire sur les commandes en cours et les livraisons prévues.\r\n";

fn body() -> String {
    BODY_LINE.repeat(20)
}

async fn sending(servers: &MailServers, sender: &(String, String), emails: usize) {
    let clock = Arc::new(FixedClock::new(SystemClock.now()));
    let (e, _d) = engine(clock.clone()).await;
    let ids = enabled_mailboxes(&e, servers, std::slice::from_ref(sender), ProfileChanges::default()).await;
    // olga is no record of the organisation: her address is sent to as typed.
    ok(api::update_settings(
        &e,
        SettingsChanges { allow_unresolved_recipients_on_send: Some(true), ..Default::default() },
    )
    .await);
    let from = ids[0];
    ok(api::run_due_workloads(&e, options()).await);
    println!("\n== sending: {emails} emails from one mailbox to olga@localhost over one connection each way");
    println!("{:<36} {:>10} {:>10} {:>10}", "run", "emails", "wall_s", "emails/s");
    for round in 0..2 {
        let raw = raw_smtp(servers, sender, emails).await;
        let raw_rate = emails as f64 / raw;
        println!(
            "{:<36} {:>10} {:>10.2} {:>10.1}",
            format!("raw pipelined SMTP ({})", round + 1),
            emails,
            raw,
            raw_rate
        );
        for save in [false, true] {
            ok(api::update_settings(&e, SettingsChanges { save_sent_to_server: Some(save), ..Default::default() })
                .await);
            for i in 0..emails {
                ok(api::send_email(
                    &e,
                    SendEmail {
                        from_mailbox_id: from,
                        to: vec![Recipient { record: None, address: Some("olga@localhost".into()) }],
                        cc: vec![],
                        bcc: vec![],
                        subject: format!("Weekly status {round}-{save}-{i}"),
                        body_text: body(),
                        body_html: String::new(),
                        attachments: vec![],
                        regarding: None,
                        send_after: None,
                        in_reply_to: None,
                    },
                )
                .await);
            }
            let t = Instant::now();
            let ends = ok(api::run_due_workloads(&e, options()).await);
            let wall = t.elapsed().as_secs_f64();
            let sent: u32 = ends.iter().filter(|c| c.workload == api::Workload::Outgoing).map(|c| c.items).sum();
            assert_eq!(sent as usize, emails, "every email was sent in the cycle: {ends:?}");
            let rate = emails as f64 / wall;
            let label = if save { "engine, copy to Sent" } else { "engine, no Sent copy" };
            println!(
                "{:<36} {:>10} {:>10.2} {:>10.1}  ({:.2}× raw)",
                format!("{label} ({})", round + 1),
                emails,
                wall,
                rate,
                rate / raw_rate
            );
        }
    }
}

async fn read_reply<R: AsyncRead + Unpin>(r: &mut BufReader<R>) -> String {
    let last = loop {
        let mut line = String::new();
        let n = r.read_line(&mut line).await.unwrap_or_else(|e| panic!("smtp read: {e}"));
        assert!(n > 0, "the SMTP server closed the connection");
        if line.as_bytes().get(3) != Some(&b'-') {
            break line;
        }
    };
    assert!(last.starts_with('2') || last.starts_with('3'), "SMTP: {last}");
    last
}

async fn command<S: AsyncRead + AsyncWrite + Unpin>(s: &mut BufReader<S>, line: &str) -> String {
    s.get_mut().write_all(line.as_bytes()).await.unwrap_or_else(|e| panic!("smtp write: {e}"));
    read_reply(s).await
}

/// Seconds to inject `emails` messages (the same body as the engine's, plain headers) through
/// submission: STARTTLS, AUTH PLAIN, then for each message MAIL, RCPT and DATA written together
/// (PIPELINING) and the body after the 354.
async fn raw_smtp(servers: &MailServers, (user, pass): &(String, String), emails: usize) -> f64 {
    use base64::Engine as _;
    let t = Instant::now();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", servers.port("SMTP_PORT")))
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    tcp.set_nodelay(true).unwrap_or_else(|e| panic!("nodelay: {e}"));
    let mut plain = BufReader::new(tcp);
    read_reply(&mut plain).await;
    command(&mut plain, "EHLO bench.localhost\r\n").await;
    command(&mut plain, "STARTTLS\r\n").await;
    let mut roots = rustls::RootCertStore::empty();
    use rustls_pki_types::pem::PemObject;
    for cert in rustls_pki_types::CertificateDer::pem_file_iter(servers.ca_file()).unwrap_or_else(|e| panic!("ca: {e}"))
    {
        roots.add(cert.unwrap_or_else(|e| panic!("ca: {e}"))).unwrap_or_else(|e| panic!("ca: {e}"));
    }
    let config = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap_or_else(|e| panic!("{e}"));
    let tls = connector.connect(name, plain.into_inner()).await.unwrap_or_else(|e| panic!("tls: {e}"));
    let mut s = BufReader::new(tls);
    command(&mut s, "EHLO bench.localhost\r\n").await;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{pass}"));
    command(&mut s, &format!("AUTH PLAIN {auth}\r\n")).await;
    let body = body();
    for i in 0..emails {
        let head = format!("MAIL FROM:<{user}@localhost>\r\nRCPT TO:<olga@localhost>\r\nDATA\r\n");
        s.get_mut().write_all(head.as_bytes()).await.unwrap_or_else(|e| panic!("smtp write: {e}"));
        read_reply(&mut s).await;
        read_reply(&mut s).await;
        read_reply(&mut s).await;
        let msg = format!(
            "From: {user}@localhost\r\nTo: olga@localhost\r\nSubject: Raw weekly status {i}\r\nMessage-ID: <raw-{i}-{}@bench.localhost>\r\nDate: {}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}.\r\n",
            t.elapsed().as_nanos(),
            chrono::Utc::now().to_rfc2822()
        );
        s.get_mut().write_all(msg.as_bytes()).await.unwrap_or_else(|e| panic!("smtp write: {e}"));
        read_reply(&mut s).await;
    }
    command(&mut s, "QUIT\r\n").await;
    t.elapsed().as_secs_f64()
}

fn client_config(servers: &MailServers) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    use rustls_pki_types::pem::PemObject;
    for cert in rustls_pki_types::CertificateDer::pem_file_iter(servers.ca_file()).unwrap_or_else(|e| panic!("ca: {e}"))
    {
        roots.add(cert.unwrap_or_else(|e| panic!("ca: {e}"))).unwrap_or_else(|e| panic!("ca: {e}"));
    }
    Arc::new(rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth())
}

/// Reads IMAP lines until the tagged reply of `tag`, which must be OK.
async fn imap_reply<R: AsyncRead + Unpin>(r: &mut BufReader<R>, tag: &str) {
    loop {
        let mut line = String::new();
        let n = r.read_line(&mut line).await.unwrap_or_else(|e| panic!("imap read: {e}"));
        assert!(n > 0, "the IMAP server closed the connection");
        if let Some(rest) = line.strip_prefix(tag) {
            assert!(rest.trim_start().starts_with("OK"), "IMAP: {line}");
            return;
        }
    }
}

/// Seconds for a raw client to sign in to every mailbox over IMAPS, select its Inbox and log out,
/// `at_once` connections at a time (one TLS configuration for all, as the engine keeps one).
async fn raw_idle_pass(servers: &MailServers, users: &[(String, String)], at_once: usize) -> f64 {
    let config = client_config(servers);
    let port = servers.port("IMAPS_PORT");
    let gate = Arc::new(tokio::sync::Semaphore::new(at_once));
    let t = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (user, pass) in users {
        let (user, pass, config, gate) = (user.clone(), pass.clone(), config.clone(), gate.clone());
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await.unwrap_or_else(|e| panic!("{e}"));
            let tcp =
                tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap_or_else(|e| panic!("connect: {e}"));
            tcp.set_nodelay(true).unwrap_or_else(|e| panic!("nodelay: {e}"));
            let name = rustls_pki_types::ServerName::try_from("localhost").unwrap_or_else(|e| panic!("{e}"));
            let tls = tokio_rustls::TlsConnector::from(config)
                .connect(name, tcp)
                .await
                .unwrap_or_else(|e| panic!("tls: {e}"));
            let mut s = BufReader::new(tls);
            let mut greeting = String::new();
            s.read_line(&mut greeting).await.unwrap_or_else(|e| panic!("imap read: {e}"));
            assert!(greeting.starts_with("* OK"), "IMAP greeting: {greeting}");
            for (tag, cmd) in
                [("a", format!("LOGIN {user} {pass}")), ("b", "SELECT INBOX".into()), ("c", "LOGOUT".into())]
            {
                s.get_mut()
                    .write_all(format!("{tag} {cmd}\r\n").as_bytes())
                    .await
                    .unwrap_or_else(|e| panic!("imap write: {e}"));
                imap_reply(&mut s, tag).await;
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap_or_else(|e| panic!("{e}"));
    }
    t.elapsed().as_secs_f64()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn push_latency(servers: &MailServers, users: &[(String, String)], messages: usize) {
    let (e, dir) = engine(Arc::new(SystemClock)).await;
    // One IDLE connection per mailbox, with room for the cycles they start.
    let changes = ProfileChanges { max_concurrent_connections: Some(users.len() as u32 + 10), ..Default::default() };
    let ids = enabled_mailboxes(&e, servers, users, changes).await;
    for id in &ids {
        user_filter(&e, *id, FilteringMethod::AllEmail).await;
    }
    ok(api::run_due_workloads(&e, options()).await);
    ok(api::start_scheduler(&e, SchedulerOptions::default()).await);
    // Give each mailbox time to open its IDLE connection.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let db = dir.path().join("data").join(serversync::DATABASE_FILE);
    // A raw IDLE client on the first mailbox, beside the engine's: how long the server itself
    // takes to say EXISTS after a delivery.
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (ready, is_ready) = tokio::sync::oneshot::channel::<u32>();
    let watcher = tokio::spawn(raw_idle_watch(
        servers.port("IMAPS_PORT"),
        client_config(servers),
        users[0].clone(),
        ready,
        stopped,
    ));
    let first_count = is_ready.await.unwrap_or_else(|e| panic!("raw IDLE client: {e}"));
    let mut to_first: Vec<f64> = Vec::new();
    let mut rng: u64 = 0x5eed;
    let mut delivered = Vec::with_capacity(messages);
    for i in 0..messages {
        rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let to = &users[(rng >> 33) as usize % users.len()].0;
        let mid = format!("<push-{i}@bench.example>");
        let raw = format!(
            "From: Customer <customer@example.org>\r\nTo: {to}@localhost\r\nSubject: Push {i}\r\nMessage-ID: {mid}\r\nDate: {}\r\n\r\nHello {i}\r\n",
            chrono::Utc::now().to_rfc2822()
        );
        let servers_ref = servers;
        let to_addr = format!("{to}@localhost");
        tokio::task::block_in_place(|| deliver(servers_ref, "customer@example.org", &[&to_addr], raw.as_bytes()));
        let at = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or_default();
        if *to == users[0].0 {
            to_first.push(at);
        }
        delivered.push((mid, at));
        // Random intervals of 0-400 ms (200 messages: about 40 s).
        let pause = (rng >> 40) % 400;
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    let tracked = loop {
        let tracked = tracked_at(&db);
        if delivered.iter().all(|(m, _)| tracked.contains_key(m)) || Instant::now() > deadline {
            break tracked;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    ok(api::stop_scheduler(&e).await);
    let mut lat: Vec<f64> = delivered.iter().filter_map(|(m, at)| tracked.get(m).map(|t| (t - at).max(0.0))).collect();
    lat.sort_by(|a, b| a.total_cmp(b));
    println!("\n== push latency: {} mailboxes on IDLE, {messages} messages at random intervals (0-400 ms)", ids.len());
    println!("{:>10} {:>10} {:>10} {:>10} {:>10}", "tracked", "missing", "p50_s", "p95_s", "max_s");
    println!(
        "{:>10} {:>10} {:>10.3} {:>10.3} {:>10.3}",
        lat.len(),
        messages - lat.len(),
        percentile(&lat, 50.0),
        percentile(&lat, 95.0),
        lat.last().copied().unwrap_or(f64::NAN)
    );
    let _ = stop.send(());
    let exists = watcher.await.unwrap_or_else(|e| panic!("raw IDLE client: {e}"));
    // The k-th message delivered to the first mailbox is announced by the first EXISTS that
    // counts it.
    let mut raw: Vec<f64> = to_first
        .iter()
        .enumerate()
        .filter_map(|(k, at)| {
            let n = first_count + k as u32 + 1;
            exists.iter().find(|(count, _)| *count >= n).map(|(_, t)| (t - at).max(0.0))
        })
        .collect();
    raw.sort_by(|a, b| a.total_cmp(b));
    println!(
        "raw IDLE client on {} ({} messages): delivery to EXISTS p50 {:.3} s, p95 {:.3} s, max {:.3} s",
        users[0].0,
        raw.len(),
        percentile(&raw, 50.0),
        percentile(&raw, 95.0),
        raw.last().copied().unwrap_or(f64::NAN)
    );
}

/// Signs in to `user`'s Inbox over IMAPS (`port`) and IDLEs, telling `ready` the message count once IDLE
/// is on; returns each EXISTS count with when it arrived (seconds since the epoch), until `stop`.
async fn raw_idle_watch(
    port: u16,
    config: Arc<rustls::ClientConfig>,
    (user, pass): (String, String),
    ready: tokio::sync::oneshot::Sender<u32>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) -> Vec<(u32, f64)> {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap_or_else(|e| panic!("connect: {e}"));
    tcp.set_nodelay(true).unwrap_or_else(|e| panic!("nodelay: {e}"));
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap_or_else(|e| panic!("{e}"));
    let tls = tokio_rustls::TlsConnector::from(config).connect(name, tcp).await.unwrap_or_else(|e| panic!("tls: {e}"));
    let mut s = BufReader::new(tls);
    let mut line = String::new();
    s.read_line(&mut line).await.unwrap_or_else(|e| panic!("imap read: {e}"));
    s.get_mut().write_all(format!("a LOGIN {user} {pass}\r\n").as_bytes()).await.unwrap_or_else(|e| panic!("{e}"));
    imap_reply(&mut s, "a").await;
    s.get_mut().write_all(b"b SELECT INBOX\r\ni IDLE\r\n").await.unwrap_or_else(|e| panic!("{e}"));
    let exists = |l: &str| l.strip_prefix("* ")?.strip_suffix(" EXISTS")?.parse::<u32>().ok();
    let mut count = 0;
    loop {
        line.clear();
        s.read_line(&mut line).await.unwrap_or_else(|e| panic!("imap read: {e}"));
        if let Some(n) = exists(line.trim_end()) {
            count = n;
        }
        if line.starts_with('+') {
            break;
        }
    }
    let _ = ready.send(count);
    let mut seen = Vec::new();
    loop {
        line.clear();
        tokio::select! {
            read = s.read_line(&mut line) => {
                let n = read.unwrap_or_else(|e| panic!("imap read: {e}"));
                assert!(n > 0, "the IMAP server closed the IDLE connection");
                if let Some(count) = exists(line.trim_end()) {
                    let at = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or_default();
                    seen.push((count, at));
                }
            }
            _ = &mut stop => break,
        }
    }
    seen
}

/// Message-ID → when its activity was committed (seconds since the epoch).
fn tracked_at(db: &std::path::Path) -> std::collections::HashMap<String, f64> {
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap_or_else(|e| panic!("{e}"));
    c.busy_timeout(Duration::from_secs(10)).unwrap_or_else(|e| panic!("{e}"));
    let mut stmt = c
        .prepare("SELECT message_id, (julianday(created_on) - 2440587.5) * 86400.0 FROM email_activity")
        .unwrap_or_else(|e| panic!("{e}"));
    stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, f64>(1)?)))
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|r| r.ok())
        .collect()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let emails: usize = std::env::args().nth(2).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let mut users: Vec<(String, String)> = (0..n).map(|i| (format!("bench{i:04}"), format!("pass{i:04}"))).collect();
    users.push(("olga".into(), "olga-pass".into()));
    users.push(("sender".into(), "sender-pass".into()));
    let refs: Vec<(&str, &str)> = users.iter().map(|(u, p)| (u.as_str(), p.as_str())).collect();
    let started = Instant::now();
    let servers = MailServers::start(&refs);
    println!("servers up in {:.2} s ({} users)", started.elapsed().as_secs_f64(), refs.len());
    let sender = users[n + 1].clone();
    let mailboxes = &users[..n];

    // BENCH_PARTS=push,sending,idle (default: all) runs some of them.
    let parts = std::env::var("BENCH_PARTS").unwrap_or_else(|_| "push,sending,idle".into());
    let part = |p: &str| parts.split(',').any(|x| x.trim() == p);
    if part("push") {
        push_latency(&servers, &mailboxes[..20.min(n)], 200).await;
    }
    if part("sending") {
        sending(&servers, &sender, emails).await;
    }
    if part("idle") {
        idle_cycle(&servers, mailboxes).await;
    }
}
