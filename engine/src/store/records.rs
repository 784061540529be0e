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
    /// The name as SQL (what a grid's name column shows and a search reads).
    const NAME: &'static str;
    /// The terms of the order by name.
    const NAME_ORDER: &'static [&'static str];
    /// The text columns a grid shows besides the name, the e-mail addresses and the owner.
    const TEXT_COLUMNS: &'static [&'static str];
}

impl Table for Contact {
    const ORDER: &'static str = "last_name COLLATE NOCASE, first_name COLLATE NOCASE, id";
    const NAME: &'static str = "trim(first_name || ' ' || last_name)";
    const NAME_ORDER: &'static [&'static str] = &["last_name COLLATE NOCASE", "first_name COLLATE NOCASE"];
    const TEXT_COLUMNS: &'static [&'static str] = &[];
}
impl Table for Account {
    const ORDER: &'static str = "name COLLATE NOCASE, id";
    const NAME: &'static str = "name";
    const NAME_ORDER: &'static [&'static str] = &["name COLLATE NOCASE"];
    const TEXT_COLUMNS: &'static [&'static str] = &[];
}
impl Table for Lead {
    const ORDER: &'static str = "last_name COLLATE NOCASE, first_name COLLATE NOCASE, id";
    const NAME: &'static str = "trim(first_name || ' ' || last_name)";
    const NAME_ORDER: &'static [&'static str] = &["last_name COLLATE NOCASE", "first_name COLLATE NOCASE"];
    const TEXT_COLUMNS: &'static [&'static str] = &["company_name"];
}

/// What a record grid shows: a state (all of them for None) and a search in the name and the
/// e-mail addresses.
#[derive(Debug, Clone, Default)]
pub(crate) struct RecordFilter {
    pub state: Option<RecordState>,
    pub search: Option<String>,
}

/// How a record grid is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RecordOrder {
    Name,
    /// A text column: an e-mail address or one of [`Table::TEXT_COLUMNS`].
    Column(&'static str),
    /// The owner's full name.
    Owner,
    ModifiedOn,
}

fn where_of<R: Table>(filter: &RecordFilter) -> (String, Vec<Box<dyn ToSql>>) {
    super::grid_filter(
        filter.state,
        filter.search.as_deref(),
        &[R::NAME, "email_address_1", "email_address_2", "email_address_3"],
    )
}

/// One window of the records matching `filter`, sorted in SQL (blank values last, either way),
/// and how many match in all.
pub(crate) fn page<R: Table>(
    c: &Connection,
    filter: &RecordFilter,
    order: RecordOrder,
    descending: bool,
    offset: u32,
    limit: u32,
) -> Result<(Vec<R>, u64)> {
    let (where_sql, params) = where_of::<R>(filter);
    let refs: Vec<&dyn ToSql> = params.iter().map(|p| p.as_ref()).collect();
    record::window(c, &where_sql, &order_by::<R>(order, descending), &refs, offset, limit)
}

/// The ORDER BY terms of a grid's sort, ending with the id.
fn order_by<R: Table>(order: RecordOrder, descending: bool) -> String {
    let dir = if descending { "DESC" } else { "ASC" };
    let owner = "(SELECT full_name FROM system_user WHERE system_user.id = owner_user_id) COLLATE NOCASE";
    let terms: Vec<String> = match order {
        RecordOrder::Name => R::NAME_ORDER.iter().map(|t| format!("{t} {dir}")).collect(),
        RecordOrder::Column(c) => vec![format!("{c} = '' ASC"), format!("{c} COLLATE NOCASE {dir}")],
        RecordOrder::Owner => vec!["owner_user_id IS NULL ASC".to_owned(), format!("{owner} {dir}")],
        RecordOrder::ModifiedOn => vec![format!("modified_on {dir}")],
    };
    format!("{}, id {dir}", terms.join(", "))
}

/// The ids of the records matching `filter` (a selection made by query), by id.
pub(crate) fn ids<R: Table>(c: &Connection, filter: &RecordFilter) -> Result<Vec<i64>> {
    let (where_sql, params) = where_of::<R>(filter);
    let refs: Vec<&dyn ToSql> = params.iter().map(|p| p.as_ref()).collect();
    record::ids::<R, i64>(c, &where_sql, &refs)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The plan of a grid's first page of a view sorted by name.
    fn plan<R: Table>(c: &Connection, descending: bool) -> Result<Vec<String>> {
        let table = <R as Record>::TABLE;
        let sql = format!(
            "EXPLAIN QUERY PLAN SELECT id FROM {table} WHERE state = 'active' ORDER BY {} LIMIT 200",
            order_by::<R>(RecordOrder::Name, descending)
        );
        let mut stmt = c.prepare(&sql)?;
        Ok(stmt.query_map([], |r| r.get(3))?.collect::<rusqlite::Result<_>>()?)
    }

    #[test]
    fn a_view_sorted_by_name_is_read_in_index_order_without_a_sort() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let store = crate::store::Store::open(&dir.path().join("t.sqlite3"))?;
        store.read(|c| {
            for descending in [false, true] {
                for plan in
                    [plan::<Contact>(c, descending)?, plan::<Lead>(c, descending)?, plan::<Account>(c, descending)?]
                {
                    assert!(plan.iter().any(|p| p.contains("INDEX") && p.starts_with("SEARCH")), "{plan:?}");
                    assert!(!plan.iter().any(|p| p.contains("TEMP B-TREE")), "sorted after reading: {plan:?}");
                }
            }
            Ok(())
        })
    }
}
