//! The records email resolves to besides users and queues: contacts, accounts and leads. Each has
//! the three email-address columns of Dynamics (`emailaddress1`–`emailaddress3`), an owner and a
//! state; every address of every email-enabled record is found through one index (see
//! `store::addresses`).

use super::{AccountId, ContactId, LeadId, RecordState, Timestamp, UserId, change_set};

/// A contact (`contact`): a person the organisation deals with.
#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
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

/// An account (`account`): a company or organisation.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
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

/// A lead (`lead`): a prospect not yet qualified.
#[derive(Debug, Clone, PartialEq)]
pub struct Lead {
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

/// Lists the fields of [`ContactChanges`] once (see `profile_changes!`).
macro_rules! contact_changes {
    ($m:ident) => {
        $m! {
            /// What a contact form or an import row may set.
            ContactChanges for Contact {
                first_name: String,
                last_name: String,
                email_address_1: String,
                email_address_2: String,
                email_address_3: String,
                owner_user_id: Option<UserId>,
            }
        }
    };
}
pub(crate) use contact_changes;

contact_changes!(change_set);

/// Lists the fields of [`AccountChanges`] once (see `profile_changes!`).
macro_rules! account_changes {
    ($m:ident) => {
        $m! {
            /// What an account form or an import row may set.
            AccountChanges for Account {
                name: String,
                email_address_1: String,
                email_address_2: String,
                email_address_3: String,
                owner_user_id: Option<UserId>,
            }
        }
    };
}
pub(crate) use account_changes;

account_changes!(change_set);

/// Lists the fields of [`LeadChanges`] once (see `profile_changes!`).
macro_rules! lead_changes {
    ($m:ident) => {
        $m! {
            /// What a lead form or an import row may set.
            LeadChanges for Lead {
                first_name: String,
                last_name: String,
                company_name: String,
                email_address_1: String,
                email_address_2: String,
                email_address_3: String,
                owner_user_id: Option<UserId>,
            }
        }
    };
}
pub(crate) use lead_changes;

lead_changes!(change_set);

/// What contacts, accounts and leads have in common: a blank record to fill, a display name, three
/// addresses, an owner and a state. The API, the store and the CSV import are written once over it.
pub trait CrmRecord: Clone + Send + 'static {
    type Id: Copy + Send + std::fmt::Debug + 'static;
    type Changes: Default + Send + 'static;
    /// The entity's name in errors, ids and the CLI.
    const ENTITY: &'static str;
    /// A new, unsaved, empty record.
    fn blank(now: Timestamp) -> Self;
    fn id(&self) -> Self::Id;
    fn set_id(&mut self, id: i64);
    /// What a grid and a party show.
    fn display_name(&self) -> String;
    fn email_addresses(&self) -> [&str; 3];
    fn owner(&self) -> Option<UserId>;
    fn state(&self) -> RecordState;
    fn set_state(&mut self, state: RecordState, now: Timestamp);
    fn set_modified(&mut self, now: Timestamp);
    /// Writes the present fields of `changes` onto the record.
    fn apply(&mut self, changes: Self::Changes);
    /// The names of the change set's fields (the CSV header's vocabulary).
    fn change_fields() -> &'static [&'static str];
}

fn person_name(first: &str, last: &str) -> String {
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() { last.to_owned() } else { format!("{first} {last}") }
}

macro_rules! crm_record {
    ($ty:ident, $id:ident, $changes:ident, $entity:literal, |$r:ident| $name:expr, { $($blank:ident),* }) => {
        impl CrmRecord for $ty {
            type Id = $id;
            type Changes = $changes;
            const ENTITY: &'static str = $entity;

            fn blank(now: Timestamp) -> Self {
                $ty {
                    id: $id(0),
                    $($blank: String::new(),)*
                    email_address_1: String::new(),
                    email_address_2: String::new(),
                    email_address_3: String::new(),
                    owner_user_id: None,
                    state: RecordState::Active,
                    created_on: now,
                    modified_on: now,
                }
            }
            fn id(&self) -> $id {
                self.id
            }
            fn set_id(&mut self, id: i64) {
                self.id = $id(id);
            }
            fn display_name(&self) -> String {
                let $r = self;
                $name
            }
            fn email_addresses(&self) -> [&str; 3] {
                [&self.email_address_1, &self.email_address_2, &self.email_address_3]
            }
            fn owner(&self) -> Option<UserId> {
                self.owner_user_id
            }
            fn state(&self) -> RecordState {
                self.state
            }
            fn set_state(&mut self, state: RecordState, now: Timestamp) {
                if self.state != state {
                    self.state = state;
                    self.modified_on = now;
                }
            }
            fn set_modified(&mut self, now: Timestamp) {
                self.modified_on = now;
            }
            fn apply(&mut self, changes: $changes) {
                changes.apply_to(self);
            }
            fn change_fields() -> &'static [&'static str] {
                $changes::FIELDS
            }
        }
    };
}

crm_record!(Contact, ContactId, ContactChanges, "contact", |r| person_name(&r.first_name, &r.last_name), {
    first_name, last_name
});
crm_record!(Account, AccountId, AccountChanges, "account", |r| r.name.trim().to_owned(), { name });
crm_record!(Lead, LeadId, LeadChanges, "lead", |r| person_name(&r.first_name, &r.last_name), {
    first_name, last_name, company_name
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_person_is_named_first_then_last_and_an_account_by_its_name() {
        let now = chrono::Utc::now();
        let mut c = Contact::blank(now);
        c.last_name = "Nakamura".into();
        assert_eq!(c.display_name(), "Nakamura");
        c.first_name = " Yui ".into();
        assert_eq!(c.display_name(), "Yui Nakamura");
        let mut a = Account::blank(now);
        a.name = "Contoso ".into();
        assert_eq!(a.display_name(), "Contoso");
    }

    #[test]
    fn changes_write_only_their_present_fields() {
        let now = chrono::Utc::now();
        let mut l = Lead::blank(now);
        l.company_name = "Fabrikam".into();
        l.apply(LeadChanges { last_name: Some("Trần".into()), ..Default::default() });
        assert_eq!((l.last_name.as_str(), l.company_name.as_str()), ("Trần", "Fabrikam"));
    }
}
