//! The usual setup of the tests against real servers: a profile that reaches the loopback
//! servers, users with mailboxes and credentials, a Test & Enable run waited for within a bound.

use crate::mail::MailServers;
use serversync::api::{self, CreateProfile, CreateUser};
use serversync::api::{
    ActMethod, AlertFilter, AlertLevel, IncomingMethod, MailboxChanges, MailboxId, OutgoingMethod, ProfileChanges,
    ProfileId, ServerType, TlsMode,
};
use serversync::secrets::Secret;
use serversync::{Engine, Lang};
use std::time::Duration;

/// The value of `r`, or a panic that shows the error and its detail.
pub fn ok<T>(r: serversync::Result<T>) -> T {
    r.unwrap_or_else(|e| panic!("{e} {:?}", e.detail()))
}

/// How a profile reaches the servers.
#[derive(Debug, Clone, Copy)]
pub struct Sides {
    pub incoming: ServerType,
    pub incoming_port: u16,
    pub incoming_tls: TlsMode,
    pub outgoing_port: u16,
    pub outgoing_tls: TlsMode,
}

impl Sides {
    /// IMAP over implicit TLS in; SMTP submission with STARTTLS out.
    pub fn imaps_and_submission(servers: &MailServers) -> Sides {
        Sides {
            incoming: ServerType::ImapSmtp,
            incoming_port: servers.port("IMAPS_PORT"),
            incoming_tls: TlsMode::Implicit,
            outgoing_port: servers.port("SMTP_PORT"),
            outgoing_tls: TlsMode::StartTls,
        }
    }

    /// POP3 with STLS in; SMTP over implicit TLS out.
    pub fn pop3_stls_and_smtps(servers: &MailServers) -> Sides {
        Sides {
            incoming: ServerType::Pop3Smtp,
            incoming_port: servers.port("POP3_PORT"),
            incoming_tls: TlsMode::StartTls,
            outgoing_port: servers.port("SMTPS_PORT"),
            outgoing_tls: TlsMode::Implicit,
        }
    }
}

pub async fn profile(e: &Engine, name: &str, sides: &Sides, ca_file: &str, changes: ProfileChanges) -> ProfileId {
    ok(api::create_profile(
        e,
        CreateProfile {
            server_type: sides.incoming,
            name: name.into(),
            changes: ProfileChanges {
                incoming_location: Some("localhost".into()),
                outgoing_location: Some("localhost".into()),
                incoming_port: Some(Some(sides.incoming_port)),
                outgoing_port: Some(Some(sides.outgoing_port)),
                incoming_tls_mode: Some(Some(sides.incoming_tls)),
                outgoing_tls_mode: Some(Some(sides.outgoing_tls)),
                ca_file: Some(ca_file.into()),
                timeout_seconds: changes.timeout_seconds.or(Some(5)),
                max_concurrent_connections: changes.max_concurrent_connections.or(Some(10)),
                ..changes
            },
            set_as_default: false,
        },
    )
    .await)
    .id
}

/// Server-side synchronization of incoming and outgoing email through `profile`.
pub fn sync_methods(profile: ProfileId) -> MailboxChanges {
    MailboxChanges {
        profile_id: Some(Some(profile)),
        incoming_method: Some(IncomingMethod::ServerSideSync),
        outgoing_method: Some(OutgoingMethod::ServerSideSync),
        act_method: Some(ActMethod::None),
        ..Default::default()
    }
}

/// A user whose mailbox uses `profile`, with its credentials; approved unless told otherwise.
pub async fn mailbox(e: &Engine, profile: ProfileId, user: &str, password: &str, approve: bool) -> MailboxId {
    let u = ok(api::create_user(
        e,
        CreateUser {
            full_name: user.into(),
            primary_email: format!("{user}@localhost"),
            can_approve_email: false,
            incoming_filtering_method: None,
        },
    )
    .await);
    let id = u.mailbox_id.unwrap_or_else(|| panic!("the user has no mailbox"));
    ok(api::update_mailbox(e, id, sync_methods(profile)).await);
    ok(api::set_mailbox_credentials(e, id, user.into(), Secret::new(password)).await);
    if approve {
        ok(api::approve_mailboxes(e, vec![id], None).await);
    }
    id
}

/// Sets the incoming filtering method of the user whose mailbox `id` is; returns the user.
pub async fn user_filter(e: &Engine, id: MailboxId, method: api::FilteringMethod) -> api::UserId {
    let user =
        ok(api::get_mailbox(e, id).await).mailbox.user_id.unwrap_or_else(|| panic!("{id} is not a user's mailbox"));
    ok(api::update_user(e, user, api::UserChanges { incoming_filtering_method: Some(method), ..Default::default() })
        .await);
    user
}

/// Runs Test & Enable and waits for it, within a bound that a hang would break.
pub async fn test_and_enable(e: &Engine, ids: Vec<MailboxId>) -> api::JobDto {
    let job = ok(api::start_test_and_enable(e, api::TestAndEnableScope::Mailboxes(ids)).await);
    match tokio::time::timeout(Duration::from_secs(120), api::wait_job(e, job.job.id)).await {
        Ok(r) => ok(r),
        Err(_) => panic!("Test & Enable did not finish in 120 s: {:?}", ok(api::get_job(e, job.job.id).await)),
    }
}

pub fn item(job: &api::JobDto, id: MailboxId) -> &api::JobItem {
    job.items.iter().find(|i| i.mailbox_id == id).unwrap_or_else(|| panic!("no item for {id}"))
}

pub async fn alerts(e: &Engine, id: MailboxId) -> Vec<(AlertLevel, String, String)> {
    ok(api::list_alerts(e, AlertFilter { mailbox_id: Some(id), ..Default::default() }).await)
        .into_iter()
        .map(|a| (a.level, a.code.clone(), serversync::i18n::render(Lang::En, &a.code, &a.params)))
        .collect()
}

/// A user `name@domain` whose mailbox syncs through `profile` and signs in with the profile's
/// credentials (an Exchange profile); approved unless told otherwise.
pub async fn exchange_mailbox(e: &Engine, profile: ProfileId, name: &str, domain: &str, approve: bool) -> MailboxId {
    let u = ok(api::create_user(
        e,
        CreateUser {
            full_name: name.into(),
            primary_email: format!("{name}@{domain}"),
            can_approve_email: false,
            incoming_filtering_method: None,
        },
    )
    .await);
    let id = u.mailbox_id.unwrap_or_else(|| panic!("the user has no mailbox"));
    ok(api::update_mailbox(e, id, sync_methods(profile)).await);
    if approve {
        ok(api::approve_mailboxes(e, vec![id], None).await);
    }
    id
}

/// One incoming cycle of one mailbox, through the API.
pub async fn sync_one(e: &Engine, id: MailboxId) -> api::MailboxSync {
    let r = ok(api::sync_mailboxes(
        e,
        api::SyncScope::Mailboxes(vec![id]),
        api::SyncRequest { preview: false, max_messages: None },
        Lang::En,
        std::sync::Arc::new(|_| {}),
    )
    .await);
    r.into_iter().next().unwrap_or_else(|| panic!("no result"))
}

/// The report of a cycle that must have worked.
pub fn report(s: &api::MailboxSync) -> &api::CycleReport {
    s.report.as_ref().unwrap_or_else(|| panic!("the cycle failed: {:?}", s.error))
}

/// The subjects of the email activities that start with `prefix`.
pub async fn subjects(e: &Engine, prefix: &str) -> Vec<String> {
    let rows = ok(api::list_email_activities(e, api::EmailActivityFilter::default(), 0, 5000).await).rows;
    rows.into_iter().map(|r| r.subject).filter(|s| s.starts_with(prefix)).collect()
}

/// An email from `from` to `to` with a Bcc recipient, through the API.
pub fn email(from: MailboxId, to: &str, bcc: &str, subject: String, text: String, html: String) -> api::SendEmail {
    let address = |a: &str| api::Recipient { record: None, address: Some(a.into()) };
    api::SendEmail {
        from_mailbox_id: from,
        to: vec![address(to)],
        cc: vec![],
        bcc: vec![address(bcc)],
        subject,
        body_text: text,
        body_html: html,
        attachments: vec![],
        regarding: None,
        send_after: None,
        in_reply_to: None,
    }
}

/// Waits up to `secs` for `check`, every 50 ms; returns how long it took (None: it never held).
pub async fn within<F, Fut>(secs: u64, mut check: F) -> Option<std::time::Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let t0 = std::time::Instant::now();
    while t0.elapsed() < std::time::Duration::from_secs(secs) {
        if check().await {
            return Some(t0.elapsed());
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    None
}
