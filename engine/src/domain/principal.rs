//! Users (`systemuser`) and queues: each has exactly one mailbox, created with it.

use super::{FilteringMethod, MailboxId, QueueId, RecordState, Timestamp, UserId, change_set};

/// A new user's "Select the email messages to track": email messages in response to email, the
/// documented default (spec §2.3, USET).
pub const USER_FILTERING_DEFAULT: FilteringMethod = FilteringMethod::ResponsesToCrmEmail;
/// A new queue's "Convert Incoming Email To Activities": all email messages.
pub const QUEUE_FILTERING_DEFAULT: FilteringMethod = FilteringMethod::AllEmail;

/// A user of the organisation.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: UserId,
    pub full_name: String,
    /// Primary email; always the same as the user's mailbox address.
    pub primary_email: String,
    /// The privilege "Approve Email Addresses for Users or Queues".
    pub can_approve_email: bool,
    pub incoming_filtering_method: FilteringMethod,
    pub state: RecordState,
    pub created_on: Timestamp,
    pub modified_on: Timestamp,
    /// The user's mailbox (read-only; filled when read).
    pub mailbox_id: Option<MailboxId>,
}

/// Lists the fields of [`UserChanges`] once: `user_changes!(m)` expands to `m! { UserChanges for … { … } }`.
/// The domain declares the change set with it; `api::wire` declares its wire twin.
macro_rules! user_changes {
    ($m:ident) => {
        $m! {
            /// Editable fields of a user.
            UserChanges for User {
                full_name: String,
                primary_email: String,
                can_approve_email: bool,
                incoming_filtering_method: FilteringMethod,
            }
        }
    };
}
pub(crate) use user_changes;

user_changes!(change_set);

/// A queue (shared inbox).
#[derive(Debug, Clone, PartialEq)]
pub struct Queue {
    pub id: QueueId,
    pub name: String,
    /// Incoming Email address; always the same as the queue's mailbox address.
    pub email_address: String,
    pub owner_user_id: Option<UserId>,
    /// Convert Incoming Email To Activities.
    pub incoming_filtering_method: FilteringMethod,
    pub state: RecordState,
    pub created_on: Timestamp,
    pub modified_on: Timestamp,
    /// The queue's mailbox (read-only; filled when read).
    pub mailbox_id: Option<MailboxId>,
}

/// Lists the fields of [`QueueChanges`] once: `queue_changes!(m)` expands to `m! { QueueChanges for … { … } }`.
/// The domain declares the change set with it; `api::wire` declares its wire twin.
macro_rules! queue_changes {
    ($m:ident) => {
        $m! {
            /// Editable fields of a queue.
            QueueChanges for Queue {
                name: String,
                email_address: String,
                owner_user_id: Option<UserId>,
                incoming_filtering_method: FilteringMethod,
            }
        }
    };
}
pub(crate) use queue_changes;

queue_changes!(change_set);
