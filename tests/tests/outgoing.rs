//! Outgoing email against the real Postfix and Dovecot: emails written through the API are sent,
//! reach their recipients and the sender's Sent folder, end Sent with a tracking token; a reply is
//! tracked and correlated with the regarding copied; an email left Sending by a crash is looked up
//! in the Sent folder before it is sent again, never sent twice.

use serversync::Engine;
use serversync::api::{
    self, ContactChanges, CorrelationMethod, EmailEntity, EmailStatus, FilteringMethod, MailboxId, ProfileChanges,
    Recipient, RecordRef, SendEmail, SyncRequest, SyncScope,
};
use serversync::{Lang, Result};
use serversync_tests::mail::{MailServers, deliver, folder_count, inbox_subjects, wait_for_subject};
use serversync_tests::memory_engine;
use serversync_tests::setup::{Sides, mailbox, ok, profile, test_and_enable, user_filter, within};
use std::path::Path;
use std::sync::Arc;

fn to(address: &str) -> Recipient {
    Recipient { record: None, address: Some(address.into()) }
}

fn email(from: MailboxId, recipient: Recipient, subject: &str) -> SendEmail {
    SendEmail {
        from_mailbox_id: from,
        to: vec![recipient],
        cc: vec![],
        bcc: vec![],
        subject: subject.into(),
        body_text: format!("{subject}: bonjour"),
        body_html: String::new(),
        attachments: vec![],
        regarding: None,
        send_after: None,
        in_reply_to: None,
    }
}

async fn send_now(e: &Engine, id: MailboxId) -> api::MailboxSend {
    let r = ok(api::send_pending(e, vec![id], Lang::En).await).remove(0);
    assert!(r.error.is_none(), "{:?}", r.error);
    r
}

/// Sets an email back to Sending, as a run that died mid-try would have left it.
fn left_sending(db: &Path, id: api::ActivityId) {
    let c = rusqlite::Connection::open(db).unwrap_or_else(|e| panic!("{e}"));
    c.busy_timeout(std::time::Duration::from_secs(10)).unwrap_or_else(|e| panic!("{e}"));
    c.execute(
        "UPDATE email_activity SET status = 'sending', sending_since = '2000-01-01 00:00:00+00:00' WHERE id = ?1",
        [id.0],
    )
    .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn emails_are_sent_saved_in_sent_and_a_reply_is_correlated() -> Result<()> {
    let servers = MailServers::start(&[("alice", "alice-pass"), ("ext", "ext-pass")]);
    let (e, _, d) = memory_engine().await;
    let p =
        profile(&e, "Dovecot", &Sides::imaps_and_submission(&servers), &servers.ca_file(), ProfileChanges::default())
            .await;
    let alice = mailbox(&e, p, "alice", "alice-pass", true).await;
    user_filter(&e, alice, FilteringMethod::ResponsesToCrmEmail).await;
    let ext = ok(api::create_contact(
        &e,
        ContactChanges {
            last_name: Some("External".into()),
            email_address_1: Some("ext@localhost".into()),
            ..Default::default()
        },
    )
    .await);
    test_and_enable(&e, vec![alice]).await;
    let db = d.path().join("data").join(serversync::DATABASE_FILE);

    let mut first = email(alice, to("ext@localhost"), "Quote");
    first.regarding = Some(RecordRef { entity: EmailEntity::Contact, id: ext.id.0 });
    let first = ok(api::send_email(&e, first).await);
    assert_eq!(first.status, EmailStatus::PendingSend);
    assert!(first.subject.starts_with("Quote CRM:0"), "the tracking token is in the subject: {}", first.subject);
    let to_party = first.parties.iter().find(|p| p.party.role == api::PartyRole::To).map(|p| p.party.record.clone());
    assert_eq!(
        to_party,
        Some(Some(RecordRef { entity: EmailEntity::Contact, id: ext.id.0 })),
        "resolved to the contact"
    );
    for i in 1..5 {
        ok(api::send_email(&e, email(alice, to("ext@localhost"), &format!("Update {i}"))).await);
    }
    // Send Later: not before tomorrow.
    let mut later = email(alice, to("ext@localhost"), "Tomorrow");
    later.send_after = Some(chrono::Utc::now() + chrono::Duration::days(1));
    let later = ok(api::send_email(&e, later).await);

    let r = send_now(&e, alice).await;
    assert_eq!((r.sent, r.failed, r.copied_to_sent), (5, 0, 5), "{r:?}");
    assert!(wait_for_subject(&servers, "ext", "ext-pass", &first.subject).await, "the recipient got it");
    assert_eq!(folder_count(&servers, "alice", "alice-pass", "Sent").await, 5, "saved in the Sent folder");
    assert_eq!(ok(api::get_email_activity(&e, first.id).await).status, EmailStatus::Sent);
    assert_eq!(ok(api::get_email_activity(&e, later.id).await).status, EmailStatus::PendingSend, "Send Later waits");
    let outbox = ok(api::list_outbox(&e, None, 100).await);
    assert_eq!(outbox.iter().map(|r| r.id).collect::<Vec<_>>(), vec![later.id], "only the later one is left");

    // The recipient answers the first email: the reply is tracked, correlated, regarding copied.
    let reply = format!(
        "From: ext@localhost\r\nTo: alice@localhost\r\nSubject: Re: {}\r\nMessage-ID: <reply-1@localhost>\r\n\
In-Reply-To: {}\r\nReferences: {}\r\n\r\nMerci, c'est parfait.\r\n",
        first.subject, first.message_id, first.message_id
    );
    deliver(&servers, "ext@localhost", &["alice@localhost"], reply.as_bytes());
    let synced = ok(api::sync_mailboxes(
        &e,
        SyncScope::Mailboxes(vec![alice]),
        SyncRequest::default(),
        Lang::En,
        Arc::new(|_| {}),
    )
    .await);
    assert!(synced[0].error.is_none(), "{:?}", synced[0].error);
    let rows = ok(api::list_email_activities(&e, api::EmailActivityFilter::default(), 0, 100).await).rows;
    let tracked = rows
        .iter()
        .find(|r| r.subject.starts_with("Re: Quote"))
        .unwrap_or_else(|| panic!("reply not tracked: {rows:?}"));
    let tracked = ok(api::get_email_activity(&e, tracked.id).await);
    assert_eq!(tracked.correlation_method, CorrelationMethod::InReplyTo);
    assert_eq!(tracked.correlated_activity_id, Some(first.id));
    assert_eq!(tracked.regarding, Some(RecordRef { entity: EmailEntity::Contact, id: ext.id.0 }));

    // A crash after "Sending" was committed: the email is in the Sent folder (its copy is saved
    // as soon as the server accepts it), so it is not sent again; one that is not there is sent
    // again, and counted as a possible duplicate since it may have left just before the crash.
    left_sending(&db, first.id);
    let unsent = ok(api::send_email(&e, email(alice, to("ext@localhost"), "Never left")).await);
    left_sending(&db, unsent.id);
    // The five sent above all reach the Inbox (through Postfix's queue) before it is counted.
    let arrived = within(30, || async { inbox_subjects(&servers, "ext", "ext-pass").await.len() >= 5 }).await;
    assert!(arrived.is_some(), "the five reached the recipient");
    let before = inbox_subjects(&servers, "ext", "ext-pass").await.len();
    let r = send_now(&e, alice).await;
    assert_eq!((r.found_sent, r.sent, r.possible_duplicates), (1, 1, 1), "{r:?}");
    let flagged: i64 = rusqlite::Connection::open(&db)
        .and_then(|c| {
            c.query_row("SELECT possible_duplicate FROM email_activity WHERE id = ?1", [unsent.id.0], |r| r.get(0))
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(flagged, 1, "the email carries the mark");
    assert!(
        wait_for_subject(&servers, "ext", "ext-pass", &ok(api::get_email_activity(&e, unsent.id).await).subject).await
    );
    let after = inbox_subjects(&servers, "ext", "ext-pass").await;
    assert_eq!(after.len(), before + 1, "nothing was sent twice: {after:?}");
    assert_eq!(after.iter().filter(|s| **s == first.subject).count(), 1);
    Ok(())
}

#[tokio::test]
async fn a_mailbox_that_may_not_send_leaves_its_email_pending_and_says_why() -> Result<()> {
    let servers = MailServers::start(&[("alice", "alice-pass")]);
    let (e, _, _d) = memory_engine().await;
    let p =
        profile(&e, "Dovecot", &Sides::imaps_and_submission(&servers), &servers.ca_file(), ProfileChanges::default())
            .await;
    let alice = mailbox(&e, p, "alice", "alice-pass", true).await;
    ok(api::create_contact(
        &e,
        ContactChanges {
            last_name: Some("Someone".into()),
            email_address_1: Some("someone@localhost".into()),
            ..Default::default()
        },
    )
    .await);
    // An address no record has is refused unless the organisation allows unresolved recipients.
    let unknown = api::send_email(&e, email(alice, to("nobody@example.org"), "Unknown")).await;
    assert_eq!(unknown.err().map(|e| e.code()), Some("email.recipient.unresolved"));
    // Not tested and enabled: nothing leaves.
    let waiting = ok(api::send_email(&e, email(alice, to("someone@localhost"), "Waiting")).await);
    let r = ok(api::send_pending(&e, vec![alice], Lang::En).await).remove(0);
    assert_eq!(r.error.as_ref().map(|e| e.code.as_str()), Some("mailbox.outgoing.not_enabled"));
    let row = ok(api::list_outbox(&e, None, 10).await).into_iter().find(|r| r.id == waiting.id);
    let row = row.unwrap_or_else(|| panic!("not in the outbox"));
    assert_eq!((row.status, row.last_error_code.as_str()), (EmailStatus::PendingSend, "mailbox.outgoing.not_enabled"));
    // Nonsense is refused whole, and nothing is written.
    let mut bad = email(alice, to("not an address"), "Bad");
    let refused = api::send_email(&e, bad.clone()).await.err().map(|e| e.code());
    assert_eq!(refused, Some("field.not_an_email"));
    bad.to = vec![];
    assert_eq!(api::send_email(&e, bad).await.err().map(|e| e.code()), Some("email.recipient.none"));
    let mut blocked = email(alice, to("someone@localhost"), "Blocked");
    blocked.attachments = vec![api::OutgoingAttachment {
        file_name: "setup.exe".into(),
        mime_type: String::new(),
        content_base64: "TVo=".into(),
    }];
    assert_eq!(api::send_email(&e, blocked).await.err().map(|e| e.code()), Some("attachment.blocked"));
    assert_eq!(ok(api::list_outbox(&e, None, 10).await).len(), 1, "only the waiting email");
    // The Outbox grid's page of Pending Send, and the count of each tab.
    let page = ok(api::list_outbox_page(&e, Some(EmailStatus::PendingSend), 0, 10).await);
    assert_eq!(page.rows.iter().map(|r| r.id).collect::<Vec<_>>(), vec![waiting.id]);
    assert_eq!(page.total, 1);
    assert_eq!((page.counts.pending_send, page.counts.sending, page.counts.failed), (1, 0, 0));
    let failed = ok(api::list_outbox_page(&e, Some(EmailStatus::Failed), 0, 10).await);
    assert_eq!((failed.rows.len(), failed.total, failed.counts.pending_send), (0, 0, 1));
    Ok(())
}

/// Within one cycle, an email whose recipient the server refuses for now (4xx at RCPT) stays
/// Pending Send with that reason, one refused for good (5xx) is Failed with its reason, and the
/// others are sent over the same connection; the end of the cycle leaves each reason as it is.
#[tokio::test]
async fn each_email_keeps_its_own_refusal_and_the_others_are_sent() -> Result<()> {
    let servers = MailServers::start(&[("alice", "alice-pass"), ("ext", "ext-pass")]);
    let (e, _, _d) = memory_engine().await;
    let p =
        profile(&e, "Dovecot", &Sides::imaps_and_submission(&servers), &servers.ca_file(), ProfileChanges::default())
            .await;
    let alice = mailbox(&e, p, "alice", "alice-pass", true).await;
    for (name, address) in [("Ext", "ext@localhost"), ("Later", "deferred@localhost"), ("Never", "refused@localhost")] {
        ok(api::create_contact(
            &e,
            ContactChanges {
                last_name: Some(name.into()),
                email_address_1: Some(address.into()),
                ..Default::default()
            },
        )
        .await);
    }
    test_and_enable(&e, vec![alice]).await;
    let first = ok(api::send_email(&e, email(alice, to("ext@localhost"), "Before")).await);
    let later = ok(api::send_email(&e, email(alice, to("deferred@localhost"), "For later")).await);
    let never = ok(api::send_email(&e, email(alice, to("refused@localhost"), "Never")).await);
    let last = ok(api::send_email(&e, email(alice, to("ext@localhost"), "After")).await);
    let r = send_now(&e, alice).await;
    assert_eq!((r.sent, r.failed, r.retried_later), (2, 1, 1), "{r:?}");
    for id in [first.id, last.id] {
        assert_eq!(ok(api::get_email_activity(&e, id).await).status, EmailStatus::Sent);
    }
    let outbox = ok(api::list_outbox(&e, None, 10).await);
    let row = |id| outbox.iter().find(|r| r.id == id).unwrap_or_else(|| panic!("{id:?} not in the outbox: {outbox:?}"));
    assert_eq!(
        (row(later.id).status, row(later.id).last_error_code.as_str()),
        (EmailStatus::PendingSend, "mail.server_busy")
    );
    assert_eq!(
        (row(never.id).status, row(never.id).last_error_code.as_str()),
        (EmailStatus::Failed, "mail.server_refused")
    );
    assert!(row(never.id).last_error_params.get("reply").is_some_and(|r| r.contains("5.1.1")), "{:?}", row(never.id));
    for id in [first.id, last.id] {
        let subject = ok(api::get_email_activity(&e, id).await).subject;
        assert!(wait_for_subject(&servers, "ext", "ext-pass", &subject).await, "{subject} never arrived");
    }
    Ok(())
}
