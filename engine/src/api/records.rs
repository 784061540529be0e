//! Contacts, accounts and leads: create, edit, activate and deactivate, list, and import from CSV.
//! Written once over [`CrmRecord`]; each entity's public calls are a few lines below.

use super::PrincipalView;
use super::wire::{self, Wire};
use crate::domain::rules::{
    normalize_account, normalize_contact, normalize_lead, validate_account, validate_contact, validate_lead,
};
use crate::domain::{Account, Contact, Lead, RecordState, Timestamp};
use crate::store::{self, record::Record, records::Table};
use crate::{Engine, Error, Result};
use rusqlite::Transaction;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A record kind as the API handles it: its rules.
trait Kind: Table
where
    <Self as Record>::Id: std::fmt::Display + Send,
{
    fn normalize(&mut self);
    fn validate(&self) -> Result<()>;
}

impl Kind for Contact {
    fn normalize(&mut self) {
        normalize_contact(self);
    }
    fn validate(&self) -> Result<()> {
        validate_contact(self)
    }
}
impl Kind for Account {
    fn normalize(&mut self) {
        normalize_account(self);
    }
    fn validate(&self) -> Result<()> {
        validate_account(self)
    }
}
impl Kind for Lead {
    fn normalize(&mut self) {
        normalize_lead(self);
    }
    fn validate(&self) -> Result<()> {
        validate_lead(self)
    }
}

/// Normalises, validates and checks the owner of a record about to be written.
fn check<R: Kind>(tx: &Transaction<'_>, r: &mut R) -> Result<()>
where
    <R as Record>::Id: std::fmt::Display + Send,
{
    r.normalize();
    r.validate()?;
    if let Some(owner) = r.owner() {
        store::principals::user(tx, owner)?;
    }
    Ok(())
}

fn insert_new<R: Kind>(tx: &Transaction<'_>, changes: R::Changes, now: Timestamp) -> Result<R>
where
    <R as Record>::Id: std::fmt::Display + Send,
{
    let mut r = R::blank(now);
    r.apply(changes);
    check(tx, &mut r)?;
    let id = store::records::insert(tx, &r)?;
    r.set_id(id);
    Ok(r)
}

async fn create<R: Kind>(engine: &Engine, changes: R::Changes) -> Result<R>
where
    <R as Record>::Id: std::fmt::Display + Send,
{
    engine.write(move |tx, ctx| insert_new::<R>(tx, changes, ctx.now())).await
}

async fn update<R: Kind>(engine: &Engine, id: <R as Record>::Id, changes: R::Changes) -> Result<R>
where
    <R as Record>::Id: std::fmt::Display + Send,
{
    engine
        .write(move |tx, ctx| {
            let mut r: R = store::records::get(tx, id)?;
            r.apply(changes);
            check(tx, &mut r)?;
            r.set_modified(ctx.now());
            store::records::update(tx, &r)?;
            Ok(r)
        })
        .await
}

async fn get<R: Kind>(engine: &Engine, id: <R as Record>::Id) -> Result<R>
where
    <R as Record>::Id: std::fmt::Display + Send,
{
    engine.read(move |c, _| store::records::get(c, id)).await
}

async fn list<R: Kind>(engine: &Engine, view: PrincipalView) -> Result<Vec<R>>
where
    <R as Record>::Id: std::fmt::Display + Send,
{
    engine.read(move |c, _| store::records::list(c, view.state())).await
}

/// What a record grid (Contacts, Accounts, Leads) asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(deny_unknown_fields, default)]
pub struct RecordQuery {
    pub view: PrincipalView,
    /// Part of a name or an e-mail address.
    pub search: Option<String>,
}

impl RecordQuery {
    fn filter(&self) -> store::records::RecordFilter {
        store::records::RecordFilter { state: self.view.state(), search: self.search.clone() }
    }
}

/// The columns a record grid sorts by (the company name is a lead's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum RecordSortKey {
    #[default]
    Name,
    EmailAddress1,
    CompanyName,
    OwnerUserId,
    ModifiedOn,
}

/// A record grid's sort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(deny_unknown_fields, default)]
pub struct RecordSort {
    pub key: RecordSortKey,
    pub descending: bool,
}

/// A selection of records: the rows picked one by one, or every row of a view but some.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case", tag = "by")]
pub enum RecordSelection {
    Ids { ids: Vec<i64> },
    Query { query: RecordQuery, except: Vec<i64> },
}

/// The most rows one page may hold.
pub const MAX_RECORD_PAGE_ROWS: u32 = 1000;

async fn page<R: Kind>(
    engine: &Engine,
    query: RecordQuery,
    sort: RecordSort,
    offset: u32,
    limit: u32,
) -> Result<(Vec<R>, u32)>
where
    <R as Record>::Id: std::fmt::Display + Send,
{
    use store::records::RecordOrder;
    let order = match sort.key {
        RecordSortKey::Name => RecordOrder::Name,
        RecordSortKey::EmailAddress1 => RecordOrder::Column("email_address_1"),
        RecordSortKey::CompanyName if R::TEXT_COLUMNS.contains(&"company_name") => RecordOrder::Column("company_name"),
        RecordSortKey::CompanyName => {
            return Err(Error::validation("record.sort.unknown")
                .param("entity", <R as crate::domain::crm::CrmRecord>::ENTITY)
                .param("key", "company_name"));
        }
        RecordSortKey::OwnerUserId => RecordOrder::Owner,
        RecordSortKey::ModifiedOn => RecordOrder::ModifiedOn,
    };
    let limit = limit.clamp(1, MAX_RECORD_PAGE_ROWS);
    engine
        .read(move |c, _| {
            let (rows, total) = store::records::page::<R>(c, &query.filter(), order, sort.descending, offset, limit)?;
            Ok((rows, u32::try_from(total).unwrap_or(u32::MAX)))
        })
        .await
}

async fn selected_ids<R: Kind>(engine: &Engine, selection: RecordSelection) -> Result<Vec<i64>>
where
    <R as Record>::Id: std::fmt::Display + Send,
{
    match selection {
        RecordSelection::Ids { ids } => Ok(ids),
        RecordSelection::Query { query, except } => {
            let except: std::collections::HashSet<i64> = except.into_iter().collect();
            let ids = engine.read(move |c, _| store::records::ids::<R>(c, &query.filter())).await?;
            Ok(ids.into_iter().filter(|id| !except.contains(id)).collect())
        }
    }
}

async fn set_state<R: Kind>(engine: &Engine, ids: Vec<<R as Record>::Id>, state: RecordState) -> Result<Vec<R>>
where
    <R as Record>::Id: std::fmt::Display + Send,
{
    super::non_empty(&ids)?;
    engine
        .write(move |tx, ctx| {
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                let mut r: R = store::records::get(tx, id)?;
                if r.state() != state {
                    r.set_state(state, ctx.now());
                    store::records::update(tx, &r)?;
                }
                out.push(r);
            }
            Ok(out)
        })
        .await
}

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ImportSummary {
    pub imported: u32,
}

/// One row of a CSV file: its line number and its fields as the change set's JSON.
struct Row {
    line: u64,
    fields: Map<String, Value>,
}

/// Reads a CSV file whose header names the change set's fields. Empty cells set a text field to
/// "" and an owner to none.
fn read_csv(text: &str, fields: &[&str]) -> Result<Vec<Row>> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).trim(csv::Trim::All).from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| csv_error(&e))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_owned())
        .collect();
    if header.iter().all(String::is_empty) {
        return Err(Error::validation("import.no_header"));
    }
    for h in &header {
        if !fields.contains(&h.as_str()) {
            return Err(Error::validation("import.unknown_column")
                .param("line", 1)
                .param("column", h)
                .param("allowed", fields.join(", ")));
        }
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(&e))?;
        let line = record.position().map_or(0, csv::Position::line);
        let mut map = Map::new();
        for (name, cell) in header.iter().zip(record.iter()) {
            let value = if name == "owner_user_id" {
                if cell.is_empty() {
                    Value::Null
                } else {
                    cell.parse::<i64>().map(Value::from).map_err(|_| {
                        Error::validation("id.invalid").param("entity", "user").param("value", cell).param("line", line)
                    })?
                }
            } else {
                Value::String(cell.to_owned())
            };
            map.insert(name.clone(), value);
        }
        rows.push(Row { line, fields: map });
    }
    if rows.is_empty() {
        return Err(Error::validation("import.no_rows"));
    }
    Ok(rows)
}

fn csv_error(e: &csv::Error) -> Error {
    let line = e.position().map_or(0, csv::Position::line);
    Error::validation("import.malformed").param("line", line).with_detail(e.to_string())
}

/// Imports a CSV file, all rows or none: the first refused row refuses the file, naming its line.
async fn import<R: Kind, W>(engine: &Engine, csv_text: String) -> Result<ImportSummary>
where
    <R as Record>::Id: std::fmt::Display + Send,
    W: serde::de::DeserializeOwned + Into<R::Changes>,
{
    let rows = read_csv(&csv_text, R::change_fields())?;
    let mut changes = Vec::with_capacity(rows.len());
    for row in rows {
        let line = row.line;
        let c: W = serde_json::from_value(Value::Object(row.fields))
            .map_err(|e| Error::validation("import.invalid_row").param("line", line).with_detail(e.to_string()))?;
        changes.push((line, c.into()));
    }
    engine
        .write(move |tx, ctx| {
            let now = ctx.now();
            let n = changes.len() as u32;
            for (line, c) in changes {
                insert_new::<R>(tx, c, now).map_err(|e| e.param("line", line))?;
            }
            Ok(ImportSummary { imported: n })
        })
        .await
}

/// Declares the public calls of one record kind over the generic ones above.
macro_rules! record_api {
    ($ty:ident, $id:ident, $changes:ident, $create:ident, $update:ident, $get:ident, $list:ident, $set_state:ident, $import:ident,
     $page_ty:ident, $page:ident, $selected:ident) => {
        #[doc = concat!("One window of a ", stringify!($ty), " grid view, sorted in SQL, and the view's size.")]
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[cfg_attr(feature = "specta", derive(specta::Type))]
        pub struct $page_ty {
            pub rows: Vec<wire::$ty>,
            pub total: u32,
        }

        #[doc = concat!(
            "Rows `offset..offset + limit` of a ", stringify!($ty),
            " grid view: the grid reads the rows it shows, whatever the number of records."
        )]
        pub async fn $page(
            engine: &Engine,
            query: RecordQuery,
            sort: RecordSort,
            offset: u32,
            limit: u32,
        ) -> Result<$page_ty> {
            let (rows, total) = page::<$ty>(engine, query, sort, offset, limit).await?;
            Ok($page_ty { rows: rows.wire(), total })
        }

        #[doc = concat!("The ids of a selection of ", stringify!($ty), " records, by id (a view selected with \"all\" is read in the engine).")]
        pub async fn $selected(engine: &Engine, selection: RecordSelection) -> Result<Vec<wire::$id>> {
            let ids = selected_ids::<$ty>(engine, selection).await?;
            Ok(ids.into_iter().map(|id| wire::$id::from(crate::domain::$id(id))).collect())
        }

        #[doc = concat!("Creates a ", stringify!($ty), " (Save on a new form).")]
        pub async fn $create(engine: &Engine, changes: wire::$changes) -> Result<wire::$ty> {
            create::<$ty>(engine, changes.into()).await.map(Wire::wire)
        }

        #[doc = concat!("Saves changes to a ", stringify!($ty), ".")]
        pub async fn $update(engine: &Engine, id: wire::$id, changes: wire::$changes) -> Result<wire::$ty> {
            update::<$ty>(engine, id.into(), changes.into()).await.map(Wire::wire)
        }

        #[doc = concat!("One ", stringify!($ty), ".")]
        pub async fn $get(engine: &Engine, id: wire::$id) -> Result<wire::$ty> {
            get::<$ty>(engine, id.into()).await.map(Wire::wire)
        }

        #[doc = concat!("The ", stringify!($ty), " records of a view, by name.")]
        pub async fn $list(engine: &Engine, view: PrincipalView) -> Result<Vec<wire::$ty>> {
            list::<$ty>(engine, view).await.map(Wire::wire)
        }

        #[doc = concat!("Activates or deactivates ", stringify!($ty), " records, all or none.")]
        pub async fn $set_state(
            engine: &Engine,
            ids: Vec<wire::$id>,
            state: wire::RecordState,
        ) -> Result<Vec<wire::$ty>> {
            set_state::<$ty>(engine, ids.wire(), state.into()).await.map(Wire::wire)
        }

        #[doc = concat!(
                    "Imports ", stringify!($ty), " records from CSV text whose header names the fields, all or none: ",
                    "a refused row refuses the file, naming its line."
                )]
        pub async fn $import(engine: &Engine, csv: String) -> Result<ImportSummary> {
            import::<$ty, wire::$changes>(engine, csv).await
        }
    };
}

record_api!(
    Contact,
    ContactId,
    ContactChanges,
    create_contact,
    update_contact,
    get_contact,
    list_contacts,
    set_contact_state,
    import_contacts,
    ContactPage,
    list_contact_page,
    selected_contact_ids
);
record_api!(
    Account,
    AccountId,
    AccountChanges,
    create_account,
    update_account,
    get_account,
    list_accounts,
    set_account_state,
    import_accounts,
    AccountPage,
    list_account_page,
    selected_account_ids
);
record_api!(
    Lead,
    LeadId,
    LeadChanges,
    create_lead,
    update_lead,
    get_lead,
    list_leads,
    set_lead_state,
    import_leads,
    LeadPage,
    list_lead_page,
    selected_lead_ids
);
