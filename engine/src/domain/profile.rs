//! Email Server Profile (`emailserverprofile`): the connection template many mailboxes share.

use super::options::option_set;
use super::{
    AuthProtocol, CredentialMode, OauthCredentialKind, ProfileId, RecordState, ServerAuthority, ServerType,
    TestExecutionStatus, Timestamp, TlsMode, UserId, change_set,
};

/// Default Maximum Concurrent Connections (spec §4).
pub const DEFAULT_MAX_CONCURRENT_CONNECTIONS: u32 = 10;
/// Default connection timeout in seconds (ADR 0004: the form's unit, capped at 100 s).
pub const DEFAULT_TIMEOUT_SECONDS: u32 = 60;

/// An email server profile. Secrets are never here: only whether each one is set.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub id: ProfileId,
    pub name: String,
    pub description: String,
    /// Read-only after creation.
    pub server_type: ServerType,
    pub owner_user_id: Option<UserId>,
    pub state: RecordState,

    // Microsoft Entra app (Exchange Online; Exchange Server with Hybrid Modern Auth)
    pub tenant_id: String,
    pub oauth_client_id: String,
    pub oauth_credential_kind: Option<OauthCredentialKind>,
    pub server_authority: Option<ServerAuthority>,
    pub aad_resource_id: String,
    /// Exchange Online: the sign-in host (`https://…`), "" for the server authority's.
    pub authority_host: String,
    /// Exchange Online: the Graph endpoint (`https://…`), "" for the server authority's.
    pub graph_endpoint: String,

    // Locations
    pub use_autodiscover: bool,
    pub incoming_location: String,
    pub outgoing_location: String,

    // Credentials
    pub incoming_credential_mode: CredentialMode,
    pub incoming_user_name: String,
    pub incoming_use_impersonation: bool,
    pub use_same_settings_for_outgoing: bool,
    pub outgoing_credential_mode: CredentialMode,
    pub outgoing_user_name: String,
    pub outgoing_use_impersonation: bool,

    // Advanced: connection
    pub incoming_port: Option<u16>,
    pub outgoing_port: Option<u16>,
    pub incoming_use_ssl: bool,
    pub outgoing_use_ssl: bool,
    pub incoming_tls_mode: Option<TlsMode>,
    pub outgoing_tls_mode: Option<TlsMode>,
    pub incoming_auth_protocol: AuthProtocol,
    pub outgoing_auth_protocol: AuthProtocol,
    /// A PEM file of extra certificate authorities trusted for this profile (besides the OS store).
    pub ca_file: String,

    // Advanced: additional settings
    pub process_email_from: Option<Timestamp>,
    pub min_polling_interval_minutes: u32,
    pub max_concurrent_connections: u32,
    pub move_failed_to_undeliverable: bool,
    pub send_alert_email: bool,

    // Error handling
    pub timeout_mailbox_connection: bool,
    pub timeout_seconds: u32,

    // Write-only secrets: whether each is stored in the OS keychain
    pub is_incoming_password_set: bool,
    pub is_outgoing_password_set: bool,
    pub is_oauth_secret_set: bool,
    /// The SHA-1 thumbprint (upper-case hex) of the certificate stored as the app's credential,
    /// as Microsoft Entra shows it; "" with a client secret or no certificate.
    pub oauth_certificate_thumbprint: String,

    // Test Connection results
    pub last_test_started_on: Option<Timestamp>,
    pub last_test_duration_ms: Option<i64>,
    pub last_test_execution_status: Option<TestExecutionStatus>,
    pub last_authorization_status: Option<bool>,
    pub last_test_message: String,

    pub created_on: Timestamp,
    pub modified_on: Timestamp,
}

/// Lists the fields of [`ProfileChanges`] once: `profile_changes!(m)` expands to `m! { ProfileChanges for … { … } }`.
/// The domain declares the change set with it; `api::wire` declares its wire twin.
macro_rules! profile_changes {
    ($m:ident) => {
        $m! {
            /// What an administrator may change on a profile (the form's editable fields).
            ProfileChanges for Profile {
                name: String,
                description: String,
                owner_user_id: Option<UserId>,
                tenant_id: String,
                oauth_client_id: String,
                oauth_credential_kind: Option<OauthCredentialKind>,
                server_authority: Option<ServerAuthority>,
                aad_resource_id: String,
                authority_host: String,
                graph_endpoint: String,
                use_autodiscover: bool,
                incoming_location: String,
                outgoing_location: String,
                incoming_credential_mode: CredentialMode,
                incoming_user_name: String,
                incoming_use_impersonation: bool,
                use_same_settings_for_outgoing: bool,
                outgoing_credential_mode: CredentialMode,
                outgoing_user_name: String,
                outgoing_use_impersonation: bool,
                incoming_port: Option<u16>,
                outgoing_port: Option<u16>,
                incoming_use_ssl: bool,
                outgoing_use_ssl: bool,
                incoming_tls_mode: Option<TlsMode>,
                outgoing_tls_mode: Option<TlsMode>,
                incoming_auth_protocol: AuthProtocol,
                outgoing_auth_protocol: AuthProtocol,
                ca_file: String,
                process_email_from: Option<Timestamp>,
                min_polling_interval_minutes: u32,
                max_concurrent_connections: u32,
                move_failed_to_undeliverable: bool,
                send_alert_email: bool,
                timeout_mailbox_connection: bool,
                timeout_seconds: u32,
            }
        }
    };
}
pub(crate) use profile_changes;

profile_changes!(change_set);

/// Lists the fields of a profile's form once: `profile_fields!(m)` expands to
/// `m! { ProfileField { Variant = "code", … } }`. The domain declares the enum with it; `api::wire`
/// declares its wire twin, which TypeScript sees as a union of the field names.
macro_rules! profile_fields {
    ($m:ident) => {
        $m! {
            /// A field of the profile form (an editable field of [`ProfileChanges`]); its code is the
            /// field's name.
            ProfileField {
                Name = "name",
                Description = "description",
                OwnerUserId = "owner_user_id",
                TenantId = "tenant_id",
                OauthClientId = "oauth_client_id",
                OauthCredentialKind = "oauth_credential_kind",
                ServerAuthority = "server_authority",
                AadResourceId = "aad_resource_id",
                AuthorityHost = "authority_host",
                GraphEndpoint = "graph_endpoint",
                UseAutodiscover = "use_autodiscover",
                IncomingLocation = "incoming_location",
                OutgoingLocation = "outgoing_location",
                IncomingCredentialMode = "incoming_credential_mode",
                IncomingUserName = "incoming_user_name",
                IncomingUseImpersonation = "incoming_use_impersonation",
                UseSameSettingsForOutgoing = "use_same_settings_for_outgoing",
                OutgoingCredentialMode = "outgoing_credential_mode",
                OutgoingUserName = "outgoing_user_name",
                OutgoingUseImpersonation = "outgoing_use_impersonation",
                IncomingPort = "incoming_port",
                OutgoingPort = "outgoing_port",
                IncomingUseSsl = "incoming_use_ssl",
                OutgoingUseSsl = "outgoing_use_ssl",
                IncomingTlsMode = "incoming_tls_mode",
                OutgoingTlsMode = "outgoing_tls_mode",
                IncomingAuthProtocol = "incoming_auth_protocol",
                OutgoingAuthProtocol = "outgoing_auth_protocol",
                CaFile = "ca_file",
                ProcessEmailFrom = "process_email_from",
                MinPollingIntervalMinutes = "min_polling_interval_minutes",
                MaxConcurrentConnections = "max_concurrent_connections",
                MoveFailedToUndeliverable = "move_failed_to_undeliverable",
                SendAlertEmail = "send_alert_email",
                TimeoutMailboxConnection = "timeout_mailbox_connection",
                TimeoutSeconds = "timeout_seconds",
            }
        }
    };
}
pub(crate) use profile_fields;

profile_fields!(option_set);

impl Profile {
    /// A new, unsaved profile of `server_type` with the defaults the form starts from.
    pub fn new(server_type: ServerType, name: String, now: Timestamp) -> Profile {
        let (mode, auth, tls_in, tls_out) = match server_type {
            ServerType::ExchangeOnline => (CredentialMode::OauthEntraId, AuthProtocol::Oauth, None, None),
            ServerType::ExchangeServer => (CredentialMode::Profile, AuthProtocol::AutoDetect, None, None),
            ServerType::ImapSmtp | ServerType::Pop3Smtp => (
                CredentialMode::UserOrQueue,
                AuthProtocol::AutoDetect,
                Some(TlsMode::Implicit),
                Some(TlsMode::StartTls),
            ),
        };
        let is_exo = server_type == ServerType::ExchangeOnline;
        Profile {
            id: ProfileId(0),
            name,
            description: String::new(),
            server_type,
            owner_user_id: None,
            state: RecordState::Active,
            tenant_id: String::new(),
            oauth_client_id: String::new(),
            oauth_credential_kind: is_exo.then_some(OauthCredentialKind::ClientSecret),
            server_authority: is_exo.then_some(ServerAuthority::Public),
            aad_resource_id: String::new(),
            authority_host: String::new(),
            graph_endpoint: String::new(),
            use_autodiscover: server_type == ServerType::ExchangeServer,
            incoming_location: String::new(),
            outgoing_location: String::new(),
            incoming_credential_mode: mode,
            incoming_user_name: String::new(),
            incoming_use_impersonation: false,
            use_same_settings_for_outgoing: true,
            outgoing_credential_mode: mode,
            outgoing_user_name: String::new(),
            outgoing_use_impersonation: false,
            incoming_port: None,
            outgoing_port: None,
            incoming_use_ssl: true,
            outgoing_use_ssl: true,
            incoming_tls_mode: tls_in,
            outgoing_tls_mode: tls_out,
            incoming_auth_protocol: auth,
            outgoing_auth_protocol: auth,
            ca_file: String::new(),
            process_email_from: None,
            min_polling_interval_minutes: 0,
            max_concurrent_connections: DEFAULT_MAX_CONCURRENT_CONNECTIONS,
            move_failed_to_undeliverable: false,
            send_alert_email: false,
            timeout_mailbox_connection: true,
            timeout_seconds: DEFAULT_TIMEOUT_SECONDS,
            is_incoming_password_set: false,
            is_outgoing_password_set: false,
            is_oauth_secret_set: false,
            oauth_certificate_thumbprint: String::new(),
            last_test_started_on: None,
            last_test_duration_ms: None,
            last_test_execution_status: None,
            last_authorization_status: None,
            last_test_message: String::new(),
            created_on: now,
            modified_on: now,
        }
    }

    /// The credential mode that applies to outgoing connections.
    pub fn effective_outgoing_mode(&self) -> CredentialMode {
        if self.use_same_settings_for_outgoing { self.incoming_credential_mode } else { self.outgoing_credential_mode }
    }

    /// Whether mailboxes of this profile sign in with their own credentials (for either direction).
    pub fn uses_mailbox_credentials(&self) -> bool {
        self.incoming_credential_mode == CredentialMode::UserOrQueue
            || self.effective_outgoing_mode() == CredentialMode::UserOrQueue
    }

    /// Whether the outgoing connection is encrypted.
    pub fn effective_outgoing_ssl(&self) -> bool {
        self.outgoing_use_ssl
    }
}
