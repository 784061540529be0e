//! Party resolution (spec §3.10): which records an address of an incoming email becomes. Pure: the
//! candidates come from the address index (`store::addresses`); the rules pick among them.

use crate::domain::{EmailEntity, UserId};

/// More matches than this and an address stays unresolved (spec §3.10, §4).
pub const MAX_RESOLUTION_MATCHES: usize = 100;

/// A record that has the address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    pub entity: EmailEntity,
    pub id: i64,
    pub active: bool,
    pub owner: Option<UserId>,
}

/// The sender-resolution precedence of an entity: users, contacts, accounts, leads, then queues
/// (the order of [`EmailEntity::ALL`]).
pub fn precedence(e: EmailEntity) -> usize {
    EmailEntity::ALL.iter().position(|x| *x == e).unwrap_or(usize::MAX)
}

/// The one record the sender (From) resolves to, or none (unresolved):
/// - a deactivated user never counts;
/// - one match: that record, whatever its state;
/// - more than [`MAX_RESOLUTION_MATCHES`], or more than one when the organisation unresolves on
///   multiple matches: unresolved;
/// - otherwise the first **active** match in precedence order, records owned by the receiving
///   mailbox's owner first; no active match: unresolved (inferred, ADR 0011).
pub fn resolve_sender(
    candidates: &[Candidate],
    mailbox_owner: Option<UserId>,
    unresolve_on_multiple: bool,
) -> Option<Candidate> {
    let eligible: Vec<Candidate> =
        candidates.iter().copied().filter(|c| c.active || c.entity != EmailEntity::User).collect();
    match eligible.len() {
        0 => None,
        1 => Some(eligible[0]),
        n if n > MAX_RESOLUTION_MATCHES || unresolve_on_multiple => None,
        _ => {
            let owned = |c: &Candidate| mailbox_owner.is_some() && c.owner == mailbox_owner;
            eligible.iter().copied().filter(|c| c.active).min_by_key(|c| (!owned(c), precedence(c.entity), c.id))
        }
    }
}

/// The records a recipient (To, Cc) address becomes: every record that has it, each a party;
/// none (an unresolved address) when there are none, more than [`MAX_RESOLUTION_MATCHES`], or more
/// than one and the organisation sets "To, cc, bcc as unresolved values if multiple matches".
pub fn resolve_recipient(candidates: &[Candidate], unresolve_if_multiple: bool) -> Vec<Candidate> {
    let eligible: Vec<Candidate> =
        candidates.iter().copied().filter(|c| c.active || c.entity != EmailEntity::User).collect();
    if eligible.len() > MAX_RESOLUTION_MATCHES || (unresolve_if_multiple && eligible.len() > 1) {
        return Vec::new();
    }
    let mut out = eligible;
    out.sort_by_key(|c| (precedence(c.entity), c.id));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use EmailEntity::*;

    fn c(entity: EmailEntity, id: i64, active: bool, owner: Option<i64>) -> Candidate {
        Candidate { entity, id, active, owner: owner.map(UserId) }
    }

    type Row = (&'static str, Vec<Candidate>, Option<i64>, bool, Option<(EmailEntity, i64)>);

    #[test]
    fn sender_resolution_truth_table() {
        let rows: Vec<Row> = vec![
            ("no record has the address: unresolved", vec![], None, false, None),
            ("a single match resolves whatever its state", vec![c(Lead, 4, false, None)], None, false, Some((Lead, 4))),
            ("a deactivated user never counts", vec![c(User, 1, false, None)], None, false, None),
            (
                "several matches: users before contacts, accounts and leads",
                vec![
                    c(Lead, 3, true, None),
                    c(Account, 2, true, None),
                    c(User, 9, true, None),
                    c(Contact, 1, true, None),
                ],
                None,
                false,
                Some((User, 9)),
            ),
            (
                "several matches: the first active one in precedence order",
                vec![c(Contact, 1, false, None), c(Account, 2, true, None), c(Lead, 3, true, None)],
                None,
                false,
                Some((Account, 2)),
            ),
            (
                "a record owned by the mailbox's owner comes first",
                vec![c(Contact, 1, true, Some(7)), c(Lead, 3, true, Some(5))],
                Some(5),
                false,
                Some((Lead, 3)),
            ),
            (
                "owned but inactive does not win",
                vec![c(Contact, 1, true, Some(7)), c(Lead, 3, false, Some(5))],
                Some(5),
                false,
                Some((Contact, 1)),
            ),
            (
                "queues come after every other entity",
                vec![c(Queue, 1, true, None), c(Lead, 8, true, None)],
                None,
                false,
                Some((Lead, 8)),
            ),
            (
                "unresolve on multiple matches",
                vec![c(Contact, 1, true, None), c(Lead, 3, true, None)],
                None,
                true,
                None,
            ),
            (
                "several matches, none active: unresolved",
                vec![c(Contact, 1, false, None), c(Lead, 3, false, None)],
                None,
                false,
                None,
            ),
            (
                "the lowest id among equals",
                vec![c(Contact, 9, true, None), c(Contact, 2, true, None)],
                None,
                false,
                Some((Contact, 2)),
            ),
        ];
        for (name, cands, owner, unresolve, want) in rows {
            let got = resolve_sender(&cands, owner.map(UserId), unresolve).map(|c| (c.entity, c.id));
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn more_than_100_matches_stay_unresolved_and_100_resolve() {
        let many: Vec<Candidate> = (1..=101).map(|i| c(Contact, i, true, None)).collect();
        assert_eq!(resolve_sender(&many, None, false), None);
        assert!(resolve_recipient(&many, false).is_empty());
        assert_eq!(resolve_sender(&many[..100], None, false).map(|c| c.id), Some(1));
        assert_eq!(resolve_recipient(&many[..100], false).len(), 100);
    }

    #[test]
    fn every_record_with_a_recipient_address_is_a_party_unless_multiple_are_unresolved() {
        let both = vec![c(Queue, 2, true, None), c(User, 1, true, None)];
        let parties: Vec<_> = resolve_recipient(&both, false).iter().map(|c| (c.entity, c.id)).collect();
        assert_eq!(parties, vec![(User, 1), (Queue, 2)], "a user and a queue sharing an address are both resolved");
        assert!(resolve_recipient(&both, true).is_empty());
        assert!(resolve_recipient(&[c(User, 1, false, None)], false).is_empty(), "a deactivated user is not a party");
    }
}
