//! Append-only schema migrations, tracked in `PRAGMA user_version`.

use crate::{Error, ErrorKind, Result};
use rusqlite::{Connection, TransactionBehavior};

/// Every migration, in order; index + 1 is the schema version it produces. Never edit one that
/// has shipped: add the next.
pub const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/0001_init.sql"),
    include_str!("../../migrations/0002_jobs_and_sync_errors.sql"),
    include_str!("../../migrations/0003_alert_details.sql"),
    include_str!("../../migrations/0004_records_and_address_index.sql"),
    include_str!("../../migrations/0005_email_activities.sql"),
    include_str!("../../migrations/0006_outgoing_email.sql"),
    include_str!("../../migrations/0007_scheduler.sql"),
    include_str!("../../migrations/0008_outbox_waiting_reason.sql"),
    include_str!("../../migrations/0009_exchange_online.sql"),
    include_str!("../../migrations/0010_certificate_thumbprint.sql"),
    include_str!("../../migrations/0011_mailbox_grid_index.sql"),
    include_str!("../../migrations/0012_grid_indexes.sql"),
    include_str!("../../migrations/0013_alert_and_outbox_pages.sql"),
];

/// The schema version this build writes.
pub const LATEST_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database to [`LATEST_VERSION`], one transaction per migration. A database written
/// by a newer ServerSync is refused rather than damaged.
pub(super) fn migrate(conn: &mut Connection) -> Result<()> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if current > LATEST_VERSION {
        return Err(Error::new(ErrorKind::Storage, "storage.schema_too_new")
            .param("found", current)
            .param("supported", LATEST_VERSION));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(usize::try_from(current).unwrap_or(0)) {
        let version = i as i64 + 1;
        // Foreign keys are checked after each migration, not during (ALTERs may reorder).
        conn.pragma_update(None, "foreign_keys", false)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(sql).map_err(|e| {
            Error::new(ErrorKind::Storage, "storage.migration_failed").param("version", version).with_detail(e)
        })?;
        let violations: i64 = tx.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0))?;
        if violations > 0 {
            return Err(Error::new(ErrorKind::Storage, "storage.migration_failed")
                .param("version", version)
                .with_detail(format!("{violations} foreign key violations")));
        }
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
        conn.pragma_update(None, "foreign_keys", true)?;
    }
    Ok(())
}
