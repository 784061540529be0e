//! Email Configuration Settings: the organisation row (spec §2.3).

use super::{ActMethod, IncomingMethod, OutgoingMethod, ProcessEmailUsing, ProfileId, Timestamp, change_set};

/// The organisation's email settings. Exactly one row exists (id 1).
#[derive(Debug, Clone, PartialEq)]
pub struct OrgSettings {
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
    /// Tracking-token prefixes used before the current one (semicolon-separated, oldest first):
    /// still recognised in subjects. Kept by the settings update, not edited.
    pub previous_tracking_prefixes: String,
    pub modified_on: Timestamp,
}

/// Lists the fields of [`SettingsChanges`] once: `settings_changes!(m)` expands to `m! { SettingsChanges for … { … } }`.
/// The domain declares the change set with it; `api::wire` declares its wire twin.
macro_rules! settings_changes {
    ($m:ident) => {
        $m! {
            /// What the Email Configuration Settings page may change.
            SettingsChanges for OrgSettings {
                process_email_using: ProcessEmailUsing,
                default_profile_id: Option<ProfileId>,
                default_incoming_method: IncomingMethod,
                default_outgoing_method: OutgoingMethod,
                default_act_method: ActMethod,
                require_approval_for_user_email: bool,
                require_approval_for_queue_email: bool,
                require_privilege_to_self_approve: bool,
                allow_credentials_over_insecure_channels: bool,
                sync_irm_emails: bool,
                allow_delete_appointments_on_ownership_change: bool,
                folder_level_tracking_enabled: bool,
                max_folder_tracking_mappings: u32,
                email_correlation_enabled: bool,
                use_tracking_tokens: bool,
                tracking_prefix: String,
                tracking_token_base: u32,
                tracking_user_digits: u32,
                tracking_counter_digits: u32,
                smart_matching_enabled: bool,
                hash_filter_keywords: String,
                hash_max_count: u32,
                hash_delta_subject_count: u32,
                hash_min_address_count: u32,
                track_categorized_items: bool,
                auto_track_sent_items: bool,
                track_internal_email_as_two_activities: bool,
                save_sent_to_server: bool,
                sync_in_desktop_app: bool,
                render_secure_frames: bool,
                allow_unresolved_recipients_on_send: bool,
                unresolve_if_multiple_matches: bool,
                resolve_similar_unresolved_addresses: bool,
                max_attachment_size_kb: u32,
                blocked_attachments: String,
                alerts_for_errors: bool,
                alerts_for_warnings: bool,
                alerts_for_information: bool,
                notify_mailbox_owner: bool,
                sync_appointment_attachments: bool,
                sync_contact_mailing_address_only: bool,
                sync_assigned_tasks: bool,
            }
        }
    };
}
pub(crate) use settings_changes;

settings_changes!(change_set);

/// The blocked file extensions Dynamics ships with (System Settings › General).
pub const DEFAULT_BLOCKED_ATTACHMENTS: &str = "ade;adp;app;asa;ashx;asmx;asp;bas;bat;cdx;cer;chm;class;cmd;com;config;cpl;crt;csh;dll;exe;fxp;hlp;hta;htr;htw;ida;idc;idq;inf;ins;isp;its;jar;js;jse;ksh;lnk;mad;maf;mag;mam;maq;mar;mas;mat;mau;mav;maw;mda;mdb;mde;mdt;mdw;mdz;msc;msh;msh1;msh1xml;msh2;msh2xml;mshxml;msi;msp;mst;ops;pcd;pif;prf;prg;printer;pst;reg;rem;scf;scr;sct;shb;shs;shtm;shtml;soap;stm;tmp;url;vb;vbe;vbs;vsmacros;vss;vst;vsw;ws;wsc;wsf;wsh";

impl OrgSettings {
    /// Whether an attachment with this file name may not be saved because of its extension.
    pub fn is_blocked_attachment(&self, file_name: &str) -> bool {
        let Some((_, ext)) = file_name.trim().trim_end_matches('.').rsplit_once('.') else {
            return false;
        };
        self.blocked_attachments
            .split(';')
            .map(|e| e.trim().trim_start_matches('.'))
            .any(|e| !e.is_empty() && e.eq_ignore_ascii_case(ext))
    }

    /// Every tracking-token prefix recognised in a subject: the current one first, then the
    /// earlier ones.
    pub fn tracking_prefixes(&self) -> Vec<&str> {
        let mut v = vec![self.tracking_prefix.trim()];
        for p in self.previous_tracking_prefixes.split(';').map(str::trim).rev() {
            if !p.is_empty() && !v.contains(&p) {
                v.push(p);
            }
        }
        v.retain(|p| !p.is_empty());
        v
    }

    /// The settings of a new organisation (spec §2.3; choices where sources conflict: ADR 0004).
    pub fn defaults(now: Timestamp) -> OrgSettings {
        OrgSettings {
            id: 1,
            process_email_using: ProcessEmailUsing::ServerSideSync,
            default_profile_id: None,
            default_incoming_method: IncomingMethod::ServerSideSync,
            default_outgoing_method: OutgoingMethod::ServerSideSync,
            default_act_method: ActMethod::None,
            require_approval_for_user_email: true,
            require_approval_for_queue_email: true,
            require_privilege_to_self_approve: false,
            allow_credentials_over_insecure_channels: false,
            sync_irm_emails: false,
            allow_delete_appointments_on_ownership_change: false,
            folder_level_tracking_enabled: false,
            max_folder_tracking_mappings: 25,
            email_correlation_enabled: true,
            use_tracking_tokens: true,
            tracking_prefix: "CRM".to_owned(),
            tracking_token_base: 0,
            tracking_user_digits: 3,
            tracking_counter_digits: 3,
            smart_matching_enabled: false,
            hash_filter_keywords: r"^[\s]*([\w]+\s?:[\s]*)+".to_owned(),
            hash_max_count: 20,
            hash_delta_subject_count: 0,
            hash_min_address_count: 2,
            track_categorized_items: false,
            auto_track_sent_items: false,
            track_internal_email_as_two_activities: true,
            save_sent_to_server: true,
            sync_in_desktop_app: true,
            render_secure_frames: false,
            allow_unresolved_recipients_on_send: false,
            unresolve_if_multiple_matches: false,
            resolve_similar_unresolved_addresses: true,
            max_attachment_size_kb: 5120,
            blocked_attachments: DEFAULT_BLOCKED_ATTACHMENTS.to_owned(),
            alerts_for_errors: true,
            alerts_for_warnings: true,
            alerts_for_information: true,
            notify_mailbox_owner: false,
            sync_appointment_attachments: false,
            sync_contact_mailing_address_only: true,
            sync_assigned_tasks: false,
            previous_tracking_prefixes: String::new(),
            modified_on: now,
        }
    }

    /// Whether a mailbox of this kind must be approved before it is processed.
    pub fn requires_approval(&self, kind: super::MailboxKind) -> bool {
        match kind {
            super::MailboxKind::User => self.require_approval_for_user_email,
            super::MailboxKind::Queue => self.require_approval_for_queue_email,
            // A forward mailbox collects for users and queues; it is held to the stricter rule.
            super::MailboxKind::Forward => {
                self.require_approval_for_user_email || self.require_approval_for_queue_email
            }
        }
    }
}
