//! Approval of a mailbox's address: who may approve or reject, and what each records (spec §3.3).

use super::super::{EmailAddressStatus, Mailbox, OrgSettings, RecordState, Timestamp, User};
use crate::{Error, ErrorKind, Result};

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
