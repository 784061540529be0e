//! From a raw message to what the incoming pipeline reads: decoded subject and bodies, the
//! addresses, the identifiers used by duplicate detection and correlation, the attachments.
//! mail-parser decodes every charset real mail arrives in (ISO-2022-JP, Shift_JIS, windows-1258,
//! RFC 2047 and RFC 2231 parameters…) and never panics; a message with no header at all is the
//! only one refused. CPU-bound: callers run it off the async executor.

use crate::domain::Timestamp;
use crate::{Error, ErrorKind, Result};
use mail_parser::{Address, HeaderValue, MessageParser, MimeHeaders, PartType};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// The longest body an email record keeps, in characters (Dynamics' `description`: 1,048,576);
/// a longer body is truncated and the email says so (`notifications` = Truncated body).
pub const MAX_BODY_CHARS: usize = 1_048_576;

/// A mailbox address of a header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailAddress {
    /// As written (the local part keeps its case); compared case-insensitively.
    pub address: String,
    pub name: String,
}

/// An attachment part of the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentPart {
    /// The part's index in the parsed message (to read its content back from the raw message).
    pub part_index: u32,
    pub file_name: String,
    pub mime_type: String,
    pub content_id: String,
    /// Decoded size in bytes.
    pub size: u64,
}

#[cfg(test)]
mod words {
    use super::decode_words;

    #[test]
    fn encoded_words_are_decoded_like_mail_clients_do() {
        let rows = [
            ("plain text", "plain text"),
            ("=?UTF-8?Q?R=C3=A9union?=", "Réunion"),
            ("=?utf-8?q?caf=C3=A9_au_lait?=", "café au lait"),
            ("=?UTF-8?B?SOG7kyBzxqE=?=", "Hồ sơ"),
            // "ễ" (E1 BB 85) split across two words: joined before decoding.
            ("Nguy=?UTF-8?Q?=E1=BB?= =?UTF-8?Q?=85n?=", "Nguyễn"),
            ("=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=", "ab"),
            ("=?ISO-8859-1?Q?a?= x =?ISO-8859-1?Q?b?=", "a x b"),
            ("Re: =?ISO-8859-1?Q?=E9t=E9?= report", "Re: été report"),
        ];
        for (raw, want) in rows {
            assert_eq!(decode_words(raw), want, "{raw}");
        }
    }
}

/// What the pipeline needs of a message.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedEmail {
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Whether a body was longer than [`MAX_BODY_CHARS`] and was cut.
    pub truncated: bool,
    pub from: Option<MailAddress>,
    pub to: Vec<MailAddress>,
    pub cc: Vec<MailAddress>,
    pub bcc: Vec<MailAddress>,
    /// The Message-ID without its angle brackets.
    pub message_id: Option<String>,
    /// Message-IDs of In-Reply-To, without brackets.
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    /// The Thread-Index header as carried (base64) and decoded, when it is a valid conversation
    /// index (22 bytes, then 5 per reply).
    pub thread_index: Option<(String, Vec<u8>)>,
    pub date: Option<Timestamp>,
    pub attachments: Vec<AttachmentPart>,
    /// The headers as JSON, for mail that carries `Auto-Submitted` or `Reply-To`.
    pub internet_headers: Option<String>,
    pub size: u64,
    /// SHA-256 of the raw message, hex: computed only for a message without a Message-ID (what
    /// its duplicates are recognised by).
    pub digest: Option<String>,
}

impl ParsedEmail {
    /// What duplicate detection compares: the Message-ID, or the digest of a message without one.
    pub fn dedupe_key(&self) -> String {
        match &self.message_id {
            Some(id) => id.clone(),
            None => format!("sha256:{}", self.digest.as_deref().unwrap_or_default()),
        }
    }

    /// The Message-ID as headers write it (`<id>`), or "".
    pub fn message_id_header(&self) -> String {
        self.message_id.as_ref().map(|id| format!("<{id}>")).unwrap_or_default()
    }
}

fn addresses(value: Option<&Address<'_>>) -> Vec<MailAddress> {
    let Some(a) = value else { return Vec::new() };
    a.iter()
        .filter_map(|addr| {
            let address = addr.address().map(str::trim).filter(|s| !s.is_empty())?;
            Some(MailAddress { address: address.to_owned(), name: addr.name().unwrap_or_default().trim().to_owned() })
        })
        .collect()
}

/// A Message-ID or Content-ID without its angle brackets and surrounding space.
pub fn bare_id(id: &str) -> &str {
    id.trim().trim_start_matches('<').trim_end_matches('>').trim()
}

fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    let clean = |s: &str| bare_id(s).to_owned();
    match value {
        HeaderValue::Text(t) => vec![clean(t)],
        HeaderValue::TextList(list) => list.iter().map(|t| clean(t)).collect(),
        _ => Vec::new(),
    }
    .into_iter()
    .filter(|s| !s.is_empty())
    .collect()
}

/// Cuts `s` to at most `max` characters; true when it did.
fn cap(s: &mut String, max: usize) -> bool {
    if s.len() <= max {
        return false; // never more characters than bytes
    }
    match s.char_indices().nth(max) {
        Some((at, _)) => {
            s.truncate(at);
            true
        }
        None => false,
    }
}

/// A header value with its folding undone.
fn unfold(raw: &str) -> String {
    raw.split(['\r', '\n']).map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")
}

/// The end of the top-level header block (after its blank line), or the end of the message.
fn header_end(raw: &[u8]) -> usize {
    // No header at all: the blank line comes first.
    if raw.starts_with(b"\r\n") {
        return 2;
    }
    if raw.starts_with(b"\n") {
        return 1;
    }
    let mut at = 0;
    while let Some(i) = raw[at..].iter().position(|&b| b == b'\n') {
        let next = at + i + 1;
        match raw.get(next) {
            Some(b'\n') => return next + 1,
            Some(b'\r') if raw.get(next + 1) == Some(&b'\n') => return next + 2,
            None => return raw.len(),
            _ => at = next,
        }
    }
    raw.len()
}

/// The top-level header block with 8-bit bytes that are not UTF-8 read as windows-1252, as mail
/// clients read raw Latin-1 headers; UTF-8 and 7-bit headers are left as they are.
fn legacy_header_bytes(raw: &[u8]) -> Cow<'_, [u8]> {
    let end = header_end(raw);
    let header = &raw[..end];
    if std::str::from_utf8(header).is_ok() {
        return Cow::Borrowed(raw);
    }
    let cp1252 = mail_parser::decoders::charsets::map::charset_decoder(b"windows-1252");
    let mut out = Vec::with_capacity(raw.len() + 64);
    let mut rest = header;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                out.extend_from_slice(s.as_bytes());
                break;
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                out.extend_from_slice(good);
                let n = e.error_len().unwrap_or(bad.len()).max(1);
                let decoded = match cp1252 {
                    Some(f) => f(&bad[..n]),
                    None => String::from_utf8_lossy(&bad[..n]).into_owned(),
                };
                out.extend_from_slice(decoded.as_bytes());
                rest = &bad[n..];
            }
        }
    }
    out.extend_from_slice(&raw[end..]);
    Cow::Owned(out)
}

/// Decodes an unstructured header value (RFC 2047) the way mail clients do: adjacent
/// encoded-words in the same charset are joined before their bytes are decoded, so a character
/// split across two words (as some mailers write them) comes out whole.
pub fn decode_words(value: &str) -> String {
    use base64::Engine as _;
    let mut out = String::new();
    // (charset, bytes) of encoded-words waiting to be decoded together.
    let mut pending: Option<(String, Vec<u8>)> = None;
    let flush = |pending: &mut Option<(String, Vec<u8>)>, out: &mut String| {
        if let Some((charset, bytes)) = pending.take() {
            let decoded = mail_parser::decoders::charsets::map::charset_decoder(charset.as_bytes())
                .map(|f| f(&bytes))
                .unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned());
            out.push_str(&decoded);
        }
    };
    let mut rest = value;
    let mut gap = String::new();
    while !rest.is_empty() {
        let word = rest.find("=?").and_then(|start| {
            let inner = &rest[start + 2..];
            let q1 = inner.find('?')?;
            let enc = inner.get(q1 + 1..q1 + 2)?;
            if inner.get(q1 + 2..q1 + 3)? != "?" {
                return None;
            }
            let text_start = q1 + 3;
            let end = inner[text_start..].find("?=")? + text_start;
            Some((start, &inner[..q1], enc.to_ascii_uppercase(), &inner[text_start..end], start + 2 + end + 2))
        });
        let Some((start, charset, enc, text, next)) = word else {
            flush(&mut pending, &mut out);
            out.push_str(&gap);
            out.push_str(rest);
            break;
        };
        let before = &rest[..start];
        // Only white space between two encoded-words disappears.
        if !before.trim().is_empty() || pending.is_none() {
            flush(&mut pending, &mut out);
            out.push_str(&gap);
            out.push_str(before);
        }
        gap.clear();
        let charset = charset.split('*').next().unwrap_or(charset).to_ascii_lowercase();
        let bytes = if enc == "B" {
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(text.trim_end_matches('=').as_bytes())
                .unwrap_or_else(|_| text.as_bytes().to_vec())
        } else {
            let mut b = Vec::with_capacity(text.len());
            let t = text.as_bytes();
            let mut i = 0;
            while i < t.len() {
                match t[i] {
                    b'_' => b.push(b' '),
                    b'=' if i + 2 < t.len() => {
                        match u8::from_str_radix(std::str::from_utf8(&t[i + 1..i + 3]).unwrap_or("zz"), 16) {
                            Ok(v) => {
                                b.push(v);
                                i += 2;
                            }
                            Err(_) => b.push(b'='),
                        }
                    }
                    c => b.push(c),
                }
                i += 1;
            }
            b
        };
        match &mut pending {
            Some((c, buf)) if *c == charset => buf.extend_from_slice(&bytes),
            _ => {
                flush(&mut pending, &mut out);
                pending = Some((charset, bytes));
            }
        }
        rest = &rest[next..];
        // White space up to the next encoded-word is kept aside: dropped if one follows.
        let ws = rest.len() - rest.trim_start().len();
        gap = rest[..ws].to_owned();
        rest = &rest[ws..];
    }
    flush(&mut pending, &mut out);
    out
}

/// A part whose base64 content mail-parser is not given to decode (see [`hidden_base64`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hidden {
    /// An attachment: never decoded while parsing, its decoded size counted.
    Attachment,
    /// A text/plain or text/html body: decoded here, in one pass over the whole content.
    Body,
}

/// The `base64` values of the `Content-Transfer-Encoding` headers of attachment and body parts,
/// by offset. mail-parser decodes base64 a byte at a time, a few times slower than a decoder that
/// works on whole lines: the bulk of a message's bytes, and of the time parsing takes. So these
/// values are hidden from it in a copy of the message (same length, so every offset stays), an
/// attachment's content is not decoded at all (it is read again from the original when an
/// attachment is downloaded), and a body's is decoded in one go.
///
/// Each found header is checked as part of one header block (from a boundary line or a blank line
/// to the next blank line) and classified by the block's Content-Type. A text that merely quotes
/// such lines may be found too: [`parse`] checks every offset against the parts mail-parser
/// found, and parses the original message if one is not where it should be.
fn hidden_base64(raw: &[u8]) -> Vec<(usize, Hidden)> {
    const LIMIT: usize = 16 * 1024;
    let mut out = Vec::new();
    for needle in [&b"-Transfer-Encoding:"[..], b"-transfer-encoding:"] {
        for at in memchr::memmem::find_iter(raw, needle) {
            let Some(h) = at.checked_sub(7) else { continue };
            if !raw[h..at].eq_ignore_ascii_case(b"content") || (h > 0 && raw[h - 1] != b'\n') {
                continue;
            }
            // The value: exactly `base64`, alone on an unfolded line.
            let mut v = at + needle.len();
            while matches!(raw.get(v), Some(b' ' | b'\t')) {
                v += 1;
            }
            if !raw.get(v..v + 6).is_some_and(|t| t.eq_ignore_ascii_case(b"base64")) {
                continue;
            }
            let Some(eol) = memchr::memchr(b'\n', &raw[v..]).map(|i| v + i) else { continue };
            if !raw[v + 6..eol].iter().all(|b| matches!(b, b' ' | b'\t' | b'\r'))
                || matches!(raw.get(eol + 1), Some(b' ' | b'\t'))
            {
                continue;
            }
            // The header block around it.
            let mut start = h;
            while start > 0 && h - start < LIMIT {
                let previous = memchr::memrchr(b'\n', &raw[..start - 1]).map_or(0, |i| i + 1);
                let line = raw[previous..start].trim_ascii_end();
                if line.is_empty() || line.starts_with(b"--") {
                    break;
                }
                start = previous;
            }
            let end = [&b"\n\r\n"[..], b"\n\n"]
                .iter()
                .filter_map(|blank| memchr::memmem::find(&raw[h..(h + LIMIT).min(raw.len())], blank))
                .min()
                .map(|i| h + i);
            let (Some(end), true) = (end, h - start < LIMIT) else { continue };
            if let Some(kind) = hidden_kind(&raw[start..end]) {
                out.push((v, kind));
            }
        }
    }
    out.sort_unstable_by_key(|(at, _)| *at);
    out
}

/// What a header block's Content-Type makes of its part: an attachment (a type other than text,
/// message and multipart), a body (text/plain, text/html), or neither (no Content-Type, another
/// text type: left to mail-parser).
fn hidden_kind(block: &[u8]) -> Option<Hidden> {
    let mut lines = block.split(|&b| b == b'\n').peekable();
    while let Some(line) = lines.next() {
        let Some(value) = line.get(13..).filter(|_| line[..13].eq_ignore_ascii_case(b"content-type:")) else {
            continue;
        };
        let mut value = value.to_vec();
        while let Some(next) = lines.next_if(|l| matches!(l.first(), Some(b' ' | b'\t'))) {
            value.extend_from_slice(next);
        }
        let media = value.split(|&b| b == b';').next().unwrap_or_default().trim_ascii().to_ascii_lowercase();
        return match media.as_slice() {
            b"text/plain" | b"text/html" => Some(Hidden::Body),
            m if m.contains(&b'/')
                && !["text/", "message/", "multipart/"].iter().any(|t| m.starts_with(t.as_bytes())) =>
            {
                Some(Hidden::Attachment)
            }
            _ => None,
        };
    }
    None
}

/// The size clean base64 content (see [`base64_content_is_clean`]) decodes to, as mail-parser
/// decodes it, counted without decoding it: three bytes per four letters, what a final `=` ends
/// kept, an unfinished group at the end dropped. Content with `=` before its end (concatenated
/// base64, rare) is decoded to be measured.
fn base64_decoded_len(content: &[u8]) -> u64 {
    let is_letter = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/');
    let padding = memchr::memchr(b'=', content);
    if let Some(at) = padding
        && content[at..].iter().any(is_letter)
    {
        return base64_decode_lines(content).map_or(0, |d| d.len() as u64);
    }
    let others = memchr::memchr3_iter(b'\r', b'\n', b'=', content).count()
        + memchr::memchr3_iter(b' ', b'\t', b'-', content).count();
    let letters = (content.len() - others) as u64;
    letters / 4 * 3 + if padding.is_some() { [0, 1, 1, 2][(letters % 4) as usize] } else { 0 }
}

/// Whether mail-parser would decode `content` without an encoding problem: only base64 letters,
/// padding, white space and single hyphens (it ignores those; two in a row start a boundary).
fn base64_content_is_clean(content: &[u8]) -> bool {
    let clean = content.iter().fold(true, |ok, &b| {
        ok & (b.is_ascii_alphanumeric() | matches!(b, b'+' | b'/' | b'=' | b'\r' | b'\n' | b' ' | b'\t' | b'-'))
    });
    clean && memchr::memmem::find(content, b"--").is_none()
}

/// Decodes base64 content exactly as mail-parser does (white space and single hyphens ignored,
/// `=` ends a group and what it holds is kept, an unfinished group at the end is dropped), a whole
/// line at a time where a line is plain base64. None where mail-parser would find an encoding
/// problem.
fn base64_decode_lines(content: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine as _;
    const LINES: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::RequireNone),
    );
    let value = |b: u8| -> Option<u32> {
        Some(u32::from(match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        }))
    };
    let mut out = Vec::with_capacity(content.len() / 4 * 3);
    let (mut chunk, mut count) = (0u32, 0u8);
    for line in content.split(|&b| b == b'\n') {
        let trimmed = line.trim_ascii_end();
        let before = out.len();
        if count == 0 && trimmed.len() % 4 == 0 && LINES.decode_vec(trimmed, &mut out).is_ok() {
            continue;
        }
        out.truncate(before);
        let mut last = b'\n';
        for &b in line {
            match (b, value(b)) {
                (_, Some(v)) => {
                    chunk = (chunk << 6) | v;
                    count += 1;
                    if count == 4 {
                        out.extend_from_slice(&chunk.to_be_bytes()[1..]);
                        (chunk, count) = (0, 0);
                    }
                }
                (b'=', None) => {
                    match count {
                        1 => out.push((chunk << 2) as u8),
                        2 => out.push((chunk >> 4) as u8),
                        3 => out.extend_from_slice(&[(chunk >> 10) as u8, (chunk >> 2) as u8]),
                        _ => {}
                    }
                    (chunk, count) = (0, 0);
                }
                (b'\r' | b' ' | b'\t', None) => {}
                (b'-', None) if last != b'-' => {}
                _ => return None,
            }
            last = b;
        }
    }
    Some(out)
}

/// Completes a message parsed with its `hidden` base64 values: each body part gets its decoded
/// text, and the decoded size of each attachment is counted (by part index). None when an offset
/// is not in the header of such a part, or a body is not valid base64 (then the message is parsed
/// as it came).
fn reveal(msg: &mut mail_parser::Message<'_>, bytes: &[u8], hidden: &[(usize, Hidden)]) -> Option<BTreeMap<u32, u64>> {
    let mut sizes = BTreeMap::new();
    for &(at, kind) in hidden {
        let id = msg.parts.iter().position(|p| (p.offset_header as usize..p.offset_body as usize).contains(&at))?;
        let id32 = u32::try_from(id).ok()?;
        let part = &msg.parts[id];
        let content = bytes.get(part.offset_body as usize..part.offset_end as usize)?;
        // A part of a multipart ends at a boundary line; one cut short (mail-parser found an
        // encoding problem there) is left to mail-parser.
        let after = bytes.get(part.offset_end as usize..)?;
        if id != 0 && ![&b"\r\n--"[..], b"\n--", b"--"].iter().any(|b| after.starts_with(b)) {
            return None;
        }
        let attachment = msg.attachments.contains(&id32);
        match (kind, &part.body) {
            (Hidden::Attachment, PartType::Binary(_) | PartType::InlineBinary(_))
                if attachment && base64_content_is_clean(content) =>
            {
                sizes.insert(id32, base64_decoded_len(content));
            }
            (Hidden::Body, PartType::Text(_) | PartType::Html(_))
                if !attachment && (msg.text_body.contains(&id32) || msg.html_body.contains(&id32)) =>
            {
                let decoded = base64_decode_lines(content)?;
                let charset = part.content_type().and_then(|ct| ct.attribute("charset"));
                let text =
                    match charset.and_then(|c| mail_parser::decoders::charsets::map::charset_decoder(c.as_bytes())) {
                        Some(decode) => decode(&decoded),
                        None => String::from_utf8(decoded)
                            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
                    };
                let part = &mut msg.parts[id];
                part.encoding = mail_parser::Encoding::Base64;
                part.body = match part.body {
                    PartType::Html(_) => PartType::Html(text.into()),
                    _ => PartType::Text(text.into()),
                };
            }
            _ => return None,
        }
    }
    Some(sizes)
}

/// mail-parser's reading of a message. Some malformed nestings of message/rfc822 parts make it
/// panic: that is caught and taken as "not a message", so such a message fails alone (recorded
/// with `mail.parse_failed`, moved to Undeliverable when the profile says so) and the mailbox's
/// other mail still flows.
fn mime(bytes: &[u8]) -> Option<mail_parser::Message<'_>> {
    std::panic::catch_unwind(|| MessageParser::new().parse(bytes)).ok().flatten()
}

/// Parses a raw message. Refuses only what is not a message at all (`mail.parse_failed`).
pub fn parse(raw: &[u8]) -> Result<ParsedEmail> {
    parse_with(raw, true)
}

/// Parses as [`parse`] does, but leaves all base64 decoding to mail-parser, attachments included
/// (which [`parse`] avoids): the two give the same result, which the corpus tests compare.
pub fn parse_decoding_attachments(raw: &[u8]) -> Result<ParsedEmail> {
    parse_with(raw, false)
}

fn parse_with(raw: &[u8], defer: bool) -> Result<ParsedEmail> {
    let size = raw.len() as u64;
    let original = raw;
    let fixed = legacy_header_bytes(raw);
    let raw: &[u8] = &fixed;
    // Base64 contents are decoded here, not by mail-parser (see `hidden_base64`).
    let hidden = if defer { hidden_base64(raw) } else { Vec::new() };
    let copy = (!hidden.is_empty()).then(|| {
        let mut copy = raw.to_vec();
        for &(at, _) in &hidden {
            copy[at..at + 6].copy_from_slice(b"binary");
        }
        copy
    });
    let from_hidden = copy.as_deref().and_then(|bytes| {
        let mut msg = mime(bytes)?;
        let sizes = reveal(&mut msg, bytes, &hidden)?;
        Some((msg, sizes))
    });
    // Whatever mail-parser makes of it, a message has at least one of the fields every mail
    // system writes; bytes without any (a client appended garbage) are not an email.
    let (msg, deferred_sizes) = match from_hidden {
        Some(parsed) => Some(parsed),
        None => mime(raw).map(|m| (m, BTreeMap::new())),
    }
    .filter(|(m, _)| {
        ["From", "Sender", "To", "Subject", "Date", "Message-ID", "Received", "Return-Path"]
            .iter()
            .any(|h| m.header_raw(*h).is_some())
    })
    .ok_or_else(|| Error::new(ErrorKind::Validation, "mail.parse_failed").param("size", raw.len()))?;
    let mut subject = msg.subject().map(unfold).unwrap_or_default();
    if subject.contains('\u{FFFD}')
        && let Some(value) = msg.header_raw("Subject")
    {
        let again = decode_words(&unfold(value));
        if !again.contains('\u{FFFD}') {
            subject = again;
        }
    }
    let mut text = msg
        .text_body
        .iter()
        .enumerate()
        .filter_map(|(i, _)| msg.body_text(i))
        .map(|t| t.into_owned())
        .collect::<Vec<_>>()
        .join("\n");
    let mut html = msg
        .html_body
        .iter()
        .filter_map(|id| msg.parts.get(*id as usize))
        .filter(|p| matches!(p.body, PartType::Html(_)))
        .filter_map(|p| p.text_contents())
        .collect::<Vec<_>>()
        .join("\n");
    // A multipart message without a boundary has no parts to find: its body is read as text,
    // as mail clients show it.
    let broken_multipart = msg.root_part().content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart") && ct.attribute("boundary").is_none_or(|b| b.trim().is_empty())
    });
    if broken_multipart && text.trim().is_empty() && html.is_empty() {
        let body = raw.get(header_end(raw)..).unwrap_or_default();
        let charset = msg.root_part().content_type().and_then(|ct| ct.attribute("charset")).unwrap_or("utf-8");
        text = mail_parser::decoders::charsets::map::charset_decoder(charset.as_bytes())
            .map(|f| f(body))
            .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    }
    // A body part that is neither text nor HTML (a lone image) leaves the text empty.
    let truncated = cap(&mut text, MAX_BODY_CHARS) | cap(&mut html, MAX_BODY_CHARS);
    let attachments = if broken_multipart { &[][..] } else { &msg.attachments[..] };
    let attachments = attachments
        .iter()
        .filter_map(|id| msg.parts.get(*id as usize).map(|p| (*id, p)))
        .map(|(id, p)| {
            let mime_type = p
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub),
                    None => ct.ctype().to_owned(),
                })
                .unwrap_or_else(|| {
                    if p.is_message() { "message/rfc822" } else { "application/octet-stream" }.to_owned()
                })
                .to_ascii_lowercase();
            let name = p
                .attachment_name()
                .map(str::to_owned)
                .or_else(|| p.message().and_then(|m| m.subject()).map(|s| format!("{s}.eml")))
                .unwrap_or_default();
            let size = match (&p.body, deferred_sizes.get(&id)) {
                (_, Some(size)) => *size,
                (PartType::Message(_), None) => u64::from(p.offset_end.saturating_sub(p.offset_body)),
                _ => p.contents().len() as u64,
            };
            AttachmentPart {
                part_index: id,
                file_name: name.trim().to_owned(),
                mime_type,
                content_id: p.content_id().unwrap_or_default().to_owned(),
                size,
            }
        })
        .collect();
    let thread_index = msg.header_raw("Thread-Index").map(unfold).and_then(|b64| {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD.decode(b64.trim()).ok()?;
        (bytes.len() >= 22 && (bytes.len() - 22) % 5 == 0).then_some((b64, bytes))
    });
    let date = msg
        .date()
        .filter(|d| d.is_valid())
        .and_then(|d| chrono::DateTime::<chrono::Utc>::from_timestamp(d.to_timestamp(), 0));
    let notable = msg.header_raw("Auto-Submitted").is_some() || msg.header_raw("Reply-To").is_some();
    let internet_headers = notable.then(|| {
        // As the message came: the message parsed above may hide a Content-Transfer-Encoding.
        let headers = MessageParser::new().parse_headers(raw);
        let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, value) in headers.iter().flat_map(|h| h.headers_raw()) {
            map.entry(name.to_owned()).or_default().push(unfold(value));
        }
        serde_json::to_string(&map).unwrap_or_default()
    });
    let message_id = msg.message_id().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let digest = message_id.is_none().then(|| hex::encode(Sha256::digest(original)));
    Ok(ParsedEmail {
        subject,
        text,
        html,
        truncated,
        from: addresses(msg.from()).into_iter().next(),
        to: addresses(msg.to()),
        cc: addresses(msg.cc()),
        bcc: addresses(msg.bcc()),
        message_id,
        in_reply_to: ids(msg.in_reply_to()),
        references: ids(msg.references()),
        thread_index,
        date,
        attachments,
        internet_headers,
        size,
        digest,
    })
}

/// The content of attachment part `part_index` of a raw message (for downloads), or None.
pub fn attachment_content(raw: &[u8], part_index: u32) -> Option<Vec<u8>> {
    attachment_contents(raw, &[part_index]).pop().flatten()
}

/// The decoded contents of several MIME parts of one message, read in one parse; None for a
/// part the message does not have.
pub fn attachment_contents(raw: &[u8], part_indexes: &[u32]) -> Vec<Option<Vec<u8>>> {
    let fixed = legacy_header_bytes(raw);
    let raw: &[u8] = &fixed;
    let Some(msg) = mime(raw) else { return vec![None; part_indexes.len()] };
    part_indexes
        .iter()
        .map(|&i| {
            let p = msg.parts.get(i as usize)?;
            match &p.body {
                PartType::Message(_) => raw.get(p.offset_body as usize..p.offset_end as usize).map(<[u8]>::to_vec),
                _ => Some(p.contents().to_vec()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_simple_message_gives_its_fields() -> Result<()> {
        let raw = b"From: Nancy <nancy@contoso.com>\r\nTo: a@x.com, \"B\" <b@x.com>\r\nCc: c@x.com\r\n\
Subject: =?UTF-8?Q?R=C3=A9union?=\r\nMessage-ID: <abc@contoso.com>\r\nIn-Reply-To: <p1@x> <p2@x>\r\n\
Date: Tue, 1 Dec 2026 10:00:00 +0100\r\n\r\nBonjour\r\n";
        let p = parse(raw)?;
        assert_eq!(p.subject, "Réunion");
        assert_eq!(p.text.trim(), "Bonjour");
        assert_eq!(p.from.as_ref().map(|a| a.address.as_str()), Some("nancy@contoso.com"));
        assert_eq!(p.to.iter().map(|a| a.address.as_str()).collect::<Vec<_>>(), vec!["a@x.com", "b@x.com"]);
        assert_eq!(p.cc.len(), 1);
        assert_eq!(p.message_id.as_deref(), Some("abc@contoso.com"));
        assert_eq!(p.dedupe_key(), "abc@contoso.com");
        assert_eq!(p.in_reply_to, vec!["p1@x", "p2@x"]);
        assert_eq!(p.date.map(|d| d.to_rfc3339()), Some("2026-12-01T09:00:00+00:00".to_owned()));
        assert!(p.internet_headers.is_none(), "only auto-submitted or Reply-To mail keeps its headers");
        Ok(())
    }

    fn with_attachment(content_type: &str, body_b64: &str, text: &str) -> String {
        format!(
            "From: a@x.com\r\nSubject: files\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: base64\r\n\r\n{text}\r\n--b1\r\nContent-Type: {content_type}\r\n\
Content-Disposition: attachment; filename=\"f.bin\"\r\ncontent-transfer-encoding: BASE64 \r\n\r\n{body_b64}\r\n--b1--\r\n"
        )
    }

    #[test]
    fn attachment_contents_are_measured_not_decoded_and_text_parts_still_are() -> Result<()> {
        use base64::Engine as _;
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        for len in [0usize, 1, 2, 3, 4, 5, 57, 58, 1000, 1001, 1002] {
            let content: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            // Folded at 76 characters, as mailers write it.
            let folded = b64(&content)
                .as_bytes()
                .chunks(76)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect::<Vec<_>>()
                .join("\r\n");
            let raw = with_attachment("application/pdf; name=\"f.bin\"", &folded, &b64("Bonjour à tous".as_bytes()));
            let found: Vec<Hidden> = hidden_base64(raw.as_bytes()).into_iter().map(|(_, k)| k).collect();
            assert_eq!(found, vec![Hidden::Body, Hidden::Attachment], "the body's and the attachment's encodings");
            let fast = parse(raw.as_bytes())?;
            assert_eq!(fast, parse_decoding_attachments(raw.as_bytes())?, "{len} bytes");
            assert_eq!(fast.attachments.iter().map(|a| a.size).collect::<Vec<_>>(), vec![len as u64]);
            assert_eq!(fast.text.trim(), "Bonjour à tous", "the base64 text part is decoded");
            assert_eq!(attachment_content(raw.as_bytes(), fast.attachments[0].part_index), Some(content));
        }
        Ok(())
    }

    #[test]
    fn other_parts_and_misplaced_headers_are_left_to_mail_parser() -> Result<()> {
        // A text attachment that is not text/plain and a forwarded message in base64: only the
        // body is found.
        for ct in ["text/csv", "message/rfc822"] {
            let raw = with_attachment(ct, "YSxiLGMK", "eA==");
            assert_eq!(hidden_base64(raw.as_bytes()).len(), 1, "{ct}: only the body is found");
            assert_eq!(parse(raw.as_bytes())?, parse_decoding_attachments(raw.as_bytes())?, "{ct}");
        }
        // A text/plain attachment is taken for a body, and is no body: the message is parsed as
        // it came, and the attachment keeps its decoded size.
        let raw = with_attachment("TEXT/plain", "YSxiLGMK", "eA==");
        assert_eq!(hidden_base64(raw.as_bytes()).len(), 2);
        let p = parse(raw.as_bytes())?;
        assert_eq!(p.attachments.iter().map(|a| a.size).collect::<Vec<_>>(), vec![6]);
        assert_eq!(p, parse_decoding_attachments(raw.as_bytes())?);
        // Invalid base64 in a body: mail-parser's own recovery, as if nothing was hidden.
        let raw = with_attachment("application/pdf", "JVBERi0=", "not*base64!");
        assert_eq!(parse(raw.as_bytes())?, parse_decoding_attachments(raw.as_bytes())?);
        // A text body that quotes MIME headers: the lines are found, but they are no part's
        // header, so the message is parsed as it came and its text keeps every character.
        let quoted = "Subject: howto\r\nFrom: a@x.com\r\nContent-Type: text/plain\r\n\r\nWrite this:\r\n\r\n\
Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n";
        assert_eq!(hidden_base64(quoted.as_bytes()).len(), 1);
        let p = parse(quoted.as_bytes())?;
        assert!(p.text.contains("Content-Transfer-Encoding: base64"), "{}", p.text);
        assert_eq!(p, parse_decoding_attachments(quoted.as_bytes())?);
        Ok(())
    }

    #[test]
    fn a_message_that_makes_mail_parser_panic_is_refused_with_a_code() {
        // Two message/rfc822 parts in a row, then another part: mail-parser 0.11 panics on it
        // ("Invalid part ID, could not find multipart").
        let raw = "From: a@x.com\r\nSubject: s\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"zz\"\r\n\r\n--zz\r\nContent-Type: message/rfc822\r\n\
Content-Transfer-Encoding: 7bit\r\n\r\nAA==\r\n--zz\r\nContent-Type: message/rfc822\r\n\r\nAA==\r\n\
--zz\r\n\r\n\r\n--zz--\r\n";
        let panics = std::panic::catch_unwind(|| MessageParser::new().parse(raw.as_bytes()).is_some()).is_err();
        assert!(panics, "mail-parser no longer panics on this message: the catch may go");
        assert_eq!(parse(raw.as_bytes()).err().map(|e| e.code().to_owned()).as_deref(), Some("mail.parse_failed"));
        assert_eq!(attachment_content(raw.as_bytes(), 1), None);
    }

    #[test]
    fn a_message_without_message_id_is_deduplicated_by_its_digest() -> Result<()> {
        let p = parse(b"Subject: x\r\n\r\nbody\r\n")?;
        assert!(p.dedupe_key().starts_with("sha256:"), "{}", p.dedupe_key());
        assert_ne!(p.dedupe_key(), parse(b"Subject: x\r\n\r\nother body\r\n")?.dedupe_key());
        Ok(())
    }

    #[test]
    fn nothing_that_looks_like_a_message_is_refused_with_a_code() {
        for raw in [&b""[..], b"this is not a message", b"\r\n\r\nbody only", b"X-Thing: 1\r\n\r\nbody"] {
            let code = parse(raw).err().map(|e| e.code().to_owned());
            assert_eq!(code.as_deref(), Some("mail.parse_failed"), "{}", String::from_utf8_lossy(raw));
        }
    }

    #[test]
    fn the_header_block_ends_at_the_first_blank_line() {
        assert_eq!(header_end(b"A: 1\r\nB: 2\r\n\r\nbody\r\n\r\nmore"), 14);
        assert_eq!(header_end(b"A: 1\nB: 2\n\nbody\n\nmore"), 11);
        assert_eq!(header_end(b"A: 1\r\nB: 2\r\n"), 12, "no blank line: all header");
        assert_eq!(header_end(b"\r\nbody"), 2);
    }

    #[test]
    fn a_long_body_is_truncated_and_says_so() -> Result<()> {
        let body = "é".repeat(MAX_BODY_CHARS + 10);
        let raw = format!("Subject: long\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}");
        let p = parse(raw.as_bytes())?;
        assert!(p.truncated);
        assert_eq!(p.text.chars().count(), MAX_BODY_CHARS);
        Ok(())
    }

    #[test]
    fn auto_replies_keep_their_headers_and_thread_index_is_decoded() -> Result<()> {
        use base64::Engine as _;
        // 22 bytes: a valid root conversation index; 23 bytes is not one.
        let b64 = |n: usize| base64::engine::general_purpose::STANDARD.encode(vec![7u8; n]);
        let raw = format!(
            "Subject: Out of office\r\nAuto-Submitted: auto-replied\r\nReply-To: r@x.com\r\nThread-Index: {}\r\n\r\naway\r\n",
            b64(22)
        );
        let p = parse(raw.as_bytes())?;
        let headers = p.internet_headers.unwrap_or_default();
        assert!(headers.contains("auto-replied") && headers.contains("Reply-To"), "{headers}");
        assert_eq!(p.thread_index.map(|(_, b)| b.len()), Some(22));
        let odd = format!("Subject: x\r\nThread-Index: {}\r\n\r\nx\r\n", b64(23));
        assert_eq!(parse(odd.as_bytes())?.thread_index, None, "not 22 + 5n bytes: not a conversation index");
        Ok(())
    }

    mod generated {
        use super::super::*;
        use proptest::prelude::*;

        /// One MIME part as a generator writes it.
        fn part() -> impl Strategy<Value = String> {
            let content_type = prop::sample::select(vec![
                "",
                "text/plain; charset=utf-8",
                "TEXT/HTML",
                "text/plain; charset=iso-2022-jp",
                "text/csv",
                "application/pdf; name=\"a.pdf\"",
                "image/png",
                "message/rfc822",
                "application/octet-stream",
            ]);
            let encoding = prop::sample::select(vec!["", "base64", "BASE64 ", "quoted-printable", "7bit", "base64x"]);
            let disposition = prop::sample::select(vec!["", "attachment; filename=\"f.bin\"", "inline"]);
            let body = prop_oneof![
                // Valid base64, folded or not.
                (prop::collection::vec(any::<u8>(), 0..300), any::<bool>()).prop_map(|(b, fold)| {
                    use base64::Engine as _;
                    let e = base64::engine::general_purpose::STANDARD.encode(b);
                    if fold {
                        e.as_bytes()
                            .chunks(76)
                            .map(|c| String::from_utf8_lossy(c).into_owned())
                            .collect::<Vec<_>>()
                            .join("\r\n")
                    } else {
                        e
                    }
                }),
                // Anything printable, quoted headers included.
                "[ -~\r\n]{0,200}",
                Just("Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=".to_owned()),
            ];
            (content_type, encoding, disposition, body).prop_map(|(ct, cte, disp, body)| {
                let mut h = String::new();
                if !ct.is_empty() {
                    h += &format!("Content-Type: {ct}\r\n");
                }
                if !cte.is_empty() {
                    h += &format!("Content-Transfer-Encoding: {cte}\r\n");
                }
                if !disp.is_empty() {
                    h += &format!("Content-Disposition: {disp}\r\n");
                }
                format!("{h}\r\n{body}")
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1500))]

            /// Whatever the parts, their types, encodings and contents, cut anywhere and with
            /// either line end: decoding base64 here gives exactly what mail-parser gives, and
            /// never panics.
            #[test]
            fn decoding_base64_here_changes_nothing(
                parts in prop::collection::vec(part(), 1..4),
                single in any::<bool>(),
                cut in any::<prop::sample::Index>(),
                lf in any::<bool>(),
            ) {
                let mut raw = "From: a@x.com\r\nSubject: s\r\nMIME-Version: 1.0\r\n".to_owned();
                if single {
                    raw += &parts[0];
                } else {
                    raw += "Content-Type: multipart/mixed; boundary=\"zz\"\r\n\r\n";
                    for p in &parts {
                        raw += &format!("--zz\r\n{p}\r\n");
                    }
                    raw += "--zz--\r\n";
                }
                let mut raw = raw.into_bytes();
                if lf {
                    raw = String::from_utf8_lossy(&raw).replace("\r\n", "\n").into_bytes();
                }
                let whole = parse(&raw).map_err(|e| e.code().to_owned());
                prop_assert_eq!(whole, parse_decoding_attachments(&raw).map_err(|e| e.code().to_owned()));
                let cut = raw[..cut.index(raw.len() + 1)].to_vec();
                let fast = parse(&cut).map_err(|e| e.code().to_owned());
                prop_assert_eq!(fast, parse_decoding_attachments(&cut).map_err(|e| e.code().to_owned()));
            }
        }
    }
}
