//! Alerts: raised by the engine, listed and cleared by the administrator.

use super::wire::{self, Alert, AlertFilter, AlertId};
use crate::domain::alert::is_recorded;
use crate::domain::{self, NewAlert, Timestamp};
use crate::store;
use crate::{Engine, Result};
use rusqlite::Transaction;

/// Raises an alert, or updates the one already raised for the same record and code (last seen,
/// count, parameters). Levels the organisation turned off in *Configure alerts* are not recorded;
/// returns the alert's id when one was written.
pub(crate) fn raise_alert(tx: &Transaction<'_>, alert: &NewAlert, now: Timestamp) -> Result<Option<domain::AlertId>> {
    if !is_recorded(alert.level, &store::settings::get(tx)?) {
        return Ok(None);
    }
    store::alerts::raise(tx, alert, now).map(Some)
}

/// Raises (or updates) an alert; see the alert wall rules in `raise_alert`.
pub async fn record_alert(engine: &Engine, alert: wire::NewAlert) -> Result<Option<AlertId>> {
    let alert = NewAlert::from(alert);
    engine.write(move |tx, ctx| raise_alert(tx, &alert, ctx.now())).await.map(|id| id.map(Into::into))
}

/// The alerts matching `filter`, most recent first.
pub async fn list_alerts(engine: &Engine, filter: AlertFilter) -> Result<Vec<Alert>> {
    let filter = domain::AlertFilter::from(filter);
    engine.read(move |c, _| store::alerts::list(c, &filter)).await.map(wire::list)
}

/// A page of the Alerts wall.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AlertPage {
    pub rows: Vec<Alert>,
    /// The alerts matching the filter, in all.
    pub total: u64,
}

/// The Alerts wall: the alerts matching `filter`, most recent first, `limit` of them from `offset`.
pub async fn list_alert_page(engine: &Engine, filter: AlertFilter, offset: u32, limit: u32) -> Result<AlertPage> {
    let filter = domain::AlertFilter::from(filter);
    let limit = limit.clamp(1, 1000);
    let (rows, total) = engine.read(move |c, _| store::alerts::page(c, &filter, offset, limit)).await?;
    Ok(AlertPage { rows: wire::list(rows), total })
}

/// Deletes the alerts matching `filter` ("delete all alerts" with an empty filter); returns how many.
pub async fn delete_alerts(engine: &Engine, filter: AlertFilter) -> Result<usize> {
    let filter = domain::AlertFilter::from(filter);
    engine.write(move |tx, _| store::alerts::delete(tx, &filter)).await
}
