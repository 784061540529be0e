//! Writing and sending email (spec §3.12): Send puts an email in the outbox (Pending Send), with
//! its message built and kept; an outgoing cycle sends it. The Outbox lists what waits, is being
//! sent, or failed, with the reason; Retry puts a failed email back.

use super::EmailActivityDetail;
use super::wire::{self, Wire};
use crate::domain::rules::Workload;
use crate::domain::rules::outgoing::{subject_with_token, tracking_token};
use crate::domain::{
    self, ActivityDirection, ActivityId, Attachment, CorrelationMethod, EmailActivity, EmailEntity, EmailStatus,
    MailboxId, Party, PartyRole, RecordRef,
};
use crate::store;
use crate::sync::inbound::resolve;
use crate::sync::outbound::{self, Composed, NewAttachment};
use crate::{Engine, Error, ErrorDto, Lang, Result};
use rusqlite::Transaction;
use serde::{Deserialize, Serialize};

/// A recipient of an email being written: a record (its address is the record's), or an
/// address (resolved to the records that have it, as incoming email is).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(deny_unknown_fields)]
pub struct Recipient {
    #[serde(default)]
    pub record: Option<wire::RecordRef>,
    #[serde(default)]
    pub address: Option<String>,
}

/// A file attached to an email being written.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(deny_unknown_fields)]
pub struct OutgoingAttachment {
    pub file_name: String,
    #[serde(default)]
    pub mime_type: String,
    /// The file's bytes, base64.
    pub content_base64: String,
}

/// An email to send.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(deny_unknown_fields)]
pub struct SendEmail {
    /// The mailbox (a user's or a queue's) it is sent from.
    pub from_mailbox_id: wire::MailboxId,
    #[serde(default)]
    pub to: Vec<Recipient>,
    #[serde(default)]
    pub cc: Vec<Recipient>,
    #[serde(default)]
    pub bcc: Vec<Recipient>,
    pub subject: String,
    #[serde(default)]
    pub body_text: String,
    #[serde(default)]
    pub body_html: String,
    #[serde(default)]
    pub attachments: Vec<OutgoingAttachment>,
    #[serde(default)]
    pub regarding: Option<wire::RecordRef>,
    /// Send Later: not before this time.
    #[serde(default)]
    pub send_after: Option<domain::Timestamp>,
    /// The tracked email this one answers (threading headers, correlation, regarding).
    #[serde(default)]
    pub in_reply_to: Option<wire::ActivityId>,
}

/// The address a record receives email at.
fn address_of(tx: &Transaction<'_>, r: RecordRef) -> Result<String> {
    let addr = match r.entity {
        EmailEntity::User => store::principals::user(tx, domain::UserId(r.id))?.primary_email,
        EmailEntity::Queue => store::principals::queue(tx, domain::QueueId(r.id))?.email_address,
        EmailEntity::Contact => {
            let c: domain::Contact = store::records::get(tx, domain::ContactId(r.id))?;
            [c.email_address_1, c.email_address_2, c.email_address_3]
                .into_iter()
                .find(|a| !a.trim().is_empty())
                .unwrap_or_default()
        }
        EmailEntity::Account => {
            let a: domain::Account = store::records::get(tx, domain::AccountId(r.id))?;
            [a.email_address_1, a.email_address_2, a.email_address_3]
                .into_iter()
                .find(|a| !a.trim().is_empty())
                .unwrap_or_default()
        }
        EmailEntity::Lead => {
            let l: domain::Lead = store::records::get(tx, domain::LeadId(r.id))?;
            [l.email_address_1, l.email_address_2, l.email_address_3]
                .into_iter()
                .find(|a| !a.trim().is_empty())
                .unwrap_or_default()
        }
    };
    if addr.trim().is_empty() {
        return Err(Error::validation("email.recipient.no_address").param("entity", r.entity).param("id", r.id));
    }
    Ok(addr.trim().to_owned())
}

/// The parties of one header of an email being written, and their addresses.
fn recipients(
    tx: &Transaction<'_>,
    role: PartyRole,
    list: &[Recipient],
    allow_unresolved: bool,
    parties: &mut Vec<Party>,
) -> Result<Vec<String>> {
    let mut addresses = Vec::new();
    for (position, r) in list.iter().enumerate() {
        let base = Party {
            role,
            position: position as u32,
            address: String::new(),
            display_name: String::new(),
            record: None,
        };
        match (&r.record, r.address.as_deref().map(str::trim).filter(|a| !a.is_empty())) {
            (Some(rec), _) => {
                let rec: RecordRef = rec.clone().wire();
                let address = address_of(tx, rec)?;
                parties.push(Party { address: address.clone(), record: Some(rec), ..base });
                addresses.push(address);
            }
            (None, Some(address)) => {
                if !crate::domain::rules::is_valid_email(address) {
                    return Err(Error::validation("field.not_an_email")
                        .param("field", role.code())
                        .param("value", address));
                }
                let found: Vec<resolve::Candidate> = store::addresses::lookup(tx, address, 101)?
                    .into_iter()
                    .map(|m| resolve::Candidate {
                        entity: m.entity,
                        id: m.record_id,
                        active: m.state == domain::RecordState::Active,
                        owner: m.owner_user_id,
                    })
                    .collect();
                let records = resolve::resolve_recipient(&found, false);
                if records.is_empty() {
                    if !allow_unresolved {
                        return Err(Error::validation("email.recipient.unresolved").param("address", address));
                    }
                    parties.push(Party { address: address.to_owned(), ..base });
                } else {
                    parties.extend(records.iter().map(|c| Party {
                        address: address.to_owned(),
                        record: Some(RecordRef::new(c.entity, c.id)),
                        ..base.clone()
                    }));
                }
                addresses.push(address.to_owned());
            }
            (None, None) => return Err(Error::validation("email.recipient.empty").param("field", role.code())),
        }
    }
    Ok(addresses)
}

/// Send: checks and writes an email as Pending Send, its message built (Message-ID, tracking
/// token) and kept; an outgoing cycle of its mailbox sends it. Refused whole when a recipient, an
/// attachment or the sender is not acceptable.
pub async fn send_email(engine: &Engine, req: SendEmail) -> Result<EmailActivityDetail> {
    use base64::Engine as _;
    let mut attachments = Vec::with_capacity(req.attachments.len());
    for a in &req.attachments {
        let content = base64::engine::general_purpose::STANDARD
            .decode(a.content_base64.trim())
            .map_err(|_| Error::validation("attachment.unreadable").param("file", &a.file_name))?;
        let mime = if a.mime_type.trim().is_empty() {
            "application/octet-stream".to_owned()
        } else {
            a.mime_type.trim().to_owned()
        };
        attachments.push(NewAttachment { file_name: a.file_name.trim().to_owned(), mime_type: mime, content });
    }
    let id = engine
        .write(move |tx, inner| {
            let now = inner.now();
            let settings = store::settings::get(tx)?;
            let mailbox = store::mailboxes::get(tx, req.from_mailbox_id.into())?;
            let from_record = match (mailbox.user_id, mailbox.queue_id) {
                (Some(u), _) => RecordRef::new(EmailEntity::User, u.0),
                (None, Some(q)) => RecordRef::new(EmailEntity::Queue, q.0),
                _ => return Err(Error::validation("email.from.not_allowed").param("mailbox", &mailbox.name)),
            };
            let subject = req.subject.trim();
            if subject.is_empty() {
                return Err(Error::validation("field.required").param("field", "subject"));
            }
            for a in &attachments {
                if a.file_name.is_empty() {
                    return Err(Error::validation("field.required").param("field", "file_name"));
                }
                if settings.is_blocked_attachment(&a.file_name) {
                    return Err(Error::validation("attachment.blocked").param("file", &a.file_name));
                }
                if a.content.len() as u64 > u64::from(settings.max_attachment_size_kb) * 1024 {
                    return Err(Error::validation("attachment.too_large")
                        .param("file", &a.file_name)
                        .param("max_kb", settings.max_attachment_size_kb));
                }
            }
            let mut parties = vec![Party {
                role: PartyRole::From,
                position: 0,
                address: mailbox.email_address.trim().to_owned(),
                display_name: mailbox.name.clone(),
                record: Some(from_record),
            }];
            let allow = settings.allow_unresolved_recipients_on_send;
            let to = recipients(tx, PartyRole::To, &req.to, allow, &mut parties)?;
            let cc = recipients(tx, PartyRole::Cc, &req.cc, allow, &mut parties)?;
            let bcc = recipients(tx, PartyRole::Bcc, &req.bcc, allow, &mut parties)?;
            if to.is_empty() && cc.is_empty() && bcc.is_empty() {
                return Err(Error::validation("email.recipient.none"));
            }
            let parent = req.in_reply_to.map(|p| store::activities::get(tx, p.into())).transpose()?;
            let token = if settings.use_tracking_tokens {
                let user_number = mailbox.owner_user_id.map_or(0, |u| u.0.max(0) as u64);
                Some(tracking_token(&settings, user_number, store::outbox::next_tracking_counter(tx, user_number)?))
            } else {
                None
            };
            let subject = subject_with_token(subject, token.as_deref());
            let domain_part = mailbox.email_address.rsplit_once('@').map(|(_, d)| d.to_owned()).unwrap_or_default();
            let message_id = crate::protocol::smtp::new_message_id(&domain_part);
            let references: Vec<String> = parent
                .as_ref()
                .map(|p| {
                    let mut r: Vec<String> = p.references_ids.split_whitespace().map(str::to_owned).collect();
                    if !p.message_id.is_empty() {
                        r.push(p.message_id.clone());
                    }
                    r
                })
                .unwrap_or_default();
            let composed = Composed {
                from_name: mailbox.name.clone(),
                from_address: mailbox.email_address.trim().to_owned(),
                to,
                cc,
                message_id: message_id.clone(),
                subject: subject.clone(),
                body_text: req.body_text.clone(),
                body_html: req.body_html.clone(),
                in_reply_to: parent.as_ref().map(|p| p.message_id.clone()).filter(|m| !m.is_empty()),
                references: references.clone(),
                attachments,
            };
            let raw = outbound::compose(&composed)?;
            // What the engine reads back of its own message: the attachments' places and the text.
            let parsed = crate::sync::inbound::parse::parse(&raw)?;
            let regarding = match req.regarding {
                Some(r) => Some(r.wire()),
                None => parent.as_ref().and_then(|p| p.regarding),
            };
            let activity = EmailActivity {
                subject,
                body_text: parsed.text.clone(),
                body_html: req.body_html.clone(),
                sender: mailbox.email_address.trim().to_owned(),
                message_id: message_id.clone(),
                dedupe_key: crate::sync::inbound::parse::bare_id(&message_id).to_owned(),
                in_reply_to: composed.in_reply_to.clone().unwrap_or_default(),
                references_ids: references.join(" "),
                tracking_token: token.unwrap_or_default(),
                correlation_method: if parent.is_some() {
                    CorrelationMethod::InReplyTo
                } else {
                    CorrelationMethod::None
                },
                correlated_activity_id: parent.as_ref().map(|p| p.id),
                parent_activity_id: parent.as_ref().map(|p| p.id),
                regarding,
                owner_user_id: mailbox.owner_user_id,
                size_bytes: raw.len() as u64,
                sender_mailbox_id: Some(mailbox.id),
                send_after: req.send_after,
                ..EmailActivity::blank(ActivityDirection::Outgoing, EmailStatus::PendingSend, now)
            };
            let attachments: Vec<Attachment> = parsed
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
                    not_saved: None,
                })
                .collect();
            let slice = store::messages::write_pack(&inner.store.messages_dir(), &[&raw])?
                .pop()
                .ok_or_else(|| Error::internal("no pack slice"))?;
            let id = store::activities::insert(
                tx,
                store::activities::NewEmail {
                    activity: &activity,
                    parties: &parties,
                    attachments: &attachments,
                    queue_items: &[],
                },
            )?;
            store::activities::set_raw(tx, id, &slice)?;
            // The sender's outgoing workload runs as soon as the email may leave.
            let leaves = req.send_after.map_or(now, |t| t.max(now));
            store::schedule::run_soon(tx, mailbox.id, Workload::Outgoing, leaves)?;
            Ok(id)
        })
        .await?;
    engine.wake_scheduler();
    super::get_email_activity(engine, id.into()).await
}

/// One row of the Outbox.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct OutboxRow {
    pub id: wire::ActivityId,
    pub subject: String,
    pub sender_mailbox_id: Option<wire::MailboxId>,
    pub sender_mailbox_name: String,
    pub to: String,
    pub status: wire::EmailStatus,
    pub delivery_attempts: u32,
    pub send_after: Option<domain::Timestamp>,
    pub created_on: domain::Timestamp,
    /// Why it waits or failed: a message code and its parameters.
    pub last_error_code: String,
    pub last_error_params: std::collections::BTreeMap<String, String>,
    pub possible_duplicate: bool,
}

/// The Outbox: emails waiting (Pending Send), being sent, or failed, newest first.
pub async fn list_outbox(engine: &Engine, status: Option<wire::EmailStatus>, limit: u32) -> Result<Vec<OutboxRow>> {
    let status = status.map(Into::into);
    let rows = engine.read(move |c, _| store::outbox::list(c, status, 0, limit)).await?;
    Ok(rows.into_iter().map(outbox_row).collect())
}

/// How many emails are in each tab of the Outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct OutboxCounts {
    pub pending_send: u64,
    pub sending: u64,
    pub failed: u64,
}

/// A page of the Outbox grid, with the count of each tab read in the same moment.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct OutboxPage {
    pub rows: Vec<OutboxRow>,
    /// The emails of the status asked for, in all.
    pub total: u64,
    pub counts: OutboxCounts,
}

/// The Outbox grid: the emails of `status`, newest first, `limit` of them from `offset`.
pub async fn list_outbox_page(
    engine: &Engine,
    status: Option<wire::EmailStatus>,
    offset: u32,
    limit: u32,
) -> Result<OutboxPage> {
    let status = status.map(Into::into);
    let limit = limit.clamp(1, 1000);
    let (rows, counts) = engine
        .read(move |c, _| Ok((store::outbox::list(c, status, offset, limit)?, store::outbox::counts(c)?)))
        .await?;
    Ok(OutboxPage {
        rows: rows.into_iter().map(outbox_row).collect(),
        total: counts.of(status),
        counts: OutboxCounts { pending_send: counts.pending_send, sending: counts.sending, failed: counts.failed },
    })
}

fn outbox_row(r: store::outbox::OutboxRow) -> OutboxRow {
    OutboxRow {
        id: r.id.into(),
        subject: r.subject,
        sender_mailbox_id: r.sender_mailbox_id.wire(),
        sender_mailbox_name: r.sender_mailbox_name,
        to: r.to,
        status: r.status.into(),
        delivery_attempts: r.delivery_attempts,
        send_after: r.send_after,
        created_on: r.created_on,
        last_error_code: r.last_error_code,
        last_error_params: r.last_error_params,
        possible_duplicate: r.possible_duplicate,
    }
}

/// Retry: a failed email goes back to Pending Send, its attempts counted anew.
pub async fn retry_email(engine: &Engine, id: wire::ActivityId) -> Result<EmailActivityDetail> {
    let aid = ActivityId::from(id);
    let retried = engine
        .write(move |tx, ctx| {
            let retried = store::outbox::retry(tx, aid)?;
            if retried && let Some(m) = store::activities::get(tx, aid)?.sender_mailbox_id {
                store::schedule::run_soon(tx, m, Workload::Outgoing, ctx.now())?;
            }
            Ok(retried)
        })
        .await?;
    if !retried {
        return Err(Error::validation("email.retry.not_failed"));
    }
    engine.wake_scheduler();
    super::get_email_activity(engine, id).await
}

/// What an outgoing cycle of a mailbox did, or why it could not run.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MailboxSend {
    pub mailbox_id: wire::MailboxId,
    pub sent: u32,
    pub found_sent: u32,
    pub failed: u32,
    pub retried_later: u32,
    pub possible_duplicates: u32,
    pub copied_to_sent: u32,
    pub error: Option<ErrorDto>,
}

/// Send now: one outgoing cycle of each mailbox, one after the other.
pub async fn send_pending(engine: &Engine, ids: Vec<wire::MailboxId>, lang: Lang) -> Result<Vec<MailboxSend>> {
    super::non_empty(&ids)?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let mailbox = MailboxId::from(id);
        let cycle = outbound::run_outgoing(engine, mailbox, outbound::MAX_PER_CYCLE);
        let r = crate::sync::scheduler::with_lease(engine, mailbox, Workload::Outgoing, cycle).await;
        let (report, error) = match r {
            Ok(rep) => (rep, None),
            Err(e) => (Default::default(), Some(e.to_dto(lang))),
        };
        out.push(MailboxSend {
            mailbox_id: id,
            sent: report.sent,
            found_sent: report.found_sent,
            failed: report.failed,
            retried_later: report.retried_later,
            possible_duplicates: report.possible_duplicates,
            copied_to_sent: report.copied_to_sent,
            error,
        });
    }
    Ok(out)
}
