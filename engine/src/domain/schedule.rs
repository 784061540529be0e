//! The scheduler's records: each workload's schedule and the runs of its cycles (spec §3.6,
//! §3.11).

use super::rules::Workload;
use super::{MailboxId, Timestamp};
use std::collections::BTreeMap;

/// When a workload of a mailbox runs next, how its last cycles went, and who runs it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadSchedule {
    pub mailbox_id: MailboxId,
    pub workload: Workload,
    /// None: as soon as possible (never run, or just enabled).
    pub next_run_on: Option<Timestamp>,
    pub last_started_on: Option<Timestamp>,
    pub last_completed_on: Option<Timestamp>,
    pub last_success_on: Option<Timestamp>,
    /// Transient failures in a row (the tenth is permanent).
    pub transient_failures: u32,
    /// Cycles in a row that found nothing to do.
    pub idle_cycles: u32,
    /// What the last cycle handled and failed.
    pub items_processed: u32,
    pub items_failed: u32,
    pub last_error_code: String,
    pub last_error_params: BTreeMap<String, String>,
    pub last_error_on: Option<Timestamp>,
    /// The engine that holds the workload's lease, while it holds it.
    pub lease_holder: Option<String>,
    pub lease_expires_on: Option<Timestamp>,
    /// Incoming only: an engine keeps a push connection (IMAP IDLE, EWS streaming), so new mail is pushed.
    pub idle_connected: bool,
}

impl WorkloadSchedule {
    /// The schedule of a workload that has never run.
    pub fn new(mailbox_id: MailboxId, workload: Workload) -> WorkloadSchedule {
        WorkloadSchedule {
            mailbox_id,
            workload,
            next_run_on: None,
            last_started_on: None,
            last_completed_on: None,
            last_success_on: None,
            transient_failures: 0,
            idle_cycles: 0,
            items_processed: 0,
            items_failed: 0,
            last_error_code: String::new(),
            last_error_params: BTreeMap::new(),
            last_error_on: None,
            lease_holder: None,
            lease_expires_on: None,
            idle_connected: false,
        }
    }
}

/// How a cycle ended, as the run history keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunOutcome {
    Success,
    Transient,
    Permanent,
}

impl RunOutcome {
    pub const ALL: [RunOutcome; 3] = [RunOutcome::Success, RunOutcome::Transient, RunOutcome::Permanent];

    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            RunOutcome::Success => "success",
            RunOutcome::Transient => "transient",
            RunOutcome::Permanent => "permanent",
        }
    }
}

/// One cycle of one workload of one mailbox, as the history keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRun {
    pub mailbox_id: MailboxId,
    pub workload: Workload,
    pub started_on: Timestamp,
    pub completed_on: Timestamp,
    pub outcome: RunOutcome,
    pub items: u32,
    pub failed_items: u32,
    pub error_code: String,
    /// The engine that ran it.
    pub runner: String,
}
