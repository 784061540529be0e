//! What a Test & Enable result does to a mailbox, as a pure function: the outcome of each
//! workload becomes its status and enabled flag, the error counters, and the alerts to raise.
//! The job runner records what this decides; the sync engine will reuse it for its own tests.

use super::rules::Workload;
use super::{AlertLevel, Mailbox, NewAlert, Regarding, TestStatus, Timestamp};
use crate::{Error, Result};
use std::collections::BTreeMap;

/// One workload's test: `None` when the mailbox does not synchronise it (not tested).
pub type WorkloadOutcome = (Workload, Option<Result<()>>);

/// What the results of one mailbox's test change.
#[derive(Debug, Clone)]
pub struct TestResultPlan {
    /// The mailbox's own outcome: its first failure, `mailbox.nothing_to_test` when no workload
    /// was configured, or Ok.
    pub outcome: Result<()>,
    /// The alerts to raise: always one on the mailbox; also one on its profile when the failure
    /// is the profile's.
    pub alerts: Vec<NewAlert>,
}

/// Applies the results to `m` (statuses, enabled flags, test times, error counters) and says
/// what to report. `is_server_level` tells a failure that belongs to the profile (its server,
/// TLS, certificate authority or credentials) from one mailbox's own.
pub fn apply_test_results(
    m: &mut Mailbox,
    results: &[WorkloadOutcome],
    is_server_level: impl Fn(&Error) -> bool,
    now: Timestamp,
) -> TestResultPlan {
    let mut failures: Vec<(Workload, Error)> = Vec::new();
    let mut any_configured = false;
    for (w, outcome) in results {
        let (status, enabled) = match outcome {
            None => (TestStatus::NotRun, false),
            Some(Ok(())) => (TestStatus::Success, true),
            Some(Err(e)) => {
                failures.push((*w, e.clone()));
                (TestStatus::Failure, false)
            }
        };
        any_configured |= outcome.is_some();
        match w {
            Workload::Incoming => (m.incoming_status, m.enabled_for_incoming) = (status, enabled),
            Workload::Outgoing => (m.outgoing_status, m.enabled_for_outgoing) = (status, enabled),
            Workload::Act => (m.act_status, m.enabled_for_act) = (status, enabled),
        }
    }
    m.test_completed_on = Some(now);
    m.test_and_enable_last_attempted_on = Some(now);
    // A transient failure (timeout, busy server) counts towards the automatic disabling of the
    // mailbox (spec §3.11); any other outcome starts the count again.
    let first_error = failures.first().map(|(_, e)| e.clone());
    let transient = first_error.as_ref().is_some_and(Error::is_transient);
    m.transient_failure_count = if transient { m.transient_failure_count.saturating_add(1) } else { 0 };
    m.modified_on = now;
    let outcome = match (first_error, any_configured) {
        (Some(e), _) => Err(e),
        (None, false) => Err(Error::validation("mailbox.nothing_to_test").param("mailbox", &m.name)),
        (None, true) => Ok(()),
    };
    match &outcome {
        Ok(()) => {
            m.last_sync_error_code.clear();
            m.last_sync_error_on = None;
        }
        Err(e) => {
            m.last_sync_error_code = e.code().to_owned();
            m.last_sync_error_on = Some(now);
        }
    }
    // One alert per distinct failure, naming every workload that met it: when incoming and
    // outgoing both fail, both are reported, each with its own code.
    let mut reports: Vec<(Error, Vec<Workload>)> = Vec::new();
    match &outcome {
        Err(e) if failures.is_empty() => reports.push((e.clone(), Vec::new())),
        _ => {
            for (w, e) in &failures {
                match reports.iter_mut().find(|(r, _)| r.code() == e.code()) {
                    Some((_, ws)) => ws.push(*w),
                    None => reports.push((e.clone(), vec![*w])),
                }
            }
        }
    }
    let mut alerts = Vec::with_capacity(2);
    if reports.is_empty() {
        let mut params = BTreeMap::new();
        params.insert("mailbox".to_owned(), m.name.clone());
        alerts.push(NewAlert {
            level: AlertLevel::Information,
            code: "mailbox.test_and_enable.succeeded".to_owned(),
            params,
            regarding: Regarding::Mailbox(m.id),
            detail: String::new(),
        });
    }
    for (e, workloads) in &reports {
        let mut params = e.params().clone();
        params.insert("mailbox".to_owned(), m.name.clone());
        if !workloads.is_empty() {
            let names: Vec<&str> = workloads.iter().map(|w| w.code()).collect();
            params.insert("workload".to_owned(), names.join(", "));
        }
        let alert = |regarding| NewAlert {
            level: alert_level(e),
            code: e.code().to_owned(),
            params: params.clone(),
            regarding,
            detail: e.detail().unwrap_or_default().to_owned(),
        };
        if let Some(profile) = m.profile_id
            && is_server_level(e)
        {
            // The profile's own failure: its owner sees it once on the profile, however many
            // mailboxes met it.
            alerts.push(alert(Regarding::Profile(profile)));
        }
        alerts.push(alert(Regarding::Mailbox(m.id)));
    }
    TestResultPlan { outcome, alerts }
}

/// The level of the alert a failure raises: a warning when it is transient (trying later may
/// work), an error otherwise.
pub fn alert_level(e: &Error) -> AlertLevel {
    if e.is_transient() { AlertLevel::Warning } else { AlertLevel::Error }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use crate::domain::{MailboxId, ProfileId};

    fn now() -> Timestamp {
        chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default()
    }

    fn mailbox() -> Mailbox {
        let mut m = Mailbox::new("Alice".into(), "alice@contoso.com".into(), now());
        m.id = MailboxId(7);
        m.profile_id = Some(ProfileId(3));
        m.transient_failure_count = 4;
        m
    }

    fn server(code: &'static str) -> Error {
        Error::new(ErrorKind::Server, code)
    }

    fn regarding(plan: &TestResultPlan) -> Vec<Regarding> {
        plan.alerts.iter().map(|a| a.regarding).collect()
    }

    #[test]
    fn success_on_every_configured_workload_enables_them_and_resets_the_counters() {
        let mut m = mailbox();
        m.last_sync_error_code = "mail.timeout".into();
        let plan = apply_test_results(
            &mut m,
            &[(Workload::Incoming, Some(Ok(()))), (Workload::Outgoing, Some(Ok(()))), (Workload::Act, None)],
            |_| true,
            now(),
        );
        assert!(plan.outcome.is_ok());
        assert_eq!((m.incoming_status, m.enabled_for_incoming), (TestStatus::Success, true));
        assert_eq!((m.outgoing_status, m.enabled_for_outgoing), (TestStatus::Success, true));
        assert_eq!((m.act_status, m.enabled_for_act), (TestStatus::NotRun, false));
        assert_eq!((m.transient_failure_count, m.last_sync_error_code.as_str()), (0, ""));
        assert_eq!(m.test_completed_on, Some(now()));
        assert_eq!(regarding(&plan), vec![Regarding::Mailbox(MailboxId(7))]);
        assert_eq!(plan.alerts[0].level, AlertLevel::Information);
        assert_eq!(plan.alerts[0].code, "mailbox.test_and_enable.succeeded");
    }

    #[test]
    fn a_failed_workload_is_disabled_and_the_other_keeps_its_own_result() {
        let mut m = mailbox();
        let plan = apply_test_results(
            &mut m,
            &[(Workload::Incoming, Some(Err(server("mail.auth.failed_mailbox")))), (Workload::Outgoing, Some(Ok(())))],
            |_| false,
            now(),
        );
        assert_eq!(plan.outcome.as_ref().err().map(Error::code), Some("mail.auth.failed_mailbox"));
        assert_eq!((m.incoming_status, m.enabled_for_incoming), (TestStatus::Failure, false));
        assert_eq!((m.outgoing_status, m.enabled_for_outgoing), (TestStatus::Success, true));
        assert_eq!(m.last_sync_error_code, "mail.auth.failed_mailbox");
        assert_eq!(m.transient_failure_count, 0, "a permanent failure starts the count again");
        assert_eq!(plan.alerts[0].level, AlertLevel::Error);
        assert_eq!(plan.alerts[0].params.get("mailbox").map(String::as_str), Some("Alice"));
        assert_eq!(plan.alerts[0].params.get("workload").map(String::as_str), Some("incoming"));
    }

    #[test]
    fn when_both_workloads_fail_both_are_reported_with_their_own_codes() {
        let mut m = mailbox();
        let plan = apply_test_results(
            &mut m,
            &[
                (Workload::Incoming, Some(Err(server("mail.auth.failed_mailbox")))),
                (Workload::Outgoing, Some(Err(Error::new(ErrorKind::Unavailable, "mail.timeout")))),
            ],
            |_| false,
            now(),
        );
        assert_eq!((m.incoming_status, m.outgoing_status), (TestStatus::Failure, TestStatus::Failure));
        let alerts: Vec<(&str, AlertLevel, Option<&str>)> = plan
            .alerts
            .iter()
            .map(|a| (a.code.as_str(), a.level, a.params.get("workload").map(String::as_str)))
            .collect();
        assert_eq!(
            alerts,
            vec![
                ("mail.auth.failed_mailbox", AlertLevel::Error, Some("incoming")),
                ("mail.timeout", AlertLevel::Warning, Some("outgoing")),
            ]
        );
        assert_eq!(m.last_sync_error_code, "mail.auth.failed_mailbox", "the first failure is the mailbox's");
    }

    #[test]
    fn the_same_failure_on_both_workloads_is_one_alert_naming_both() {
        let mut m = mailbox();
        let refused = || Some(Err(server("mail.auth.failed_mailbox")));
        let plan = apply_test_results(
            &mut m,
            &[(Workload::Incoming, refused()), (Workload::Outgoing, refused())],
            |_| false,
            now(),
        );
        assert_eq!(plan.alerts.len(), 1);
        assert_eq!(plan.alerts[0].params.get("workload").map(String::as_str), Some("incoming, outgoing"));
    }

    #[test]
    fn a_transient_failure_counts_and_raises_a_warning() {
        let mut m = mailbox();
        let plan = apply_test_results(
            &mut m,
            &[(Workload::Incoming, Some(Err(Error::new(ErrorKind::Unavailable, "mail.timeout"))))],
            |_| false,
            now(),
        );
        assert_eq!(m.transient_failure_count, 5);
        assert_eq!(plan.alerts[0].level, AlertLevel::Warning);
    }

    #[test]
    fn a_server_level_failure_is_raised_on_the_profile_too() {
        let mut m = mailbox();
        let plan = apply_test_results(
            &mut m,
            &[(Workload::Incoming, Some(Err(server("mail.tls.untrusted"))))],
            |e| e.code() == "mail.tls.untrusted",
            now(),
        );
        assert_eq!(regarding(&plan), vec![Regarding::Profile(ProfileId(3)), Regarding::Mailbox(MailboxId(7))]);
    }

    #[test]
    fn nothing_configured_is_a_failure_of_its_own() {
        let mut m = mailbox();
        let server_level = |e: &Error| e.code().starts_with("mail.");
        let plan =
            apply_test_results(&mut m, &[(Workload::Incoming, None), (Workload::Outgoing, None)], server_level, now());
        assert_eq!(plan.outcome.as_ref().err().map(Error::code), Some("mailbox.nothing_to_test"));
        assert_eq!(regarding(&plan), vec![Regarding::Mailbox(MailboxId(7))], "not a profile failure");
    }
}
