//! The `contact`, `account` and `lead` tables: the records email resolves to besides users and
//! queues. Their addresses reach `email_address_index` through the table triggers of migration 4.

use super::record::{self, Record, table_record};
use crate::Result;
use crate::domain::crm::CrmRecord;
use crate::domain::{Account, AccountId, Contact, ContactId, Lead, LeadId, RecordState};
use rusqlite::{Connection, ToSql, Transaction};

table_record!(Contact, "contact", id: ContactId {
    first_name, last_name, email_address_1, email_address_2, email_address_3, owner_user_id, state,
    created_on, modified_on,
});

table_record!(Account, "account", id: AccountId {
    name, email_address_1, email_address_2, email_address_3, owner_user_id, state, created_on, modified_on,
});

table_record!(Lead, "lead", id: LeadId {
    first_name, last_name, company_name, email_address_1, email_address_2, email_address_3, owner_user_id,
    state, created_on, modified_on,
});

/// A record table as the generic functions below read it.
pub(crate) trait Table: Record + CrmRecord<Id = <Self as Record>::Id> {
    /// The order of a list: by name.
    const ORDER: &'static str;
}

impl Table for Contact {
    const ORDER: &'static str = "last_name COLLATE NOCASE, first_name COLLATE NOCASE, id";
}
impl Table for Account {
    const ORDER: &'static str = "name COLLATE NOCASE, id";
}
impl Table for Lead {
    const ORDER: &'static str = "last_name COLLATE NOCASE, first_name COLLATE NOCASE, id";
}

/// One record, or `record.not_found`.
pub(crate) fn get<R: Table>(c: &Connection, id: <R as Record>::Id) -> Result<R>
where
    <R as Record>::Id: std::fmt::Display,
{
    record::get(c, id, <R as CrmRecord>::ENTITY)
}

/// The records in `state` (all of them for `None`), by name.
pub(crate) fn list<R: Table>(c: &Connection, state: Option<RecordState>) -> Result<Vec<R>> {
    match state {
        Some(s) => record::select(c, "state = ?1", R::ORDER, &[&s as &dyn ToSql]),
        None => record::select(c, "1", R::ORDER, &[]),
    }
}

/// Inserts a new record and returns its id.
pub(crate) fn insert<R: Table>(tx: &Transaction<'_>, r: &R) -> Result<i64> {
    record::insert(tx, r)
}

/// Writes every field of a record.
pub(crate) fn update<R: Table>(tx: &Transaction<'_>, r: &R) -> Result<()> {
    record::update(tx, r)
}
