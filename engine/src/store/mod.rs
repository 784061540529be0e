//! SQLite, and every SQL statement of the engine: one module per table, each a set of named
//! functions over a connection (reads) or a transaction (writes). Nothing outside this module
//! writes SQL.
//!
//! * One writer connection and a few read-only readers, WAL, foreign keys on, STRICT tables,
//!   append-only migrations tracked by `PRAGMA user_version`.
//! * Every write is one `BEGIN IMMEDIATE` transaction: it commits whole or not at all, so a
//!   refused or failed operation leaves nothing half-written. [`batch`] gives each item of a
//!   larger write its own savepoint: one bad item rolls back alone, the rest commit together.
//! * Writers and readers wait for their connection asynchronously ([`Store::writer_gate`],
//!   [`Store::reader_gate`]): a waiting writer holds no thread; only the one that owns the
//!   connection runs, on the blocking pool.
//! * **Durability.** The database runs `synchronous=NORMAL` in WAL mode: a commit survives a
//!   crash of the process, but the last commits before a power loss may be lost. A commit that
//!   is followed by an acknowledgement to a mail server (a POP3 DELE, an IMAP MOVE, a cursor the
//!   server forgets) must survive a power loss too, or the message would be gone from the server
//!   and from the database: such writes ask for [`Durability::Full`], which syncs the WAL to disk
//!   before the commit returns. Everything else keeps NORMAL, which costs no fsync per commit.

mod codec;
mod migrations;
pub(crate) mod record;

pub mod activities;
pub mod addresses;
pub mod alerts;
pub mod jobs;
pub mod mailboxes;
pub mod messages;
pub mod monitoring;
pub mod outbox;
pub mod principals;
pub mod profiles;
pub mod records;
pub mod schedule;
pub mod settings;
pub mod sync_state;

pub use migrations::{LATEST_VERSION, MIGRATIONS};

use crate::{Error, ErrorKind, Result};
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Semaphore;

const READERS: usize = 2;
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How durable a commit must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Survives a crash of the process (WAL, `synchronous=NORMAL`).
    #[default]
    Normal,
    /// Survives a power loss too: the WAL is synced before the commit returns. For commits that
    /// a server is told about right after.
    Full,
}

/// The LIKE pattern (with `ESCAPE '\\'`) of a grid's search: what contains the text, `%` and `_`
/// taken as characters. None for a blank search.
pub(crate) fn like_pattern(search: Option<&str>) -> Option<String> {
    let s = search.map(str::trim).filter(|s| !s.is_empty())?;
    Some(format!("%{}%", s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")))
}

/// The WHERE clause of a grid view and its parameters: a state (any for None), and a search that
/// any of `columns` contains.
pub(crate) fn grid_filter(
    state: Option<crate::domain::RecordState>,
    search: Option<&str>,
    columns: &[&str],
) -> (String, Vec<Box<dyn rusqlite::ToSql>>) {
    let mut clauses: Vec<String> = Vec::new();
    let mut params: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
    if let Some(s) = state {
        params.push(Box::new(s));
        clauses.push(format!("state = ?{}", params.len()));
    }
    if let Some(pattern) = like_pattern(search) {
        params.push(Box::new(pattern));
        let n = params.len();
        let any: Vec<String> = columns.iter().map(|c| format!("{c} LIKE ?{n} ESCAPE '\\'")).collect();
        clauses.push(format!("({})", any.join(" OR ")));
    }
    let where_sql = if clauses.is_empty() { "1".to_owned() } else { clauses.join(" AND ") };
    (where_sql, params)
}

/// Runs `f` for each item in a savepoint of its own: an item whose `f` fails is rolled back
/// alone and its error kept; the others stay in the transaction, which the caller commits once.
///
/// SQLite copies each page a savepoint changes before changing it, once per savepoint: a
/// savepoint per item copies the same index pages again for every item. So the items run first in
/// one savepoint for the whole batch, and only a batch in which an item fails is rolled back and
/// run again with a savepoint per item (`f` runs twice for the items of such a batch).
pub fn batch<I: Clone, T>(
    tx: &Transaction<'_>,
    items: impl IntoIterator<Item = I>,
    mut f: impl FnMut(&Transaction<'_>, I) -> Result<T>,
) -> Result<Vec<Result<T>>> {
    let items: Vec<I> = items.into_iter().collect();
    let mut out = Vec::with_capacity(items.len());
    tx.prepare_cached("SAVEPOINT batch_all")?.execute([])?;
    for item in items.iter().cloned() {
        match f(tx, item) {
            Ok(v) => out.push(Ok(v)),
            Err(_) => break,
        }
    }
    if out.len() < items.len() {
        out.clear();
        tx.prepare_cached("ROLLBACK TO batch_all")?.execute([])?;
    }
    tx.prepare_cached("RELEASE batch_all")?.execute([])?;
    if out.len() == items.len() {
        return Ok(out);
    }
    for item in items {
        tx.prepare_cached("SAVEPOINT batch_item")?.execute([])?;
        match f(tx, item) {
            Ok(v) => {
                tx.prepare_cached("RELEASE batch_item")?.execute([])?;
                out.push(Ok(v));
            }
            Err(e) => {
                tx.prepare_cached("ROLLBACK TO batch_item")?.execute([])?;
                tx.prepare_cached("RELEASE batch_item")?.execute([])?;
                out.push(Err(e));
            }
        }
    }
    Ok(out)
}

/// The database: one writer, a few readers.
#[derive(Debug)]
pub struct Store {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    writer_gate: Arc<Semaphore>,
    reader_gate: Arc<Semaphore>,
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
            Error::new(ErrorKind::Storage, "storage.open_failed").param("path", path.display()).with_source(e)
        })?;
        writer.busy_timeout(BUSY_TIMEOUT)?;
        writer.pragma_update(None, "journal_mode", "WAL")?;
        writer.pragma_update(None, "synchronous", "NORMAL")?;
        writer.pragma_update(None, "foreign_keys", true)?;
        writer.set_prepared_statement_cache_capacity(64);
        let mut writer = writer;
        migrations::migrate(&mut writer)?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let r =
                Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
            r.busy_timeout(BUSY_TIMEOUT)?;
            r.pragma_update(None, "foreign_keys", true)?;
            r.set_prepared_statement_cache_capacity(64);
            readers.push(Mutex::new(r));
        }
        Ok(Store {
            path: path.to_owned(),
            writer: Mutex::new(writer),
            readers,
            writer_gate: Arc::new(Semaphore::new(1)),
            reader_gate: Arc::new(Semaphore::new(READERS)),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the original messages are kept (see [`messages`]).
    pub fn messages_dir(&self) -> PathBuf {
        self.path.parent().unwrap_or_else(|| Path::new(".")).join("messages")
    }

    /// What an async caller waits on before it takes the writer: one permit, so waiting writers
    /// queue without holding a thread.
    pub fn writer_gate(&self) -> Arc<Semaphore> {
        self.writer_gate.clone()
    }

    /// What an async caller waits on before it takes a reader: one permit per reader.
    pub fn reader_gate(&self) -> Arc<Semaphore> {
        self.reader_gate.clone()
    }

    /// Runs `f` in one write transaction: committed if it returns Ok, rolled back otherwise.
    pub fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        self.write_with(Durability::Normal, f)
    }

    /// [`Store::write`] with the durability the commit needs.
    pub fn write_with<T>(&self, durability: Durability, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = lock(&self.writer);
        if durability == Durability::Full {
            conn.pragma_update(None, "synchronous", "FULL")?;
        }
        let out = (|| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })();
        if durability == Durability::Full {
            conn.pragma_update(None, "synchronous", "NORMAL")?;
        }
        out
    }

    /// Runs `f` on a read-only connection, in one read transaction: all its statements see the
    /// same committed state (a grid's rows and its total agree, whatever is written meanwhile).
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        // A caller that went through the reader gate finds a free reader; one that did not
        // (a blocking caller) waits for the first.
        for r in &self.readers {
            if let Ok(guard) = r.try_lock() {
                return snapshot(&guard, f);
            }
        }
        match self.readers.first() {
            Some(r) => snapshot(&lock(r), f),
            None => snapshot(&lock(&self.writer), f),
        }
    }

    /// Runs `f` with the writer connection outside any transaction (maintenance, checkpoints).
    pub fn with_writer<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        f(&lock(&self.writer))
    }
}

/// Runs `f` in a deferred transaction on `c`: its first read takes the snapshot the others see.
fn snapshot<T>(c: &Connection, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
    let tx = c.unchecked_transaction()?;
    let out = f(&tx)?;
    tx.commit()?;
    Ok(out)
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

    #[test]
    fn one_bad_item_in_a_batch_of_500_rolls_back_alone_and_the_batch_is_one_commit() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let store = Store::open(&dir.path().join("t.sqlite3"))?;
        let before: i64 = store.read(|c| Ok(c.query_row("PRAGMA data_version", [], |r| r.get(0))?))?;
        let mut calls = 0;
        let results = store.write(|tx| {
            batch(tx, 0..500, |tx, i| {
                calls += 1;
                // Item 250 takes the key of item 10: a unique constraint violation.
                let key = if i == 250 { "item-10".to_owned() } else { format!("item-{i}") };
                tx.execute("INSERT INTO meta (key, value) VALUES (?1, 'v')", [&key])?;
                tx.execute("UPDATE meta SET value = 'changed' WHERE key = ?1", [&key])?;
                Ok(i)
            })
        })?;
        let failed: Vec<usize> = results.iter().enumerate().filter(|(_, r)| r.is_err()).map(|(i, _)| i).collect();
        assert_eq!(failed, vec![250]);
        assert_eq!(calls, 251 + 500, "the batch ran once up to the bad item, then again item by item");
        let err = results.get(250).and_then(|r| r.as_ref().err()).map(|e| (e.kind(), e.is_transient()));
        assert_eq!(err, Some((ErrorKind::Internal, false)), "a constraint violation is a bug, not a retry");
        let (rows, changed): (i64, i64) = store.read(|c| {
            Ok(c.query_row(
                "SELECT count(*), coalesce(sum(value = 'changed'), 0) FROM meta WHERE key LIKE 'item-%'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?)
        })?;
        assert_eq!((rows, changed), (499, 499), "the bad item's own writes were rolled back, nothing else");
        // Another connection sees the database change once: one commit for the whole batch.
        let after: i64 = store.read(|c| Ok(c.query_row("PRAGMA data_version", [], |r| r.get(0))?))?;
        assert_eq!(after - before, 1);
        Ok(())
    }

    #[test]
    fn a_batch_without_a_bad_item_runs_each_item_once() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let store = Store::open(&dir.path().join("t.sqlite3"))?;
        let mut calls = 0;
        let results = store.write(|tx| {
            batch(tx, 0..300, |tx, i| {
                calls += 1;
                tx.execute("INSERT INTO meta (key, value) VALUES (?1, 'v')", [format!("item-{i}")])?;
                Ok(i)
            })
        })?;
        assert_eq!((results.iter().filter(|r| r.is_ok()).count(), calls), (300, 300));
        let rows: i64 =
            store.read(|c| Ok(c.query_row("SELECT count(*) FROM meta WHERE key LIKE 'item-%'", [], |r| r.get(0))?))?;
        assert_eq!(rows, 300);
        Ok(())
    }

    #[test]
    fn a_full_durability_write_syncs_and_the_connection_returns_to_normal() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let store = Store::open(&dir.path().join("t.sqlite3"))?;
        let inside = store.write_with(Durability::Full, |tx| {
            tx.execute("INSERT INTO meta (key, value) VALUES ('cursor', '42')", [])?;
            Ok(tx.query_row("PRAGMA synchronous", [], |r| r.get::<_, i64>(0))?)
        })?;
        assert_eq!(inside, 2, "FULL while the durable commit runs");
        let after: i64 = store.with_writer(|c| Ok(c.query_row("PRAGMA synchronous", [], |r| r.get(0))?))?;
        assert_eq!(after, 1, "NORMAL again for ordinary writes");
        // A failed durable write leaves the connection in NORMAL too.
        let _ = store.write_with(Durability::Full, |_| -> Result<()> { Err(Error::validation("field.required")) });
        let after: i64 = store.with_writer(|c| Ok(c.query_row("PRAGMA synchronous", [], |r| r.get(0))?))?;
        assert_eq!(after, 1);
        Ok(())
    }
}
