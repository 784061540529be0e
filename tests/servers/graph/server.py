#!/usr/bin/env python3
"""Microsoft Graph test server for ServerSync's tests (Exchange Online cannot run here).

One process, two sockets on 127.0.0.1, both on ports chosen free:

* HTTPS, with the certificate of a tests/servers/up.sh state directory: the Microsoft Entra token
  endpoint (POST /{tenant}/oauth2/v2.0/token, client credentials with a client secret or a
  certificate's client assertion) and the Graph v1.0 mail endpoints ServerSync uses, over an
  in-memory store of apps, users, folders and messages. HTTP/1.1 with keep-alive.
* plain HTTP: the admin API the tests drive (users, apps, delivered mail, faults, and what the
  server saw). See README.md.

Every Graph request is matched against the OpenAPI subset in shared/fixtures/graph (the operation,
and its JSON body with validate.py's rules); a request that does not match is answered
400 ServerSyncTest.InvalidRequest and recorded as a violation. Every JSON answer the server
produces is validated too; a failure there is recorded as a violation of its own (a bug of this
server).

    server.py --state STATE_DIR --fixtures FIXTURES_DIR

Writes STATE_DIR/graph.ports ({"port", "admin_port"}) once both sockets listen; exits by itself
when STATE_DIR disappears.
"""
import argparse
import base64
import email
import email.policy
import email.utils
import hashlib
import importlib.util
import json
import os
import re
import secrets
import ssl
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from openapi_schema_validator import OAS30ReadValidator, OAS30WriteValidator, oas30_format_checker

MAX_JSON_BODY = 4 * 1024 * 1024        # Graph refuses larger request bodies (413)
MAX_READ = 64 * 1024 * 1024            # larger bodies are not read at all (the connection is closed)
MAILBOX_CONCURRENCY = 4                # Graph's limit of requests at once per mailbox
TOKEN_LIFETIME = 3599
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 1000
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CLOCK_SKEW = 60
JSON_TYPE = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
WELL_KNOWN = (("inbox", "Inbox"), ("sentitems", "Sent Items"), ("drafts", "Drafts"), ("deleteditems", "Deleted Items"))
ROOT = ("msgfolderroot", "Top of Information Store")
EXT_IN_REPLY_TO = "string 0x1042"      # PidTagInReplyToId
EXT_REFERENCES = "string 0x1039"       # PidTagInternetReferences

TOKEN_PATH = re.compile(r"^/([^/]+)/oauth2/v2\.0/token/?$")
SMTP = email.policy.SMTP               # CRLF line ends, as Exchange hands MIME out

LOCK = threading.RLock()               # guards STORE; never held while sleeping or writing to a socket


def utc_iso(t=None):
    return datetime.fromtimestamp(time.time() if t is None else t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def b64url(data):
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def log(line):
    sys.stderr.write(f"graph: {datetime.now().strftime('%H:%M:%S.%f')[:-3]} {line}\n")
    sys.stderr.flush()


def normalize_received(value):
    """A receivedDateTime (ISO 8601 or RFC 5322 date) as UTC, seconds precision, Z; None if unreadable."""
    value = (value or "").strip()
    if not value:
        return utc_iso()
    try:
        d = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        try:
            d = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
    if d is None:
        return None
    if d.tzinfo is None:
        d = d.replace(tzinfo=timezone.utc)
    return d.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ------------------------------------------------------------------------------------ the mail store

class App:
    def __init__(self, tenant, client_id, secret, certificate_pem, users, resources=()):
        self.tenant, self.client_id, self.secret = tenant, client_id, secret
        # Other resources the app may get tokens for (an Exchange Server's https://host, for
        # Hybrid Modern Auth); Graph is always one.
        self.resources = {str(r).strip().rstrip("/").lower() for r in resources}
        self.certs = []  # (certificate, x5t, x5t#S256, SHA-1 hex)
        for block in re.findall(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", certificate_pem or "", re.S):
            cert = x509.load_pem_x509_certificate(block.encode())
            der = cert.public_bytes(serialization.Encoding.DER)
            self.certs.append((cert, b64url(hashlib.sha1(der).digest()), b64url(hashlib.sha256(der).digest()),
                               hashlib.sha1(der).hexdigest().upper()))
        if certificate_pem and not self.certs:
            raise ValueError("certificate_pem holds no PEM certificate")
        self.users = "*" if users in (None, "*") else {str(u).lower() for u in users}

    def may_access(self, user):
        return self.users == "*" or user.mail.lower() in self.users or user.id in self.users

    def public(self):
        return {"tenant": self.tenant, "client_id": self.client_id, "has_secret": self.secret is not None,
                "certificates": [{"x5t": c[1], "x5t#S256": c[2], "sha1": c[3]} for c in self.certs],
                "resources": sorted(self.resources),
                "users": self.users if self.users == "*" else sorted(self.users)}


class Folder:
    def __init__(self, user, display_name, parent_id, well_known=None, hidden=False):
        self.id = user.new_id(b"\x00\x2e\x00\x00", 8)
        self.display_name, self.parent_id, self.well_known, self.hidden = display_name, parent_id, well_known, hidden
        self.log = []  # (seq, "add" | "remove", message id): the change log delta reads


class Message:
    def __init__(self, mid, folder_id, raw, received, seq, meta):
        self.id, self.folder_id, self.raw, self.received, self.seq = mid, folder_id, raw, received, seq
        self.is_read = False
        self.__dict__.update(meta)


def parse_mime(raw):
    """What Graph shows of a message, read from its MIME; malformed MIME gives what can be read."""
    out = {"subject": "", "internet_message_id": None, "in_reply_to": "", "references": "", "from_": None,
           "to": "", "cc": "", "bcc": "", "to_list": [], "cc_list": [], "bcc_list": [], "sent": None,
           "has_attachments": False, "meta_bcc": ""}
    try:
        m = email.message_from_bytes(raw, policy=email.policy.default)
    except Exception:  # noqa: BLE001 - anything unreadable stays empty
        return out

    def text(name):
        try:
            v = m.get(name)
            return "" if v is None else " ".join(str(v).split())
        except Exception:  # noqa: BLE001
            try:
                return " ".join(str(m.get_all(name, [""])[0]).split())
            except Exception:  # noqa: BLE001
                return ""

    def addresses(name):
        try:
            h = m.get(name)
            if h is None:
                return []
            return [(a.display_name or None, a.addr_spec) for a in h.addresses if a.addr_spec]
        except Exception:  # noqa: BLE001
            return [(n or None, a) for n, a in email.utils.getaddresses([text(name)]) if a]

    out["subject"] = text("Subject")
    out["internet_message_id"] = text("Message-ID") or None
    out["in_reply_to"], out["references"] = text("In-Reply-To"), text("References")
    out["to"], out["cc"], out["bcc"] = text("To"), text("Cc"), text("Bcc")
    out["to_list"], out["cc_list"], out["bcc_list"] = addresses("To"), addresses("Cc"), addresses("Bcc")
    senders = addresses("From")
    out["from_"] = senders[0] if senders else None
    date = text("Date")
    out["sent"] = normalize_received(date) if date else None
    try:
        out["has_attachments"] = any(True for _ in m.iter_attachments()) if m.is_multipart() else False
    except Exception:  # noqa: BLE001
        out["has_attachments"] = False
    return out


class User:
    def __init__(self, mail, display_name, licensed, enabled):
        self.id = str(uuid.uuid4())
        self.guid = uuid.UUID(self.id).bytes
        self.mail, self.display_name, self.licensed, self.enabled = mail, display_name, licensed, enabled
        self.named = display_name is not None
        self.seq = 0          # the mailbox's change counter (every folder's log uses it)
        self.sync_gen = 0     # raised by the expire_delta fault: older delta and skip tokens are unknown
        self.folders, self.messages, self.well_known = {}, {}, {}
        root = Folder(self, ROOT[1], "", ROOT[0], hidden=False)
        root.parent_id = self.new_id(b"\x00\x2e\x00\x00", 8)
        self.root = root
        self.folders[root.id] = root
        self.well_known[ROOT[0]] = root.id
        for name, display in WELL_KNOWN:
            f = Folder(self, display, root.id, name)
            self.folders[f.id] = f
            self.well_known[name] = f.id

    @property
    def name(self):
        return self.display_name or self.mail.split("@")[0]

    def new_id(self, kind, random_bytes):
        # Shaped like Exchange's REST ids: "AAMkA…" (URL-safe base64 of a mailbox GUID and more), ending in "=".
        return base64.urlsafe_b64encode(b"\x00\x03\x24\x00" + self.guid + kind + secrets.token_bytes(random_bytes)).decode()

    def folder(self, key):
        """A folder by id or well-known name (as Graph takes them in a URL), else None."""
        fid = self.well_known.get(key.lower(), key)
        return self.folders.get(fid)

    def folder_admin(self, key):
        """Like folder(), or by display name (the admin API's convenience)."""
        f = self.folder(key)
        if f is None:
            f = next((x for x in self.folders.values() if x.display_name.lower() == key.lower()), None)
        return f

    def children(self, folder, hidden=False):
        return [f for f in self.folders.values() if f.parent_id == folder.id and (hidden or not f.hidden)]

    def change(self, folder, kind, mid):
        self.seq += 1
        folder.log.append((self.seq, kind, mid))

    def put(self, folder, raw, received=None, meta=None):
        info = parse_mime(raw)
        info.update(meta or {})
        self.seq += 1
        m = Message(self.new_id(b"\x00\x46\x00\x00", 22), folder.id, raw, received or utc_iso(), self.seq, info)
        self.messages[m.id] = m
        folder.log.append((self.seq, "add", m.id))
        return m

    def move(self, m, dest):
        del self.messages[m.id]
        self.change(self.folders[m.folder_id], "remove", m.id)
        meta = {k: v for k, v in m.__dict__.items() if k not in ("id", "folder_id", "raw", "received", "seq")}
        self.seq += 1
        moved = Message(self.new_id(b"\x00\x46\x00\x00", 22), dest.id, m.raw, m.received, self.seq, meta)
        self.messages[moved.id] = moved
        dest.log.append((self.seq, "add", moved.id))
        return moved

    def in_folder(self, folder):
        return sorted((m for m in self.messages.values() if m.folder_id == folder.id), key=lambda m: (m.received, m.seq))


class Grant:
    def __init__(self, app, expires, resource="graph"):
        self.app, self.expires, self.resource = app, expires, resource


class Store:
    def __init__(self):
        self.apps = {}          # (tenant lower, client_id lower) -> App
        self.users = {}         # mail lower -> User
        self.tokens = {}        # access token -> Grant
        self.sync = {}          # delta or skip token -> state
        self.faults = []
        self.requests, self.violations, self.outbound = [], [], []
        self.inflight, self.max_inflight = {}, {}

    def user(self, key):
        key = key.strip().lower()
        u = self.users.get(key)
        if u is None:
            u = next((x for x in self.users.values() if x.id == key), None)
        return u

    def tenant_known(self, tenant):
        return any(t == tenant.lower() for (t, _) in self.apps)

    def violation(self, method, path, what, error):
        self.violations.append({"t": time.time(), "method": method, "path": path, "what": what, "error": error})


STORE = Store()


# ------------------------------------------------------------------------------ the OpenAPI subset

class Spec:
    """The OpenAPI subset: operations by URL path (validate.py's matching) and body validation."""

    def __init__(self, fixtures):
        path = os.path.join(fixtures, "validate.py")
        loader = importlib.util.spec_from_file_location("graph_fixtures_validate", path)
        self.reference = importlib.util.module_from_spec(loader)
        loader.loader.exec_module(self.reference)
        with open(os.path.join(fixtures, "graph-v1.0-subset.validation.json"), encoding="utf-8") as f:
            self.doc = json.load(f)
        self.components = self.doc["components"]
        self.validators = {}
        # validate.py's match(), compiled once and with the path parameters captured: each path key in
        # its three spellings (microsoft.graph.delta(), delta(), delta); the most literal match wins.
        self.routes = []
        for key in self.doc["paths"]:
            forms = {key, re.sub(r"/microsoft\.graph\.(\w+)(\(\))?$", r"/\1", key),
                     re.sub(r"/microsoft\.graph\.(\w+)\(\)$", r"/\1()", key)}
            for form in forms:
                names = re.findall(r"\{([^/]+?)\}", form)
                rx = "^" + re.sub(r"\\\{[^/]+?\\\}", "([^/]+)", re.escape(form)) + "$"
                self.routes.append((len(re.sub(r"\{[^/]+?\}", "", form)), re.compile(rx, re.I), key, names))
        self.routes.sort(key=lambda r: -r[0])
        for sample in ("/v1.0/users/a@b.test", "/v1.0/users/a/mailFolders/inbox/messages/delta",
                       "/v1.0/users/a/messages/AAMk=/$value", "/v1.0/users/a/messages/AAMk=", "/v1.0/users/a/sendMail",
                       "/v1.0/users/a/messages/x/move", "/v1.0/users/a/mailFolders", "/v1.0/users/a/mailFolders/x",
                       "/v1.0/users/a/mailFolders/x/childFolders", "/v1.0/users/a/messages/delta", "/v1.0/me/messages",
                       "/v1.0/users/a/microsoft.graph.sendMail", "/v1.0/users/a/mailFolders/inbox/messages/delta()"):
            mine = self.match(sample)
            assert (mine and mine[0]) == self.reference.match(self.doc, sample), sample
        self.select = {name: self.properties("microsoft.graph." + name) for name in ("message", "user", "mailFolder")}

    def match(self, path):
        """(path key, {parameter: value}) for a request path (with or without /v1.0), or None."""
        p = unquote(urlsplit(path).path)
        p = re.sub(r"^/v1\.0(?=/)", "", p).rstrip("/") or "/"
        for _, rx, key, names in self.routes:
            m = rx.match(p)
            if m:
                return key, dict(zip(names, m.groups()))
        return None

    def operation(self, key, method):
        return key and self.doc["paths"][key].get(method.lower())

    def properties(self, schema_name):
        out, todo = set(), [self.components["schemas"][schema_name]]
        while todo:
            s = self.reference.deref(self.doc, todo.pop())
            out.update((s.get("properties") or {}).keys())
            todo.extend(s.get("allOf") or [])
        return out

    def _validator(self, cls, cache_key, schema):
        with LOCK:
            v = self.validators.get(cache_key)
            if v is None:
                v = cls({"allOf": [schema], "components": self.components}, format_checker=oas30_format_checker)
                self.validators[cache_key] = v
        return v

    @staticmethod
    def _first_error(validator, instance, kind):
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
        if not errors:
            return None
        e = errors[0]
        where = "/".join(str(p) for p in e.absolute_path) or "(root)"
        return f"{kind} body invalid at {where}: {e.message[:400]}"

    def check_request(self, key, method, op, body):
        """None when the JSON body suits the operation, else why not."""
        rb = self.reference.deref(self.doc, op.get("requestBody") or {})
        schema = ((rb.get("content") or {}).get("application/json") or {}).get("schema")
        if schema is None:
            return None if body is None else f"{method} {key} takes no request body"
        if body is None:
            return f"{method} {key} needs a JSON request body" if rb.get("required") else None
        if op.get("x-ms-docs-operation-type") == "action" and isinstance(body, dict):
            # Action parameters have their CSDL casing (Message, SaveToSentItems, DestinationId); Graph
            # matches them case-insensitively.
            names = {n.lower(): n for n in (self.reference.deref(self.doc, schema).get("properties") or {})}
            body = {names.get(k.lower(), k): v for k, v in body.items()}
        return self._first_error(self._validator(OAS30WriteValidator, (key, method, "request"), schema), body, "request")

    def check_response(self, key, method, status, body):
        """None when the JSON answer suits the operation's description (or the OData error shape)."""
        op = self.operation(key, method) if key else None
        if op:
            rs = op.get("responses", {})
            st = str(status)
            st = st if st in rs else ("2XX" if st.startswith("2") and "2XX" in rs else "default")
            resp = self.reference.deref(self.doc, rs.get(st) or {})
        elif status >= 400:
            st, resp = "default", self.components["responses"]["error"]
        else:
            return None
        schema = ((resp.get("content") or {}).get("application/json") or {}).get("schema")
        if schema is None:
            return f"{method} {key} answers {status} without a JSON body"
        return self._first_error(self._validator(OAS30ReadValidator, (key, method, st), schema), body, "response")


SPEC = None
PORT = 0


# -------------------------------------------------------------------------------------- JSON shapes

def etag(mid, kind="CQAAABYAAAA"):
    return kind + base64.b64encode(hashlib.sha1(mid.encode()).digest()[:15]).decode()


def recipient(pair):
    if not pair:
        return None
    name, address = pair
    return {"emailAddress": {"name": name or address, "address": address}}


def message_json(m, select=None, delta=False):
    full = {
        "@odata.etag": f'W/"{etag(m.id)}"',
        "id": m.id,
        "createdDateTime": m.received,
        "lastModifiedDateTime": m.received,
        "changeKey": etag(m.id),
        "categories": [],
        "receivedDateTime": m.received,
        "sentDateTime": m.sent or m.received,
        "hasAttachments": m.has_attachments,
        "internetMessageId": m.internet_message_id,
        "subject": m.subject,
        "importance": "normal",
        "parentFolderId": m.folder_id,
        "isRead": m.is_read,
        "isDraft": False,
        "sender": recipient(m.from_),
        "from": recipient(m.from_),
        "toRecipients": [recipient(r) for r in m.to_list],
        "ccRecipients": [recipient(r) for r in m.cc_list],
        "bccRecipients": [recipient(r) for r in m.bcc_list],
        "replyTo": [],
    }
    if select is not None:
        full = {k: v for k, v in full.items() if k in ("@odata.etag", "id") or k in select}
    if delta:
        full = {"@odata.type": "#microsoft.graph.message", **full}
    return full


def folder_json(user, f, context=None):
    items = [m for m in user.messages.values() if m.folder_id == f.id]
    out = {"id": f.id, "displayName": f.display_name, "parentFolderId": f.parent_id,
           "childFolderCount": len(user.children(f, hidden=True)),
           "unreadItemCount": sum(1 for m in items if not m.is_read), "totalItemCount": len(items),
           "isHidden": f.hidden}
    return {"@odata.context": context, **out} if context else out


def user_json(u, select, base):
    given, _, family = u.name.partition(" ")
    full = {"businessPhones": [], "displayName": u.name, "givenName": given, "surname": family or None,
            "mail": u.mail, "userPrincipalName": u.mail, "id": u.id, "accountEnabled": u.enabled}
    if select is None:
        out = {k: v for k, v in full.items() if k != "accountEnabled" and v is not None}
        return {"@odata.context": f"{base}/v1.0/$metadata#users/$entity", **out}
    out = {k: v for k, v in full.items() if k in select and v is not None}
    return {"@odata.context": f"{base}/v1.0/$metadata#users({','.join(sorted(select))})/$entity", **out}


# --------------------------------------------------------------------------------------- the HTTP side

class TooLarge(Exception):
    pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-IIS/10.0"
    sys_version = ""
    timeout = 120  # an idle keep-alive connection is closed after this

    def log_message(self, fmt, *args):
        pass

    def read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            data = bytearray()
            while True:
                size = int(self.rfile.readline(1024).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(data)
                if len(data) + size > MAX_READ:
                    raise TooLarge()
                data += self.rfile.read(size)
                self.rfile.readline(3)
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_READ:
            raise TooLarge()
        return self.rfile.read(n) if n > 0 else b""

    def send(self, status, data=b"", ctype=None, headers=()):
        self.before_send()
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.wfile.flush()
        self.replied = status

    def before_send(self):
        pass


class Graph(Handler):
    """The token endpoint and Graph v1.0."""

    def setup(self):
        super().setup()
        self.counted = None

    def before_send(self):
        # A request stops counting against its mailbox's limit once its answer is ready, before it
        # is written: the client may send its next request as soon as it has read this one.
        if self.counted:
            with LOCK:
                STORE.inflight[self.counted] -= 1
            self.counted = None

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_DELETE(self):
        self.dispatch("DELETE")

    # ------------------------------------------------------------------ plumbing

    def base(self):
        host = (self.headers.get("Host") or "").lower()
        return f"https://{host}" if host in (f"127.0.0.1:{PORT}", f"localhost:{PORT}") else f"https://127.0.0.1:{PORT}"

    def dispatch(self, method):
        started = time.time()
        self.replied = 0
        self.request_id = str(uuid.uuid4())
        self.client_request_id = self.headers.get("client-request-id") or self.request_id
        self.op_key = None
        entry = {"t": started, "method": method, "path": self.path, "user": None, "status": 0, "token_app": None}
        try:
            try:
                raw = self.read_body()
            except (TooLarge, ValueError):
                self.close_connection = True
                raw = None
            path = unquote(urlsplit(self.path).path)
            if TOKEN_PATH.match(path):
                self.token_endpoint(method, TOKEN_PATH.match(path).group(1), raw, entry)
            else:
                self.graph(method, raw, entry)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, TimeoutError):
            self.close_connection = True
        except Exception as e:  # noqa: BLE001 - a bug of this server: recorded, answered 500
            import traceback
            log(traceback.format_exc())
            with LOCK:
                STORE.violation(method, self.path, "server error (a bug of the test server)", repr(e))
            if not self.replied:
                try:
                    self.error(500, "InternalServerError", f"The test server failed: {e!r}", validate=False)
                except OSError:
                    self.close_connection = True
        finally:
            self.before_send()
            entry["status"] = self.replied
            entry["duration_ms"] = round((time.time() - started) * 1000, 1)
            with LOCK:
                STORE.requests.append(entry)
            log(f"{method} {self.path[:200]} -> {self.replied} ({entry['duration_ms']} ms)")

    def common_headers(self):
        return [("request-id", self.request_id), ("client-request-id", self.client_request_id),
                ("OData-Version", "4.0"), ("Cache-Control", "no-cache")]

    def json(self, status, body, headers=(), validate=True):
        if validate:
            why = SPEC.check_response(self.op_key, self.command, status, body)
            if why:
                with LOCK:
                    STORE.violation(self.command, self.path, "response (a bug of the test server)", why)
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        self.send(status, data, JSON_TYPE, self.common_headers() + list(headers))

    def error(self, status, code, message, headers=(), validate=True):
        body = {"error": {"code": code, "message": message,
                          "innerError": {"date": utc_iso(), "request-id": self.request_id,
                                         "client-request-id": self.client_request_id}}}
        self.json(status, body, headers, validate)

    def violation(self, method, what, why):
        with LOCK:
            STORE.violation(method, self.path, what, why)
        self.error(400, "ServerSyncTest.InvalidRequest", why, validate=False)

    # ------------------------------------------------------------------ token endpoint

    def token_endpoint(self, method, tenant, raw, entry):
        def refuse(status, error, code, text):
            trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
            stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
            body = {"error": error,
                    "error_description": f"AADSTS{code}: {text} Trace ID: {trace} Correlation ID: {correlation} Timestamp: {stamp}",
                    "error_codes": [code], "timestamp": stamp, "trace_id": trace, "correlation_id": correlation,
                    "error_uri": f"https://login.microsoftonline.com/error?code={code}"}
            self.send(status, json.dumps(body).encode(), "application/json; charset=utf-8",
                      [("Cache-Control", "no-store, no-cache"), ("Pragma", "no-cache")])

        if method != "POST":
            return refuse(405, "invalid_request", 900561,
                          f"The endpoint only accepts POST, OPTIONS requests. Received a {method} request.")
        if raw is None:
            return refuse(400, "invalid_request", 900144, "The request body is too large.")
        with LOCK:
            known = STORE.tenant_known(tenant)
        if not known:
            return refuse(400, "invalid_request", 90002,
                          f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are "
                          "signing into the correct cloud.")
        form = {}
        if (self.headers.get("Content-Type") or "").split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
            form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True).items()}
        for p in ("grant_type", "client_id", "scope"):
            if not form.get(p):
                return refuse(400, "invalid_request", 900144, f"The request body must contain the following parameter: '{p}'.")
        if form["grant_type"] != "client_credentials":
            return refuse(400, "unsupported_grant_type", 70003,
                          f"The app requested an unsupported grant type '{form['grant_type']}'.")
        client_id = form["client_id"]
        with LOCK:
            app = STORE.apps.get((tenant.lower(), client_id.lower()))
        if app is None:
            return refuse(400, "unauthorized_client", 700016,
                          f"Application with identifier '{client_id}' was not found in the directory '{tenant}'. This "
                          "can happen if the application has not been installed by the administrator of the tenant or "
                          "consented to by any user in the tenant. You may have sent your authentication request to the "
                          "wrong tenant.")
        scope = form["scope"].strip()
        resource = "graph"
        if scope.lower().endswith("/.default") and scope.lower()[:-len("/.default")] in app.resources:
            resource = scope.lower()[:-len("/.default")]
        elif scope.lower() not in {GRAPH_SCOPE, f"https://127.0.0.1:{PORT}/.default", f"https://localhost:{PORT}/.default"}:
            return refuse(400, "invalid_scope", 1002012,
                          f"The provided value for scope {scope} is not valid. Client credential flows must have a scope "
                          "value with /.default suffixed to the resource identifier (application ID URI).")
        entry["token_app"] = app.client_id
        if "client_assertion" in form:
            why = self.check_assertion(app, tenant, form)
            if why:
                return refuse(*why)
        elif "client_secret" in form:
            if app.secret is None or not secrets.compare_digest(form["client_secret"].encode(), app.secret.encode()):
                return refuse(401, "invalid_client", 7000215,
                              f"Invalid client secret provided. Ensure the secret being sent in the request is the client "
                              f"secret value, not the client secret ID, for a secret added to app '{app.client_id}'.")
        else:
            return refuse(401, "invalid_client", 7000218,
                          "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
        token = b64url(secrets.token_bytes(48))
        with LOCK:
            STORE.tokens[token] = Grant(app, time.time() + TOKEN_LIFETIME, resource)
        body = {"token_type": "Bearer", "expires_in": TOKEN_LIFETIME, "ext_expires_in": TOKEN_LIFETIME,
                "access_token": token}
        self.send(200, json.dumps(body).encode(), "application/json; charset=utf-8",
                  [("Cache-Control", "no-store, no-cache"), ("Pragma", "no-cache")])

    def check_assertion(self, app, tenant, form):
        """None when the client assertion proves the app, else (status, error, AADSTS code, text)."""
        if form.get("client_assertion_type") != JWT_BEARER:
            return (400, "invalid_request", 900144,
                    f"The request body must contain the following parameter: 'client_assertion_type' ({JWT_BEARER}).")
        assertion = form["client_assertion"]
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError as e:
            return (400, "invalid_request", 50027, f"JWT token is invalid or malformed: {e}.")
        if header.get("alg") != "RS256":
            return (401, "invalid_client", 700027,
                    f"Client assertion failed signature validation. [Reason - The algorithm '{header.get('alg')}' is not "
                    "supported; RS256 is.]")
        cert = next((c for c in app.certs if header.get("x5t") == c[1] or header.get("x5t#S256") == c[2]), None)
        if cert is None:
            return (401, "invalid_client", 700027,
                    "Client assertion failed signature validation. [Reason - The key was not found., Thumbprint of key "
                    f"used by client: '{header.get('x5t#S256') or header.get('x5t')}', Please visit the Azure Portal, "
                    f"Graph Explorer or directly use MS Graph to see configured keys for app Id '{app.client_id}'.]")
        try:
            claims = jwt.decode(assertion, cert[0].public_key(), algorithms=["RS256"],
                                options={"verify_signature": True, "verify_exp": False, "verify_nbf": False,
                                         "verify_iat": False, "verify_aud": False, "verify_iss": False,
                                         "verify_sub": False, "verify_jti": False, "require": []})
        except (jwt.InvalidSignatureError, jwt.InvalidKeyError):
            return (401, "invalid_client", 700027,
                    "Client assertion failed signature validation. [Reason - The provided signature value did not "
                    "match the expected signature value.]")
        except jwt.PyJWTError as e:
            return (400, "invalid_request", 50027, f"JWT token is invalid or malformed: {e}.")
        auds = claims.get("aud")
        auds = auds if isinstance(auds, list) else [auds]
        want = {f"https://{h}:{PORT}/{tenant}/oauth2/v2.0/token".lower() for h in ("127.0.0.1", "localhost")}
        if not any(isinstance(a, str) and a.lower() in want for a in auds):
            return (401, "invalid_client", 700023,
                    f"Client assertion audience claim does not match Realm issuer. Audience: {claims.get('aud')!r}.")
        cid = app.client_id.lower()
        if str(claims.get("iss", "")).lower() != cid or str(claims.get("sub", "")).lower() != cid:
            return (401, "invalid_client", 700021,
                    "Client assertion application identifier doesn't match 'client_id' parameter.")
        now = time.time()
        exp, nbf = claims.get("exp"), claims.get("nbf", now)
        if (not isinstance(exp, (int, float)) or not isinstance(nbf, (int, float))
                or exp <= now or nbf > now + CLOCK_SKEW):
            return (401, "invalid_client", 700024,
                    f"Client assertion is not within its valid time range. Current time: {utc_iso(now)}, assertion "
                    f"valid from {claims.get('nbf')}, expiry time of assertion {claims.get('exp')}.")
        if not claims.get("jti"):
            return (400, "invalid_request", 50027, "JWT token is invalid or malformed: the claim 'jti' is missing.")
        return None

    # ------------------------------------------------------------------ Graph

    def graph(self, method, raw, entry):
        url = urlsplit(self.path)
        found = SPEC.match(self.path) if re.match(r"^/v1\.0/", url.path) else None
        self.op_key = found[0] if found else None
        # Authentication first, as Graph does.
        auth = self.headers.get("Authorization") or ""
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
        with LOCK:
            grant = STORE.tokens.get(token)
        challenge = [("WWW-Authenticate", 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/'
                      'common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"')]
        if grant is None:
            return self.error(401, "InvalidAuthenticationToken",
                              "Access token is empty." if not token else "Access token validation failure.",
                              challenge)
        entry["token_app"] = grant.app.client_id
        if grant.resource != "graph":
            return self.error(401, "InvalidAuthenticationToken", "Invalid audience.", challenge)
        if grant.expires <= time.time():
            return self.error(401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.", challenge)
        # The request against Graph's description.
        op = SPEC.operation(self.op_key, method)
        if not op:
            return self.violation(method, "request", f"no operation {method} {url.path} in the Graph v1.0 subset")
        if raw is None:
            self.close_connection = True
            return self.error(413, "ErrorRequestEntityTooLarge", "The request body is too large.")
        body = None
        if raw:
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if ctype != "application/json":
                return self.violation(method, "request", f"a request body of type '{ctype}'; Graph takes application/json")
            if len(raw) > MAX_JSON_BODY:
                return self.error(413, "ErrorRequestEntityTooLarge",
                                  f"The request body is {len(raw)} bytes; the maximum is {MAX_JSON_BODY} bytes.")
            try:
                body = json.loads(raw)
            except ValueError as e:
                return self.violation(method, "request", f"the request body is not JSON: {e}")
        why = SPEC.check_request(self.op_key, method, op, body)
        if why:
            return self.violation(method, "request", why)
        params = found[1]
        key = params.get("user-id", "")
        with LOCK:
            user = STORE.user(key)
        entry["user"] = user.mail if user else key
        if user is None:
            if self.op_key == "/users/{user-id}":
                return self.error(404, "Request_ResourceNotFound",
                                  f"Resource '{key}' does not exist or one of its queried reference-property objects are "
                                  "not present.")
            return self.error(404, "ErrorInvalidUser", f"The requested user '{key}' is invalid.")
        # Graph's own limit, then the faults the test asked for.
        slot = user.mail.lower()
        with LOCK:
            STORE.inflight[slot] = STORE.inflight.get(slot, 0) + 1
            STORE.max_inflight[slot] = max(STORE.max_inflight.get(slot, 0), STORE.inflight[slot])
            over = STORE.inflight[slot] > MAILBOX_CONCURRENCY
        self.counted = slot
        if over:
            entry["throttled"] = "ApplicationThrottled"
            return self.error(429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.",
                              [("Retry-After", "1")])
        fault = self.take_fault(user)
        if fault:
            entry["fault"] = fault["kind"]
            if fault["kind"] == "slow":
                time.sleep(float(fault.get("seconds", 1)))
            elif fault["kind"] == "throttle":
                status = int(fault.get("status", 429))
                code, text = (("TooManyRequests", "Too many requests have been sent. Please retry after the time in "
                               "the Retry-After header.") if status == 429 else
                              ("ServiceUnavailable", "The service is temporarily unavailable. Please retry after the "
                               "time in the Retry-After header."))
                return self.error(status, code, text, [("Retry-After", str(fault.get("retry_after", 1)))])
            elif fault["kind"] == "malformed":
                data = (f'{{"@odata.context":"{self.base()}/v1.0/$metadata#Collection(message)","value":[{{"@odata.'
                        f'type":"#microsoft.graph.message","@odata.etag":"W/\\"CQAAABYAAAA').encode()
                return self.send(200, data, JSON_TYPE, self.common_headers())
        # Mailbox endpoints: the app's access policy, then the account and its mailbox.
        if self.op_key != "/users/{user-id}":
            if not grant.app.may_access(user):
                return self.error(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
            if not user.enabled:
                return self.error(403, "ErrorAccountDisabled",
                                  "The user account which was used to submit this request is disabled.")
            if not user.licensed:
                return self.error(404, "MailboxNotEnabledForRESTAPI",
                                  "The mailbox is either inactive, soft-deleted, or is hosted on-premise.")
        route = ROUTES.get((self.op_key, method))
        if route is None:
            with LOCK:
                STORE.violation(method, self.path, "not served by the test server",
                                f"{method} {self.op_key} is in the subset but this test server does not serve it")
            return self.error(501, "ServerSyncTest.NotImplemented", f"{method} {self.op_key} is not served here.")
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        route(self, user, params, query, body)

    def take_fault(self, user):
        with LOCK:
            for f in STORE.faults:
                if f["count"] > 0 and f.get("user") in (None, user.mail.lower()):
                    f["count"] -= 1
                    if f["count"] == 0:
                        STORE.faults.remove(f)
                    return dict(f)
        return None

    def selection(self, query, kind):
        """The $select'ed property names (None: all), or an error already answered (False)."""
        if "$select" not in query:
            return None
        names = [n.strip() for n in query["$select"].split(",") if n.strip()]
        unknown = [n for n in names if n not in SPEC.select[kind]]
        if unknown:
            if kind == "user":
                self.error(400, "Request_BadRequest",
                           f"Parsing OData Select and Expand failed: Could not find a property named '{unknown[0]}' on "
                           "type 'microsoft.graph.user'.")
            else:
                self.error(400, "RequestBroker--ParseUri",
                           f"Could not find a property named '{unknown[0]}' on type 'Microsoft.OutlookServices.Message'.")
            return False
        return set(names)

    # ------------------------------------------------------------------ operations

    def get_user(self, user, params, query, body):
        select = self.selection(query, "user")
        if select is not False:
            self.json(200, user_json(user, select, self.base()))

    def get_message(self, user, params, query, body):
        select = self.selection(query, "message")
        if select is False:
            return
        with LOCK:
            m = user.messages.get(params["message-id"])
            out = m and {"@odata.context": f"{self.base()}/v1.0/$metadata#users('{user.id}')/messages/$entity",
                         **message_json(m, select)}
        if out is None:
            return self.error(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        self.json(200, out)

    def get_value(self, user, params, query, body):
        with LOCK:
            m = user.messages.get(params["message-id"])
        if m is None:
            return self.error(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        self.send(200, m.raw, "text/plain", [("request-id", self.request_id), ("client-request-id", self.client_request_id)])

    def delta(self, user, params, query, body):
        select = self.selection(query, "message")
        if select is False:
            return
        folder_key = params["mailFolder-id"]
        pm = re.search(r"odata\.maxpagesize\s*=\s*(\d+)", self.headers.get("Prefer") or "", re.I)
        size, applied = DEFAULT_PAGE_SIZE, None
        if pm:
            n = int(pm.group(1))
            if 1 <= n <= MAX_PAGE_SIZE:
                size, applied = n, n
            elif n > MAX_PAGE_SIZE:
                size = MAX_PAGE_SIZE
        gone = ("SyncStateNotFound", "The sync state generation is not found. The sync state may have expired or "
                "been reset; start a new synchronization without a delta token.")
        with LOCK:
            folder = user.folder(folder_key)
            if folder is None:
                return self.error(404, "ErrorItemNotFound", "The specified object was not found in the store.")
            token = query.get("$skiptoken") or query.get("$deltatoken")
            if token is not None:
                state = STORE.sync.get(token)
                if (state is None or state["user"] != user.id or state["folder"] != folder.id
                        or state["gen"] != user.sync_gen
                        or state["kind"] != ("skip" if "$skiptoken" in query else "delta")):
                    return self.error(410, *gone)
            else:
                state = None
            if state is not None and state["kind"] == "skip":
                snap, pos = state["snap"], state["pos"]
            else:
                # A new round: the whole folder (no token) or the changes since the delta token.
                since = state["seq"] if state else None
                keep = select if select is not None else (state["select"] if state else None)
                snap = {"upto": user.seq, "select": keep, "items": []}
                if since is None:
                    snap["items"] = [("add", m.id) for m in user.in_folder(folder)]
                else:
                    first, last = {}, {}
                    for seq, kind, mid in folder.log:
                        if seq > since:
                            first.setdefault(mid, kind)
                            last[mid] = kind
                    added = [mid for mid in last if last[mid] == "add" and first[mid] == "add"]
                    removed = [mid for mid in last if last[mid] == "remove" and first[mid] == "remove"]
                    snap["items"] = [("add", mid) for mid in added] + [("remove", mid) for mid in removed]
                pos = 0
            if select is None:
                select = snap["select"]
            page = snap["items"][pos:pos + size]
            values = []
            for kind, mid in page:
                m = user.messages.get(mid)
                if kind == "add" and m is not None and m.folder_id == folder.id:
                    values.append(message_json(m, select, delta=True))
                elif kind == "remove":
                    values.append({"@odata.type": "#microsoft.graph.message", "id": mid, "@removed": {"reason": "deleted"}})
            pos += len(page)
            link = (f"{self.base()}/v1.0/users/{quote(user.id)}/mailFolders/{quote(folder_key, safe='')}/messages/delta")
            out = {"@odata.context": f"{self.base()}/v1.0/$metadata#Collection(message)", "value": values}
            fresh = b64url(secrets.token_bytes(33))
            if pos < len(snap["items"]):
                STORE.sync[fresh] = {"kind": "skip", "user": user.id, "folder": folder.id, "gen": user.sync_gen,
                                     "snap": snap, "pos": pos}
                out["@odata.nextLink"] = f"{link}?$skiptoken={fresh}"
            else:
                STORE.sync[fresh] = {"kind": "delta", "user": user.id, "folder": folder.id, "gen": user.sync_gen,
                                     "seq": snap["upto"], "select": snap["select"]}
                out["@odata.deltaLink"] = f"{link}?$deltatoken={fresh}"
        self.json(200, out, [("Preference-Applied", f"odata.maxpagesize={applied}")] if applied else [])

    def move(self, user, params, query, body):
        args = {k.lower(): v for k, v in (body or {}).items()}
        dest_key = args.get("destinationid")
        if not dest_key:
            return self.error(400, "ErrorInvalidRequest", "The destinationId parameter is required.")
        with LOCK:
            m = user.messages.get(params["message-id"])
            dest = user.folder(dest_key)
            if m is None or dest is None:
                return self.error(404, "ErrorItemNotFound", "The specified object was not found in the store.")
            moved = user.move(m, dest)
            out = {"@odata.context": f"{self.base()}/v1.0/$metadata#users('{user.id}')/messages/$entity",
                   **message_json(moved)}
        self.json(201, out)

    def list_folders(self, user, parent, query):
        flt = query.get("$filter")
        try:
            top = int(query.get("$top", DEFAULT_PAGE_SIZE))
            skip = int(query.get("$skip", 0))
            assert 1 <= top <= MAX_PAGE_SIZE and skip >= 0
        except (ValueError, AssertionError):
            return self.error(400, "ErrorInvalidUrlQuery", "The query parameter '$top' or '$skip' is invalid.")
        with LOCK:
            folders = user.children(parent, hidden=query.get("includeHiddenFolders", "").lower() == "true")
            if flt is not None:
                fm = re.match(r"^\s*displayName\s+eq\s+'((?:[^']|'')*)'\s*$", flt)
                if not fm:
                    return self.error(400, "ErrorInvalidUrlQueryFilter",
                                      "The query filter contains one or more invalid nodes: only displayName eq '…' "
                                      "is supported by this test server.")
                name = fm.group(1).replace("''", "'").lower()
                folders = [f for f in folders if f.display_name.lower() == name]
            page = folders[skip:skip + top]
            root = parent is user.root
            context = (f"{self.base()}/v1.0/$metadata#users('{user.id}')/mailFolders" if root else
                       f"{self.base()}/v1.0/$metadata#users('{user.id}')/mailFolders('{parent.id}')/childFolders")
            out = {"@odata.context": context, "value": [folder_json(user, f) for f in page]}
        if skip + top < len(folders):
            q = {k: v for k, v in query.items() if k not in ("$skip", "$top")}
            q.update({"$top": str(top), "$skip": str(skip + top)})
            out["@odata.nextLink"] = f"{self.base()}{urlsplit(self.path).path}?{urlencode(q, quote_via=quote, safe='$')}"
        self.json(200, out)

    def create_folder(self, user, parent, body):
        name = (body or {}).get("displayName")
        if not isinstance(name, str) or not name.strip():
            return self.error(400, "ErrorInvalidParameter", "The displayName of a folder is required.")
        with LOCK:
            if any(f.display_name.lower() == name.lower() for f in user.children(parent, hidden=True)):
                return self.error(409, "ErrorFolderExists", "A folder with the specified name already exists.")
            f = Folder(user, name, parent.id, hidden=bool((body or {}).get("isHidden")))
            user.folders[f.id] = f
            context = (f"{self.base()}/v1.0/$metadata#users('{user.id}')/mailFolders/$entity" if parent is user.root else
                       f"{self.base()}/v1.0/$metadata#users('{user.id}')/mailFolders('{parent.id}')/childFolders/$entity")
            out = folder_json(user, f, context)
        self.json(201, out)

    def top_folders(self, user, params, query, body):
        if self.command == "GET":
            return self.list_folders(user, user.root, query)
        return self.create_folder(user, user.root, body)

    def child_folders(self, user, params, query, body):
        with LOCK:
            parent = user.folder(params["mailFolder-id"])
        if parent is None:
            return self.error(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        if self.command == "GET":
            return self.list_folders(user, parent, query)
        return self.create_folder(user, parent, body)

    def get_folder(self, user, params, query, body):
        with LOCK:
            f = user.folder(params["mailFolder-id"])
            out = f and folder_json(user, f, f"{self.base()}/v1.0/$metadata#users('{user.id}')/mailFolders/$entity")
        if out is None:
            return self.error(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        self.json(200, out)

    def send_mail(self, user, params, query, body):
        args = {k.lower(): v for k, v in (body or {}).items()}
        msg = args.get("message")
        save = args.get("savetosentitems")
        save = True if save is None else bool(save)
        if not isinstance(msg, dict):
            return self.error(400, "ErrorInvalidRequest", "The message parameter is required.")
        sender = (msg.get("from") or {}).get("emailAddress") or {}
        if sender.get("address") and sender["address"].lower() != user.mail.lower():
            return self.error(403, "ErrorSendAsDenied",
                              "The user account which was used to submit this request does not have the right to send "
                              "mail on behalf of the specified sending account.")
        headers = msg.get("internetMessageHeaders") or []
        for h in headers:
            if not str(h.get("name") or "").lower().startswith("x-"):
                return self.error(400, "InvalidInternetMessageHeader",
                                  f"The internet message header name '{h.get('name')}' should start with 'x-' or 'X-'.")

        def addresses(prop):
            out = []
            for r in msg.get(prop) or []:
                a = (r or {}).get("emailAddress") or {}
                if not a.get("address"):
                    return None
                out.append((a.get("name") or None, a["address"]))
            return out

        to, cc, bcc, reply_to = (addresses(p) for p in ("toRecipients", "ccRecipients", "bccRecipients", "replyTo"))
        if to is None or cc is None or bcc is None or reply_to is None or not (to or cc or bcc):
            return self.error(400, "ErrorInvalidRecipients",
                              "At least one recipient isn't valid., A message can't be sent because it contains no "
                              "recipients.")
        e = EmailMessage(policy=SMTP)
        e["From"] = email.utils.formataddr((user.display_name, user.mail)) if user.named else user.mail
        if to:
            e["To"] = ", ".join(email.utils.formataddr(r) for r in to)
        if cc:
            e["Cc"] = ", ".join(email.utils.formataddr(r) for r in cc)
        if reply_to:
            e["Reply-To"] = ", ".join(email.utils.formataddr(r) for r in reply_to)
        e["Subject"] = msg.get("subject") or ""
        e["Date"] = email.utils.format_datetime(datetime.now(timezone.utc))
        mid = (msg.get("internetMessageId") or "").strip() or f"<{uuid.uuid4().hex}@{user.mail.split('@')[-1]}>"
        e["Message-ID"] = mid if mid.startswith("<") else f"<{mid}>"
        for p in msg.get("singleValueExtendedProperties") or []:
            pid = " ".join(str(p.get("id") or "").lower().split())
            if pid == EXT_IN_REPLY_TO and p.get("value"):
                e["In-Reply-To"] = p["value"]
            elif pid == EXT_REFERENCES and p.get("value"):
                e["References"] = p["value"]
        for h in headers:
            e[h["name"]] = h.get("value") or ""
        e["MIME-Version"] = "1.0"
        b = msg.get("body") or {}
        content = b.get("content") or ""
        html = (b.get("contentType") or "text").lower() == "html"
        e.set_content(content, subtype="html" if html else "plain", cte="quoted-printable")
        # Inline parts first: they join the HTML body in a multipart/related before the attachments.
        for a in sorted(msg.get("attachments") or [], key=lambda a: not (a.get("isInline") and a.get("contentId"))):
            if a.get("@odata.type", "#microsoft.graph.fileAttachment") != "#microsoft.graph.fileAttachment":
                return self.error(400, "ErrorInvalidRequest",
                                  f"Only file attachments are sent by this test server, not {a.get('@odata.type')}.")
            try:
                data = base64.b64decode(a.get("contentBytes") or "", validate=True)
            except ValueError:
                return self.error(400, "ErrorInvalidRequest", f"The contentBytes of attachment '{a.get('name')}' are not base64.")
            maintype, _, subtype = (a.get("contentType") or "application/octet-stream").partition("/")
            subtype = subtype.split(";")[0].strip() or "octet-stream"
            if a.get("isInline") and a.get("contentId") and html:
                e.add_related(data, maintype=maintype, subtype=subtype, cid=f"<{a['contentId'].strip('<>')}>",
                              filename=a.get("name") or "inline", disposition="inline")
            else:
                e.add_attachment(data, maintype=maintype, subtype=subtype, filename=a.get("name") or "attachment")
        for part in e.walk():
            if part is not e:
                del part["MIME-Version"]  # the email package repeats it on each part; Exchange does not
        raw = e.as_bytes(policy=SMTP)
        delivered = []
        with LOCK:
            for _, address in to + cc + bcc:
                dest = STORE.users.get(address.lower())
                if dest is not None and dest.licensed and dest.mail.lower() not in delivered:
                    dest.put(dest.folder("inbox"), raw)
                    delivered.append(dest.mail.lower())
            if save:
                user.put(user.folder("sentitems"), raw,
                         meta={"bcc_list": bcc, "meta_bcc": ", ".join(email.utils.formataddr(r) for r in bcc)})
            STORE.outbound.append({"t": time.time(), "from": user.mail, "to": [a for _, a in to], "cc": [a for _, a in cc],
                                   "bcc": [a for _, a in bcc], "message_id": str(e["Message-ID"]),
                                   "subject": msg.get("subject") or "", "delivered": delivered,
                                   "saved_to_sent_items": save})
        self.send(202, b"", None, self.common_headers())


ROUTES = {
    ("/users/{user-id}", "GET"): Graph.get_user,
    ("/users/{user-id}/messages/{message-id}", "GET"): Graph.get_message,
    ("/users/{user-id}/messages/{message-id}/$value", "GET"): Graph.get_value,
    ("/users/{user-id}/mailFolders/{mailFolder-id}/messages/microsoft.graph.delta()", "GET"): Graph.delta,
    ("/users/{user-id}/microsoft.graph.sendMail", "POST"): Graph.send_mail,
    ("/users/{user-id}/messages/{message-id}/microsoft.graph.move", "POST"): Graph.move,
    ("/users/{user-id}/mailFolders", "GET"): Graph.top_folders,
    ("/users/{user-id}/mailFolders", "POST"): Graph.top_folders,
    ("/users/{user-id}/mailFolders/{mailFolder-id}", "GET"): Graph.get_folder,
    ("/users/{user-id}/mailFolders/{mailFolder-id}/childFolders", "GET"): Graph.child_folders,
    ("/users/{user-id}/mailFolders/{mailFolder-id}/childFolders", "POST"): Graph.child_folders,
}


# ------------------------------------------------------------------------------------------ admin API

class AdminError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class Admin(Handler):
    """The tests' side door: plain HTTP, JSON in and out, one request per connection."""

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def dispatch(self, method):
        self.replied = 0
        self.close_connection = True
        try:
            raw = self.read_body()
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            out = self.route(method, unquote(url.path), query, raw)
            self.answer(200, out)
        except AdminError as e:
            self.answer(e.status, {"error": str(e)})
        except TooLarge:
            self.answer(413, {"error": "request body too large"})
        except Exception as e:  # noqa: BLE001
            import traceback
            log(traceback.format_exc())
            self.answer(500, {"error": repr(e)})

    def answer(self, status, body):
        self.send(status, json.dumps(body, ensure_ascii=False).encode(), "application/json", [("Connection", "close")])

    @staticmethod
    def json_body(raw):
        try:
            v = json.loads(raw or b"null")
        except ValueError as e:
            raise AdminError(400, f"the body is not JSON: {e}") from None
        if not isinstance(v, dict):
            raise AdminError(400, "the body must be a JSON object")
        return v

    @staticmethod
    def user(mail):
        u = STORE.user(mail)
        if u is None:
            raise AdminError(404, f"no user {mail}")
        return u

    def route(self, method, path, query, raw):
        with LOCK:
            if (method, path) == ("GET", "/health"):
                return {"ok": True}
            if (method, path) == ("POST", "/apps"):
                return self.add_app(self.json_body(raw))
            if (method, path) == ("GET", "/apps"):
                return [a.public() for a in STORE.apps.values()]
            if (method, path) == ("POST", "/users"):
                return self.add_user(self.json_body(raw))
            if (method, path) == ("GET", "/users"):
                return [{"id": u.id, "mail": u.mail, "display_name": u.name, "licensed": u.licensed, "enabled": u.enabled}
                        for u in STORE.users.values()]
            m = re.match(r"^/users/([^/]+)/(deliver|messages|folders)$", path)
            if m and (method, m.group(2)) == ("POST", "deliver"):
                return self.deliver(self.user(m.group(1)), query, raw)
            if m and (method, m.group(2)) == ("GET", "messages"):
                return self.messages(self.user(m.group(1)), query.get("folder", "inbox"))
            if m and (method, m.group(2)) == ("GET", "folders"):
                u = self.user(m.group(1))
                return [dict(folder_json(u, f), wellKnownName=f.well_known) for f in u.folders.values()]
            if (method, path) == ("POST", "/faults"):
                return self.add_fault(self.json_body(raw))
            if (method, path) == ("GET", "/faults"):
                return list(STORE.faults)
            if (method, path) == ("GET", "/requests"):
                return list(STORE.requests)
            m = re.match(r"^/tokens/([^/]+)$", path)
            if m and method == "GET":
                # Introspection, for another test server that trusts this one's tokens (the EWS
                # server with Hybrid Modern Auth): who the token is for, and for what.
                grant = STORE.tokens.get(unquote(m.group(1)))
                if grant is None or grant.expires <= time.time():
                    raise AdminError(404, "no such token")
                return {"tenant": grant.app.tenant, "client_id": grant.app.client_id, "resource": grant.resource,
                        "expires": grant.expires}
            if (method, path) == ("GET", "/violations"):
                return list(STORE.violations)
            if (method, path) == ("GET", "/concurrency"):
                return dict(STORE.max_inflight)
            if (method, path) == ("GET", "/outbound"):
                return list(STORE.outbound)
            if (method, path) == ("POST", "/reset-log"):
                STORE.requests.clear()
                STORE.violations.clear()
                STORE.max_inflight.clear()
                return {}
        raise AdminError(404, f"no admin operation {method} {path}")

    @staticmethod
    def add_app(a):
        if not a.get("tenant") or not a.get("client_id"):
            raise AdminError(400, "tenant and client_id are required")
        users = a.get("users", "*")
        if users != "*" and not isinstance(users, list):
            raise AdminError(400, 'users is a list of mail addresses or "*"')
        try:
            app = App(a["tenant"], a["client_id"], a.get("secret"), a.get("certificate_pem"), users,
                      a.get("resources") or [])
        except ValueError as e:
            raise AdminError(400, f"certificate_pem: {e}") from None
        STORE.apps[(app.tenant.lower(), app.client_id.lower())] = app
        return app.public()

    @staticmethod
    def add_user(a):
        mail = a.get("mail")
        if not isinstance(mail, str) or "@" not in mail:
            raise AdminError(400, "mail is required")
        u = STORE.users.get(mail.lower())
        if u is None:
            u = User(mail, a.get("display_name"), True, True)
            STORE.users[mail.lower()] = u
        elif a.get("display_name"):
            u.display_name, u.named = a["display_name"], True
        u.licensed = bool(a.get("licensed", True))
        u.enabled = bool(a.get("enabled", True))
        return {"id": u.id, "mail": u.mail}

    def deliver(self, u, query, raw):
        received = normalize_received(self.headers.get("X-Received-DateTime") or query.get("received"))
        if received is None:
            raise AdminError(400, "X-Received-DateTime (or ?received=) is not an ISO 8601 or RFC 5322 date")
        folder = u.folder_admin(query.get("folder", "inbox"))
        if folder is None:
            raise AdminError(404, f"no folder {query.get('folder')}")
        m = u.put(folder, raw, received)
        return {"id": m.id, "folder": folder.display_name, "receivedDateTime": m.received}

    @staticmethod
    def messages(u, key):
        f = u.folder_admin(key)
        if f is None:
            raise AdminError(404, f"no folder {key}")
        return [{"id": m.id, "folder": f.display_name, "received": m.received, "from": (m.from_ or (None, ""))[1],
                 "subject": m.subject, "internet_message_id": m.internet_message_id or "", "in_reply_to": m.in_reply_to,
                 "references": m.references, "to": m.to, "cc": m.cc, "bcc": m.meta_bcc or m.bcc,
                 "raw_b64": base64.b64encode(m.raw).decode()} for m in u.in_folder(f)]

    @staticmethod
    def add_fault(f):
        kind = f.get("kind")
        user = f.get("user")
        if user is not None and not isinstance(user, str):
            raise AdminError(400, "user is a mail address")
        if kind == "expire_delta":
            for u in STORE.users.values():
                if user is None or u.mail.lower() == user.lower():
                    u.sync_gen += 1
                    for token in [t for t, s in STORE.sync.items() if s["user"] == u.id]:
                        del STORE.sync[token]
            return {}
        if kind == "expire_tokens":
            for grant in STORE.tokens.values():
                grant.expires = 0
            return {}
        if kind not in ("throttle", "malformed", "slow"):
            raise AdminError(400, f"unknown fault kind {kind!r}")
        count = f.get("count", 1)
        if not isinstance(count, int) or count < 1:
            raise AdminError(400, "count is a positive integer")
        fault = {"kind": kind, "count": count, "user": user.lower() if user else None}
        if kind == "throttle":
            status = f.get("status", 429)
            if status not in (429, 503):
                raise AdminError(400, "a throttle fault's status is 429 or 503")
            fault.update(status=status, retry_after=f.get("retry_after", 1))
        if kind == "slow":
            fault["seconds"] = float(f.get("seconds", 1))
        STORE.faults.append(fault)
        return fault


# ------------------------------------------------------------------------------------------ start-up

class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def handle_error(self, request, client_address):
        # A client that gave up on the TLS handshake (an untrusted certificate) or hung up.
        log(f"connection from {client_address[0]}:{client_address[1]} ended: {sys.exc_info()[1]!r}")


def main():
    global SPEC, PORT
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--state", required=True)
    ap.add_argument("--fixtures", required=True)
    a = ap.parse_args()
    t0 = time.time()
    SPEC = Spec(a.fixtures)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_alpn_protocols(["http/1.1"])
    ctx.load_cert_chain(os.path.join(a.state, "tls/server.pem"), os.path.join(a.state, "tls/server-key.pem"))
    https = Server(("127.0.0.1", 0), Graph)
    https.socket = ctx.wrap_socket(https.socket, server_side=True, do_handshake_on_connect=False)
    admin = Server(("127.0.0.1", 0), Admin)
    PORT, admin_port = https.server_address[1], admin.server_address[1]
    threading.Thread(target=admin.serve_forever, daemon=True, name="admin").start()

    def watchdog():
        while os.path.isdir(a.state):
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watchdog, daemon=True, name="watchdog").start()
    tmp = os.path.join(a.state, "graph.ports.new")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump({"port": PORT, "admin_port": admin_port}, f)
    os.replace(tmp, os.path.join(a.state, "graph.ports"))
    log(f"Graph and the token endpoint on https://127.0.0.1:{PORT}, admin on http://127.0.0.1:{admin_port} "
        f"(PyJWT {jwt.__version__}; ready in {time.time() - t0:.2f} s)")
    https.serve_forever()


if __name__ == "__main__":
    main()
