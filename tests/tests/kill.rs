//! Nothing lost, nothing tracked twice: `serversync mailbox sync` is killed (SIGKILL) at random
//! points of an import of 2,000 messages, at least 20 times, and started again each time. At the
//! end there are exactly 2,000 activities. For POP3 with Delete Emails after Processing, no
//! message ever leaves the server before its activity is committed. `serversync mailbox send` is
//! killed at least 20 times while it sends 1,000 emails: none is lost, and every email that
//! reaches its recipient twice is one the engine counted as a possible duplicate.

use serversync::protocol::TEST_MESSAGE_SUBJECT;
use serversync_tests::mail::{MailServers, deliver_many, inbox_subjects, wait_for_subject};
use serversync_tests::{cli_json, cli_profile, serversync_bin};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const MESSAGES: usize = 2000;
const KILLS: usize = 20;

/// A small deterministic generator (the seed is printed, so a failure can be replayed).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % bound.max(1)
    }
}

fn message(i: usize, to: &str) -> Vec<u8> {
    format!(
        "From: sender{}@example.org\r\nTo: {to}\r\nSubject: Kill test {i:04}\r\nMessage-ID: <kill-{i:04}@example.org>\r\n\
Date: Thu, 03 Dec 2026 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nMessage {i} of the import.\r\n{}\r\n",
        i % 17,
        "Lorem ipsum dolor sit amet. ".repeat(i % 40)
    )
    .into_bytes()
}

/// The Message-IDs of the activities in the database (read beside the running process).
fn tracked_ids(db: &Path) -> Vec<String> {
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap_or_else(|e| panic!("{e}"));
    c.busy_timeout(Duration::from_secs(10)).unwrap_or_else(|e| panic!("{e}"));
    let mut stmt = c.prepare("SELECT message_id FROM email_activity").unwrap_or_else(|e| panic!("{e}"));
    stmt.query_map([], |r| r.get(0)).unwrap_or_else(|e| panic!("{e}")).filter_map(|r| r.ok()).collect()
}

/// The Message-IDs of the messages still in a user's Maildir (what the server holds).
fn on_server(servers: &MailServers, user: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for sub in ["new", "cur"] {
        let dir = servers.dir().join(format!("mail/{user}/Maildir/{sub}"));
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let text = std::fs::read(entry.path()).unwrap_or_default();
            let text = String::from_utf8_lossy(&text);
            if let Some(line) = text.lines().find(|l| l.to_ascii_lowercase().starts_with("message-id:")) {
                out.insert(line["message-id:".len()..].trim().to_owned());
            }
        }
    }
    out
}

/// Sets up a data directory with one mailbox (a user's on IMAP, or a queue's on POP3 with Delete
/// Emails after Processing), tested and enabled; returns the mailbox id.
fn setup(data: &Path, servers: &MailServers, pop3: bool, user: &str, pass: &str) -> String {
    if pop3 {
        cli_profile(data, servers, "pop3-smtp", "POP3S_PORT", &[]);
    } else {
        cli_profile(data, servers, "imap-smtp", "IMAPS_PORT", &[]);
    }
    let id = if pop3 {
        let q = cli_json(data, &["queue", "create", "--name", user, "--email", &format!("{user}@localhost")], None);
        let id = q["mailbox_id"].to_string();
        cli_json(data, &["mailbox", "update", &id, "--set", "delete_after_processing=true"], None);
        id
    } else {
        let u = cli_json(data, &["user", "create", "--name", user, "--email", &format!("{user}@localhost")], None);
        cli_json(data, &["user", "update", &u["id"].to_string(), "--set", "incoming_filtering_method=all_email"], None);
        u["mailbox_id"].to_string()
    };
    cli_json(data, &["mailbox", "set-credentials", &id, "--user-name", user, "--password-stdin"], Some(pass));
    cli_json(data, &["mailbox", "approve", &id], None);
    cli_json(data, &["mailbox", "test-enable", &id], None);
    id
}

/// Runs `serversync COMMAND…` again and again, killing it at a random moment the first
/// [`KILLS`] times; then lets it run to its end until `done` says the work is over.
/// When a run is killed: after a random time, or once the work has moved on by a random number
/// of items since the run started (so every kill lands while there is work left, however fast
/// the machine; a quarter of them still land at a random time, start-up included).
enum KillAt<'a> {
    Time,
    Progress { progress: &'a dyn Fn() -> usize, at_most: u64 },
}

fn kill_and_restart(
    data: &Path,
    command: &[&str],
    seed: u64,
    kill_at: KillAt<'_>,
    mut between: impl FnMut(),
    done: impl Fn() -> bool,
) -> usize {
    let mut rng = Lcg(seed);
    let mut kills = 0;
    let deadline = Instant::now() + Duration::from_secs(600);
    // Each run's standard error, kept beside the data directory: a run that stops making
    // progress says why.
    let log = data.join("test-runs.log");
    let mut runs = 0usize;
    loop {
        if Instant::now() >= deadline {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(40).collect::<Vec<_>>().into_iter().rev().collect();
            panic!(
                "the work did not finish after {kills} kills and {runs} runs; the last runs said:\n{}",
                tail.join("\n")
            );
        }
        runs += 1;
        let mut file =
            std::fs::OpenOptions::new().create(true).append(true).open(&log).unwrap_or_else(|e| panic!("{e}"));
        std::io::Write::write_all(&mut file, format!("--- run {runs} (kills so far: {kills})\n").as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
        let mut child = Command::new(serversync_bin())
            .arg("--data-dir")
            .arg(data)
            .args(command)
            .stdout(Stdio::null())
            .stderr(Stdio::from(file))
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        if kills < KILLS {
            // Anywhere from start-up to well into the import; later kills wait a little longer.
            let wait = 50 + rng.next(300 + 40 * kills as u64);
            let target = match &kill_at {
                KillAt::Progress { progress, at_most } if rng.next(4) != 0 => {
                    Some(progress() + 1 + rng.next(*at_most) as usize)
                }
                _ => None,
            };
            let started = Instant::now();
            loop {
                if let Ok(Some(_)) = child.try_wait() {
                    // The run ended by itself: the kills still to come need work left to hit.
                    if matches!(kill_at, KillAt::Progress { .. }) && done() {
                        panic!("the work ended after {kills} kills of the {KILLS} required: the kills came too late");
                    }
                    break;
                }
                let due = match (&kill_at, target) {
                    (KillAt::Progress { progress, .. }, Some(t)) => progress() >= t,
                    _ => started.elapsed() >= Duration::from_millis(wait),
                };
                if due {
                    child.kill().unwrap_or_else(|e| panic!("kill: {e}"));
                    let _ = child.wait();
                    kills += 1;
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            between();
            continue;
        }
        let status = child.wait().unwrap_or_else(|e| panic!("{e}"));
        if !status.success() {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let last = text.rsplit("--- run ").next().unwrap_or_default().to_owned();
            panic!("an uninterrupted run failed ({status}): {last}");
        }
        between();
        if done() {
            return kills;
        }
    }
}

fn seed() -> u64 {
    let seed = std::env::var("KILL_TEST_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(7)
    });
    eprintln!("KILL_TEST_SEED={seed}");
    seed
}

#[test]
fn imap_import_killed_20_times_ends_with_every_message_once() {
    let servers = MailServers::start(&[("kill", "kill-pass")]);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path();
    let mailbox = setup(data, &servers, false, "kill", "kill-pass");
    let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    assert!(rt.block_on(wait_for_subject(&servers, "kill", "kill-pass", TEST_MESSAGE_SUBJECT)));
    let messages: Vec<Vec<u8>> = (0..MESSAGES).map(|i| message(i, "kill@localhost")).collect();
    deliver_many(&servers, "sender@example.org", &["kill@localhost"], messages.iter().map(Vec::as_slice));
    // Cycles of at most 200 messages (as a scheduler caps them): each commits several batches'
    // worth of cursor, so kills land before, during and after commits of many cycles.
    import_survives_kills(data, &mailbox);
}

#[test]
fn pop3_import_killed_20_times_deletes_nothing_before_it_is_committed() {
    let servers = MailServers::start(&[("killq", "killq-pass")]);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path();
    let mailbox = setup(data, &servers, true, "killq", "killq-pass");
    let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    assert!(rt.block_on(wait_for_subject(&servers, "killq", "killq-pass", TEST_MESSAGE_SUBJECT)));
    let messages: Vec<Vec<u8>> = (0..MESSAGES).map(|i| message(i, "killq@localhost")).collect();
    deliver_many(&servers, "sender@example.org", &["killq@localhost"], messages.iter().map(Vec::as_slice));
    let all: BTreeSet<String> = (0..MESSAGES).map(|i| format!("<kill-{i:04}@example.org>")).collect();
    let db = data.join(serversync::DATABASE_FILE);
    let mut checks = 0;
    let mut partial = BTreeSet::new();
    // Cycles of 150 messages: each one commits, deletes and quits, so kills land before, during
    // and after the deletions of many cycles (POP3 deletes only when QUIT completes).
    let kills = kill_and_restart(
        data,
        &["mailbox", "sync", &mailbox, "--limit", "150"],
        seed(),
        KillAt::Time,
        || {
            let still_there = on_server(&servers, "killq").len();
            if still_there > 0 && still_there < MESSAGES {
                partial.insert(still_there);
            }
            // After every kill: whatever left the server has its activity.
            let tracked: BTreeSet<String> = tracked_ids(&db).into_iter().collect();
            let still = on_server(&servers, "killq");
            let gone: Vec<&String> = all.difference(&still).collect();
            let lost: Vec<&&String> = gone.iter().filter(|id| !tracked.contains(**id)).collect();
            assert!(lost.is_empty(), "deleted from the server before their activity was committed: {lost:?}");
            checks += 1;
        },
        || on_server(&servers, "killq").iter().all(|id| !id.starts_with("<kill-")),
    );
    assert!(kills >= KILLS && checks > KILLS);
    assert!(partial.len() >= 3, "too few kills interrupted the import: {partial:?}");
    let ids = tracked_ids(&db);
    let imported: Vec<&String> = ids.iter().filter(|i| i.starts_with("<kill-")).collect();
    let distinct: BTreeSet<&String> = imported.iter().copied().collect();
    assert_eq!((distinct.len(), imported.len()), (MESSAGES, MESSAGES), "lost or duplicated messages");
    assert!(
        on_server(&servers, "killq").iter().all(|id| !id.starts_with("<kill-")),
        "every tracked message was deleted"
    );
}

/// The emails of the run that ended Failed, with their reason.
fn failed_emails(db: &Path) -> Vec<(String, String)> {
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap_or_else(|e| panic!("{e}"));
    c.busy_timeout(Duration::from_secs(10)).unwrap_or_else(|e| panic!("{e}"));
    let mut stmt = c
        .prepare("SELECT subject, * FROM email_activity WHERE subject LIKE 'Send kill %' AND status = 'failed'")
        .unwrap_or_else(|e| panic!("{e}"));
    let columns: Vec<String> = stmt.column_names().iter().map(|s| (*s).to_owned()).collect();
    stmt.query_map([], |r| {
        let row: Vec<String> = (1..columns.len())
            .filter(|i| {
                columns[*i].contains("reason") || columns[*i].contains("attempt") || columns[*i].contains("error")
            })
            .map(|i| format!("{}={:?}", columns[i], r.get_ref(i).map(|v| format!("{v:?}")).unwrap_or_default()))
            .collect();
        Ok((r.get::<_, String>(0)?, row.join(" ")))
    })
    .unwrap_or_else(|e| panic!("{e}"))
    .filter_map(|r| r.ok())
    .collect()
}

/// How many of the emails whose subject starts with `prefix` are in each state, and which of
/// them carry the possible-duplicate mark (by their subject's first 14 characters).
fn outgoing_states(db: &Path) -> (usize, BTreeSet<String>) {
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap_or_else(|e| panic!("{e}"));
    c.busy_timeout(Duration::from_secs(10)).unwrap_or_else(|e| panic!("{e}"));
    let sent: i64 = c
        .query_row(
            "SELECT count(*) FROM email_activity WHERE subject LIKE 'Send kill %' AND status = 'sent'",
            [],
            |r| r.get(0),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let mut stmt = c
        .prepare("SELECT substr(subject, 1, 14) FROM email_activity WHERE subject LIKE 'Send kill %' AND possible_duplicate = 1")
        .unwrap_or_else(|e| panic!("{e}"));
    let flagged = stmt.query_map([], |r| r.get(0)).unwrap_or_else(|e| panic!("{e}")).filter_map(|r| r.ok()).collect();
    (sent as usize, flagged)
}

#[test]
fn sending_1000_emails_killed_20_times_loses_none_and_counts_every_duplicate() {
    const EMAILS: usize = 1000;
    let servers = MailServers::start(&[("send1", "send-pass"), ("send2", "send-pass"), ("ext", "ext-pass")]);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path();
    let first = setup(data, &servers, false, "send1", "send-pass");
    let u = cli_json(data, &["user", "create", "--name", "send2", "--email", "send2@localhost"], None);
    let second = u["mailbox_id"].to_string();
    cli_json(
        data,
        &["mailbox", "set-credentials", &second, "--user-name", "send2", "--password-stdin"],
        Some("send-pass"),
    );
    cli_json(data, &["mailbox", "approve", &second], None);
    cli_json(data, &["mailbox", "test-enable", &second], None);
    cli_json(data, &["contact", "create", "--set", "last_name=Ext", "--set", "email_address_1=ext@localhost"], None);
    let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    let senders = [first.clone(), second.clone()];
    rt.block_on(async {
        let e = serversync::Engine::open(serversync::EngineConfig::new(data)).await.unwrap_or_else(|e| panic!("{e}"));
        for i in 0..EMAILS {
            let from: i64 = senders[i % 2].parse().unwrap_or_default();
            let email = serversync::api::SendEmail {
                from_mailbox_id: serversync::api::MailboxId(from),
                to: vec![serversync::api::Recipient { record: None, address: Some("ext@localhost".into()) }],
                cc: vec![],
                bcc: vec![],
                subject: format!("Send kill {i:04}"),
                body_text: format!("Email {i} of the run.\n{}", "Lorem ipsum dolor sit amet. ".repeat(i % 40)),
                body_html: String::new(),
                attachments: vec![],
                regarding: None,
                send_after: None,
                in_reply_to: None,
            };
            serversync::api::send_email(&e, email).await.unwrap_or_else(|e| panic!("{e}"));
        }
        e.close().await.unwrap_or_else(|e| panic!("{e}"));
    });
    let db = data.join(serversync::DATABASE_FILE);
    let mut partial = BTreeSet::new();
    // Killed after 1 to 60 more emails are Sent (or at a random time): sending is fast, and a
    // run left alone would send everything before the twentieth kill.
    let sent_so_far = || outgoing_states(&db).0;
    let kills = kill_and_restart(
        data,
        &["mailbox", "send", &first, &second],
        seed(),
        KillAt::Progress { progress: &sent_so_far, at_most: 60 },
        || {
            // An email that ended Failed would never be sent: say which and why at once.
            let failed = failed_emails(&db);
            assert!(failed.is_empty(), "emails ended Failed under the kills: {failed:?}");
            let (sent, _) = outgoing_states(&db);
            if sent > 0 && sent < EMAILS {
                partial.insert(sent);
            }
        },
        || outgoing_states(&db).0 >= EMAILS,
    );
    assert!(kills >= KILLS);
    assert!(partial.len() >= 3, "too few kills interrupted the sending: {partial:?}");
    let want: BTreeSet<String> = (0..EMAILS).map(|i| format!("Send kill {i:04}")).collect();
    // Postfix delivers on its own time: wait until every email has arrived, then once more for
    // any late copy.
    let received = |rt: &tokio::runtime::Runtime| -> Vec<String> {
        rt.block_on(inbox_subjects(&servers, "ext", "ext-pass"))
            .into_iter()
            .filter(|s| s.starts_with("Send kill "))
            .map(|s| s.chars().take(14).collect())
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut got = received(&rt);
    while got.iter().collect::<BTreeSet<_>>().len() < EMAILS && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(500));
        got = received(&rt);
    }
    std::thread::sleep(Duration::from_secs(3));
    got = received(&rt);
    let present: BTreeSet<String> = got.iter().cloned().collect();
    let lost: Vec<&String> = want.difference(&present).collect();
    assert!(lost.is_empty(), "emails that never reached their recipient: {lost:?}");
    let mut counts: std::collections::BTreeMap<&String, usize> = std::collections::BTreeMap::new();
    for s in &got {
        *counts.entry(s).or_default() += 1;
    }
    let twice: Vec<&String> = counts.iter().filter(|(_, n)| **n > 1).map(|(s, _)| *s).collect();
    let (_, flagged) = outgoing_states(&db);
    let uncounted: Vec<&&String> = twice.iter().filter(|s| !flagged.contains(**s)).collect();
    eprintln!(
        "sending under kill -9: {kills} kills, {EMAILS} emails, 0 lost, {} received twice, {} counted as possible duplicates",
        twice.len(),
        flagged.len()
    );
    assert!(uncounted.is_empty(), "received twice but not counted as possible duplicates: {uncounted:?}");
}

/// The same for Exchange Online: `serversync mailbox sync` reading 2,000 messages through Graph's
/// delta query (the next and delta links committed with the activities) is killed at least 20
/// times; every message ends tracked once.
#[test]
fn graph_import_killed_20_times_ends_with_every_message_once() {
    use serversync_tests::graph::GraphServer;
    const TENANT: &str = "6f1d3c1e-2b7a-4c55-9d0e-0a1b2c3d4e5f";
    const CLIENT: &str = "0b8c7d6e-5f4a-4b3c-8d2e-1f0a9b8c7d6e";
    let servers = MailServers::start(&[("alice", "alice-pass")]);
    let graph = GraphServer::start(&servers);
    graph.add_app(TENANT, CLIENT, Some("kill-secret"), None, &["*"]);
    graph.add_user("kill@contoso.test", true, true);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path();
    let base = graph.base_url();
    let sets = [
        format!("tenant_id={TENANT}"),
        format!("oauth_client_id={CLIENT}"),
        format!("authority_host={base}"),
        format!("graph_endpoint={base}"),
        format!("ca_file={}", servers.ca_file()),
    ];
    let mailbox = exchange_setup(data, "exchange-online", &sets, "oauth-secret", "kill-secret");
    for i in 0..MESSAGES {
        graph.deliver("kill@contoso.test", &message(i, "kill@contoso.test"));
    }
    import_survives_kills(data, &mailbox);
    assert_eq!(graph.violations().as_array().map(Vec::len), Some(0), "{:#}", graph.violations());
}

/// The same for Exchange Server: SyncFolderItems and GetItem through EWS, with a service account
/// signing in with NTLM and acting for the mailbox; the SyncState is committed with the activities.
#[test]
fn ews_import_killed_20_times_ends_with_every_message_once() {
    use serversync_tests::ews::EwsServer;
    let servers = MailServers::start(&[("alice", "alice-pass")]);
    let ews = EwsServer::start(&servers);
    ews.add_user("svc@contoso.test", "svc-pass", true);
    ews.add_user("kill@contoso.test", "kill-pass", false);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path();
    let url = ews.ews_url();
    let sets = [
        "use_autodiscover=false".to_owned(),
        format!("incoming_location={url}"),
        format!("outgoing_location={url}"),
        "incoming_credential_mode=profile".to_owned(),
        "incoming_user_name=svc@contoso.test".to_owned(),
        "incoming_use_impersonation=true".to_owned(),
        "incoming_auth_protocol=ntlm".to_owned(),
        format!("ca_file={}", servers.ca_file()),
    ];
    let mailbox = exchange_setup(data, "exchange-server", &sets, "incoming-password", "svc-pass");
    for i in 0..MESSAGES {
        ews.deliver("kill@contoso.test", &message(i, "kill@contoso.test"));
    }
    import_survives_kills(data, &mailbox);
    assert_eq!(ews.violations().as_array().map(Vec::len), Some(0), "{:#}", ews.violations());
}

/// Runs the import of [`MESSAGES`] messages into `mailbox`, killed at least [`KILLS`] times, and
/// checks that every message ends tracked once.
fn import_survives_kills(data: &Path, mailbox: &str) {
    let db = data.join(serversync::DATABASE_FILE);
    let count = || tracked_ids(&db).iter().filter(|i| i.starts_with("<kill-")).count();
    let mut partial = BTreeSet::new();
    let kills = kill_and_restart(
        data,
        &["mailbox", "sync", mailbox, "--limit", "200"],
        seed(),
        KillAt::Time,
        || {
            let n = count();
            if n > 0 && n < MESSAGES {
                partial.insert(n);
            }
        },
        || count() >= MESSAGES,
    );
    assert!(kills >= KILLS);
    assert!(partial.len() >= 3, "too few kills interrupted the import: {partial:?}");
    let ids = tracked_ids(&db);
    let imported: Vec<&String> = ids.iter().filter(|i| i.starts_with("<kill-")).collect();
    let distinct: BTreeSet<&String> = imported.iter().copied().collect();
    assert_eq!(distinct.len(), MESSAGES, "lost messages");
    assert_eq!(imported.len(), MESSAGES, "duplicated messages");
}

/// A data directory with the default Exchange profile of `kind` (`--set` pairs `sets`, its
/// secret `secret_kind` = `secret`) and the user `kill@contoso.test` tracking all email, tested
/// and enabled; returns the mailbox id.
fn exchange_setup(data: &Path, kind: &str, sets: &[String], secret_kind: &str, secret: &str) -> String {
    let mut args = vec!["profile", "create", "--type", kind, "--name", "Exchange", "--default"];
    for s in sets {
        args.extend(["--set", s.as_str()]);
    }
    let profile = cli_json(data, &args, None)["id"].to_string();
    cli_json(data, &["profile", "set-secret", &profile, "--kind", secret_kind, "--password-stdin"], Some(secret));
    let u = cli_json(data, &["user", "create", "--name", "kill", "--email", "kill@contoso.test"], None);
    cli_json(data, &["user", "update", &u["id"].to_string(), "--set", "incoming_filtering_method=all_email"], None);
    let mailbox = u["mailbox_id"].to_string();
    cli_json(data, &["mailbox", "approve", &mailbox], None);
    cli_json(data, &["mailbox", "test-enable", &mailbox], None);
    mailbox
}
