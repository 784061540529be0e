//! The incoming decision as a truth table: acceptance × correlation × resolution, each row
//! named after the rule it shows.

use super::*;
use crate::domain::EmailEntity as E;
use FilteringMethod as F;

// The organisation of the table:
//   users:    1 Nancy (responses to tracked email), 2 Bob (from leads, contacts and accounts),
//             3 Carol (all email), 4 Dan (deactivated)
//   queue:    1 Support (all email, owned by Bob), 2 Sales (responses, owned by Carol)
//   contact:  10 (owned by Bob), account 30 (owned by Nancy), lead 20 (owned by Nancy)
fn principal(entity: E, id: i64, filter: F, owner: i64) -> Principal {
    Principal {
        record: RecordRef::new(entity, id),
        filter,
        active: true,
        accepts_incoming: true,
        owner_user_id: Some(UserId(owner)),
    }
}

fn principals() -> BTreeMap<RecordRef, Principal> {
    let mut dan = principal(E::User, 4, F::AllEmail, 4);
    dan.active = false;
    [
        principal(E::User, 1, F::ResponsesToCrmEmail, 1),
        principal(E::User, 2, F::FromLeadsContactsAccounts, 2),
        principal(E::User, 3, F::AllEmail, 3),
        dan,
        principal(E::Queue, 1, F::AllEmail, 2),
        principal(E::Queue, 2, F::ResponsesToCrmEmail, 3),
    ]
    .into_iter()
    .map(|p| (p.record, p))
    .collect()
}

fn cand(entity: E, id: i64, owner: Option<i64>) -> Candidate {
    Candidate { entity, id, active: true, owner: owner.map(UserId) }
}

/// The records that have each address of the table.
fn matches(address: &str) -> Vec<Candidate> {
    match address {
        "nancy@contoso.com" => vec![cand(E::User, 1, None)],
        "bob@contoso.com" => vec![cand(E::User, 2, None)],
        "carol@contoso.com" => vec![cand(E::User, 3, None)],
        "dan@contoso.com" => vec![Candidate { active: false, ..cand(E::User, 4, None) }],
        "support@contoso.com" => vec![cand(E::Queue, 1, Some(2))],
        "sales@contoso.com" => vec![cand(E::Queue, 2, Some(3))],
        "yui@fabrikam.com" => vec![cand(E::Contact, 10, Some(2))],
        "lan@example.vn" => vec![cand(E::Lead, 20, Some(1))],
        "orders@fabrikam.com" => vec![cand(E::Account, 30, Some(1))],
        // Shared by a contact (owned by Bob) and an account (owned by Nancy).
        "shared@fabrikam.com" => vec![cand(E::Contact, 11, Some(2)), cand(E::Account, 31, Some(1))],
        _ => vec![],
    }
}

fn addr(a: &str) -> AddressFacts {
    AddressFacts { address: a.to_owned(), name: String::new(), matches: matches(a) }
}

fn tracked(id: i64, regarding: Option<RecordRef>, owner: Option<i64>) -> Tracked {
    Tracked { id: ActivityId(id), regarding, owner: owner.map(UserId) }
}

const RULES: Rules = Rules {
    methods: Methods { correlation: true, tracking_tokens: true, smart_matching: false },
    internal_as_two_activities: true,
    unresolve_recipients_on_multiple: false,
    unresolve_sender_on_multiple: false,
};

/// A message from `from` to `to` (and `cc`) arriving in the mailbox of `receiving` (a user or a
/// queue; None: a forward mailbox).
fn facts(receiving: Option<(E, i64)>, from: &str, to: &[&str], cc: &[&str]) -> Facts {
    let ps = principals();
    let principal = receiving.and_then(|(e, id)| ps.get(&RecordRef::new(e, id)).copied());
    Facts {
        receiving: Receiving {
            mailbox_id: MailboxId(100),
            principal,
            owner_user_id: principal.and_then(|p| p.owner_user_id),
        },
        from: Some(addr(from)),
        to: to.iter().map(|a| addr(a)).collect(),
        cc: cc.iter().map(|a| addr(a)).collect(),
        bcc: vec![],
        principals: ps,
        found: Found::default(),
        tracked_incoming: None,
        tracked_outgoing: None,
        rules: RULES,
    }
}

/// Tracked: accepting entity, correlation method, parent, regarding, owner, queue items.
#[derive(Debug, PartialEq)]
struct Tr {
    accepting: (E, i64),
    correlation: CorrelationMethod,
    parent: Option<i64>,
    regarding: Option<(E, i64)>,
    owner: Option<i64>,
    queues: Vec<i64>,
}

/// What a row expects.
#[derive(Debug, PartialEq)]
enum Want {
    Track(Tr),
    Already(i64),
    Skip(&'static str),
}

fn observed(d: &Decision) -> Want {
    match d {
        Decision::Track(p) => Want::Track(Tr {
            accepting: (p.accepting.entity, p.accepting.id),
            correlation: p.correlation.as_ref().map_or(CorrelationMethod::None, |(m, _)| *m),
            parent: p.parent.map(|a| a.0),
            regarding: p.regarding.map(|r| (r.entity, r.id)),
            owner: p.owner.map(|u| u.0),
            queues: p.queue_items.iter().map(|q| q.0).collect(),
        }),
        Decision::AlreadyTracked(a) => Want::Already(a.0),
        Decision::Skip { code, .. } => Want::Skip(code),
    }
}

fn track(accepting: (E, i64), correlation: CorrelationMethod, owner: Option<i64>) -> Tr {
    Tr { accepting, correlation, parent: None, regarding: None, owner, queues: vec![] }
}

#[test]
fn incoming_decision_truth_table() {
    use CorrelationMethod as C;
    let contact10 = RecordRef::new(E::Contact, 10);
    let rows: Vec<(&str, Facts, Want)> = vec![
        (
            "all email: a queue tracks mail from an unknown sender, with a queue item, owned by the queue's owner",
            facts(Some((E::Queue, 1)), "stranger@example.org", &["support@contoso.com"], &[]),
            Want::Track(Tr { queues: vec![1], ..track((E::Queue, 1), C::None, Some(2)) }),
        ),
        (
            "responses: an email that answers nothing tracked is skipped (NoCorrelationMatch)",
            facts(Some((E::User, 1)), "yui@fabrikam.com", &["nancy@contoso.com"], &[]),
            Want::Skip(code::NO_CORRELATION_MATCH),
        ),
        (
            "responses: a reply by In-Reply-To is tracked, child of the original, with its regarding and owner",
            Facts {
                found: Found { in_reply_to: Some(tracked(5, Some(contact10), Some(1))), ..Found::default() },
                ..facts(Some((E::User, 1)), "yui@fabrikam.com", &["nancy@contoso.com"], &[])
            },
            Want::Track(Tr {
                parent: Some(5),
                regarding: Some((E::Contact, 10)),
                ..track((E::User, 1), C::InReplyTo, Some(1))
            }),
        ),
        (
            "responses: a tracking token in the subject correlates, without a parent",
            Facts {
                found: Found { tracking_token: Some(tracked(6, Some(contact10), None)), ..Found::default() },
                ..facts(Some((E::User, 1)), "yui@fabrikam.com", &["nancy@contoso.com"], &[])
            },
            Want::Track(Tr { regarding: Some((E::Contact, 10)), ..track((E::User, 1), C::TrackingToken, Some(1)) }),
        ),
        (
            "responses: the conversation index correlates and makes a parent",
            Facts {
                found: Found { conversation_index: Some(tracked(7, None, None)), ..Found::default() },
                ..facts(Some((E::User, 1)), "stranger@example.org", &["nancy@contoso.com"], &[])
            },
            Want::Track(Tr { parent: Some(7), ..track((E::User, 1), C::ConversationIndex, Some(1)) }),
        ),
        (
            "responses: with correlation off, even a reply is skipped",
            Facts {
                found: Found { in_reply_to: Some(tracked(5, None, None)), ..Found::default() },
                rules: Rules { methods: Methods { correlation: false, ..RULES.methods }, ..RULES },
                ..facts(Some((E::User, 1)), "yui@fabrikam.com", &["nancy@contoso.com"], &[])
            },
            Want::Skip(code::NO_CORRELATION_MATCH),
        ),
        (
            "leads, contacts and accounts: mail from a contact is tracked, owned by the contact's owner",
            facts(Some((E::User, 2)), "yui@fabrikam.com", &["bob@contoso.com"], &[]),
            Want::Track(track((E::User, 2), C::None, Some(2))),
        ),
        (
            "leads, contacts and accounts: mail from an unknown sender is not accepted",
            facts(Some((E::User, 2)), "stranger@example.org", &["bob@contoso.com"], &[]),
            Want::Skip(code::NOT_ACCEPTED),
        ),
        (
            "leads, contacts and accounts: mail from a user is not accepted",
            facts(Some((E::User, 2)), "carol@contoso.com", &["bob@contoso.com"], &[]),
            Want::Skip(code::NOT_ACCEPTED),
        ),
        (
            "any recipient accepts: Nancy refuses, the Support queue on Cc accepts and gets a queue item",
            facts(Some((E::User, 1)), "stranger@example.org", &["nancy@contoso.com"], &["support@contoso.com"]),
            Want::Track(Tr { queues: vec![1], ..track((E::Queue, 1), C::None, Some(1)) }),
        ),
        (
            "every accepting queue gets a queue item; the first acceptor is the accepting entity",
            Facts {
                found: Found { in_reply_to: Some(tracked(5, None, Some(3))), ..Found::default() },
                ..facts(Some((E::Queue, 2)), "stranger@example.org", &["sales@contoso.com", "support@contoso.com"], &[])
            },
            Want::Track(Tr { parent: Some(5), queues: vec![2, 1], ..track((E::Queue, 2), C::InReplyTo, Some(3)) }),
        ),
        (
            "a receiving user on Bcc (not in To or Cc) accepts only with all email: Carol does",
            facts(Some((E::User, 3)), "stranger@example.org", &["someone@example.org"], &[]),
            Want::Track(track((E::User, 3), C::None, Some(3))),
        ),
        (
            "a receiving queue on Bcc that takes only responses does not accept a reply it was not sent",
            Facts {
                found: Found { in_reply_to: Some(tracked(5, None, None)), ..Found::default() },
                ..facts(Some((E::Queue, 2)), "stranger@example.org", &["someone@example.org"], &[])
            },
            Want::Skip(code::NO_CORRELATION_MATCH),
        ),
        (
            "a forward mailbox with no user or queue among the recipients: NoRecipientMatch",
            facts(None, "stranger@example.org", &["someone@example.org"], &[]),
            Want::Skip(code::NO_RECIPIENT_MATCH),
        ),
        (
            "a forward mailbox tracks for a recipient whose filter accepts",
            facts(None, "stranger@example.org", &["carol@contoso.com"], &[]),
            Want::Track(track((E::User, 3), C::None, Some(3))),
        ),
        (
            "a deactivated user never accepts (nor resolves)",
            facts(None, "stranger@example.org", &["dan@contoso.com"], &[]),
            Want::Skip(code::NO_RECIPIENT_MATCH),
        ),
        (
            "the same message already tracked from another mailbox: a receipt, not a second activity",
            Facts {
                tracked_incoming: Some(ActivityId(9)),
                ..facts(Some((E::User, 3)), "stranger@example.org", &["carol@contoso.com"], &[])
            },
            Want::Already(9),
        ),
        (
            "internal email as one activity: the received copy of a user's sent email is the sent one",
            Facts {
                tracked_outgoing: Some(ActivityId(8)),
                rules: Rules { internal_as_two_activities: false, ..RULES },
                ..facts(Some((E::User, 3)), "bob@contoso.com", &["carol@contoso.com"], &[])
            },
            Want::Already(8),
        ),
        (
            "internal email as two activities (the default): the received copy is its own activity",
            Facts {
                tracked_outgoing: Some(ActivityId(8)),
                ..facts(Some((E::User, 3)), "bob@contoso.com", &["carol@contoso.com"], &[])
            },
            Want::Track(track((E::User, 3), C::None, Some(3))),
        ),
        (
            "internal email to a queue is always its own activity",
            Facts {
                tracked_outgoing: Some(ActivityId(8)),
                rules: Rules { internal_as_two_activities: false, ..RULES },
                ..facts(Some((E::Queue, 1)), "bob@contoso.com", &["support@contoso.com"], &[])
            },
            Want::Track(Tr { queues: vec![1], ..track((E::Queue, 1), C::None, Some(2)) }),
        ),
        (
            "owner: the correlated email's owner when that owner is among the recipients",
            Facts {
                found: Found { in_reply_to: Some(tracked(5, None, Some(3))), ..Found::default() },
                ..facts(Some((E::User, 1)), "yui@fabrikam.com", &["nancy@contoso.com", "carol@contoso.com"], &[])
            },
            Want::Track(Tr { parent: Some(5), ..track((E::User, 1), C::InReplyTo, Some(3)) }),
        ),
        (
            "owner: else the owner of the sender's contact, when among the recipients",
            facts(Some((E::User, 3)), "yui@fabrikam.com", &["carol@contoso.com"], &["bob@contoso.com"]),
            Want::Track(track((E::User, 3), C::None, Some(2))),
        ),
        (
            "owner: else the first recipient's owner",
            facts(Some((E::User, 3)), "lan@example.vn", &["carol@contoso.com"], &["bob@contoso.com"]),
            Want::Track(track((E::User, 3), C::None, Some(3))),
        ),
        (
            "owner: else the receiving mailbox's owner",
            facts(Some((E::User, 3)), "stranger@example.org", &["list@example.org"], &[]),
            Want::Track(track((E::User, 3), C::None, Some(3))),
        ),
    ];
    assert!(rows.len() >= 20, "the table lost rows");
    for (rule, f, want) in rows {
        assert_eq!(observed(&decide(&f)), want, "{rule}");
    }
}

#[test]
fn resolution_of_each_party() {
    // The sender's address is shared by a contact (Bob's) and an account (Nancy's): in Nancy's
    // mailbox the record Nancy owns wins over the entity precedence.
    let f = facts(Some((E::User, 3)), "shared@fabrikam.com", &["carol@contoso.com", "shared@fabrikam.com"], &[]);
    let mut f = f;
    f.receiving.owner_user_id = Some(UserId(1));
    let Decision::Track(plan) = decide(&f) else { panic!("not tracked") };
    let from: Vec<_> = plan.parties.iter().filter(|p| p.role == PartyRole::From).collect();
    assert_eq!(from.len(), 1);
    assert_eq!(from[0].record, Some(RecordRef::new(E::Account, 31)), "owned by the mailbox's owner");
    // A recipient address that two records share: one party per record, at the same position.
    let shared: Vec<_> = plan.parties.iter().filter(|p| p.role == PartyRole::To && p.position == 1).collect();
    assert_eq!(
        shared.iter().map(|p| p.record).collect::<Vec<_>>(),
        vec![Some(RecordRef::new(E::Contact, 11)), Some(RecordRef::new(E::Account, 31))]
    );
    // …unless the organisation unresolves multiple matches: one unresolved party.
    f.rules.unresolve_recipients_on_multiple = true;
    let Decision::Track(plan) = decide(&f) else { panic!("not tracked") };
    let shared: Vec<_> = plan.parties.iter().filter(|p| p.role == PartyRole::To && p.position == 1).collect();
    assert_eq!(shared.iter().map(|p| p.record).collect::<Vec<_>>(), vec![None]);
    // An address nobody has is an unresolved party with its address.
    let f = facts(Some((E::User, 3)), "stranger@example.org", &["carol@contoso.com"], &[]);
    let Decision::Track(plan) = decide(&f) else { panic!("not tracked") };
    let from = plan.parties.iter().find(|p| p.role == PartyRole::From);
    assert_eq!(from.map(|p| (p.address.as_str(), p.record)), Some(("stranger@example.org", None)));
}
