//! Mailbox: validation against its profile and the organisation, workloads, whether a mailbox
//! may be processed now, and the date email is processed from (spec §2.2.2, §3.5, §3.17, §3.18).

use super::super::{
    ActMethod, CredentialMode, EmailAddressStatus, IncomingMethod, Mailbox, MailboxKind, OrgSettings, OutgoingMethod,
    Profile, RecordState, ServerType, Timestamp,
};
use super::fields::*;
use super::profile::*;
use crate::{Error, Result};

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

/// What the mailbox grid's bulk Edit offers (Dynamics 365 for Outlook is deprecated and
/// on-premises only: a bulk change never moves mailboxes to it, though a single form still shows
/// it when a mailbox has it).
pub const BULK_EDIT_INCOMING: [IncomingMethod; 3] =
    [IncomingMethod::None, IncomingMethod::ServerSideSync, IncomingMethod::ForwardMailbox];
/// See [`BULK_EDIT_INCOMING`].
pub const BULK_EDIT_OUTGOING: [OutgoingMethod; 2] = [OutgoingMethod::None, OutgoingMethod::ServerSideSync];
/// See [`BULK_EDIT_INCOMING`].
pub const BULK_EDIT_ACT: [ActMethod; 2] = [ActMethod::None, ActMethod::ServerSideSync];

/// A workload of a mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
