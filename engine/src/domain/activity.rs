//! Email activities (`email`): what a tracked message becomes, with its parties and the
//! description of its attachments. The raw message is kept beside it by the store.

use super::{
    ActivityDirection, ActivityId, AttachmentNotSaved, CorrelationMethod, EmailEntity, EmailNotification, EmailStatus,
    FilteringMethod, MailboxId, PartyRole, Timestamp, UserId,
};

/// A record of one of the email-enabled tables: a party, a regarding, an accepting entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordRef {
    pub entity: EmailEntity,
    pub id: i64,
}

impl RecordRef {
    pub fn new(entity: EmailEntity, id: i64) -> RecordRef {
        RecordRef { entity, id }
    }
}

/// An email activity.
#[derive(Debug, Clone, PartialEq)]
pub struct EmailActivity {
    pub id: ActivityId,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    /// The From address.
    pub sender: String,
    pub direction: ActivityDirection,
    pub status: EmailStatus,
    /// The Internet Message-ID as carried, with its angle brackets ("" when the message had none).
    pub message_id: String,
    /// What duplicate detection compares: the Message-ID without brackets, or a digest of the
    /// whole message when it has none.
    pub dedupe_key: String,
    pub in_reply_to: String,
    pub references_ids: String,
    /// The Thread-Index header (base64), as carried.
    pub conversation_index: String,
    /// The thread's root: the first 22 bytes of the conversation index, in hex.
    pub conversation_root: String,
    pub tracking_token: String,
    /// The subject without reply/forward prefixes, lower-cased (smart matching).
    pub subject_key: String,
    pub correlation_method: CorrelationMethod,
    pub correlated_activity_id: Option<ActivityId>,
    pub parent_activity_id: Option<ActivityId>,
    pub regarding: Option<RecordRef>,
    pub receiving_mailbox_id: Option<MailboxId>,
    /// The user or queue whose incoming filter accepted it.
    pub accepting: Option<RecordRef>,
    /// That filter.
    pub accepting_filter: Option<FilteringMethod>,
    pub owner_user_id: Option<UserId>,
    pub size_bytes: u64,
    pub notifications: EmailNotification,
    /// The message's headers as JSON, kept only for mail that carries `Auto-Submitted` or
    /// `Reply-To` (spec §3.8 step 11).
    pub internet_headers: Option<String>,
    /// The Date header.
    pub sent_on: Option<Timestamp>,
    /// When the mail server received it (IMAP INTERNALDATE; POP3: when it was retrieved); for an
    /// outgoing email, when it was written.
    pub received_on: Timestamp,
    pub created_on: Timestamp,
    /// Outgoing: the mailbox it is sent through.
    pub sender_mailbox_id: Option<MailboxId>,
    /// Outgoing: how many times sending was tried.
    pub delivery_attempts: u32,
    /// Outgoing: Send Later, not before this time.
    pub send_after: Option<Timestamp>,
    /// Outgoing: when it was last marked Sending.
    pub sending_since: Option<Timestamp>,
    /// Outgoing: why it waits or failed (a message code and its parameters), or "".
    pub last_error_code: String,
    pub last_error_params: std::collections::BTreeMap<String, String>,
    /// Outgoing: sent again after a crash with no way to know whether the first try had left.
    pub possible_duplicate: bool,
}

impl EmailActivity {
    /// An email with every optional part empty: the caller fills what it knows.
    pub fn blank(direction: ActivityDirection, status: EmailStatus, now: Timestamp) -> EmailActivity {
        EmailActivity {
            id: ActivityId(0),
            subject: String::new(),
            body_text: String::new(),
            body_html: String::new(),
            sender: String::new(),
            direction,
            status,
            message_id: String::new(),
            dedupe_key: String::new(),
            in_reply_to: String::new(),
            references_ids: String::new(),
            conversation_index: String::new(),
            conversation_root: String::new(),
            tracking_token: String::new(),
            subject_key: String::new(),
            correlation_method: CorrelationMethod::None,
            correlated_activity_id: None,
            parent_activity_id: None,
            regarding: None,
            receiving_mailbox_id: None,
            accepting: None,
            accepting_filter: None,
            owner_user_id: None,
            size_bytes: 0,
            notifications: EmailNotification::None,
            internet_headers: None,
            sent_on: None,
            received_on: now,
            created_on: now,
            sender_mailbox_id: None,
            delivery_attempts: 0,
            send_after: None,
            sending_since: None,
            last_error_code: String::new(),
            last_error_params: std::collections::BTreeMap::new(),
            possible_duplicate: false,
        }
    }
}

/// One party of an email: an address and, when it resolved, the record it resolved to. An
/// address that resolved to several records appears once per record, at the same position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    pub role: PartyRole,
    /// The address's place in its header (0 for From).
    pub position: u32,
    pub address: String,
    pub display_name: String,
    /// None: unresolved.
    pub record: Option<RecordRef>,
}

/// An attachment as found in the message. The content stays in the raw message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub position: u32,
    /// The MIME part's index in the parsed message.
    pub part_index: u32,
    pub file_name: String,
    pub mime_type: String,
    pub content_id: String,
    pub size_bytes: u64,
    /// None: saved with the email.
    pub not_saved: Option<AttachmentNotSaved>,
}

/// Where a mailbox's incoming sync stands, and its last-sync counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncState {
    pub uid_validity: Option<u32>,
    pub last_uid: u32,
    pub highest_modseq: Option<u64>,
    pub uid_next: Option<u32>,
    /// The mailbox's Process Email From as the last cycle wrote it (its progress); a different
    /// value on the mailbox was set by the administrator.
    pub process_from: Option<Timestamp>,
    /// When the last incoming cycle that completed started (written with its end).
    pub last_sync_started_on: Option<Timestamp>,
    pub last_sync_completed_on: Option<Timestamp>,
    pub items_processed_last_sync: u32,
    pub items_failed_last_sync: u32,
    pub no_email_count: u32,
    /// A server's opaque cursor: Graph's delta (or next) link, EWS's SyncState; "" for none.
    pub server_cursor: String,
}
