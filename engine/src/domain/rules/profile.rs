//! Email server profile: the per-server-type configuration matrix, the fields that apply, Save's
//! normalisation and validation, and which secrets a profile takes (spec §2.1.3, §2.1.4, §3.15,
//! §3.16).

use super::super::profile::ProfileField;
use super::super::profile::ProfileField as F;
use super::super::{AuthProtocol, CredentialMode, OrgSettings, Profile, ServerType, TlsMode};
use super::fields::*;
use crate::{Error, Result};

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileFieldVisibility {
    pub fields: Vec<ProfileField>,
    pub credential_modes: Vec<CredentialMode>,
    pub auth_protocols: Vec<AuthProtocol>,
}

/// The fields that apply to `p` (see [`ProfileFieldVisibility`]).
pub fn profile_field_visibility(p: &Profile) -> ProfileFieldVisibility {
    let t = p.server_type;
    let mut f: Vec<ProfileField> = vec![
        F::Name,
        F::Description,
        F::OwnerUserId,
        F::ProcessEmailFrom,
        F::MinPollingIntervalMinutes,
        F::MaxConcurrentConnections,
        F::SendAlertEmail,
        F::TimeoutMailboxConnection,
        F::IncomingCredentialMode,
    ];
    if p.timeout_mailbox_connection {
        f.push(F::TimeoutSeconds);
    }
    let entra_app = t == ServerType::ExchangeOnline
        || p.incoming_credential_mode == CredentialMode::ExchangeHybridModernAuth
        || p.effective_outgoing_mode() == CredentialMode::ExchangeHybridModernAuth;
    if entra_app {
        f.extend([F::TenantId, F::OauthClientId, F::OauthCredentialKind, F::ServerAuthority]);
    }
    if t == ServerType::ExchangeServer && entra_app {
        // Hybrid Modern Auth: the token's audience (the Exchange server), and the sign-in host.
        f.extend([F::AadResourceId, F::AuthorityHost]);
    }
    if t == ServerType::ExchangeOnline {
        // A sovereign cloud's hosts, or the organisation's own CA in front of them.
        f.extend([F::AuthorityHost, F::GraphEndpoint, F::CaFile]);
    }
    if p.incoming_credential_mode == CredentialMode::UserOauth
        || p.effective_outgoing_mode() == CredentialMode::UserOauth
    {
        f.push(F::OauthClientId);
    }
    if t == ServerType::ExchangeServer {
        f.push(F::UseAutodiscover);
    }
    if t != ServerType::ExchangeOnline {
        if !(t == ServerType::ExchangeServer && p.use_autodiscover) {
            f.extend([F::IncomingLocation, F::OutgoingLocation]);
        }
        f.extend([
            F::UseSameSettingsForOutgoing,
            F::IncomingPort,
            F::OutgoingPort,
            F::IncomingUseSsl,
            F::OutgoingUseSsl,
            F::IncomingAuthProtocol,
            F::OutgoingAuthProtocol,
            F::CaFile,
        ]);
        if t != ServerType::ExchangeServer {
            if p.incoming_use_ssl {
                f.push(F::IncomingTlsMode);
            }
            if p.outgoing_use_ssl {
                f.push(F::OutgoingTlsMode);
            }
        }
        if p.incoming_credential_mode == CredentialMode::Profile {
            f.push(F::IncomingUserName);
        }
        if !p.use_same_settings_for_outgoing {
            f.push(F::OutgoingCredentialMode);
            if p.outgoing_credential_mode == CredentialMode::Profile {
                f.push(F::OutgoingUserName);
            }
        }
        if t == ServerType::ExchangeServer {
            if p.incoming_credential_mode == CredentialMode::Profile {
                f.push(F::IncomingUseImpersonation);
            }
            if !p.use_same_settings_for_outgoing && p.outgoing_credential_mode == CredentialMode::Profile {
                f.push(F::OutgoingUseImpersonation);
            }
        }
    }
    if t != ServerType::Pop3Smtp {
        f.push(F::MoveFailedToUndeliverable);
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
fn type_specific_values(p: &Profile) -> [(ProfileField, bool); 22] {
    [
        (F::TenantId, !p.tenant_id.is_empty()),
        (F::OauthClientId, !p.oauth_client_id.is_empty()),
        (F::OauthCredentialKind, p.oauth_credential_kind.is_some()),
        (F::ServerAuthority, p.server_authority.is_some()),
        (F::AadResourceId, !p.aad_resource_id.is_empty()),
        (F::AuthorityHost, !p.authority_host.is_empty()),
        (F::GraphEndpoint, !p.graph_endpoint.is_empty()),
        (F::UseAutodiscover, p.use_autodiscover),
        (F::IncomingLocation, !p.incoming_location.is_empty()),
        (F::OutgoingLocation, !p.outgoing_location.is_empty()),
        (F::IncomingUserName, !p.incoming_user_name.is_empty()),
        (F::OutgoingUserName, !p.outgoing_user_name.is_empty()),
        (F::IncomingUseImpersonation, p.incoming_use_impersonation),
        (F::OutgoingUseImpersonation, p.outgoing_use_impersonation),
        (F::IncomingPort, p.incoming_port.is_some()),
        (F::OutgoingPort, p.outgoing_port.is_some()),
        (F::IncomingTlsMode, p.incoming_tls_mode.is_some()),
        (F::OutgoingTlsMode, p.outgoing_tls_mode.is_some()),
        (F::CaFile, !p.ca_file.is_empty()),
        (F::MoveFailedToUndeliverable, p.move_failed_to_undeliverable),
        (F::TimeoutSeconds, false),
        (F::UseSameSettingsForOutgoing, !p.use_same_settings_for_outgoing),
    ]
}

/// Clears every type-specific field that does not apply to `p` and fills default ports and TLS
/// modes: what Save does before validating, so that a hidden field never keeps a stale value
/// (e.g. the outgoing user name after "use same settings" is switched back on).
pub fn normalize_profile(p: &mut Profile) {
    let visible = profile_field_visibility(p).fields;
    let shown = |f: ProfileField| visible.contains(&f);
    if p.use_same_settings_for_outgoing {
        p.outgoing_credential_mode = p.incoming_credential_mode;
        p.outgoing_user_name.clear();
        p.outgoing_use_impersonation = false;
    }
    if p.oauth_credential_kind != Some(crate::domain::OauthCredentialKind::Certificate) {
        p.oauth_certificate_thumbprint.clear();
    }
    if !shown(F::IncomingUserName) {
        p.incoming_user_name.clear();
    }
    if !shown(F::OutgoingUserName) {
        p.outgoing_user_name.clear();
    }
    if !shown(F::IncomingUseImpersonation) {
        p.incoming_use_impersonation = false;
    }
    if !shown(F::OutgoingUseImpersonation) {
        p.outgoing_use_impersonation = false;
    }
    if !shown(F::IncomingTlsMode) {
        p.incoming_tls_mode = None;
    } else if p.incoming_tls_mode.is_none() {
        p.incoming_tls_mode = Some(TlsMode::Implicit);
    }
    if !shown(F::OutgoingTlsMode) {
        p.outgoing_tls_mode = None;
    } else if p.outgoing_tls_mode.is_none() {
        p.outgoing_tls_mode = Some(TlsMode::StartTls);
    }
    if shown(F::IncomingPort) && p.incoming_port.is_none() {
        p.incoming_port = default_port(p.server_type, true, p.incoming_use_ssl, p.incoming_tls_mode);
    }
    if shown(F::OutgoingPort) && p.outgoing_port.is_none() {
        p.outgoing_port = default_port(p.server_type, false, p.outgoing_use_ssl, p.outgoing_tls_mode);
    }
}

const MIN_POLLING_INTERVAL: Bounds = Bounds::new(F::MinPollingIntervalMinutes.code(), 0, 1440);
const MAX_CONCURRENT_CONNECTIONS: Bounds = Bounds::new(F::MaxConcurrentConnections.code(), 1, 300);
const TIMEOUT_SECONDS: Bounds = Bounds::new(F::TimeoutSeconds.code(), 1, 100);
const INCOMING_PORT: Bounds = Bounds::new(F::IncomingPort.code(), 1, 65535);
const OUTGOING_PORT: Bounds = Bounds::new(F::OutgoingPort.code(), 1, 65535);

/// The bounds of a profile's numeric fields.
pub const PROFILE_BOUNDS: [Bounds; 5] =
    [MIN_POLLING_INTERVAL, MAX_CONCURRENT_CONNECTIONS, TIMEOUT_SECONDS, INCOMING_PORT, OUTGOING_PORT];

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
    for (field, value) in [("authority_host", &p.authority_host), ("graph_endpoint", &p.graph_endpoint)] {
        max_len(field, value, 2084)?;
        let host = value.trim().strip_prefix("https://").map(|r| r.trim_end_matches('/'));
        if !value.trim().is_empty() && host.is_none_or(|h| h.is_empty() || h.contains(['?', '#', ' '])) {
            return Err(Error::validation("field.not_an_https_url").param("field", field));
        }
    }
    MIN_POLLING_INTERVAL.check(p.min_polling_interval_minutes)?;
    MAX_CONCURRENT_CONNECTIONS.check(p.max_concurrent_connections)?;
    TIMEOUT_SECONDS.check(p.timeout_seconds)?;

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
    let needs_locations = visible.contains(&F::IncomingLocation);
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
    for (field, bounds, port) in
        [(F::IncomingPort, INCOMING_PORT, p.incoming_port), (F::OutgoingPort, OUTGOING_PORT, p.outgoing_port)]
    {
        if let Some(port) = port {
            bounds.check(port)?;
        } else if visible.contains(&field) {
            return Err(Error::validation("field.required").param("field", field));
        }
    }

    // Entra app registration (Exchange Online; Exchange Server with HMA).
    if visible.contains(&F::TenantId) {
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
    if visible.contains(&F::AadResourceId) {
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
            if !profile_field_visibility(p).fields.contains(&F::OauthClientId) {
                return Err(Error::validation("profile.password.not_used").param("field", "oauth_secret"));
            }
            p.is_oauth_secret_set = true;
        }
    }
    validate_profile(p, settings)
}

pub(super) fn join<T: std::fmt::Display>(items: &[T]) -> String {
    items.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}
