//! Acceptance (spec §3.8 step 5): whether a user's or a queue's *incoming email filtering
//! method* tracks an email. Pure.

use crate::domain::{EmailEntity, FilteringMethod};

/// What a filter looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Evidence {
    /// Whether the email correlates with an email already tracked (§3.9).
    pub correlated: bool,
    /// "Use correlation to track email conversations": off, no email counts as a response.
    pub correlation_enabled: bool,
    /// What the sender (From) resolved to, if anything.
    pub sender: Option<EmailEntity>,
}

/// Whether `method` accepts an email with this evidence:
/// - All email messages: every one;
/// - in response to tracked email: only one that correlates, and never with correlation off
///   (`NoCorrelationMatch`);
/// - from leads, contacts and accounts: a sender that resolved to one of them;
/// - from email-enabled records: a sender that resolved to any record;
/// - no email messages: none.
pub fn accepts(method: FilteringMethod, e: Evidence) -> bool {
    match method {
        FilteringMethod::AllEmail => true,
        FilteringMethod::ResponsesToCrmEmail => e.correlation_enabled && e.correlated,
        FilteringMethod::FromLeadsContactsAccounts => {
            matches!(e.sender, Some(EmailEntity::Contact | EmailEntity::Account | EmailEntity::Lead))
        }
        FilteringMethod::FromEmailEnabledRecords => e.sender.is_some(),
        FilteringMethod::NoEmail => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use EmailEntity as E;
    use FilteringMethod as F;

    #[test]
    fn acceptance_truth_table() {
        let ev = |correlated, correlation_enabled, sender| Evidence { correlated, correlation_enabled, sender };
        // (rule, method, evidence, accepted)
        let rows = [
            ("all email: an unknown sender", F::AllEmail, ev(false, true, None), true),
            ("all email: even with correlation off", F::AllEmail, ev(false, false, None), true),
            ("responses: a correlated reply", F::ResponsesToCrmEmail, ev(true, true, None), true),
            (
                "responses: not correlated → NoCorrelationMatch",
                F::ResponsesToCrmEmail,
                ev(false, true, Some(E::Contact)),
                false,
            ),
            ("responses: correlation off never accepts", F::ResponsesToCrmEmail, ev(true, false, None), false),
            (
                "leads/contacts/accounts: from a contact",
                F::FromLeadsContactsAccounts,
                ev(false, true, Some(E::Contact)),
                true,
            ),
            (
                "leads/contacts/accounts: from an account",
                F::FromLeadsContactsAccounts,
                ev(false, true, Some(E::Account)),
                true,
            ),
            (
                "leads/contacts/accounts: from a lead",
                F::FromLeadsContactsAccounts,
                ev(false, true, Some(E::Lead)),
                true,
            ),
            (
                "leads/contacts/accounts: not from a user",
                F::FromLeadsContactsAccounts,
                ev(false, true, Some(E::User)),
                false,
            ),
            (
                "leads/contacts/accounts: not from a queue",
                F::FromLeadsContactsAccounts,
                ev(true, true, Some(E::Queue)),
                false,
            ),
            ("leads/contacts/accounts: unknown sender", F::FromLeadsContactsAccounts, ev(false, true, None), false),
            ("email-enabled records: from a user", F::FromEmailEnabledRecords, ev(false, true, Some(E::User)), true),
            ("email-enabled records: from a queue", F::FromEmailEnabledRecords, ev(false, true, Some(E::Queue)), true),
            ("email-enabled records: from a lead", F::FromEmailEnabledRecords, ev(false, true, Some(E::Lead)), true),
            ("email-enabled records: unknown sender", F::FromEmailEnabledRecords, ev(true, true, None), false),
            ("no email: nothing", F::NoEmail, ev(true, true, Some(E::Contact)), false),
        ];
        for (rule, method, evidence, want) in rows {
            assert_eq!(accepts(method, evidence), want, "{rule}");
        }
    }
}
