#!/usr/bin/env python3
"""An Exchange Web Services (EWS) test server for ServerSync's tests (Exchange Server cannot run here).

HTTPS (the tests' throwaway CA, HTTP/1.1 keep-alive): EWS SOAP 1.1 at /EWS/Exchange.asmx and
Autodiscover (POX at /autodiscover/autodiscover.xml, SOAP at /autodiscover/autodiscover.svc) over a
small stateful mail store, behind NTLM (NTLMv2, verified against the user's password), Basic and
Bearer authentication. Every EWS request is validated against the strict SOAP envelope schema of
shared/fixtures/ews (ews-soap-envelope.xsd + Microsoft's messages.xsd/types.xsd); one that fails is
answered with Exchange's ErrorSchemaValidation fault and recorded as a violation. The server's own
answers are validated too: one that fails is recorded as a violation (a bug of this server).
Plain HTTP on a second port: the admin API the tests drive (see README.md).

    server.py --state DIR --fixtures DIR
"""
import argparse, base64, email, email.header, email.message, email.policy, email.utils, hashlib, hmac, json, os, re, secrets, socket, ssl
import struct, sys, threading, time, traceback, uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape as _escape

from lxml import etree

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
T = "http://schemas.microsoft.com/exchange/services/2006/types"
M = "http://schemas.microsoft.com/exchange/services/2006/messages"
E = "http://schemas.microsoft.com/exchange/services/2006/errors"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XSD = "http://www.w3.org/2001/XMLSchema"
AD = "http://schemas.microsoft.com/exchange/2010/Autodiscover"
WSA = "http://www.w3.org/2005/08/addressing"
POX_REQUEST = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
POX_RESPONSE = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
POX_RESPONSE_A = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
GET_USER_SETTINGS_ACTION = "http://schemas.microsoft.com/exchange/2010/Autodiscover/Autodiscover/GetUserSettings"

NETBIOS_DOMAIN = "CONTOSO"
DNS_DOMAIN = "contoso.com"
SERVER_NAME = "EXCH01"
MAX_BODY = 64 * 1024 * 1024
# Exchange Server 2016 CU23 (15.1.2507.6).
VERSION_INFO = ('MajorVersion="15" MinorVersion="1" MajorBuildNumber="2507" MinorBuildNumber="6" '
                'Version="V2017_07_11"')

# Well-known folders: distinguished id -> (display name, parent's distinguished id).
WELL_KNOWN = {
    "root": ("Root", None),
    "msgfolderroot": ("Top of Information Store", "root"),
    "inbox": ("Inbox", "msgfolderroot"),
    "sentitems": ("Sent Items", "msgfolderroot"),
    "drafts": ("Drafts", "msgfolderroot"),
    "deleteditems": ("Deleted Items", "msgfolderroot"),
    "outbox": ("Outbox", "msgfolderroot"),
    "junkemail": ("Junk Email", "msgfolderroot"),
}

TEXTS = {
    "ErrorItemNotFound": "The specified object was not found in the store.",
    "ErrorFolderNotFound": "The specified folder could not be found in the store.",
    "ErrorInvalidIdMalformed": "Id is malformed.",
    "ErrorAccessDenied": "Access is denied. Check credentials and try again.",
    "ErrorNonExistentMailbox": "The SMTP address has no mailbox associated with it.",
    "ErrorInvalidSyncStateData": "Synchronization state data is corrupt or otherwise invalid.",
    "ErrorFolderExists": "A folder with the specified name already exists.",
    "ErrorSendAsDenied": "The user account which was used to submit this request does not have the right to "
                         "send mail on behalf of the specified sending account., Cannot submit message.",
    "ErrorSubscriptionNotFound": "The specified subscription was not found.",
    "ErrorMimeContentInvalid": "The MIME content is invalid.",
    "ErrorMessageDispositionRequired": "MessageDisposition attribute is required.",
    "ErrorImpersonateUserDenied": "The account does not have permission to impersonate the requested user.",
    "ErrorServerBusy": "The server cannot service this request right now. Try again later.",
    "ErrorInvalidRequest": "The request is invalid.",
    "ErrorSchemaValidation": "The request failed schema validation.",
}

CONFIG_DEFAULTS = {
    "pox": True,                # POX Autodiscover answers (False: 404)
    "soap": True,               # SOAP Autodiscover answers (False: 404)
    "pox_redirect_url": None,   # POX Autodiscover answers with Action redirectUrl to this URL
    "basic": True,              # Basic authentication accepted and offered
    "ews_url_override": None,   # the EWS URL Autodiscover hands out
    "send_as_check": False,     # CreateItem: a From other than the acting mailbox -> ErrorSendAsDenied
    "stream_heartbeat_s": 10.0,  # GetStreamingEvents: seconds between ConnectionStatus OK envelopes
    "stream_minute_s": 60.0,    # GetStreamingEvents: seconds per minute of ConnectionTimeout
    "entra_token_url": None,    # Hybrid Modern Auth: where an unknown bearer token is looked up (the
                                # Graph test server's admin GET /tokens/<token>); None: not trusted
}

LOCK = threading.RLock()
EVENTS = threading.Condition(LOCK)
VALIDATE_LOCK = threading.Lock()
SCHEMA = None
FIXTURES = None
BASE = None  # https://127.0.0.1:<port>


# ---------------------------------------------------------------- small helpers
_XML_BAD = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def esc(s):
    """Text for element content and double-quoted attributes (characters XML 1.0 forbids dropped)."""
    return _escape(_XML_BAD.sub("", str(s)), {'"': "&quot;"})


def iso(ts):
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text):
    """An ISO 8601 or RFC 2822 date -> epoch seconds; None when it is neither."""
    if not text:
        return None
    try:
        d = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        if d.tzinfo is None:
            d = d.replace(tzinfo=timezone.utc)
        return d.timestamp()
    except ValueError:
        pass
    try:
        return email.utils.parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError):
        return None


def new_item_id():
    # Shaped like Exchange's ids (base64, "AAMkA..."), random otherwise.
    return base64.b64encode(b"\x00\x03\x24\x00" + secrets.token_bytes(65)).decode()


def new_folder_id():
    return base64.b64encode(b"\x00\x03\x2e\x00" + secrets.token_bytes(41)).decode()


def new_change_key(folder=False):
    return base64.b64encode((b"\x01" if folder else b"\x09") + b"\x00\x00\x00\x16\x00\x00\x00"
                            + secrets.token_bytes(16)).decode()


def well_formed_id(s):
    try:
        base64.b64decode(s, validate=True)
        return bool(s)
    except ValueError:
        return False


def local(el):
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def kids(el):
    """The child elements (no comments or processing instructions) of el; none when el is None."""
    return [] if el is None else [c for c in el if isinstance(c.tag, str)]


def child(el, ns, name):
    return None if el is None else el.find(f"{{{ns}}}{name}")


def text_of(el, ns, name, default=None):
    c = child(el, ns, name)
    return default if c is None or c.text is None else c.text.strip()


# ---------------------------------------------------------------- NTLM
def md4(data):
    """MD4 (RFC 1320); hashlib has none on OpenSSL 3 without its legacy provider."""
    try:
        return hashlib.new("md4", data).digest()
    except ValueError:
        pass
    mask = 0xFFFFFFFF

    def rol(v, s):
        v &= mask
        return ((v << s) | (v >> (32 - s))) & mask

    msg = bytearray(data) + b"\x80"
    while len(msg) % 64 != 56:
        msg.append(0)
    msg += struct.pack("<Q", (8 * len(data)) & 0xFFFFFFFFFFFFFFFF)
    a, b, c, d = 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476
    for off in range(0, len(msg), 64):
        x = struct.unpack("<16I", bytes(msg[off:off + 64]))
        aa, bb, cc, dd = a, b, c, d
        for i in range(16):
            k, s = i, (3, 7, 11, 19)[i % 4]
            if i % 4 == 0:
                a = rol(a + ((b & c) | (~b & d)) + x[k], s)
            elif i % 4 == 1:
                d = rol(d + ((a & b) | (~a & c)) + x[k], s)
            elif i % 4 == 2:
                c = rol(c + ((d & a) | (~d & b)) + x[k], s)
            else:
                b = rol(b + ((c & d) | (~c & a)) + x[k], s)
        for i in range(16):
            k, s = i // 4 + 4 * (i % 4), (3, 5, 9, 13)[i % 4]
            if i % 4 == 0:
                a = rol(a + ((b & c) | (b & d) | (c & d)) + x[k] + 0x5A827999, s)
            elif i % 4 == 1:
                d = rol(d + ((a & b) | (a & c) | (b & c)) + x[k] + 0x5A827999, s)
            elif i % 4 == 2:
                c = rol(c + ((d & a) | (d & b) | (a & b)) + x[k] + 0x5A827999, s)
            else:
                b = rol(b + ((c & d) | (c & a) | (d & a)) + x[k] + 0x5A827999, s)
        order3 = (0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15)
        for i in range(16):
            k, s = order3[i], (3, 9, 11, 15)[i % 4]
            if i % 4 == 0:
                a = rol(a + (b ^ c ^ d) + x[k] + 0x6ED9EBA1, s)
            elif i % 4 == 1:
                d = rol(d + (a ^ b ^ c) + x[k] + 0x6ED9EBA1, s)
            elif i % 4 == 2:
                c = rol(c + (d ^ a ^ b) + x[k] + 0x6ED9EBA1, s)
            else:
                b = rol(b + (c ^ d ^ a) + x[k] + 0x6ED9EBA1, s)
        a, b, c, d = (a + aa) & mask, (b + bb) & mask, (c + cc) & mask, (d + dd) & mask
    return struct.pack("<4I", a, b, c, d)


def ntowfv2(password, user, domain):
    nt_hash = md4(password.encode("utf-16-le"))
    return hmac.new(nt_hash, (user.upper() + domain).encode("utf-16-le"), hashlib.md5).digest()


NTLM_UNICODE, NTLM_OEM, NTLM_REQUEST_TARGET = 0x1, 0x2, 0x4
NTLM_SIGN, NTLM_SEAL, NTLM_NTLM, NTLM_ALWAYS_SIGN = 0x10, 0x20, 0x200, 0x8000
NTLM_TARGET_TYPE_DOMAIN, NTLM_EXTENDED_SESSIONSECURITY = 0x10000, 0x80000
NTLM_TARGET_INFO, NTLM_VERSION, NTLM_128, NTLM_KEY_EXCH, NTLM_56 = 0x800000, 0x2000000, 0x20000000, 0x40000000, 0x80000000


def ntlm_challenge(negotiate):
    """A CHALLENGE_MESSAGE (type 2) answering the NEGOTIATE_MESSAGE: (message, server challenge)."""
    client_flags = struct.unpack_from("<I", negotiate, 12)[0] if len(negotiate) >= 16 else 0
    challenge = secrets.token_bytes(8)
    flags = (NTLM_UNICODE | NTLM_REQUEST_TARGET | NTLM_NTLM | NTLM_ALWAYS_SIGN | NTLM_TARGET_TYPE_DOMAIN
             | NTLM_EXTENDED_SESSIONSECURITY | NTLM_TARGET_INFO | NTLM_VERSION | NTLM_128 | NTLM_56
             | (client_flags & (NTLM_SIGN | NTLM_SEAL | NTLM_KEY_EXCH)))

    def av(kind, value):
        return struct.pack("<HH", kind, len(value)) + value

    u16 = lambda s: s.encode("utf-16-le")
    filetime = int((time.time() + 11644473600) * 10_000_000)
    info = (av(2, u16(NETBIOS_DOMAIN)) + av(1, u16(SERVER_NAME)) + av(4, u16(DNS_DOMAIN))
            + av(3, u16(f"{SERVER_NAME.lower()}.{DNS_DOMAIN}")) + av(5, u16(DNS_DOMAIN))
            + av(7, struct.pack("<Q", filetime)) + av(0, b""))
    target = u16(NETBIOS_DOMAIN)
    head = 56
    msg = (b"NTLMSSP\x00" + struct.pack("<I", 2) + struct.pack("<HHI", len(target), len(target), head)
           + struct.pack("<I", flags) + challenge + b"\x00" * 8
           + struct.pack("<HHI", len(info), len(info), head + len(target))
           + bytes([10, 0]) + struct.pack("<H", 20348) + b"\x00\x00\x00\x0f" + target + info)
    return msg, challenge


def ntlm_type(data):
    if len(data) < 12 or data[:8] != b"NTLMSSP\x00":
        return None
    return struct.unpack_from("<I", data, 8)[0]


def ntlm_authenticate_fields(data):
    """The AUTHENTICATE_MESSAGE (type 3): (user, domain, workstation, nt response)."""
    if len(data) < 52:
        raise ValueError("AUTHENTICATE_MESSAGE too short")

    def field(off):
        ln, _, at = struct.unpack_from("<HHI", data, off)
        if at + ln > len(data):
            raise ValueError("field out of bounds")
        return data[at:at + ln]

    flags = struct.unpack_from("<I", data, 60)[0] if len(data) >= 64 else NTLM_UNICODE
    enc = "utf-16-le" if flags & NTLM_UNICODE else "latin-1"
    return (field(36).decode(enc, "replace"), field(28).decode(enc, "replace"),
            field(44).decode(enc, "replace"), field(20))


def ntlmv2_valid(challenge, user, domain, nt_response, password):
    if len(nt_response) <= 24:  # NTLMv1 (24 bytes) or anonymous: refused
        return False
    key = ntowfv2(password, user, domain)
    proof = hmac.new(key, challenge + nt_response[16:], hashlib.md5).digest()
    return hmac.compare_digest(proof, nt_response[:16])


# ---------------------------------------------------------------- MIME
def header_text(msg, name):
    try:
        v = msg.get(name)
        return None if v is None else str(v)
    except Exception:
        return None


def raw_header_text(raw, name):
    """A header field read from the bytes themselves: 8-bit text as UTF-8 (else Windows-1252), encoded
    words decoded. For headers the email package could only read with replacement characters."""
    head, _ = split_head(raw)
    m = re.search(rb"(?im)^" + re.escape(name.encode()) + rb":[ \t]*(.*(?:\r?\n[ \t].*)*)", head)
    if not m:
        return None
    value = re.sub(rb"\r?\n(?=[ \t])", b"", m.group(1)).rstrip(b"\r")
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        text = value.decode("cp1252", "replace")
    try:
        return str(email.header.make_header(email.header.decode_header(text)))
    except Exception:
        return text


def mime_summary(raw):
    """Subject, Message-ID, From, To/Cc/Bcc addresses and more, read tolerantly from raw MIME."""
    out = {"subject": None, "internet_message_id": None, "from": None, "to": [], "cc": [], "bcc": [],
           "date": None, "in_reply_to": None, "references": None, "has_attachments": False}
    for policy in (email.policy.default, email.policy.compat32):
        try:
            msg = email.message_from_bytes(raw, policy=policy)
            out["subject"] = header_text(msg, "Subject")
            if out["subject"] and "\ufffd" in out["subject"]:
                out["subject"] = raw_header_text(raw, "Subject")
            out["internet_message_id"] = (header_text(msg, "Message-ID") or "").strip() or None
            out["in_reply_to"] = (header_text(msg, "In-Reply-To") or "").strip() or None
            out["references"] = (header_text(msg, "References") or "").strip() or None
            out["date"] = header_text(msg, "Date")
            for key, name in (("to", "To"), ("cc", "Cc"), ("bcc", "Bcc")):
                values = [str(v) for v in (msg.get_all(name) or [])]
                out[key] = [a for (_, a) in email.utils.getaddresses(values) if a]
            frm = email.utils.getaddresses([header_text(msg, "From") or ""])
            out["from"] = frm[0] if frm and frm[0][1] else None
            try:
                out["has_attachments"] = any(p.get_content_disposition() == "attachment" for p in msg.walk())
            except Exception:
                pass
            if policy is email.policy.compat32 and out["subject"]:
                try:
                    out["subject"] = str(email.header.make_header(email.header.decode_header(out["subject"])))
                except Exception:
                    pass
            return out
        except Exception:
            continue
    return out


def split_head(raw):
    """(header block, separator + body) of raw MIME bytes."""
    for sep in (b"\r\n\r\n", b"\n\n"):
        i = raw.find(sep)
        if i >= 0:
            return raw[:i], raw[i:]
    return raw, b""


def without_header(raw, name):
    """raw with every `name:` header field (and its folded lines) removed; the rest byte for byte."""
    head, rest = split_head(raw)
    eol = b"\r\n" if b"\r\n" in head or rest.startswith(b"\r\n") else b"\n"
    out, skipping = [], False
    for line in head.split(eol):
        if line[:1] in (b" ", b"\t") and skipping:
            continue
        skipping = line.lower().startswith(name.lower().encode() + b":")
        if not skipping:
            out.append(line)
    return eol.join(out) + rest


def with_header(raw, name, value):
    head, _ = split_head(raw)
    eol = b"\r\n" if b"\r\n" in raw[:len(head) + 2] else b"\n"
    return f"{name}: {value}".encode() + eol + raw


# ---------------------------------------------------------------- store
class Store:
    def __init__(self):
        self.users = {}        # mail (lower case) -> user
        self.tokens = {}       # bearer token -> mail (lower case)
        self.apps = {}         # Entra application id (lower case) -> its principal (Hybrid Modern Auth)
        self.item_owner = {}   # item id -> mail (lower case)
        self.folder_owner = {}  # folder id -> mail (lower case)
        self.syncstates = {}   # SyncState -> {"user", "folder", "epoch", "known": {item id: change key}}
        self.subscriptions = {}  # SubscriptionId -> {"user", "folders", "types", "events", "all"}
        self.watermark = 0
        self.requests = []
        self.violations = []
        self.outbound = []
        self.faults = []
        self.config = dict(CONFIG_DEFAULTS)

    def user(self, mail):
        return self.users.get((mail or "").strip().lower())

    def add_user(self, mail, password, impersonation=False, display_name=None):
        key = mail.lower()
        u = self.users.get(key)
        if u:
            u.update(password=password, impersonation=bool(impersonation))
            if display_name:
                u["display_name"] = display_name
            return u
        u = {"mail": mail, "password": password, "impersonation": bool(impersonation),
             "display_name": display_name or mail.split("@")[0], "folders": {}, "wk": {}, "items": {},
             "seq": 0, "gone": {}, "epoch": 0}
        self.users[key] = u
        for wk, (name, parent) in WELL_KNOWN.items():
            f = self.new_folder(u, name, u["wk"].get(parent) if parent else None, wk)
            u["wk"][wk] = f["id"]
        return u

    def new_folder(self, u, name, parent_id, wk=None, folder_class="IPF.Note"):
        f = {"id": new_folder_id(), "ck": new_change_key(True), "name": name, "parent": parent_id, "wk": wk,
             "class": folder_class}
        u["folders"][f["id"]] = f
        self.folder_owner[f["id"]] = u["mail"].lower()
        return f

    def folder_by_name(self, u, key):
        """A folder by distinguished id, id or display name (case-insensitive)."""
        if key.lower() in u["wk"]:
            return u["folders"][u["wk"][key.lower()]]
        if key in u["folders"]:
            return u["folders"][key]
        for f in u["folders"].values():
            if f["name"].lower() == key.lower():
                return f
        return None

    def next_seq(self, u):
        u["seq"] += 1
        return u["seq"]

    def put(self, u, folder, raw, received=None, read=False, new_mail=True):
        info = mime_summary(raw)
        seq = self.next_seq(u)
        it = {"id": new_item_id(), "ck": new_change_key(), "folder": folder["id"], "raw": raw,
              "received": received if received is not None else time.time(), "read": read,
              "fseq": seq, "useq": seq, **info}
        u["items"][it["id"]] = it
        self.item_owner[it["id"]] = u["mail"].lower()
        self.event(u, folder["id"], it["id"], ("NewMailEvent", "CreatedEvent") if new_mail else ("CreatedEvent",))
        return it

    def remove(self, u, it):
        del u["items"][it["id"]]
        self.item_owner.pop(it["id"], None)
        u["gone"][(it["folder"], it["id"])] = self.next_seq(u)
        self.event(u, it["folder"], it["id"], ("DeletedEvent",))

    def move(self, u, it, folder):
        """Moves an item: it gets a new id (as on Exchange); returns the moved item."""
        self.remove(u, it)
        seq = self.next_seq(u)
        moved = dict(it, id=new_item_id(), ck=new_change_key(), folder=folder["id"], fseq=seq, useq=seq)
        u["items"][moved["id"]] = moved
        self.item_owner[moved["id"]] = u["mail"].lower()
        self.event(u, folder["id"], moved["id"], ("CreatedEvent",))
        return moved

    def touch(self, u, it):
        it["ck"] = new_change_key()
        it["useq"] = self.next_seq(u)
        self.event(u, it["folder"], it["id"], ("ModifiedEvent",))

    def event(self, u, folder_id, item_id, kinds):
        for sid, sub in self.subscriptions.items():
            if sub["user"] != u["mail"].lower() or not (sub["all"] or folder_id in sub["folders"]):
                continue
            for kind in kinds:
                if kind in sub["types"]:
                    self.watermark += 1
                    sub["events"].append({"kind": kind, "item": item_id, "folder": folder_id,
                                          "ck": u["folders"][folder_id]["ck"], "t": time.time(),
                                          "watermark": base64.b64encode(f"wm{self.watermark}".encode()).decode()})
        EVENTS.notify_all()

    def violation(self, what, error, **more):
        self.violations.append({"t": time.time(), "what": what, "error": error, **more})


S = Store()


# ---------------------------------------------------------------- XML building
def envelope(body):
    return ('<?xml version="1.0" encoding="utf-8"?>'
            f'<s:Envelope xmlns:s="{SOAP}"><s:Header>'
            f'<h:ServerVersionInfo {VERSION_INFO} xmlns:h="{T}" xmlns="{T}" xmlns:xsi="{XSI}" xmlns:xsd="{XSD}"/>'
            f'</s:Header><s:Body xmlns:xsi="{XSI}" xmlns:xsd="{XSD}">{body}</s:Body></s:Envelope>')


def fault_envelope(code, text, detail_xml=""):
    return ('<?xml version="1.0" encoding="utf-8"?>'
            f'<s:Envelope xmlns:s="{SOAP}"><s:Body><s:Fault>'
            f'<faultcode xmlns:a="{T}">a:{code}</faultcode>'
            f'<faultstring xml:lang="en-US">{esc(text)}</faultstring>'
            f'<detail><e:ResponseCode xmlns:e="{E}">{code}</e:ResponseCode>'
            f'<e:Message xmlns:e="{E}">{esc(TEXTS.get(code, text))}</e:Message>{detail_xml}</detail>'
            '</s:Fault></s:Body></s:Envelope>')


def message_xml_values(values):
    inner = "".join(f'<t:Value Name="{esc(k)}">{esc(v)}</t:Value>' for k, v in values.items())
    return f'<t:MessageXml xmlns:t="{T}">{inner}</t:MessageXml>'


def op_response(op, messages):
    return (f'<m:{op}Response xmlns:m="{M}" xmlns:t="{T}"><m:ResponseMessages>'
            + "".join(messages) + f'</m:ResponseMessages></m:{op}Response>')


def ok(name, inner=""):
    return f'<m:{name} ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>{inner}</m:{name}>'


def err(name, code, text=None, inner="", values=None):
    xml = ""
    if values:
        xml = "<m:MessageXml>" + "".join(f'<t:Value Name="{esc(k)}">{esc(v)}</t:Value>'
                                         for k, v in values.items()) + "</m:MessageXml>"
    return (f'<m:{name} ResponseClass="Error"><m:MessageText>{esc(text or TEXTS.get(code, code))}</m:MessageText>'
            f'<m:ResponseCode>{code}</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>{xml}{inner}</m:{name}>')


class EwsError(Exception):
    def __init__(self, code, text=None, values=None):
        super().__init__(code)
        self.code, self.text, self.values = code, text or TEXTS.get(code, code), values


class Fault(Exception):
    """A request answered with a SOAP fault (HTTP 500)."""

    def __init__(self, code, text=None, detail_xml=""):
        super().__init__(code)
        self.code, self.text, self.detail_xml = code, text or TEXTS.get(code, code), detail_xml


def mailbox_xml(tag, name, addr):
    return (f"<t:{tag}><t:Mailbox>" + (f"<t:Name>{esc(name)}</t:Name>" if name else "")
            + f"<t:EmailAddress>{esc(addr)}</t:EmailAddress><t:RoutingType>SMTP</t:RoutingType>"
            + f"</t:Mailbox></t:{tag}>")


def recipients_xml(tag, addrs):
    if not addrs:
        return ""
    return (f"<t:{tag}>" + "".join(f"<t:Mailbox><t:EmailAddress>{esc(a)}</t:EmailAddress>"
                                    "<t:RoutingType>SMTP</t:RoutingType></t:Mailbox>" for a in addrs) + f"</t:{tag}>")


DEFAULT_ITEM_PROPS = {"item:ParentFolderId", "item:ItemClass", "item:Subject", "item:DateTimeReceived", "item:Size",
                      "item:DateTimeSent", "item:DateTimeCreated", "item:HasAttachments", "message:From",
                      "message:ToRecipients", "message:CcRecipients", "message:InternetMessageId", "message:IsRead"}
ALL_ITEM_PROPS = DEFAULT_ITEM_PROPS | {"item:InReplyTo", "message:References", "message:BccRecipients"}


def item_shape(shape):
    """(MIME wanted, property paths) of an ItemShape element."""
    base = text_of(shape, T, "BaseShape", "IdOnly")
    mime = text_of(shape, T, "IncludeMimeContent", "false") in ("true", "1")
    props = set()
    add = child(shape, T, "AdditionalProperties")
    if add is not None:
        for f in kids(add):
            if local(f) == "FieldURI" and f.get("FieldURI"):
                props.add(f.get("FieldURI"))
    if "item:MimeContent" in props:
        mime = True
    if base == "Default":
        props |= DEFAULT_ITEM_PROPS
    elif base == "AllProperties":
        props |= ALL_ITEM_PROPS
    return mime, props


def item_xml(u, it, mime, props):
    p = []
    if mime:
        p.append(f'<t:MimeContent CharacterSet="UTF-8">{base64.b64encode(it["raw"]).decode()}</t:MimeContent>')
    p.append(f'<t:ItemId Id="{esc(it["id"])}" ChangeKey="{esc(it["ck"])}"/>')
    if "item:ParentFolderId" in props:
        f = u["folders"][it["folder"]]
        p.append(f'<t:ParentFolderId Id="{esc(f["id"])}" ChangeKey="{esc(f["ck"])}"/>')
    if "item:ItemClass" in props:
        p.append("<t:ItemClass>IPM.Note</t:ItemClass>")
    if "item:Subject" in props and it["subject"] is not None:
        p.append(f"<t:Subject>{esc(it['subject'])}</t:Subject>")
    if "item:DateTimeReceived" in props:
        p.append(f"<t:DateTimeReceived>{iso(it['received'])}</t:DateTimeReceived>")
    if "item:Size" in props:
        p.append(f"<t:Size>{len(it['raw'])}</t:Size>")
    if "item:InReplyTo" in props and it["in_reply_to"]:
        p.append(f"<t:InReplyTo>{esc(it['in_reply_to'])}</t:InReplyTo>")
    if "item:DateTimeSent" in props:
        p.append(f"<t:DateTimeSent>{iso(parse_time(it['date']) or it['received'])}</t:DateTimeSent>")
    if "item:DateTimeCreated" in props:
        p.append(f"<t:DateTimeCreated>{iso(it['received'])}</t:DateTimeCreated>")
    if "item:HasAttachments" in props:
        p.append(f"<t:HasAttachments>{'true' if it['has_attachments'] else 'false'}</t:HasAttachments>")
    if "message:ToRecipients" in props:
        p.append(recipients_xml("ToRecipients", it["to"]))
    if "message:CcRecipients" in props:
        p.append(recipients_xml("CcRecipients", it["cc"]))
    if "message:BccRecipients" in props:
        p.append(recipients_xml("BccRecipients", it["bcc"]))
    if "message:From" in props and it["from"]:
        p.append(mailbox_xml("From", it["from"][0], it["from"][1]))
    if "message:InternetMessageId" in props and it["internet_message_id"]:
        p.append(f"<t:InternetMessageId>{esc(it['internet_message_id'])}</t:InternetMessageId>")
    if "message:IsRead" in props:
        p.append(f"<t:IsRead>{'true' if it['read'] else 'false'}</t:IsRead>")
    if "message:References" in props and it["references"]:
        p.append(f"<t:References>{esc(it['references'])}</t:References>")
    return "<t:Message>" + "".join(p) + "</t:Message>"


FOLDER_DEFAULT = {"folder:DisplayName", "folder:TotalCount", "folder:ChildFolderCount", "folder:UnreadCount"}
FOLDER_ALL = FOLDER_DEFAULT | {"folder:ParentFolderId", "folder:FolderClass"}


def folder_shape(shape):
    base = text_of(shape, T, "BaseShape", "IdOnly")
    props = set()
    add = child(shape, T, "AdditionalProperties")
    if add is not None:
        props = {f.get("FieldURI") for f in kids(add) if local(f) == "FieldURI"}
    if base == "Default":
        props |= FOLDER_DEFAULT
    elif base == "AllProperties":
        props |= FOLDER_ALL
    return props


def folder_values(u, f):
    items = [i for i in u["items"].values() if i["folder"] == f["id"]]
    return {"folder:DisplayName": f["name"], "folder:FolderClass": f["class"], "folder:TotalCount": len(items),
            "folder:UnreadCount": sum(1 for i in items if not i["read"]),
            "folder:ChildFolderCount": sum(1 for g in u["folders"].values() if g["parent"] == f["id"])}


def folder_xml(u, f, props):
    v = folder_values(u, f)
    p = [f'<t:FolderId Id="{esc(f["id"])}" ChangeKey="{esc(f["ck"])}"/>']
    if "folder:ParentFolderId" in props and f["parent"]:
        parent = u["folders"][f["parent"]]
        p.append(f'<t:ParentFolderId Id="{esc(parent["id"])}" ChangeKey="{esc(parent["ck"])}"/>')
    if "folder:FolderClass" in props:
        p.append(f"<t:FolderClass>{esc(f['class'])}</t:FolderClass>")
    if "folder:DisplayName" in props:
        p.append(f"<t:DisplayName>{esc(f['name'])}</t:DisplayName>")
    if "folder:TotalCount" in props:
        p.append(f"<t:TotalCount>{v['folder:TotalCount']}</t:TotalCount>")
    if "folder:ChildFolderCount" in props:
        p.append(f"<t:ChildFolderCount>{v['folder:ChildFolderCount']}</t:ChildFolderCount>")
    if "folder:UnreadCount" in props:
        p.append(f"<t:UnreadCount>{v['folder:UnreadCount']}</t:UnreadCount>")
    return "<t:Folder>" + "".join(p) + "</t:Folder>"


def restriction_matches(el, values):
    """Evaluates a folder Restriction (And, Or, Not, IsEqualTo and the other comparisons, Contains, Exists)."""
    kind = local(el)
    if kind == "Restriction":
        return all(restriction_matches(c, values) for c in kids(el))
    if kind == "And":
        return all(restriction_matches(c, values) for c in kids(el))
    if kind == "Or":
        return any(restriction_matches(c, values) for c in kids(el))
    if kind == "Not":
        return not all(restriction_matches(c, values) for c in kids(el))
    field = child(el, T, "FieldURI")
    name = field.get("FieldURI") if field is not None else None
    if kind == "Exists":
        return name in values
    value = values.get(name)
    if kind == "Contains":
        const = child(el, T, "Constant")
        needle = (const.get("Value") if const is not None else "") or ""
        hay = str(value or "")
        if el.get("ContainmentComparison", "Exact") != "Exact":
            needle, hay = needle.lower(), hay.lower()
        mode = el.get("ContainmentMode", "FullString")
        return {"FullString": hay == needle, "Prefixed": hay.startswith(needle)}.get(mode, needle in hay)
    const = el.find(f"{{{T}}}FieldURIOrConstant/{{{T}}}Constant")
    if const is None or value is None:
        return False
    want = const.get("Value", "")
    if isinstance(value, int):
        try:
            want, have = int(want), value
        except ValueError:
            return False
    else:
        want, have = want.lower(), str(value).lower()  # Exchange compares strings case-insensitively
    return {"IsEqualTo": have == want, "IsNotEqualTo": have != want, "IsGreaterThan": have > want,
            "IsGreaterThanOrEqualTo": have >= want, "IsLessThan": have < want,
            "IsLessThanOrEqualTo": have <= want}.get(kind, True)


# ---------------------------------------------------------------- validation
def validate(doc):
    """None when doc (an lxml tree) is valid against the strict envelope schema, else (message, line, column)."""
    with VALIDATE_LOCK:
        if SCHEMA.validate(doc):
            return None
        e = SCHEMA.error_log.last_error
        return (e.message if e else "invalid", e.line if e else 0, e.column if e else 0)


def xml_parser():
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True, load_dtd=False)


def check_own_answer(data, what, op):
    """Records a violation when one of this server's own EWS answers is not valid."""
    try:
        why = validate(etree.fromstring(data, xml_parser()).getroottree())
    except etree.XMLSyntaxError as e:
        why = (str(e), 0, 0)
    if why:
        with LOCK:
            S.violation("response (server bug)", why[0], operation=op, kind=what)


# ---------------------------------------------------------------- HTTPS: EWS and Autodiscover
class Exchange(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-IIS/10.0"
    sys_version = ""
    timeout = 120  # idle keep-alive connections are closed after this

    def setup(self):
        super().setup()
        # Headers and body go out in two writes: without this, Nagle's algorithm holds the body back
        # until the client's delayed ACK (40 ms per request).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.ntlm_challenge = None
        self.conn_user = None  # authenticated by NTLM on this connection

    def log_message(self, fmt, *args):
        sys.stderr.write("ews: %s %s\n" % (self.address_string(), fmt % args))

    def version_string(self):
        return self.server_version

    # ---------------- HTTP plumbing
    def reply(self, status, data=b"", ctype="text/xml; charset=utf-8", headers=()):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.send_response(status)
        if data:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("request-id", str(uuid.uuid4()))
        self.send_header("X-FEServer", SERVER_NAME)
        self.send_header("X-Powered-By", "ASP.NET")
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.wfile.flush()
        self.status = status

    def read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
                if len(out) > MAX_BODY:
                    raise ValueError("request body too large")
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            raise ValueError("request body too large")
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        self.handle_any("GET")

    def do_HEAD(self):
        self.handle_any("HEAD")

    def do_POST(self):
        self.handle_any("POST")

    def handle_any(self, method):
        started = time.time()
        self.status = 0
        path = urlsplit(self.path).path.lower()
        entry = {"t": started, "method": method, "path": self.path, "operation": None, "auth": None, "user": None,
                 "acting_as": None, "impersonation": False, "status": 0, "server_version": None, "auth_step": None,
                 "response_code": None}
        try:
            body = self.read_body()
        except (ValueError, OSError) as e:
            self.close_connection = True
            self.reply(400, f"bad request body: {e}", "text/plain")
            return
        try:
            if path == "/ews/exchange.asmx" and method == "POST":
                self.ews(entry, body)
            elif path in ("/ews/exchange.asmx", "/ews/services.wsdl") and method in ("GET", "HEAD"):
                entry["operation"] = "GET " + path
                if self.authenticate(entry):
                    if path.endswith(".wsdl"):
                        with open(os.path.join(FIXTURES, "services.wsdl"), "rb") as f:
                            self.reply(200, f.read())
                    else:
                        self.reply(200, "<html><body>Exchange Web Services</body></html>", "text/html")
            elif path == "/autodiscover/autodiscover.xml":
                self.pox(entry, method, body)
            elif path == "/autodiscover/autodiscover.svc":
                self.soap_autodiscover(entry, method, body)
            else:
                self.reply(404)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, socket.timeout):
            self.close_connection = True
        except Exception as e:  # a bug of this server: recorded, answered 500
            traceback.print_exc()
            with LOCK:
                S.violation("server error", repr(e), operation=entry["operation"])
            if not self.status:
                try:
                    self.reply(500, fault_envelope("ErrorInternalServerError", f"Internal server error: {e!r}"))
                except OSError:
                    self.close_connection = True
        entry["status"] = self.status
        entry["duration_ms"] = round((time.time() - started) * 1000, 1)
        with LOCK:
            S.requests.append(entry)

    # ---------------- authentication
    def challenge_headers(self, ntlm_token=None):
        if ntlm_token is not None:
            return [("WWW-Authenticate", "NTLM " + base64.b64encode(ntlm_token).decode())]
        h = [("WWW-Authenticate", "NTLM")]
        with LOCK:
            basic = S.config["basic"]
        if basic:
            h.append(("WWW-Authenticate", 'Basic realm="127.0.0.1"'))
        return h

    def unauthorized(self, entry, step="refused"):
        entry["auth_step"] = step
        self.reply(401, b"", headers=self.challenge_headers())
        return None

    @staticmethod
    def candidates(name, domain=""):
        """The users a sign-in name (alice, CONTOSO\\alice, alice@contoso.com) and domain may mean."""
        if "\\" in name:
            domain, name = name.split("\\", 1)
        with LOCK:
            users = list(S.users.values())
        if "@" in name:
            return [u for u in users if u["mail"].lower() == name.lower()]
        out = []
        for u in users:
            localpart, _, dom = u["mail"].partition("@")
            if localpart.lower() != name.lower():
                continue
            if domain and domain.upper() not in (NETBIOS_DOMAIN, dom.upper(), dom.split(".")[0].upper()):
                continue
            out.append(u)
        return out

    def entra_app(self, url, token):
        """(the app's principal, None) for an Entra token issued for this server to a registered app,
        else (None, why): what Exchange checks of an HMA token (issuer, audience, application)."""
        import urllib.error, urllib.request
        try:
            with urllib.request.urlopen(url.rstrip("/") + "/" + token, timeout=5) as r:
                grant = json.loads(r.read())
        except urllib.error.HTTPError:
            return None, "unknown token"
        except (OSError, ValueError):
            return None, "token not checked"
        port = BASE.rsplit(":", 1)[1]
        audiences = {f"https://127.0.0.1:{port}", f"https://localhost:{port}", "https://localhost"}
        if str(grant.get("resource", "")).rstrip("/").lower() not in audiences:
            return None, "wrong audience"
        with LOCK:
            app = S.apps.get(str(grant.get("client_id", "")).lower())
        if app is None:
            return None, "application not allowed"
        return app, None

    def authenticate(self, entry):
        """The authenticated user, or None after answering 401."""
        header = self.headers.get("Authorization")
        if not header:
            if self.conn_user is not None:
                entry["auth"], entry["user"] = "NTLM", self.conn_user["mail"]
                entry["auth_step"] = "connection"
                return self.conn_user
            return self.unauthorized(entry, "none")
        scheme, _, cred = header.strip().partition(" ")
        scheme = scheme.lower()
        cred = cred.strip()
        if scheme == "ntlm":
            entry["auth"] = "NTLM"
            try:
                data = base64.b64decode(cred, validate=True)
            except ValueError:
                return self.unauthorized(entry, "bad token")
            kind = ntlm_type(data)
            if kind == 1:
                token, self.ntlm_challenge = ntlm_challenge(data)
                self.conn_user = None
                entry["auth_step"] = "challenge"
                self.reply(401, b"", headers=self.challenge_headers(token))
                return None
            if kind == 3:
                challenge, self.ntlm_challenge = self.ntlm_challenge, None
                if challenge is None:
                    return self.unauthorized(entry, "no challenge on this connection")
                try:
                    user, domain, _, nt = ntlm_authenticate_fields(data)
                except (ValueError, struct.error):
                    return self.unauthorized(entry, "bad authenticate message")
                for u in self.candidates(user, domain):
                    if ntlmv2_valid(challenge, user, domain, nt, u["password"]):
                        self.conn_user = u
                        entry["user"], entry["auth_step"] = u["mail"], "authenticated"
                        return u
                entry["ntlm_user"] = f"{domain}\\{user}" if domain else user
                return self.unauthorized(entry, "wrong credentials")
            return self.unauthorized(entry, "bad token")
        if scheme == "basic":
            entry["auth"] = "Basic"
            with LOCK:
                enabled = S.config["basic"]
            if not enabled:
                return self.unauthorized(entry, "basic disabled")
            try:
                name, _, password = base64.b64decode(cred, validate=True).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                return self.unauthorized(entry, "bad token")
            for u in self.candidates(name):
                if hmac.compare_digest(u["password"].encode(), password.encode()):
                    entry["user"] = u["mail"]
                    return u
            return self.unauthorized(entry, "wrong credentials")
        if scheme == "bearer":
            entry["auth"] = "Bearer"
            with LOCK:
                mail = S.tokens.get(cred)
                u = S.users.get(mail) if mail else None
                trusted = S.config["entra_token_url"]
            if u is None and trusted:
                u, why = self.entra_app(trusted, cred)
                if u is None:
                    return self.unauthorized(entry, why)
            if u is None:
                return self.unauthorized(entry, "unknown token")
            entry["user"] = u["mail"]
            return u
        entry["auth"] = scheme
        return self.unauthorized(entry, "unsupported scheme")

    # ---------------- EWS
    def ews(self, entry, body):
        try:
            doc = etree.fromstring(body, xml_parser()).getroottree()
        except etree.XMLSyntaxError as e:
            doc, syntax = None, e
        if doc is not None:
            b = kids(doc.getroot().find(f"{{{SOAP}}}Body"))
            if b:
                entry["operation"] = local(b[0])
        auth = self.authenticate(entry)
        if auth is None:
            return
        ctype = (self.headers.get("Content-Type") or "").lower()
        if not ctype.startswith("text/xml"):
            with LOCK:
                S.violation("request", f"Content-Type {ctype!r}: EWS (SOAP 1.1) takes text/xml; charset=utf-8",
                            operation=entry["operation"])
            return self.reply(415, f"Cannot process the message because the content type '{ctype}' was not the "
                                   "expected type 'text/xml; charset=utf-8'.", "text/plain")
        if doc is None:
            why = (f"The request failed schema validation: {syntax.msg}", syntax.lineno or 0, syntax.offset or 0)
        else:
            why = validate(doc)
            if why:
                why = (f"The request failed schema validation: {why[0]}", why[1], why[2])
        if why:
            with LOCK:
                S.violation("request", why[0], operation=entry["operation"])
            detail = (f'<t:MessageXml xmlns:t="{T}"><t:LineNumber>{why[1]}</t:LineNumber>'
                      f'<t:LinePosition>{why[2]}</t:LinePosition><t:Violation>{esc(why[0])}</t:Violation></t:MessageXml>')
            return self.send_fault(entry, Fault("ErrorSchemaValidation", why[0], detail))
        root = doc.getroot()
        header = root.find(f"{{{SOAP}}}Header")
        op_el = kids(root.find(f"{{{SOAP}}}Body"))[0]
        op = local(op_el)
        version = header.find(f"{{{T}}}RequestServerVersion") if header is not None else None
        if version is not None:
            entry["server_version"] = version.get("Version")
        else:
            with LOCK:
                S.violation("request", "no t:RequestServerVersion in soap:Header", operation=op)
        try:
            acting = self.acting_mailbox(entry, auth, header)
        except Fault as f:
            return self.send_fault(entry, f)
        # Faults set through the admin API.
        with LOCK:
            hits = []
            for f in list(S.faults):
                if f.get("user") and f["user"].lower() != acting["mail"].lower():
                    continue
                if any(h["kind"] == f["kind"] for h in hits):
                    continue
                hits.append(f)
                f["count"] -= 1
                if f["count"] <= 0:
                    S.faults.remove(f)
        kinds = {h["kind"]: h for h in hits}
        if "slow" in kinds:
            time.sleep(float(kinds["slow"].get("seconds", 1)))
        if "drop" in kinds:
            entry["response_code"] = "dropped"
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if "status" in kinds:
            entry["response_code"] = f"HTTP {kinds['status'].get('status', 503)}"
            return self.reply(int(kinds["status"].get("status", 503)), b"")
        if "server_busy" in kinds:
            backoff = int(kinds["server_busy"].get("backoff_ms", 1000))
            return self.send_fault(entry, Fault("ErrorServerBusy", None,
                                                message_xml_values({"BackOffMilliseconds": backoff})))
        handler = getattr(self, "op_" + op, None)
        if handler is None:
            with LOCK:
                S.violation("unsupported operation", f"the test server does not implement {op}", operation=op)
            return self.send_fault(entry, Fault("ErrorInvalidRequest", f"The test server does not implement {op}."))
        ctx = {"auth": auth, "acting": acting, "op": op, "entry": entry}
        if op == "GetStreamingEvents":
            return handler(ctx, op_el)
        try:
            with LOCK:
                result = handler(ctx, op_el)
        except Fault as f:
            return self.send_fault(entry, f)
        codes = re.findall(r"<m:ResponseCode>([^<]*)</m:ResponseCode>", result)
        entry["response_code"] = codes[0] if len(set(codes)) == 1 else ",".join(codes) or None
        data = envelope(result).encode("utf-8")
        check_own_answer(data, "answer", op)
        if "malformed" in kinds:
            entry["response_code"] = "malformed"
            data = data[:max(1, len(data) // 2)]
        self.reply(200, data)

    def send_fault(self, entry, f):
        entry["response_code"] = f.code
        data = fault_envelope(f.code, f.text, f.detail_xml).encode("utf-8")
        check_own_answer(data, "fault", entry.get("operation"))
        self.reply(500, data)

    def acting_mailbox(self, entry, auth, header):
        imp = header.find(f"{{{T}}}ExchangeImpersonation") if header is not None else None
        if imp is None and auth.get("app"):
            # An application has no mailbox of its own: it must say whose it acts for.
            raise Fault("ErrorInvalidExchangeImpersonationHeaderData")
        if imp is None:
            entry["acting_as"] = auth["mail"]
            return auth
        sid = child(imp, T, "ConnectingSID")
        target = None
        for name in ("PrimarySmtpAddress", "SmtpAddress", "PrincipalName", "SID"):
            target = text_of(sid, T, name)
            if target:
                break
        entry["impersonation"] = True
        entry["acting_as"] = target
        with LOCK:
            u = S.user(target)
        if u is not None and u is auth:
            entry["acting_as"] = auth["mail"]
            return auth
        if not auth["impersonation"]:
            raise Fault("ErrorImpersonateUserDenied")
        if u is None:
            raise Fault("ErrorNonExistentMailbox", None, message_xml_values({"SmtpAddress": target or ""}))
        entry["acting_as"] = u["mail"]
        return u

    # ---------------- ids
    def resolve_folder(self, ctx, el):
        """(user, folder) of a FolderId / DistinguishedFolderId element or of the element holding one."""
        if local(el) not in ("FolderId", "DistinguishedFolderId"):
            el = next((c for c in kids(el) if local(c) in ("FolderId", "DistinguishedFolderId")), None)
            if el is None:
                raise EwsError("ErrorInvalidRequest", "No folder id.")
        u = ctx["acting"]
        if local(el) == "DistinguishedFolderId":
            addr = el.findtext(f"{{{T}}}Mailbox/{{{T}}}EmailAddress")
            if addr and addr.strip().lower() != u["mail"].lower():
                other = S.user(addr)
                if other is None:
                    raise EwsError("ErrorNonExistentMailbox", values={"SmtpAddress": addr.strip()})
                if not ctx["auth"]["impersonation"] and other is not ctx["auth"]:
                    raise EwsError("ErrorAccessDenied")
                u = other
            fid = u["wk"].get(el.get("Id"))
            if fid is None:
                raise EwsError("ErrorFolderNotFound")
            return u, u["folders"][fid]
        fid = el.get("Id", "")
        if fid in u["folders"]:
            return u, u["folders"][fid]
        if fid in S.folder_owner:
            raise EwsError("ErrorAccessDenied")
        raise EwsError("ErrorFolderNotFound" if well_formed_id(fid) else "ErrorInvalidIdMalformed")

    def resolve_item(self, ctx, el):
        iid = el.get("Id", "")
        u = ctx["acting"]
        it = u["items"].get(iid)
        if it is not None:
            return u, it
        if iid in S.item_owner:
            raise EwsError("ErrorAccessDenied")
        raise EwsError("ErrorItemNotFound" if well_formed_id(iid) else "ErrorInvalidIdMalformed")

    # ---------------- operations (called with LOCK held)
    def op_SyncFolderItems(self, ctx, el):
        name = "SyncFolderItemsResponseMessage"
        _, props = item_shape(child(el, M, "ItemShape"))  # never MIME content, as on Exchange
        try:
            u, f = self.resolve_folder(ctx, child(el, M, "SyncFolderId"))
        except EwsError as e:
            return op_response(ctx["op"], [err(name, e.code, e.text, values=e.values)])
        token = text_of(el, M, "SyncState")
        limit = int(text_of(el, M, "MaxChangesReturned", "512"))
        ignore = {i.get("Id") for i in kids(child(el, M, "Ignore"))}
        known = {}
        if token:
            st = S.syncstates.get(token)
            if (st is None or st["user"] != u["mail"].lower() or st["folder"] != f["id"]
                    or st["epoch"] != u["epoch"]):
                return op_response(ctx["op"], [err(name, "ErrorInvalidSyncStateData")])
            known = st["known"]
        current = {i["id"]: i for i in u["items"].values() if i["folder"] == f["id"] and i["id"] not in ignore}
        changes = []
        for iid, it in current.items():
            if iid not in known:
                changes.append((it["fseq"], "Create", it))
            elif known[iid] != it["ck"]:
                changes.append((it["useq"], "Update", it))
        for iid in known:
            if iid not in current:
                changes.append((u["gone"].get((f["id"], iid), 0), "Delete", iid))
        changes.sort(key=lambda c: c[0])
        page, more = changes[:limit], len(changes) > limit
        known = dict(known)
        out = []
        for _, kind, x in page:
            if kind == "Delete":
                known.pop(x, None)
                out.append(f'<t:Delete><t:ItemId Id="{esc(x)}"/></t:Delete>')
            else:
                known[x["id"]] = x["ck"]
                out.append(f"<t:{kind}>{item_xml(u, x, False, props)}</t:{kind}>")
        new_token = base64.b64encode(b"SYNC" + secrets.token_bytes(32)).decode()
        S.syncstates[new_token] = {"user": u["mail"].lower(), "folder": f["id"], "epoch": u["epoch"], "known": known}
        inner = (f"<m:SyncState>{new_token}</m:SyncState>"
                 f"<m:IncludesLastItemInRange>{'false' if more else 'true'}</m:IncludesLastItemInRange>"
                 + ("<m:Changes>" + "".join(out) + "</m:Changes>" if out else "<m:Changes/>"))
        ctx["entry"]["changes"] = len(page)
        return op_response(ctx["op"], [ok(name, inner)])

    def op_GetItem(self, ctx, el):
        name = "GetItemResponseMessage"
        mime, props = item_shape(child(el, M, "ItemShape"))
        msgs = []
        for idel in kids(child(el, M, "ItemIds")):
            if local(idel) != "ItemId":
                msgs.append(err(name, "ErrorInvalidRequest", "Only t:ItemId is supported by the test server.",
                                "<m:Items/>"))
                continue
            try:
                u, it = self.resolve_item(ctx, idel)
            except EwsError as e:
                msgs.append(err(name, e.code, e.text, "<m:Items/>"))
                continue
            msgs.append(ok(name, "<m:Items>" + item_xml(u, it, mime, props) + "</m:Items>"))
        return op_response(ctx["op"], msgs)

    def op_CreateItem(self, ctx, el):
        name = "CreateItemResponseMessage"
        disposition = el.get("MessageDisposition")
        u = ctx["acting"]
        saved = child(el, M, "SavedItemFolderId")
        msgs = []
        for item in kids(child(el, M, "Items")):
            if local(item) != "Message":
                msgs.append(err(name, "ErrorInvalidRequest", "Only t:Message items are supported by the test server.",
                                "<m:Items/>"))
                continue
            if disposition is None:
                msgs.append(err(name, "ErrorMessageDispositionRequired", inner="<m:Items/>"))
                continue
            try:
                msgs.append(self.create_message(ctx, u, item, disposition, saved))
            except EwsError as e:
                msgs.append(err(name, e.code, e.text, "<m:Items/>", e.values))
        return op_response(ctx["op"], msgs)

    def create_message(self, ctx, u, item, disposition, saved):
        name = "CreateItemResponseMessage"
        extra = {}
        for key, tag in (("to", "ToRecipients"), ("cc", "CcRecipients"), ("bcc", "BccRecipients")):
            c = child(item, T, tag)
            extra[key] = [a.strip() for a in (c.xpath("t:Mailbox/t:EmailAddress/text()", namespaces={"t": T})
                                              if c is not None else []) if a.strip()]
        mime = child(item, T, "MimeContent")
        if mime is not None:
            try:
                raw = base64.b64decode("".join((mime.text or "").split()), validate=True)
            except ValueError:
                raise EwsError("ErrorMimeContentInvalid")
            if not raw.strip():
                raise EwsError("ErrorMimeContentInvalid")
        else:
            msg = email.message.EmailMessage()
            frm = item.findtext(f"{{{T}}}From/{{{T}}}Mailbox/{{{T}}}EmailAddress")
            msg["From"] = frm or u["mail"]
            if extra["to"]:
                msg["To"] = ", ".join(extra["to"])
            if extra["cc"]:
                msg["Cc"] = ", ".join(extra["cc"])
            msg["Subject"] = text_of(item, T, "Subject", "")
            msg["Date"] = email.utils.format_datetime(datetime.now(timezone.utc))
            body = child(item, T, "Body")
            text = body.text if body is not None and body.text else ""
            if body is not None and body.get("BodyType", "Text") == "HTML":
                msg.set_content(text, subtype="html")
            else:
                msg.set_content(text)
            raw = msg.as_bytes(policy=email.policy.SMTP)
            extra["to"], extra["cc"] = [], []
        info = mime_summary(raw)
        if not info["internet_message_id"]:
            raw = with_header(raw, "Message-ID", f"<{uuid.uuid4().hex}@{DNS_DOMAIN}>")
        if info["from"] is None:
            raw = with_header(raw, "From", u["mail"])
        info = mime_summary(raw)
        sender = info["from"][1] if info["from"] else u["mail"]
        if S.config["send_as_check"] and sender.lower() != u["mail"].lower() and disposition != "SaveOnly":
            raise EwsError("ErrorSendAsDenied")

        def merge(a, b):
            out = list(a)
            out += [x for x in b if x.lower() not in {y.lower() for y in out}]
            return out

        to, cc, bcc = merge(info["to"], extra["to"]), merge(info["cc"], extra["cc"]), merge(info["bcc"], extra["bcc"])
        if disposition == "SaveOnly":
            if saved is not None:
                owner, folder = self.resolve_folder(ctx, saved)
            else:
                owner, folder = u, u["folders"][u["wk"]["drafts"]]
            it = S.put(owner, folder, raw, read=True, new_mail=False)
            return ok(name, f'<m:Items><t:Message><t:ItemId Id="{esc(it["id"])}" ChangeKey="{esc(it["ck"])}"/>'
                            "</t:Message></m:Items>")
        if not (to or cc or bcc):
            raise EwsError("ErrorInvalidRecipients", "At least one recipient is required, but none were found.")
        target = None
        if disposition == "SendAndSaveCopy":
            target = self.resolve_folder(ctx, saved) if saved is not None else (u, u["folders"][u["wk"]["sentitems"]])
        delivered = without_header(raw, "Bcc")
        for r in dict.fromkeys(a.lower() for a in to + cc + bcc):
            dest = S.user(r)
            if dest is not None:
                S.put(dest, dest["folders"][dest["wk"]["inbox"]], delivered)
        if target is not None:
            S.put(target[0], target[1], raw, read=True, new_mail=False)
        S.outbound.append({"t": time.time(), "from": sender, "acting_as": u["mail"], "to": to, "cc": cc, "bcc": bcc,
                           "message_id": info["internet_message_id"], "subject": info["subject"],
                           "disposition": disposition})
        return ok(name, "<m:Items/>")

    def op_FindFolder(self, ctx, el):
        name = "FindFolderResponseMessage"
        props = folder_shape(child(el, M, "FolderShape"))
        deep = el.get("Traversal") == "Deep"
        restriction = child(el, M, "Restriction")
        view = child(el, M, "IndexedPageFolderView")
        msgs = []
        for pel in kids(child(el, M, "ParentFolderIds")):
            try:
                u, parent = self.resolve_folder(ctx, pel)
            except EwsError as e:
                msgs.append(err(name, e.code, e.text, values=e.values))
                continue
            found, todo = [], [parent["id"]]
            while todo:
                pid = todo.pop(0)
                children = sorted((f for f in u["folders"].values() if f["parent"] == pid),
                                  key=lambda f: f["name"].lower())
                for f in children:
                    if restriction is None or restriction_matches(restriction, folder_values(u, f)):
                        found.append(f)
                    if deep:
                        todo.append(f["id"])
            total = len(found)
            offset = 0
            if view is not None:
                offset = int(view.get("Offset", "0"))
                if view.get("BasePoint") == "End":
                    offset = max(0, total - offset - int(view.get("MaxEntriesReturned", total) or total))
                found = found[offset:]
                if view.get("MaxEntriesReturned"):
                    found = found[:int(view.get("MaxEntriesReturned"))]
            last = offset + len(found) >= total
            attrs = (f' IndexedPagingOffset="{offset + len(found)}"' if view is not None else "")
            folders = "".join(folder_xml(u, f, props) for f in found)
            msgs.append(ok(name, f'<m:RootFolder{attrs} TotalItemsInView="{total}" '
                                 f'IncludesLastItemInRange="{"true" if last else "false"}">'
                                 f"<t:Folders>{folders}</t:Folders></m:RootFolder>"))
        return op_response(ctx["op"], msgs)

    def op_GetFolder(self, ctx, el):
        name = "GetFolderResponseMessage"
        props = folder_shape(child(el, M, "FolderShape"))
        msgs = []
        for fel in kids(child(el, M, "FolderIds")):
            try:
                u, f = self.resolve_folder(ctx, fel)
            except EwsError as e:
                msgs.append(err(name, e.code, e.text, values=e.values))
                continue
            msgs.append(ok(name, "<m:Folders>" + folder_xml(u, f, props) + "</m:Folders>"))
        return op_response(ctx["op"], msgs)

    def op_CreateFolder(self, ctx, el):
        name = "CreateFolderResponseMessage"
        try:
            u, parent = self.resolve_folder(ctx, child(el, M, "ParentFolderId"))
        except EwsError as e:
            return op_response(ctx["op"], [err(name, e.code, e.text, values=e.values)
                                           for _ in kids(child(el, M, "Folders"))])
        msgs = []
        for fel in kids(child(el, M, "Folders")):
            display = text_of(fel, T, "DisplayName")
            if not display:
                msgs.append(err(name, "ErrorInvalidRequest", "A folder needs a DisplayName."))
                continue
            if any(f["parent"] == parent["id"] and f["name"].lower() == display.lower()
                   for f in u["folders"].values()):
                msgs.append(err(name, "ErrorFolderExists"))
                continue
            f = S.new_folder(u, display, parent["id"], folder_class=text_of(fel, T, "FolderClass", "IPF.Note"))
            msgs.append(ok(name, f'<m:Folders><t:Folder><t:FolderId Id="{esc(f["id"])}" ChangeKey="{esc(f["ck"])}"/>'
                                 "</t:Folder></m:Folders>"))
        return op_response(ctx["op"], msgs)

    def op_MoveItem(self, ctx, el):
        name = "MoveItemResponseMessage"
        return_ids = text_of(el, M, "ReturnNewItemIds", "true") in ("true", "1")
        ids = kids(child(el, M, "ItemIds"))
        try:
            tu, target = self.resolve_folder(ctx, child(el, M, "ToFolderId"))
        except EwsError as e:
            return op_response(ctx["op"], [err(name, e.code, e.text, "<m:Items/>", e.values) for _ in ids])
        msgs = []
        for idel in ids:
            try:
                u, it = self.resolve_item(ctx, idel)
                if u is not tu:
                    raise EwsError("ErrorInvalidOperation", "Items can only be moved within one mailbox here.")
            except EwsError as e:
                msgs.append(err(name, e.code, e.text, "<m:Items/>"))
                continue
            moved = S.move(u, it, target)
            inner = (f'<m:Items><t:Message><t:ItemId Id="{esc(moved["id"])}" ChangeKey="{esc(moved["ck"])}"/>'
                     "</t:Message></m:Items>") if return_ids else "<m:Items/>"
            msgs.append(ok(name, inner))
        return op_response(ctx["op"], msgs)

    def op_DeleteItem(self, ctx, el):
        name = "DeleteItemResponseMessage"
        how = el.get("DeleteType")
        msgs = []
        for idel in kids(child(el, M, "ItemIds")):
            try:
                u, it = self.resolve_item(ctx, idel)
            except EwsError as e:
                msgs.append(err(name, e.code, e.text))
                continue
            deleted = u["folders"][u["wk"]["deleteditems"]]
            if how == "MoveToDeletedItems" and it["folder"] != deleted["id"]:
                S.move(u, it, deleted)
            else:
                S.remove(u, it)
            msgs.append(ok(name))
        return op_response(ctx["op"], msgs)

    def op_Subscribe(self, ctx, el):
        name = "SubscribeResponseMessage"
        req = child(el, M, "StreamingSubscriptionRequest")
        if req is None:
            return op_response(ctx["op"], [err(name, "ErrorInvalidRequest",
                                               "Only streaming subscriptions are supported by the test server.")])
        u, folders = ctx["acting"], set()
        try:
            fids = child(req, T, "FolderIds")
            for fel in kids(fids):
                fu, f = self.resolve_folder(ctx, fel)
                if fu is not u:
                    raise EwsError("ErrorInvalidRequest", "All folders of a subscription must be in one mailbox.")
                folders.add(f["id"])
        except EwsError as e:
            return op_response(ctx["op"], [err(name, e.code, e.text, values=e.values)])
        types = {t.text.strip() for t in kids(child(req, T, "EventTypes")) if t.text}
        sid = base64.b64encode(b"SUBS" + secrets.token_bytes(28)).decode()
        S.subscriptions[sid] = {"user": u["mail"].lower(), "folders": folders, "types": types, "events": [],
                                "all": req.get("SubscribeToAllFolders") in ("true", "1")}
        return op_response(ctx["op"], [ok(name, f"<m:SubscriptionId>{sid}</m:SubscriptionId>")])

    def op_Unsubscribe(self, ctx, el):
        sid = text_of(el, M, "SubscriptionId")
        with LOCK:
            sub = S.subscriptions.get(sid)
            if sub is None or sub["user"] != ctx["acting"]["mail"].lower():
                return op_response(ctx["op"], [err("UnsubscribeResponseMessage", "ErrorSubscriptionNotFound")])
            del S.subscriptions[sid]
            EVENTS.notify_all()
        return op_response(ctx["op"], [ok("UnsubscribeResponseMessage")])

    def op_GetStreamingEvents(self, ctx, el):
        """Holds the connection open (chunked), one SOAP envelope per chunk: ConnectionStatus OK at once and
        every stream_heartbeat_s, a Notification when events happen, ConnectionStatus Closed at the end."""
        entry, name = ctx["entry"], "GetStreamingEventsResponseMessage"
        sids = [s.text.strip() for s in kids(child(el, M, "SubscriptionIds")) if s.text]
        minutes = int(text_of(el, M, "ConnectionTimeout", "1"))
        with LOCK:
            bad = [s for s in sids if s not in S.subscriptions or S.subscriptions[s]["user"] != ctx["acting"]["mail"].lower()]
            heartbeat = float(S.config["stream_heartbeat_s"])
            deadline = time.time() + minutes * float(S.config["stream_minute_s"])
        if bad:
            ids = "".join(f"<t:SubscriptionId>{esc(s)}</t:SubscriptionId>" for s in bad)
            body = op_response(ctx["op"], [err(name, "ErrorSubscriptionNotFound",
                                               inner=f"<m:ErrorSubscriptionIds>{ids}</m:ErrorSubscriptionIds>")])
            entry["response_code"] = "ErrorSubscriptionNotFound"
            data = envelope(body).encode()
            check_own_answer(data, "answer", ctx["op"])
            return self.reply(200, data)
        self.send_response(200)
        self.send_header("Content-Type", "text/xml; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("request-id", str(uuid.uuid4()))
        self.send_header("X-FEServer", SERVER_NAME)
        self.end_headers()
        self.status = 200
        entry["response_code"] = "NoError"

        def chunk(inner):
            data = envelope(op_response(ctx["op"], [ok(name, inner)])).encode()
            check_own_answer(data, "stream chunk", ctx["op"])
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        chunk("<m:ConnectionStatus>OK</m:ConnectionStatus>")
        next_beat = time.time() + heartbeat
        events_sent = 0
        while True:
            with LOCK:
                now = time.time()
                pending = {s: S.subscriptions[s]["events"] for s in sids
                           if s in S.subscriptions and S.subscriptions[s]["events"]}
                gone = all(s not in S.subscriptions for s in sids)
                if not pending and not gone and now < min(deadline, next_beat):
                    EVENTS.wait(timeout=min(deadline, next_beat) - now)
                    continue
                batches = []
                for s, evs in pending.items():
                    batches.append((s, list(evs)))
                    evs.clear()
            if batches:
                notes = []
                for s, evs in batches:
                    parts = "".join(
                        f"<t:{e['kind']}><t:Watermark>{e['watermark']}</t:Watermark><t:TimeStamp>{iso(e['t'])}</t:TimeStamp>"
                        f'<t:ItemId Id="{esc(e["item"])}" ChangeKey="{esc(new_change_key())}"/>'
                        f'<t:ParentFolderId Id="{esc(e["folder"])}" ChangeKey="{esc(e["ck"])}"/></t:{e["kind"]}>'
                        for e in evs)
                    notes.append(f"<t:Notification><t:SubscriptionId>{esc(s)}</t:SubscriptionId>"
                                 f"<t:PreviousWatermark>{evs[0]['watermark']}</t:PreviousWatermark>"
                                 f"<t:MoreEvents>false</t:MoreEvents>{parts}</t:Notification>")
                    events_sent += len(evs)
                chunk("<m:Notifications>" + "".join(notes) + "</m:Notifications>")
                continue
            if time.time() >= deadline or gone:
                chunk("<m:ConnectionStatus>Closed</m:ConnectionStatus>")
                break
            chunk("<m:ConnectionStatus>OK</m:ConnectionStatus>")
            next_beat = time.time() + heartbeat
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        entry["events"] = events_sent

    # ---------------- Autodiscover
    def ews_url(self):
        with LOCK:
            return S.config["ews_url_override"] or f"{BASE}/EWS/Exchange.asmx"

    def pox(self, entry, method, body):
        entry["operation"] = "Autodiscover"
        with LOCK:
            enabled, redirect = S.config["pox"], S.config["pox_redirect_url"]
        if not enabled:
            return self.reply(404)
        if self.authenticate(entry) is None:
            return

        def error(code, message):
            t = datetime.now(timezone.utc).strftime("%H:%M:%S.%f") + "0"
            entry["response_code"] = str(code)
            return self.reply(200, '<?xml version="1.0" encoding="utf-8"?>'
                                   f'<Autodiscover xmlns="{POX_RESPONSE}"><Response>'
                                   f'<Error Time="{t}" Id="{secrets.randbelow(4294967295)}">'
                                   f"<ErrorCode>{code}</ErrorCode><Message>{esc(message)}</Message><DebugData />"
                                   "</Error></Response></Autodiscover>")

        address, problem = None, None
        if method != "POST":
            problem = f"{method} on the POX Autodiscover URL (POST an Autodiscover request)"
        else:
            try:
                root = etree.fromstring(body, xml_parser())
                req = root.find(f"{{{POX_REQUEST}}}Request")
                if root.tag != f"{{{POX_REQUEST}}}Autodiscover" or req is None:
                    problem = f"root element {root.tag}: expected Autodiscover/Request in {POX_REQUEST}"
                else:
                    address = (req.findtext(f"{{{POX_REQUEST}}}EMailAddress") or "").strip()
                    schema = (req.findtext(f"{{{POX_REQUEST}}}AcceptableResponseSchema") or "").strip()
                    if not address:
                        problem = "Request has no EMailAddress"
                    elif schema != POX_RESPONSE_A:
                        problem = f"AcceptableResponseSchema is {schema!r}, expected {POX_RESPONSE_A}"
            except etree.XMLSyntaxError as e:
                problem = f"not well-formed: {e}"
        if problem:
            with LOCK:
                S.violation("autodiscover request", problem, operation="Autodiscover")
            return error(600, "Invalid Request")
        entry["acting_as"] = address
        if redirect:
            entry["response_code"] = "redirectUrl"
            return self.reply(200, '<?xml version="1.0" encoding="utf-8"?>'
                                   f'<Autodiscover xmlns="{POX_RESPONSE}"><Response xmlns="{POX_RESPONSE_A}">'
                                   "<Account><AccountType>email</AccountType><Action>redirectUrl</Action>"
                                   f"<RedirectUrl>{esc(redirect)}</RedirectUrl></Account></Response></Autodiscover>")
        with LOCK:
            u = S.user(address)
        if u is None:
            return error(500, "The e-mail address cannot be found.")
        url = self.ews_url()
        host = urlsplit(url).hostname or "127.0.0.1"
        guid = uuid.uuid5(uuid.NAMESPACE_DNS, u["mail"].lower())
        legacy = f"/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn={u['mail'].split('@')[0]}"
        entry["response_code"] = "settings"
        self.reply(200, '<?xml version="1.0" encoding="utf-8"?>'
                        f'<Autodiscover xmlns="{POX_RESPONSE}"><Response xmlns="{POX_RESPONSE_A}">'
                        f"<User><DisplayName>{esc(u['display_name'])}</DisplayName><LegacyDN>{esc(legacy)}</LegacyDN>"
                        f"<AutoDiscoverSMTPAddress>{esc(u['mail'])}</AutoDiscoverSMTPAddress>"
                        f"<DeploymentId>{uuid.uuid5(uuid.NAMESPACE_DNS, DNS_DOMAIN)}</DeploymentId></User>"
                        "<Account><AccountType>email</AccountType><Action>settings</Action>"
                        "<MicrosoftOnline>False</MicrosoftOnline>"
                        f"<Protocol><Type>EXCH</Type><Server>{guid}@{DNS_DOMAIN}</Server>"
                        f"<ServerDN>/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Configuration/cn=Servers/cn={guid}@{DNS_DOMAIN}</ServerDN>"
                        "<ServerVersion>73C18880</ServerVersion><AD>dc01.contoso.com</AD>"
                        f"<ASUrl>{esc(url)}</ASUrl><EwsUrl>{esc(url)}</EwsUrl><EmwsUrl>{esc(url)}</EmwsUrl>"
                        "<ServerExclusiveConnect>off</ServerExclusiveConnect></Protocol>"
                        f"<Protocol><Type>EXPR</Type><Server>{esc(host)}</Server><SSL>On</SSL>"
                        "<AuthPackage>Ntlm</AuthPackage>"
                        f"<ASUrl>{esc(url)}</ASUrl><EwsUrl>{esc(url)}</EwsUrl><EmwsUrl>{esc(url)}</EmwsUrl>"
                        "<ServerExclusiveConnect>on</ServerExclusiveConnect></Protocol>"
                        "</Account></Response></Autodiscover>")

    def soap_autodiscover(self, entry, method, body):
        entry["operation"] = "GetUserSettings"
        with LOCK:
            enabled = S.config["soap"]
        if not enabled:
            return self.reply(404)
        if self.authenticate(entry) is None:
            return

        def wcf_fault(code, text):
            entry["response_code"] = code
            return self.reply(500, '<?xml version="1.0" encoding="utf-8"?>'
                                   f'<s:Envelope xmlns:s="{SOAP}"><s:Body><s:Fault>'
                                   '<faultcode xmlns:a="http://schemas.microsoft.com/net/2005/12/'
                                   f'windowscommunicationfoundation/dispatcher">a:{code}</faultcode>'
                                   f'<faultstring xml:lang="en-US">{esc(text)}</faultstring>'
                                   "</s:Fault></s:Body></s:Envelope>")

        def violation(problem):
            with LOCK:
                S.violation("autodiscover request", problem, operation="GetUserSettings")

        if method != "POST":
            violation(f"{method} on the SOAP Autodiscover URL")
            return wcf_fault("DeserializationFailed", "The SOAP Autodiscover service takes POST.")
        try:
            root = etree.fromstring(body, xml_parser())
        except etree.XMLSyntaxError as e:
            violation(f"not well-formed: {e}")
            return wcf_fault("DeserializationFailed", f"The formatter threw an exception while trying to deserialize "
                                                      f"the message: {e}")
        header = root.find(f"{{{SOAP}}}Header")
        if root.tag != f"{{{SOAP}}}Envelope" or header is None:
            violation(f"root element {root.tag} / no soap:Header: expected a SOAP 1.1 envelope with headers")
            return wcf_fault("DeserializationFailed", "Expected a SOAP 1.1 envelope.")
        action = (header.findtext(f"{{{WSA}}}Action") or "").strip()
        if action != GET_USER_SETTINGS_ACTION:
            violation(f"WS-Addressing Action is {action!r}, expected {GET_USER_SETTINGS_ACTION}")
            return wcf_fault("ActionNotSupported", f"The message with Action '{action}' cannot be processed at the "
                                                   "receiver, due to a ContractFilter mismatch at the EndpointDispatcher.")
        if not (header.findtext(f"{{{WSA}}}To") or "").strip():
            violation("no WS-Addressing To header")
        version = (header.findtext(f"{{{AD}}}RequestedServerVersion") or "").strip()
        entry["server_version"] = version or None
        if not version:
            violation("no RequestedServerVersion header")
        req = root.find(f"{{{SOAP}}}Body/{{{AD}}}GetUserSettingsRequestMessage/{{{AD}}}Request")
        if req is None:
            violation("soap:Body has no GetUserSettingsRequestMessage/Request")
            return wcf_fault("DeserializationFailed", "GetUserSettingsRequestMessage expected.")
        mailboxes = [(m.text or "").strip() for m in req.findall(f"{{{AD}}}Users/{{{AD}}}User/{{{AD}}}Mailbox")]
        settings = [(s.text or "").strip() for s in req.findall(f"{{{AD}}}RequestedSettings/{{{AD}}}Setting")]
        if not mailboxes or not settings:
            violation("Request needs Users/User/Mailbox and RequestedSettings/Setting")
        url = self.ews_url()
        responses = []
        for addr in mailboxes:
            with LOCK:
                u = S.user(addr)
            if u is None:
                responses.append(f"<UserResponse><ErrorCode>InvalidUser</ErrorCode><ErrorMessage>Invalid user: "
                                 f"'{esc(addr)}'</ErrorMessage><RedirectTarget i:nil=\"true\"/><UserSettingErrors/>"
                                 "<UserSettings/></UserResponse>")
                continue
            values = {"InternalEwsUrl": url, "ExternalEwsUrl": url, "UserDisplayName": u["display_name"],
                      "AutoDiscoverSMTPAddress": u["mail"], "CasVersion": "15.01.2507.006",
                      "EwsSupportedSchemas": "Exchange2007, Exchange2007_SP1, Exchange2010, Exchange2010_SP1, "
                                             "Exchange2010_SP2, Exchange2013, Exchange2013_SP1, Exchange2015, Exchange2016",
                      "ExternalEwsVersion": "15.01.2507.006",
                      "UserDN": f"/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn={u['mail'].split('@')[0]}"}
            got = "".join(f'<UserSetting i:type="StringSetting"><Name>{esc(s)}</Name><Value>{esc(values[s])}</Value>'
                          "</UserSetting>" for s in settings if s in values)
            errors = "".join("<UserSettingError><ErrorCode>InvalidSetting</ErrorCode><ErrorMessage>The requested "
                             f"setting is invalid.</ErrorMessage><SettingName>{esc(s)}</SettingName></UserSettingError>"
                             for s in settings if s not in values)
            responses.append("<UserResponse><ErrorCode>NoError</ErrorCode><ErrorMessage>No error.</ErrorMessage>"
                             '<RedirectTarget i:nil="true"/>'
                             + (f"<UserSettingErrors>{errors}</UserSettingErrors>" if errors else "<UserSettingErrors/>")
                             + f"<UserSettings>{got}</UserSettings></UserResponse>")
        entry["acting_as"] = ",".join(mailboxes) or None
        entry["response_code"] = "NoError"
        data = ('<?xml version="1.0" encoding="utf-8"?>'
                f'<s:Envelope xmlns:s="{SOAP}" xmlns:a="{WSA}"><s:Header>'
                f'<a:Action s:mustUnderstand="1">{GET_USER_SETTINGS_ACTION}Response</a:Action>'
                f'<h:ServerVersionInfo xmlns:h="{AD}" xmlns:i="{XSI}"><h:MajorVersion>15</h:MajorVersion>'
                "<h:MinorVersion>1</h:MinorVersion><h:MajorBuildNumber>2507</h:MajorBuildNumber>"
                "<h:MinorBuildNumber>6</h:MinorBuildNumber><h:Version>Exchange2015</h:Version></h:ServerVersionInfo>"
                f'</s:Header><s:Body><GetUserSettingsResponseMessage xmlns="{AD}"><Response xmlns:i="{XSI}">'
                "<ErrorCode>NoError</ErrorCode><ErrorMessage/><UserResponses>" + "".join(responses)
                + "</UserResponses></Response></GetUserSettingsResponseMessage></s:Body></s:Envelope>")
        try:
            etree.fromstring(data.encode(), xml_parser())
        except etree.XMLSyntaxError as e:
            with LOCK:
                S.violation("response (server bug)", str(e), operation="GetUserSettings")
        self.reply(200, data)


# ---------------------------------------------------------------- admin API (plain HTTP)
class Admin(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        self.close_connection = True

    def do_GET(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)  # (a body left unread would make the close a reset)
        url = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        with LOCK:
            if url.path == "/requests":
                return self.reply(200, S.requests)
            if url.path == "/violations":
                return self.reply(200, S.violations)
            if url.path == "/outbound":
                return self.reply(200, S.outbound)
            if url.path == "/config":
                return self.reply(200, S.config)
            m = re.match(r"^/users/([^/]+)/messages$", url.path)
            if m:
                u = S.user(unquote(m.group(1)))
                if not u:
                    return self.reply(404, {"error": "no such user"})
                f = S.folder_by_name(u, q.get("folder", "inbox"))
                if not f:
                    return self.reply(404, {"error": "no such folder"})
                items = sorted((i for i in u["items"].values() if i["folder"] == f["id"]), key=lambda i: i["fseq"])
                return self.reply(200, [{"id": i["id"], "change_key": i["ck"], "folder": f["name"],
                                         "subject": i["subject"], "internet_message_id": i["internet_message_id"],
                                         "from": i["from"][1] if i["from"] else None,
                                         "to": i["to"], "cc": i["cc"], "bcc": i["bcc"], "read": i["read"],
                                         "received": iso(i["received"]),
                                         "raw_b64": base64.b64encode(i["raw"]).decode()} for i in items])
            m = re.match(r"^/users/([^/]+)/folders$", url.path)
            if m:
                u = S.user(unquote(m.group(1)))
                if not u:
                    return self.reply(404, {"error": "no such user"})
                return self.reply(200, [{"id": f["id"], "display_name": f["name"], "distinguished": f["wk"],
                                         "parent": f["parent"]} for f in u["folders"].values()])
        self.reply(404, {"error": "unknown admin path"})

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        path = urlsplit(self.path).path
        q = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
        try:
            with LOCK:
                return self.post(path, q, raw)
        except (ValueError, KeyError, TypeError) as e:
            return self.reply(400, {"error": f"{type(e).__name__}: {e}"})

    def post(self, path, q, raw):
        def body():
            return json.loads(raw or b"{}")

        if path == "/users":
            a = body()
            if "@" not in a["mail"] or not isinstance(a.get("password"), str):
                return self.reply(400, {"error": "mail (an address) and password (a string) are required"})
            u = S.add_user(a["mail"], a["password"], a.get("impersonation", False), a.get("display_name"))
            return self.reply(200, {"mail": u["mail"]})
        if path == "/apps":
            # An Entra application allowed to act for every mailbox (full_access_as_app), signing
            # in with tokens of the Graph test server named by entra_token_url.
            a = body()
            cid = str(a["client_id"]).strip()
            S.apps[cid.lower()] = {"mail": f"app:{cid}", "password": "", "impersonation": True, "app": True}
            return self.reply(200, {"client_id": cid})
        if path == "/tokens":
            a = body()
            if S.user(a["mail"]) is None:
                return self.reply(404, {"error": "no such user"})
            S.tokens[a["token"]] = a["mail"].lower()
            return self.reply(200, {})
        if path == "/faults":
            f = body()
            kind = f.get("kind")
            if kind == "expire_syncstate":
                u = S.user(f.get("user", ""))
                if u is None:
                    return self.reply(404, {"error": "no such user"})
                u["epoch"] += 1
                return self.reply(200, {})
            if kind not in ("server_busy", "slow", "malformed", "status", "drop"):
                return self.reply(400, {"error": f"unknown fault kind {kind!r}"})
            f["count"] = int(f.get("count", 1))
            S.faults.append(f)
            return self.reply(200, {})
        if path == "/configure":
            a = body()
            unknown = sorted(set(a) - set(CONFIG_DEFAULTS))
            if unknown:
                return self.reply(400, {"error": f"unknown settings {unknown}; known: {sorted(CONFIG_DEFAULTS)}"})
            S.config.update(a)
            return self.reply(200, S.config)
        if path == "/forget-subscriptions":
            # As a restarted or failed-over server does: open streams end (Closed), and the next
            # GetStreamingEvents of a forgotten subscription gets ErrorSubscriptionNotFound.
            n = len(S.subscriptions)
            S.subscriptions.clear()
            EVENTS.notify_all()
            return self.reply(200, {"forgotten": n})
        if path == "/reset-log":
            S.requests.clear()
            S.violations.clear()
            S.outbound.clear()
            return self.reply(200, {})
        m = re.match(r"^/users/([^/]+)/(deliver|folders|delete-message|update-message)$", path)
        if not m:
            return self.reply(404, {"error": "unknown admin path"})
        u = S.user(unquote(m.group(1)))
        if not u:
            return self.reply(404, {"error": "no such user"})
        action = m.group(2)
        if action == "deliver":
            f = S.folder_by_name(u, q.get("folder", "inbox"))
            if not f:
                return self.reply(404, {"error": "no such folder"})
            received = self.headers.get("X-Received-DateTime")
            ts = parse_time(received) if received else None
            if received and ts is None:
                return self.reply(400, {"error": f"X-Received-DateTime {received!r} is not a date"})
            it = S.put(u, f, raw, ts)
            return self.reply(200, {"id": it["id"], "change_key": it["ck"]})
        if action == "folders":
            a = body()
            parent = S.folder_by_name(u, a.get("parent", "msgfolderroot"))
            if not parent:
                return self.reply(404, {"error": "no such parent folder"})
            if any(f["parent"] == parent["id"] and f["name"].lower() == a["display_name"].lower()
                   for f in u["folders"].values()):
                return self.reply(409, {"error": "a folder of that name exists"})
            f = S.new_folder(u, a["display_name"], parent["id"])
            return self.reply(200, {"id": f["id"]})
        a = body()
        it = u["items"].get(a["id"])
        if it is None:
            return self.reply(404, {"error": "no such message"})
        if action == "delete-message":
            S.remove(u, it)
        else:
            if "read" in a:
                it["read"] = bool(a["read"])
            S.touch(u, it)
        return self.reply(200, {"change_key": it["ck"]})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        e = sys.exc_info()[1]
        sys.stderr.write(f"ews: connection from {client_address}: {e!r}\n")


def self_test():
    assert md4(b"").hex() == "31d6cfe0d16ae931b73c59d7e0c089c0"
    assert md4(b"abc").hex() == "a448017aaf21d8525fc10ae87aa6729d"
    # [MS-NLMP] 4.2.4.1.1: NTOWFv2 of User / Domain / Password.
    assert ntowfv2("Password", "User", "Domain").hex() == "0c868a403bfd7a93a3001ef22ef02e3f"


def main():
    global SCHEMA, FIXTURES, BASE
    ap = argparse.ArgumentParser()
    ap.add_argument("--state", required=True)
    ap.add_argument("--fixtures", required=True)
    ap.add_argument("--autodiscover-port", type=int, default=0,
                    help="also serve HTTPS on this port of 127.0.0.1 (443: Autodiscover's standard URLs for a domain "
                         "that resolves to 127.0.0.1, such as localhost)")
    a = ap.parse_args()
    t0 = time.time()
    self_test()
    FIXTURES = a.fixtures
    # The driver schema imports xml.xsd (by location) before Microsoft's files, whose own import of the
    # XML namespace has no location; nothing is fetched from the network.
    SCHEMA = etree.XMLSchema(etree.parse(os.path.join(a.fixtures, "ews-soap-envelope.xsd"),
                                         etree.XMLParser(no_network=True)))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_alpn_protocols(["http/1.1"])
    ctx.load_cert_chain(os.path.join(a.state, "tls/server.pem"), os.path.join(a.state, "tls/server-key.pem"))
    https = Server(("127.0.0.1", 0), Exchange)
    https.socket = ctx.wrap_socket(https.socket, server_side=True, do_handshake_on_connect=False)
    admin = Server(("127.0.0.1", 0), Admin)
    port, admin_port = https.server_address[1], admin.server_address[1]
    BASE = f"https://127.0.0.1:{port}"
    threading.Thread(target=admin.serve_forever, daemon=True).start()
    ports = {"port": port, "admin_port": admin_port}
    if a.autodiscover_port:
        standard = Server(("127.0.0.1", a.autodiscover_port), Exchange)
        standard.socket = ctx.wrap_socket(standard.socket, server_side=True, do_handshake_on_connect=False)
        threading.Thread(target=standard.serve_forever, daemon=True).start()
        ports["autodiscover_port"] = a.autodiscover_port
    tmp = os.path.join(a.state, "ews.ports.new")
    with open(tmp, "w") as f:
        json.dump(ports, f)
    os.replace(tmp, os.path.join(a.state, "ews.ports"))
    sys.stderr.write(f"ews: EWS on {BASE}/EWS/Exchange.asmx, admin on http://127.0.0.1:{admin_port} "
                     f"(ready in {time.time() - t0:.2f} s)\n")
    sys.stderr.flush()
    https.serve_forever()


if __name__ == "__main__":
    main()
