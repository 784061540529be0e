//! The engine's API as the desktop app and the CLI use it, with secrets in memory.

use serversync::api::ProfileSecretKind;
use serversync::api::{
    self, CreateProfile, CreateQueue, CreateUser, MailboxQuery, MailboxView, NewAlert, ProfileField,
};
use serversync::api::{
    ActMethod, AlertFilter, AlertLevel, CredentialMode, EmailAddressStatus, IncomingMethod, MailboxChanges, MailboxId,
    OutgoingMethod, ProfileChanges, ProfileId, RecordState, Regarding, ServerType, SettingsChanges, UserChanges,
};
use serversync::secrets::{Secret, SecretKey, SecretStore};
use serversync::{DATABASE_FILE, Engine};
use serversync_tests::{contains, database_bytes, memory_engine, row_snapshot};
use std::collections::BTreeMap;

fn ok<T>(r: serversync::Result<T>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

fn code<T: std::fmt::Debug>(r: serversync::Result<T>) -> &'static str {
    match r {
        Ok(v) => panic!("expected a refusal, got {v:?}"),
        Err(e) => e.code(),
    }
}

async fn imap_profile(e: &Engine, default: bool) -> ProfileId {
    let p = ok(api::create_profile(
        e,
        CreateProfile {
            server_type: ServerType::ImapSmtp,
            name: "Contoso IMAP".into(),
            changes: ProfileChanges {
                incoming_location: Some("imap.contoso.test".into()),
                outgoing_location: Some("smtp.contoso.test".into()),
                ..Default::default()
            },
            set_as_default: default,
        },
    )
    .await);
    p.id
}

async fn exchange_server_profile(e: &Engine) -> ProfileId {
    ok(api::create_profile(
        e,
        CreateProfile {
            server_type: ServerType::ExchangeServer,
            name: "Contoso EWS".into(),
            changes: ProfileChanges {
                incoming_user_name: Some("svc-crm@contoso.test".into()),
                incoming_use_impersonation: Some(true),
                ..Default::default()
            },
            set_as_default: false,
        },
    )
    .await)
    .id
}

async fn user(e: &Engine, name: &str, email: &str) -> (serversync::api::UserId, MailboxId) {
    let u = ok(api::create_user(
        e,
        CreateUser {
            full_name: name.into(),
            primary_email: email.into(),
            can_approve_email: false,
            incoming_filtering_method: None,
        },
    )
    .await);
    (u.id, u.mailbox_id.unwrap_or(MailboxId(0)))
}

#[tokio::test]
async fn a_new_user_gets_a_mailbox_with_the_organisation_defaults() {
    let (e, _, _d) = memory_engine().await;
    let pid = imap_profile(&e, true).await;
    let (_, mid) = user(&e, "Nancy Anderson", "nancy@contoso.test").await;
    let m = ok(api::get_mailbox(&e, mid).await).mailbox;
    assert_eq!(m.profile_id, Some(pid));
    assert_eq!(
        (m.incoming_method, m.outgoing_method, m.act_method),
        (IncomingMethod::ServerSideSync, OutgoingMethod::ServerSideSync, ActMethod::None)
    );
    assert_eq!(m.email_address, "nancy@contoso.test");
    assert_eq!(m.email_address_status, EmailAddressStatus::PendingApproval);
    assert!(!m.enabled_for_incoming && !m.enabled_for_outgoing, "nothing is enabled before Test & Enable");
}

#[tokio::test]
async fn a_queue_mailbox_never_takes_act_even_when_it_is_the_default() {
    let (e, _, _d) = memory_engine().await;
    let pid = exchange_server_profile(&e).await;
    ok(api::set_default_profile(&e, pid).await);
    ok(api::update_settings(
        &e,
        SettingsChanges { default_act_method: Some(ActMethod::ServerSideSync), ..Default::default() },
    )
    .await);
    let (owner, user_mailbox) = user(&e, "Ann", "ann@contoso.test").await;
    assert_eq!(ok(api::get_mailbox(&e, user_mailbox).await).mailbox.act_method, ActMethod::ServerSideSync);
    let q = ok(api::create_queue(
        &e,
        CreateQueue {
            name: "Support".into(),
            email_address: "support@contoso.test".into(),
            owner_user_id: Some(owner),
            incoming_filtering_method: None,
        },
    )
    .await);
    let qm = ok(api::get_mailbox(&e, q.mailbox_id.unwrap_or(MailboxId(0))).await).mailbox;
    assert_eq!(qm.act_method, ActMethod::None);
    assert_eq!(qm.owner_user_id, Some(owner), "a queue's mailbox is owned by the queue's owner");
}

#[tokio::test]
async fn the_address_of_a_mailbox_and_of_its_owner_stay_the_same_and_a_change_withdraws_approval() {
    let (e, _, _d) = memory_engine().await;
    let (uid, mid) = user(&e, "Nancy", "nancy@contoso.test").await;
    ok(api::approve_mailboxes(&e, vec![mid], None).await);
    ok(api::update_user(
        &e,
        uid,
        UserChanges { primary_email: Some("nancy.anderson@contoso.test".into()), ..Default::default() },
    )
    .await);
    let m = ok(api::get_mailbox(&e, mid).await).mailbox;
    assert_eq!(m.email_address, "nancy.anderson@contoso.test");
    assert_eq!((m.email_address_status, m.approved_on), (EmailAddressStatus::PendingApproval, None));

    ok(api::approve_mailboxes(&e, vec![mid], None).await);
    ok(api::update_mailbox(
        &e,
        mid,
        MailboxChanges { email_address: Some("n@contoso.test".into()), ..Default::default() },
    )
    .await);
    assert_eq!(ok(api::get_user(&e, uid).await).primary_email, "n@contoso.test");
    assert_eq!(ok(api::get_mailbox(&e, mid).await).mailbox.email_address_status, EmailAddressStatus::PendingApproval);
}

#[tokio::test]
async fn a_refused_change_writes_nothing() {
    let (e, _, d) = memory_engine().await;
    let pop = ok(api::create_profile(
        &e,
        CreateProfile {
            server_type: ServerType::Pop3Smtp,
            name: "POP".into(),
            changes: ProfileChanges {
                incoming_location: Some("pop.contoso.test".into()),
                outgoing_location: Some("smtp.contoso.test".into()),
                ..Default::default()
            },
            set_as_default: true,
        },
    )
    .await);
    let (_, mid) = user(&e, "Nancy", "nancy@contoso.test").await;
    let db = d.path().join("data").join(DATABASE_FILE);
    let before = row_snapshot(&db, "mailbox", mid.0);
    let r = api::update_mailbox(
        &e,
        mid,
        MailboxChanges {
            act_method: Some(ActMethod::ServerSideSync),
            name: Some("Renamed".into()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(code(r), "mailbox.act.not_supported_for_server_type");
    assert_eq!(row_snapshot(&db, "mailbox", mid.0), before);
    // Bulk edit: one refusal refuses all.
    let (_, other) = user(&e, "Alan", "alan@contoso.test").await;
    let before_other = row_snapshot(&db, "mailbox", other.0);
    let r = api::edit_mailboxes(
        &e,
        vec![other, mid],
        MailboxChanges { act_method: Some(ActMethod::ServerSideSync), ..Default::default() },
    )
    .await;
    assert_eq!(code(r), "mailbox.act.not_supported_for_server_type");
    assert_eq!(
        row_snapshot(&db, "mailbox", other.0),
        before_other,
        "the first mailbox of a refused bulk edit was written"
    );
    let r = api::edit_mailboxes(&e, vec![other], MailboxChanges { name: Some("X".into()), ..Default::default() }).await;
    assert_eq!(code(r), "mailbox.edit.sync_methods_only");
    let _ = pop;
}

#[tokio::test]
async fn a_profile_change_that_would_break_one_of_its_mailboxes_is_refused() {
    let (e, _, _d) = memory_engine().await;
    let pid = exchange_server_profile(&e).await;
    let (_, mid) = user(&e, "Nancy", "nancy@contoso.test").await;
    ok(api::update_mailbox(
        &e,
        mid,
        MailboxChanges {
            profile_id: Some(Some(pid)),
            act_method: Some(ActMethod::ServerSideSync),
            ..Default::default()
        },
    )
    .await);
    let r =
        api::update_profile(&e, pid, ProfileChanges { incoming_use_impersonation: Some(false), ..Default::default() })
            .await;
    let err = r.err().unwrap_or_else(|| panic!("delegation was accepted under an ACT mailbox"));
    assert_eq!(err.code(), "mailbox.act.requires_impersonation");
    assert_eq!(err.param_value("mailbox"), Some("Nancy"));
    assert!(ok(api::get_profile(&e, pid).await).incoming_use_impersonation);
}

#[tokio::test]
async fn credentials_go_to_the_secret_store_and_only_a_flag_to_the_database() {
    let (e, secrets, d) = memory_engine().await;
    imap_profile(&e, true).await;
    let (_, mid) = user(&e, "Nancy", "nancy@contoso.test").await;
    let dto = ok(api::set_mailbox_credentials(&e, mid, "nancy".into(), Secret::new("pw-4b1e-secret")).await);
    assert!(dto.mailbox.is_password_set && dto.mailbox.allow_credentials);
    let json = serde_json::to_string(&dto).unwrap_or_default();
    assert!(!json.contains("pw-4b1e-secret"), "the reply carries the password");
    let db = d.path().join("data").join(DATABASE_FILE);
    assert!(!contains(&database_bytes(&db), b"pw-4b1e-secret"));
    let installation: String = rusqlite::Connection::open(&db)
        .and_then(|c| c.query_row("SELECT value FROM meta WHERE key = 'installation_id'", [], |r| r.get(0)))
        .unwrap_or_default();
    let stored = secrets.get(&SecretKey::new(&installation, format!("mailbox/{mid}/password"))).ok().flatten();
    assert_eq!(stored.map(|s| s.expose().to_owned()), Some("pw-4b1e-secret".to_owned()));

    ok(api::clear_mailbox_credentials(&e, mid).await);
    assert_eq!(secrets.get(&SecretKey::new(&installation, format!("mailbox/{mid}/password"))).ok().flatten(), None);
}

#[tokio::test]
async fn a_password_for_a_connection_without_tls_is_refused_before_it_reaches_the_keychain() {
    let (e, secrets, d) = memory_engine().await;
    let pid = imap_profile(&e, true).await;
    ok(api::update_profile(&e, pid, ProfileChanges { incoming_use_ssl: Some(false), ..Default::default() }).await);
    let (_, mid) = user(&e, "Nancy", "nancy@contoso.test").await;
    let r = api::set_mailbox_credentials(&e, mid, "nancy".into(), Secret::new("plain-channel-pw")).await;
    assert_eq!(code(r), "credentials.insecure_channel");
    let db = d.path().join("data").join(DATABASE_FILE);
    let installation: String = rusqlite::Connection::open(&db)
        .and_then(|c| c.query_row("SELECT value FROM meta WHERE key = 'installation_id'", [], |r| r.get(0)))
        .unwrap_or_default();
    assert_eq!(secrets.get(&SecretKey::new(&installation, format!("mailbox/{mid}/password"))).ok().flatten(), None);
    assert!(!ok(api::get_mailbox(&e, mid).await).mailbox.is_password_set);

    // Once the organisation allows it, the same password is accepted…
    ok(api::update_settings(
        &e,
        SettingsChanges { allow_credentials_over_insecure_channels: Some(true), ..Default::default() },
    )
    .await);
    ok(api::set_mailbox_credentials(&e, mid, "nancy".into(), Secret::new("plain-channel-pw")).await);
    // …and TLS cannot be switched off under a profile password without the permission.
    ok(api::update_settings(
        &e,
        SettingsChanges { allow_credentials_over_insecure_channels: Some(false), ..Default::default() },
    )
    .await);
    let r = api::update_profile(&e, pid, ProfileChanges { outgoing_use_ssl: Some(false), ..Default::default() }).await;
    assert_eq!(code(r), "credentials.insecure_channel");
}

#[tokio::test]
async fn profile_secrets_follow_the_same_path() {
    let (e, secrets, _d) = memory_engine().await;
    let pid = exchange_server_profile(&e).await;
    let p = ok(api::set_profile_secret(&e, pid, ProfileSecretKind::IncomingPassword, Secret::new("svc-pw-77")).await);
    assert!(p.is_incoming_password_set);
    let r = api::set_profile_secret(&e, pid, ProfileSecretKind::OutgoingPassword, Secret::new("x")).await;
    assert_eq!(code(r), "profile.password.not_used", "outgoing shares the incoming settings");
    ok(api::delete_profile(&e, pid).await);
    let _ = secrets; // deletion of the secret is checked through the flag-free state below
    assert_eq!(code(api::get_profile(&e, pid).await), "record.not_found");
}

#[tokio::test]
async fn deleting_a_profile_keeps_its_mailboxes_without_a_profile() {
    let (e, _, _d) = memory_engine().await;
    let pid = imap_profile(&e, false).await;
    let (_, mid) = user(&e, "Nancy", "nancy@contoso.test").await;
    ok(api::update_mailbox(&e, mid, MailboxChanges { profile_id: Some(Some(pid)), ..Default::default() }).await);
    ok(api::delete_profile(&e, pid).await);
    assert_eq!(ok(api::get_mailbox(&e, mid).await).mailbox.profile_id, None);
}

#[tokio::test]
async fn the_default_profile_cannot_be_deactivated() {
    let (e, _, _d) = memory_engine().await;
    let pid = imap_profile(&e, true).await;
    assert_eq!(code(api::set_profile_state(&e, vec![pid], RecordState::Inactive).await), "profile.is_default");
    let other = imap_profile(&e, false).await;
    let p = ok(api::set_profile_state(&e, vec![other], RecordState::Inactive).await);
    assert_eq!(p[0].state, RecordState::Inactive);
    let inactive = ok(api::list_profiles(&e, api::ProfileView::Inactive).await);
    assert_eq!(inactive.iter().map(|p| p.id).collect::<Vec<_>>(), vec![other]);
}

#[tokio::test]
async fn approval_through_the_api_follows_who_may_approve() {
    let (e, _, _d) = memory_engine().await;
    let (nancy, nancy_box) = user(&e, "Nancy", "nancy@contoso.test").await;
    let (alan, _) = user(&e, "Alan", "alan@contoso.test").await;
    assert_eq!(code(api::approve_mailboxes(&e, vec![nancy_box], Some(alan)).await), "approval.not_permitted");
    let self_approved = ok(api::approve_mailboxes(&e, vec![nancy_box], Some(nancy)).await);
    assert_eq!(self_approved[0].mailbox.approved_by_user_id, Some(nancy));
    ok(api::update_user(&e, alan, UserChanges { can_approve_email: Some(true), ..Default::default() }).await);
    let rejected = ok(api::reject_mailboxes(&e, vec![nancy_box], Some(alan)).await);
    assert_eq!(
        (rejected[0].mailbox.email_address_status, rejected[0].mailbox.approved_by_user_id),
        (EmailAddressStatus::Rejected, None)
    );
}

#[tokio::test]
async fn apply_default_email_settings_is_all_or_nothing() {
    let (e, _, _d) = memory_engine().await;
    let (_, a) = user(&e, "Ann", "ann@contoso.test").await;
    let pid = imap_profile(&e, true).await;
    let applied = ok(api::apply_default_settings(&e, vec![a]).await);
    assert_eq!(applied[0].mailbox.profile_id, Some(pid));
    assert_eq!(code(api::apply_default_settings(&e, vec![a, MailboxId(999)]).await), "record.not_found");
}

#[tokio::test]
async fn the_same_alert_raised_again_updates_one_row() {
    let (e, _, _d) = memory_engine().await;
    let (_, mid) = user(&e, "Nancy", "nancy@contoso.test").await;
    let alert = NewAlert {
        level: AlertLevel::Warning,
        code: "mailbox.not_approved".into(),
        params: BTreeMap::from([("mailbox".to_owned(), "Nancy".to_owned())]),
        regarding: Regarding::Mailbox(mid),
        detail: String::new(),
    };
    let first = ok(api::record_alert(&e, alert.clone()).await);
    let second = ok(api::record_alert(&e, alert.clone()).await);
    assert_eq!(first, second);
    let all = ok(api::list_alerts(&e, AlertFilter::default()).await);
    assert_eq!((all.len(), all[0].count), (1, 2));
    assert!(all[0].last_seen >= all[0].first_seen);

    ok(api::update_settings(&e, SettingsChanges { alerts_for_warnings: Some(false), ..Default::default() }).await);
    let other = NewAlert { code: "mailbox.inactive".into(), ..alert };
    assert_eq!(ok(api::record_alert(&e, other).await), None, "warnings are off");
    let errors = ok(api::list_alerts(&e, AlertFilter { level: Some(AlertLevel::Error), ..Default::default() }).await);
    assert!(errors.is_empty());
    assert_eq!(ok(api::delete_alerts(&e, AlertFilter { mailbox_id: Some(mid), ..Default::default() }).await), 1);
}

#[tokio::test]
async fn the_alert_wall_is_read_a_page_at_a_time_most_recent_first() {
    let (e, _, _d) = memory_engine().await;
    let (_, mid) = user(&e, "Nancy", "nancy@contoso.test").await;
    let raise = |i: usize| NewAlert {
        level: if i.is_multiple_of(5) { AlertLevel::Error } else { AlertLevel::Warning },
        code: format!("test.alert_{i:03}"),
        params: BTreeMap::new(),
        regarding: Regarding::Mailbox(mid),
        detail: String::new(),
    };
    let mut ids = Vec::new();
    for i in 0..250 {
        ids.push(ok(api::record_alert(&e, raise(i)).await).unwrap_or_else(|| panic!("alert {i} not recorded")));
    }
    // Raised again, the first alert is the most recent.
    ok(api::record_alert(&e, raise(0)).await);
    let newest_first: Vec<_> = std::iter::once(ids[0]).chain(ids[1..].iter().rev().copied()).collect();

    let first = ok(api::list_alert_page(&e, AlertFilter::default(), 0, 100).await);
    assert_eq!(first.total, 250);
    assert_eq!(first.rows.iter().map(|a| a.id).collect::<Vec<_>>(), newest_first[..100]);
    let last = ok(api::list_alert_page(&e, AlertFilter::default(), 200, 100).await);
    assert_eq!((last.total, last.rows.len()), (250, 50));
    assert_eq!(last.rows.iter().map(|a| a.id).collect::<Vec<_>>(), newest_first[200..]);
    let errors = AlertFilter { level: Some(AlertLevel::Error), ..Default::default() };
    let page = ok(api::list_alert_page(&e, errors.clone(), 10, 100).await);
    assert_eq!((page.total, page.rows.len()), (50, 40));
    assert!(page.rows.iter().all(|a| a.level == AlertLevel::Error));
    // A page holds at least one row, whatever is asked.
    let one = ok(api::list_alert_page(&e, AlertFilter::default(), 0, 0).await);
    assert_eq!((one.total, one.rows.len()), (250, 1));
    assert_eq!(ok(api::delete_alerts(&e, errors.clone()).await), 50);
    assert_eq!(ok(api::list_alert_page(&e, errors, 0, 100).await).total, 0);
    assert_eq!(ok(api::list_alert_page(&e, AlertFilter::default(), 0, 1).await).total, 200);
}

#[tokio::test]
async fn mailbox_grid_views_and_search() {
    let (e, _, _d) = memory_engine().await;
    let (ann, _) = user(&e, "Ann", "ann@contoso.test").await;
    user(&e, "Bob", "bob@fabrikam.test").await;
    let fwd = ok(api::create_forward_mailbox(
        &e,
        api::CreateForwardMailbox {
            name: "Forward".into(),
            email_address: "fwd@contoso.test".into(),
            changes: Default::default(),
        },
    )
    .await);
    assert_eq!(fwd.mailbox.outgoing_method, OutgoingMethod::None, "a forward mailbox sends nothing");
    let names = |v: Vec<api::MailboxDto>| v.into_iter().map(|m| m.mailbox.name).collect::<Vec<_>>();
    assert_eq!(names(ok(api::list_mailboxes(&e, MailboxQuery::default()).await)), ["Ann", "Bob", "Forward"]);
    assert_eq!(
        names(ok(
            api::list_mailboxes(&e, MailboxQuery { view: MailboxView::MyActive(ann), ..Default::default() }).await
        )),
        ["Ann"]
    );
    assert_eq!(
        names(
            ok(api::list_mailboxes(&e, MailboxQuery { search: Some("FABRIKAM".into()), ..Default::default() }).await)
        ),
        ["Bob"]
    );
    assert_eq!(
        names(ok(api::list_mailboxes(&e, MailboxQuery { search: Some("%".into()), ..Default::default() }).await)),
        Vec::<String>::new(),
        "LIKE wildcards are literal"
    );
    // The New Email sender is chosen among the mailboxes that can send: no forward mailbox.
    let senders = MailboxQuery { senders_only: true, ..Default::default() };
    assert_eq!(names(ok(api::list_mailboxes(&e, senders.clone()).await)), ["Ann", "Bob"]);
    let by_name = api::MailboxSort { key: api::MailboxSortKey::Name, descending: true };
    let page = ok(api::list_mailbox_page(&e, senders, by_name, 0, 1).await);
    assert_eq!((page.total, page.rows[0].mailbox.mailbox.name.as_str()), (2, "Bob"));
    ok(api::delete_forward_mailbox(&e, fwd.mailbox.id).await);
    assert_eq!(ok(api::list_mailboxes(&e, MailboxQuery::default()).await).len(), 2);
}

#[tokio::test]
async fn exchange_online_is_graph_with_app_only_oauth() {
    let (e, _, _d) = memory_engine().await;
    let p = ok(api::create_profile(
        &e,
        CreateProfile {
            server_type: ServerType::ExchangeOnline,
            name: "Contoso Online".into(),
            changes: ProfileChanges {
                tenant_id: Some("72f988bf-86f1-41af-91ab-2d7cd011db47".into()),
                oauth_client_id: Some("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0".into()),
                ..Default::default()
            },
            set_as_default: false,
        },
    )
    .await);
    assert_eq!(p.incoming_credential_mode, CredentialMode::OauthEntraId);
    assert_eq!((p.incoming_port, p.incoming_location.as_str()), (None, ""));
    let p = ok(api::set_profile_secret(&e, p.id, ProfileSecretKind::OauthSecret, Secret::new("client-secret")).await);
    assert!(p.is_oauth_secret_set);
    let fields = ok(api::profile_form_fields(&e, ServerType::ExchangeOnline, ProfileChanges::default()).await);
    assert!(fields.fields.contains(&ProfileField::TenantId) && !fields.fields.contains(&ProfileField::IncomingPort));
}

#[tokio::test]
async fn test_and_enable_records_each_failure_with_its_code_status_and_alert() {
    let (e, _, _d) = memory_engine().await;
    imap_profile(&e, true).await;
    let (_, unapproved) = user(&e, "Una Approved", "una@contoso.test").await;
    let (_, ready) = user(&e, "Rea Dy", "ready@contoso.test").await;
    ok(api::set_mailbox_credentials(&e, ready, "ready".into(), Secret::new("pw")).await);
    ok(api::approve_mailboxes(&e, vec![ready], None).await);

    let job = ok(api::start_test_and_enable(&e, api::TestAndEnableScope::Mailboxes(vec![unapproved, ready])).await);
    assert_eq!(job.total, 2);
    let done = ok(api::wait_job(&e, job.job.id).await);
    assert_eq!(done.job.state, serversync::api::JobState::Failed);
    let item =
        |id: MailboxId| done.items.iter().find(|i| i.mailbox_id == id).cloned().unwrap_or_else(|| panic!("no item"));
    assert_eq!(item(unapproved).error_code, "mailbox.not_approved");
    // The profile's server name does not exist (.test is never delegated): a permanent failure
    // that names the host, not a pretended success.
    assert_eq!(item(ready).error_code, "mail.host_not_found");
    assert_eq!(item(ready).error_params.get("host").map(String::as_str), Some("imap.contoso.test"));

    let m = ok(api::get_mailbox(&e, unapproved).await).mailbox;
    assert_eq!(m.incoming_status, serversync::api::TestStatus::Failure);
    assert!(!m.enabled_for_incoming && !m.enabled_for_outgoing);
    assert_eq!(m.act_status, serversync::api::TestStatus::NotRun, "ACT is not configured");
    assert!(m.test_completed_on.is_some());
    let alerts = ok(api::list_alerts(&e, AlertFilter { mailbox_id: Some(unapproved), ..Default::default() }).await);
    assert_eq!(
        alerts.iter().map(|a| (a.level, a.code.as_str())).collect::<Vec<_>>(),
        vec![(AlertLevel::Error, "mailbox.not_approved")]
    );
}

#[tokio::test]
async fn a_job_left_running_by_an_engine_that_died_is_closed_when_the_data_is_opened_again() {
    let (e, _, d) = memory_engine().await;
    let (_, mid) = user(&e, "Nancy", "nancy@contoso.test").await;
    drop(e);
    let db = d.path().join("data").join(DATABASE_FILE);
    {
        let c = rusqlite::Connection::open(&db).unwrap_or_else(|e| panic!("{e}"));
        c.execute_batch(&format!(
            "INSERT INTO async_job (id, kind, state, runner, created_on) VALUES (77, 'test_and_enable', 'running', 'gone-engine', '2026-01-01T00:00:00Z');
             INSERT INTO async_job_item (job_id, mailbox_id, state, updated_on) VALUES (77, {mid}, 'testing', '2026-01-01T00:00:00Z');"
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    }
    let config = serversync::EngineConfig {
        secrets: serversync::SecretBackend::Custom(std::sync::Arc::new(serversync::secrets::MemoryStore::new())),
        ..serversync::EngineConfig::new(d.path().join("data"))
    };
    let e = ok(Engine::open(config).await);
    let job = ok(api::get_job(&e, serversync::api::JobId(77)).await);
    assert_eq!(job.job.state, serversync::api::JobState::Cancelled);
    assert_eq!(job.items[0].state, serversync::api::JobItemState::Cancelled, "a mailbox was left testing");
    assert_eq!(job.items[0].error_code, "job.interrupted");
}

#[tokio::test]
async fn a_running_job_of_a_live_engine_is_not_touched_by_another_engine_opening_the_data() {
    let (e, _, d) = memory_engine().await;
    let (_, mid) = user(&e, "Nancy", "nancy@contoso.test").await;
    let runner_file = std::fs::read_dir(d.path().join("data").join("runners"))
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|f| f.ok())
        .map(|f| f.file_name().to_string_lossy().trim_end_matches(".lock").to_owned())
        .next()
        .unwrap_or_default();
    {
        let db = d.path().join("data").join(DATABASE_FILE);
        let c = rusqlite::Connection::open(&db).unwrap_or_else(|e| panic!("{e}"));
        c.execute_batch(&format!(
            "INSERT INTO async_job (id, kind, state, runner, created_on) VALUES (78, 'test_and_enable', 'running', '{runner_file}', '2026-01-01T00:00:00Z');
             INSERT INTO async_job_item (job_id, mailbox_id, state, updated_on) VALUES (78, {mid}, 'testing', '2026-01-01T00:00:00Z');"
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    }
    let config = serversync::EngineConfig {
        secrets: serversync::SecretBackend::Custom(std::sync::Arc::new(serversync::secrets::MemoryStore::new())),
        ..serversync::EngineConfig::new(d.path().join("data"))
    };
    let other = ok(Engine::open(config).await);
    let job = ok(api::get_job(&other, serversync::api::JobId(78)).await);
    assert_eq!(job.job.state, serversync::api::JobState::Running, "the live engine's job was closed");
    drop(e);
}

#[tokio::test]
async fn a_ca_file_that_cannot_be_used_is_refused_at_save_next_to_its_field() {
    let (e, _, d) = memory_engine().await;
    let not_pem = d.path().join("not-a-certificate.pem");
    std::fs::write(&not_pem, "hello").unwrap_or_else(|e| panic!("{e}"));
    for path in ["/nonexistent/ca.pem".to_owned(), not_pem.to_string_lossy().into_owned()] {
        let r = api::create_profile(
            &e,
            CreateProfile {
                server_type: ServerType::ImapSmtp,
                name: "Contoso IMAP".into(),
                changes: ProfileChanges {
                    incoming_location: Some("imap.contoso.test".into()),
                    outgoing_location: Some("smtp.contoso.test".into()),
                    ca_file: Some(path.clone()),
                    ..Default::default()
                },
                set_as_default: false,
            },
        )
        .await;
        let err = r.err().unwrap_or_else(|| panic!("{path} was accepted"));
        assert_eq!((err.code(), err.param_value("field")), ("mail.ca_file.unreadable", Some("ca_file")));
        assert_eq!(err.kind(), serversync::ErrorKind::Validation);
    }
    assert!(ok(api::list_profiles(&e, api::ProfileView::Active).await).is_empty(), "nothing was written");
}

#[tokio::test]
async fn the_mailbox_grid_reads_windows_sorted_in_sql_and_a_view_can_be_selected_whole() {
    use serversync::api::{MailboxSelection, MailboxSort, MailboxSortKey};
    let (e, _, _d) = memory_engine().await;
    // Names whose case differs from their order, and one mailbox made inactive.
    let users: Vec<CreateUser> = (0..250)
        .map(|i| CreateUser {
            full_name: if i % 2 == 0 { format!("user {i:03}") } else { format!("User {i:03}") },
            primary_email: format!("u{i:03}@grid.test"),
            can_approve_email: false,
            incoming_filtering_method: None,
        })
        .collect();
    assert_eq!(api::import_users(&e, users).await.unwrap_or_else(|e| panic!("{e:?}")), 250);
    let all = api::list_mailboxes(&e, MailboxQuery::default()).await.unwrap_or_else(|e| panic!("{e:?}"));
    let inactive = all.iter().find(|m| m.mailbox.name == "User 007").map(|m| m.mailbox.id).unwrap_or_else(|| panic!());
    api::set_mailbox_state(&e, vec![inactive], RecordState::Inactive).await.unwrap_or_else(|e| panic!("{e:?}"));

    let page = |sort: MailboxSort, offset: u32, limit: u32| {
        let e = e.clone();
        async move {
            api::list_mailbox_page(&e, MailboxQuery::default(), sort, offset, limit)
                .await
                .unwrap_or_else(|e| panic!("{e:?}"))
        }
    };
    let by_name = MailboxSort::default();
    let first = page(by_name, 0, 100).await;
    assert_eq!(first.total, 249, "the active view, without the inactive mailbox");
    assert_eq!(first.rows.len(), 100);
    assert!(first.rows.iter().all(|r| r.last_synced_on.is_none()), "never synchronised");
    let names: Vec<&str> = first.rows.iter().map(|r| r.mailbox.mailbox.name.as_str()).collect();
    assert_eq!(&names[..3], ["user 000", "User 001", "user 002"], "by name, whatever the case");
    // Windows follow one another without overlap or gap, to the end.
    let mut seen = Vec::new();
    for offset in (0..249).step_by(100) {
        seen.extend(page(by_name, offset, 100).await.rows.into_iter().map(|r| r.mailbox.mailbox.id));
    }
    let distinct: std::collections::BTreeSet<_> = seen.iter().collect();
    assert_eq!((seen.len(), distinct.len()), (249, 249));
    assert!(!seen.contains(&inactive));
    // Descending email addresses; a search narrows the view and its total.
    let desc = page(MailboxSort { key: MailboxSortKey::EmailAddress, descending: true }, 0, 2).await;
    assert_eq!(
        desc.rows.iter().map(|r| r.mailbox.mailbox.email_address.as_str()).collect::<Vec<_>>(),
        ["u249@grid.test", "u248@grid.test"]
    );
    let searched =
        api::list_mailbox_page(&e, MailboxQuery { search: Some("u02".into()), ..Default::default() }, by_name, 0, 1000)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!((searched.total, searched.rows.len()), (10, 10));

    // "All" selects the view by query: every active mailbox but the ones unticked.
    let except = vec![first.rows[0].mailbox.mailbox.id, first.rows[1].mailbox.mailbox.id];
    let selected = api::selected_mailbox_ids(
        &e,
        MailboxSelection::Query {
            query: MailboxQuery { view: MailboxView::Active, ..Default::default() },
            except: except.clone(),
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(selected.len(), 247);
    assert!(!selected.contains(&except[0]) && !selected.contains(&inactive));
    // A status sorts in the order of its option values, as Dynamics sorts choices: Empty (0),
    // Approved (1), Pending Approval (2), Rejected (3) — not alphabetically by code, which would
    // put Approved before Empty.
    let (to_approve, to_reject) = (first.rows[5].mailbox.mailbox.id, first.rows[6].mailbox.mailbox.id);
    ok(api::approve_mailboxes(&e, vec![to_approve], None).await);
    ok(api::reject_mailboxes(&e, vec![to_reject], None).await);
    user(&e, "No Address", "").await;
    let by_status = page(MailboxSort { key: MailboxSortKey::EmailAddressStatus, descending: false }, 0, 1000).await;
    let statuses: Vec<EmailAddressStatus> =
        by_status.rows.iter().map(|r| r.mailbox.mailbox.email_address_status).collect();
    assert!(statuses.windows(2).all(|w| w[0] <= w[1]), "{statuses:?}");
    assert!(statuses.contains(&EmailAddressStatus::Approved));
    assert_eq!(
        (statuses.first(), statuses.last()),
        (Some(&EmailAddressStatus::Empty), Some(&EmailAddressStatus::Rejected)),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn the_first_run_steps_are_ticked_from_what_the_organisation_holds() {
    let (e, _, _d) = memory_engine().await;
    let progress = || async { api::first_run_progress(&e).await.unwrap_or_else(|e| panic!("{e:?}")) };
    assert_eq!(progress().await, api::FirstRunProgress::default(), "nothing done in a new organisation");
    let p = imap_profile(&e, false).await;
    let done = progress().await;
    assert!(done.profile && !done.default_profile && !done.users_or_queues);
    api::set_default_profile(&e, p).await.unwrap_or_else(|e| panic!("{e:?}"));
    let (_, mailbox) = user(&e, "Nancy", "nancy@contoso.test").await;
    let done = progress().await;
    assert!(done.default_profile && done.users_or_queues && !done.approved, "{done:?}");
    api::approve_mailboxes(&e, vec![mailbox], None).await.unwrap_or_else(|e| panic!("{e:?}"));
    let done = progress().await;
    assert!(done.approved && !done.enabled, "approved, not yet tested: {done:?}");
}

#[tokio::test]
async fn record_grids_page_sort_search_and_select_in_the_engine() {
    use api::{RecordQuery, RecordSelection, RecordSort, RecordSortKey};
    let (e, _, _d) = memory_engine().await;
    let (zoe, _) = user(&e, "Zoé Martin", "zoe@contoso.com").await;
    let (adam, _) = user(&e, "Adam Lee", "adam@contoso.com").await;
    // 300 contacts; every third without an e-mail address; owners alternate (some none).
    let mut csv = String::from("first_name,last_name,email_address_1,owner_user_id\n");
    for i in 0..300 {
        let email = if i % 3 == 0 { String::new() } else { format!("c{i:03}@fabrikam.com") };
        let owner = match i % 3 {
            0 => String::new(),
            1 => zoe.to_string(),
            _ => adam.to_string(),
        };
        csv += &format!("First{i:03},{}Last{i:03},{email},{owner}\n", if i % 2 == 0 { "a" } else { "B" });
    }
    assert_eq!(ok(api::import_contacts(&e, csv).await).imported, 300);

    let page = |query: RecordQuery, key: RecordSortKey, descending: bool, offset: u32, limit: u32| {
        let e = e.clone();
        async move { ok(api::list_contact_page(&e, query, RecordSort { key, descending }, offset, limit).await) }
    };
    let all = RecordQuery::default();
    let first = page(all.clone(), RecordSortKey::Name, false, 0, 50).await;
    assert_eq!((first.total, first.rows.len()), (300, 50));
    let names: Vec<&str> = first.rows.iter().map(|c| c.last_name.as_str()).collect();
    assert_eq!(&names[..3], ["aLast000", "aLast002", "aLast004"], "by last name, whatever the case");
    // Windows follow one another without overlap or gap.
    let mut seen = std::collections::BTreeSet::new();
    for offset in (0..300).step_by(64) {
        seen.extend(page(all.clone(), RecordSortKey::Name, true, offset, 64).await.rows.into_iter().map(|c| c.id));
    }
    assert_eq!(seen.len(), 300);
    // Blank addresses last, whichever the direction; the owner sorts by the owner's name.
    for descending in [false, true] {
        let rows = page(all.clone(), RecordSortKey::EmailAddress1, descending, 0, 1000).await.rows;
        assert!(
            rows[..200].iter().all(|c| !c.email_address_1.is_empty())
                && rows[200..].iter().all(|c| c.email_address_1.is_empty())
        );
        assert_eq!(rows[0].email_address_1, if descending { "c299@fabrikam.com" } else { "c001@fabrikam.com" });
    }
    let by_owner = page(all.clone(), RecordSortKey::OwnerUserId, false, 0, 1000).await.rows;
    let owners: Vec<_> = by_owner.iter().map(|c| c.owner_user_id).collect();
    assert_eq!((owners[0], owners[100], owners[200]), (Some(adam), Some(zoe), None), "Adam, then Zoé, then no owner");
    // A search narrows the view and its total: names and addresses, any case.
    let search = |s: &str| RecordQuery { search: Some(s.into()), ..Default::default() };
    assert_eq!(page(search("first01"), RecordSortKey::Name, false, 0, 1000).await.total, 10);
    assert_eq!(page(search("C29"), RecordSortKey::Name, false, 0, 1000).await.total, 7, "c290…c299 but the blank ones");
    assert_eq!(
        page(search("50%"), RecordSortKey::Name, false, 0, 1000).await.total,
        0,
        "% is a character, not a wildcard"
    );
    // "All" of a view, but some: resolved in the engine.
    let selected = ok(api::selected_contact_ids(
        &e,
        RecordSelection::Query { query: search("first01"), except: vec![first.rows[0].id.0] },
    )
    .await);
    assert_eq!(selected.len(), 10, "first.rows[0] is not in that view: nothing to take out");
    let ids: Vec<i64> = selected.iter().map(|id| id.0).collect();
    let selected_again =
        ok(api::selected_contact_ids(&e, RecordSelection::Query { query: search("first01"), except: vec![ids[0]] })
            .await);
    assert_eq!(selected_again.len(), 9);
    ok(api::set_contact_state(&e, selected_again, RecordState::Inactive).await);
    let inactive = RecordQuery { view: api::PrincipalView::Inactive, search: None };
    assert_eq!(page(inactive, RecordSortKey::Name, false, 0, 1000).await.total, 9);
    assert_eq!(
        page(RecordQuery { view: api::PrincipalView::Active, search: None }, RecordSortKey::Name, false, 0, 10)
            .await
            .total,
        291
    );
    // The company name is a lead's: a contact grid refuses it, a lead grid sorts by it.
    assert_eq!(
        code(
            api::list_contact_page(
                &e,
                all.clone(),
                RecordSort { key: RecordSortKey::CompanyName, descending: false },
                0,
                10
            )
            .await
        ),
        "record.sort.unknown"
    );
    ok(api::import_leads(&e, "first_name,last_name,company_name\nA,One,Zeta\nB,Two,\nC,Three,alpha\n".into()).await);
    let leads =
        ok(api::list_lead_page(&e, all, RecordSort { key: RecordSortKey::CompanyName, descending: false }, 0, 10)
            .await);
    assert_eq!(leads.rows.iter().map(|l| l.company_name.as_str()).collect::<Vec<_>>(), ["alpha", "Zeta", ""]);
}

#[tokio::test]
async fn users_and_queues_grids_page_sort_and_search_in_the_engine() {
    use api::{PrincipalSort, PrincipalSortKey, RecordQuery};
    let (e, _, _d) = memory_engine().await;
    for i in 0..120 {
        user(&e, &format!("{}user {i:03}", if i % 2 == 0 { "a" } else { "B" }), &format!("u{i:03}@contoso.com")).await;
    }
    for i in 0..30 {
        let email = if i % 5 == 0 { String::new() } else { format!("q{i:02}@contoso.com") };
        ok(api::create_queue(
            &e,
            CreateQueue {
                name: format!("Queue {i:02}"),
                email_address: email,
                owner_user_id: None,
                incoming_filtering_method: None,
            },
        )
        .await);
    }
    let sort = |key, descending| PrincipalSort { key, descending };
    let users = ok(api::list_user_page(&e, RecordQuery::default(), sort(PrincipalSortKey::Name, false), 0, 50).await);
    assert_eq!((users.total, users.rows.len()), (120, 50));
    assert_eq!(&users.rows.iter().map(|u| u.full_name.as_str()).collect::<Vec<_>>()[..2], ["auser 000", "auser 002"]);
    let last = ok(api::list_user_page(&e, RecordQuery::default(), sort(PrincipalSortKey::Name, false), 100, 50).await);
    assert_eq!((last.rows.len(), last.rows[19].full_name.as_str()), (20, "Buser 119"), "the last window is the rest");
    let by_email =
        ok(api::list_user_page(&e, RecordQuery::default(), sort(PrincipalSortKey::EmailAddress, true), 0, 1).await);
    assert_eq!(by_email.rows[0].primary_email, "u119@contoso.com");
    let search = RecordQuery { search: Some("u11".into()), ..Default::default() };
    assert_eq!(ok(api::list_user_page(&e, search, sort(PrincipalSortKey::Name, false), 0, 1000).await).total, 10);
    // Queues: blank addresses last, either way; a search reads names and addresses.
    for descending in [false, true] {
        let q = ok(api::list_queue_page(
            &e,
            RecordQuery::default(),
            sort(PrincipalSortKey::EmailAddress, descending),
            0,
            1000,
        )
        .await);
        assert_eq!(q.total, 30);
        assert!(
            q.rows[24..].iter().all(|q| q.email_address.is_empty())
                && q.rows[..24].iter().all(|q| !q.email_address.is_empty())
        );
    }
    let search = RecordQuery { search: Some("QUEUE 1".into()), ..Default::default() };
    assert_eq!(ok(api::list_queue_page(&e, search, sort(PrincipalSortKey::Name, false), 0, 1000).await).total, 10);
    ok(api::set_queue_state(
        &e,
        vec![ok(api::list_queues(&e, api::PrincipalView::Active).await)[0].id],
        RecordState::Inactive,
    )
    .await);
    let inactive = RecordQuery { view: api::PrincipalView::Inactive, search: None };
    let q = ok(api::list_queue_page(&e, inactive, sort(PrincipalSortKey::Name, false), 0, 1000).await);
    assert_eq!((q.total, q.rows[0].name.as_str()), (1, "Queue 00"));
}
