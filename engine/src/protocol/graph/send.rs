//! The body of `sendMail` for a message ServerSync built: Graph takes a message resource, not the
//! MIME bytes (a MIME body cannot be checked against Graph's description and cannot choose
//! whether a copy goes to Sent Items). The Message-ID is kept (`internetMessageId`), and so are
//! In-Reply-To and References, as the MAPI properties Exchange maps those headers to
//! (PidTagInReplyToId 0x1042, PidTagInternetReferences 0x1039): a reply stays in its thread and
//! is correlated when it comes back.

use base64::Engine as _;
use serde_json::{Value, json};

/// Graph refuses a request body larger than this (larger attachments need an upload session).
pub const MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;

/// An attachment to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingAttachment {
    pub name: String,
    pub content_type: String,
    pub content_id: String,
    pub content: Vec<u8>,
}

/// What a message says, as `sendMail` takes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OutgoingMessage {
    /// With its angle brackets.
    pub message_id: String,
    pub subject: String,
    pub html: String,
    pub text: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub bcc: Vec<String>,
    /// With their angle brackets.
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    pub attachments: Vec<OutgoingAttachment>,
}

fn recipients(list: &[String]) -> Value {
    Value::Array(list.iter().map(|a| json!({"emailAddress": {"address": a}})).collect())
}

fn bracketed(id: &str) -> String {
    let id = id.trim();
    if id.starts_with('<') { id.to_owned() } else { format!("<{id}>") }
}

/// The JSON body of `POST /users/{id}/sendMail`.
pub fn send_mail_body(m: &OutgoingMessage, save_to_sent_items: bool) -> Value {
    let (content_type, content) = if m.html.is_empty() { ("text", &m.text) } else { ("html", &m.html) };
    let mut message = json!({
        "subject": m.subject,
        "body": {"contentType": content_type, "content": content},
        "toRecipients": recipients(&m.to),
        "ccRecipients": recipients(&m.cc),
        "bccRecipients": recipients(&m.bcc),
    });
    if !m.message_id.trim().is_empty() {
        message["internetMessageId"] = Value::String(bracketed(&m.message_id));
    }
    let mut props = Vec::new();
    if !m.in_reply_to.is_empty() {
        let v: Vec<String> = m.in_reply_to.iter().map(|i| bracketed(i)).collect();
        props.push(json!({"id": "String 0x1042", "value": v.join(" ")}));
    }
    if !m.references.is_empty() {
        let v: Vec<String> = m.references.iter().map(|i| bracketed(i)).collect();
        props.push(json!({"id": "String 0x1039", "value": v.join(" ")}));
    }
    if !props.is_empty() {
        message["singleValueExtendedProperties"] = Value::Array(props);
    }
    if !m.attachments.is_empty() {
        let b64 = base64::engine::general_purpose::STANDARD;
        message["attachments"] = Value::Array(
            m.attachments
                .iter()
                .map(|a| {
                    let mut v = json!({
                        "@odata.type": "#microsoft.graph.fileAttachment",
                        "name": a.name,
                        "contentType": a.content_type,
                        "contentBytes": b64.encode(&a.content),
                    });
                    if !a.content_id.is_empty() {
                        v["contentId"] = Value::String(a.content_id.clone());
                        v["isInline"] = Value::Bool(true);
                    }
                    v
                })
                .collect(),
        );
    }
    json!({"message": message, "saveToSentItems": save_to_sent_items})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_keeps_the_id_the_thread_the_bcc_and_the_attachments() {
        let m = OutgoingMessage {
            message_id: "<id1@contoso.test>".into(),
            subject: "Re: Offre CRM:0001".into(),
            html: "<p>Bonjour</p>".into(),
            text: "Bonjour".into(),
            to: vec!["a@x.test".into()],
            cc: vec![],
            bcc: vec!["hidden@x.test".into()],
            in_reply_to: vec!["p@x.test".into()],
            references: vec!["<r1@x.test>".into(), "<p@x.test>".into()],
            attachments: vec![OutgoingAttachment {
                name: "a.txt".into(),
                content_type: "text/plain".into(),
                content_id: String::new(),
                content: b"hi".to_vec(),
            }],
        };
        let v = send_mail_body(&m, false);
        assert_eq!(v["saveToSentItems"], false);
        let msg = &v["message"];
        assert_eq!(msg["internetMessageId"], "<id1@contoso.test>");
        assert_eq!(msg["body"]["contentType"], "html");
        assert_eq!(msg["bccRecipients"][0]["emailAddress"]["address"], "hidden@x.test");
        assert_eq!(msg["singleValueExtendedProperties"][0]["value"], "<p@x.test>");
        assert_eq!(msg["singleValueExtendedProperties"][1]["value"], "<r1@x.test> <p@x.test>");
        assert_eq!(msg["attachments"][0]["contentBytes"], "aGk=");
    }

    #[test]
    fn a_text_only_message_without_thread_has_no_extended_properties() {
        let m = OutgoingMessage { text: "plain".into(), to: vec!["a@x.test".into()], ..Default::default() };
        let v = send_mail_body(&m, true);
        assert_eq!(v["message"]["body"]["contentType"], "text");
        assert!(v["message"].get("singleValueExtendedProperties").is_none());
        assert!(v["message"].get("internetMessageId").is_none());
    }
}
