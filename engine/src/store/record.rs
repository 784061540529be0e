//! The row mapping shared by the table modules: a [`Record`] names its table and columns, and the
//! generic statements below are built from them. Only the table modules use it; the rest of the
//! engine calls their named functions.

use crate::{Error, Result};
use rusqlite::{Connection, OptionalExtension, Row, ToSql, Transaction};

/// A record stored in one table (implemented by `table_record!`).
pub(crate) trait Record: Sized {
    type Id: ToSql + Copy;
    const TABLE: &'static str;
    /// Written columns other than `id`, in field order.
    const COLUMNS: &'static [&'static str];
    /// Read-only columns computed by an SQL expression.
    const DERIVED: &'static [(&'static str, &'static str)];
    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self>;
    fn column_values(&self) -> Vec<&dyn ToSql>;
    fn id(&self) -> Self::Id;
    /// The generic statements of the table, built once.
    fn statements() -> &'static Statements;
}

/// The statements every record table shares, built from its columns once (a mailbox is read at
/// every cycle: its SQL is not written anew each time).
#[derive(Debug)]
pub(crate) struct Statements {
    /// `SELECT id, …columns…, (derived) AS name FROM table`.
    select: String,
    find: String,
    insert: String,
    update: String,
}

impl Statements {
    pub(crate) fn of<R: Record>() -> Statements {
        let mut cols: Vec<String> = vec!["id".to_owned()];
        cols.extend(R::COLUMNS.iter().map(|c| (*c).to_owned()));
        cols.extend(R::DERIVED.iter().map(|(name, expr)| format!("{expr} AS {name}")));
        let select = format!("SELECT {} FROM {}", cols.join(", "), R::TABLE);
        let placeholders: Vec<String> = (1..=R::COLUMNS.len()).map(|i| format!("?{i}")).collect();
        let sets: Vec<String> = R::COLUMNS.iter().enumerate().map(|(i, c)| format!("{c} = ?{}", i + 1)).collect();
        Statements {
            find: format!("{select} WHERE id = ?1"),
            insert: format!(
                "INSERT INTO {} ({}) VALUES ({})",
                R::TABLE,
                R::COLUMNS.join(", "),
                placeholders.join(", ")
            ),
            update: format!("UPDATE {} SET {} WHERE id = ?{}", R::TABLE, sets.join(", "), R::COLUMNS.len() + 1),
            select,
        }
    }
}

/// Declares how a record maps to its table: the column list (named after the fields, `id`
/// first), the row reader and the parameters for INSERT/UPDATE. `derived` fields are read from
/// an SQL expression and never written.
macro_rules! table_record {
    ($ty:ident, $table:literal, $id:ident : $idty:ty { $($field:ident),* $(,)? }
     $(derived { $($dfield:ident = $expr:literal),* $(,)? })?) => {
        impl crate::store::record::Record for $ty {
            type Id = $idty;
            const TABLE: &'static str = $table;
            const COLUMNS: &'static [&'static str] = &[$(stringify!($field)),*];
            const DERIVED: &'static [(&'static str, &'static str)] = &[$($((stringify!($dfield), $expr)),*)?];

            fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
                let mut i = 0usize;
                let $id: $idty = row.get(i)?;
                $( i += 1; let $field = row.get(i)?; )*
                $($( i += 1; let $dfield = row.get(i)?; )*)?
                let _ = i;
                Ok($ty { $id, $($field,)* $($($dfield,)*)? })
            }

            fn column_values(&self) -> Vec<&dyn rusqlite::ToSql> {
                vec![$(&self.$field as &dyn rusqlite::ToSql),*]
            }

            fn id(&self) -> $idty {
                self.$id
            }

            fn statements() -> &'static crate::store::record::Statements {
                static STATEMENTS: std::sync::OnceLock<crate::store::record::Statements> = std::sync::OnceLock::new();
                STATEMENTS.get_or_init(crate::store::record::Statements::of::<Self>)
            }
        }
    };
}
pub(crate) use table_record;

/// `SELECT id, …columns…, (derived) AS name FROM table`.
pub(crate) fn select_sql<R: Record>() -> &'static str {
    &R::statements().select
}

/// Inserts a record (its id is assigned by SQLite) and returns the new id.
pub(crate) fn insert<R: Record>(tx: &Transaction<'_>, r: &R) -> Result<i64> {
    tx.prepare_cached(&R::statements().insert)?.execute(r.column_values().as_slice())?;
    Ok(tx.last_insert_rowid())
}

/// Inserts a record under a given id (the organisation row).
pub(crate) fn insert_with_id<R: Record>(tx: &Transaction<'_>, r: &R) -> Result<()> {
    let placeholders: Vec<String> = (1..=R::COLUMNS.len() + 1).map(|i| format!("?{i}")).collect();
    let sql = format!("INSERT INTO {} (id, {}) VALUES ({})", R::TABLE, R::COLUMNS.join(", "), placeholders.join(", "));
    let id = r.id();
    let mut values: Vec<&dyn ToSql> = vec![&id];
    values.extend(r.column_values());
    tx.execute(&sql, values.as_slice())?;
    Ok(())
}

/// Writes every column of an existing record.
pub(crate) fn update<R: Record>(tx: &Transaction<'_>, r: &R) -> Result<()> {
    let id = r.id();
    let mut values = r.column_values();
    values.push(&id);
    let changed = tx.prepare_cached(&R::statements().update)?.execute(values.as_slice())?;
    if changed != 1 {
        return Err(Error::internal(format!("update of {} touched {changed} rows", R::TABLE)));
    }
    Ok(())
}

/// Deletes a record by id; false when there was none.
pub(crate) fn delete<R: Record>(tx: &Transaction<'_>, id: R::Id) -> Result<bool> {
    let sql = format!("DELETE FROM {} WHERE id = ?1", R::TABLE);
    Ok(tx.execute(&sql, [id])? == 1)
}

/// Reads one record by id.
pub(crate) fn find<R: Record>(conn: &Connection, id: R::Id) -> Result<Option<R>> {
    Ok(conn.prepare_cached(&R::statements().find)?.query_row([id], R::from_row).optional()?)
}

/// Reads one record by id, or fails with `record.not_found` naming `entity`.
pub(crate) fn get<R: Record>(conn: &Connection, id: R::Id, entity: &'static str) -> Result<R>
where
    R::Id: std::fmt::Display,
{
    find::<R>(conn, id)?.ok_or_else(|| Error::not_found(entity, id))
}

/// Reads the records matching a condition of the calling table module (`where_sql` may be "1"),
/// in `order`.
/// Rows `offset..offset + limit` of the rows matching `where_sql`, in `order`, and how many match
/// in all: one window of a grid.
pub(crate) fn window<R: Record>(
    conn: &Connection,
    where_sql: &str,
    order: &str,
    params: &[&dyn ToSql],
    offset: u32,
    limit: u32,
) -> Result<(Vec<R>, u64)> {
    // Numbers, not parameters: SQLite plans a LIMIT it can see.
    let rows = select(conn, where_sql, &format!("{order} LIMIT {limit} OFFSET {offset}"), params)?;
    let mut stmt = conn.prepare_cached(&format!("SELECT COUNT(*) FROM {} WHERE {where_sql}", R::TABLE))?;
    let total: i64 = stmt.query_row(params, |r| r.get(0))?;
    Ok((rows, u64::try_from(total).unwrap_or_default()))
}

/// The ids of the rows matching `where_sql`, by id (a view selected whole).
pub(crate) fn ids<R: Record, Id: rusqlite::types::FromSql>(
    conn: &Connection,
    where_sql: &str,
    params: &[&dyn ToSql],
) -> Result<Vec<Id>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT id FROM {} WHERE {where_sql} ORDER BY id", R::TABLE))?;
    let rows = stmt.query_map(params, |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<Vec<Id>>>()?)
}

pub(crate) fn select<R: Record>(
    conn: &Connection,
    where_sql: &str,
    order: &str,
    params: &[&dyn ToSql],
) -> Result<Vec<R>> {
    let sql = format!("{} WHERE {where_sql} ORDER BY {order}", select_sql::<R>());
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params, R::from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<R>>>()?)
}
