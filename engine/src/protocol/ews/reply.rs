//! What an EWS server answers, read into a small tree of elements by local name (prefixes and
//! namespaces vary between servers and proxies), then into what ServerSync needs: a SOAP fault
//! (with ErrorServerBusy's back-off), each response message's class and code, a SyncFolderItems
//! page, the MIME of GetItem, folders. Pure and bounded (depth, size): fuzzed as a server that
//! lies would send it.

use base64::Engine as _;
use quick_xml::events::Event;

/// An element: its local name, attributes (by local name), text and children.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Node>,
}

/// Deeper than this is refused (no real answer comes close).
const MAX_DEPTH: usize = 64;

fn local(name: &str) -> String {
    name.rsplit(':').next().unwrap_or(name).to_owned()
}

/// Reads a document into its root element.
pub fn parse(xml: &[u8]) -> Result<Node, String> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    reader.config_mut().trim_text(true);
    let mut stack: Vec<Node> = Vec::new();
    let mut buf = Vec::new();
    let open = |e: &quick_xml::events::BytesStart<'_>| -> Result<Node, String> {
        let mut node = Node { name: local(e.name().as_ref()), ..Default::default() };
        for a in e.attributes() {
            let a = a.map_err(|e| e.to_string())?;
            let value = a.normalized_value(quick_xml::XmlVersion::Implicit1_0).map_err(|e| e.to_string())?.into_owned();
            node.attrs.push((local(a.key.as_ref()), value));
        }
        Ok(node)
    };
    loop {
        let event = reader.read_event_into(&mut buf).map_err(|e| e.to_string())?;
        match event {
            Event::Start(e) => {
                if stack.len() >= MAX_DEPTH {
                    return Err("the document is nested too deeply".into());
                }
                stack.push(open(&e)?);
            }
            Event::Empty(e) => {
                let node = open(&e)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => return Ok(node),
                }
            }
            Event::Text(t) => {
                if let Some(n) = stack.last_mut() {
                    n.text.push_str(&t.xml_content(quick_xml::XmlVersion::Implicit1_0));
                }
            }
            Event::GeneralRef(r) => {
                if let Some(n) = stack.last_mut() {
                    if let Some(c) = r.resolve_char_ref().map_err(|e| e.to_string())? {
                        n.text.push(c);
                    } else {
                        let name = r.into_inner();
                        let v = quick_xml::escape::resolve_predefined_entity(&name)
                            .ok_or_else(|| format!("an unknown entity &{name};"))?;
                        n.text.push_str(v);
                    }
                }
            }
            Event::CData(c) => {
                if let Some(n) = stack.last_mut() {
                    n.text.push_str(&c.into_inner());
                }
            }
            Event::End(_) => {
                let node = stack.pop().ok_or("an end tag without its start")?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => return Ok(node),
                }
            }
            Event::Eof => return Err("the document ends before its root element does".into()),
            _ => {}
        }
        buf.clear();
    }
}

impl Node {
    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The children named `name`.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The first element named `name` at any depth (this one included).
    pub fn find(&self, name: &str) -> Option<&Node> {
        if self.name == name {
            return Some(self);
        }
        self.children.iter().find_map(|c| c.find(name))
    }

    /// Every element at any depth whose name satisfies `pred`, in document order.
    pub fn all<'a>(&'a self, pred: &dyn Fn(&Node) -> bool, out: &mut Vec<&'a Node>) {
        if pred(self) {
            out.push(self);
        }
        for c in &self.children {
            c.all(pred, out);
        }
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The text of the child `name`, or "".
    pub fn text_of(&self, name: &str) -> &str {
        self.child(name).map(|c| c.text.as_str()).unwrap_or_default()
    }
}

/// Where the first complete SOAP envelope of a stream ends (just after its `</…Envelope>`), if
/// one is complete: GetStreamingEvents sends one envelope after another on one response, and a
/// network read may hold part of one, or several.
pub fn envelope_end(buf: &[u8]) -> Option<usize> {
    const TAIL: &[u8] = b"Envelope>";
    let mut from = 0;
    while let Some(at) = buf[from..].windows(TAIL.len()).position(|w| w == TAIL).map(|i| from + i) {
        let open = buf[..at].iter().rposition(|&b| b == b'<');
        if let Some(lt) = open
            && buf.get(lt + 1) == Some(&b'/')
        {
            let prefix = &buf[lt + 2..at];
            if prefix.is_empty()
                || (prefix.ends_with(b":")
                    && prefix[..prefix.len() - 1].iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-'))
            {
                return Some(at + TAIL.len());
            }
        }
        from = at + TAIL.len();
    }
    None
}

/// The Inbox events a streaming subscription asks for: new mail, and items created in it
/// (moved or copied in).
pub const STREAMED_EVENTS: [&str; 2] = ["NewMailEvent", "CreatedEvent"];

/// What one envelope of a GetStreamingEvents stream says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamEnvelope {
    /// Events of the kinds subscribed to (new mail, items created in the Inbox).
    pub events: usize,
    /// `ConnectionStatus` Closed: the server ends this connection (the subscription lives on).
    pub closed: bool,
}

/// Reads a GetStreamingEvents response message (not an error).
pub fn stream_envelope(m: &Node) -> StreamEnvelope {
    let mut found = Vec::new();
    m.all(&|n| STREAMED_EVENTS.contains(&n.name.as_str()), &mut found);
    let closed = m.find("ConnectionStatus").is_some_and(|n| n.text.trim() == "Closed");
    StreamEnvelope { events: found.len(), closed }
}

/// A SOAP fault.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fault {
    /// `faultcode` without its prefix (`ErrorServerBusy`, `ErrorSchemaValidation`, `Client`).
    pub code: String,
    pub text: String,
    /// The EWS response code of the detail, when there is one.
    pub response_code: String,
    /// ErrorServerBusy's `BackOffMilliseconds`.
    pub back_off_ms: Option<u64>,
}

/// The fault of an envelope, if it is one.
pub fn fault(root: &Node) -> Option<Fault> {
    let f = root.find("Fault")?;
    let code = f.text_of("faultcode");
    let code = code.rsplit(':').next().unwrap_or(code).trim().to_owned();
    let detail = f.child("detail");
    let response_code = detail.map(|d| d.text_of("ResponseCode").trim().to_owned()).unwrap_or_default();
    let back_off_ms = detail.and_then(|d| d.find("MessageXml")).and_then(|m| {
        m.children_named("Value")
            .find(|v| v.attr("Name") == Some("BackOffMilliseconds"))
            .and_then(|v| v.text.trim().parse().ok())
    });
    Some(Fault { code, text: f.text_of("faultstring").trim().to_owned(), response_code, back_off_ms })
}

/// One `…ResponseMessage` of an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<'a> {
    /// `Success`, `Warning` or `Error`.
    pub class: &'a str,
    pub code: &'a str,
    pub text: &'a str,
    pub node: &'a Node,
}

impl Message<'_> {
    pub fn is_error(&self) -> bool {
        self.class == "Error"
    }
}

/// The response messages of an answer, in order.
pub fn messages(root: &Node) -> Vec<Message<'_>> {
    let mut found = Vec::new();
    root.all(&|n| n.name.ends_with("ResponseMessage") && n.attr("ResponseClass").is_some(), &mut found);
    found
        .into_iter()
        .map(|n| Message {
            class: n.attr("ResponseClass").unwrap_or_default(),
            code: n.text_of("ResponseCode").trim(),
            text: n.text_of("MessageText").trim(),
            node: n,
        })
        .collect()
}

/// One change of a SyncFolderItems page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// An item created (or changed) in the folder.
    Item { id: String, received: Option<chrono::DateTime<chrono::Utc>> },
    /// An item that left the folder.
    Deleted { id: String },
}

/// A SyncFolderItems page.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncPage {
    pub state: String,
    pub last: bool,
    pub changes: Vec<Change>,
}

/// Reads a successful SyncFolderItems response message.
pub fn sync_page(m: &Node) -> Result<SyncPage, String> {
    let state = m.text_of("SyncState").trim().to_owned();
    if state.is_empty() {
        return Err("no SyncState".into());
    }
    let last = m.text_of("IncludesLastItemInRange").trim().eq_ignore_ascii_case("true");
    let mut changes = Vec::new();
    if let Some(c) = m.child("Changes") {
        for ch in &c.children {
            let id_of = |n: &Node| n.find("ItemId").and_then(|i| i.attr("Id")).map(str::to_owned);
            match ch.name.as_str() {
                "Create" | "Update" => {
                    let Some(item) = ch.children.first() else { continue };
                    if item.name != "Message" {
                        continue; // meeting requests and the like: not email
                    }
                    let id = id_of(item).ok_or("a change without an ItemId")?;
                    let received = chrono::DateTime::parse_from_rfc3339(item.text_of("DateTimeReceived").trim())
                        .ok()
                        .map(|d| d.with_timezone(&chrono::Utc));
                    changes.push(Change::Item { id, received });
                }
                "Delete" => {
                    let id = id_of(ch).ok_or("a deletion without an ItemId")?;
                    changes.push(Change::Deleted { id });
                }
                _ => {}
            }
        }
    }
    Ok(SyncPage { state, last, changes })
}

/// The MIME of one GetItem response message.
pub fn mime(m: &Node) -> Result<Vec<u8>, String> {
    let content = m.find("MimeContent").ok_or("no MimeContent")?;
    let b64: String = content.text.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(b64.as_bytes()).map_err(|e| e.to_string())
}

/// The folders of a response message: (id, display name, total count).
pub fn folders(m: &Node) -> Vec<(String, String, Option<u64>)> {
    let mut found = Vec::new();
    m.all(&|n| n.name == "Folder" || n.name.ends_with("Folder") && n.child("FolderId").is_some(), &mut found);
    found
        .into_iter()
        .filter_map(|f| {
            let id = f.child("FolderId")?.attr("Id")?.to_owned();
            Some((id, f.text_of("DisplayName").to_owned(), f.text_of("TotalCount").trim().parse().ok()))
        })
        .collect()
}

/// What a POX answer says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoxAnswer {
    /// The EWS URL.
    Ews(String),
    /// Ask this URL instead.
    RedirectUrl(String),
    /// Ask again for this address.
    RedirectAddr(String),
    /// An error, with its code and message.
    Refused(String),
}

/// Reads a POX answer.
pub fn read_pox(root: &Node) -> std::result::Result<PoxAnswer, String> {
    if let Some(e) = root.find("Error") {
        return Ok(PoxAnswer::Refused(
            format!("{} {}", e.text_of("ErrorCode"), e.text_of("Message")).trim().to_owned(),
        ));
    }
    let account = root.find("Account").ok_or("no Account")?;
    match account.text_of("Action").trim() {
        "redirectUrl" => Ok(PoxAnswer::RedirectUrl(account.text_of("RedirectUrl").trim().to_owned())),
        "redirectAddr" => Ok(PoxAnswer::RedirectAddr(account.text_of("RedirectAddr").trim().to_owned())),
        _ => {
            let protocols: Vec<&Node> = account.children_named("Protocol").collect();
            for kind in ["EXCH", "EXPR", "WEB"] {
                if let Some(url) = protocols
                    .iter()
                    .filter(|p| p.text_of("Type").trim() == kind)
                    .map(|p| p.text_of("EwsUrl").trim())
                    .find(|u| !u.is_empty())
                {
                    return Ok(PoxAnswer::Ews(url.to_owned()));
                }
            }
            Err("no EwsUrl".into())
        }
    }
}

/// Reads a SOAP `GetUserSettings` answer: the external EWS URL, else the internal one.
pub fn read_soap(root: &Node) -> std::result::Result<String, String> {
    let response = root.find("UserResponse").ok_or("no UserResponse")?;
    let code = response.text_of("ErrorCode").trim();
    if !code.is_empty() && code != "NoError" {
        return Err(format!("{code} {}", response.text_of("ErrorMessage")).trim().to_owned());
    }
    let mut settings = Vec::new();
    response.all(&|n| n.name == "UserSetting", &mut settings);
    for name in ["ExternalEwsUrl", "InternalEwsUrl"] {
        if let Some(v) = settings.iter().find(|s| s.text_of("Name").trim() == name).map(|s| s.text_of("Value").trim())
            && !v.is_empty()
        {
            return Ok(v.to_owned());
        }
    }
    Err("no EWS URL among the settings".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUSY: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>
<faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:ErrorServerBusy</faultcode>
<faultstring xml:lang="en-US">The server cannot service this request right now. Try again later.</faultstring>
<detail><e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">ErrorServerBusy</e:ResponseCode>
<e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">The server cannot service this request right now. Try again later.</e:Message>
<t:MessageXml xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><t:Value Name="BackOffMilliseconds">1500</t:Value></t:MessageXml>
</detail></s:Fault></s:Body></s:Envelope>"#;

    #[test]
    fn a_busy_server_gives_its_back_off() -> Result<(), String> {
        let f = fault(&parse(BUSY.as_bytes())?).ok_or("no fault")?;
        assert_eq!(
            (f.code.as_str(), f.response_code.as_str(), f.back_off_ms),
            ("ErrorServerBusy", "ErrorServerBusy", Some(1500))
        );
        Ok(())
    }

    #[test]
    fn a_sync_page_lists_messages_and_deletions() -> Result<(), String> {
        let xml = r#"<s:Envelope xmlns:s="x" xmlns:m="m" xmlns:t="t"><s:Body><m:SyncFolderItemsResponse><m:ResponseMessages>
<m:SyncFolderItemsResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>
<m:SyncState>H4sIA==</m:SyncState><m:IncludesLastItemInRange>false</m:IncludesLastItemInRange>
<m:Changes><t:Create><t:Message><t:ItemId Id="AAA=" ChangeKey="C"/></t:Message></t:Create>
<t:Create><t:MeetingRequest><t:ItemId Id="MMM"/></t:MeetingRequest></t:Create>
<t:Delete><t:ItemId Id="BBB=" ChangeKey="C"/></t:Delete></m:Changes>
</m:SyncFolderItemsResponseMessage></m:ResponseMessages></m:SyncFolderItemsResponse></s:Body></s:Envelope>"#;
        let root = parse(xml.as_bytes())?;
        assert!(fault(&root).is_none());
        let ms = messages(&root);
        assert_eq!(ms.len(), 1);
        assert_eq!((ms[0].class, ms[0].code), ("Success", "NoError"));
        let page = sync_page(ms[0].node)?;
        assert_eq!(page.state, "H4sIA==");
        assert!(!page.last);
        assert_eq!(
            page.changes,
            vec![Change::Item { id: "AAA=".into(), received: None }, Change::Deleted { id: "BBB=".into() }]
        );
        Ok(())
    }

    #[test]
    fn broken_documents_are_errors_not_panics() {
        for xml in ["", "<a>", "<a></b>", "</a>", "<a x='1' x='2'/>", "<<<", "<a>&bogus;</a>"] {
            let _ = parse(xml.as_bytes());
        }
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert!(parse(deep.as_bytes()).is_err());
        assert!(parse(b"<a></b>").is_err());
    }

    const STREAM: &str = concat!(
        r#"<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>"#,
        r#"<m:GetStreamingEventsResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">"#,
        r#"<m:ResponseMessages><m:GetStreamingEventsResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>"#,
        r#"<m:Notifications><t:Notification><t:SubscriptionId>U1VC</t:SubscriptionId><t:PreviousWatermark>AQ==</t:PreviousWatermark><t:MoreEvents>false</t:MoreEvents>"#,
        r#"<t:NewMailEvent><t:Watermark>Ag==</t:Watermark><t:TimeStamp>2026-12-04T10:00:00Z</t:TimeStamp><t:ItemId Id="A1"/><t:ParentFolderId Id="F"/></t:NewMailEvent>"#,
        r#"<t:ModifiedEvent><t:Watermark>Aw==</t:Watermark><t:TimeStamp>2026-12-04T10:00:00Z</t:TimeStamp><t:ItemId Id="A1"/><t:ParentFolderId Id="F"/></t:ModifiedEvent>"#,
        r#"</t:Notification></m:Notifications></m:GetStreamingEventsResponseMessage></m:ResponseMessages></m:GetStreamingEventsResponse></s:Body></s:Envelope>"#,
    );

    #[test]
    fn a_stream_is_cut_into_its_envelopes_wherever_the_reads_end() -> Result<(), String> {
        let closed =
            STREAM.replace("<m:Notifications>", "<m:ConnectionStatus>Closed</m:ConnectionStatus><m:Notifications>");
        let stream = format!("{STREAM}\r\n{closed}");
        // Every way of cutting the stream in two reads gives the same two envelopes.
        for cut in (0..stream.len()).step_by(37) {
            let (mut buf, mut seen) = (Vec::new(), Vec::new());
            for part in [&stream.as_bytes()[..cut], &stream.as_bytes()[cut..]] {
                buf.extend_from_slice(part);
                while let Some(end) = envelope_end(&buf) {
                    let env: Vec<u8> = buf.drain(..end).collect();
                    let root = parse(&env)?;
                    let m = messages(&root).first().map(|m| stream_envelope(m.node)).ok_or("no message")?;
                    seen.push(m);
                }
            }
            let want = [StreamEnvelope { events: 1, closed: false }, StreamEnvelope { events: 1, closed: true }];
            assert_eq!(seen, want, "cut at {cut}");
        }
        assert_eq!(envelope_end(b"<s:Envelope><a>x</a></s:Envelop"), None);
        assert_eq!(envelope_end(b"<Envelope>text Envelope> </Envelope>"), Some(36));
        Ok(())
    }
}
