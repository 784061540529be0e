//! When each workload of a mailbox runs next, and what a failure does to it (spec §3.6, §3.11).
//! Pure: every time is given, so the schedule is tested with fixed times and no sleep.

use crate::domain::rules::Workload;
use crate::domain::{AlertLevel, Timestamp};
use crate::{Error, ErrorKind};
use chrono::Duration;

/// After each cycle incoming mail is postponed at least this long (spec §3.6: 5 minutes).
pub const POSTPONE_MINUTES: i64 = 5;
/// An idle mailbox (no mail for several cycles) waits up to this long (suggested 900 s).
pub const IDLE_MAX_MINUTES: i64 = 15;
/// After a transient failure (MailboxBackoffOnTransientError, 300 s).
pub const TRANSIENT_BACKOFF_MINUTES: i64 = 5;
/// The tenth transient failure in a row is permanent (MaxMailboxTransientFailures).
pub const MAX_TRANSIENT_FAILURES: u32 = 10;
/// More than this share of a profile's mailboxes failing within an hour alerts the profile.
pub const PROFILE_ALERT_SHARE: f64 = 0.5;

/// How a cycle ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It ran: `items` messages handled; `more` when a cap left some for the next cycle.
    Success { items: u32, more: bool },
    /// A failure that may pass (timeout, connection lost, busy); the server may have said how
    /// long to wait.
    Transient { retry_after: Option<Duration> },
    /// A failure that needs someone to act (credentials, TLS, approval).
    Permanent,
}

/// A workload's schedule between cycles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    pub transient_failures: u32,
    pub idle_cycles: u32,
}

/// What a cycle's end decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct After {
    /// None: the workload is disabled and waits for Test & Enable.
    pub next_run: Option<Timestamp>,
    pub counters: Counters,
    /// Disable the workload (its status becomes Failure).
    pub disable: bool,
    /// The alert to raise, if any.
    pub alert: Option<AlertLevel>,
}

/// The wait after a successful cycle: at least the profile's Minimum Polling Interval and the
/// 5-minute postpone; an incoming workload that found nothing for a while waits longer (twice
/// after 3 idle cycles, three times after 6), up to 15 minutes or the polling interval.
pub fn interval(workload: Workload, min_polling_minutes: u32, idle_cycles: u32) -> Duration {
    let base = i64::from(min_polling_minutes).max(POSTPONE_MINUTES);
    let minutes = match workload {
        Workload::Incoming => {
            let factor = match idle_cycles {
                0..=2 => 1,
                3..=5 => 2,
                _ => 3,
            };
            (base * factor).clamp(POSTPONE_MINUTES, IDLE_MAX_MINUTES.max(base))
        }
        Workload::Outgoing | Workload::Act => base,
    };
    Duration::minutes(minutes)
}

/// The end of a cycle (spec §3.11): success resets the failures and schedules the next run (at
/// once when a cap left mail for it); a transient failure counts, retries after the back-off and
/// warns, and the tenth in a row is permanent; a permanent failure disables the workload with an
/// error alert.
pub fn after_cycle(
    workload: Workload,
    outcome: Outcome,
    before: Counters,
    min_polling_minutes: u32,
    now: Timestamp,
) -> After {
    match outcome {
        Outcome::Success { items, more } => {
            let idle_cycles = if items == 0 { before.idle_cycles.saturating_add(1) } else { 0 };
            let next = if more { now } else { now + interval(workload, min_polling_minutes, idle_cycles) };
            After {
                next_run: Some(next),
                counters: Counters { transient_failures: 0, idle_cycles },
                disable: false,
                alert: None,
            }
        }
        Outcome::Transient { retry_after } => {
            let failures = before.transient_failures.saturating_add(1);
            if failures >= MAX_TRANSIENT_FAILURES {
                return After {
                    next_run: None,
                    counters: Counters { transient_failures: failures, ..before },
                    disable: true,
                    alert: Some(AlertLevel::Error),
                };
            }
            After {
                next_run: Some(now + Duration::minutes(TRANSIENT_BACKOFF_MINUTES).max(retry_after.unwrap_or_default())),
                counters: Counters { transient_failures: failures, ..before },
                disable: false,
                alert: Some(AlertLevel::Warning),
            }
        }
        Outcome::Permanent => After { next_run: None, counters: before, disable: true, alert: Some(AlertLevel::Error) },
    }
}

/// What the outbox of a mailbox holds at the end of an outgoing cycle, for its next run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboxAtEnd {
    /// A Pending Send email that may leave now was never tried, after a cycle that tried every
    /// email it read and left none for later: the email came after the cycle read the outbox
    /// (written, put back by Retry, or its Send Later time came while the cycle ran). Not set
    /// after a cycle that hit its cap or left emails for later, whose next run is decided by
    /// them (at once, or after the interval so that no email is tried again before its time).
    pub untried_due: bool,
    /// The earliest Send Later time still to come of its Pending Send emails.
    pub earliest_send_after: Option<Timestamp>,
}

/// Whether an outgoing cycle that handled `handled` emails (`retried_later` of them left for a
/// later cycle by a passing failure) under a cap of `cap` tried every email it read and left
/// none for later: only then may an email that came meanwhile make the next run at once.
pub fn outgoing_settled(handled: u32, retried_later: u32, cap: u32) -> bool {
    retried_later == 0 && handled < cap
}

/// The next run of an outgoing workload after a success: at once when an email became due while
/// the cycle ran (it would otherwise wait a whole polling interval), else brought forward to the
/// earliest Send Later time still to come, so that such an email leaves at its time. A failure's
/// back-off is never shortened.
pub fn with_outbox(after: After, outcome: Outcome, outbox: OutboxAtEnd, now: Timestamp) -> After {
    match (outcome, after.next_run) {
        (Outcome::Success { .. }, Some(_)) if outbox.untried_due => After { next_run: Some(now), ..after },
        (Outcome::Success { .. }, Some(next)) => match outbox.earliest_send_after {
            Some(at) if at > now && at < next => After { next_run: Some(at), ..after },
            _ => after,
        },
        _ => after,
    }
}

/// How a failed cycle counts (spec §3.11): what may pass without anyone acting is transient
/// (network, timeout, a busy or throttling server, a busy database, a keychain that is locked for
/// now: the engine's own state, not the mailbox's); anything else needs someone to act and is
/// permanent.
pub fn classify(e: &Error) -> Outcome {
    if e.is_transient() || e.kind() == ErrorKind::Keychain {
        Outcome::Transient { retry_after: e.retry_after().and_then(|d| Duration::from_std(d).ok()) }
    } else {
        Outcome::Permanent
    }
}

/// Whether a workload is due: never run (just enabled) or its time has come.
pub fn is_due(next_run: Option<Timestamp>, now: Timestamp) -> bool {
    next_run.is_none_or(|t| t <= now)
}

/// Whether a profile gets its alert: more than half of its mailboxes failed within the last hour.
pub fn profile_alert(failed_mailboxes: usize, mailboxes: usize) -> bool {
    mailboxes > 0 && failed_mailboxes as f64 > PROFILE_ALERT_SHARE * mailboxes as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> Timestamp {
        chrono::Utc.with_ymd_and_hms(2026, 12, 4, h, m, 0).single().unwrap_or_default()
    }

    #[test]
    fn send_later_brings_the_next_outgoing_run_forward_only_after_a_success() {
        let now = chrono::Utc::now();
        let ok = Outcome::Success { items: 1, more: false };
        let busy = Outcome::Transient { retry_after: None };
        let after = |o| after_cycle(Workload::Outgoing, o, Counters::default(), 5, now);
        let in_2 = now + Duration::minutes(2);
        let rows = [
            ("no Send Later: the interval", ok, None, Some(now + Duration::minutes(5))),
            ("Send Later in 2 minutes: then", ok, Some(in_2), Some(in_2)),
            (
                "Send Later after the interval: the interval",
                ok,
                Some(now + Duration::minutes(9)),
                Some(now + Duration::minutes(5)),
            ),
            (
                "Send Later passed (it was due now): the interval",
                ok,
                Some(now - Duration::minutes(1)),
                Some(now + Duration::minutes(5)),
            ),
            (
                "a transient failure keeps its back-off",
                busy,
                Some(in_2),
                Some(now + Duration::minutes(TRANSIENT_BACKOFF_MINUTES)),
            ),
        ];
        for (rule, outcome, earliest, want) in rows {
            let outbox = OutboxAtEnd { untried_due: false, earliest_send_after: earliest };
            assert_eq!(with_outbox(after(outcome), outcome, outbox, now).next_run, want, "{rule}");
        }
    }

    #[test]
    fn only_a_cycle_that_left_nothing_behind_is_settled() {
        // (rule, handled, retried later, cap, settled)
        let rows = [
            ("nothing to send", 0, 0, 50, true),
            ("all sent, under the cap", 12, 0, 50, true),
            ("the cap was hit: more decides", 50, 0, 50, false),
            ("one left for later: its back-off stands", 12, 1, 50, false),
            ("the cap hit and some left for later", 50, 3, 50, false),
        ];
        for (rule, handled, later, cap, want) in rows {
            assert_eq!(outgoing_settled(handled, later, cap), want, "{rule}");
        }
    }

    #[test]
    fn an_email_that_became_due_during_a_cycle_runs_the_next_one_at_once() {
        let now = chrono::Utc::now();
        let ok = Outcome::Success { items: 3, more: false };
        let after = |o| after_cycle(Workload::Outgoing, o, Counters::default(), 5, now);
        let became_due = OutboxAtEnd { untried_due: true, earliest_send_after: None };
        assert_eq!(with_outbox(after(ok), ok, became_due, now).next_run, Some(now), "written while it ran: at once");
        let with_later = OutboxAtEnd { untried_due: true, earliest_send_after: Some(now + Duration::minutes(2)) };
        assert_eq!(with_outbox(after(ok), ok, with_later, now).next_run, Some(now), "at once beats a Send Later");
        let busy = Outcome::Transient { retry_after: None };
        assert_eq!(
            with_outbox(after(busy), busy, became_due, now).next_run,
            Some(now + Duration::minutes(TRANSIENT_BACKOFF_MINUTES)),
            "a failure keeps its back-off"
        );
        let permanent = Outcome::Permanent;
        assert_eq!(with_outbox(after(permanent), permanent, became_due, now).next_run, None, "disabled stays disabled");
    }

    #[test]
    fn next_run_truth_table() {
        use Workload::*;
        // (rule, workload, minimum polling interval, idle cycles before, items, more, next run)
        let rows = [
            ("incoming: 5 minutes after a cycle that found mail", Incoming, 0, 0, 12, false, at(10, 5)),
            ("incoming: the postpone is a floor under a shorter interval", Incoming, 2, 0, 1, false, at(10, 5)),
            ("incoming: the profile's longer interval wins", Incoming, 30, 0, 1, false, at(10, 30)),
            ("incoming: a cap left mail: at once", Incoming, 0, 0, 500, true, at(10, 0)),
            ("incoming: idle for 3 cycles: twice as long", Incoming, 0, 2, 0, false, at(10, 10)),
            ("incoming: idle for 6 cycles: three times, capped at 15", Incoming, 0, 9, 0, false, at(10, 15)),
            ("incoming: idle with a 60-minute interval: the interval", Incoming, 60, 9, 0, false, at(11, 0)),
            ("outgoing: every 5 minutes", Outgoing, 0, 9, 0, false, at(10, 5)),
        ];
        for (rule, w, min, idle, items, more, want) in rows {
            let before = Counters { transient_failures: 3, idle_cycles: idle };
            let after = after_cycle(w, Outcome::Success { items, more }, before, min, at(10, 0));
            assert_eq!(after.next_run, Some(want), "{rule}");
            assert_eq!(after.counters.transient_failures, 0, "{rule}: success resets the failures");
            assert!(!after.disable && after.alert.is_none(), "{rule}");
        }
    }

    fn transient(minutes: Option<i64>) -> Outcome {
        Outcome::Transient { retry_after: minutes.map(Duration::minutes) }
    }

    #[test]
    fn failure_truth_table() {
        use AlertLevel::*;
        // (rule, outcome, transient failures before, next run, failures after, disabled, alert)
        let rows = [
            (
                "a transient failure retries in 5 minutes with a warning",
                transient(None),
                0,
                Some(at(10, 5)),
                1,
                false,
                Some(Warning),
            ),
            (
                "a server that asks for 20 minutes gets them",
                transient(Some(20)),
                0,
                Some(at(10, 20)),
                1,
                false,
                Some(Warning),
            ),
            (
                "a shorter wait asked is the back-off still",
                transient(Some(1)),
                0,
                Some(at(10, 5)),
                1,
                false,
                Some(Warning),
            ),
            ("the ninth still retries", transient(None), 8, Some(at(10, 5)), 9, false, Some(Warning)),
            ("the tenth in a row is permanent", transient(None), 9, None, 10, true, Some(Error)),
            ("a permanent failure disables at once", Outcome::Permanent, 0, None, 0, true, Some(Error)),
        ];
        for (rule, outcome, before, next, failures, disable, alert) in rows {
            let after = after_cycle(
                Workload::Incoming,
                outcome,
                Counters { transient_failures: before, idle_cycles: 0 },
                0,
                at(10, 0),
            );
            assert_eq!(
                (after.next_run, after.counters.transient_failures, after.disable, after.alert),
                (next, failures, disable, alert),
                "{rule}"
            );
        }
    }

    #[test]
    fn failures_are_classified_by_kind() {
        use crate::protocol::failure;
        let rows: [(&str, Error, Outcome); 6] = [
            ("a timeout may pass", failure::timeout("h", 30), transient(None)),
            ("a busy server may pass", failure::server_busy("h", "NO [INUSE]"), transient(None)),
            ("a locked keychain may pass", Error::new(ErrorKind::Keychain, "keychain.locked"), transient(None)),
            ("a wrong password needs someone", failure::auth_failed("h", "NO"), Outcome::Permanent),
            ("an unknown host needs someone", failure::host_not_found("h"), Outcome::Permanent),
            (
                "a mailbox no longer approved needs someone",
                Error::validation("mailbox.not_approved"),
                Outcome::Permanent,
            ),
        ];
        for (rule, e, want) in rows {
            assert_eq!(classify(&e), want, "{rule}");
        }
        let throttled = failure::server_busy("h", "421").with_retry_after(std::time::Duration::from_secs(600));
        assert_eq!(classify(&throttled), transient(Some(10)), "the server's wait is kept");
    }

    #[test]
    fn due_and_the_profile_alert() {
        assert!(is_due(None, at(10, 0)), "never run: due");
        assert!(is_due(Some(at(10, 0)), at(10, 0)));
        assert!(!is_due(Some(at(10, 1)), at(10, 0)));
        assert!(!profile_alert(5, 10), "half is not more than half");
        assert!(profile_alert(6, 10));
        assert!(profile_alert(1, 1));
        assert!(!profile_alert(0, 0));
    }
}
