//! The rules of the email configuration, as pure functions over records. Every rule refuses with
//! a stable code (see `engine/i18n/en.json` for its wording); nothing here reads a clock, a
//! database or a keychain.

use super::{
    ActMethod, AuthProtocol, CredentialMode, EmailAddressStatus, IncomingMethod, Mailbox, MailboxKind, OrgSettings,
    OutgoingMethod, ProcessEmailUsing, Profile, RecordState, ServerType, Timestamp, TlsMode, User,
};
use crate::{Error, ErrorKind, Result};
use serde::Serialize;

// ---------------------------------------------------------------------------------------------
// Small field checks

fn required(field: &'static str, value: &str) -> Result<()> {
    if value.trim().is_empty() { Err(Error::validation("field.required").param("field", field)) } else { Ok(()) }
}

fn max_len(field: &'static str, value: &str, max: usize) -> Result<()> {
    if value.chars().count() > max {
        Err(Error::validation("field.too_long").param("field", field).param("max", max))
    } else {
        Ok(())
    }
}

fn in_range(field: &'static str, value: u64, min: u64, max: u64) -> Result<()> {
    if value < min || value > max {
        Err(Error::validation("field.out_of_range")
            .param("field", field)
            .param("min", min)
            .param("max", max)
            .param("value", value))
    } else {
        Ok(())
    }
}

/// A syntactically valid email address (one `@`, a non-empty local part, a dotted or `localhost`
/// domain, no spaces or control characters). Deliverability is for Test & Enable to find out.
pub fn is_valid_email(address: &str) -> bool {
    let Some((local, domain)) = address.split_once('@') else {
        return false;
    };
    let bad = |c: char| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '(' | ')' | ',' | ';' | '"');
    !local.is_empty()
        && local.len() <= 64
        && !domain.is_empty()
        && !domain.contains('@')
        && !address.chars().any(bad)
        && is_valid_host(domain)
}

/// A host name or IP literal as typed in a location field (no scheme, no port, no path).
pub fn is_valid_host(host: &str) -> bool {
    if host.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// An `https://` (or, without SSL, `http://`) URL with a valid host, as an EWS URL must be.
pub fn is_valid_http_url(url: &str, require_https: bool) -> bool {
    let rest = if let Some(r) = url.strip_prefix("https://") {
        r
    } else if let Some(r) = url.strip_prefix("http://") {
        if require_https {
            return false;
        }
        r
    } else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) && !port.is_empty() => h,
        _ => authority,
    };
    !url.chars().any(char::is_whitespace) && is_valid_host(host.trim_start_matches('[').trim_end_matches(']'))
}

/// A GUID in its 8-4-4-4-12 text form.
pub fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

// ---------------------------------------------------------------------------------------------
// Email server profile: the per-server-type configuration matrix (spec §2.1.3, §2.1.4, §3.15)

/// The credential modes a server type accepts, in the order a form lists them.
pub fn allowed_credential_modes(server_type: ServerType) -> &'static [CredentialMode] {
    match server_type {
        // Decision 1: Exchange Online is Microsoft Graph with app-only OAuth, nothing else.
        ServerType::ExchangeOnline => &[CredentialMode::OauthEntraId],
        ServerType::ExchangeServer => {
            &[CredentialMode::Profile, CredentialMode::UserOrQueue, CredentialMode::ExchangeHybridModernAuth]
        }
        ServerType::ImapSmtp | ServerType::Pop3Smtp => {
            &[CredentialMode::UserOrQueue, CredentialMode::Profile, CredentialMode::UserOauth]
        }
    }
}

/// The authentication protocols a server type accepts.
pub fn allowed_auth_protocols(server_type: ServerType) -> &'static [AuthProtocol] {
    match server_type {
        ServerType::ExchangeOnline => &[AuthProtocol::Oauth],
        ServerType::ExchangeServer => &[
            AuthProtocol::AutoDetect,
            AuthProtocol::Negotiate,
            AuthProtocol::Ntlm,
            AuthProtocol::Basic,
            AuthProtocol::Oauth,
        ],
        ServerType::ImapSmtp | ServerType::Pop3Smtp => {
            &[AuthProtocol::AutoDetect, AuthProtocol::Basic, AuthProtocol::Oauth]
        }
    }
}

/// The default port of a connection, filled in on save when the field is empty.
pub fn default_port(server_type: ServerType, incoming: bool, use_ssl: bool, tls: Option<TlsMode>) -> Option<u16> {
    let implicit = use_ssl && tls != Some(TlsMode::StartTls);
    match (server_type, incoming) {
        (ServerType::ExchangeOnline, _) => None,
        (ServerType::ExchangeServer, _) => Some(if use_ssl { 443 } else { 80 }),
        (ServerType::ImapSmtp, true) => Some(if implicit { 993 } else { 143 }),
        (ServerType::Pop3Smtp, true) => Some(if implicit { 995 } else { 110 }),
        (ServerType::ImapSmtp | ServerType::Pop3Smtp, false) => Some(if !use_ssl {
            25
        } else if implicit {
            465
        } else {
            587
        }),
    }
}

/// Which form fields apply to a profile as it stands (server type, credential modes, "use same
/// settings"). The UI shows exactly these; the engine refuses a value in any other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ProfileFieldVisibility {
    pub fields: Vec<&'static str>,
    pub credential_modes: Vec<CredentialMode>,
    pub auth_protocols: Vec<AuthProtocol>,
}

/// The fields that apply to `p` (see [`ProfileFieldVisibility`]).
pub fn profile_field_visibility(p: &Profile) -> ProfileFieldVisibility {
    let t = p.server_type;
    let mut f: Vec<&'static str> = vec![
        "name",
        "description",
        "owner_user_id",
        "process_email_from",
        "min_polling_interval_minutes",
        "max_concurrent_connections",
        "send_alert_email",
        "timeout_mailbox_connection",
        "incoming_credential_mode",
    ];
    if p.timeout_mailbox_connection {
        f.push("timeout_seconds");
    }
    let entra_app = t == ServerType::ExchangeOnline
        || p.incoming_credential_mode == CredentialMode::ExchangeHybridModernAuth
        || p.effective_outgoing_mode() == CredentialMode::ExchangeHybridModernAuth;
    if entra_app {
        f.extend(["tenant_id", "oauth_client_id", "oauth_credential_kind", "server_authority"]);
    }
    if t == ServerType::ExchangeServer && entra_app {
        f.push("aad_resource_id");
    }
    if p.incoming_credential_mode == CredentialMode::UserOauth
        || p.effective_outgoing_mode() == CredentialMode::UserOauth
    {
        f.push("oauth_client_id");
    }
    if t == ServerType::ExchangeServer {
        f.push("use_autodiscover");
    }
    if t != ServerType::ExchangeOnline {
        if !(t == ServerType::ExchangeServer && p.use_autodiscover) {
            f.extend(["incoming_location", "outgoing_location"]);
        }
        f.extend([
            "use_same_settings_for_outgoing",
            "incoming_port",
            "outgoing_port",
            "incoming_use_ssl",
            "outgoing_use_ssl",
            "incoming_auth_protocol",
            "outgoing_auth_protocol",
            "ca_file",
        ]);
        if t != ServerType::ExchangeServer {
            if p.incoming_use_ssl {
                f.push("incoming_tls_mode");
            }
            if p.outgoing_use_ssl {
                f.push("outgoing_tls_mode");
            }
        }
        if p.incoming_credential_mode == CredentialMode::Profile {
            f.push("incoming_user_name");
        }
        if !p.use_same_settings_for_outgoing {
            f.push("outgoing_credential_mode");
            if p.outgoing_credential_mode == CredentialMode::Profile {
                f.push("outgoing_user_name");
            }
        }
        if t == ServerType::ExchangeServer {
            if p.incoming_credential_mode == CredentialMode::Profile {
                f.push("incoming_use_impersonation");
            }
            if !p.use_same_settings_for_outgoing && p.outgoing_credential_mode == CredentialMode::Profile {
                f.push("outgoing_use_impersonation");
            }
        }
    }
    if t != ServerType::Pop3Smtp {
        f.push("move_failed_to_undeliverable");
    }
    f.sort_unstable();
    f.dedup();
    ProfileFieldVisibility {
        fields: f,
        credential_modes: allowed_credential_modes(t).to_vec(),
        auth_protocols: allowed_auth_protocols(t).to_vec(),
    }
}

/// The type-specific fields of a profile and whether each holds a value (differs from "unset").
fn type_specific_values(p: &Profile) -> [(&'static str, bool); 20] {
    [
        ("tenant_id", !p.tenant_id.is_empty()),
        ("oauth_client_id", !p.oauth_client_id.is_empty()),
        ("oauth_credential_kind", p.oauth_credential_kind.is_some()),
        ("server_authority", p.server_authority.is_some()),
        ("aad_resource_id", !p.aad_resource_id.is_empty()),
        ("use_autodiscover", p.use_autodiscover),
        ("incoming_location", !p.incoming_location.is_empty()),
        ("outgoing_location", !p.outgoing_location.is_empty()),
        ("incoming_user_name", !p.incoming_user_name.is_empty()),
        ("outgoing_user_name", !p.outgoing_user_name.is_empty()),
        ("incoming_use_impersonation", p.incoming_use_impersonation),
        ("outgoing_use_impersonation", p.outgoing_use_impersonation),
        ("incoming_port", p.incoming_port.is_some()),
        ("outgoing_port", p.outgoing_port.is_some()),
        ("incoming_tls_mode", p.incoming_tls_mode.is_some()),
        ("outgoing_tls_mode", p.outgoing_tls_mode.is_some()),
        ("ca_file", !p.ca_file.is_empty()),
        ("move_failed_to_undeliverable", p.move_failed_to_undeliverable),
        ("timeout_seconds", false),
        ("use_same_settings_for_outgoing", !p.use_same_settings_for_outgoing),
    ]
}

/// Clears every type-specific field that does not apply to `p` and fills default ports and TLS
/// modes: what Save does before validating, so that a hidden field never keeps a stale value
/// (e.g. the outgoing user name after "use same settings" is switched back on).
pub fn normalize_profile(p: &mut Profile) {
    let visible = profile_field_visibility(p).fields;
    let shown = |f: &str| visible.contains(&f);
    if p.use_same_settings_for_outgoing {
        p.outgoing_credential_mode = p.incoming_credential_mode;
        p.outgoing_user_name.clear();
        p.outgoing_use_impersonation = false;
    }
    if !shown("incoming_user_name") {
        p.incoming_user_name.clear();
    }
    if !shown("outgoing_user_name") {
        p.outgoing_user_name.clear();
    }
    if !shown("incoming_use_impersonation") {
        p.incoming_use_impersonation = false;
    }
    if !shown("outgoing_use_impersonation") {
        p.outgoing_use_impersonation = false;
    }
    if !shown("incoming_tls_mode") {
        p.incoming_tls_mode = None;
    } else if p.incoming_tls_mode.is_none() {
        p.incoming_tls_mode = Some(TlsMode::Implicit);
    }
    if !shown("outgoing_tls_mode") {
        p.outgoing_tls_mode = None;
    } else if p.outgoing_tls_mode.is_none() {
        p.outgoing_tls_mode = Some(TlsMode::StartTls);
    }
    if shown("incoming_port") && p.incoming_port.is_none() {
        p.incoming_port = default_port(p.server_type, true, p.incoming_use_ssl, p.incoming_tls_mode);
    }
    if shown("outgoing_port") && p.outgoing_port.is_none() {
        p.outgoing_port = default_port(p.server_type, false, p.outgoing_use_ssl, p.outgoing_tls_mode);
    }
}

/// Validates a whole profile as it would be saved. `settings` decides whether passwords may
/// travel over a connection without TLS.
pub fn validate_profile(p: &Profile, settings: &OrgSettings) -> Result<()> {
    let t = p.server_type;
    required("name", &p.name)?;
    max_len("name", &p.name, 100)?;
    max_len("description", &p.description, 2000)?;
    max_len("incoming_location", &p.incoming_location, 2084)?;
    max_len("outgoing_location", &p.outgoing_location, 2084)?;
    max_len("incoming_user_name", &p.incoming_user_name, 250)?;
    max_len("outgoing_user_name", &p.outgoing_user_name, 250)?;
    max_len("oauth_client_id", &p.oauth_client_id, 1024)?;
    max_len("aad_resource_id", &p.aad_resource_id, 1024)?;
    max_len("ca_file", &p.ca_file, 4096)?;
    in_range("min_polling_interval_minutes", p.min_polling_interval_minutes.into(), 0, 1440)?;
    in_range("max_concurrent_connections", p.max_concurrent_connections.into(), 1, 300)?;
    in_range("timeout_seconds", p.timeout_seconds.into(), 1, 100)?;

    // Credential modes: anonymous never; Exchange Online only app-only OAuth; otherwise the matrix.
    for (field, mode) in [
        ("incoming_credential_mode", p.incoming_credential_mode),
        ("outgoing_credential_mode", p.effective_outgoing_mode()),
    ] {
        if mode == CredentialMode::Anonymous {
            return Err(Error::validation("profile.credentials.anonymous_not_valid").param("field", field));
        }
        if t == ServerType::ExchangeOnline && mode != CredentialMode::OauthEntraId {
            return Err(Error::validation("profile.exchange_online.oauth_only")
                .param("field", field)
                .param("mode", mode));
        }
        if !allowed_credential_modes(t).contains(&mode) {
            return Err(Error::validation("profile.credential_mode.not_allowed")
                .param("field", field)
                .param("mode", mode)
                .param("server_type", t)
                .param("allowed", join(allowed_credential_modes(t))));
        }
    }
    for (field, proto) in
        [("incoming_auth_protocol", p.incoming_auth_protocol), ("outgoing_auth_protocol", p.outgoing_auth_protocol)]
    {
        if !allowed_auth_protocols(t).contains(&proto) {
            return Err(Error::validation("profile.auth_protocol.not_allowed")
                .param("field", field)
                .param("protocol", proto)
                .param("server_type", t)
                .param("allowed", join(allowed_auth_protocols(t))));
        }
    }

    // Fields that do not apply to this server type or credential mode hold no value.
    let visible = profile_field_visibility(p).fields;
    for (field, has_value) in type_specific_values(p) {
        if has_value && !visible.contains(&field) {
            return Err(Error::validation("profile.field.not_applicable")
                .param("field", field)
                .param("server_type", t));
        }
    }

    // Impersonation (Exchange Server) is shown only with one service account (credentials in
    // the profile), so the visibility check above also refuses impersonation with per-mailbox
    // credentials.

    // Locations and ports.
    let needs_locations = visible.contains(&"incoming_location");
    if needs_locations {
        for (field, value, use_ssl) in [
            ("incoming_location", &p.incoming_location, p.incoming_use_ssl),
            ("outgoing_location", &p.outgoing_location, p.outgoing_use_ssl),
        ] {
            required(field, value)?;
            let ok =
                if t == ServerType::ExchangeServer { is_valid_http_url(value, use_ssl) } else { is_valid_host(value) };
            if !ok {
                let code = if t == ServerType::ExchangeServer {
                    "profile.location.invalid_url"
                } else {
                    "profile.location.invalid_host"
                };
                return Err(Error::validation(code).param("field", field).param("value", value));
            }
        }
    }
    for (field, port) in [("incoming_port", p.incoming_port), ("outgoing_port", p.outgoing_port)] {
        if let Some(port) = port {
            in_range(field, port.into(), 1, 65535)?;
        } else if visible.contains(&field) {
            return Err(Error::validation("field.required").param("field", field));
        }
    }

    // Entra app registration (Exchange Online; Exchange Server with HMA).
    if visible.contains(&"tenant_id") {
        required("tenant_id", &p.tenant_id)?;
        if !is_guid(&p.tenant_id) {
            return Err(Error::validation("field.not_a_guid").param("field", "tenant_id"));
        }
        required("oauth_client_id", &p.oauth_client_id)?;
        if !is_guid(&p.oauth_client_id) {
            return Err(Error::validation("field.not_a_guid").param("field", "oauth_client_id"));
        }
        if p.oauth_credential_kind.is_none() {
            return Err(Error::validation("field.required").param("field", "oauth_credential_kind"));
        }
        if p.server_authority.is_none() {
            return Err(Error::validation("field.required").param("field", "server_authority"));
        }
    }
    if visible.contains(&"aad_resource_id") {
        required("aad_resource_id", &p.aad_resource_id)?;
    }
    if p.incoming_credential_mode == CredentialMode::UserOauth
        || p.effective_outgoing_mode() == CredentialMode::UserOauth
    {
        required("oauth_client_id", &p.oauth_client_id)?;
    }

    // A service account needs a user name.
    if p.incoming_credential_mode == CredentialMode::Profile {
        required("incoming_user_name", &p.incoming_user_name)?;
    }
    if !p.use_same_settings_for_outgoing && p.outgoing_credential_mode == CredentialMode::Profile {
        required("outgoing_user_name", &p.outgoing_user_name)?;
    }

    // Passwords stored on the profile never travel without TLS unless the organisation allows it.
    if p.is_incoming_password_set {
        check_secure_channel("incoming_use_ssl", p.incoming_use_ssl, settings)?;
    }
    if p.is_outgoing_password_set || (p.use_same_settings_for_outgoing && p.is_incoming_password_set) {
        check_secure_channel("outgoing_use_ssl", p.outgoing_use_ssl, settings)?;
    }
    Ok(())
}

/// Refuses a password for a connection without TLS unless the organisation allows credentials
/// over insecure channels (spec §3.16; default off).
pub fn check_secure_channel(field: &'static str, use_ssl: bool, settings: &OrgSettings) -> Result<()> {
    if use_ssl || settings.allow_credentials_over_insecure_channels {
        Ok(())
    } else {
        Err(Error::validation("credentials.insecure_channel").param("field", field))
    }
}

/// Which of a profile's secrets a call sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ProfileSecretKind {
    IncomingPassword,
    OutgoingPassword,
    /// The client secret, or the certificate's PEM (certificate and private key), of the Entra app.
    OauthSecret,
}

impl ProfileSecretKind {
    /// Key suffix in the keychain.
    pub fn key_name(self) -> &'static str {
        match self {
            ProfileSecretKind::IncomingPassword => "incoming-password",
            ProfileSecretKind::OutgoingPassword => "outgoing-password",
            ProfileSecretKind::OauthSecret => "oauth-secret",
        }
    }
}

/// Whether a profile accepts a secret of `kind` now, and marks it set on the record.
pub fn accept_profile_secret(p: &mut Profile, kind: ProfileSecretKind, settings: &OrgSettings) -> Result<()> {
    match kind {
        ProfileSecretKind::IncomingPassword => {
            if p.incoming_credential_mode != CredentialMode::Profile {
                return Err(Error::validation("profile.password.not_used").param("field", "incoming_password"));
            }
            p.is_incoming_password_set = true;
        }
        ProfileSecretKind::OutgoingPassword => {
            if p.use_same_settings_for_outgoing || p.outgoing_credential_mode != CredentialMode::Profile {
                return Err(Error::validation("profile.password.not_used").param("field", "outgoing_password"));
            }
            p.is_outgoing_password_set = true;
        }
        ProfileSecretKind::OauthSecret => {
            if !profile_field_visibility(p).fields.contains(&"oauth_client_id") {
                return Err(Error::validation("profile.password.not_used").param("field", "oauth_secret"));
            }
            p.is_oauth_secret_set = true;
        }
    }
    validate_profile(p, settings)
}

fn join<T: std::fmt::Display>(items: &[T]) -> String {
    items.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

// ---------------------------------------------------------------------------------------------
// Mailbox (spec §2.2.2, §3.17, §3.18)

/// Validates a mailbox as it would be saved, against its profile (if any) and the organisation.
pub fn validate_mailbox(m: &Mailbox, profile: Option<&Profile>, settings: &OrgSettings) -> Result<()> {
    required("name", &m.name)?;
    max_len("name", &m.name, 200)?;
    max_len("email_address", &m.email_address, 100)?;
    max_len("user_name", &m.user_name, 200)?;
    if !m.email_address.is_empty() && !is_valid_email(&m.email_address) {
        return Err(Error::validation("field.not_an_email")
            .param("field", "email_address")
            .param("value", &m.email_address));
    }
    let kind = m.kind();
    if m.delete_after_processing && kind == MailboxKind::User {
        return Err(Error::validation("mailbox.delete_after_processing.not_allowed"));
    }
    if kind == MailboxKind::Forward {
        if m.outgoing_method != OutgoingMethod::None {
            return Err(Error::validation("mailbox.forward.outgoing_must_be_none"));
        }
        if m.incoming_method == IncomingMethod::ForwardMailbox {
            return Err(Error::validation("mailbox.forward.incoming_cannot_be_forward"));
        }
    }
    if m.act_method == ActMethod::ServerSideSync {
        if kind != MailboxKind::User {
            return Err(Error::validation("mailbox.act.not_supported_for_queue"));
        }
        if let Some(p) = profile {
            if !p.server_type.is_exchange() {
                return Err(
                    Error::validation("mailbox.act.not_supported_for_server_type").param("server_type", p.server_type)
                );
            }
            if p.server_type == ServerType::ExchangeServer
                && p.incoming_credential_mode == CredentialMode::Profile
                && !p.incoming_use_impersonation
            {
                return Err(Error::validation("mailbox.act.requires_impersonation").param("profile", &p.name));
            }
        }
    }
    if m.allow_credentials {
        if m.user_name.trim().is_empty() {
            return Err(Error::validation("mailbox.credentials.user_name_required"));
        }
        if !m.is_password_set {
            return Err(Error::validation("mailbox.credentials.password_required"));
        }
    }
    if m.is_password_set
        && let Some(p) = profile
    {
        if p.incoming_credential_mode == CredentialMode::UserOrQueue {
            check_secure_channel("incoming_use_ssl", p.incoming_use_ssl, settings)?;
        }
        if p.effective_outgoing_mode() == CredentialMode::UserOrQueue {
            check_secure_channel("outgoing_use_ssl", p.outgoing_use_ssl, settings)?;
        }
    }
    Ok(())
}

/// A workload of a mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Workload {
    Incoming,
    Outgoing,
    Act,
}

impl Workload {
    /// All workloads.
    pub const ALL: [Workload; 3] = [Workload::Incoming, Workload::Outgoing, Workload::Act];

    /// The workload's code in messages and alerts.
    pub fn code(self) -> &'static str {
        match self {
            Workload::Incoming => "incoming",
            Workload::Outgoing => "outgoing",
            Workload::Act => "act",
        }
    }
}

/// Whether the mailbox's synchronization method puts this workload in ServerSync's hands.
pub fn is_configured(m: &Mailbox, w: Workload) -> bool {
    match w {
        Workload::Incoming => m.incoming_method == IncomingMethod::ServerSideSync,
        Workload::Outgoing => m.outgoing_method == OutgoingMethod::ServerSideSync,
        Workload::Act => m.act_method == ActMethod::ServerSideSync,
    }
}

/// Why a mailbox may not be processed for a workload now, or Ok. Checked by Test & Enable and
/// by every sync cycle: inactive mailbox, no or inactive profile, address not approved while the
/// organisation requires approval, delivery method invalid for the server type, missing
/// credentials.
pub fn check_processable(m: &Mailbox, profile: Option<&Profile>, settings: &OrgSettings, w: Workload) -> Result<()> {
    let fail = |code: &'static str| Err(Error::validation(code).param("mailbox", &m.name).param("workload", w.code()));
    if m.state != RecordState::Active {
        return fail("mailbox.inactive");
    }
    if !is_configured(m, w) {
        return fail("mailbox.workload.not_configured");
    }
    let Some(p) = profile.filter(|p| p.state == RecordState::Active) else {
        return fail("mailbox.profile.missing_or_inactive");
    };
    if settings.requires_approval(m.kind()) && m.email_address_status != EmailAddressStatus::Approved {
        return fail("mailbox.not_approved");
    }
    if m.email_address.trim().is_empty() {
        return fail("mailbox.email_address.missing");
    }
    validate_mailbox(m, Some(p), settings)?;
    let mode = if w == Workload::Outgoing { p.effective_outgoing_mode() } else { p.incoming_credential_mode };
    match mode {
        CredentialMode::UserOrQueue if !(m.allow_credentials && m.is_password_set && !m.user_name.is_empty()) => {
            fail("mailbox.credentials.missing")
        }
        CredentialMode::Profile => {
            let set = if w == Workload::Outgoing && !p.use_same_settings_for_outgoing {
                p.is_outgoing_password_set
            } else {
                p.is_incoming_password_set
            };
            if set { Ok(()) } else { fail("profile.credentials.missing") }
        }
        CredentialMode::OauthEntraId | CredentialMode::ExchangeHybridModernAuth if !p.is_oauth_secret_set => {
            fail("profile.credentials.missing")
        }
        _ => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------------
// Dates (spec §3.5)

/// The date from which a mailbox's email is processed: the later of the profile's *Process Email
/// From* and the mailbox's *Process Email Received After*; either may be missing.
pub fn effective_process_email_from(profile: Option<Timestamp>, mailbox: Option<Timestamp>) -> Option<Timestamp> {
    match (profile, mailbox) {
        (Some(p), Some(m)) => Some(p.max(m)),
        (p, m) => p.or(m),
    }
}

// ---------------------------------------------------------------------------------------------
// Approval (spec §3.3)

/// Who asks for an approval.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    /// The person operating ServerSync itself (desktop app or CLI on the server): the system
    /// administrator of this organisation.
    Administrator,
    /// A user of the organisation acting for themselves.
    User(&'a User),
}

/// Whether `actor` may approve (or, with `rejecting`, reject) the address of `m`.
pub fn may_change_approval(actor: Actor<'_>, m: &Mailbox, settings: &OrgSettings, rejecting: bool) -> Result<()> {
    if m.email_address.trim().is_empty() {
        return Err(Error::validation("approval.email_address_empty").param("mailbox", &m.name));
    }
    let user = match actor {
        Actor::Administrator => return Ok(()),
        Actor::User(u) => u,
    };
    let forbidden = |code: &'static str| {
        Err(Error::new(ErrorKind::Forbidden, code).param("user", &user.full_name).param("mailbox", &m.name))
    };
    if user.state != RecordState::Active {
        return forbidden("approval.actor_inactive");
    }
    if user.can_approve_email {
        return Ok(());
    }
    let own_mailbox = m.user_id == Some(user.id) && user.primary_email.eq_ignore_ascii_case(&m.email_address);
    if !rejecting && own_mailbox && !settings.require_privilege_to_self_approve {
        return Ok(());
    }
    forbidden("approval.not_permitted")
}

/// Records an approval on the mailbox.
pub fn approve(m: &mut Mailbox, actor: Actor<'_>, now: Timestamp) {
    m.email_address_status = EmailAddressStatus::Approved;
    m.approved_on = Some(now);
    match actor {
        Actor::Administrator => {
            m.approved_by_user_id = None;
            m.approved_by_administrator = true;
        }
        Actor::User(u) => {
            m.approved_by_user_id = Some(u.id);
            m.approved_by_administrator = false;
        }
    }
}

/// Records a rejection: status Rejected, Approved By/On cleared, and the mailbox no longer enabled.
pub fn reject(m: &mut Mailbox) {
    m.email_address_status = EmailAddressStatus::Rejected;
    m.approved_by_user_id = None;
    m.approved_by_administrator = false;
    m.approved_on = None;
}

// ---------------------------------------------------------------------------------------------
// Defaults (spec §2.3 "Synchronization methods", §3.4)

/// Apply Default Email Settings: the organisation's default profile and synchronization methods,
/// bounded by what the mailbox kind supports (no ACT for queue and forward mailboxes, no outgoing
/// for a forward mailbox). The caller validates the result.
pub fn apply_default_email_settings(m: &mut Mailbox, settings: &OrgSettings) {
    let kind = m.kind();
    m.profile_id = settings.default_profile_id;
    m.incoming_method = match (kind, settings.default_incoming_method) {
        (MailboxKind::Forward, IncomingMethod::ForwardMailbox) => IncomingMethod::ServerSideSync,
        (_, method) => method,
    };
    m.outgoing_method =
        if kind == MailboxKind::Forward { OutgoingMethod::None } else { settings.default_outgoing_method };
    m.act_method = if kind == MailboxKind::User { settings.default_act_method } else { ActMethod::None };
}

/// Validates the organisation's settings (ranges, and defaults that new mailboxes could use).
pub fn validate_settings(s: &OrgSettings, default_profile: Option<&Profile>) -> Result<()> {
    if s.process_email_using != ProcessEmailUsing::ServerSideSync {
        return Err(Error::validation("settings.email_router.not_supported"));
    }
    required("tracking_prefix", &s.tracking_prefix)?;
    max_len("tracking_prefix", &s.tracking_prefix, 20)?;
    if s.tracking_prefix.chars().any(|c| c.is_whitespace() || c == ':') {
        return Err(Error::validation("settings.tracking_prefix.invalid"));
    }
    in_range("tracking_token_base", s.tracking_token_base.into(), 0, 2_147_483_647)?;
    in_range("tracking_user_digits", s.tracking_user_digits.into(), 1, 10)?;
    in_range("tracking_counter_digits", s.tracking_counter_digits.into(), 1, 9)?;
    in_range("max_folder_tracking_mappings", s.max_folder_tracking_mappings.into(), 1, 25)?;
    in_range("max_attachment_size_kb", s.max_attachment_size_kb.into(), 1, 131_072)?;
    in_range("hash_max_count", s.hash_max_count.into(), 1, 1000)?;
    in_range("hash_delta_subject_count", s.hash_delta_subject_count.into(), 0, 1000)?;
    in_range("hash_min_address_count", s.hash_min_address_count.into(), 0, 1000)?;
    max_len("hash_filter_keywords", &s.hash_filter_keywords, 1000)?;
    if let Some(p) = default_profile {
        if p.state != RecordState::Active {
            return Err(Error::validation("settings.default_profile.inactive").param("profile", &p.name));
        }
        if s.default_act_method == ActMethod::ServerSideSync && !p.server_type.is_exchange() {
            return Err(
                Error::validation("mailbox.act.not_supported_for_server_type").param("server_type", p.server_type)
            );
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
