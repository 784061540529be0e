//! SQLite: one writer connection, a few read-only readers, WAL, foreign keys on, STRICT tables,
//! append-only migrations. Every write is one `BEGIN IMMEDIATE` transaction: it commits whole
//! or not at all, so a refused or failed operation leaves nothing half-written.

mod migrations;

pub use migrations::{LATEST_VERSION, MIGRATIONS};

use crate::{Error, ErrorKind, Result};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, ToSql, Transaction, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

const READERS: usize = 2;
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A record stored in one table (implemented by `table_record!`).
pub trait Record: Sized {
    type Id: ToSql + Copy;
    const TABLE: &'static str;
    /// Written columns other than `id`, in field order.
    const COLUMNS: &'static [&'static str];
    /// Read-only columns computed by an SQL expression.
    const DERIVED: &'static [(&'static str, &'static str)];
    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self>;
    fn column_values(&self) -> Vec<&dyn ToSql>;
    fn id(&self) -> Self::Id;
}

/// `SELECT id, …columns…, (derived) AS name FROM table`.
pub fn select_sql<R: Record>() -> String {
    let mut cols: Vec<String> = vec!["id".to_owned()];
    cols.extend(R::COLUMNS.iter().map(|c| (*c).to_owned()));
    cols.extend(R::DERIVED.iter().map(|(name, expr)| format!("{expr} AS {name}")));
    format!("SELECT {} FROM {}", cols.join(", "), R::TABLE)
}

/// Inserts a record (its id is assigned by SQLite) and returns the new id.
pub fn insert<R: Record>(tx: &Transaction<'_>, r: &R) -> Result<i64> {
    let placeholders: Vec<String> = (1..=R::COLUMNS.len()).map(|i| format!("?{i}")).collect();
    let sql = format!("INSERT INTO {} ({}) VALUES ({})", R::TABLE, R::COLUMNS.join(", "), placeholders.join(", "));
    tx.execute(&sql, r.column_values().as_slice())?;
    Ok(tx.last_insert_rowid())
}

/// Inserts a record under a given id (the organisation row).
pub fn insert_with_id<R: Record>(tx: &Transaction<'_>, r: &R) -> Result<()> {
    let placeholders: Vec<String> = (1..=R::COLUMNS.len() + 1).map(|i| format!("?{i}")).collect();
    let sql = format!("INSERT INTO {} (id, {}) VALUES ({})", R::TABLE, R::COLUMNS.join(", "), placeholders.join(", "));
    let id = r.id();
    let mut values: Vec<&dyn ToSql> = vec![&id];
    values.extend(r.column_values());
    tx.execute(&sql, values.as_slice())?;
    Ok(())
}

/// Writes every column of an existing record.
pub fn update<R: Record>(tx: &Transaction<'_>, r: &R) -> Result<()> {
    let sets: Vec<String> = R::COLUMNS.iter().enumerate().map(|(i, c)| format!("{c} = ?{}", i + 1)).collect();
    let sql = format!("UPDATE {} SET {} WHERE id = ?{}", R::TABLE, sets.join(", "), R::COLUMNS.len() + 1);
    let id = r.id();
    let mut values = r.column_values();
    values.push(&id);
    let changed = tx.execute(&sql, values.as_slice())?;
    if changed != 1 {
        return Err(Error::internal(format!("update of {} touched {changed} rows", R::TABLE)));
    }
    Ok(())
}

/// Reads one record by id.
pub fn get<R: Record>(conn: &Connection, id: R::Id) -> Result<Option<R>> {
    let sql = format!("{} WHERE id = ?1", select_sql::<R>());
    Ok(conn.query_row(&sql, [id], R::from_row).optional()?)
}

/// Reads records matching an SQL condition (`where_sql` may be "1" for all), in `order`.
pub fn list<R: Record>(conn: &Connection, where_sql: &str, order: &str, params: &[&dyn ToSql]) -> Result<Vec<R>> {
    let sql = format!("{} WHERE {where_sql} ORDER BY {order}", select_sql::<R>());
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params, R::from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<R>>>()?)
}

/// The database: one writer, a few readers.
#[derive(Debug)]
pub struct Store {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while holding the lock leaves SQLite itself consistent (the transaction is rolled
    // back when dropped), so a poisoned lock is still safe to use.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store> {
        let writer = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| {
            Error::new(ErrorKind::Storage, "storage.open_failed").param("path", path.display()).with_detail(e)
        })?;
        writer.busy_timeout(BUSY_TIMEOUT)?;
        writer.pragma_update(None, "journal_mode", "WAL")?;
        writer.pragma_update(None, "synchronous", "NORMAL")?;
        writer.pragma_update(None, "foreign_keys", true)?;
        let mut writer = writer;
        migrations::migrate(&mut writer)?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let r =
                Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
            r.busy_timeout(BUSY_TIMEOUT)?;
            r.pragma_update(None, "foreign_keys", true)?;
            readers.push(Mutex::new(r));
        }
        Ok(Store { path: path.to_owned(), writer: Mutex::new(writer), readers, next_reader: AtomicUsize::new(0) })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in one write transaction: committed if it returns Ok, rolled back otherwise.
    pub fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Runs `f` on a read-only connection (sees the last committed state).
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len().max(1);
        match self.readers.get(i) {
            Some(r) => f(&lock(r)),
            None => f(&lock(&self.writer)),
        }
    }

    /// Runs `f` with the writer connection outside any transaction (maintenance, checkpoints).
    pub fn with_writer<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        f(&lock(&self.writer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_database_has_the_latest_schema_wal_and_foreign_keys() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let store = Store::open(&dir.path().join("t.sqlite3"))?;
        store.with_writer(|c| {
            let v: i64 = c.pragma_query_value(None, "user_version", |r| r.get(0))?;
            assert_eq!(v, LATEST_VERSION);
            let mode: String = c.pragma_query_value(None, "journal_mode", |r| r.get(0))?;
            assert_eq!(mode, "wal");
            let fk: i64 = c.pragma_query_value(None, "foreign_keys", |r| r.get(0))?;
            assert_eq!(fk, 1);
            Ok(())
        })
    }

    #[test]
    fn every_table_is_strict() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let store = Store::open(&dir.path().join("t.sqlite3"))?;
        store.read(|c| {
            let mut stmt = c.prepare(
                "SELECT name, strict FROM pragma_table_list WHERE schema = 'main' AND name NOT LIKE 'sqlite_%'",
            )?;
            let tables: Vec<(String, i64)> =
                stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?;
            assert!(tables.len() >= 8, "{tables:?}");
            for (name, strict) in tables {
                assert_eq!(strict, 1, "table {name} is not STRICT");
            }
            Ok(())
        })
    }

    #[test]
    fn a_failed_write_leaves_nothing_behind() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let store = Store::open(&dir.path().join("t.sqlite3"))?;
        let r: Result<()> = store.write(|tx| {
            tx.execute("INSERT INTO meta (key, value) VALUES ('probe', 'x')", [])?;
            Err(Error::validation("field.required"))
        });
        assert!(r.is_err());
        let n: i64 =
            store.read(|c| Ok(c.query_row("SELECT count(*) FROM meta WHERE key = 'probe'", [], |r| r.get(0))?))?;
        assert_eq!(n, 0);
        Ok(())
    }

    #[test]
    fn readers_cannot_write() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let store = Store::open(&dir.path().join("t.sqlite3"))?;
        let r = store.read(|c| Ok(c.execute("INSERT INTO meta (key, value) VALUES ('x', 'y')", [])?));
        assert!(r.is_err(), "a reader connection accepted a write");
        Ok(())
    }
}
