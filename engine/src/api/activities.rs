//! Email activities: the grid, the detail (with its HTML body sanitised), the original message
//! and its attachments, and the regarding record.

use super::wire::{self, Wire};
use crate::domain::{self, ActivityId, EmailEntity, RecordRef};
use crate::store;
use crate::store::activities::ActivityFilter;
use crate::sync::inbound::parse::bare_id;
use crate::{Engine, Error, Result};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
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

/// One email with its parties, attachments and receipts; its HTML sanitised, with its own
/// images in place of its `cid:` links.
pub async fn get_email_activity(engine: &Engine, id: wire::ActivityId) -> Result<EmailActivityDetail> {
    let detail = read_detail(engine, id).await?;
    Ok(with_inline_images(engine, detail).await)
}

/// The inline images the detail view shows in place of `cid:` links: raster images saved with
/// the email, up to this much in all (an email's body is read in one IPC reply).
pub const INLINE_IMAGES_MAX_BYTES: u64 = 8 << 20;
const INLINE_IMAGE_TYPES: [&str; 5] = ["image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp"];
/// The URLs put in place, in all, at most this many bytes: an image linked many times counts
/// each time (8 MB of images as base64, with room for their prefixes).
pub const INLINE_URLS_MAX_BYTES: usize = (INLINE_IMAGES_MAX_BYTES as usize) / 3 * 4 + 64 * 1024;

/// `detail` with its own images, as `data:` URLs, in place of its HTML's `cid:` links (the frame
/// that shows the body loads nothing else). A message that cannot be read back keeps its links:
/// the body still shows, without those images.
async fn with_inline_images(engine: &Engine, mut detail: EmailActivityDetail) -> EmailActivityDetail {
    if !detail.body_html_safe.as_bytes().windows(4).any(|w| w.eq_ignore_ascii_case(b"cid:")) {
        return detail;
    }
    let mut budget = INLINE_IMAGES_MAX_BYTES;
    let wanted: Vec<(String, String, u32)> = detail
        .attachments
        .iter()
        .filter(|a| {
            a.not_saved.is_none()
                && !bare_id(&a.content_id).is_empty()
                && INLINE_IMAGE_TYPES.contains(&a.mime_type.to_ascii_lowercase().as_str())
        })
        .filter(|a| {
            let fits = a.size_bytes <= budget;
            budget = budget.saturating_sub(if fits { a.size_bytes } else { 0 });
            fits
        })
        .map(|a| (bare_id(&a.content_id).to_owned(), a.mime_type.to_ascii_lowercase(), a.part_index))
        .collect();
    if wanted.is_empty() {
        return detail;
    }
    let raw = match email_raw(engine, detail.id).await {
        Ok(raw) => raw,
        Err(e) => {
            tracing::warn!(activity = detail.id.0, error = %e, "the message of an email could not be read for its inline images");
            return detail;
        }
    };
    // A copy goes to the task: the body stays as it is if the task fails.
    let html = detail.body_html_safe.clone();
    let inlined = tokio::task::spawn_blocking(move || {
        let parts: Vec<u32> = wanted.iter().map(|w| w.2).collect();
        let contents = crate::sync::inbound::parse::attachment_contents(&raw, &parts);
        let urls: BTreeMap<String, String> = wanted
            .into_iter()
            .zip(contents)
            .filter_map(|((cid, mime, _), c)| c.map(|c| (cid, format!("data:{mime};base64,{}", STANDARD.encode(c)))))
            .collect();
        inline_images(&html, &urls, INLINE_URLS_MAX_BYTES)
    })
    .await;
    match inlined {
        Ok(html) => detail.body_html_safe = html,
        Err(e) => tracing::warn!(error = %e, "the inline images of an email could not be put in place"),
    }
    detail
}

/// `html` as the sanitiser writes it (every `<` of text escaped, attribute values in double
/// quotes) with the `src` of each `<img>` that links `cid:` an id `urls` holds replaced by that
/// URL; everything else stays as it is. The id is matched as written and percent-decoded
/// (RFC 2392), without angle brackets. Once the URLs put in place reach `max_bytes` in all, the
/// other links stay as they are.
pub fn inline_images(html: &str, urls: &BTreeMap<String, String>, max_bytes: usize) -> String {
    let mut budget = max_bytes;
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(i) = rest.find("<img") {
        out.push_str(&rest[..i + 4]);
        rest = &rest[i + 4..];
        // The tag's attributes, up to its end: name="value" pairs, or bare names.
        loop {
            let attr = rest.trim_start_matches(|c: char| c.is_ascii_whitespace());
            out.push_str(&rest[..rest.len() - attr.len()]);
            rest = attr;
            if rest.is_empty() || rest.starts_with('>') || rest.starts_with("/>") {
                break;
            }
            let name_end = match rest.find(|c: char| c == '=' || c == '>' || c.is_ascii_whitespace()) {
                // Not the sanitiser's output (a value without a name): step over one character.
                Some(0) => rest.chars().next().map_or(1, char::len_utf8),
                Some(n) => n,
                None => rest.len(),
            };
            let name = &rest[..name_end];
            out.push_str(name);
            rest = &rest[name_end..];
            let Some(quoted) = rest.strip_prefix("=\"") else { continue };
            let end = quoted.find('"').unwrap_or(quoted.len());
            let value = &quoted[..end];
            let link = value.trim_start();
            let url = (name.eq_ignore_ascii_case("src"))
                .then(|| link.get(..4).filter(|scheme| scheme.eq_ignore_ascii_case("cid:")))
                .flatten()
                .and_then(|_| {
                    let id = link[4..]
                        .replace("&quot;", "\"")
                        .replace("&lt;", "<")
                        .replace("&gt;", ">")
                        .replace("&amp;", "&");
                    urls.get(bare_id(&id)).or_else(|| urls.get(bare_id(&percent_decode(&id))))
                });
            let url = url.filter(|u| u.len() <= budget);
            budget -= url.map_or(0, String::len);
            out.push_str("=\"");
            out.push_str(url.map_or(value, String::as_str));
            rest = &quoted[end..];
            if let Some(after) = rest.strip_prefix('"') {
                out.push('"');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `%XX` escapes decoded (a malformed one stays as it is).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (b[i], b.get(i + 1).copied().and_then(hex), b.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn read_detail(engine: &Engine, id: wire::ActivityId) -> Result<EmailActivityDetail> {
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
    let detail = read_detail(engine, id).await?;
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
    fn inline_images_take_the_place_of_their_cid_links_and_nothing_else_changes() {
        let urls = BTreeMap::from([
            ("logo@x".to_owned(), "data:image/png;base64,AAA=".to_owned()),
            ("a@b".to_owned(), "data:image/gif;base64,BBB=".to_owned()),
            ("q&r".to_owned(), "data:image/jpeg;base64,CCC=".to_owned()),
        ]);
        let html = sanitize_html(
            r#"<p>src="cid:logo@x" as text</p><img src="cid:logo@x" alt="l"><img src="CID:a%40b"><img src="cid:<q&r>">
<img src="cid:missing@x"><img alt="a > b" src="cid:logo@x"><img src="data:image/png;base64,DDD="><a href="cid:logo@x">link</a>"#,
        );
        let out = inline_images(&html, &urls, usize::MAX);
        assert!(out.contains(r#"<img src="data:image/png;base64,AAA=" alt="l">"#), "{out}");
        assert!(out.contains(r#"<img src="data:image/gif;base64,BBB=">"#), "percent-encoded, any case: {out}");
        assert!(out.contains(r#"<img src="data:image/jpeg;base64,CCC=">"#), "escaped, in brackets: {out}");
        assert!(out.contains(r#"<img src="cid:missing@x">"#), "an id the email lacks stays: {out}");
        assert!(out.contains(r#"<img alt="a &gt; b" src="data:image/png;base64,AAA=">"#), "after another value: {out}");
        assert!(out.contains(r#"<img src="data:image/png;base64,DDD=">"#), "{out}");
        assert!(out.contains(r#"href="cid:logo@x""#), "only src is replaced: {out}");
        assert!(out.starts_with(r#"<p>src="cid:logo@x" as text</p>"#), "text is not a link: {out}");
        assert_eq!(inline_images("no images", &urls, usize::MAX), "no images");
        // Linked three times with room for two: the third stays a link.
        let thrice = r#"<img src="cid:logo@x"><img src="cid:logo@x"><img src="cid:logo@x">"#;
        let two = "data:image/png;base64,AAA=".len() * 2;
        assert_eq!(
            inline_images(thrice, &urls, two).matches("data:image/png").count(),
            2,
            "the budget counts each use"
        );
        // Not the sanitiser's output: it still ends, and a leading space before cid: is allowed.
        assert_eq!(inline_images("<img =x =\"y\">", &urls, usize::MAX), "<img =x =\"y\">");
        assert!(
            inline_images(r#"<img src=" cid:logo@x">"#, &urls, usize::MAX)
                .contains(r#"src="data:image/png;base64,AAA=""#)
        );
        assert_eq!(percent_decode("a%40b%2"), "a@b%2", "a malformed escape stays");
    }

    #[test]
    fn export_names_are_safe() {
        assert_eq!(safe_file_name("RE: a/b\\c?", "x"), "RE_ a_b_c_");
        assert_eq!(safe_file_name("  ..  ", "email-3"), "email-3");
        assert_eq!(safe_file_name("会議の件", "x"), "会議の件");
    }
}
