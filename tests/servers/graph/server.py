#!/usr/bin/env python3
"""A Microsoft Graph test server for ServerSync's tests (Exchange Online cannot run here).

HTTPS (the tests' throwaway CA): the Microsoft Entra token endpoint and the Graph v1.0 mail
endpoints ServerSync uses, over a small stateful mail store. Every Graph request is checked
against the OpenAPI subset of shared/fixtures/graph (operation and JSON body); one that does not
match is answered 400 and recorded as a violation. The server's own JSON answers are checked too.
Plain HTTP on a second port: the admin API the tests drive (see README.md).

    server.py --state DIR --fixtures DIR
"""
import argparse, base64, email, email.policy, hashlib, importlib.util, json, os, re, secrets, socket, ssl
import sys, threading, time, uuid
from datetime import datetime, timezone
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit, quote

from openapi_schema_validator import OAS30ReadValidator, OAS30WriteValidator, oas30_format_checker
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

LOCK = threading.RLock()
MAX_BODY = 4 * 1024 * 1024
WELL_KNOWN = {"inbox": "Inbox", "sentitems": "Sent Items", "drafts": "Drafts", "deleteditems": "Deleted Items"}


def now_iso():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def opaque(prefix="AAMk"):
    return prefix + base64.urlsafe_b64encode(secrets.token_bytes(18)).decode().rstrip("=")


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class Store:
    def __init__(self):
        self.apps = {}        # (tenant, client_id) -> app
        self.users = {}       # mail lower -> user
        self.tokens = {}      # token -> (app key, expiry)
        self.requests = []
        self.violations = []
        self.outbound = []
        self.faults = []
        self.inflight = {}
        self.max_inflight = {}
        self.expired_epoch = {}  # user -> epoch; delta tokens of older epochs are refused

    def user(self, key):
        key = unquote(key).lower()
        if key in self.users:
            return self.users[key]
        for u in self.users.values():
            if u["id"] == key:
                return u
        return None

    def add_user(self, mail, licensed=True, enabled=True, display=None):
        u = {"id": str(uuid.uuid4()), "mail": mail, "displayName": display or mail.split("@")[0],
             "licensed": licensed, "enabled": enabled, "folders": {}, "messages": {}, "seq": 0, "log": []}
        for wk, name in WELL_KNOWN.items():
            u["folders"][wk] = {"id": opaque("AQMk"), "displayName": name, "wk": wk}
        self.users[mail.lower()] = u
        return u

    def folder(self, u, key):
        if key.lower() in u["folders"]:
            return u["folders"][key.lower()]
        for f in u["folders"].values():
            if f["id"] == key or f["displayName"].lower() == key.lower():
                return f
        return None

    def put(self, u, folder, raw, received=None):
        m = email.message_from_bytes(raw, policy=email.policy.default)
        def h(name):
            try:
                return str(m.get(name, "") or "")
            except Exception:
                return ""
        mid = opaque()
        u["messages"][mid] = {"id": mid, "folder": folder["id"], "raw": raw, "received": received or now_iso(),
                              "subject": h("Subject"), "internetMessageId": h("Message-ID"),
                              "inReplyTo": h("In-Reply-To"), "references": h("References"),
                              "from": h("From"), "to": h("To"), "cc": h("Cc"), "bcc": h("Bcc")}
        u["seq"] += 1
        u["log"].append((u["seq"], folder["id"], "add", mid))
        return mid

    def remove(self, u, mid):
        m = u["messages"].pop(mid)
        u["seq"] += 1
        u["log"].append((u["seq"], m["folder"], "remove", mid))
        return m


S = Store()
SPEC = None
VALIDATORS = {}


def load_spec(fixtures):
    global SPEC, VAL
    path = os.path.join(fixtures, "validate.py")
    spec = importlib.util.spec_from_file_location("graph_validate", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    VAL = mod
    SPEC = json.load(open(os.path.join(fixtures, "graph-v1.0-subset.validation.json"), encoding="utf-8"))


def validator(cls, schema_key, schema):
    key = (cls.__name__, schema_key)
    if key not in VALIDATORS:
        VALIDATORS[key] = cls({"allOf": [schema], "components": SPEC["components"]}, format_checker=oas30_format_checker)
    return VALIDATORS[key]


def check(method, path, kind, body, status="2XX"):
    """None when valid, else the reason."""
    key = VAL.match(SPEC, path)
    op = key and SPEC["paths"][key].get(method.lower())
    if not op:
        return f"no operation {method} {path}"
    if body is None:
        return None
    if kind == "request":
        rb = VAL.deref(SPEC, op.get("requestBody") or {})
        cls = OAS30WriteValidator
    else:
        rs = op.get("responses", {})
        st = status if status in rs else ("2XX" if "2XX" in rs else "default")
        rb = VAL.deref(SPEC, rs.get(st) or {})
        cls = OAS30ReadValidator
    schema = ((rb.get("content") or {}).get("application/json") or {}).get("schema")
    if schema is None:
        return None
    inst = body
    if kind == "request" and op.get("x-ms-docs-operation-type") == "action" and isinstance(inst, dict):
        names = {n.lower(): n for n in (VAL.deref(SPEC, schema).get("properties") or {})}
        inst = {names.get(k.lower(), k): v for k, v in inst.items()}
    errs = list(validator(cls, (key, method, kind, status), schema).iter_errors(inst))
    if errs:
        e = errs[0]
        return f"{kind} body invalid at {'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message[:300]}"
    return None


def odata_error(code, message):
    return {"error": {"code": code, "message": message,
                      "innerError": {"date": now_iso(), "request-id": str(uuid.uuid4()),
                                     "client-request-id": str(uuid.uuid4())}}}


def message_json(base, u, m, select=None):
    full = {
        "@odata.etag": 'W/"' + hashlib.sha1(m["id"].encode()).hexdigest()[:16] + '"',
        "id": m["id"],
        "receivedDateTime": m["received"],
        "subject": m["subject"],
        "internetMessageId": m["internetMessageId"],
        "parentFolderId": m["folder"],
        "isRead": False,
        "hasAttachments": False,
    }
    if select:
        return {k: v for k, v in full.items() if k in select or k in ("id", "@odata.etag")}
    return full


def folder_json(u, f):
    total = sum(1 for m in u["messages"].values() if m["folder"] == f["id"])
    return {"id": f["id"], "displayName": f["displayName"], "parentFolderId": u["folders"]["inbox"]["id"],
            "childFolderCount": 0, "unreadItemCount": total, "totalItemCount": total, "isHidden": False}


def encode_token(d):
    return base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")


def decode_token(t):
    try:
        return json.loads(b64url_decode(t))
    except Exception:
        return None


class Graph(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-IIS/10.0"

    def log_message(self, fmt, *args):
        sys.stderr.write("graph: " + (fmt % args) + "\n")

    def release(self):
        # A request stops counting against its mailbox's limit once its answer is ready, before
        # it is sent: the client may send its next request as soon as it has the answer.
        key = getattr(self, "counted", None)
        if key:
            with LOCK:
                S.inflight[key] -= 1
            self.counted = None

    def reply(self, status, body=None, headers=None, raw=None, ctype="application/json"):
        self.release()
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        self.send_response(status)
        if data or raw is not None:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.status = status

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def base(self):
        return f"https://{self.headers.get('Host') or '127.0.0.1'}"

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def handle_any(self, method):
        started = time.time()
        self.status = 0
        entry = {"t": started, "method": method, "path": self.path, "user": None, "status": 0, "token_app": None}
        try:
            if "/oauth2/v2.0/token" in self.path:
                self.token(entry)
            else:
                self.graph(method, entry)
        except Exception as e:  # a server bug: recorded, answered 500
            with LOCK:
                S.violations.append({"method": method, "path": self.path, "what": "server error", "error": repr(e)})
            if not self.status:
                self.reply(500, odata_error("InternalServerError", repr(e)))
        entry["status"] = self.status
        entry["duration_ms"] = round((time.time() - started) * 1000, 1)
        with LOCK:
            S.requests.append(entry)

    # ---------------------------------------------------------------- token endpoint
    def token(self, entry):
        tenant = self.path.split("/")[1]
        form = {k: v[0] for k, v in parse_qs(self.body().decode(errors="replace")).items()}
        def refuse(status, err, code, text):
            self.reply(status, {"error": err, "error_description": f"AADSTS{code}: {text}\r\nTrace ID: {uuid.uuid4()}",
                                "error_codes": [code], "timestamp": now_iso(), "trace_id": str(uuid.uuid4()),
                                "correlation_id": str(uuid.uuid4())})
        with LOCK:
            tenants = {t for (t, _) in S.apps}
            app = S.apps.get((tenant, form.get("client_id", "")))
        if tenant not in tenants:
            return refuse(400, "invalid_request", 90002, f"Tenant '{tenant}' not found.")
        if form.get("grant_type") != "client_credentials":
            return refuse(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
        if not app:
            return refuse(400, "unauthorized_client", 700016,
                          f"Application with identifier '{form.get('client_id')}' was not found in the directory.")
        scope = form.get("scope", "")
        if scope not in ("https://graph.microsoft.com/.default", self.base() + "/.default",
                         self.base().replace("localhost", "127.0.0.1") + "/.default"):
            return refuse(400, "invalid_scope", 1002012, f"The provided value for scope {scope} is not valid.")
        if "client_assertion" in form:
            why = self.check_assertion(app, form, tenant)
            if why:
                return refuse(401, "invalid_client", why[0], why[1])
        elif app.get("secret") is None or form.get("client_secret") != app["secret"]:
            return refuse(401, "invalid_client", 7000215, "Invalid client secret provided.")
        tok = secrets.token_urlsafe(32)
        with LOCK:
            S.tokens[tok] = ((tenant, app["client_id"]), time.time() + 3599)
        entry["token_app"] = app["client_id"]
        self.reply(200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": tok})

    def check_assertion(self, app, form, tenant):
        if form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            return (700024, "Client assertion type is not supported.")
        cert = app.get("cert")
        if cert is None:
            return (700027, "Client assertion contains an invalid signature: no certificate is registered.")
        try:
            h64, c64, s64 = form["client_assertion"].split(".")
            header, claims, sig = json.loads(b64url_decode(h64)), json.loads(b64url_decode(c64)), b64url_decode(s64)
        except Exception:
            return (50027, "JWT token is invalid or malformed.")
        der = cert.public_bytes(encoding=__import__("cryptography.hazmat.primitives.serialization", fromlist=["Encoding"]).Encoding.DER)
        x5t = base64.urlsafe_b64encode(hashlib.sha1(der).digest()).decode().rstrip("=")
        x5t256 = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).decode().rstrip("=")
        if header.get("alg") != "RS256":
            return (700027, "Client assertion contains an invalid signature: the algorithm is not RS256.")
        if header.get("x5t") != x5t and header.get("x5t#S256") != x5t256:
            return (700027, f"Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: '{header.get('x5t')}']")
        try:
            cert.public_key().verify(sig, f"{h64}.{c64}".encode(), padding.PKCS1v15(), hashes.SHA256())
        except Exception:
            return (700027, "Client assertion contains an invalid signature. [Reason - The signature is not valid.]")
        now = time.time()
        aud = claims.get("aud", "")
        want = {f"{b}/{tenant}/oauth2/v2.0/token" for b in (self.base(), self.base().replace("localhost", "127.0.0.1"),
                                                           self.base().replace("127.0.0.1", "localhost"))}
        if aud not in want:
            return (700024, f"Client assertion audience claim does not match Realm issuer: {aud}")
        if claims.get("iss") != app["client_id"] or claims.get("sub") != app["client_id"]:
            return (700023, "Client assertion issuer or subject is not the application.")
        if not claims.get("jti") or claims.get("exp", 0) < now or claims.get("nbf", now) > now + 60:
            return (700024, "Client assertion is not within its valid time range.")
        return None

    # ---------------------------------------------------------------- Graph
    def graph(self, method, entry):
        url = urlsplit(self.path)
        path = unquote(url.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        raw = self.body() if method == "POST" else b""
        # Authentication.
        auth = self.headers.get("Authorization", "")
        tok = auth[7:] if auth.startswith("Bearer ") else None
        with LOCK:
            t = S.tokens.get(tok)
        if not t:
            return self.reply(401, odata_error("InvalidAuthenticationToken", "Access token is empty or invalid."))
        if t[1] < time.time():
            return self.reply(401, odata_error("InvalidAuthenticationToken", "Lifetime validation failed, the token is expired."))
        entry["token_app"] = t[0][1]
        # The request against Graph's description.
        body = None
        if raw:
            if len(raw) > MAX_BODY:
                return self.reply(413, odata_error("ErrorRequestEntityTooLarge", "The request is too large."))
            try:
                body = json.loads(raw)
            except Exception as e:
                return self.violation(method, path, "request body is not JSON", repr(e))
        why = check(method, path, "request", body)
        if why:
            return self.violation(method, path, "request", why)
        m = re.match(r"^/v1\.0/users/([^/]+)(/.*)?$", path)
        if not m:
            return self.reply(404, odata_error("BadRequest", "Resource not found for the segment."))
        u = S.user(m.group(1))
        rest = m.group(2) or ""
        entry["user"] = u["mail"] if u else unquote(m.group(1))
        app = S.apps.get(t[0])
        if u is None:
            if rest == "":
                return self.reply(404, odata_error("Request_ResourceNotFound",
                                                   f"Resource '{m.group(1)}' does not exist or one of its queried reference-property objects are not present."))
            return self.reply(404, odata_error("ErrorInvalidUser", f"The requested user '{m.group(1)}' is invalid."))
        if app["users"] != "*" and u["mail"].lower() not in [x.lower() for x in app["users"]]:
            return self.reply(403, odata_error("ErrorAccessDenied", "Access is denied. Check credentials and try again."))
        # Faults and Graph's own concurrency limit.
        fault = self.take_fault(u["mail"])
        key = u["mail"].lower()
        with LOCK:
            S.inflight[key] = S.inflight.get(key, 0) + 1
            S.max_inflight[key] = max(S.max_inflight.get(key, 0), S.inflight[key])
            over = S.inflight[key] > 4
        self.counted = key
        try:
            if over:
                return self.reply(429, odata_error("ApplicationThrottled", "Application is over its MailboxConcurrency limit."),
                                  {"Retry-After": "1"})
            if fault:
                kind = fault["kind"]
                if kind == "slow":
                    time.sleep(float(fault.get("seconds", 1)))
                elif kind == "throttle":
                    status = int(fault.get("status", 429))
                    code = "TooManyRequests" if status == 429 else "ServiceUnavailable"
                    return self.reply(status, odata_error(code, "Too many requests." if status == 429 else "Service unavailable."),
                                      {"Retry-After": str(fault.get("retry_after", 1))})
                elif kind == "malformed":
                    return self.reply(200, raw=b'{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#Collection(message)","value":[{"id":"AAMk')
            if rest and not u["enabled"]:
                return self.reply(403, odata_error("ErrorAccountDisabled", "The user account which was used to submit this request is disabled."))
            if rest and not u["licensed"]:
                return self.reply(404, odata_error("MailboxNotEnabledForRESTAPI", "The mailbox is either inactive, soft-deleted, or is hosted on-premise."))
            self.route(method, path, rest, query, body, u)
        finally:
            self.release()

    def take_fault(self, mail):
        with LOCK:
            for f in S.faults:
                if f["count"] > 0 and f["kind"] in ("slow", "throttle", "malformed") and f.get("user", mail).lower() == mail.lower():
                    f["count"] -= 1
                    return f
        return None

    def violation(self, method, path, what, why):
        with LOCK:
            S.violations.append({"method": method, "path": self.path, "what": what, "error": why})
        return self.reply(400, odata_error("ServerSyncTest.InvalidRequest", why))

    def ok_json(self, method, path, body, status=200):
        why = check(method, path, "response", body, str(status))
        if why:
            with LOCK:
                S.violations.append({"method": method, "path": self.path, "what": "response (server bug)", "error": why})
        self.reply(status, body)

    def route(self, method, path, rest, query, body, u):
        base = self.base()
        sel = set(query["$select"].split(",")) if "$select" in query else None
        if method == "GET" and rest == "":
            full = {"id": u["id"], "displayName": u["displayName"], "mail": u["mail"], "userPrincipalName": u["mail"]}
            return self.ok_json(method, path, {k: v for k, v in full.items() if not sel or k in sel or k == "id"})
        m = re.match(r"^/mailFolders/([^/]+)/messages/delta$", rest)
        if method == "GET" and m:
            return self.delta(method, path, u, m.group(1), query, sel)
        m = re.match(r"^/messages/([^/]+)/\$value$", rest)
        if method == "GET" and m:
            msg = u["messages"].get(m.group(1))
            if not msg:
                return self.reply(404, odata_error("ErrorItemNotFound", "The specified object was not found in the store."))
            return self.reply(200, raw=msg["raw"], ctype="text/plain")
        m = re.match(r"^/messages/([^/]+)$", rest)
        if method == "GET" and m:
            msg = u["messages"].get(m.group(1))
            if not msg:
                return self.reply(404, odata_error("ErrorItemNotFound", "The specified object was not found in the store."))
            return self.ok_json(method, path, message_json(base, u, msg, sel))
        if method == "POST" and rest == "/sendMail":
            return self.send_mail(u, body)
        m = re.match(r"^/messages/([^/]+)/move$", rest)
        if method == "POST" and m:
            args = {k.lower(): v for k, v in (body or {}).items()}
            dest = S.folder(u, args.get("destinationid", ""))
            msg = u["messages"].get(m.group(1))
            if not msg:
                return self.reply(404, odata_error("ErrorItemNotFound", "The specified object was not found in the store."))
            if not dest:
                return self.reply(404, odata_error("ErrorItemNotFound", "The destination folder was not found."))
            with LOCK:
                old = S.remove(u, msg["id"])
                new = S.put(u, dest, old["raw"], old["received"])
            return self.ok_json(method, path, message_json(base, u, u["messages"][new]), 201)
        if rest == "/mailFolders":
            if method == "GET":
                folders = list(u["folders"].values())
                flt = query.get("$filter", "")
                fm = re.match(r"^displayName eq '(.*)'$", flt)
                if fm:
                    name = fm.group(1).replace("''", "'")
                    folders = [f for f in folders if f["displayName"].lower() == name.lower()]
                return self.ok_json(method, path, {"@odata.context": f"{base}/v1.0/$metadata#users('{u['id']}')/mailFolders",
                                                   "value": [folder_json(u, f) for f in folders]})
            name = (body or {}).get("displayName", "")
            with LOCK:
                if any(f["displayName"].lower() == name.lower() for f in u["folders"].values()):
                    return self.reply(409, odata_error("ErrorFolderExists", "A folder with the specified name already exists."))
                f = {"id": opaque("AQMk"), "displayName": name, "wk": None}
                u["folders"][f["id"]] = f
            return self.ok_json(method, path, folder_json(u, f), 201)
        m = re.match(r"^/mailFolders/([^/]+)$", rest)
        if method == "GET" and m:
            f = S.folder(u, m.group(1))
            if not f:
                return self.reply(404, odata_error("ErrorItemNotFound", "The specified folder was not found in the store."))
            return self.ok_json(method, path, folder_json(u, f))
        self.reply(400, odata_error("BadRequest", f"{method} {rest} is not served by this test server"))

    def delta(self, method, path, u, folder_key, query, sel):
        f = S.folder(u, folder_key)
        if not f:
            return self.reply(404, odata_error("ErrorItemNotFound", "The specified folder was not found in the store."))
        size = 10
        pm = re.search(r"odata\.maxpagesize=(\d+)", self.headers.get("Prefer", ""))
        if pm:
            size = max(1, min(1000, int(pm.group(1))))
        epoch = S.expired_epoch.get(u["mail"].lower(), 0)
        with LOCK:
            if "$deltatoken" in query or "$skiptoken" in query:
                st = decode_token(query.get("$deltatoken") or query.get("$skiptoken"))
                if not st or st.get("f") != f["id"] or st.get("e") != epoch or st.get("u") != u["id"]:
                    return self.reply(410, odata_error("SyncStateNotFound", "The sync state generation is not found. Please start a new sync."))
            else:
                st = None
            if st and "$deltatoken" in query:
                # Changes since the token's sequence number, as a new snapshot.
                since, upto = st["s"], u["seq"]
                added, removed = [], []
                for (seq, fid, what, mid) in u["log"]:
                    if since < seq <= upto and fid == f["id"]:
                        if what == "add":
                            added.append(mid)
                        elif mid in added:
                            added.remove(mid)
                        else:
                            removed.append(mid)
                ids = [("add", x) for x in added if x in u["messages"]] + [("remove", x) for x in removed]
                st = {"f": f["id"], "s": since, "upto": upto, "pos": 0, "e": epoch, "u": u["id"], "ids": ids}
            elif st is None:
                items = sorted((m for m in u["messages"].values() if m["folder"] == f["id"]), key=lambda m: (m["received"], m["id"]))
                st = {"f": f["id"], "s": 0, "upto": u["seq"], "pos": 0, "e": epoch, "u": u["id"],
                      "ids": [("add", m["id"]) for m in items]}
            page = st["ids"][st["pos"]:st["pos"] + size]
            values = []
            for (what, mid) in page:
                if what == "add" and mid in u["messages"]:
                    values.append(message_json(self.base(), u, u["messages"][mid], sel))
                elif what == "remove":
                    values.append({"@odata.type": "#microsoft.graph.message", "id": mid, "@removed": {"reason": "deleted"}})
            st2 = dict(st, pos=st["pos"] + len(page))
        link = f"{self.base()}/v1.0/users/{u['id']}/mailFolders/{folder_key}/messages/delta"
        out = {"@odata.context": f"{self.base()}/v1.0/$metadata#Collection(message)", "value": values}
        if st2["pos"] < len(st2["ids"]):
            out["@odata.nextLink"] = f"{link}?$skiptoken={encode_token(st2)}"
        else:
            out["@odata.deltaLink"] = f"{link}?$deltatoken={encode_token({'f': f['id'], 's': st2['upto'], 'e': epoch, 'u': u['id']})}"
        headers = {"Preference-Applied": f"odata.maxpagesize={size}"} if pm else {}
        why = check(method, path, "response", out)
        if why:
            with LOCK:
                S.violations.append({"method": method, "path": self.path, "what": "response (server bug)", "error": why})
        self.reply(200, out, headers)

    def send_mail(self, u, body):
        args = {k.lower(): v for k, v in (body or {}).items()}
        msg = args.get("message") or {}
        save = args.get("savetosentitems", True)
        hdrs = msg.get("internetMessageHeaders") or []
        for h in hdrs:
            if not str(h.get("name", "")).lower().startswith("x-"):
                return self.reply(400, odata_error("InvalidInternetMessageHeader",
                                                   f"The internet message header name '{h.get('name')}' should start with 'x-' or 'X-'."))
        def addrs(key):
            return [r["emailAddress"]["address"] for r in (msg.get(key) or [])]
        to, cc, bcc = addrs("toRecipients"), addrs("ccRecipients"), addrs("bccRecipients")
        e = EmailMessage()
        e["From"] = u["mail"]
        if to:
            e["To"] = ", ".join(to)
        if cc:
            e["Cc"] = ", ".join(cc)
        e["Subject"] = msg.get("subject", "")
        e["Date"] = email.utils.format_datetime(datetime.now(timezone.utc))
        e["Message-ID"] = msg.get("internetMessageId") or f"<{uuid.uuid4()}@graph.test>"
        for p in msg.get("singleValueExtendedProperties") or []:
            if p.get("id") == "String 0x1042":
                e["In-Reply-To"] = p.get("value", "")
            if p.get("id") == "String 0x1039":
                e["References"] = p.get("value", "")
        for h in hdrs:
            e[h["name"]] = h.get("value", "")
        b = msg.get("body") or {}
        if (b.get("contentType") or "text").lower() == "html":
            e.set_content(b.get("content", ""), subtype="html")
        else:
            e.set_content(b.get("content", ""))
        for a in msg.get("attachments") or []:
            data = base64.b64decode(a.get("contentBytes", ""))
            mt = (a.get("contentType") or "application/octet-stream").split("/", 1)
            e.add_attachment(data, maintype=mt[0], subtype=mt[1] if len(mt) > 1 else "octet-stream", filename=a.get("name", "file"))
        raw = e.as_bytes()
        with LOCK:
            for r in to + cc + bcc:
                dest = S.users.get(r.lower())
                if dest:
                    S.put(dest, dest["folders"]["inbox"], raw)
            if save:
                S.put(u, u["folders"]["sentitems"], raw)
            S.outbound.append({"from": u["mail"], "to": to, "cc": cc, "bcc": bcc,
                               "message_id": str(e["Message-ID"]), "subject": msg.get("subject", "")})
        self.reply(202)


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

    def do_GET(self):
        url = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        with LOCK:
            if url.path == "/requests":
                return self.reply(200, S.requests)
            if url.path == "/violations":
                return self.reply(200, S.violations)
            if url.path == "/concurrency":
                return self.reply(200, {k: v for k, v in S.max_inflight.items()})
            if url.path == "/outbound":
                return self.reply(200, S.outbound)
            m = re.match(r"^/users/([^/]+)/messages$", url.path)
            if m:
                u = S.user(m.group(1))
                if not u:
                    return self.reply(404, {"error": "no such user"})
                f = S.folder(u, q.get("folder", "inbox"))
                out = [{"id": x["id"], "folder": f["displayName"], "subject": x["subject"],
                        "internet_message_id": x["internetMessageId"], "in_reply_to": x["inReplyTo"],
                        "references": x["references"], "to": x["to"], "cc": x["cc"], "bcc": x["bcc"],
                        "raw_b64": base64.b64encode(x["raw"]).decode()}
                       for x in u["messages"].values() if f and x["folder"] == f["id"]]
                return self.reply(200, out)
        self.reply(404, {"error": "unknown admin path"})

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        path = urlsplit(self.path).path
        with LOCK:
            if path == "/apps":
                a = json.loads(raw)
                cert = None
                if a.get("certificate_pem"):
                    cert = x509.load_pem_x509_certificate(a["certificate_pem"].encode())
                S.apps[(a["tenant"], a["client_id"])] = {"client_id": a["client_id"], "secret": a.get("secret"),
                                                         "cert": cert, "users": a.get("users", "*")}
                return self.reply(200, {})
            if path == "/users":
                a = json.loads(raw)
                u = S.user(a["mail"]) or S.add_user(a["mail"], a.get("licensed", True), a.get("enabled", True), a.get("display_name"))
                u["licensed"], u["enabled"] = a.get("licensed", True), a.get("enabled", True)
                return self.reply(200, {"id": u["id"]})
            m = re.match(r"^/users/([^/]+)/deliver$", path)
            if m:
                u = S.user(m.group(1))
                if not u:
                    return self.reply(404, {"error": "no such user"})
                mid = S.put(u, u["folders"]["inbox"], raw, self.headers.get("X-Received-DateTime"))
                return self.reply(200, {"id": mid})
            if path == "/faults":
                f = json.loads(raw)
                if f["kind"] == "expire_delta":
                    S.expired_epoch[f["user"].lower()] = S.expired_epoch.get(f["user"].lower(), 0) + 1
                elif f["kind"] == "expire_tokens":
                    for k in list(S.tokens):
                        S.tokens[k] = (S.tokens[k][0], 0)
                else:
                    f.setdefault("count", 1)
                    S.faults.append(f)
                return self.reply(200, {})
            if path == "/reset-log":
                S.requests.clear(); S.violations.clear(); S.max_inflight.clear()
                return self.reply(200, {})
        self.reply(404, {"error": "unknown admin path"})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--state", required=True)
    ap.add_argument("--fixtures", required=True)
    a = ap.parse_args()
    load_spec(a.fixtures)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(a.state, "tls/server.pem"), os.path.join(a.state, "tls/server-key.pem"))
    graph = ThreadingHTTPServer(("127.0.0.1", 0), Graph)
    graph.daemon_threads = True
    graph.socket = ctx.wrap_socket(graph.socket, server_side=True, do_handshake_on_connect=False)
    admin = ThreadingHTTPServer(("127.0.0.1", 0), Admin)
    admin.daemon_threads = True
    port, admin_port = graph.server_address[1], admin.server_address[1]
    threading.Thread(target=admin.serve_forever, daemon=True).start()
    tmp = os.path.join(a.state, "graph.json.new")
    with open(tmp, "w") as f:
        json.dump({"port": port, "admin_port": admin_port, "base": f"https://127.0.0.1:{port}"}, f)
    os.replace(tmp, os.path.join(a.state, "graph.json"))
    graph.serve_forever()


if __name__ == "__main__":
    main()
