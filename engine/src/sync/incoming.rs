//! One incoming cycle of one mailbox, IMAP or POP3: the unit a scheduler calls.
//!
//! 1. Load the mailbox, its profile, the organisation settings and the stored cursor; the gate
//!    (spec §3.1): a mailbox that may not be processed is refused with its reason.
//! 2. Connect within the profile's connection limit and list the Inbox; [`plan`] decides what to
//!    fetch from the cursor and the listing (pure).
//! 3. Fetch in batches (bytes- and count-bounded, the next batch fetched while the previous one
//!    is written), parse off the async executor, and decide each message (pure, [`inbound`]).
//! 4. Commit each batch in one transaction with a savepoint per message, together with the new
//!    cursor, durably. One bad message is recorded with its reason and never stops the rest.
//! 5. Only then acknowledge on the server: POP3 DELE of tracked messages (queue and forward
//!    mailboxes with Delete Emails after Processing), IMAP MOVE of failed messages to
//!    `Undeliverable` (profile option). Acknowledgements that did not happen (the process died)
//!    are found again by the next cycle.
//!
//! In [`Mode::Preview`] the same plan and decisions run with nothing written and nothing changed
//! on the server (EXAMINE, BODY.PEEK, no DELE): the report says what the next cycle would track,
//! pass over or fail, and why.

use super::inbound::correlate::{self, Found, Methods, Tracked};
use super::inbound::decide::{self, AddressFacts, Decision, Facts, Principal, Receiving, Rules};
use super::inbound::parse::{self, MailAddress, ParsedEmail};
use super::inbound::resolve::Candidate;
use super::plan::{self, Listed, Listing, Pop3Listed, Rescan, Step};
use crate::domain::rules::{Workload, check_processable};
use crate::domain::{
    ActivityDirection, ActivityId, Attachment, AttachmentNotSaved, CorrelationMethod, EmailActivity, EmailEntity,
    EmailNotification, EmailStatus, FilteringMethod, IncomingMethod, ItemOutcome, Mailbox, MailboxId, MailboxKind,
    OrgSettings, Party, Profile, RecordRef, RecordState, SyncState, Timestamp,
};
use crate::protocol::{self, Direction, IncomingProtocol, Unobserved};
use crate::remote::connect::{CredentialSource, client_for, endpoint, login, name_credentials, refused};
use crate::store::{self, Durability, sync_state::Outcome};
use crate::{Engine, Error, ErrorKind, Result};
use rusqlite::Connection;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use tracing::Instrument;

mod remote;

/// A batch is fetched and committed when it holds this many bytes…
const BATCH_BYTES: u64 = 16 * 1024 * 1024;
/// …or this many messages.
const BATCH_MESSAGES: usize = 500;
/// Batches parsed at once.
const PARSERS: usize = 2;
/// Bytes of messages between their fetch and their commit, at most (one larger message is let
/// through alone): the import's memory stays bounded whatever the messages' sizes.
const IN_FLIGHT_BYTES: u64 = 64 * 1024 * 1024;

/// A batch on its way through the pipeline, with its share of [`IN_FLIGHT_BYTES`] (given back
/// when the batch is dropped, after its commit).
struct InFlight {
    batch: Vec<Fetched>,
    held: tokio::sync::OwnedSemaphorePermit,
    /// Where the Inbox stands once the batch is committed, when the producer knows it better than
    /// the batch's last message does (a server's link to what follows).
    cursor: Option<Cursor>,
}

/// A mailbox's incoming cursor, committed with the activities it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Cursor {
    /// IMAP: UIDVALIDITY and the last UID handled.
    Uid(Option<u32>, u32),
    /// A server's opaque cursor (Graph's next or delta link).
    Server(String),
}

/// Waits until `bytes` more may be in flight.
async fn reserve(
    budget: &std::sync::Arc<tokio::sync::Semaphore>,
    bytes: u64,
) -> Result<tokio::sync::OwnedSemaphorePermit> {
    let n = u32::try_from(bytes.clamp(1, IN_FLIGHT_BYTES)).unwrap_or(u32::MAX);
    budget.clone().acquire_many_owned(n).await.map_err(Error::internal)
}

fn in_flight_budget() -> std::sync::Arc<tokio::sync::Semaphore> {
    std::sync::Arc::new(tokio::sync::Semaphore::new(usize::try_from(IN_FLIGHT_BYTES).unwrap_or(usize::MAX)))
}
/// The folder failed messages are moved to when the profile asks for it (spec §3.14).
pub const UNDELIVERABLE_FOLDER: &str = "Undeliverable";
/// Items a report lists in full; the counts are always complete.
const REPORT_ITEMS: usize = 2000;
/// Smart matching looks this far back (spec §3.9).
const SMART_MATCHING_DAYS: i64 = 90;

/// Whether a cycle changes anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Track, record, acknowledge.
    Apply,
    /// Plan and decide only: nothing is written and nothing changes on the server.
    Preview,
}

/// How a cycle runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    pub mode: Mode,
    /// At most this many messages fetched (the rest waits for the next cycle).
    pub max_messages: Option<usize>,
}

/// What became of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemResult {
    /// An email activity was created (or would be, in a preview).
    Tracked,
    /// Already tracked from another mailbox (or the sent copy of an internal email): the
    /// receiving mailbox is recorded on it.
    AlreadyTracked,
    /// The rules did not accept it; it stays on the server.
    Skipped,
    /// Its activity could not be created (too large, unreadable…); it stays on the server, or is
    /// moved to Undeliverable.
    Failed,
    /// Received before the Process Email From date.
    PassedOver,
}

/// One message of a cycle, and why it went the way it did.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemReport {
    /// `imap:UIDVALIDITY:UID` or `pop3:UIDL`.
    pub server_ref: String,
    pub message_id: String,
    pub subject: String,
    pub from: String,
    pub result: ItemResult,
    /// For Skipped and Failed: why, as a message code with its parameters.
    pub code: String,
    pub params: BTreeMap<String, String>,
    pub activity_id: Option<ActivityId>,
    /// Which user or queue accepted it, and with which filter.
    pub accepting: Option<RecordRef>,
    pub accepting_filter: Option<FilteringMethod>,
    /// Which correlation method matched, and which tracked email it matched.
    pub correlation: CorrelationMethod,
    pub correlated_with: Option<ActivityId>,
    /// The records the parties resolved to.
    pub parties: Vec<Party>,
}

impl ItemReport {
    fn new(server_ref: String, result: ItemResult) -> ItemReport {
        ItemReport {
            server_ref,
            message_id: String::new(),
            subject: String::new(),
            from: String::new(),
            result,
            code: String::new(),
            params: BTreeMap::new(),
            activity_id: None,
            accepting: None,
            accepting_filter: None,
            correlation: CorrelationMethod::None,
            correlated_with: None,
            parties: Vec::new(),
        }
    }

    fn about(mut self, p: &ParsedEmail) -> ItemReport {
        self.message_id = p.message_id_header();
        self.subject = p.subject.clone();
        self.from = p.from.as_ref().map(|a| a.address.clone()).unwrap_or_default();
        self
    }

    fn failed(server_ref: String, e: &Error) -> ItemReport {
        let mut r = ItemReport::new(server_ref, ItemResult::Failed);
        r.code = e.code().to_owned();
        r.params = e.params().clone();
        r
    }
}

/// What a cycle did (or, in a preview, would do).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CycleReport {
    pub mailbox_id: Option<MailboxId>,
    pub preview: bool,
    /// Why the whole Inbox was read again, if it was.
    pub rescan: Option<Rescan>,
    /// Messages planned (fetched, passed over or recorded as too large).
    pub planned: u32,
    pub tracked: u32,
    pub already_tracked: u32,
    pub skipped: u32,
    pub failed: u32,
    pub passed_over: u32,
    pub moved_to_undeliverable: u32,
    pub deleted_from_server: u32,
    /// The engine closed before the cycle ended: what was committed stays, the rest waits.
    pub interrupted: bool,
    /// The messages, in server order (at most [`REPORT_ITEMS`] of them).
    pub items: Vec<ItemReport>,
    /// Every message (by server reference) an activity now holds: what a server may be told.
    pub(crate) acknowledgeable: Vec<String>,
}

impl CycleReport {
    fn add(&mut self, item: ItemReport) {
        if matches!(item.result, ItemResult::Tracked | ItemResult::AlreadyTracked) {
            self.acknowledgeable.push(item.server_ref.clone());
        }
        match item.result {
            ItemResult::Tracked => self.tracked += 1,
            ItemResult::AlreadyTracked => self.already_tracked += 1,
            ItemResult::Skipped => self.skipped += 1,
            ItemResult::Failed => self.failed += 1,
            ItemResult::PassedOver => self.passed_over += 1,
        }
        if self.items.len() < REPORT_ITEMS {
            self.items.push(item);
        }
    }

    /// Messages handled so far.
    pub fn done(&self) -> u32 {
        self.tracked + self.already_tracked + self.skipped + self.failed + self.passed_over
    }
}

/// How far a cycle has got, for progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub mailbox_id: MailboxId,
    pub done: u32,
    pub planned: u32,
}

/// Everything a cycle reads once.
struct Ctx {
    mailbox: Mailbox,
    profile: Profile,
    settings: OrgSettings,
    state: SyncState,
    receiving: Receiving,
    forward: bool,
    prefixes: Vec<String>,
    /// The subject keywords' expression, compiled at the first message (an idle cycle has none).
    keywords: std::sync::OnceLock<Option<regex::Regex>>,
    rules: Rules,
    dates: plan::Dates,
    /// Delete Emails after Processing applies (POP3, queue and forward mailboxes).
    delete_after: bool,
}

impl Ctx {
    fn keywords(&self) -> Option<&regex::Regex> {
        self.keywords.get_or_init(|| regex::Regex::new(&self.settings.hash_filter_keywords).ok()).as_ref()
    }
}

fn principal_of(row: &store::principals::PrincipalRow, record: RecordRef, forward: bool) -> Principal {
    let accepts_incoming = match row.mailbox {
        Some((method, enabled, active)) if active => {
            if forward {
                method == IncomingMethod::ForwardMailbox
            } else {
                method == IncomingMethod::ServerSideSync && enabled
            }
        }
        _ => false,
    };
    Principal { record, filter: row.filter, active: row.active, accepts_incoming, owner_user_id: row.owner_user_id }
}

/// Reads what a cycle needs and checks the gate.
fn load(c: &Connection, id: MailboxId, mode: Mode) -> Result<Ctx> {
    let mailbox = store::mailboxes::get(c, id)?;
    let profile = mailbox.profile_id.map(|p| store::profiles::get(c, p)).transpose()?;
    let settings = store::settings::get(c)?;
    check_processable(&mailbox, profile.as_ref(), &settings, Workload::Incoming)?;
    if mode == Mode::Apply && !mailbox.enabled_for_incoming {
        return Err(Error::validation("mailbox.incoming.not_enabled").param("mailbox", &mailbox.name));
    }
    let profile = profile.ok_or_else(|| Error::validation("mailbox.profile.missing_or_inactive"))?;
    let state = store::sync_state::get(c, id)?;
    let kind = mailbox.kind();
    let forward = kind == MailboxKind::Forward;
    let own = match (mailbox.user_id, mailbox.queue_id) {
        (Some(u), _) => Some(RecordRef::new(EmailEntity::User, u.0)),
        (None, Some(q)) => Some(RecordRef::new(EmailEntity::Queue, q.0)),
        _ => None,
    };
    let rows = store::principals::principal_rows(c, own)?;
    let principal = own.and_then(|r| rows.get(&r).map(|row| principal_of(row, r, false)));
    let rules = Rules {
        methods: Methods {
            correlation: settings.email_correlation_enabled,
            tracking_tokens: settings.use_tracking_tokens,
            smart_matching: settings.smart_matching_enabled,
        },
        internal_as_two_activities: settings.track_internal_email_as_two_activities,
        unresolve_recipients_on_multiple: settings.unresolve_if_multiple_matches,
        unresolve_sender_on_multiple: false,
    };
    let dates = plan::start_dates(profile.process_email_from, mailbox.process_email_received_after, state.process_from);
    Ok(Ctx {
        receiving: Receiving { mailbox_id: id, principal, owner_user_id: mailbox.owner_user_id },
        forward,
        prefixes: settings.tracking_prefixes().into_iter().map(str::to_owned).collect(),
        keywords: std::sync::OnceLock::new(),
        rules,
        dates,
        delete_after: mailbox.delete_after_processing && matches!(kind, MailboxKind::Queue | MailboxKind::Forward),
        mailbox,
        profile,
        settings,
        state,
    })
}

/// What the decision of one message needs from the database, and its result.
struct Evaluated {
    decision: Decision,
    activity: Option<EmailActivity>,
    attachments: Vec<Attachment>,
    report: ItemReport,
}

/// What one batch has looked up already: the records of each address, the users and queues.
/// A batch is one transaction, so what it read stays true while it runs.
#[derive(Default)]
struct Lookups {
    addresses: HashMap<String, Vec<Candidate>>,
    principals: HashMap<RecordRef, Option<store::principals::PrincipalRow>>,
    /// Whether any outgoing email exists (none: no internal-email look-up is needed).
    any_outgoing: Option<bool>,
}

fn candidates(c: &Connection, cache: &mut Lookups, address: &str) -> Result<Vec<Candidate>> {
    let key = address.trim().to_lowercase();
    if let Some(v) = cache.addresses.get(&key) {
        return Ok(v.clone());
    }
    // One more than the cut-off, so that "more than 100 matches" can be seen.
    let limit = u32::try_from(super::inbound::resolve::MAX_RESOLUTION_MATCHES + 1).unwrap_or(u32::MAX);
    let found: Vec<Candidate> = store::addresses::lookup(c, &key, limit)?
        .into_iter()
        .map(|m| Candidate {
            entity: m.entity,
            id: m.record_id,
            active: m.state == RecordState::Active,
            owner: m.owner_user_id,
        })
        .collect();
    cache.addresses.insert(key, found.clone());
    Ok(found)
}

fn any_outgoing(c: &Connection, cache: &mut Lookups) -> Result<bool> {
    if let Some(any) = cache.any_outgoing {
        return Ok(any);
    }
    let any = store::activities::any_in_direction(c, ActivityDirection::Outgoing)?;
    cache.any_outgoing = Some(any);
    Ok(any)
}

fn tracked_of(row: store::activities::CorrelationRow) -> Tracked {
    Tracked { id: row.id, regarding: row.regarding, owner: row.owner }
}

/// Decides one parsed message against the database as it is (reads only).
fn evaluate(
    c: &Connection,
    ctx: &Ctx,
    cache: &mut Lookups,
    p: &ParsedEmail,
    server_ref: &str,
    received_on: Timestamp,
    now: Timestamp,
) -> Result<Evaluated> {
    let facts_of = |cache: &mut Lookups, list: &[MailAddress]| -> Result<Vec<AddressFacts>> {
        list.iter()
            .map(|a| {
                Ok(AddressFacts {
                    address: a.address.clone(),
                    name: a.name.clone(),
                    matches: candidates(c, cache, &a.address)?,
                })
            })
            .collect()
    };
    let from = p.from.as_ref().map(|a| facts_of(cache, std::slice::from_ref(a))).transpose()?.and_then(|mut v| v.pop());
    let (to, cc, bcc) = (facts_of(cache, &p.to)?, facts_of(cache, &p.cc)?, facts_of(cache, &p.bcc)?);
    let refs: BTreeSet<RecordRef> = from
        .iter()
        .chain(&to)
        .chain(&cc)
        .chain(&bcc)
        .flat_map(|a| a.matches.iter().map(|m| RecordRef::new(m.entity, m.id)))
        .filter(|r| matches!(r.entity, EmailEntity::User | EmailEntity::Queue))
        .collect();
    let missing: Vec<RecordRef> = refs.iter().copied().filter(|r| !cache.principals.contains_key(r)).collect();
    if !missing.is_empty() {
        let rows = store::principals::principal_rows(c, missing.iter().copied())?;
        for r in missing {
            cache.principals.insert(r, rows.get(&r).copied());
        }
    }
    let principals = refs
        .iter()
        .filter_map(|r| cache.principals.get(r).copied().flatten().map(|row| (*r, principal_of(&row, *r, ctx.forward))))
        .collect();

    // Correlation candidates, one indexed look-up per method.
    let token = correlate::find_token(&p.subject, &ctx.prefixes.iter().map(String::as_str).collect::<Vec<_>>());
    let mut found = Found::default();
    if !p.in_reply_to.is_empty() {
        found.in_reply_to = store::activities::by_message_ids(c, &p.in_reply_to)?.map(tracked_of);
    }
    if let Some(t) = &token {
        found.tracking_token = store::activities::by_tracking_token(c, t)?.map(tracked_of);
    }
    let root = p.thread_index.as_ref().map(|(_, bytes)| correlate::conversation_root(bytes));
    if let (Some((_, index)), Some(root)) = (&p.thread_index, &root) {
        use base64::Engine as _;
        let cands: Vec<(ActivityId, Vec<u8>)> = store::activities::by_conversation_root(c, root)?
            .into_iter()
            .filter_map(|(id, b64)| base64::engine::general_purpose::STANDARD.decode(b64.trim()).ok().map(|b| (id, b)))
            .collect();
        if let Some(parent) = correlate::conversation_parent(index, &cands) {
            found.conversation_index = store::activities::correlation_row_of(c, parent)?.map(tracked_of);
        }
    }
    let subject_key = correlate::subject_key(&p.subject, ctx.keywords(), token.as_deref());
    if ctx.rules.methods.smart_matching && !subject_key.is_empty() {
        let since = now - chrono::Duration::days(SMART_MATCHING_DAYS);
        let cands = store::activities::by_subject_key(c, &subject_key, since, ctx.settings.hash_max_count)?;
        let mine: BTreeSet<String> =
            p.from.iter().chain(&p.to).chain(&p.cc).map(|a| a.address.to_lowercase()).collect();
        if let Some(id) = correlate::smart_match(&mine, &cands, ctx.settings.hash_min_address_count) {
            found.smart_matching = store::activities::correlation_row_of(c, id)?.map(tracked_of);
        }
    }
    let key = p.dedupe_key();
    let facts = Facts {
        receiving: ctx.receiving,
        from,
        to,
        cc,
        bcc,
        principals,
        found,
        tracked_incoming: store::activities::by_dedupe_key(c, ActivityDirection::Incoming, &key)?,
        tracked_outgoing: match &p.message_id {
            Some(_) if any_outgoing(c, cache)? => {
                store::activities::by_dedupe_key(c, ActivityDirection::Outgoing, &key)?
            }
            _ => None,
        },
        rules: ctx.rules,
    };
    let decision = decide::decide(&facts);
    let mut report = ItemReport::new(server_ref.to_owned(), ItemResult::Tracked).about(p);
    let mut activity = None;
    let mut attachments = Vec::new();
    match &decision {
        Decision::Track(plan) => {
            report.accepting = Some(plan.accepting);
            report.accepting_filter = Some(plan.accepting_filter);
            report.correlation = plan.correlation.as_ref().map_or(CorrelationMethod::None, |(m, _)| *m);
            report.correlated_with = plan.correlation.as_ref().map(|(_, t)| t.id);
            report.parties = plan.parties.clone();
            let max_bytes = u64::from(ctx.settings.max_attachment_size_kb) * 1024;
            attachments = p
                .attachments
                .iter()
                .enumerate()
                .map(|(i, a)| Attachment {
                    position: i as u32,
                    part_index: a.part_index,
                    file_name: a.file_name.clone(),
                    mime_type: a.mime_type.clone(),
                    content_id: a.content_id.clone(),
                    size_bytes: a.size,
                    not_saved: if ctx.settings.is_blocked_attachment(&a.file_name) {
                        Some(AttachmentNotSaved::BlockedExtension)
                    } else if a.size > max_bytes {
                        Some(AttachmentNotSaved::TooLarge)
                    } else {
                        None
                    },
                })
                .collect();
            let notifications = if attachments.iter().any(|a| a.not_saved.is_some()) {
                EmailNotification::AttachmentsNotSaved
            } else if p.truncated {
                EmailNotification::TruncatedBody
            } else {
                EmailNotification::None
            };
            activity = Some(EmailActivity {
                id: ActivityId(0),
                subject: p.subject.clone(),
                body_text: p.text.clone(),
                body_html: p.html.clone(),
                sender: p.from.as_ref().map(|a| a.address.clone()).unwrap_or_default(),
                direction: ActivityDirection::Incoming,
                status: EmailStatus::Received,
                message_id: p.message_id_header(),
                dedupe_key: key,
                in_reply_to: p.in_reply_to.iter().map(|i| format!("<{i}>")).collect::<Vec<_>>().join(" "),
                references_ids: p.references.iter().map(|i| format!("<{i}>")).collect::<Vec<_>>().join(" "),
                conversation_index: p.thread_index.as_ref().map(|(b64, _)| b64.clone()).unwrap_or_default(),
                conversation_root: root.unwrap_or_default(),
                tracking_token: token.unwrap_or_default(),
                subject_key,
                correlation_method: report.correlation,
                correlated_activity_id: report.correlated_with,
                parent_activity_id: plan.parent,
                regarding: plan.regarding,
                receiving_mailbox_id: Some(ctx.mailbox.id),
                accepting: Some(plan.accepting),
                accepting_filter: Some(plan.accepting_filter),
                owner_user_id: plan.owner,
                size_bytes: p.size,
                notifications,
                internet_headers: p.internet_headers.clone(),
                sent_on: p.date,
                received_on,
                ..EmailActivity::blank(ActivityDirection::Incoming, EmailStatus::Received, now)
            });
        }
        Decision::AlreadyTracked(id) => {
            report.result = ItemResult::AlreadyTracked;
            report.activity_id = Some(*id);
        }
        Decision::Skip { code, params } => {
            report.result = ItemResult::Skipped;
            report.code = (*code).to_owned();
            report.params = params.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
        }
    }
    Ok(Evaluated { decision, activity, attachments, report })
}

/// A message as fetched: where it is on the server, when it arrived, its bytes (None: it
/// vanished between listing and fetching), or a reason it was not fetched.
struct Fetched {
    server_ref: String,
    uid: u32,
    received_on: Option<Timestamp>,
    kind: FetchedKind,
}

enum FetchedKind {
    Body(Vec<u8>),
    TooLarge(u64),
    BeforeStartDate,
    Vanished,
}

/// Writes the outcome of one message inside the batch's transaction (its own savepoint).
fn apply_item(
    tx: &rusqlite::Transaction<'_>,
    ctx: &Ctx,
    cache: &mut Lookups,
    item: &Fetched,
    parsed: Option<&Result<ParsedEmail>>,
    now: Timestamp,
) -> Result<ItemReport> {
    let outcome =
        |code: &str, params: BTreeMap<String, String>, outcome: ItemOutcome, p: Option<&ParsedEmail>| Outcome {
            mailbox_id: ctx.mailbox.id,
            server_ref: item.server_ref.clone(),
            outcome,
            code: code.to_owned(),
            params,
            message_id: p.map(ParsedEmail::message_id_header).unwrap_or_default(),
            subject: p.map(|p| p.subject.clone()).unwrap_or_default(),
            moved_to_undeliverable: false,
            occurred_on: now,
        };
    match (&item.kind, parsed) {
        (FetchedKind::TooLarge(size), _) => {
            let e = too_large(*size);
            store::sync_state::record_outcome(tx, &outcome(e.code(), e.params().clone(), ItemOutcome::Failed, None))?;
            Ok(ItemReport::failed(item.server_ref.clone(), &e))
        }
        (FetchedKind::BeforeStartDate | FetchedKind::Vanished, _) | (FetchedKind::Body(_), None) => {
            Ok(ItemReport::new(item.server_ref.clone(), ItemResult::PassedOver))
        }
        (FetchedKind::Body(_), Some(Err(e))) => {
            store::sync_state::record_outcome(tx, &outcome(e.code(), e.params().clone(), ItemOutcome::Failed, None))?;
            Ok(ItemReport::failed(item.server_ref.clone(), e))
        }
        (FetchedKind::Body(_), Some(Ok(p))) if before_start_date(ctx, item, p) => {
            Ok(ItemReport::new(item.server_ref.clone(), ItemResult::PassedOver).about(p))
        }
        (FetchedKind::Body(_), Some(Ok(p))) => {
            let received_on = item.received_on.unwrap_or(now);
            let ev = evaluate(tx, ctx, cache, p, &item.server_ref, received_on, now)?;
            let mut report = ev.report;
            match (&ev.decision, &ev.activity) {
                (Decision::Track(plan), Some(a)) => {
                    let id = store::activities::insert(
                        tx,
                        store::activities::NewEmail {
                            activity: a,
                            parties: &plan.parties,
                            attachments: &ev.attachments,
                            queue_items: &plan.queue_items,
                        },
                    )?;
                    report.activity_id = Some(id);
                }
                (Decision::AlreadyTracked(id), _) => {
                    store::activities::add_receipt(tx, *id, ctx.mailbox.id, received_on)?;
                }
                (Decision::Skip { .. }, _) => {
                    store::sync_state::record_outcome(
                        tx,
                        &outcome(&report.code, report.params.clone(), ItemOutcome::Skipped, Some(p)),
                    )?;
                }
                (Decision::Track(_), None) => return Err(Error::internal("a tracked email without its activity")),
            }
            Ok(report)
        }
    }
}

/// A POP3 message dated on or before the Process Email From date (POP3 has no received date: the
/// Date header stands in for it; IMAP messages are passed over by the plan, on INTERNALDATE).
fn before_start_date(ctx: &Ctx, item: &Fetched, p: &ParsedEmail) -> bool {
    item.server_ref.starts_with("pop3:")
        && matches!((ctx.dates.filter_from, p.date), (Some(from), Some(date)) if date <= from)
}

fn too_large(size: u64) -> Error {
    Error::new(ErrorKind::Validation, "sync.item.too_large")
        .param("size_mb", size / (1024 * 1024))
        .param("max_mb", plan::MAX_MESSAGE_BYTES / (1024 * 1024))
}

/// A batch as the writer receives it: fetched, parsed, and the originals of the messages that were
/// not tracked yet written to a pack (by position in the batch).
struct Parsed {
    _held: tokio::sync::OwnedSemaphorePermit,
    cursor: Option<Cursor>,
    batch: Vec<Fetched>,
    parsed: Vec<Option<Result<ParsedEmail>>>,
    packed: Vec<Option<store::messages::Slice>>,
}

/// Parses a batch and, when it is to be applied, writes the originals of its messages that are
/// not tracked yet into one pack, synced to disk, before the writer commits the activities that
/// refer to them (the batch goes to a blocking thread and back, never copied). A message that
/// another writer tracks in between leaves a few unreferenced bytes in its pack, nothing worse.
async fn parse_and_pack(engine: &Engine, InFlight { batch, held, cursor }: InFlight, mode: Mode) -> Result<Parsed> {
    let inner = engine.inner.clone();
    tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        let parsed: Vec<Option<Result<ParsedEmail>>> = batch
            .iter()
            .map(|f| match &f.kind {
                FetchedKind::Body(b) => Some(parse::parse(b)),
                _ => None,
            })
            .collect();
        let mut packed = vec![None; batch.len()];
        if mode == Mode::Apply {
            let new: Vec<usize> = inner.store.read(|c| {
                let mut out = Vec::new();
                for (i, (f, p)) in batch.iter().zip(&parsed).enumerate() {
                    if let (FetchedKind::Body(_), Some(Ok(p))) = (&f.kind, p)
                        && store::activities::by_dedupe_key(c, ActivityDirection::Incoming, &p.dedupe_key())?.is_none()
                    {
                        out.push(i);
                    }
                }
                Ok(out)
            })?;
            let raws: Vec<&[u8]> = new
                .iter()
                .filter_map(|i| match &batch[*i].kind {
                    FetchedKind::Body(b) => Some(b.as_slice()),
                    _ => None,
                })
                .collect();
            if !raws.is_empty() {
                let slices = store::messages::write_pack(&inner.store.messages_dir(), &raws)?;
                for (i, slice) in new.into_iter().zip(slices) {
                    packed[i] = Some(slice);
                }
            }
        }
        tracing::debug!(messages = batch.len(), ms = started.elapsed().as_millis() as u64, "batch parsed");
        Ok(Parsed { _held: held, cursor, batch, parsed, packed })
    })
    .await?
}

/// Commits one batch (Apply) or evaluates it (Preview). Returns the reports, in order.
#[allow(clippy::too_many_arguments)]
async fn commit_batch(
    engine: &Engine,
    ctx: &std::sync::Arc<Ctx>,
    batch: Vec<Fetched>,
    parsed: Vec<Option<Result<ParsedEmail>>>,
    packed: Vec<Option<store::messages::Slice>>,
    mode: Mode,
    preview_keys: &mut HashSet<String>,
    cursor: Option<Cursor>,
) -> Result<Vec<ItemReport>> {
    match mode {
        Mode::Preview => {
            let ctx = ctx.clone();
            let mut keys = std::mem::take(preview_keys);
            let (reports, keys) = engine
                .read(move |c, inner| {
                    let now = inner.now();
                    let mut cache = Lookups::default();
                    let mut out = Vec::with_capacity(batch.len());
                    for (item, p) in batch.iter().zip(&parsed) {
                        let report = match (&item.kind, p) {
                            (FetchedKind::TooLarge(size), _) => {
                                ItemReport::failed(item.server_ref.clone(), &too_large(*size))
                            }
                            (FetchedKind::Body(_), Some(Err(e))) => ItemReport::failed(item.server_ref.clone(), e),
                            (FetchedKind::Body(_), Some(Ok(p))) if before_start_date(&ctx, item, p) => {
                                ItemReport::new(item.server_ref.clone(), ItemResult::PassedOver).about(p)
                            }
                            (FetchedKind::Body(_), Some(Ok(p))) => {
                                let received = item.received_on.unwrap_or(now);
                                let mut r = evaluate(c, &ctx, &mut cache, p, &item.server_ref, received, now)?.report;
                                // The same message twice in one preview: the second is a duplicate.
                                if r.result == ItemResult::Tracked && !keys.insert(p.dedupe_key()) {
                                    r.result = ItemResult::AlreadyTracked;
                                }
                                r
                            }
                            _ => ItemReport::new(item.server_ref.clone(), ItemResult::PassedOver),
                        };
                        out.push(report);
                    }
                    Ok((out, keys))
                })
                .await?;
            *preview_keys = keys;
            Ok(reports)
        }
        Mode::Apply => {
            let ctx = ctx.clone();
            engine
                .write_with(Durability::Full, move |tx, inner| {
                    let started = std::time::Instant::now();
                    let now = inner.now();
                    let mut cache = Lookups::default();
                    let items: Vec<(&Fetched, Option<&Result<ParsedEmail>>)> =
                        batch.iter().zip(parsed.iter().map(Option::as_ref)).collect();
                    let results = store::batch(tx, items.iter().copied(), |tx, (item, p)| {
                        apply_item(tx, &ctx, &mut cache, item, p, now)
                    })?;
                    // Where each tracked message's original is: in the pack written ahead, or (a
                    // message thought tracked when that pack was written) in one written now.
                    let mut late: Vec<(ActivityId, &[u8])> = Vec::new();
                    for (((item, _), r), slice) in items.iter().zip(&results).zip(&packed) {
                        let (FetchedKind::Body(raw), Ok(rep)) = (&item.kind, r) else { continue };
                        let (ItemResult::Tracked, Some(id)) = (rep.result, rep.activity_id) else { continue };
                        match slice {
                            Some(slice) => store::activities::set_raw(tx, id, slice)?,
                            None => late.push((id, raw.as_slice())),
                        }
                    }
                    if !late.is_empty() {
                        let raws: Vec<&[u8]> = late.iter().map(|(_, r)| *r).collect();
                        let slices = store::messages::write_pack(&inner.store.messages_dir(), &raws)?;
                        for ((id, _), slice) in late.iter().zip(&slices) {
                            store::activities::set_raw(tx, *id, slice)?;
                        }
                    }
                    let mut reports = Vec::with_capacity(results.len());
                    for ((item, p), r) in items.iter().zip(results) {
                        let report = match r {
                            Ok(r) => r,
                            // The message's own writes were rolled back: it is recorded as failed.
                            Err(e) if e.is_transient() => return Err(e),
                            Err(e) => {
                                let parsed = p.and_then(|p| p.as_ref().ok());
                                let o = Outcome {
                                    mailbox_id: ctx.mailbox.id,
                                    server_ref: item.server_ref.clone(),
                                    outcome: ItemOutcome::Failed,
                                    code: e.code().to_owned(),
                                    params: e.params().clone(),
                                    message_id: parsed.map(ParsedEmail::message_id_header).unwrap_or_default(),
                                    subject: parsed.map(|p| p.subject.clone()).unwrap_or_default(),
                                    moved_to_undeliverable: false,
                                    occurred_on: now,
                                };
                                store::sync_state::record_outcome(tx, &o)?;
                                tracing::warn!(code = e.code(), item = %item.server_ref, "message not tracked");
                                ItemReport::failed(item.server_ref.clone(), &e)
                            }
                        };
                        reports.push(report);
                    }
                    // The cursor and the mailbox's progress date, in the same transaction.
                    let mut state = store::sync_state::get(tx, ctx.mailbox.id)?;
                    match cursor {
                        Some(Cursor::Uid(validity, last)) => {
                            state.uid_validity = validity;
                            state.last_uid = last;
                        }
                        Some(Cursor::Server(c)) => state.server_cursor = c,
                        None => {}
                    }
                    let latest = batch
                        .iter()
                        .filter(|f| matches!(f.kind, FetchedKind::Body(_)))
                        .filter_map(|f| f.received_on)
                        .max();
                    if let Some(latest) = latest {
                        let mut m = store::mailboxes::get(tx, ctx.mailbox.id)?;
                        let admin = if m.process_email_received_after == state.process_from {
                            None
                        } else {
                            m.process_email_received_after
                        };
                        let advanced = admin.max(state.process_from).max(Some(latest));
                        if advanced != m.process_email_received_after {
                            m.process_email_received_after = advanced;
                            store::mailboxes::update(tx, &m)?;
                        }
                        state.process_from = advanced;
                    }
                    for (item, r) in batch.iter().zip(&reports) {
                        if item.server_ref.starts_with("pop3:")
                            && matches!(item.kind, FetchedKind::Body(_) | FetchedKind::TooLarge(_))
                        {
                            let uidl = item.server_ref.trim_start_matches("pop3:");
                            let tracked = matches!(r.result, ItemResult::Tracked | ItemResult::AlreadyTracked);
                            store::sync_state::pop3_mark_seen(tx, ctx.mailbox.id, uidl, tracked, now)?;
                        }
                    }
                    store::sync_state::put(tx, ctx.mailbox.id, &state)?;
                    tracing::debug!(
                        messages = reports.len(),
                        ms = started.elapsed().as_millis() as u64,
                        "batch written"
                    );
                    Ok(reports)
                })
                .await
        }
    }
}

/// Splits planned messages into batches of at most [`BATCH_BYTES`] and [`BATCH_MESSAGES`].
fn batches<T>(items: Vec<T>, size: impl Fn(&T) -> u64) -> Vec<Vec<T>> {
    let mut out: Vec<Vec<T>> = Vec::new();
    let mut current: Vec<T> = Vec::new();
    let mut bytes = 0u64;
    for item in items {
        let s = size(&item);
        if !current.is_empty() && (bytes + s > BATCH_BYTES || current.len() >= BATCH_MESSAGES) {
            out.push(std::mem::take(&mut current));
            bytes = 0;
        }
        bytes += s;
        current.push(item);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// A set of UIDs in IMAP's compact form (`3:7,9,12:13`).
pub fn uid_set(uids: &[u32]) -> String {
    let mut sorted = uids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        parts.push(if start == end { start.to_string() } else { format!("{start}:{end}") });
        i += 1;
    }
    parts.join(",")
}

/// Runs one incoming cycle of a mailbox. `progress` is told after each batch.
pub async fn run_cycle(
    engine: &Engine,
    id: MailboxId,
    options: Options,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<CycleReport> {
    let span = tracing::info_span!("mailbox", mailbox = %id, cycle = ?options.mode);
    async {
        let mode = options.mode;
        let ctx = std::sync::Arc::new(engine.read(move |c, _| load(c, id, mode)).await?);
        let _permit = engine.connection_permit(ctx.profile.id).await?;
        let mut report = CycleReport { mailbox_id: Some(id), preview: mode == Mode::Preview, ..Default::default() };
        // Recorded with the cycle's end, in the same write (a running cycle shows through its
        // lease and its schedule's start time).
        let started = engine.inner.now();
        if ctx.profile.server_type.is_exchange() {
            // Exchange Online's app, or the Exchange Server profile's service account, or the
            // mailbox's own credentials.
            let whose = if ctx.profile.server_type == crate::domain::ServerType::ExchangeOnline
                || ctx.profile.incoming_credential_mode == crate::domain::CredentialMode::Profile
            {
                CredentialSource::Profile
            } else {
                CredentialSource::Mailbox
            };
            remote::cycle(engine, &ctx, options, progress, &mut report).await.map_err(|e| {
                crate::remote::connect::forget_ews_url(engine, &ctx.profile, &ctx.mailbox, &e);
                name_credentials(e, whose, &ctx.profile)
            })?;
        } else {
            let ep = endpoint(&ctx.profile, Direction::Incoming)?;
            let client = client_for(&ctx.profile, Direction::Incoming)?;
            let (login, source) = login(engine, &ctx.profile, Some(&ctx.mailbox), Direction::Incoming).await?;
            let fail = |e: Error| refused(e, &login, source, &ctx.profile);
            match client {
                Some(IncomingProtocol::Imap) => {
                    imap_cycle(engine, &ctx, &ep, &login, options, progress, &mut report).await.map_err(fail)?
                }
                Some(IncomingProtocol::Pop3) => {
                    pop3_cycle(engine, &ctx, &ep, &login, options, progress, &mut report).await.map_err(fail)?
                }
                None => return Err(protocol::not_implemented(ctx.profile.server_type, Workload::Incoming)),
            }
        }
        if mode == Mode::Apply {
            let (processed, failed) = (report.tracked + report.already_tracked, report.failed);
            let completed = engine.inner.now();
            engine
                .write(move |tx, _| {
                    let mut s = store::sync_state::get(tx, id)?;
                    s.last_sync_started_on = Some(started);
                    s.last_sync_completed_on = Some(completed);
                    s.items_processed_last_sync = processed;
                    s.items_failed_last_sync = failed;
                    s.no_email_count = if processed == 0 { s.no_email_count.saturating_add(1) } else { 0 };
                    store::sync_state::put(tx, id, &s)
                })
                .await?;
        }
        tracing::info!(
            tracked = report.tracked,
            already = report.already_tracked,
            skipped = report.skipped,
            failed = report.failed,
            "incoming cycle ended"
        );
        Ok(report)
    }
    .instrument(span)
    .await
}

/// The consumer side of a cycle, shared by IMAP and POP3: parses and commits each batch the
/// protocol's producer fetched (one batch is fetched while the previous one is written).
async fn consume(
    engine: &Engine,
    ctx: &std::sync::Arc<Ctx>,
    mode: Mode,
    mut rx: tokio::sync::mpsc::Receiver<InFlight>,
    cursor_of: impl Fn(&[Fetched]) -> Option<Cursor>,
    progress: &(dyn Fn(Progress) + Send + Sync),
    report: &mut CycleReport,
) -> Result<()> {
    // Parsing and writing are stages of their own: batch k is written while k+1 is parsed and
    // k+2 fetched.
    let (ptx, mut prx) = tokio::sync::mpsc::channel::<Parsed>(1);
    let parser = async move {
        use futures_util::StreamExt as _;
        // Two batches are parsed at once (on blocking threads), handed on in order.
        let batches = futures_util::stream::poll_fn(|cx| rx.poll_recv(cx));
        // The originals of the messages not tracked yet go to disk here, ahead of the writer.
        let mut parsed = batches.map(|batch| parse_and_pack(engine, batch, mode)).buffered(PARSERS);
        while let Some(p) = parsed.next().await {
            if ptx.send(p?).await.is_err() {
                break;
            }
        }
        Ok::<(), Error>(())
    };
    let writer = async {
        let mut preview_keys = HashSet::new();
        while let Some(Parsed { _held, cursor, batch, parsed, mut packed }) = prx.recv().await {
            packed.resize(batch.len(), None);
            let cursor = cursor.or_else(|| cursor_of(&batch));
            let reports = commit_batch(engine, ctx, batch, parsed, packed, mode, &mut preview_keys, cursor).await?;
            for r in reports {
                report.add(r);
            }
            progress(Progress { mailbox_id: ctx.mailbox.id, done: report.done(), planned: report.planned });
        }
        Ok::<(), Error>(())
    };
    let (parsed, written) = tokio::join!(parser, writer);
    written?;
    parsed
}

async fn imap_cycle(
    engine: &Engine,
    ctx: &std::sync::Arc<Ctx>,
    ep: &protocol::Endpoint,
    login: &protocol::Login,
    options: Options,
    progress: &(dyn Fn(Progress) + Send + Sync),
    report: &mut CycleReport,
) -> Result<()> {
    let mut session = protocol::imap::sign_in(ep, login, &mut Unobserved).await?;
    let condstore = session.capabilities().has("CONDSTORE");
    if condstore {
        session.enable("CONDSTORE").await?;
    }
    let folder = match options.mode {
        Mode::Apply => session.select("INBOX").await?,
        Mode::Preview => session.examine("INBOX").await?,
    };
    let inbox = plan::InboxStatus {
        exists: folder.exists,
        uid_validity: folder.uid_validity,
        uid_next: folder.uid_next,
        highest_modseq: folder.highest_modseq,
    };
    let start = plan::imap_start(&ctx.state, &inbox, ctx.dates);
    report.rescan = start.rescan;
    let mut listed = Vec::new();
    if let Listing::From(from) = start.listing {
        session
            .uid_fetch(&format!("{from}:*"), false, |m| {
                listed.push(Listed {
                    uid: m.uid,
                    size: u64::from(m.size.unwrap_or(0)),
                    internal_date: m.internal_date,
                });
                Ok(())
            })
            .await?;
    }
    let steps = plan::plan_imap(start.last_uid, &listed, ctx.dates.filter_from, options.max_messages);
    // Whether the plan covers every message listed, or a cap left some for the next cycle.
    let covers_all = steps.len() == listed.iter().filter(|l| l.uid > start.last_uid).count();
    report.planned = steps.len() as u32;
    let validity = inbox.uid_validity;
    let server_ref = |uid: u32| format!("imap:{}:{uid}", validity.unwrap_or(0));
    let by_uid: HashMap<u32, Step> = steps.iter().map(|s| (s.uid(), *s)).collect();
    let planned: Vec<Vec<u32>> = batches(steps, |s| match s {
        Step::Fetch(l) => l.size.max(1),
        _ => 1,
    })
    .into_iter()
    .map(|b| b.iter().map(Step::uid).collect())
    .collect();
    let complete_uid = planned.last().and_then(|b| b.last().copied());
    let (tx, rx) = tokio::sync::mpsc::channel::<InFlight>(1);
    let shutdown = engine.shutdown_token().clone();
    let budget = in_flight_budget();
    let (produced, consumed) = {
        let session = &mut session;
        let by_uid = &by_uid;
        let producer = async move {
            for uids in planned {
                if shutdown.is_cancelled() {
                    return Ok::<bool, Error>(true);
                }
                let wanted: Vec<u32> =
                    uids.iter().copied().filter(|u| matches!(by_uid.get(u), Some(Step::Fetch(_)))).collect();
                let bytes = wanted
                    .iter()
                    .map(|u| match by_uid.get(u) {
                        Some(Step::Fetch(l)) => l.size,
                        _ => 0,
                    })
                    .sum();
                let held = reserve(&budget, bytes).await?;
                let mut bodies: HashMap<u32, Vec<u8>> = HashMap::with_capacity(wanted.len());
                let fetch_started = std::time::Instant::now();
                if !wanted.is_empty() {
                    session
                        .uid_fetch(&uid_set(&wanted), true, |m| {
                            bodies.insert(m.uid, m.body.unwrap_or_default());
                            Ok(())
                        })
                        .await?;
                }
                tracing::debug!(
                    messages = wanted.len(),
                    ms = fetch_started.elapsed().as_millis() as u64,
                    "batch fetched"
                );
                let batch = uids
                    .iter()
                    .map(|uid| {
                        let step = by_uid.get(uid);
                        let listed_date = match step {
                            Some(Step::Fetch(l) | Step::TooLarge(l) | Step::BeforeStartDate(l)) => l.internal_date,
                            None => None,
                        };
                        let (kind, date) = match step {
                            Some(Step::TooLarge(l)) => (FetchedKind::TooLarge(l.size), listed_date),
                            Some(Step::BeforeStartDate(_)) => (FetchedKind::BeforeStartDate, listed_date),
                            _ => match bodies.remove(uid) {
                                Some(body) => (FetchedKind::Body(body), listed_date),
                                None => (FetchedKind::Vanished, listed_date),
                            },
                        };
                        Fetched { server_ref: server_ref(*uid), uid: *uid, received_on: date, kind }
                    })
                    .collect();
                if tx.send(InFlight { batch, held, cursor: None }).await.is_err() {
                    break;
                }
            }
            Ok(false)
        };
        let cursor_of = move |b: &[Fetched]| b.last().map(|f| Cursor::Uid(validity, f.uid));
        let consumer = consume(engine, ctx, options.mode, rx, cursor_of, progress, report);
        tokio::join!(producer, consumer)
    };
    consumed?;
    report.interrupted = produced?;
    if options.mode == Mode::Apply {
        // The Inbox's state once everything planned is committed: a later cycle that sees the
        // same HIGHESTMODSEQ or UIDNEXT lists nothing. Not written when the cycle stopped early
        // or left messages for the next one. Nothing on the server depends on it (a state lost
        // with a power cut makes the next cycle list again, and dedupe keeps that harmless), so
        // it is not synced to disk: an idle cycle costs no fsync.
        let whole = !report.interrupted && covers_all;
        let id = ctx.mailbox.id;
        // Nothing planned and the Inbox as it was: the state stands as written (an idle cycle).
        let unchanged = report.planned == 0
            && start.rescan.is_none()
            && ctx.state.uid_validity == validity
            && (!whole || (ctx.state.uid_next == inbox.uid_next && ctx.state.highest_modseq == inbox.highest_modseq));
        if !unchanged {
            engine
                .write(move |tx, _| {
                    let mut s = store::sync_state::get(tx, id)?;
                    s.uid_validity = validity;
                    if start.rescan.is_some() && complete_uid.is_none() {
                        s.last_uid = 0;
                    }
                    if whole {
                        s.uid_next = inbox.uid_next;
                        s.highest_modseq = inbox.highest_modseq;
                    }
                    store::sync_state::put(tx, id, &s)
                })
                .await?;
        }
        if ctx.profile.move_failed_to_undeliverable {
            report.moved_to_undeliverable = move_failed(engine, ctx, &mut session, validity).await?;
        }
    }
    let _ = session.logout().await;
    Ok(())
}

/// The server references (starting with `prefix`) of a mailbox's messages that could not be
/// tracked and are not in the Undeliverable folder yet.
async fn failed_not_moved(engine: &Engine, id: MailboxId, prefix: &str) -> Result<Vec<String>> {
    let prefix = prefix.to_owned();
    engine
        .read(move |c, _| {
            Ok(store::sync_state::outcomes(c, Some(id), 10_000)?
                .into_iter()
                .filter(|o| o.outcome == ItemOutcome::Failed && !o.moved_to_undeliverable)
                .map(|o| o.server_ref)
                .filter(|r| r.starts_with(&prefix))
                .collect())
        })
        .await
}

/// Moves the messages whose activity could not be created to the Undeliverable folder (created
/// if missing), then records that they were moved. Failures of earlier cycles that were not
/// moved (the process stopped first) are moved too.
async fn move_failed(
    engine: &Engine,
    ctx: &Ctx,
    session: &mut protocol::imap::ImapSession,
    validity: Option<u32>,
) -> Result<u32> {
    let id = ctx.mailbox.id;
    let prefix = format!("imap:{}:", validity.unwrap_or(0));
    let pending = failed_not_moved(engine, id, &prefix).await?;
    let uids: Vec<u32> =
        pending.iter().filter_map(|r| r.strip_prefix(&prefix)).filter_map(|u| u.parse().ok()).collect();
    if uids.is_empty() {
        return Ok(0);
    }
    session.ensure_folder(UNDELIVERABLE_FOLDER).await?;
    session.uid_move(&uid_set(&uids), UNDELIVERABLE_FOLDER).await?;
    let moved: Vec<String> = uids.iter().map(|u| format!("{prefix}{u}")).collect();
    let n = moved.len() as u32;
    engine.write(move |tx, _| store::sync_state::mark_moved(tx, id, &moved)).await?;
    tracing::info!(moved = n, "failed messages moved to {UNDELIVERABLE_FOLDER}");
    Ok(n)
}

async fn pop3_cycle(
    engine: &Engine,
    ctx: &std::sync::Arc<Ctx>,
    ep: &protocol::Endpoint,
    login: &protocol::Login,
    options: Options,
    progress: &(dyn Fn(Progress) + Send + Sync),
    report: &mut CycleReport,
) -> Result<()> {
    let mut session = protocol::pop3::sign_in(ep, login, &mut Unobserved).await?;
    let uidls = session.uidl().await?;
    let sizes: HashMap<u32, u64> = session.list().await?.into_iter().collect();
    let listed: Vec<Pop3Listed> = uidls
        .into_iter()
        .map(|(number, uidl)| Pop3Listed { number, size: sizes.get(&number).copied().unwrap_or(0), uidl })
        .collect();
    let id = ctx.mailbox.id;
    let seen = engine.read(move |c, _| store::sync_state::pop3_seen(c, id)).await?;
    let plan = plan::plan_pop3(&seen, &listed, ctx.delete_after, options.max_messages);
    let mut numbered: HashMap<u32, (String, Option<u64>)> = HashMap::new();
    let mut order: Vec<(u32, u64)> = Vec::new();
    for l in &plan.too_large {
        numbered.insert(l.number, (l.uidl.clone(), Some(l.size)));
        order.push((l.number, 1));
    }
    for l in &plan.fetch {
        numbered.insert(l.number, (l.uidl.clone(), None));
        order.push((l.number, l.size.max(1)));
    }
    report.planned = order.len() as u32;
    let planned: Vec<Vec<u32>> =
        batches(order, |(_, s)| *s).into_iter().map(|b| b.into_iter().map(|(n, _)| n).collect()).collect();
    let (tx, rx) = tokio::sync::mpsc::channel::<InFlight>(1);
    let shutdown = engine.shutdown_token().clone();
    let budget = in_flight_budget();
    let (produced, consumed) = {
        let session = &mut session;
        let numbered = &numbered;
        let producer = async move {
            for numbers in planned {
                if shutdown.is_cancelled() {
                    return Ok::<bool, Error>(true);
                }
                let bytes = numbers
                    .iter()
                    .filter(|n| matches!(numbered.get(n), Some((_, None))))
                    .map(|n| sizes.get(n).copied().unwrap_or(0))
                    .sum();
                let held = reserve(&budget, bytes).await?;
                let mut batch = Vec::with_capacity(numbers.len());
                for n in numbers {
                    let Some((uidl, too_large)) = numbered.get(&n) else { continue };
                    let kind = match too_large {
                        Some(size) => FetchedKind::TooLarge(*size),
                        None => {
                            let mut body = Vec::new();
                            session
                                .retr(n, |chunk| {
                                    body.extend_from_slice(chunk);
                                    Ok(())
                                })
                                .await?;
                            FetchedKind::Body(body)
                        }
                    };
                    batch.push(Fetched { server_ref: format!("pop3:{uidl}"), uid: n, received_on: None, kind });
                }
                if tx.send(InFlight { batch, held, cursor: None }).await.is_err() {
                    break;
                }
            }
            Ok(false)
        };
        let consumer = consume(engine, ctx, options.mode, rx, |_| None, progress, report);
        tokio::join!(producer, consumer)
    };
    consumed?;
    report.interrupted = produced?;
    if options.mode == Mode::Apply {
        // Acknowledge: delete what is committed (this cycle's tracked messages, and earlier ones a
        // QUIT never confirmed), forget what left the server.
        let tracked: HashSet<&str> = report.acknowledgeable.iter().map(|r| r.trim_start_matches("pop3:")).collect();
        let mut deleted = 0u32;
        if ctx.delete_after {
            // Only messages with an activity leave the server; the plan's are those an earlier
            // cycle committed as tracked and whose QUIT never came.
            for l in plan.delete.iter().chain(plan.fetch.iter().filter(|l| tracked.contains(l.uidl.as_str()))) {
                session.dele(l.number).await?;
                deleted += 1;
            }
        }
        let forget = plan.forget.clone();
        if !forget.is_empty() {
            let id = ctx.mailbox.id;
            engine.write(move |tx, _| store::sync_state::pop3_forget(tx, id, &forget)).await?;
        }
        session.quit().await?;
        report.deleted_from_server = deleted;
    } else {
        let _ = session.quit().await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_sets_are_compact() {
        assert_eq!(uid_set(&[7, 3, 4, 5, 9, 12, 13]), "3:5,7,9,12:13");
        assert_eq!(uid_set(&[1]), "1");
        assert_eq!(uid_set(&[]), "");
    }

    #[test]
    fn batches_are_bounded_by_bytes_and_count() {
        let b = batches(vec![BATCH_BYTES / 2, BATCH_BYTES / 2, 1, BATCH_BYTES * 3, 5], |s| *s);
        assert_eq!(
            b.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![2, 1, 1, 1],
            "a message larger than a batch is a batch"
        );
        let many = batches((0..(BATCH_MESSAGES * 2 + 1)).map(|_| 1u64).collect(), |s| *s);
        assert_eq!(many.iter().map(Vec::len).collect::<Vec<_>>(), vec![BATCH_MESSAGES, BATCH_MESSAGES, 1]);
    }
}
