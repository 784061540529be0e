//! Table-driven tests of the rules. Each case names the rule it guards; removing the rule makes
//! its case fail.

use super::*;
use crate::Result;
use crate::domain::profile::ProfileField as F;
use crate::domain::{
    ActMethod, AuthProtocol, CredentialMode, IncomingMethod, OrgSettings, OutgoingMethod, ProcessEmailUsing, Profile,
    RecordState, ServerType, Timestamp, TlsMode, User,
};
use crate::domain::{
    EmailAddressStatus, FilteringMethod, Mailbox, MailboxId, OauthCredentialKind, ProfileId, QueueId, ServerAuthority,
    UserId,
};
use chrono::{TimeZone, Utc};

fn now() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 11, 1, 9, 0, 0).single().unwrap_or_default()
}

fn settings() -> OrgSettings {
    OrgSettings::defaults(now())
}

fn saved(mut p: Profile) -> Profile {
    normalize_profile(&mut p);
    p
}

fn imap() -> Profile {
    let mut p = Profile::new(ServerType::ImapSmtp, "Contoso IMAP".into(), now());
    p.id = ProfileId(1);
    p.incoming_location = "imap.contoso.test".into();
    p.outgoing_location = "smtp.contoso.test".into();
    saved(p)
}

fn pop3() -> Profile {
    let mut p = Profile::new(ServerType::Pop3Smtp, "Contoso POP3".into(), now());
    p.incoming_location = "pop.contoso.test".into();
    p.outgoing_location = "smtp.contoso.test".into();
    saved(p)
}

fn exchange_server() -> Profile {
    let mut p = Profile::new(ServerType::ExchangeServer, "Contoso EWS".into(), now());
    p.incoming_user_name = "svc-crm@contoso.test".into();
    p.incoming_use_impersonation = true;
    saved(p)
}

fn exchange_online() -> Profile {
    let mut p = Profile::new(ServerType::ExchangeOnline, "Contoso Graph".into(), now());
    p.tenant_id = "72f988bf-86f1-41af-91ab-2d7cd011db47".into();
    p.oauth_client_id = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0".into();
    saved(p)
}

fn user_mailbox() -> Mailbox {
    let mut m = Mailbox::new("Nancy Anderson".into(), "nancy@contoso.test".into(), now());
    m.id = MailboxId(7);
    m.user_id = Some(UserId(3));
    m.owner_user_id = Some(UserId(3));
    m
}

fn queue_mailbox() -> Mailbox {
    let mut m = Mailbox::new("Support".into(), "support@contoso.test".into(), now());
    m.queue_id = Some(QueueId(2));
    m
}

fn forward_mailbox() -> Mailbox {
    let mut m = Mailbox::new("Forward".into(), "forward@contoso.test".into(), now());
    m.is_forward_mailbox = true;
    m
}

fn user(can_approve: bool) -> User {
    User {
        id: UserId(3),
        full_name: "Nancy Anderson".into(),
        primary_email: "nancy@contoso.test".into(),
        can_approve_email: can_approve,
        incoming_filtering_method: FilteringMethod::ResponsesToCrmEmail,
        state: RecordState::Active,
        created_on: now(),
        modified_on: now(),
        mailbox_id: Some(MailboxId(7)),
    }
}

fn code(r: Result<()>) -> &'static str {
    match r {
        Ok(()) => "ok",
        Err(e) => e.code(),
    }
}

#[test]
fn the_sample_profiles_of_each_server_type_are_valid() {
    for p in [imap(), pop3(), exchange_server(), exchange_online()] {
        assert_eq!(
            code(validate_profile(&p, &settings())),
            "ok",
            "{}: {:?}",
            p.name,
            validate_profile(&p, &settings())
        );
    }
}

#[test]
fn profile_rules() {
    type Case = (&'static str, fn() -> Profile, &'static str);
    let cases: Vec<Case> = vec![
        ("name is required", || Profile { name: " ".into(), ..imap() }, "field.required"),
        ("name at most 100 characters", || Profile { name: "x".repeat(101), ..imap() }, "field.too_long"),
        ("polling interval 0..1440", || Profile { min_polling_interval_minutes: 1441, ..imap() }, "field.out_of_range"),
        ("concurrency at least 1", || Profile { max_concurrent_connections: 0, ..imap() }, "field.out_of_range"),
        ("concurrency at most 300", || Profile { max_concurrent_connections: 301, ..imap() }, "field.out_of_range"),
        ("timeout at most 100 s", || Profile { timeout_seconds: 101, ..imap() }, "field.out_of_range"),
        (
            "anonymous is never valid",
            || Profile { incoming_credential_mode: CredentialMode::Anonymous, ..imap() },
            "profile.credentials.anonymous_not_valid",
        ),
        (
            "anonymous is never valid for outgoing either",
            || Profile {
                use_same_settings_for_outgoing: false,
                outgoing_credential_mode: CredentialMode::Anonymous,
                ..imap()
            },
            "profile.credentials.anonymous_not_valid",
        ),
        (
            "Exchange Online accepts only app-only OAuth",
            || Profile { incoming_credential_mode: CredentialMode::Profile, ..exchange_online() },
            "profile.exchange_online.oauth_only",
        ),
        (
            "Exchange Online refuses server-to-server (Graph app-only replaces it)",
            || Profile { incoming_credential_mode: CredentialMode::ServerToServer, ..exchange_online() },
            "profile.exchange_online.oauth_only",
        ),
        (
            "Windows Integrated Authentication is not offered",
            || Profile { incoming_credential_mode: CredentialMode::WindowsIntegrated, ..exchange_server() },
            "profile.credential_mode.not_allowed",
        ),
        (
            "IMAP takes no Entra HMA",
            || Profile { incoming_credential_mode: CredentialMode::ExchangeHybridModernAuth, ..imap() },
            "profile.credential_mode.not_allowed",
        ),
        (
            "NTLM is for Exchange Server only",
            || Profile { incoming_auth_protocol: AuthProtocol::Ntlm, ..imap() },
            "profile.auth_protocol.not_allowed",
        ),
        (
            "auto discover does not apply to IMAP",
            || Profile { use_autodiscover: true, ..imap() },
            "profile.field.not_applicable",
        ),
        (
            "impersonation does not apply to POP3",
            || Profile { incoming_use_impersonation: true, ..pop3() },
            "profile.field.not_applicable",
        ),
        (
            "tenant id does not apply to IMAP",
            || Profile { tenant_id: "72f988bf-86f1-41af-91ab-2d7cd011db47".into(), ..imap() },
            "profile.field.not_applicable",
        ),
        (
            "undeliverable folder does not apply to POP3",
            || Profile { move_failed_to_undeliverable: true, ..pop3() },
            "profile.field.not_applicable",
        ),
        (
            "ports do not apply to Exchange Online",
            || Profile { incoming_port: Some(443), ..exchange_online() },
            "profile.field.not_applicable",
        ),
        (
            "impersonation needs credentials in the profile",
            || Profile {
                incoming_credential_mode: CredentialMode::UserOrQueue,
                incoming_user_name: String::new(),
                ..exchange_server()
            },
            "profile.field.not_applicable",
        ),
        (
            "IMAP needs an incoming location",
            || Profile { incoming_location: String::new(), ..imap() },
            "field.required",
        ),
        (
            "an IMAP location is a host name",
            || Profile { incoming_location: "imap://mail.contoso.test".into(), ..imap() },
            "profile.location.invalid_host",
        ),
        (
            "Exchange Server without auto discover needs EWS URLs",
            || Profile {
                use_autodiscover: false,
                incoming_location: "https://mail.contoso.test/EWS/Exchange.asmx".into(),
                ..exchange_server()
            },
            "field.required",
        ),
        (
            "an EWS URL with SSL is https",
            || Profile {
                use_autodiscover: false,
                incoming_location: "http://mail.contoso.test/EWS/Exchange.asmx".into(),
                outgoing_location: "https://mail.contoso.test/EWS/Exchange.asmx".into(),
                ..exchange_server()
            },
            "profile.location.invalid_url",
        ),
        ("ports are 1..65535", || Profile { incoming_port: Some(0), ..imap() }, "field.out_of_range"),
        (
            "Exchange Online needs a GUID tenant id",
            || Profile { tenant_id: "contoso.onmicrosoft.com".into(), ..exchange_online() },
            "field.not_a_guid",
        ),
        (
            "Exchange Online needs a client id",
            || Profile { oauth_client_id: String::new(), ..exchange_online() },
            "field.required",
        ),
        (
            "a service account needs a user name",
            || Profile { incoming_user_name: String::new(), ..exchange_server() },
            "field.required",
        ),
        (
            "no profile password over a connection without TLS",
            || Profile { incoming_use_ssl: false, is_incoming_password_set: true, ..exchange_server() },
            "credentials.insecure_channel",
        ),
        (
            "the outgoing connection counts too when settings are shared",
            || Profile { outgoing_use_ssl: false, is_incoming_password_set: true, ..exchange_server() },
            "credentials.insecure_channel",
        ),
    ];
    for (rule, make, expected) in cases {
        let p = make();
        assert_eq!(code(validate_profile(&p, &settings())), expected, "rule: {rule}");
    }
}

#[test]
fn the_organisation_may_allow_credentials_over_insecure_channels() {
    let p = Profile { incoming_use_ssl: false, is_incoming_password_set: true, ..exchange_server() };
    let s = OrgSettings { allow_credentials_over_insecure_channels: true, ..settings() };
    assert_eq!(code(validate_profile(&p, &s)), "ok");
}

#[test]
fn save_fills_default_ports_per_server_type_and_tls_mode() {
    let cases = [
        (ServerType::ImapSmtp, true, None, Some(993), Some(587)),
        (ServerType::ImapSmtp, true, Some(TlsMode::StartTls), Some(143), Some(587)),
        (ServerType::ImapSmtp, false, None, Some(143), Some(25)),
        (ServerType::Pop3Smtp, true, None, Some(995), Some(587)),
        (ServerType::Pop3Smtp, false, None, Some(110), Some(25)),
        (ServerType::ExchangeServer, true, None, Some(443), Some(443)),
        (ServerType::ExchangeOnline, true, None, None, None),
    ];
    for (t, ssl, tls_in, port_in, port_out) in cases {
        let mut p = Profile::new(t, "p".into(), now());
        p.incoming_use_ssl = ssl;
        p.outgoing_use_ssl = ssl;
        if tls_in.is_some() {
            p.incoming_tls_mode = tls_in;
        }
        normalize_profile(&mut p);
        assert_eq!((p.incoming_port, p.outgoing_port), (port_in, port_out), "{t} ssl={ssl} tls={tls_in:?}");
    }
}

#[test]
fn an_explicit_port_is_kept_on_save() {
    let mut p = Profile { incoming_port: Some(1993), ..imap() };
    normalize_profile(&mut p);
    assert_eq!(p.incoming_port, Some(1993));
}

#[test]
fn use_same_settings_for_outgoing_copies_the_incoming_mode_and_clears_hidden_fields() {
    let mut p = Profile {
        use_same_settings_for_outgoing: true,
        outgoing_credential_mode: CredentialMode::Profile,
        outgoing_user_name: "stale".into(),
        ..imap()
    };
    normalize_profile(&mut p);
    assert_eq!(p.outgoing_credential_mode, CredentialMode::UserOrQueue);
    assert!(p.outgoing_user_name.is_empty());
}

#[test]
fn field_visibility_follows_server_type_and_credential_mode() {
    let v = profile_field_visibility(&imap()).fields;
    assert!(v.contains(&F::IncomingLocation) && v.contains(&F::IncomingTlsMode));
    assert!(!v.contains(&F::UseAutodiscover) && !v.contains(&F::TenantId) && !v.contains(&F::IncomingUserName));
    let v = profile_field_visibility(&exchange_online()).fields;
    assert!(v.contains(&F::TenantId) && v.contains(&F::OauthClientId));
    assert!(!v.contains(&F::IncomingPort) && !v.contains(&F::IncomingLocation));
    let v = profile_field_visibility(&exchange_server()).fields;
    assert!(v.contains(&F::UseAutodiscover) && v.contains(&F::IncomingUseImpersonation));
    assert!(!v.contains(&F::IncomingLocation), "auto discover hides the locations");
    let v = profile_field_visibility(&pop3()).fields;
    assert!(!v.contains(&F::MoveFailedToUndeliverable));
    assert_eq!(profile_field_visibility(&exchange_online()).credential_modes, vec![CredentialMode::OauthEntraId]);
}

#[test]
fn mailbox_rules() {
    type Case = (&'static str, fn() -> (Mailbox, Option<Profile>), &'static str);
    let cases: Vec<Case> = vec![
        (
            "ACT by server-side sync is refused on a POP3 profile",
            || (Mailbox { act_method: ActMethod::ServerSideSync, ..user_mailbox() }, Some(pop3())),
            "mailbox.act.not_supported_for_server_type",
        ),
        (
            "ACT by server-side sync is refused on an IMAP profile",
            || (Mailbox { act_method: ActMethod::ServerSideSync, ..user_mailbox() }, Some(imap())),
            "mailbox.act.not_supported_for_server_type",
        ),
        (
            "ACT by server-side sync is refused on a queue mailbox",
            || (Mailbox { act_method: ActMethod::ServerSideSync, ..queue_mailbox() }, Some(exchange_online())),
            "mailbox.act.not_supported_for_queue",
        ),
        (
            "ACT by server-side sync is refused with delegation (no impersonation)",
            || {
                let mut p = exchange_server();
                p.incoming_use_impersonation = false;
                (Mailbox { act_method: ActMethod::ServerSideSync, ..user_mailbox() }, Some(p))
            },
            "mailbox.act.requires_impersonation",
        ),
        (
            "a forward mailbox sends nothing",
            || (Mailbox { outgoing_method: OutgoingMethod::ServerSideSync, ..forward_mailbox() }, Some(imap())),
            "mailbox.forward.outgoing_must_be_none",
        ),
        (
            "a forward mailbox does not forward to itself",
            || (Mailbox { incoming_method: IncomingMethod::ForwardMailbox, ..forward_mailbox() }, Some(imap())),
            "mailbox.forward.incoming_cannot_be_forward",
        ),
        (
            "delete after processing is refused on a user mailbox",
            || (Mailbox { delete_after_processing: true, ..user_mailbox() }, Some(imap())),
            "mailbox.delete_after_processing.not_allowed",
        ),
        (
            "allowing credentials needs a user name",
            || (Mailbox { allow_credentials: true, is_password_set: true, ..user_mailbox() }, Some(imap())),
            "mailbox.credentials.user_name_required",
        ),
        (
            "allowing credentials needs a password",
            || (Mailbox { allow_credentials: true, user_name: "nancy".into(), ..user_mailbox() }, Some(imap())),
            "mailbox.credentials.password_required",
        ),
        (
            "no mailbox password over a connection without TLS",
            || {
                let mut p = imap();
                p.outgoing_use_ssl = false;
                let m =
                    Mailbox { allow_credentials: true, user_name: "n".into(), is_password_set: true, ..user_mailbox() };
                (m, Some(p))
            },
            "credentials.insecure_channel",
        ),
        (
            "the address must be an email address",
            || (Mailbox { email_address: "nancy at contoso".into(), ..user_mailbox() }, Some(imap())),
            "field.not_an_email",
        ),
    ];
    for (rule, make, expected) in cases {
        let (m, p) = make();
        assert_eq!(code(validate_mailbox(&m, p.as_ref(), &settings())), expected, "rule: {rule}");
    }
}

#[test]
fn what_the_mailbox_rules_allow() {
    let ok: Vec<(Mailbox, Profile)> = vec![
        (Mailbox { act_method: ActMethod::ServerSideSync, ..user_mailbox() }, exchange_server()),
        (Mailbox { act_method: ActMethod::ServerSideSync, ..user_mailbox() }, exchange_online()),
        (Mailbox { delete_after_processing: true, ..queue_mailbox() }, imap()),
        (Mailbox { delete_after_processing: true, ..forward_mailbox() }, pop3()),
        (Mailbox { act_method: ActMethod::None, ..user_mailbox() }, pop3()),
    ];
    for (m, p) in ok {
        assert_eq!(code(validate_mailbox(&m, Some(&p), &settings())), "ok", "{} on {}", m.name, p.name);
    }
}

fn ready_mailbox() -> Mailbox {
    Mailbox {
        profile_id: Some(ProfileId(1)),
        incoming_method: IncomingMethod::ServerSideSync,
        outgoing_method: OutgoingMethod::ServerSideSync,
        email_address_status: EmailAddressStatus::Approved,
        allow_credentials: true,
        user_name: "nancy".into(),
        is_password_set: true,
        ..user_mailbox()
    }
}

#[test]
fn processing_preconditions() {
    type Case = (&'static str, fn() -> (Mailbox, Option<Profile>, OrgSettings), &'static str);
    let cases: Vec<Case> = vec![
        ("a ready mailbox is processed", || (ready_mailbox(), Some(imap()), settings()), "ok"),
        (
            "an unapproved mailbox is not processed when approval is required",
            || {
                (
                    Mailbox { email_address_status: EmailAddressStatus::PendingApproval, ..ready_mailbox() },
                    Some(imap()),
                    settings(),
                )
            },
            "mailbox.not_approved",
        ),
        (
            "a rejected mailbox is not processed when approval is required",
            || {
                (
                    Mailbox { email_address_status: EmailAddressStatus::Rejected, ..ready_mailbox() },
                    Some(imap()),
                    settings(),
                )
            },
            "mailbox.not_approved",
        ),
        (
            "an unapproved mailbox is processed when the organisation does not require approval",
            || {
                let s = OrgSettings { require_approval_for_user_email: false, ..settings() };
                (
                    Mailbox { email_address_status: EmailAddressStatus::PendingApproval, ..ready_mailbox() },
                    Some(imap()),
                    s,
                )
            },
            "ok",
        ),
        (
            "queue approval follows the queue setting",
            || {
                let s = OrgSettings { require_approval_for_user_email: false, ..settings() };
                let mut m = Mailbox { email_address_status: EmailAddressStatus::PendingApproval, ..ready_mailbox() };
                m.user_id = None;
                m.queue_id = Some(QueueId(1));
                (m, Some(imap()), s)
            },
            "mailbox.not_approved",
        ),
        (
            "an inactive mailbox is not processed",
            || (Mailbox { state: RecordState::Inactive, ..ready_mailbox() }, Some(imap()), settings()),
            "mailbox.inactive",
        ),
        ("no profile, no processing", || (ready_mailbox(), None, settings()), "mailbox.profile.missing_or_inactive"),
        (
            "an inactive profile, no processing",
            || (ready_mailbox(), Some(Profile { state: RecordState::Inactive, ..imap() }), settings()),
            "mailbox.profile.missing_or_inactive",
        ),
        (
            "credentials specified by a user or queue require the mailbox's user name and password",
            || {
                (
                    Mailbox { allow_credentials: false, is_password_set: false, ..ready_mailbox() },
                    Some(imap()),
                    settings(),
                )
            },
            "mailbox.credentials.missing",
        ),
        (
            "credentials in the profile require the profile's password",
            || (ready_mailbox(), Some(exchange_server()), settings()),
            "profile.credentials.missing",
        ),
        (
            "a workload set to None is not processed",
            || (Mailbox { incoming_method: IncomingMethod::None, ..ready_mailbox() }, Some(imap()), settings()),
            "mailbox.workload.not_configured",
        ),
    ];
    for (rule, make, expected) in cases {
        let (m, p, s) = make();
        assert_eq!(code(check_processable(&m, p.as_ref(), &s, Workload::Incoming)), expected, "rule: {rule}");
    }
}

#[test]
fn effective_process_email_from_is_the_later_date() {
    let early = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single();
    let late = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).single();
    let cases = [
        ("profile later", late, early, late),
        ("mailbox later", early, late, late),
        ("equal", early, early, early),
        ("mailbox missing", late, None, late),
        ("profile missing", None, early, early),
        ("both missing", None, None, None),
    ];
    for (case, profile, mailbox, expected) in cases {
        assert_eq!(effective_process_email_from(profile, mailbox), expected, "{case}");
    }
}

#[test]
fn approval_rules() {
    let s = settings();
    let m = user_mailbox();
    let approver = user(true);
    let plain = user(false);
    let mut other = user(false);
    other.id = UserId(9);
    other.primary_email = "someone@contoso.test".into();
    let inactive = User { state: RecordState::Inactive, ..user(true) };
    let strict = OrgSettings { require_privilege_to_self_approve: true, ..settings() };
    let different_upn = User { primary_email: "nancy.old@contoso.test".into(), ..user(false) };
    let cases: Vec<(&str, Actor<'_>, &Mailbox, &OrgSettings, bool, &str)> = vec![
        ("the administrator approves", Actor::Administrator, &m, &s, false, "ok"),
        ("a user with the privilege approves", Actor::User(&approver), &m, &s, false, "ok"),
        ("a user approves their own mailbox", Actor::User(&plain), &m, &s, false, "ok"),
        (
            "self-approval needs the address to be the user's",
            Actor::User(&different_upn),
            &m,
            &s,
            false,
            "approval.not_permitted",
        ),
        (
            "self-approval off when the privilege is required",
            Actor::User(&plain),
            &m,
            &strict,
            false,
            "approval.not_permitted",
        ),
        (
            "nobody approves someone else's mailbox without the privilege",
            Actor::User(&other),
            &m,
            &s,
            false,
            "approval.not_permitted",
        ),
        ("an inactive user approves nothing", Actor::User(&inactive), &m, &s, false, "approval.actor_inactive"),
        (
            "rejecting needs the privilege, even for one's own mailbox",
            Actor::User(&plain),
            &m,
            &s,
            true,
            "approval.not_permitted",
        ),
    ];
    for (rule, actor, mbx, st, rejecting, expected) in cases {
        assert_eq!(code(may_change_approval(actor, mbx, st, rejecting)), expected, "rule: {rule}");
    }
    let q = Mailbox {
        user_id: None,
        queue_id: Some(QueueId(1)),
        email_address: "nancy@contoso.test".into(),
        ..user_mailbox()
    };
    assert_eq!(
        code(may_change_approval(Actor::User(&plain), &q, &s, false)),
        "approval.not_permitted",
        "no self-approval of a queue"
    );
    let empty = Mailbox { email_address: String::new(), ..user_mailbox() };
    assert_eq!(code(may_change_approval(Actor::Administrator, &empty, &s, false)), "approval.email_address_empty");
}

#[test]
fn approve_and_reject_stamp_and_clear_approved_by_and_on() {
    let mut m = user_mailbox();
    let u = user(true);
    approve(&mut m, Actor::User(&u), now());
    assert_eq!(
        (m.email_address_status, m.approved_by_user_id, m.approved_on),
        (EmailAddressStatus::Approved, Some(UserId(3)), Some(now()))
    );
    reject(&mut m);
    assert_eq!(
        (m.email_address_status, m.approved_by_user_id, m.approved_on),
        (EmailAddressStatus::Rejected, None, None)
    );
}

#[test]
fn changing_the_address_withdraws_approval() {
    let mut m = user_mailbox();
    approve(&mut m, Actor::Administrator, now());
    m.change_email_address("NANCY@contoso.test");
    assert_eq!(m.email_address_status, EmailAddressStatus::Approved, "a change of case is the same address");
    m.change_email_address("nancy.a@contoso.test");
    assert_eq!(
        (m.email_address_status, m.approved_on, m.approved_by_administrator),
        (EmailAddressStatus::PendingApproval, None, false)
    );
    m.change_email_address("");
    assert_eq!(m.email_address_status, EmailAddressStatus::Empty);
}

#[test]
fn apply_default_email_settings_respects_the_mailbox_kind() {
    let s = OrgSettings {
        default_profile_id: Some(ProfileId(4)),
        default_incoming_method: IncomingMethod::ServerSideSync,
        default_outgoing_method: OutgoingMethod::ServerSideSync,
        default_act_method: ActMethod::ServerSideSync,
        ..settings()
    };
    let mut u = user_mailbox();
    apply_default_email_settings(&mut u, &s);
    assert_eq!(
        (u.profile_id, u.incoming_method, u.outgoing_method, u.act_method),
        (Some(ProfileId(4)), IncomingMethod::ServerSideSync, OutgoingMethod::ServerSideSync, ActMethod::ServerSideSync)
    );
    let mut q = queue_mailbox();
    apply_default_email_settings(&mut q, &s);
    assert_eq!(
        (q.outgoing_method, q.act_method),
        (OutgoingMethod::ServerSideSync, ActMethod::None),
        "queues have no ACT"
    );
    let mut f = forward_mailbox();
    apply_default_email_settings(&mut f, &s);
    assert_eq!(
        (f.outgoing_method, f.act_method),
        (OutgoingMethod::None, ActMethod::None),
        "forward mailboxes send nothing"
    );
}

#[test]
fn settings_rules() {
    type Case = (&'static str, fn() -> OrgSettings, Option<Profile>, &'static str);
    let cases: Vec<Case> = vec![
        ("defaults are valid", settings, None, "ok"),
        (
            "the Email Router is out of scope",
            || OrgSettings { process_email_using: ProcessEmailUsing::EmailRouter, ..settings() },
            None,
            "settings.email_router.not_supported",
        ),
        (
            "prefix 1..20 characters",
            || OrgSettings { tracking_prefix: "x".repeat(21), ..settings() },
            None,
            "field.too_long",
        ),
        ("prefix required", || OrgSettings { tracking_prefix: String::new(), ..settings() }, None, "field.required"),
        ("user digits 1..10", || OrgSettings { tracking_user_digits: 11, ..settings() }, None, "field.out_of_range"),
        (
            "counter digits 1..9",
            || OrgSettings { tracking_counter_digits: 0, ..settings() },
            None,
            "field.out_of_range",
        ),
        (
            "folder mappings 1..25",
            || OrgSettings { max_folder_tracking_mappings: 26, ..settings() },
            None,
            "field.out_of_range",
        ),
        (
            "attachments up to 131072 KB",
            || OrgSettings { max_attachment_size_kb: 131_073, ..settings() },
            None,
            "field.out_of_range",
        ),
        (
            "default profile must be active",
            settings,
            Some(Profile { state: RecordState::Inactive, ..imap() }),
            "settings.default_profile.inactive",
        ),
        (
            "default ACT by SSS needs an Exchange default profile",
            || OrgSettings { default_act_method: ActMethod::ServerSideSync, ..settings() },
            Some(pop3()),
            "mailbox.act.not_supported_for_server_type",
        ),
    ];
    for (rule, make, profile, expected) in cases {
        assert_eq!(code(validate_settings(&make(), profile.as_ref())), expected, "rule: {rule}");
    }
}

#[test]
fn profile_secrets_are_accepted_only_where_the_form_asks_for_them() {
    let mut p = imap();
    assert_eq!(
        code(accept_profile_secret(&mut p, ProfileSecretKind::IncomingPassword, &settings())),
        "profile.password.not_used"
    );
    let mut p = exchange_server();
    assert_eq!(code(accept_profile_secret(&mut p, ProfileSecretKind::IncomingPassword, &settings())), "ok");
    assert!(p.is_incoming_password_set);
    let mut p = exchange_online();
    assert_eq!(code(accept_profile_secret(&mut p, ProfileSecretKind::OauthSecret, &settings())), "ok");
    let mut p = Profile { incoming_use_ssl: false, ..exchange_server() };
    assert_eq!(
        code(accept_profile_secret(&mut p, ProfileSecretKind::IncomingPassword, &settings())),
        "credentials.insecure_channel"
    );
    let _ = (OauthCredentialKind::Certificate, ServerAuthority::China);
}

#[test]
fn email_and_host_syntax() {
    for ok in ["a@b.test", "nancy.anderson+crm@contoso.co.jp", "alice@localhost", "x@127.0.0.1"] {
        assert!(is_valid_email(ok), "{ok}");
    }
    for bad in ["", "a", "@b.test", "a@", "a b@c.test", "a@b@c", "a@-b.test", "<a@b.test>"] {
        assert!(!is_valid_email(bad), "{bad}");
    }
    assert!(is_valid_http_url("https://mail.contoso.test:8443/EWS/Exchange.asmx", true));
    assert!(!is_valid_http_url("ftp://mail.contoso.test", false));
    assert!(is_guid("72f988bf-86f1-41af-91ab-2d7cd011db47"));
    assert!(!is_guid("72f988bf86f141af91ab2d7cd011db47"));
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn effective_date_is_never_earlier_than_either_input(a in proptest::option::of(0i64..4_000_000_000), b in proptest::option::of(0i64..4_000_000_000)) {
            let ts = |s: i64| Utc.timestamp_opt(s, 0).single();
            let (pa, pb) = (a.and_then(ts), b.and_then(ts));
            let eff = effective_process_email_from(pa, pb);
            prop_assert_eq!(eff.is_some(), pa.is_some() || pb.is_some());
            if let Some(e) = eff {
                prop_assert!(pa.is_none_or(|x| e >= x));
                prop_assert!(pb.is_none_or(|x| e >= x));
                prop_assert!(Some(e) == pa || Some(e) == pb);
            }
        }

        #[test]
        fn host_check_never_panics_and_refuses_spaces(s in ".{0,80}") {
            let ok = is_valid_host(&s);
            if s.contains(' ') { prop_assert!(!ok); }
        }
    }
}
