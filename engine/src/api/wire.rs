//! The wire: every type that crosses the boundary (IPC to the window, `--json` from the CLI),
//! with its serde form and, for the desktop shell's bindings, its TypeScript type.
//!
//! The domain keeps plain data; nothing there knows how it is spelled on the wire. Each wire type
//! here is a twin of a domain type, converted both ways where both ways are needed:
//! - option sets, ids and field names are declared from the same lists as their domain twins
//!   (`option_sets!`, `id_types!`, `profile_fields!`), so a value added in the domain cannot be
//!   forgotten here;
//! - change sets likewise (`profile_changes!` and the others): a field added to a change set is on
//!   the wire at once, and an unknown field from the wire is refused;
//! - records are written out below: they are the contract the window and scripts read, so a field
//!   reaches them only by being listed here.

use crate::domain::{self, Timestamp};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;

/// A value's conversion between its domain form and its wire form (implemented in both
/// directions for every twin, and through `Option` and `Vec`).
pub(crate) trait Wire<T> {
    fn wire(self) -> T;
}

macro_rules! same_on_the_wire {
    ($($t:ty),*) => { $(impl Wire<$t> for $t { fn wire(self) -> $t { self } })* };
}
same_on_the_wire!(bool, u16, u32, i64, String, Timestamp, BTreeMap<String, String>);

impl<A: Wire<B>, B> Wire<Option<B>> for Option<A> {
    fn wire(self) -> Option<B> {
        self.map(Wire::wire)
    }
}

impl<A: Wire<B>, B> Wire<Vec<B>> for Vec<A> {
    fn wire(self) -> Vec<B> {
        self.into_iter().map(Wire::wire).collect()
    }
}

/// Converts a list of domain values to their wire twins.
pub(crate) fn list<A: Wire<B>, B>(v: Vec<A>) -> Vec<B> {
    v.wire()
}

/// Declares the conversions both ways between a wire twin and its domain type (`From` too, so
/// `.into()` works at call sites).
macro_rules! twins {
    ($name:ident) => {
        impl From<domain::$name> for $name {
            fn from(v: domain::$name) -> $name {
                Wire::wire(v)
            }
        }
        impl From<$name> for domain::$name {
            fn from(v: $name) -> domain::$name {
                Wire::wire(v)
            }
        }
    };
}

/// The wire twin of an option set: the same variants, spelled by their codes.
macro_rules! wire_option_set {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = ($code:literal, $value:literal)),+ $(,)? }) => {
        wire_option_set!($(#[$meta])* $name { $($(#[$vmeta])* $variant = $code),+ });
    };
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "specta", derive(specta::Type))]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $code)] $variant),+
        }

        impl $name {
            /// Every value, in the order a form lists them.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable code (what the wire carries).
            pub fn code(self) -> &'static str {
                domain::$name::from(self).code()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }

        impl std::str::FromStr for $name {
            type Err = crate::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse::<domain::$name>().map(Into::into)
            }
        }

        impl Wire<domain::$name> for $name {
            fn wire(self) -> domain::$name {
                match self { $($name::$variant => domain::$name::$variant),+ }
            }
        }
        impl Wire<$name> for domain::$name {
            fn wire(self) -> $name {
                match self { $(domain::$name::$variant => $name::$variant),+ }
            }
        }
        twins!($name);
    };
}

/// The wire twin of a record id: a number (branded per entity in TypeScript).
macro_rules! wire_id {
    ($(#[$meta:meta])* $name:ident, $entity:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "specta", derive(specta::Type))]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = crate::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse::<domain::$name>().map(Into::into)
            }
        }

        impl Wire<domain::$name> for $name {
            fn wire(self) -> domain::$name {
                domain::$name(self.0)
            }
        }
        impl Wire<$name> for domain::$name {
            fn wire(self) -> $name {
                $name(self.0)
            }
        }
        twins!($name);
    };
}

/// The TypeScript names of the id types, which the desktop shell's bindings brand so that one
/// entity's id cannot be passed where another's is wanted.
pub fn id_type_names() -> Vec<&'static str> {
    let mut names = Vec::new();
    macro_rules! name {
        ($(#[$meta:meta])* $name:ident, $entity:literal) => {
            names.push(stringify!($name));
        };
    }
    domain::id_types!(name);
    names
}

/// The wire twin of a small domain enum whose variants are spelled in snake_case.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident from $src:path { $($(#[$vmeta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "specta", derive(specta::Type))]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl Wire<$src> for $name {
            fn wire(self) -> $src {
                match self { $($name::$variant => <$src>::$variant),+ }
            }
        }
        impl Wire<$name> for $src {
            fn wire(self) -> $name {
                match self { $(<$src>::$variant => $name::$variant),+ }
            }
        }
        impl From<$src> for $name {
            fn from(v: $src) -> $name {
                Wire::wire(v)
            }
        }
        impl From<$name> for $src {
            fn from(v: $name) -> $src {
                Wire::wire(v)
            }
        }
    };
}

/// Deserializes a field that is present in a change set: `Some(value)`, where `value` may itself
/// be an `Option` so that JSON `null` clears a nullable field while an absent key leaves it alone.
fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// The wire twin of a change set: every field optional, absent = unchanged, `null` clears a
/// nullable field, an unknown field is refused.
macro_rules! wire_change_set {
    ($(#[$meta:meta])* $name:ident for $target:ty { $($(#[$fmeta:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
        #[cfg_attr(feature = "specta", derive(specta::Type))]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $(
                $(#[$fmeta])*
                #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
                #[cfg_attr(feature = "specta", specta(type = $ty, optional))]
                pub $field: Option<$ty>,
            )*
        }

        impl Wire<domain::$name> for $name {
            fn wire(self) -> domain::$name {
                domain::$name { $($field: Wire::wire(self.$field)),* }
            }
        }
        impl Wire<$name> for domain::$name {
            fn wire(self) -> $name {
                $name { $($field: Wire::wire(self.$field)),* }
            }
        }
        twins!($name);
    };
}

/// A record as the wire carries it, and its conversion from the domain.
macro_rules! record {
    ($(#[$meta:meta])* $name:ident from $src:path { $($(#[$fmeta:meta])* pub $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[cfg_attr(feature = "specta", derive(specta::Type))]
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty),*
        }

        impl Wire<$name> for $src {
            fn wire(self) -> $name {
                $name { $($field: Wire::wire(self.$field)),* }
            }
        }
        impl From<$src> for $name {
            fn from(v: $src) -> $name {
                Wire::wire(v)
            }
        }
    };
}

domain::options::option_sets!(wire_option_set);
domain::profile::profile_fields!(wire_option_set);
domain::id_types!(wire_id);
domain::profile::profile_changes!(wire_change_set);
domain::mailbox::mailbox_changes!(wire_change_set);
domain::principal::user_changes!(wire_change_set);
domain::principal::queue_changes!(wire_change_set);
domain::settings::settings_changes!(wire_change_set);
domain::crm::contact_changes!(wire_change_set);
domain::crm::account_changes!(wire_change_set);
domain::crm::lead_changes!(wire_change_set);

wire_enum! {
    /// Whose mailbox it is.
    MailboxKind from domain::MailboxKind { User, Queue, Forward }
}

wire_enum! {
    /// Which of a profile's secrets a call sets.
    ProfileSecretKind from domain::rules::ProfileSecretKind {
        IncomingPassword,
        OutgoingPassword,
        /// The client secret, or the certificate's PEM (certificate and private key), of the Entra app.
        OauthSecret,
    }
}

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case", tag = "type", content = "id")]
pub enum Regarding {
    Profile(ProfileId),
    Mailbox(MailboxId),
}

impl Wire<Regarding> for domain::Regarding {
    fn wire(self) -> Regarding {
        match self {
            domain::Regarding::Profile(id) => Regarding::Profile(id.into()),
            domain::Regarding::Mailbox(id) => Regarding::Mailbox(id.into()),
        }
    }
}

impl From<Regarding> for domain::Regarding {
    fn from(r: Regarding) -> domain::Regarding {
        match r {
            Regarding::Profile(id) => domain::Regarding::Profile(id.into()),
            Regarding::Mailbox(id) => domain::Regarding::Mailbox(id.into()),
        }
    }
}

/// A new alert to raise (the engine raises its own; this is for scripts and integrations).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAlert {
    pub level: AlertLevel,
    /// Stable code; worded from the catalogs with `params`.
    pub code: String,
    pub params: BTreeMap<String, String>,
    pub regarding: Regarding,
    /// The technical detail (never a secret), or "".
    pub detail: String,
}

impl From<NewAlert> for domain::NewAlert {
    fn from(a: NewAlert) -> domain::NewAlert {
        domain::NewAlert {
            level: a.level.into(),
            code: a.code,
            params: a.params,
            regarding: a.regarding.into(),
            detail: a.detail,
        }
    }
}

/// Which alerts to list or delete.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(deny_unknown_fields, default)]
pub struct AlertFilter {
    pub level: Option<AlertLevel>,
    pub profile_id: Option<ProfileId>,
    pub mailbox_id: Option<MailboxId>,
}

impl From<AlertFilter> for domain::AlertFilter {
    fn from(f: AlertFilter) -> domain::AlertFilter {
        domain::AlertFilter { level: f.level.wire(), profile_id: f.profile_id.wire(), mailbox_id: f.mailbox_id.wire() }
    }
}

record! {
    /// Which form fields apply to a profile as it stands (server type, credential modes, "use same
    /// settings"). The UI shows exactly these; the engine refuses a value in any other.
    ProfileFieldVisibility from domain::rules::ProfileFieldVisibility {
        pub fields: Vec<ProfileField>,
        pub credential_modes: Vec<CredentialMode>,
        pub auth_protocols: Vec<AuthProtocol>,
    }
}

record! {
    /// An email server profile. Secrets are never here: only whether each one is set.
    Profile from domain::Profile {
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
        pub authority_host: String,
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
        /// The SHA-1 thumbprint of the app's certificate, as Microsoft Entra shows it; "" when none.
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
}

record! {
    /// A mailbox. The password is never here: only `is_password_set`.
    Mailbox from domain::Mailbox {
        pub id: MailboxId,
        pub name: String,
        /// The user who owns the record (the user; for a queue, the queue's owner).
        pub owner_user_id: Option<UserId>,
        pub email_address: String,
        pub delete_after_processing: bool,
        /// Regarding: the user, or the queue; both empty for a forward mailbox.
        pub user_id: Option<UserId>,
        pub queue_id: Option<QueueId>,
        pub is_forward_mailbox: bool,

        // Credentials
        pub allow_credentials: bool,
        pub user_name: String,
        pub is_password_set: bool,

        // Synchronization method
        pub profile_id: Option<ProfileId>,
        pub incoming_method: IncomingMethod,
        pub outgoing_method: OutgoingMethod,
        pub act_method: ActMethod,

        // Configuration test results
        pub incoming_status: TestStatus,
        pub outgoing_status: TestStatus,
        pub act_status: TestStatus,
        pub test_completed_on: Option<Timestamp>,
        pub test_and_enable_last_attempted_on: Option<Timestamp>,

        // Approval
        pub email_address_status: EmailAddressStatus,
        pub approved_by_user_id: Option<UserId>,
        /// Set when the local administrator (not a user record) approved.
        pub approved_by_administrator: bool,
        pub approved_on: Option<Timestamp>,

        // Enabled state
        pub enabled_for_incoming: bool,
        pub enabled_for_outgoing: bool,
        pub enabled_for_act: bool,
        pub process_email_received_after: Option<Timestamp>,
        pub state: RecordState,

        // Error counters (spec §3.11)
        pub transient_failure_count: u32,
        pub last_sync_error_code: String,
        pub last_sync_error_on: Option<Timestamp>,

        pub created_on: Timestamp,
        pub modified_on: Timestamp,
    }
}

record! {
    /// A user of the organisation.
    User from domain::User {
        pub id: UserId,
        pub full_name: String,
        /// Primary email; always the same as the user's mailbox address.
        pub primary_email: String,
        /// The privilege "Approve Email Addresses for Users or Queues".
        pub can_approve_email: bool,
        pub incoming_filtering_method: FilteringMethod,
        pub state: RecordState,
        pub created_on: Timestamp,
        pub modified_on: Timestamp,
        /// The user's mailbox (read-only; filled when read).
        pub mailbox_id: Option<MailboxId>,
    }
}

record! {
    /// A queue (shared inbox).
    Queue from domain::Queue {
        pub id: QueueId,
        pub name: String,
        /// Incoming Email address; always the same as the queue's mailbox address.
        pub email_address: String,
        pub owner_user_id: Option<UserId>,
        /// Convert Incoming Email To Activities.
        pub incoming_filtering_method: FilteringMethod,
        pub state: RecordState,
        pub created_on: Timestamp,
        pub modified_on: Timestamp,
        /// The queue's mailbox (read-only; filled when read).
        pub mailbox_id: Option<MailboxId>,
    }
}

record! {
    /// The organisation's email settings. Exactly one row exists (id 1).
    OrgSettings from domain::OrgSettings {
        pub id: i64,
        // Configure email processing
        pub process_email_using: ProcessEmailUsing,
        // Synchronization methods applied to the mailboxes of new users and queues
        pub default_profile_id: Option<ProfileId>,
        pub default_incoming_method: IncomingMethod,
        pub default_outgoing_method: OutgoingMethod,
        pub default_act_method: ActMethod,
        // Email processing for unapproved users and queues / security and permissions
        pub require_approval_for_user_email: bool,
        pub require_approval_for_queue_email: bool,
        pub require_privilege_to_self_approve: bool,
        pub allow_credentials_over_insecure_channels: bool,
        pub sync_irm_emails: bool,
        pub allow_delete_appointments_on_ownership_change: bool,
        // Folder-level tracking and correlation
        pub folder_level_tracking_enabled: bool,
        pub max_folder_tracking_mappings: u32,
        pub email_correlation_enabled: bool,
        pub use_tracking_tokens: bool,
        pub tracking_prefix: String,
        pub tracking_token_base: u32,
        pub tracking_user_digits: u32,
        pub tracking_counter_digits: u32,
        pub smart_matching_enabled: bool,
        pub hash_filter_keywords: String,
        pub hash_max_count: u32,
        pub hash_delta_subject_count: u32,
        pub hash_min_address_count: u32,
        // Tracking items
        pub track_categorized_items: bool,
        pub auto_track_sent_items: bool,
        pub track_internal_email_as_two_activities: bool,
        /// A sent email is also saved in the Sent folder of the mail server.
        pub save_sent_to_server: bool,
        /// The desktop app runs the scheduler while its window is open.
        pub sync_in_desktop_app: bool,
        // Email form options
        pub render_secure_frames: bool,
        pub allow_unresolved_recipients_on_send: bool,
        pub unresolve_if_multiple_matches: bool,
        pub resolve_similar_unresolved_addresses: bool,
        // Attachments
        pub max_attachment_size_kb: u32,
        /// File extensions (without the dot, separated by semicolons) whose attachments are not saved.
        pub blocked_attachments: String,
        // Alerts
        pub alerts_for_errors: bool,
        pub alerts_for_warnings: bool,
        pub alerts_for_information: bool,
        pub notify_mailbox_owner: bool,
        // Synchronization (appointments, contacts, tasks)
        pub sync_appointment_attachments: bool,
        pub sync_contact_mailing_address_only: bool,
        pub sync_assigned_tasks: bool,
        /// Tracking-token prefixes used before the current one (read-only).
        pub previous_tracking_prefixes: String,
        pub modified_on: Timestamp,
    }
}

record! {
    /// An alert as stored and shown.
    Alert from domain::Alert {
        pub id: AlertId,
        pub level: AlertLevel,
        /// Stable code; the UI words it from the catalogs with `params`.
        pub code: String,
        pub params: BTreeMap<String, String>,
        pub regarding: Regarding,
        /// The technical detail of the latest occurrence (a server's reply, a TLS error), or "".
        pub detail: String,
        pub first_seen: Timestamp,
        pub last_seen: Timestamp,
        pub count: u32,
    }
}

record! {
    /// A contact (`contact`): a person the organisation deals with.
    Contact from domain::Contact {
        pub id: ContactId,
        pub first_name: String,
        /// Required.
        pub last_name: String,
        pub email_address_1: String,
        pub email_address_2: String,
        pub email_address_3: String,
        pub owner_user_id: Option<UserId>,
        pub state: RecordState,
        pub created_on: Timestamp,
        pub modified_on: Timestamp,
    }
}

record! {
    /// An account (`account`): a company or organisation.
    Account from domain::Account {
        pub id: AccountId,
        /// Required.
        pub name: String,
        pub email_address_1: String,
        pub email_address_2: String,
        pub email_address_3: String,
        pub owner_user_id: Option<UserId>,
        pub state: RecordState,
        pub created_on: Timestamp,
        pub modified_on: Timestamp,
    }
}

record! {
    /// A lead (`lead`): a prospect not yet qualified.
    Lead from domain::Lead {
        pub id: LeadId,
        pub first_name: String,
        /// Required.
        pub last_name: String,
        pub company_name: String,
        pub email_address_1: String,
        pub email_address_2: String,
        pub email_address_3: String,
        pub owner_user_id: Option<UserId>,
        pub state: RecordState,
        pub created_on: Timestamp,
        pub modified_on: Timestamp,
    }
}

record! {
    /// A record of an email-enabled table: a party, a regarding, the accepting user or queue.
    RecordRef from domain::RecordRef {
        pub entity: EmailEntity,
        pub id: i64,
    }
}

impl Wire<domain::RecordRef> for RecordRef {
    fn wire(self) -> domain::RecordRef {
        domain::RecordRef::new(self.entity.into(), self.id)
    }
}

/// A record reference as the wire carries it in requests.
impl<'de> Deserialize<'de> for RecordRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            entity: EmailEntity,
            id: i64,
        }
        let r = Raw::deserialize(d)?;
        Ok(RecordRef { entity: r.entity, id: r.id })
    }
}

record! {
    /// One party of an email: an address and the record it resolved to (None: unresolved).
    Party from domain::Party {
        pub role: PartyRole,
        /// The address's place in its header.
        pub position: u32,
        pub address: String,
        pub display_name: String,
        pub record: Option<RecordRef>,
    }
}

record! {
    /// An attachment of an email; `not_saved` says why one was not kept.
    Attachment from domain::Attachment {
        pub position: u32,
        pub part_index: u32,
        pub file_name: String,
        pub mime_type: String,
        pub content_id: String,
        pub size_bytes: u64,
        pub not_saved: Option<AttachmentNotSaved>,
    }
}

record! {
    /// Where a mailbox's incoming sync stands, and its last-sync counters.
    SyncState from domain::SyncState {
        pub uid_validity: Option<u32>,
        pub last_uid: u32,
        pub highest_modseq: Option<u64>,
        pub uid_next: Option<u32>,
        pub process_from: Option<Timestamp>,
        pub last_sync_started_on: Option<Timestamp>,
        pub last_sync_completed_on: Option<Timestamp>,
        pub items_processed_last_sync: u32,
        pub items_failed_last_sync: u32,
        pub no_email_count: u32,
    }
}

same_on_the_wire!(u64);

wire_enum! {
    /// Why a cycle read the whole Inbox again.
    Rescan from crate::sync::plan::Rescan { First, UidValidityChanged, StartDateMovedBack, CursorExpired }
}

wire_enum! {
    /// What became of one message of a cycle.
    ItemResult from crate::sync::ItemResult { Tracked, AlreadyTracked, Skipped, Failed, PassedOver }
}

record! {
    /// One message of a cycle, and why it went the way it did.
    ItemReport from crate::sync::ItemReport {
        /// `imap:UIDVALIDITY:UID` or `pop3:UIDL`.
        pub server_ref: String,
        pub message_id: String,
        pub subject: String,
        pub from: String,
        pub result: ItemResult,
        /// For skipped and failed messages: why, as a message code with its parameters.
        pub code: String,
        pub params: BTreeMap<String, String>,
        pub activity_id: Option<ActivityId>,
        /// The user or queue whose filter accepted it, and that filter.
        pub accepting: Option<RecordRef>,
        pub accepting_filter: Option<FilteringMethod>,
        /// The correlation method that matched, and the tracked email it matched.
        pub correlation: CorrelationMethod,
        pub correlated_with: Option<ActivityId>,
        /// The records the parties resolved to.
        pub parties: Vec<Party>,
    }
}

record! {
    /// What an incoming cycle did (or, in a preview, would do).
    CycleReport from crate::sync::CycleReport {
        pub mailbox_id: Option<MailboxId>,
        pub preview: bool,
        pub rescan: Option<Rescan>,
        pub planned: u32,
        pub tracked: u32,
        pub already_tracked: u32,
        pub skipped: u32,
        pub failed: u32,
        pub passed_over: u32,
        pub moved_to_undeliverable: u32,
        pub deleted_from_server: u32,
        pub interrupted: bool,
        pub items: Vec<ItemReport>,
    }
}

record! {
    /// A message that was not tracked, as item-level monitoring lists it.
    MailItemOutcome from crate::store::sync_state::Outcome {
        pub mailbox_id: MailboxId,
        pub server_ref: String,
        pub outcome: ItemOutcome,
        pub code: String,
        pub params: BTreeMap<String, String>,
        pub message_id: String,
        pub subject: String,
        pub moved_to_undeliverable: bool,
        pub occurred_on: Timestamp,
    }
}

record! {
    /// One row of the Email Activities grid.
    EmailActivityRow from crate::store::activities::ActivityRow {
        pub id: ActivityId,
        pub subject: String,
        pub sender: String,
        /// The To addresses, joined by "; ".
        pub to: String,
        pub regarding: Option<RecordRef>,
        pub regarding_name: String,
        pub received_on: Timestamp,
        pub receiving_mailbox_id: Option<MailboxId>,
        pub receiving_mailbox_name: String,
        pub correlation_method: CorrelationMethod,
        pub attachment_count: u32,
    }
}

wire_enum! {
    /// A workload of a mailbox.
    Workload from domain::rules::Workload { Incoming, Outgoing, Act }
}

wire_enum! {
    /// How a cycle ended.
    RunOutcome from domain::RunOutcome { Success, Transient, Permanent }
}

record! {
    /// When a workload of a mailbox runs next, how its last cycle went, and who runs it now.
    WorkloadSchedule from domain::WorkloadSchedule {
        pub mailbox_id: MailboxId,
        pub workload: Workload,
        pub next_run_on: Option<Timestamp>,
        pub last_started_on: Option<Timestamp>,
        pub last_completed_on: Option<Timestamp>,
        pub last_success_on: Option<Timestamp>,
        pub transient_failures: u32,
        pub idle_cycles: u32,
        pub items_processed: u32,
        pub items_failed: u32,
        pub last_error_code: String,
        pub last_error_params: BTreeMap<String, String>,
        pub last_error_on: Option<Timestamp>,
        pub lease_holder: Option<String>,
        pub lease_expires_on: Option<Timestamp>,
        /// Incoming only: an engine keeps a push connection (IMAP IDLE, EWS streaming), so new mail is pushed.
        pub idle_connected: bool,
    }
}

record! {
    /// One cycle of a workload, as the history keeps it.
    SyncRun from domain::SyncRun {
        pub mailbox_id: MailboxId,
        pub workload: Workload,
        pub started_on: Timestamp,
        pub completed_on: Timestamp,
        pub outcome: RunOutcome,
        pub items: u32,
        pub failed_items: u32,
        pub error_code: String,
        pub runner: String,
    }
}

record! {
    /// What this engine's scheduler is doing.
    SchedulerStatus from crate::sync::scheduler::SchedulerStatus {
        pub running: bool,
        pub started_on: Option<Timestamp>,
        pub active: u32,
        pub cycles: u64,
        pub failures: u64,
        pub last_cycle_on: Option<Timestamp>,
        pub next_due_on: Option<Timestamp>,
    }
}

/// What one cycle of one workload came to.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CycleEnd {
    pub mailbox_id: MailboxId,
    pub workload: Workload,
    pub outcome: RunOutcome,
    pub items: u32,
    pub failed_items: u32,
    pub error_code: Option<String>,
    /// This cycle disabled the workload (a permanent failure, or the tenth transient one).
    pub disabled: bool,
    /// None when disabled.
    pub next_run_on: Option<Timestamp>,
}

impl Wire<CycleEnd> for crate::sync::scheduler::CycleEnd {
    fn wire(self) -> CycleEnd {
        use crate::sync::schedule::Outcome;
        CycleEnd {
            mailbox_id: self.mailbox_id.wire(),
            workload: self.workload.wire(),
            outcome: match self.outcome {
                Outcome::Success { .. } => RunOutcome::Success,
                Outcome::Transient { .. } => RunOutcome::Transient,
                Outcome::Permanent => RunOutcome::Permanent,
            },
            items: self.items,
            failed_items: self.failed_items,
            error_code: self.error_code,
            disabled: self.disabled,
            next_run_on: self.next_run_on,
        }
    }
}

record! {
    /// Messages tracked (incoming) and sent (outgoing) in one hour.
    HourCount from crate::store::monitoring::HourCount {
        /// The hour's start, `YYYY-MM-DDTHH:00:00Z`.
        pub hour: String,
        pub incoming: u32,
        pub outgoing: u32,
    }
}

same_on_the_wire!(f64);

record! {
    /// From delivery to the committed activity, over one hour.
    LatencyPoint from crate::store::monitoring::LatencyPoint {
        pub hour: String,
        pub count: u32,
        pub p50_seconds: f64,
        pub p95_seconds: f64,
    }
}

record! {
    /// Failures of one code: `cycle` (a sync cycle), `message` (an incoming message), `email`
    /// (an email to send).
    CodeCount from crate::store::monitoring::CodeCount {
        pub source: String,
        pub code: String,
        pub count: u32,
    }
}

record! {
    /// Mailboxes in one state: `enabled`, `disabled`, `not_enabled`, `not_synchronized`, `inactive`.
    StateCount from crate::store::monitoring::StateCount {
        pub state: String,
        pub count: u32,
    }
}

record! {
    /// Work waiting.
    Backlog from crate::store::monitoring::Backlog {
        pub pending_send: u32,
        pub sending: u32,
        pub failed_emails: u32,
        pub possible_duplicates: u32,
        pub overdue_workloads: u32,
    }
}

/// The Monitoring dashboard's figures over the last hours.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MonitoringSummary {
    pub generated_on: Timestamp,
    pub since: Timestamp,
    pub per_hour: Vec<HourCount>,
    pub latency: Vec<LatencyPoint>,
    pub failures: Vec<CodeCount>,
    pub mailboxes: Vec<StateCount>,
    pub backlog: Backlog,
}
