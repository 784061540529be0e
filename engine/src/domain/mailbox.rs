//! Mailbox (`mailbox`): one per user, one per queue, plus forward mailboxes.

use super::{
    ActMethod, EmailAddressStatus, IncomingMethod, MailboxId, OutgoingMethod, ProfileId, QueueId, RecordState,
    TestStatus, Timestamp, UserId, change_set,
};

/// Whose mailbox it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailboxKind {
    User,
    Queue,
    Forward,
}

/// A mailbox. The password is never here: only `is_password_set`.
#[derive(Debug, Clone, PartialEq)]
pub struct Mailbox {
    pub id: MailboxId,
    pub name: String,
    /// The user who owns the record (the user; for a queue, the queue's owner).
    pub owner_user_id: Option<UserId>,
    pub email_address: String,
    pub delete_after_processing: bool,
    /// Regarding: the user, or the queue; both empty for a forward mailbox.
    pub user_id: Option<UserId>,
    pub queue_id: Option<QueueId>,
    pub is_forward_mailbox: bool,

    // Credentials
    pub allow_credentials: bool,
    pub user_name: String,
    pub is_password_set: bool,

    // Synchronization method
    pub profile_id: Option<ProfileId>,
    pub incoming_method: IncomingMethod,
    pub outgoing_method: OutgoingMethod,
    pub act_method: ActMethod,

    // Configuration test results
    pub incoming_status: TestStatus,
    pub outgoing_status: TestStatus,
    pub act_status: TestStatus,
    pub test_completed_on: Option<Timestamp>,
    pub test_and_enable_last_attempted_on: Option<Timestamp>,

    // Approval
    pub email_address_status: EmailAddressStatus,
    pub approved_by_user_id: Option<UserId>,
    /// Set when the local administrator (not a user record) approved.
    pub approved_by_administrator: bool,
    pub approved_on: Option<Timestamp>,

    // Enabled state
    pub enabled_for_incoming: bool,
    pub enabled_for_outgoing: bool,
    pub enabled_for_act: bool,
    pub process_email_received_after: Option<Timestamp>,
    pub state: RecordState,

    // Error counters (spec §3.11)
    pub transient_failure_count: u32,
    pub last_sync_error_code: String,
    pub last_sync_error_on: Option<Timestamp>,

    pub created_on: Timestamp,
    pub modified_on: Timestamp,
}

/// Lists the fields of [`MailboxChanges`] once: `mailbox_changes!(m)` expands to `m! { MailboxChanges for … { … } }`.
/// The domain declares the change set with it; `api::wire` declares its wire twin.
macro_rules! mailbox_changes {
    ($m:ident) => {
        $m! {
            /// What an administrator may change on a mailbox form (credentials go through their own call).
            MailboxChanges for Mailbox {
                name: String,
                email_address: String,
                delete_after_processing: bool,
                allow_credentials: bool,
                user_name: String,
                profile_id: Option<ProfileId>,
                incoming_method: IncomingMethod,
                outgoing_method: OutgoingMethod,
                act_method: ActMethod,
                process_email_received_after: Option<Timestamp>,
            }
        }
    };
}
pub(crate) use mailbox_changes;

mailbox_changes!(change_set);

impl MailboxChanges {
    /// Only the Synchronization Method section: what the grid's bulk Edit may change.
    pub fn is_sync_method_only(&self) -> bool {
        self.touched().iter().all(|f| matches!(*f, "profile_id" | "incoming_method" | "outgoing_method" | "act_method"))
    }
}

impl Mailbox {
    /// A new, unsaved mailbox with nothing configured.
    pub fn new(name: String, email_address: String, now: Timestamp) -> Mailbox {
        let status = if email_address.trim().is_empty() {
            EmailAddressStatus::Empty
        } else {
            EmailAddressStatus::PendingApproval
        };
        Mailbox {
            id: MailboxId(0),
            name,
            owner_user_id: None,
            email_address,
            delete_after_processing: false,
            user_id: None,
            queue_id: None,
            is_forward_mailbox: false,
            allow_credentials: false,
            user_name: String::new(),
            is_password_set: false,
            profile_id: None,
            incoming_method: IncomingMethod::None,
            outgoing_method: OutgoingMethod::None,
            act_method: ActMethod::None,
            incoming_status: TestStatus::NotRun,
            outgoing_status: TestStatus::NotRun,
            act_status: TestStatus::NotRun,
            test_completed_on: None,
            test_and_enable_last_attempted_on: None,
            email_address_status: status,
            approved_by_user_id: None,
            approved_by_administrator: false,
            approved_on: None,
            enabled_for_incoming: false,
            enabled_for_outgoing: false,
            enabled_for_act: false,
            process_email_received_after: None,
            state: RecordState::Active,
            transient_failure_count: 0,
            last_sync_error_code: String::new(),
            last_sync_error_on: None,
            created_on: now,
            modified_on: now,
        }
    }

    /// User, queue or forward mailbox.
    pub fn kind(&self) -> MailboxKind {
        if self.user_id.is_some() {
            MailboxKind::User
        } else if self.queue_id.is_some() {
            MailboxKind::Queue
        } else {
            MailboxKind::Forward
        }
    }

    /// Activates or deactivates the mailbox. A deactivated mailbox is disabled for every
    /// workload: it must pass Test & Enable again once it is active.
    pub fn set_state(&mut self, state: RecordState, now: Timestamp) {
        if state == RecordState::Inactive {
            self.enabled_for_incoming = false;
            self.enabled_for_outgoing = false;
            self.enabled_for_act = false;
        }
        self.state = state;
        self.modified_on = now;
    }

    /// Changes the address; a new address withdraws any approval (it must be approved again).
    pub fn change_email_address(&mut self, address: &str) {
        let address = address.trim();
        if address.eq_ignore_ascii_case(self.email_address.trim()) {
            self.email_address = address.to_owned();
            return;
        }
        self.email_address = address.to_owned();
        self.email_address_status =
            if address.is_empty() { EmailAddressStatus::Empty } else { EmailAddressStatus::PendingApproval };
        self.approved_by_user_id = None;
        self.approved_by_administrator = false;
        self.approved_on = None;
    }
}
