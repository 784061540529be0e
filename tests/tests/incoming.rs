//! Incoming email against the real Dovecot (IMAP and POP3) of tests/servers: messages delivered
//! over LMTP to users and queues with different filtering methods become exactly the activities,
//! parties, regarding and correlation methods the rules say.

use base64::Engine as _;
use serversync::Engine;
use serversync::api::{
    self, ContactChanges, CorrelationMethod, CreateQueue, EmailActivityFilter, EmailEntity, FilteringMethod,
    ItemResult, MailboxId, ProfileChanges, ProfileId, RecordRef, SyncRequest, SyncScope,
};
use serversync::protocol::TEST_MESSAGE_SUBJECT;
use serversync::secrets::Secret;
use serversync::{Lang, Result};
use serversync_tests::mail::{MailServers, append, deliver, folder_count, wait_for_subject};
use serversync_tests::memory_engine;
use serversync_tests::setup::{Sides, mailbox, ok, profile, sync_methods, test_and_enable, user_filter};
use std::sync::Arc;

const USERS: &[(&str, &str)] =
    &[("nancy", "nancy-pass"), ("carol", "carol-pass"), ("support", "support-pass"), ("sales", "sales-pass")];

fn msg(from: &str, to: &str, cc: &str, subject: &str, id: &str, extra: &str, body: &str) -> Vec<u8> {
    let cc = if cc.is_empty() { String::new() } else { format!("Cc: {cc}\r\n") };
    format!(
        "From: {from}\r\nTo: {to}\r\n{cc}Subject: {subject}\r\nMessage-ID: <{id}>\r\nDate: Thu, 03 Dec 2026 10:00:00 +0000\r\n\
{extra}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// A queue with a mailbox that signs in as `user`, through `profile`.
async fn queue(e: &Engine, p: ProfileId, user: &str, pass: &str, filter: FilteringMethod) -> MailboxId {
    let q = ok(api::create_queue(
        e,
        CreateQueue {
            name: user.into(),
            email_address: format!("{user}@localhost"),
            owner_user_id: None,
            incoming_filtering_method: Some(filter),
        },
    )
    .await);
    let id = q.mailbox_id.unwrap_or_else(|| panic!("the queue has no mailbox"));
    ok(api::update_mailbox(e, id, sync_methods(p)).await);
    ok(api::set_mailbox_credentials(e, id, user.into(), Secret::new(pass)).await);
    ok(api::approve_mailboxes(e, vec![id], None).await);
    id
}

async fn sync(e: &Engine, ids: Vec<MailboxId>, preview: bool) -> Vec<api::MailboxSync> {
    let r = api::sync_mailboxes(
        e,
        SyncScope::Mailboxes(ids),
        SyncRequest { preview, max_messages: None },
        Lang::En,
        Arc::new(|_| {}),
    )
    .await;
    let results = ok(r);
    for r in &results {
        assert!(r.error.is_none(), "{} failed: {:?}", r.mailbox_name, r.error);
    }
    results
}

async fn activities(e: &Engine) -> Vec<api::EmailActivityRow> {
    ok(api::list_email_activities(e, EmailActivityFilter::default(), 0, 1000).await).rows
}

async fn by_subject(e: &Engine, subject: &str) -> api::EmailActivityDetail {
    let rows = activities(e).await;
    let matching: Vec<_> = rows.iter().filter(|r| r.subject == subject).collect();
    assert_eq!(matching.len(), 1, "{subject}: {:?}", rows.iter().map(|r| &r.subject).collect::<Vec<_>>());
    ok(api::get_email_activity(e, matching[0].id).await)
}

#[tokio::test]
async fn imap_mail_becomes_the_activities_the_rules_say() -> Result<()> {
    let servers = MailServers::start(USERS);
    let (e, _, _d) = memory_engine().await;
    let p =
        profile(&e, "Dovecot", &Sides::imaps_and_submission(&servers), &servers.ca_file(), ProfileChanges::default())
            .await;
    let nancy = mailbox(&e, p, "nancy", "nancy-pass", true).await;
    let carol = mailbox(&e, p, "carol", "carol-pass", true).await;
    let support = queue(&e, p, "support", "support-pass", FilteringMethod::AllEmail).await;
    let sales = queue(&e, p, "sales", "sales-pass", FilteringMethod::ResponsesToCrmEmail).await;
    let nancy_user = user_filter(&e, nancy, FilteringMethod::ResponsesToCrmEmail).await;
    let carol_user = user_filter(&e, carol, FilteringMethod::FromLeadsContactsAccounts).await;
    let yui = ok(api::create_contact(
        &e,
        ContactChanges {
            first_name: Some("Yui".into()),
            last_name: Some("Nakamura".into()),
            email_address_1: Some("yui@fabrikam.com".into()),
            owner_user_id: Some(Some(carol_user)),
            ..Default::default()
        },
    )
    .await);
    let all = vec![nancy, carol, support, sales];
    let job = test_and_enable(&e, all.clone()).await;
    assert!(job.items.iter().all(|i| i.error_code.is_empty()), "{job:?}");
    // Test & Enable's own messages reach each Inbox; a first cycle takes them in.
    for (u, pw) in USERS {
        assert!(wait_for_subject(&servers, u, pw, TEST_MESSAGE_SUBJECT).await);
    }
    sync(&e, all.clone(), false).await;
    let baseline = activities(&e).await.len();

    // 1. One message to Nancy (responses only) with the Support queue (all email) on Cc: the queue
    //    accepts; one activity although two mailboxes receive it; a queue item for Support.
    let first = msg(
        "Yui Nakamura <yui@fabrikam.com>",
        "nancy@localhost",
        "support@localhost",
        "Order status CRM:0001002",
        "order-1@fabrikam.com",
        "",
        "Bonjour, où en est ma commande ?",
    );
    deliver(&servers, "yui@fabrikam.com", &["nancy@localhost", "support@localhost"], &first);
    // 2. A stranger writes to Nancy: not a response to anything tracked, not tracked.
    deliver(
        &servers,
        "stranger@example.org",
        &["nancy@localhost"],
        &msg("stranger@example.org", "nancy@localhost", "", "Hello", "hello-1@example.org", "", "Hi Nancy"),
    );
    // 3. Carol takes mail from contacts only: Yui's is tracked, the stranger's is not.
    deliver(
        &servers,
        "yui@fabrikam.com",
        &["carol@localhost"],
        &msg(
            "yui@fabrikam.com",
            "carol@localhost",
            "",
            "Quote request",
            "quote-1@fabrikam.com",
            "",
            "見積もりをお願いします",
        ),
    );
    deliver(
        &servers,
        "stranger@example.org",
        &["carol@localhost"],
        &msg("stranger@example.org", "carol@localhost", "", "Cold call", "cold-1@example.org", "", "Buy now"),
    );
    let r = sync(&e, all.clone(), false).await;
    let first_id = by_subject(&e, "Order status CRM:0001002").await;
    assert_eq!(
        first_id.accepting.map(|a| (a.entity, a.id)),
        Some((EmailEntity::Queue, ok(api::get_mailbox(&e, support).await).mailbox.queue_id.map_or(0, |q| q.0)))
    );
    assert_eq!(first_id.accepting_filter, Some(FilteringMethod::AllEmail));
    assert_eq!(first_id.receipts.len(), 2, "received by Nancy and Support: {:?}", first_id.receipts);
    assert_eq!(first_id.queue_ids.len(), 1);
    assert_eq!(first_id.tracking_token, "CRM:0001002");
    let from = first_id.parties.iter().find(|p| p.party.role == api::PartyRole::From).map(|p| p.party.record.clone());
    assert_eq!(
        from,
        Some(Some(RecordRef { entity: EmailEntity::Contact, id: yui.id.0 })),
        "the sender is Yui's contact"
    );
    assert_eq!(
        first_id.owner_user_id,
        Some(nancy_user),
        "the first recipient's owner (Yui's owner Carol is not a recipient)"
    );
    let nancy_report =
        r.iter().find(|m| m.mailbox_id == nancy).and_then(|m| m.report.clone()).unwrap_or_else(|| panic!("no report"));
    let hello = nancy_report
        .items
        .iter()
        .find(|i| i.subject == "Hello")
        .unwrap_or_else(|| panic!("no Hello: {nancy_report:?}"));
    assert_eq!((hello.result, hello.code.as_str()), (ItemResult::Skipped, "sync.item.no_correlation_match"));
    let quote = by_subject(&e, "Quote request").await;
    assert_eq!(quote.accepting_filter, Some(FilteringMethod::FromLeadsContactsAccounts));
    assert_eq!(quote.body_text.trim(), "見積もりをお願いします");
    assert!(activities(&e).await.iter().all(|a| a.subject != "Cold call" && a.subject != "Hello"));
    assert_eq!(activities(&e).await.len(), baseline + 2);

    // 4. The first email is regarding Yui; a reply to it (In-Reply-To) is accepted by Nancy's
    //    "responses" filter, correlated, a child of it, regarding Yui too.
    ok(api::set_email_regarding(&e, first_id.id, Some(RecordRef { entity: EmailEntity::Contact, id: yui.id.0 })).await);
    deliver(
        &servers,
        "yui@fabrikam.com",
        &["nancy@localhost"],
        &msg(
            "yui@fabrikam.com",
            "nancy@localhost",
            "",
            "Re: Order status",
            "reply-1@fabrikam.com",
            "In-Reply-To: <order-1@fabrikam.com>\r\n",
            "Merci",
        ),
    );
    // 5. A message with the tracking token in its subject (and no In-Reply-To) correlates by token.
    deliver(
        &servers,
        "stranger@example.org",
        &["sales@localhost"],
        &msg(
            "stranger@example.org",
            "sales@localhost",
            "",
            "Fwd: about CRM:0001002",
            "fwd-1@example.org",
            "",
            "see below",
        ),
    );
    sync(&e, all.clone(), false).await;
    let reply = by_subject(&e, "Re: Order status").await;
    assert_eq!(reply.correlation_method, CorrelationMethod::InReplyTo);
    assert_eq!(reply.correlated_activity_id, Some(first_id.id));
    assert_eq!(reply.parent_activity_id, Some(first_id.id));
    assert_eq!(reply.regarding, Some(RecordRef { entity: EmailEntity::Contact, id: yui.id.0 }), "regarding copied");
    let fwd = by_subject(&e, "Fwd: about CRM:0001002").await;
    assert_eq!(fwd.correlation_method, CorrelationMethod::TrackingToken);
    assert_eq!(fwd.correlated_activity_id, Some(first_id.id));
    assert_eq!(fwd.parent_activity_id, None, "a token correlation makes no parent");
    assert_eq!(fwd.accepting.map(|a| a.entity), Some(EmailEntity::Queue), "Sales takes responses: it accepted");

    // 6. An HTML email with its logo inline (multipart/related, cid:) and a remote tracking
    //    pixel: the detail shows the logo from the message itself and loads nothing remote.
    let logo: &[u8] = b"\x89PNG\r\n\x1a\n-the-logo-";
    let related = format!(
        "From: yui@fabrikam.com\r\nTo: support@localhost\r\nSubject: Our new logo\r\nMessage-ID: <logo-1@fabrikam.com>\r\n\
Date: Thu, 03 Dec 2026 11:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=\"rel\"\r\n\r\n\
--rel\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
<p>Here it is:</p><img src=\"cid:logo@fabrikam.com\" alt=\"logo\"><img src=\"https://tracker.example/p.gif\">\r\n\
--rel\r\nContent-Type: image/png\r\nContent-ID: <logo@fabrikam.com>\r\nContent-Transfer-Encoding: base64\r\n\
Content-Disposition: inline; filename=\"logo.png\"\r\n\r\n{}\r\n--rel--\r\n",
        base64::engine::general_purpose::STANDARD.encode(logo)
    );
    deliver(&servers, "yui@fabrikam.com", &["support@localhost"], related.as_bytes());
    sync(&e, vec![support], false).await;
    let with_logo = by_subject(&e, "Our new logo").await;
    let inline = format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(logo));
    assert!(
        with_logo.body_html_safe.contains(&format!("src=\"{inline}\"")),
        "the logo is inline: {}",
        with_logo.body_html_safe
    );
    assert!(
        !with_logo.body_html_safe.contains("cid:") && !with_logo.body_html_safe.contains("tracker.example"),
        "{}",
        with_logo.body_html_safe
    );
    assert_eq!(with_logo.attachments.len(), 1, "the logo is listed with the email: {:?}", with_logo.attachments);

    // A second cycle with nothing new tracks nothing and lists nothing.
    let before = activities(&e).await.len();
    let again = sync(&e, all.clone(), false).await;
    assert!(again.iter().all(|m| m.report.as_ref().is_some_and(|r| r.planned == 0)), "{again:?}");
    assert_eq!(activities(&e).await.len(), before);
    Ok(())
}

#[tokio::test]
async fn a_preview_writes_nothing_and_changes_nothing_on_the_server() -> Result<()> {
    let servers = MailServers::start(&[("carol", "carol-pass")]);
    let (e, _, d) = memory_engine().await;
    let p =
        profile(&e, "Dovecot", &Sides::imaps_and_submission(&servers), &servers.ca_file(), ProfileChanges::default())
            .await;
    let carol = mailbox(&e, p, "carol", "carol-pass", true).await;
    user_filter(&e, carol, FilteringMethod::AllEmail).await;
    for i in 0..3 {
        let m =
            msg("a@example.org", "carol@localhost", "", &format!("Preview {i}"), &format!("p{i}@example.org"), "", "x");
        deliver(&servers, "a@example.org", &["carol@localhost"], &m);
    }
    let db = d.path().join("data").join(serversync::DATABASE_FILE);
    let rows_before = serversync_tests::count_rows(&db, "email_activity");
    let seen_before = servers_flags(&servers).await;
    // Not enabled yet: a preview is still allowed (it is how an administrator checks first).
    let r = sync(&e, vec![carol], true).await;
    let report = r[0].report.clone().unwrap_or_else(|| panic!("no report"));
    assert!(report.preview);
    assert_eq!(report.tracked, 3, "{report:?}");
    assert!(report.items.iter().all(|i| i.accepting_filter == Some(FilteringMethod::AllEmail)));
    assert_eq!(serversync_tests::count_rows(&db, "email_activity"), rows_before);
    assert_eq!(serversync_tests::count_rows(&db, "mailbox_sync_state"), 0, "no cursor written");
    assert_eq!(servers_flags(&servers).await, seen_before, "no flag changed on the server");
    assert_eq!(last_synced(&e, carol).await, None, "a preview is no synchronisation");
    // Apply refuses a mailbox that was not tested and enabled.
    let refused = ok(api::sync_mailboxes(
        &e,
        SyncScope::Mailboxes(vec![carol]),
        SyncRequest::default(),
        Lang::En,
        Arc::new(|_| {}),
    )
    .await);
    assert_eq!(refused[0].error.as_ref().map(|e| e.code.as_str()), Some("mailbox.incoming.not_enabled"));
    Ok(())
}

/// Every message's flags in carol's Inbox.
async fn servers_flags(servers: &MailServers) -> Vec<(u32, Vec<String>)> {
    use serversync::protocol::{Security, Unobserved, imap};
    let ep = serversync_tests::mail::endpoint(servers, "localhost", "IMAPS_PORT", Security::Implicit);
    let mut s = ok(imap::sign_in(&ep, &serversync_tests::mail::password("carol", "carol-pass"), &mut Unobserved).await);
    ok(s.examine("INBOX").await);
    let mut out = Vec::new();
    ok(s.uid_fetch("1:*", false, |m| {
        out.push((m.uid, m.flags));
        Ok(())
    })
    .await);
    let _ = s.logout().await;
    out
}

#[tokio::test]
async fn a_changed_uidvalidity_rescans_without_duplicates_and_a_failed_message_goes_to_undeliverable() -> Result<()> {
    let servers = MailServers::start(&[("carol", "carol-pass")]);
    let (e, _, _d) = memory_engine().await;
    let changes = ProfileChanges { move_failed_to_undeliverable: Some(true), ..Default::default() };
    let p = profile(&e, "Dovecot", &Sides::imaps_and_submission(&servers), &servers.ca_file(), changes).await;
    let carol = mailbox(&e, p, "carol", "carol-pass", true).await;
    user_filter(&e, carol, FilteringMethod::AllEmail).await;
    test_and_enable(&e, vec![carol]).await;
    assert!(wait_for_subject(&servers, "carol", "carol-pass", TEST_MESSAGE_SUBJECT).await);
    for i in 0..5 {
        let m =
            msg("a@example.org", "carol@localhost", "", &format!("Rescan {i}"), &format!("r{i}@example.org"), "", "x");
        deliver(&servers, "a@example.org", &["carol@localhost"], &m);
    }
    // Something that is not a message at all (a client appended garbage): it cannot become an
    // activity; the profile moves such messages to Undeliverable.
    append(&servers, "carol", "carol-pass", "INBOX", b"this is not a message").await;
    let first = sync(&e, vec![carol], false).await;
    let report = first[0].report.clone().unwrap_or_else(|| panic!("no report"));
    assert_eq!((report.tracked, report.failed), (6, 1), "{report:?}");
    assert_eq!(report.moved_to_undeliverable, 1);
    assert_eq!(folder_count(&servers, "carol", "carol-pass", "Undeliverable").await, 1);
    let outcomes = ok(api::list_item_outcomes(&e, Some(carol), 10).await);
    assert_eq!(outcomes.len(), 1);
    assert_eq!((outcomes[0].code.as_str(), outcomes[0].moved_to_undeliverable), ("mail.parse_failed", true));
    let tracked = activities(&e).await.len();

    // The server forgets its UIDs (a rebuilt index): UIDVALIDITY changes, every message is read
    // again, and duplicate detection keeps each one activity.
    let maildir = servers.dir().join("mail/carol/Maildir");
    for entry in std::fs::read_dir(&maildir).unwrap_or_else(|e| panic!("{}: {e}", maildir.display())).flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == "dovecot-uidlist" || name.starts_with("dovecot.index") {
            std::fs::remove_file(entry.path()).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
    let second = sync(&e, vec![carol], false).await;
    let report = second[0].report.clone().unwrap_or_else(|| panic!("no report"));
    assert_eq!(report.rescan, Some(api::Rescan::UidValidityChanged), "{report:?}");
    assert_eq!((report.tracked, report.already_tracked), (0, 6), "{report:?}");
    assert_eq!(activities(&e).await.len(), tracked, "no duplicate");
    Ok(())
}

#[tokio::test]
async fn pop3_deletes_only_tracked_messages_of_queue_mailboxes_after_they_are_committed() -> Result<()> {
    let servers = MailServers::start(&[("support", "support-pass"), ("sales", "sales-pass"), ("carol", "carol-pass")]);
    let (e, _, _d) = memory_engine().await;
    let p =
        profile(&e, "POP3", &Sides::pop3_stls_and_smtps(&servers), &servers.ca_file(), ProfileChanges::default()).await;
    let support = queue(&e, p, "support", "support-pass", FilteringMethod::AllEmail).await;
    let sales = queue(&e, p, "sales", "sales-pass", FilteringMethod::ResponsesToCrmEmail).await;
    let carol = mailbox(&e, p, "carol", "carol-pass", true).await;
    user_filter(&e, carol, FilteringMethod::AllEmail).await;
    let delete = api::MailboxChanges { delete_after_processing: Some(true), ..Default::default() };
    for m in [support, sales] {
        ok(api::update_mailbox(&e, m, delete.clone()).await);
    }
    // A user's mailbox cannot have it (only queue and forward mailboxes).
    assert!(api::update_mailbox(&e, carol, delete.clone()).await.is_err());
    let job = test_and_enable(&e, vec![support, sales, carol]).await;
    assert!(job.items.iter().all(|i| i.error_code.is_empty()), "{job:?}");
    for (u, pw) in [("support", "support-pass"), ("sales", "sales-pass"), ("carol", "carol-pass")] {
        assert!(wait_for_subject(&servers, u, pw, TEST_MESSAGE_SUBJECT).await);
    }
    for (i, to) in ["support@localhost", "sales@localhost", "carol@localhost"].iter().enumerate() {
        for k in 0..2 {
            let m = msg("a@example.org", to, "", &format!("POP {i}.{k}"), &format!("pop-{i}-{k}@example.org"), "", "x");
            deliver(&servers, "a@example.org", &[to], &m);
        }
    }
    let r = sync(&e, vec![support, sales, carol], false).await;
    let report = |id: MailboxId| {
        r.iter()
            .find(|m| m.mailbox_id == id)
            .and_then(|m| m.report.clone())
            .unwrap_or_else(|| panic!("no report for {id}"))
    };
    // Support (a queue that takes all email, Delete after Processing): tracked, then deleted.
    assert_eq!((report(support).tracked, report(support).deleted_from_server), (3, 3), "{:?}", report(support));
    assert_eq!(folder_count(&servers, "support", "support-pass", "INBOX").await, 0);
    // Sales (responses only): nothing tracked, so nothing deleted: the messages stay.
    assert_eq!((report(sales).skipped, report(sales).deleted_from_server), (3, 0), "{:?}", report(sales));
    assert_eq!(folder_count(&servers, "sales", "sales-pass", "INBOX").await, 3);
    // Carol (a user's mailbox): never deleted.
    assert_eq!((report(carol).tracked, report(carol).deleted_from_server), (3, 0), "{:?}", report(carol));
    assert_eq!(folder_count(&servers, "carol", "carol-pass", "INBOX").await, 3);
    // The next cycle reads nothing again: skipped messages are remembered, not re-evaluated.
    let again = sync(&e, vec![support, sales, carol], false).await;
    assert!(again.iter().all(|m| m.report.as_ref().is_some_and(|r| r.planned == 0)), "{again:?}");
    Ok(())
}

#[tokio::test]
async fn a_cycle_capped_at_n_messages_leaves_the_rest_for_the_next_one() -> Result<()> {
    let servers = MailServers::start(&[("carol", "carol-pass")]);
    let (e, _, _d) = memory_engine().await;
    let p =
        profile(&e, "Dovecot", &Sides::imaps_and_submission(&servers), &servers.ca_file(), ProfileChanges::default())
            .await;
    let carol = mailbox(&e, p, "carol", "carol-pass", true).await;
    user_filter(&e, carol, FilteringMethod::AllEmail).await;
    test_and_enable(&e, vec![carol]).await;
    assert!(wait_for_subject(&servers, "carol", "carol-pass", TEST_MESSAGE_SUBJECT).await);
    for i in 0..4 {
        let m =
            msg("a@example.org", "carol@localhost", "", &format!("Capped {i}"), &format!("c{i}@example.org"), "", "x");
        deliver(&servers, "a@example.org", &["carol@localhost"], &m);
    }
    let started = chrono::Utc::now();
    let mut tracked = Vec::new();
    for _ in 0..4 {
        let r = ok(api::sync_mailboxes(
            &e,
            SyncScope::Mailboxes(vec![carol]),
            SyncRequest { preview: false, max_messages: Some(2) },
            Lang::En,
            Arc::new(|_| {}),
        )
        .await);
        tracked.push(r[0].report.as_ref().map_or(0, |r| r.tracked));
    }
    assert_eq!(tracked, vec![2, 2, 1, 0], "five messages (Test & Enable's and four) in cycles of two");
    assert_eq!(activities(&e).await.len(), 5);
    // The Mailboxes grid says when the mailbox was last synchronised.
    assert!(last_synced(&e, carol).await.is_some_and(|t| t >= started), "{:?}", last_synced(&e, carol).await);
    Ok(())
}

/// The "last synchronised" of a mailbox's row in the Mailboxes grid.
async fn last_synced(e: &Engine, id: MailboxId) -> Option<chrono::DateTime<chrono::Utc>> {
    let page = ok(api::list_mailbox_page(e, Default::default(), Default::default(), 0, 1000).await);
    page.rows.into_iter().find(|r| r.mailbox.mailbox.id == id).and_then(|r| r.last_synced_on)
}
