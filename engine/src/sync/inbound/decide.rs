//! The decision for one incoming message (spec §3.8 steps 5–12), as a pure function of facts
//! the caller looked up: which records each address resolved to, which users and queues those
//! are and how they filter, what correlation found, and whether the message is tracked already.
//! The result is either an activity to create (parties, accepting entity, correlation, parent,
//! regarding, owner, queue items), a receipt on an activity that exists, or a reason not to track.

use super::correlate::{self, Found, Methods, Tracked};
use super::filter::{self, Evidence};
use super::resolve::{self, Candidate};
use crate::domain::{
    ActivityId, CorrelationMethod, EmailEntity, FilteringMethod, MailboxId, Party, PartyRole, QueueId, RecordRef,
    UserId,
};
use std::collections::BTreeMap;

/// A user or a queue, as acceptance and ownership see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    pub record: RecordRef,
    pub filter: FilteringMethod,
    pub active: bool,
    /// Its mailbox is tested and enabled for incoming email (or, when the receiving mailbox is a
    /// forward mailbox, its incoming method is Forward Mailbox).
    pub accepts_incoming: bool,
    /// Who owns what it receives: the user itself, or the queue's owner.
    pub owner_user_id: Option<UserId>,
}

/// An address of the message with the records that have it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressFacts {
    pub address: String,
    pub name: String,
    pub matches: Vec<Candidate>,
}

/// The mailbox being synchronised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receiving {
    pub mailbox_id: MailboxId,
    /// Its user or queue (none for a forward mailbox).
    pub principal: Option<Principal>,
    pub owner_user_id: Option<UserId>,
}

/// The organisation settings the decision reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    pub methods: Methods,
    /// "Track emails sent between users as two activities".
    pub internal_as_two_activities: bool,
    /// "Set To, cc, bcc fields as unresolved values if multiple matches are found".
    pub unresolve_recipients_on_multiple: bool,
    /// `UnresolveSenderInCaseOfMultipleMatch` (off).
    pub unresolve_sender_on_multiple: bool,
}

/// Everything known about one message.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    pub receiving: Receiving,
    pub from: Option<AddressFacts>,
    pub to: Vec<AddressFacts>,
    pub cc: Vec<AddressFacts>,
    pub bcc: Vec<AddressFacts>,
    /// Every user and queue among the matches (and the receiving mailbox's own).
    pub principals: BTreeMap<RecordRef, Principal>,
    pub found: Found,
    /// An incoming activity with the same Message-ID (or digest).
    pub tracked_incoming: Option<ActivityId>,
    /// An outgoing activity with the same Message-ID: the sent copy of an internal email.
    pub tracked_outgoing: Option<ActivityId>,
    pub rules: Rules,
}

/// What to create for a message that is tracked.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackPlan {
    pub parties: Vec<Party>,
    pub accepting: RecordRef,
    pub accepting_filter: FilteringMethod,
    pub correlation: Option<(CorrelationMethod, Tracked)>,
    pub parent: Option<ActivityId>,
    pub regarding: Option<RecordRef>,
    pub owner: Option<UserId>,
    pub queue_items: Vec<QueueId>,
}

/// The outcome for one message.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Track(Box<TrackPlan>),
    /// Already tracked (the same message in another mailbox, or the sent copy of an internal
    /// email): the receiving mailbox is recorded on that activity.
    AlreadyTracked(ActivityId),
    /// Not tracked: a code (`sync.item.*`) and its parameters.
    Skip {
        code: &'static str,
        params: Vec<(&'static str, String)>,
    },
}

/// Item codes.
pub mod code {
    /// No user or queue of the message accepts email (no resolved recipient with an enabled
    /// mailbox, and the receiving mailbox did not accept it).
    pub const NO_RECIPIENT_MATCH: &str = "sync.item.no_recipient_match";
    /// Only responses to tracked email were accepted, and the message correlates with none.
    pub const NO_CORRELATION_MATCH: &str = "sync.item.no_correlation_match";
    /// The filters of the recipients did not accept it.
    pub const NOT_ACCEPTED: &str = "sync.item.not_accepted";
}

fn parties(role: PartyRole, list: &[AddressFacts], unresolve_multiple: bool, out: &mut Vec<Party>) {
    for (position, a) in list.iter().enumerate() {
        let records = resolve::resolve_recipient(&a.matches, unresolve_multiple);
        let base = Party {
            role,
            position: position as u32,
            address: a.address.clone(),
            display_name: a.name.clone(),
            record: None,
        };
        if records.is_empty() {
            out.push(base);
        } else {
            out.extend(records.iter().map(|c| Party { record: Some(RecordRef::new(c.entity, c.id)), ..base.clone() }));
        }
    }
}

/// Decides what becomes of one message.
pub fn decide(f: &Facts) -> Decision {
    if let Some(id) = f.tracked_incoming {
        return Decision::AlreadyTracked(id);
    }
    // Resolution of every party (§3.10).
    let mailbox_owner = f.receiving.owner_user_id;
    let sender = f
        .from
        .as_ref()
        .and_then(|a| resolve::resolve_sender(&a.matches, mailbox_owner, f.rules.unresolve_sender_on_multiple));
    let mut all = Vec::new();
    if let Some(a) = &f.from {
        all.push(Party {
            role: PartyRole::From,
            position: 0,
            address: a.address.clone(),
            display_name: a.name.clone(),
            record: sender.map(|c| RecordRef::new(c.entity, c.id)),
        });
    }
    let multiple = f.rules.unresolve_recipients_on_multiple;
    parties(PartyRole::To, &f.to, multiple, &mut all);
    parties(PartyRole::Cc, &f.cc, multiple, &mut all);
    parties(PartyRole::Bcc, &f.bcc, multiple, &mut all);

    // Internal email (§3.8 step 6): the received copy of an email a user sent through ServerSync
    // is a second activity only when the organisation tracks internal email as two; a queue
    // always gets its own (DoNotIgnoreInternalEmailToQueues).
    if let Some(sent) = f.tracked_outgoing {
        let to_queue = f.receiving.principal.is_some_and(|p| p.record.entity == EmailEntity::Queue);
        let from_user = sender.is_some_and(|c| c.entity == EmailEntity::User);
        if !f.rules.internal_as_two_activities && from_user && !to_queue {
            return Decision::AlreadyTracked(sent);
        }
    }

    // Correlation (§3.9), needed by the "responses" filter.
    let correlation = correlate::correlate(&f.found, f.rules.methods);
    let evidence = Evidence {
        correlated: correlation.is_some(),
        correlation_enabled: f.rules.methods.correlation,
        sender: sender.map(|c| c.entity),
    };

    // Acceptance (§3.8 step 5): the receiving mailbox's own user or queue, then every user and
    // queue of To and Cc whose mailbox takes incoming email. A receiving user or queue that is not
    // among To and Cc (Bcc, a distribution list) accepts only with "All email messages".
    let in_to_cc = |r: RecordRef| {
        f.to.iter()
            .chain(&f.cc)
            .flat_map(|a| resolve::resolve_recipient(&a.matches, multiple))
            .any(|c| RecordRef::new(c.entity, c.id) == r)
    };
    let mut candidates: Vec<(Principal, bool)> = Vec::new();
    if let Some(p) = f.receiving.principal {
        candidates.push((p, in_to_cc(p.record)));
    }
    for a in f.to.iter().chain(&f.cc) {
        for c in resolve::resolve_recipient(&a.matches, multiple) {
            let r = RecordRef::new(c.entity, c.id);
            let Some(p) = f.principals.get(&r) else { continue };
            if p.active && p.accepts_incoming && !candidates.iter().any(|(q, _)| q.record == r) {
                candidates.push((*p, true));
            }
        }
    }
    let accepted: Vec<Principal> =
        candidates
            .iter()
            .filter(|(p, addressed)| {
                if *addressed { filter::accepts(p.filter, evidence) } else { p.filter == FilteringMethod::AllEmail }
            })
            .map(|(p, _)| *p)
            .collect();
    let Some(first) = accepted.first().copied() else {
        let filters: Vec<String> = candidates.iter().map(|(p, _)| p.filter.code().to_owned()).collect();
        return Decision::Skip {
            code: if candidates.is_empty() {
                code::NO_RECIPIENT_MATCH
            } else if candidates.iter().any(|(p, _)| p.filter == FilteringMethod::ResponsesToCrmEmail) {
                code::NO_CORRELATION_MATCH
            } else {
                code::NOT_ACCEPTED
            },
            params: vec![("filters", filters.join(", "))],
        };
    };

    // Owner (§3.10): among the owners of To, Cc and Bcc users and queues, the owner of the
    // correlated email, else the owner of the sender's contact, account or lead, else the first;
    // else the receiving mailbox's owner.
    let mut eligible: Vec<UserId> = Vec::new();
    for party in all.iter().filter(|p| p.role != PartyRole::From) {
        let owner = party.record.and_then(|r| f.principals.get(&r)).filter(|p| p.active).and_then(|p| p.owner_user_id);
        if let Some(o) = owner
            && !eligible.contains(&o)
        {
            eligible.push(o);
        }
    }
    let correlated_owner = correlation.as_ref().and_then(|(_, t)| t.owner).filter(|o| eligible.contains(o));
    let sender_owner = sender
        .filter(|c| matches!(c.entity, EmailEntity::Contact | EmailEntity::Account | EmailEntity::Lead))
        .and_then(|c| c.owner)
        .filter(|o| eligible.contains(o));
    let owner = correlated_owner.or(sender_owner).or(eligible.first().copied()).or(mailbox_owner);

    let queue_items =
        accepted.iter().filter(|p| p.record.entity == EmailEntity::Queue).map(|p| QueueId(p.record.id)).collect();
    let parent = correlation.as_ref().filter(|(m, _)| correlate::is_parent(*m)).map(|(_, t)| t.id);
    let regarding = correlation.as_ref().and_then(|(_, t)| t.regarding);
    Decision::Track(Box::new(TrackPlan {
        parties: all,
        accepting: first.record,
        accepting_filter: first.filter,
        correlation,
        parent,
        regarding,
        owner,
        queue_items,
    }))
}

#[cfg(test)]
mod tests;
