//! EWS requests as typed values, serialised by quick-xml's serde writer (never put together from
//! strings): the SOAP envelope with `RequestServerVersion` and, when a service account acts for
//! a mailbox, `ExchangeImpersonation`; and the operations ServerSync uses. The element order is
//! the order of Microsoft's schema (`messages.xsd`, `types.xsd`).

use serde::Serialize;

pub const NS_SOAP: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const NS_TYPES: &str = "http://schemas.microsoft.com/exchange/services/2006/types";
pub const NS_MESSAGES: &str = "http://schemas.microsoft.com/exchange/services/2006/messages";
/// The schema version ServerSync speaks: Exchange 2013 SP1 and every later server take it.
pub const SERVER_VERSION: &str = "Exchange2013_SP1";

#[derive(Debug, Serialize)]
#[serde(rename = "soap:Envelope")]
struct Envelope<'a, B: Serialize> {
    #[serde(rename = "@xmlns:soap")]
    soap: &'static str,
    #[serde(rename = "@xmlns:t")]
    t: &'static str,
    #[serde(rename = "@xmlns:m")]
    m: &'static str,
    #[serde(rename = "soap:Header")]
    header: Header<'a>,
    #[serde(rename = "soap:Body")]
    body: B,
}

#[derive(Debug, Serialize)]
struct Header<'a> {
    #[serde(rename = "t:RequestServerVersion")]
    version: Version,
    #[serde(rename = "t:ExchangeImpersonation", skip_serializing_if = "Option::is_none")]
    impersonation: Option<Impersonation<'a>>,
}

#[derive(Debug, Serialize)]
struct Version {
    #[serde(rename = "@Version")]
    version: &'static str,
}

#[derive(Debug, Serialize)]
struct Impersonation<'a> {
    #[serde(rename = "t:ConnectingSID")]
    sid: ConnectingSid<'a>,
}

#[derive(Debug, Serialize)]
struct ConnectingSid<'a> {
    #[serde(rename = "t:PrimarySmtpAddress")]
    address: &'a str,
}

/// A folder named by its well-known name (`inbox`, `sentitems`, `msgfolderroot`).
#[derive(Debug, Serialize)]
pub struct DistinguishedFolder<'a> {
    #[serde(rename = "t:DistinguishedFolderId")]
    id: DistinguishedId<'a>,
}

#[derive(Debug, Serialize)]
struct DistinguishedId<'a> {
    #[serde(rename = "@Id")]
    id: &'a str,
}

/// A folder named by its id.
#[derive(Debug, Serialize)]
pub struct FolderById<'a> {
    #[serde(rename = "t:FolderId")]
    id: IdAttr<'a>,
}

#[derive(Debug, Serialize)]
struct IdAttr<'a> {
    #[serde(rename = "@Id")]
    id: &'a str,
}

#[derive(Debug, Serialize)]
struct ItemShape {
    #[serde(rename = "t:BaseShape")]
    base: &'static str,
    #[serde(rename = "t:IncludeMimeContent", skip_serializing_if = "Option::is_none")]
    mime: Option<bool>,
    #[serde(rename = "t:AdditionalProperties", skip_serializing_if = "Option::is_none")]
    additional: Option<Properties>,
}

#[derive(Debug, Serialize)]
struct Properties {
    #[serde(rename = "t:FieldURI")]
    fields: Vec<FieldUri>,
}

#[derive(Debug, Serialize)]
struct FolderShape {
    #[serde(rename = "t:BaseShape")]
    base: &'static str,
}

#[derive(Debug, Serialize)]
struct ItemIds<'a> {
    #[serde(rename = "t:ItemId")]
    ids: Vec<IdAttr<'a>>,
}

#[derive(Debug, Serialize)]
#[serde(rename = "m:SyncFolderItems")]
struct SyncFolderItems<'a> {
    #[serde(rename = "m:ItemShape")]
    shape: ItemShape,
    #[serde(rename = "m:SyncFolderId")]
    folder: DistinguishedFolder<'a>,
    #[serde(rename = "m:SyncState", skip_serializing_if = "Option::is_none")]
    state: Option<&'a str>,
    #[serde(rename = "m:MaxChangesReturned")]
    max: u32,
    #[serde(rename = "m:SyncScope")]
    scope: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename = "m:GetItem")]
struct GetItem<'a> {
    #[serde(rename = "m:ItemShape")]
    shape: ItemShape,
    #[serde(rename = "m:ItemIds")]
    ids: ItemIds<'a>,
}

#[derive(Debug, Serialize)]
#[serde(rename = "m:CreateItem")]
struct CreateItem<'a> {
    #[serde(rename = "@MessageDisposition")]
    disposition: &'static str,
    #[serde(rename = "m:SavedItemFolderId", skip_serializing_if = "Option::is_none")]
    saved: Option<DistinguishedFolder<'a>>,
    #[serde(rename = "m:Items")]
    items: Items<'a>,
}

#[derive(Debug, Serialize)]
struct Items<'a> {
    #[serde(rename = "t:Message")]
    message: MimeMessage<'a>,
}

#[derive(Debug, Serialize)]
struct MimeMessage<'a> {
    #[serde(rename = "t:MimeContent")]
    mime: MimeContent<'a>,
}

#[derive(Debug, Serialize)]
struct MimeContent<'a> {
    #[serde(rename = "@CharacterSet")]
    charset: &'static str,
    #[serde(rename = "$text")]
    base64: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename = "m:GetFolder")]
struct GetFolder<'a> {
    #[serde(rename = "m:FolderShape")]
    shape: FolderShape,
    #[serde(rename = "m:FolderIds")]
    ids: DistinguishedFolder<'a>,
}

#[derive(Debug, Serialize)]
#[serde(rename = "m:FindFolder")]
struct FindFolder<'a> {
    #[serde(rename = "@Traversal")]
    traversal: &'static str,
    #[serde(rename = "m:FolderShape")]
    shape: FolderShape,
    #[serde(rename = "m:Restriction")]
    restriction: Restriction<'a>,
    #[serde(rename = "m:ParentFolderIds")]
    parents: DistinguishedFolder<'a>,
}

#[derive(Debug, Serialize)]
struct Restriction<'a> {
    #[serde(rename = "t:IsEqualTo")]
    equal: IsEqualTo<'a>,
}

#[derive(Debug, Serialize)]
struct IsEqualTo<'a> {
    #[serde(rename = "t:FieldURI")]
    field: FieldUri,
    #[serde(rename = "t:FieldURIOrConstant")]
    constant: FieldUriOrConstant<'a>,
}

#[derive(Debug, Serialize)]
struct FieldUri {
    #[serde(rename = "@FieldURI")]
    uri: &'static str,
}

#[derive(Debug, Serialize)]
struct FieldUriOrConstant<'a> {
    #[serde(rename = "t:Constant")]
    constant: Constant<'a>,
}

#[derive(Debug, Serialize)]
struct Constant<'a> {
    #[serde(rename = "@Value")]
    value: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename = "m:CreateFolder")]
struct CreateFolder<'a> {
    #[serde(rename = "m:ParentFolderId")]
    parent: DistinguishedFolder<'a>,
    #[serde(rename = "m:Folders")]
    folders: Folders<'a>,
}

#[derive(Debug, Serialize)]
struct Folders<'a> {
    #[serde(rename = "t:Folder")]
    folder: NewFolder<'a>,
}

#[derive(Debug, Serialize)]
struct NewFolder<'a> {
    #[serde(rename = "t:DisplayName")]
    name: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename = "m:MoveItem")]
struct MoveItem<'a> {
    #[serde(rename = "m:ToFolderId")]
    to: FolderById<'a>,
    #[serde(rename = "m:ItemIds")]
    ids: ItemIds<'a>,
}

#[derive(Debug, Serialize)]
#[serde(rename = "m:Subscribe")]
struct Subscribe<'a> {
    #[serde(rename = "m:StreamingSubscriptionRequest")]
    request: StreamingSubscriptionRequest<'a>,
}

#[derive(Debug, Serialize)]
struct StreamingSubscriptionRequest<'a> {
    #[serde(rename = "t:FolderIds")]
    folders: DistinguishedFolder<'a>,
    #[serde(rename = "t:EventTypes")]
    events: EventTypes,
}

#[derive(Debug, Serialize)]
struct EventTypes {
    #[serde(rename = "t:EventType")]
    types: Vec<&'static str>,
}

#[derive(Debug, Serialize)]
#[serde(rename = "m:GetStreamingEvents")]
struct GetStreamingEvents<'a> {
    #[serde(rename = "m:SubscriptionIds")]
    ids: SubscriptionIds<'a>,
    #[serde(rename = "m:ConnectionTimeout")]
    minutes: u32,
}

#[derive(Debug, Serialize)]
struct SubscriptionIds<'a> {
    #[serde(rename = "t:SubscriptionId")]
    id: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename = "m:Unsubscribe")]
struct Unsubscribe<'a> {
    #[serde(rename = "m:SubscriptionId")]
    id: &'a str,
}

pub use super::reply::STREAMED_EVENTS;

/// One EWS operation, ready to be put in an envelope.
#[derive(Debug)]
pub enum Operation<'a> {
    /// The Inbox's changes since `state` (all of it without one), at most `max`.
    SyncInbox { state: Option<&'a str>, max: u32 },
    /// Items with their MIME content.
    GetMime { ids: &'a [String] },
    /// Sends a MIME message (base64), with a copy in Sent Items or not.
    Send { mime_base64: &'a str, save_copy: bool },
    /// The Inbox's folder (its item count).
    GetInbox,
    /// A top-level folder by display name.
    FindFolder { name: &'a str },
    /// A new top-level folder.
    CreateFolder { name: &'a str },
    /// Moves items to a folder.
    Move { ids: &'a [String], folder: &'a str },
    /// A streaming subscription to the Inbox's [`STREAMED_EVENTS`].
    SubscribeInbox,
    /// The events of a streaming subscription, on a connection held open for `minutes` (1–30).
    GetStreamingEvents { subscription: &'a str, minutes: u32 },
    /// Ends a subscription.
    Unsubscribe { subscription: &'a str },
}

impl Operation<'_> {
    /// The operation's name, as the SOAPAction and the logs say it.
    pub fn name(&self) -> &'static str {
        match self {
            Operation::SyncInbox { .. } => "SyncFolderItems",
            Operation::GetMime { .. } => "GetItem",
            Operation::Send { .. } => "CreateItem",
            Operation::GetInbox => "GetFolder",
            Operation::FindFolder { .. } => "FindFolder",
            Operation::CreateFolder { .. } => "CreateFolder",
            Operation::Move { .. } => "MoveItem",
            Operation::SubscribeInbox => "Subscribe",
            Operation::GetStreamingEvents { .. } => "GetStreamingEvents",
            Operation::Unsubscribe { .. } => "Unsubscribe",
        }
    }
}

fn folder(id: &str) -> DistinguishedFolder<'_> {
    DistinguishedFolder { id: DistinguishedId { id } }
}

fn ids(list: &[String]) -> ItemIds<'_> {
    ItemIds { ids: list.iter().map(|id| IdAttr { id }).collect() }
}

fn envelope<B: Serialize>(impersonate: Option<&str>, body: B) -> Result<String, quick_xml::SeError> {
    let e = Envelope {
        soap: NS_SOAP,
        t: NS_TYPES,
        m: NS_MESSAGES,
        header: Header {
            version: Version { version: SERVER_VERSION },
            impersonation: impersonate.map(|address| Impersonation { sid: ConnectingSid { address } }),
        },
        body,
    };
    Ok(format!("<?xml version=\"1.0\" encoding=\"utf-8\"?>{}", quick_xml::se::to_string(&e)?))
}

#[derive(Debug, Serialize)]
struct Body<T: Serialize> {
    #[serde(rename = "$value")]
    op: T,
}

/// The request body of `op`, acting for `impersonate` when set.
pub fn request(op: &Operation<'_>, impersonate: Option<&str>) -> Result<String, quick_xml::SeError> {
    match *op {
        Operation::SyncInbox { state, max } => envelope(
            impersonate,
            Body {
                op: SyncFolderItems {
                    shape: ItemShape {
                        base: "IdOnly",
                        mime: None,
                        additional: Some(Properties { fields: vec![FieldUri { uri: "item:DateTimeReceived" }] }),
                    },
                    folder: folder("inbox"),
                    state,
                    max,
                    scope: "NormalItems",
                },
            },
        ),
        Operation::GetMime { ids: list } => envelope(
            impersonate,
            Body {
                op: GetItem { shape: ItemShape { base: "IdOnly", mime: Some(true), additional: None }, ids: ids(list) },
            },
        ),
        Operation::Send { mime_base64, save_copy } => envelope(
            impersonate,
            Body {
                op: CreateItem {
                    disposition: if save_copy { "SendAndSaveCopy" } else { "SendOnly" },
                    saved: save_copy.then(|| folder("sentitems")),
                    items: Items {
                        message: MimeMessage { mime: MimeContent { charset: "UTF-8", base64: mime_base64 } },
                    },
                },
            },
        ),
        Operation::GetInbox => envelope(
            impersonate,
            Body { op: GetFolder { shape: FolderShape { base: "Default" }, ids: folder("inbox") } },
        ),
        Operation::FindFolder { name } => envelope(
            impersonate,
            Body {
                op: FindFolder {
                    traversal: "Shallow",
                    shape: FolderShape { base: "Default" },
                    restriction: Restriction {
                        equal: IsEqualTo {
                            field: FieldUri { uri: "folder:DisplayName" },
                            constant: FieldUriOrConstant { constant: Constant { value: name } },
                        },
                    },
                    parents: folder("msgfolderroot"),
                },
            },
        ),
        Operation::CreateFolder { name } => envelope(
            impersonate,
            Body {
                op: CreateFolder { parent: folder("msgfolderroot"), folders: Folders { folder: NewFolder { name } } },
            },
        ),
        Operation::Move { ids: list, folder: to } => {
            envelope(impersonate, Body { op: MoveItem { to: FolderById { id: IdAttr { id: to } }, ids: ids(list) } })
        }
        Operation::SubscribeInbox => envelope(
            impersonate,
            Body {
                op: Subscribe {
                    request: StreamingSubscriptionRequest {
                        folders: folder("inbox"),
                        events: EventTypes { types: STREAMED_EVENTS.to_vec() },
                    },
                },
            },
        ),
        Operation::GetStreamingEvents { subscription, minutes } => envelope(
            impersonate,
            Body {
                op: GetStreamingEvents { ids: SubscriptionIds { id: subscription }, minutes: minutes.clamp(1, 30) },
            },
        ),
        Operation::Unsubscribe { subscription } => envelope(impersonate, Body { op: Unsubscribe { id: subscription } }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// Microsoft's EWS schemas and their validator, beside the repository.
    fn fixtures() -> PathBuf {
        let shared = std::env::var_os("SERVERSYNC_SHARED")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
        shared.join("fixtures/ews")
    }

    /// Every request ServerSync makes validates against Microsoft's schemas (the strict profile:
    /// the operation itself is checked, not only the envelope).
    #[test]
    fn every_request_validates_against_the_ews_schemas() {
        let ids = vec!["AAMkAD=".to_owned(), "AAMkAE=".to_owned()];
        let ops = [
            Operation::SyncInbox { state: None, max: 100 },
            Operation::SyncInbox { state: Some("H4sIAAAA"), max: 512 },
            Operation::GetMime { ids: &ids },
            Operation::Send { mime_base64: "RnJvbTogYUB4LnRlc3QNCg0KaGk=", save_copy: true },
            Operation::Send { mime_base64: "RnJvbTogYUB4LnRlc3QNCg0KaGk=", save_copy: false },
            Operation::GetInbox,
            Operation::FindFolder { name: "Undeliverable & <old>" },
            Operation::CreateFolder { name: "Undeliverable" },
            Operation::Move { ids: &ids, folder: "AQMkAD=" },
            Operation::SubscribeInbox,
            Operation::GetStreamingEvents { subscription: "U1VCUw==", minutes: 30 },
            Operation::Unsubscribe { subscription: "U1VCUw==" },
        ];
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut files = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            for impersonate in [None, Some("nancy@contoso.test")] {
                let xml = request(op, impersonate).unwrap_or_else(|e| panic!("{op:?}: {e}"));
                let f = dir.path().join(format!("{i}-{}.xml", impersonate.is_some()));
                std::fs::write(&f, xml).unwrap_or_else(|e| panic!("{e}"));
                files.push(f);
            }
        }
        let out = std::process::Command::new("bash")
            .arg(fixtures().join("validate.sh"))
            .args(&files)
            .output()
            .unwrap_or_else(|e| panic!("validate.sh: {e}"));
        assert!(
            out.status.success(),
            "requests that do not validate:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn a_sync_request_has_the_schema_order_and_the_impersonated_address() {
        let xml = request(&Operation::SyncInbox { state: Some("S"), max: 10 }, Some("a@x.test")).unwrap_or_default();
        let at = |s: &str| xml.find(s).unwrap_or_else(|| panic!("{s} missing in {xml}"));
        assert!(at("<m:ItemShape>") < at("<m:SyncFolderId>"));
        assert!(at("<m:SyncFolderId>") < at("<m:SyncState>S</m:SyncState>"));
        assert!(at("<m:SyncState>") < at("<m:MaxChangesReturned>10</m:MaxChangesReturned>"));
        assert!(xml.contains(
            "<t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>a@x.test</t:PrimarySmtpAddress>"
        ));
    }
}
