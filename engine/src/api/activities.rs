//! Email activities: the grid, the detail (with its HTML body sanitised), the original message
//! and its attachments, and the regarding record.

use super::wire::{self, Wire};
use crate::domain::{self, ActivityId, EmailEntity, RecordRef};
use crate::store;
use crate::store::activities::ActivityFilter;
use crate::{Engine, Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the Email Activities grid filters on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(deny_unknown_fields, default)]
pub struct EmailActivityFilter {
    /// Emails that arrived in this mailbox (as first or later receiver).
    pub mailbox_id: Option<wire::MailboxId>,
    pub direction: Option<wire::ActivityDirection>,
    pub correlation_method: Option<wire::CorrelationMethod>,
    /// Text in the subject or the sender's address.
    pub search: Option<String>,
    pub received_from: Option<domain::Timestamp>,
    pub received_to: Option<domain::Timestamp>,
}

/// A page of the grid.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct EmailActivityPage {
    pub rows: Vec<wire::EmailActivityRow>,
    /// Rows matching the filter in all.
    pub total: u64,
}

/// The grid: newest first, `limit` rows from `offset`.
pub async fn list_email_activities(
    engine: &Engine,
    filter: EmailActivityFilter,
    offset: u32,
    limit: u32,
) -> Result<EmailActivityPage> {
    let f = ActivityFilter {
        mailbox: filter.mailbox_id.wire(),
        direction: filter.direction.map(Into::into),
        correlation: filter.correlation_method.map(Into::into),
        search: filter.search,
        received_from: filter.received_from,
        received_to: filter.received_to,
    };
    let (rows, total) = engine.read(move |c, _| store::activities::list(c, &f, offset, limit)).await?;
    Ok(EmailActivityPage { rows: rows.wire(), total })
}

/// A party with the name of the record it resolved to.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PartyView {
    #[serde(flatten)]
    pub party: wire::Party,
    /// The record's name ("" when unresolved).
    pub record_name: String,
}

/// A mailbox that received an email.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Receipt {
    pub mailbox_id: wire::MailboxId,
    pub mailbox_name: String,
    pub received_on: domain::Timestamp,
}

/// An email activity as the detail view shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct EmailActivityDetail {
    pub id: wire::ActivityId,
    pub subject: String,
    pub body_text: String,
    /// The HTML body, sanitised: no script, no event handler, no remote resource, no style
    /// sheet, links without `javascript:`. Shown in a sandboxed frame under a CSP that allows no
    /// script and no remote load, so a message that slips past the sanitiser still runs nothing.
    pub body_html_safe: String,
    pub sender: String,
    pub direction: wire::ActivityDirection,
    pub status: wire::EmailStatus,
    pub message_id: String,
    pub in_reply_to: String,
    pub references_ids: String,
    pub conversation_index: String,
    pub tracking_token: String,
    pub correlation_method: wire::CorrelationMethod,
    pub correlated_activity_id: Option<wire::ActivityId>,
    pub correlated_subject: String,
    pub parent_activity_id: Option<wire::ActivityId>,
    pub regarding: Option<wire::RecordRef>,
    pub regarding_name: String,
    pub receiving_mailbox_id: Option<wire::MailboxId>,
    pub accepting: Option<wire::RecordRef>,
    pub accepting_name: String,
    pub accepting_filter: Option<wire::FilteringMethod>,
    pub owner_user_id: Option<wire::UserId>,
    pub owner_name: String,
    pub size_bytes: u64,
    pub notifications: wire::EmailNotification,
    pub internet_headers: Option<String>,
    pub sent_on: Option<domain::Timestamp>,
    pub received_on: domain::Timestamp,
    pub created_on: domain::Timestamp,
    pub parties: Vec<PartyView>,
    pub attachments: Vec<wire::Attachment>,
    pub receipts: Vec<Receipt>,
    /// Queues the email is a queue item of.
    pub queue_ids: Vec<wire::QueueId>,
}

/// The HTML of a received email made safe to show: ammonia's allow-list (no script, no event
/// handler, no `<style>`, no `javascript:`), no `style` attribute (CSS `url()`), and images only
/// from `cid:` and `data:` (no remote load, no tracking pixel). Links open nothing by themselves.
pub fn sanitize_html(html: &str) -> String {
    let mut b = ammonia::Builder::default();
    b.url_schemes(["http", "https", "mailto", "cid", "data"].into_iter().collect())
        .url_relative(ammonia::UrlRelative::Deny)
        .link_rel(Some("noopener noreferrer nofollow"))
        .attribute_filter(|element, attribute, value| match (element, attribute) {
            // An image may only show what the message itself carries.
            ("img", "src") => {
                let v = value.trim_start().to_ascii_lowercase();
                (v.starts_with("cid:") || v.starts_with("data:image/")).then(|| value.into())
            }
            // data: only ever for images.
            (_, "href") if value.trim_start().to_ascii_lowercase().starts_with("data:") => None,
            (_, "srcset" | "background" | "style" | "poster" | "formaction") => None,
            _ => Some(value.into()),
        });
    b.clean(html).to_string()
}

/// One email with its parties, attachments and receipts; its HTML sanitised.
pub async fn get_email_activity(engine: &Engine, id: wire::ActivityId) -> Result<EmailActivityDetail> {
    let id = ActivityId::from(id);
    engine
        .read(move |c, _| {
            let a = store::activities::get(c, id)?;
            let parties = store::activities::parties(c, id)?;
            let mut refs: Vec<RecordRef> = parties.iter().filter_map(|p| p.record).collect();
            refs.extend(a.regarding);
            refs.extend(a.accepting);
            if let Some(o) = a.owner_user_id {
                refs.push(RecordRef::new(EmailEntity::User, o.0));
            }
            let names = store::activities::record_names(c, &refs)?;
            let name = |r: Option<RecordRef>| r.and_then(|r| names.get(&r).cloned()).unwrap_or_default();
            let mailbox_names: BTreeMap<domain::MailboxId, String> = store::activities::receipts(c, id)?
                .into_iter()
                .map(|(m, _)| Ok((m, store::mailboxes::get(c, m).map(|m| m.name).unwrap_or_default())))
                .collect::<Result<_>>()?;
            let receipts = store::activities::receipts(c, id)?
                .into_iter()
                .map(|(m, at)| Receipt {
                    mailbox_id: m.into(),
                    mailbox_name: mailbox_names.get(&m).cloned().unwrap_or_default(),
                    received_on: at,
                })
                .collect();
            let correlated_subject = match a.correlated_activity_id {
                Some(other) => store::activities::get(c, other).map(|o| o.subject).unwrap_or_default(),
                None => String::new(),
            };
            Ok(EmailActivityDetail {
                id: a.id.into(),
                body_html_safe: sanitize_html(&a.body_html),
                regarding_name: name(a.regarding),
                accepting_name: name(a.accepting),
                owner_name: name(a.owner_user_id.map(|o| RecordRef::new(EmailEntity::User, o.0))),
                parties: parties
                    .into_iter()
                    .map(|p| PartyView { record_name: name(p.record), party: p.into() })
                    .collect(),
                attachments: store::activities::attachments(c, id)?.wire(),
                receipts,
                queue_ids: store::activities::queue_items(c, id)?.wire(),
                subject: a.subject,
                body_text: a.body_text,
                sender: a.sender,
                direction: a.direction.into(),
                status: a.status.into(),
                message_id: a.message_id,
                in_reply_to: a.in_reply_to,
                references_ids: a.references_ids,
                conversation_index: a.conversation_index,
                tracking_token: a.tracking_token,
                correlation_method: a.correlation_method.into(),
                correlated_activity_id: a.correlated_activity_id.wire(),
                correlated_subject,
                parent_activity_id: a.parent_activity_id.wire(),
                regarding: a.regarding.wire(),
                receiving_mailbox_id: a.receiving_mailbox_id.wire(),
                accepting: a.accepting.wire(),
                accepting_filter: a.accepting_filter.wire(),
                owner_user_id: a.owner_user_id.wire(),
                size_bytes: a.size_bytes,
                notifications: a.notifications.into(),
                internet_headers: a.internet_headers,
                sent_on: a.sent_on,
                received_on: a.received_on,
                created_on: a.created_on,
            })
        })
        .await
}

/// The original message, byte for byte.
pub async fn email_raw(engine: &Engine, id: wire::ActivityId) -> Result<Vec<u8>> {
    let id = ActivityId::from(id);
    engine
        .read(move |c, inner| {
            let slice = store::activities::raw_slice(c, id)?;
            store::messages::read(&inner.store.messages_dir(), &slice)
        })
        .await
}

/// An attachment's file name and content, read back from the original message. An attachment
/// that was not saved (blocked, too large) is refused, as Dynamics keeps no copy of it.
pub async fn email_attachment(engine: &Engine, id: wire::ActivityId, position: u32) -> Result<(String, Vec<u8>)> {
    let aid = ActivityId::from(id);
    let (att, slice) = engine
        .read(move |c, _| {
            let att = store::activities::attachments(c, aid)?
                .into_iter()
                .find(|a| a.position == position)
                .ok_or_else(|| Error::not_found("attachment", position))?;
            let slice = store::activities::raw_slice(c, aid)?;
            Ok((att, slice))
        })
        .await?;
    if att.not_saved.is_some() {
        return Err(Error::validation("attachment.not_saved").param("file", &att.file_name));
    }
    let part = att.part_index;
    let dir = engine.inner.store.messages_dir();
    let content = tokio::task::spawn_blocking(move || {
        let raw = store::messages::read(&dir, &slice)?;
        Ok::<_, Error>(crate::sync::inbound::parse::attachment_content(&raw, part))
    })
    .await??
    .ok_or_else(|| Error::not_found("attachment", position))?;
    Ok((att.file_name, content))
}

/// A file name safe on every system, from an email's subject or an attachment's name.
pub(crate) fn safe_file_name(name: &str, fallback: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| if c.is_control() || "/\\:*?\"<>|".contains(c) { '_' } else { c })
        .collect::<String>()
        .trim()
        .trim_matches('.')
        .chars()
        .take(120)
        .collect();
    if cleaned.is_empty() { fallback.to_owned() } else { cleaned }
}

/// Where an export goes: the user's Downloads folder, else the data directory's `exports/`.
pub(crate) fn export_dir(engine: &Engine) -> std::path::PathBuf {
    dirs::download_dir().filter(|d| d.is_dir()).unwrap_or_else(|| engine.data_dir().join("exports"))
}

/// Writes `bytes` to a new file named like `name` in `dir` (never overwriting one), returns its path.
pub(crate) fn write_new_file(dir: &std::path::Path, name: &str, bytes: &[u8]) -> Result<std::path::PathBuf> {
    use std::io::Write;
    std::fs::create_dir_all(dir).map_err(|e| Error::new(crate::ErrorKind::Storage, "export.failed").with_detail(e))?;
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() => (s.to_owned(), format!(".{e}")),
        _ => (name.to_owned(), String::new()),
    };
    for n in 0..1000 {
        let file = if n == 0 { format!("{stem}{ext}") } else { format!("{stem} ({n}){ext}") };
        let path = dir.join(file);
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut f) => {
                f.write_all(bytes)
                    .and_then(|()| f.sync_all())
                    .map_err(|e| Error::new(crate::ErrorKind::Storage, "export.failed").with_detail(e))?;
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(Error::new(crate::ErrorKind::Storage, "export.failed").with_detail(e)),
        }
    }
    Err(Error::new(crate::ErrorKind::Storage, "export.failed").with_detail("too many files with that name"))
}

/// Saves the original message as a `.eml` file in the Downloads folder ("Download .eml"); returns
/// where.
pub async fn export_email(engine: &Engine, id: wire::ActivityId) -> Result<String> {
    let detail = get_email_activity(engine, id).await?;
    let raw = email_raw(engine, id).await?;
    let dir = export_dir(engine);
    let name = format!("{}.eml", safe_file_name(&detail.subject, &format!("email-{}", id.0)));
    let path = tokio::task::spawn_blocking(move || write_new_file(&dir, &name, &raw)).await??;
    Ok(path.display().to_string())
}

/// Saves an attachment in the Downloads folder; returns where.
pub async fn export_attachment(engine: &Engine, id: wire::ActivityId, position: u32) -> Result<String> {
    let (name, content) = email_attachment(engine, id, position).await?;
    let dir = export_dir(engine);
    let name = safe_file_name(&name, &format!("attachment-{}-{position}", id.0));
    let path = tokio::task::spawn_blocking(move || write_new_file(&dir, &name, &content)).await??;
    Ok(path.display().to_string())
}

/// Sets (or clears) what an email is regarding: a contact, an account or a lead. Replies that
/// correlate with it take the same regarding.
pub async fn set_email_regarding(
    engine: &Engine,
    id: wire::ActivityId,
    regarding: Option<wire::RecordRef>,
) -> Result<EmailActivityDetail> {
    let aid = ActivityId::from(id);
    let r: Option<RecordRef> = regarding.map(Wire::wire);
    engine
        .write(move |tx, _| {
            if let Some(r) = r {
                match r.entity {
                    EmailEntity::Contact => {
                        store::records::get::<domain::Contact>(tx, domain::ContactId(r.id)).map(|_| ())
                    }
                    EmailEntity::Account => {
                        store::records::get::<domain::Account>(tx, domain::AccountId(r.id)).map(|_| ())
                    }
                    EmailEntity::Lead => store::records::get::<domain::Lead>(tx, domain::LeadId(r.id)).map(|_| ()),
                    other => Err(Error::validation("email.regarding.invalid_entity").param("entity", other)),
                }?;
            }
            store::activities::set_regarding(tx, aid, r)
        })
        .await?;
    get_email_activity(engine, id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_html_loses_scripts_handlers_remote_images_and_css() {
        let hostile = r#"<p onclick="x()">Hi</p><script>alert(1)</script><img src="http://127.0.0.1:9/p.gif" onerror="alert(2)">
<a href="javascript:alert(3)">click</a><a href="https://contoso.com">site</a><div style="background:url(http://x/y)">z</div>
<style>body{background:url(http://x/z)}</style><img src="cid:logo@x"><iframe src="http://x"></iframe>"#;
        let safe = sanitize_html(hostile);
        for bad in
            ["script", "onclick", "onerror", "javascript:", "http://127.0.0.1", "url(", "<style", "iframe", "http://x"]
        {
            assert!(!safe.contains(bad), "{bad} survived: {safe}");
        }
        assert!(safe.contains("cid:logo@x"), "inline images stay: {safe}");
        assert!(safe.contains("https://contoso.com"), "ordinary links stay: {safe}");
    }

    #[test]
    fn export_names_are_safe() {
        assert_eq!(safe_file_name("RE: a/b\\c?", "x"), "RE_ a_b_c_");
        assert_eq!(safe_file_name("  ..  ", "email-3"), "email-3");
        assert_eq!(safe_file_name("会議の件", "x"), "会議の件");
    }
}
