//! The corpus of hard, real-world-shaped messages (tests/fixtures/mail/corpus): every one parses
//! to its expected subject and text, and the whole corpus goes through an IMAP import against the
//! real Dovecot with no panic and the same subjects and bodies in the activities.

use serde_json::Value;
use serversync::api::{self, EmailActivityFilter, FilteringMethod, ProfileChanges, SyncRequest, SyncScope};
use serversync::sync::inbound::parse;
use serversync::{Lang, Result};
use serversync_tests::mail::{MailServers, append};
use serversync_tests::memory_engine;
use serversync_tests::setup::{Sides, mailbox, ok, profile, test_and_enable, user_filter};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/mail/corpus")
}

/// One message of the corpus with what it must give.
struct Case {
    file: String,
    subject: String,
    text: Vec<String>,
    message_id: Option<String>,
    attachments: usize,
    raw: Vec<u8>,
}

/// The corpus; the generated 40 MiB message is written into `scratch` by the corpus's own
/// generator.
fn cases(scratch: &Path) -> Vec<Case> {
    let expected: Vec<Value> = serde_json::from_slice(
        &std::fs::read(corpus_dir().join("expected.json")).unwrap_or_else(|e| panic!("expected.json: {e}")),
    )
    .unwrap_or_else(|e| panic!("expected.json: {e}"));
    expected
        .iter()
        .map(|v| {
            let file = v["file"].as_str().unwrap_or_default().to_owned();
            let raw = if let Some(name) = file.strip_prefix("generated:") {
                let path = scratch.join(format!("{name}.eml"));
                let status = std::process::Command::new("python3")
                    .arg(corpus_dir().join("generate.py"))
                    .arg("--big")
                    .arg(&path)
                    .current_dir(corpus_dir())
                    .status()
                    .unwrap_or_else(|e| panic!("generate.py: {e}"));
                assert!(status.success(), "generate.py --big failed");
                std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            } else {
                std::fs::read(corpus_dir().join(&file)).unwrap_or_else(|e| panic!("{file}: {e}"))
            };
            Case {
                subject: v["subject"].as_str().unwrap_or_default().to_owned(),
                text: v["text"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
                    .unwrap_or_default(),
                message_id: v["message_id"].as_str().map(str::to_owned),
                attachments: v["attachments"].as_u64().unwrap_or(0) as usize,
                file,
                raw,
            }
        })
        .collect()
}

/// Every line end as CRLF.
fn crlf(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 20);
    for (i, &b) in raw.iter().enumerate() {
        if b == b'\n' && (i == 0 || raw[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

fn normalize(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    s.nfc().collect::<String>().replace("\r\n", "\n")
}

/// What differs between a case and what was obtained from it (empty: nothing).
fn differences(c: &Case, subject: &str, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    if normalize(subject.trim()) != normalize(&c.subject) {
        out.push(format!("{}: subject {:?}, expected {:?}", c.file, subject, c.subject));
    }
    let text = normalize(text);
    for snippet in &c.text {
        if !text.contains(&normalize(snippet)) {
            out.push(format!("{}: text lacks {:?}", c.file, snippet));
        }
    }
    out
}

#[test]
fn every_message_of_the_corpus_parses_to_its_subject_text_and_attachments() {
    let scratch = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cases = cases(scratch.path());
    assert!(cases.len() >= 40, "the corpus lost messages: {}", cases.len());
    let mut problems = Vec::new();
    for c in &cases {
        match parse::parse(&c.raw) {
            Ok(p) => {
                problems.extend(differences(c, &p.subject, &p.text));
                let id = p.message_id.as_ref().map(|id| format!("<{id}>"));
                if id != c.message_id {
                    problems.push(format!("{}: Message-ID {id:?}, expected {:?}", c.file, c.message_id));
                }
                if p.attachments.len() != c.attachments {
                    problems.push(format!(
                        "{}: {} attachments ({:?}), expected {}",
                        c.file,
                        p.attachments.len(),
                        p.attachments.iter().map(|a| &a.file_name).collect::<Vec<_>>(),
                        c.attachments
                    ));
                }
            }
            Err(e) => problems.push(format!("{}: refused: {e}", c.file)),
        }
    }
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
}

/// The parser does not decode attachment contents (it counts their decoded size): every message
/// of the corpus, as stored and with CRLF line ends, gives exactly what decoding every part gives.
#[test]
fn skipping_attachment_decoding_changes_nothing_the_corpus_gives() {
    let scratch = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut compared = 0;
    let mut attachments = 0;
    for c in cases(scratch.path()) {
        for raw in [c.raw.clone(), crlf(&c.raw)] {
            let fast = parse::parse(&raw).map_err(|e| e.code().to_owned());
            let exact = parse::parse_decoding_attachments(&raw).map_err(|e| e.code().to_owned());
            assert_eq!(fast, exact, "{}", c.file);
            attachments += fast.map(|p| p.attachments.len()).unwrap_or_default();
            compared += 1;
        }
    }
    assert!(compared >= 80 && attachments >= 20, "{compared} messages, {attachments} attachments compared");
}

#[tokio::test]
async fn the_corpus_goes_through_an_imap_import_with_its_subjects_and_bodies() -> Result<()> {
    let scratch = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cases = cases(scratch.path());
    let servers = MailServers::start(&[("corpus", "corpus-pass")]);
    let (e, _, _d) = memory_engine().await;
    let p =
        profile(&e, "Dovecot", &Sides::imaps_and_submission(&servers), &servers.ca_file(), ProfileChanges::default())
            .await;
    let m = mailbox(&e, p, "corpus", "corpus-pass", true).await;
    user_filter(&e, m, FilteringMethod::AllEmail).await;
    // The largest attachment the organisation accepts, so the 40 MiB one is kept.
    ok(api::update_settings(&e, api::SettingsChanges { max_attachment_size_kb: Some(131_072), ..Default::default() })
        .await);
    test_and_enable(&e, vec![m]).await;
    for c in &cases {
        append(&servers, "corpus", "corpus-pass", "INBOX", &c.raw).await;
    }
    let results =
        ok(api::sync_mailboxes(&e, SyncScope::Mailboxes(vec![m]), SyncRequest::default(), Lang::En, Arc::new(|_| {}))
            .await);
    let report = results[0].report.clone().unwrap_or_else(|| panic!("{:?}", results[0].error));
    assert_eq!(
        report.failed,
        0,
        "{:?}",
        report.items.iter().filter(|i| i.result == api::ItemResult::Failed).collect::<Vec<_>>()
    );
    // Two messages share one Message-ID: the second is the first's duplicate.
    let dup_ids = cases.iter().filter_map(|c| c.message_id.clone()).collect::<Vec<_>>();
    let unique: std::collections::BTreeSet<_> = dup_ids.iter().collect();
    let duplicates = dup_ids.len() - unique.len();
    assert!(duplicates >= 1, "the corpus has a duplicate Message-ID");
    assert_eq!(report.already_tracked as usize, duplicates, "{report:?}");
    let rows = ok(api::list_email_activities(&e, EmailActivityFilter::default(), 0, 1000).await).rows;
    let mut problems = Vec::new();
    let mut seen_ids = std::collections::BTreeSet::new();
    for c in &cases {
        if let Some(id) = &c.message_id
            && !seen_ids.insert(id.clone())
        {
            continue; // the duplicate: no activity of its own
        }
        let Some(row) = rows.iter().find(|r| normalize(r.subject.trim()) == normalize(&c.subject)) else {
            problems.push(format!("{}: no activity with subject {:?}", c.file, c.subject));
            continue;
        };
        let detail = ok(api::get_email_activity(&e, row.id).await);
        problems.extend(differences(c, &detail.subject, &detail.body_text));
        if detail.attachments.len() != c.attachments {
            problems.push(format!("{}: {} attachments, expected {}", c.file, detail.attachments.len(), c.attachments));
        }
        // "Download .eml" gives the original back, byte for byte (a server that stores bare-LF
        // lines hands them out with CRLF, as IMAP requires).
        let raw = ok(api::email_raw(&e, row.id).await);
        if raw != c.raw && raw != crlf(&c.raw) {
            problems.push(format!(
                "{}: the original came back changed ({} bytes for {})",
                c.file,
                raw.len(),
                c.raw.len()
            ));
        }
    }
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
    Ok(())
}
