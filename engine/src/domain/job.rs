//! Background jobs (`asyncoperation`): Test & Enable Mailboxes runs as one, with one item per
//! mailbox (pending → testing → success | failure | cancelled).

use super::{JobId, JobItemState, JobState, MailboxId, ProfileId, Timestamp};
use std::collections::BTreeMap;

/// The kinds of job.
pub const KIND_TEST_AND_ENABLE: &str = "test_and_enable";

/// A background job.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: JobId,
    pub kind: String,
    pub profile_id: Option<ProfileId>,
    pub state: JobState,
    /// The engine instance running it (its runner lock file is held while it lives).
    pub runner: String,
    pub created_on: Timestamp,
    pub started_on: Option<Timestamp>,
    pub completed_on: Option<Timestamp>,
}

/// One mailbox of a job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobItem {
    pub mailbox_id: MailboxId,
    pub mailbox_name: String,
    pub state: JobItemState,
    /// Why it failed: a message code, worded by the UI with `error_params`.
    pub error_code: String,
    pub error_params: BTreeMap<String, String>,
}

impl JobItem {
    /// Whether this mailbox's test is over (whatever its outcome).
    pub fn is_done(&self) -> bool {
        !matches!(self.state, JobItemState::Pending | JobItemState::Testing)
    }
}

/// How far a job has got, counted without reading its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobProgress {
    pub state: JobState,
    pub total: u32,
    pub done: u32,
    pub testing: u32,
}

impl JobProgress {
    /// Whether nothing more will change: the job ended (or was cancelled) and no mailbox is still
    /// being tested.
    pub fn finished(&self) -> bool {
        !matches!(self.state, JobState::Queued | JobState::Running) && self.testing == 0
    }
}

/// The state a job ends in once no item is left to run: succeeded only when every item did.
pub fn final_state(items_not_succeeded: u32) -> JobState {
    if items_not_succeeded == 0 { JobState::Succeeded } else { JobState::Failed }
}
