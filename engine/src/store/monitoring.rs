//! The monitoring figures, read from the activities, the outbox, the schedule and the history of
//! cycles: messages in and out per hour, the delivery-to-tracked latency, failures by code,
//! mailboxes by state, and the backlog.

use crate::Result;
use crate::domain::Timestamp;
use rusqlite::{Connection, params};
use std::collections::BTreeMap;

/// Messages tracked (incoming) and sent (outgoing) in one hour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourCount {
    /// The hour's start, `YYYY-MM-DDTHH:00:00Z`.
    pub hour: String,
    pub incoming: u32,
    pub outgoing: u32,
}

/// From delivery (the server's arrival time) to the committed activity, over one hour.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyPoint {
    pub hour: String,
    pub count: u32,
    pub p50_seconds: f64,
    pub p95_seconds: f64,
}

/// How many failures had one code, and where: a cycle, a message, or an email to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeCount {
    pub source: String,
    pub code: String,
    pub count: u32,
}

/// How many mailboxes are in one state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateCount {
    pub state: String,
    pub count: u32,
}

/// Work waiting.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Backlog {
    pub pending_send: u32,
    pub sending: u32,
    pub failed_emails: u32,
    pub possible_duplicates: u32,
    /// Enabled workloads due for more than a minute and not running.
    pub overdue_workloads: u32,
}

fn hour_key(text: &str) -> String {
    // Stored times read `YYYY-MM-DD HH:MM:SS…+00:00` (UTC).
    let h = text.get(..13).unwrap_or(text);
    format!("{}:00:00Z", h.replacen(' ', "T", 1))
}

/// The hours from `since` on: messages tracked and sent in each.
pub fn per_hour(c: &Connection, since: Timestamp) -> Result<Vec<HourCount>> {
    let mut hours: BTreeMap<String, HourCount> = BTreeMap::new();
    let mut stmt = c.prepare_cached(
        "SELECT substr(created_on, 1, 13), count(*) FROM email_activity
         WHERE direction = 'incoming' AND created_on >= ?1 GROUP BY 1",
    )?;
    for row in stmt.query_map([since], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?)))? {
        let (h, n) = row?;
        let key = hour_key(&h);
        hours.entry(key.clone()).or_insert(HourCount { hour: key, incoming: 0, outgoing: 0 }).incoming += n;
    }
    let mut stmt = c.prepare_cached(
        "SELECT substr(sent_on, 1, 13), count(*) FROM email_activity
         WHERE direction = 'outgoing' AND status = 'sent' AND sent_on >= ?1 GROUP BY 1",
    )?;
    for row in stmt.query_map([since], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?)))? {
        let (h, n) = row?;
        let key = hour_key(&h);
        hours.entry(key.clone()).or_insert(HourCount { hour: key, incoming: 0, outgoing: 0 }).outgoing += n;
    }
    Ok(hours.into_values().collect())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Per hour from `since` on, the time from a message's arrival on the server to its activity.
pub fn latency_per_hour(c: &Connection, since: Timestamp) -> Result<Vec<LatencyPoint>> {
    let mut stmt = c.prepare_cached(
        "SELECT substr(created_on, 1, 13), (julianday(created_on) - julianday(received_on)) * 86400.0
         FROM email_activity WHERE direction = 'incoming' AND created_on >= ?1 LIMIT 500000",
    )?;
    let mut by_hour: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for row in stmt.query_map([since], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<f64>>(1)?)))? {
        let (h, s) = row?;
        if let Some(s) = s {
            by_hour.entry(hour_key(&h)).or_default().push(s.max(0.0));
        }
    }
    Ok(by_hour
        .into_iter()
        .map(|(hour, mut v)| {
            v.sort_by(f64::total_cmp);
            LatencyPoint {
                hour,
                count: u32::try_from(v.len()).unwrap_or(u32::MAX),
                p50_seconds: percentile(&v, 0.5),
                p95_seconds: percentile(&v, 0.95),
            }
        })
        .collect())
}

/// Failures since `since`, by where and code, most first.
pub fn failures_by_code(c: &Connection, since: Timestamp) -> Result<Vec<CodeCount>> {
    let mut stmt = c.prepare_cached(
        "SELECT 'cycle', error_code, count(*) FROM sync_run
           WHERE completed_on >= ?1 AND outcome <> 'success' GROUP BY error_code
         UNION ALL
         SELECT 'message', code, count(*) FROM mail_item_outcome
           WHERE occurred_on >= ?1 AND outcome = 'failed' GROUP BY code
         UNION ALL
         SELECT 'email', last_error_code, count(*) FROM email_activity
           WHERE direction = 'outgoing' AND status = 'failed' AND coalesce(sending_since, created_on) >= ?1
           GROUP BY last_error_code
         ORDER BY 3 DESC, 2",
    )?;
    let rows = stmt.query_map([since], |r| Ok(CodeCount { source: r.get(0)?, code: r.get(1)?, count: r.get(2)? }))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Mailboxes by state: inactive; disabled by a failure; enabled for email; configured but not
/// enabled (never tested); not synchronised by ServerSync.
pub fn mailboxes_by_state(c: &Connection) -> Result<Vec<StateCount>> {
    let mut stmt = c.prepare_cached(
        "SELECT CASE
            WHEN state = 'inactive' THEN 'inactive'
            WHEN (incoming_method = 'server_side_sync' AND incoming_status = 'failure' AND enabled_for_incoming = 0)
              OR (outgoing_method = 'server_side_sync' AND outgoing_status = 'failure' AND enabled_for_outgoing = 0)
              THEN 'disabled'
            WHEN enabled_for_incoming = 1 OR enabled_for_outgoing = 1 THEN 'enabled'
            WHEN incoming_method = 'server_side_sync' OR outgoing_method = 'server_side_sync' THEN 'not_enabled'
            ELSE 'not_synchronized' END AS s, count(*)
         FROM mailbox GROUP BY s ORDER BY s",
    )?;
    let rows = stmt.query_map([], |r| Ok(StateCount { state: r.get(0)?, count: r.get(1)? }))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Work waiting at `now`.
pub fn backlog(c: &Connection, now: Timestamp) -> Result<Backlog> {
    let (pending_send, sending, failed_emails, possible_duplicates) = c
        .prepare_cached(
            "SELECT coalesce(sum(status = 'pending_send'), 0), coalesce(sum(status = 'sending'), 0),
                    coalesce(sum(status = 'failed'), 0), coalesce(sum(possible_duplicate), 0)
             FROM email_activity WHERE direction = 'outgoing'",
        )?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
    let overdue: u32 = c
        .prepare_cached(
            "SELECT count(*) FROM mailbox m
             JOIN (SELECT 'incoming' AS workload UNION ALL SELECT 'outgoing') w
             LEFT JOIN mailbox_schedule s ON s.mailbox_id = m.id AND s.workload = w.workload
             LEFT JOIN mailbox_lease l ON l.mailbox_id = m.id AND l.workload = w.workload AND l.expires_on > ?1
             WHERE m.state = 'active' AND m.profile_id IS NOT NULL AND l.holder IS NULL
               AND CASE w.workload WHEN 'incoming' THEN m.enabled_for_incoming ELSE m.enabled_for_outgoing END = 1
               AND coalesce(s.next_run_on, m.modified_on) < ?2",
        )?
        .query_row(params![now, now - chrono::Duration::minutes(1)], |r| r.get(0))?;
    Ok(Backlog { pending_send, sending, failed_emails, possible_duplicates, overdue_workloads: overdue })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_are_keyed_in_utc_and_percentiles_pick_ranks() {
        assert_eq!(hour_key("2026-12-04 10:59:59.123+00:00"), "2026-12-04T10:00:00Z");
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 51.0);
        assert_eq!(percentile(&v, 0.95), 95.0);
        assert_eq!(percentile(&[], 0.95), 0.0);
        assert_eq!(percentile(&[3.0], 0.5), 3.0);
    }
}
