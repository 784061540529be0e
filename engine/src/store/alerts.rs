//! The `alert` table (`tracelog`): one row per regarding record and code; raising it again
//! updates the row.

use crate::Result;
use crate::domain::{Alert, AlertFilter, AlertId, MailboxId, NewAlert, ProfileId, Regarding, Timestamp};
use rusqlite::{Connection, Row, ToSql, Transaction, params_from_iter};

fn filter_sql(f: &AlertFilter) -> (String, Vec<Box<dyn ToSql + Send>>) {
    let mut clauses = vec!["1".to_owned()];
    let mut params: Vec<Box<dyn ToSql + Send>> = Vec::new();
    if let Some(level) = f.level {
        params.push(Box::new(level));
        clauses.push(format!("level = ?{}", params.len()));
    }
    if let Some(p) = f.profile_id {
        params.push(Box::new(p));
        clauses.push(format!("regarding_profile_id = ?{}", params.len()));
    }
    if let Some(m) = f.mailbox_id {
        params.push(Box::new(m));
        clauses.push(format!("regarding_mailbox_id = ?{}", params.len()));
    }
    (clauses.join(" AND "), params)
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<Alert> {
    let params: String = row.get(3)?;
    let profile: Option<ProfileId> = row.get(4)?;
    let mailbox: Option<MailboxId> = row.get(5)?;
    let regarding = match (profile, mailbox) {
        (Some(p), _) => Regarding::Profile(p),
        (None, Some(m)) => Regarding::Mailbox(m),
        (None, None) => {
            return Err(rusqlite::Error::InvalidColumnType(4, "regarding".into(), rusqlite::types::Type::Null));
        }
    };
    Ok(Alert {
        id: row.get(0)?,
        level: row.get(1)?,
        code: row.get(2)?,
        params: serde_json::from_str(&params).unwrap_or_default(),
        regarding,
        detail: row.get(9)?,
        first_seen: row.get(6)?,
        last_seen: row.get(7)?,
        count: row.get(8)?,
    })
}

/// Raises an alert, or updates the one already raised for the same record and code (level, last
/// seen, count, parameters, detail). Returns its id.
pub fn raise(tx: &Transaction<'_>, alert: &NewAlert, now: Timestamp) -> Result<AlertId> {
    let (profile, mailbox) = match alert.regarding {
        Regarding::Profile(p) => (Some(p), None),
        Regarding::Mailbox(m) => (None, Some(m)),
    };
    let params = serde_json::to_string(&alert.params).map_err(crate::Error::internal)?;
    let mut stmt = tx.prepare_cached(
        "INSERT INTO alert (level, code, params, regarding_profile_id, regarding_mailbox_id, first_seen, last_seen, count, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, 1, ?7)
         ON CONFLICT (coalesce(regarding_profile_id, 0), coalesce(regarding_mailbox_id, 0), code)
         DO UPDATE SET level = excluded.level, params = excluded.params, last_seen = excluded.last_seen,
                       count = count + 1, detail = excluded.detail
         RETURNING id",
    )?;
    let id = stmt
        .query_row(rusqlite::params![alert.level, alert.code, params, profile, mailbox, now, alert.detail], |r| {
            r.get(0)
        })?;
    Ok(id)
}

/// The alerts matching `filter`, most recent first.
pub fn list(c: &Connection, filter: &AlertFilter) -> Result<Vec<Alert>> {
    Ok(page(c, filter, 0, u32::MAX)?.0)
}

/// `limit` alerts matching `filter` from `offset`, most recent first, and how many match in all.
pub fn page(c: &Connection, filter: &AlertFilter, offset: u32, limit: u32) -> Result<(Vec<Alert>, u64)> {
    let (where_sql, params) = filter_sql(filter);
    let total: i64 = c
        .prepare_cached(&format!("SELECT count(*) FROM alert WHERE {where_sql}"))?
        .query_row(params_from_iter(params.iter().map(|p| p.as_ref() as &dyn ToSql)), |r| r.get(0))?;
    // Numbers, not parameters: SQLite plans a LIMIT it can see.
    let limit = limit.max(1);
    let sql = format!(
        "SELECT id, level, code, params, regarding_profile_id, regarding_mailbox_id, first_seen, last_seen, count, detail
         FROM alert WHERE {where_sql} ORDER BY last_seen DESC, id DESC LIMIT {limit} OFFSET {offset}"
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(params.iter().map(|p| p.as_ref() as &dyn ToSql)), from_row)?;
    Ok((rows.collect::<rusqlite::Result<Vec<_>>>()?, total.max(0) as u64))
}

/// Deletes the alerts matching `filter`; returns how many.
pub fn delete(tx: &Transaction<'_>, filter: &AlertFilter) -> Result<usize> {
    let (where_sql, params) = filter_sql(filter);
    let n = tx.execute(
        &format!("DELETE FROM alert WHERE {where_sql}"),
        params_from_iter(params.iter().map(|p| p.as_ref() as &dyn ToSql)),
    )?;
    Ok(n)
}
