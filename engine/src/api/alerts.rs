//! Alerts: raised by the engine, listed and cleared by the administrator.

use crate::domain::{Alert, AlertFilter, AlertId, AlertLevel, Regarding};
use crate::{Engine, Result};
use rusqlite::{Connection, Row, ToSql, params_from_iter};
use std::collections::BTreeMap;

/// A new alert to raise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAlert {
    pub level: AlertLevel,
    pub code: String,
    pub params: BTreeMap<String, String>,
    pub regarding: Regarding,
    /// The technical detail (never a secret), or "".
    pub detail: String,
}

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

fn alert_from_row(row: &Row<'_>) -> rusqlite::Result<Alert> {
    let params: String = row.get(3)?;
    let profile: Option<crate::domain::ProfileId> = row.get(4)?;
    let mailbox: Option<crate::domain::MailboxId> = row.get(5)?;
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

/// Raises an alert, or updates the one already raised for the same record and code (last seen,
/// count, parameters). Levels the organisation turned off in *Configure alerts* are not recorded;
/// returns the alert's id when one was written.
pub(crate) fn raise_alert(
    tx: &rusqlite::Transaction<'_>,
    alert: &NewAlert,
    now: crate::domain::Timestamp,
) -> Result<Option<AlertId>> {
    let s = super::load_settings(tx)?;
    let wanted = match alert.level {
        AlertLevel::Error => s.alerts_for_errors,
        AlertLevel::Warning => s.alerts_for_warnings,
        AlertLevel::Information => s.alerts_for_information,
    };
    if !wanted {
        return Ok(None);
    }
    let (profile, mailbox) = match alert.regarding {
        Regarding::Profile(p) => (Some(p), None),
        Regarding::Mailbox(m) => (None, Some(m)),
    };
    let params = serde_json::to_string(&alert.params).map_err(crate::Error::internal)?;
    let id = tx.query_row(
        "INSERT INTO alert (level, code, params, regarding_profile_id, regarding_mailbox_id, first_seen, last_seen, count, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, 1, ?7)
         ON CONFLICT (coalesce(regarding_profile_id, 0), coalesce(regarding_mailbox_id, 0), code)
         DO UPDATE SET level = excluded.level, params = excluded.params, last_seen = excluded.last_seen,
                       count = count + 1, detail = excluded.detail
         RETURNING id",
        rusqlite::params![alert.level, alert.code, params, profile, mailbox, now, alert.detail],
        |r| r.get(0),
    )?;
    Ok(Some(id))
}

fn query_alerts(c: &Connection, filter: &AlertFilter) -> Result<Vec<Alert>> {
    let (where_sql, params) = filter_sql(filter);
    let sql = format!(
        "SELECT id, level, code, params, regarding_profile_id, regarding_mailbox_id, first_seen, last_seen, count, detail
         FROM alert WHERE {where_sql} ORDER BY last_seen DESC, id DESC"
    );
    let mut stmt = c.prepare(&sql)?;
    let rows = stmt.query_map(params_from_iter(params.iter().map(|p| p.as_ref() as &dyn ToSql)), alert_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Raises (or updates) an alert; see the alert wall rules in `raise_alert`.
pub async fn record_alert(engine: &Engine, alert: NewAlert) -> Result<Option<AlertId>> {
    engine.write(move |tx, ctx| raise_alert(tx, &alert, ctx.now())).await
}

/// The alerts matching `filter`, most recent first.
pub async fn list_alerts(engine: &Engine, filter: AlertFilter) -> Result<Vec<Alert>> {
    engine.read(move |c, _| query_alerts(c, &filter)).await
}

/// Deletes the alerts matching `filter` ("delete all alerts" with an empty filter); returns how many.
pub async fn delete_alerts(engine: &Engine, filter: AlertFilter) -> Result<usize> {
    engine
        .write(move |tx, _| {
            let (where_sql, params) = filter_sql(&filter);
            let n = tx.execute(
                &format!("DELETE FROM alert WHERE {where_sql}"),
                params_from_iter(params.iter().map(|p| p.as_ref() as &dyn ToSql)),
            )?;
            Ok(n)
        })
        .await
}
