// Exchange in the real window: Test Connection and Test & Enable Mailboxes of Exchange Online
// (Microsoft Graph) and Exchange Server (EWS) profiles, against the test servers of
// tests/servers/graph and tests/servers/ews, which check every request against Microsoft's
// published descriptions (the OpenAPI subset, the EWS schemas) and record what does not match.
// Five mailboxes per server type, as for IMAP: one good, one whose profile has a wrong secret or
// password, one not approved, one whose profile trusts no authority for the server's
// certificate, and one the server cannot serve (no Exchange Online licence; no such mailbox).
// An app that signs in with a certificate shows the certificate's thumbprint.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { APP, CLI, ROOT, openApp, shot as saveShot } from "./session.mjs";

const DATA = mkdtempSync(join(tmpdir(), "serversync-e2e-exchange-"));
const SERVERS = mkdtempSync(join(tmpdir(), "serversync-e2e-exchange-servers-"));
const SHARED = process.env.SERVERSYNC_SHARED ?? join(ROOT, "../shared");
const TENANT = "6f1d3c1e-2b7a-4c55-9d0e-0a1b2c3d4e5f";
const CLIENT = "0b8c7d6e-5f4a-4b3c-8d2e-1f0a9b8c7d6e";
const CERT_CLIENT = "7e9d1c2b-3a4f-4e5d-8c6b-9a0f1e2d3c4b";
const SECRET = "Xy7~q2.Secret-Value_for-window";
const SERVICE = "svc@fabrikam.test";
const SERVICE_PASSWORD = "Svc-Pass-window";
const SUBJECT = "Your mailbox is now connected to ServerSync";

let app;
let browser;
let graph;
let ews;
let ca;

const $t = (id) => browser.$(`[data-testid="${id}"]`);
const shot = (name) => saveShot(browser, name);

function cli(args, input) {
  const out = execFileSync(CLI, ["--data-dir", DATA, "--json", ...args], { input, env: { ...process.env, LANG: "C.UTF-8" } });
  return JSON.parse(out.toString());
}

/** A call to a test server's admin API (plain HTTP on 127.0.0.1). */
async function admin(server, method, path, body) {
  const r = await fetch(`http://127.0.0.1:${server.admin_port}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  assert.ok(r.ok, `${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

function up(kind) {
  execFileSync("bash", [join(ROOT, `tests/servers/${kind}/up.sh`), SERVERS, join(SHARED, "fixtures", kind)], { stdio: ["ignore", "inherit", "inherit"] });
  return JSON.parse(readFileSync(join(SERVERS, `${kind}.json`), "utf8"));
}

/** A self-signed certificate and its RSA key (one PEM), and its SHA-1 thumbprint per openssl. */
function certificate(name) {
  const [key, cert] = [join(SERVERS, `${name}.key`), join(SERVERS, `${name}.pem`)];
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", `/CN=${name}`, "-keyout", key, "-out", cert], { stdio: "ignore" });
  const fingerprint = execFileSync("openssl", ["x509", "-noout", "-fingerprint", "-sha1", "-in", cert]).toString().trim();
  return { cert: readFileSync(cert, "utf8"), pem: readFileSync(cert, "utf8") + readFileSync(key, "utf8"), thumbprint: fingerprint.split("=").pop().replaceAll(":", "") };
}

function profile(type, name, sets, secretKind, secret) {
  const args = ["profile", "create", "--type", type, "--name", name];
  for (const s of sets) args.push("--set", s);
  const p = cli(args);
  cli(["profile", "set-secret", String(p.id), "--kind", secretKind, "--password-stdin"], secret);
  return p.id;
}

function mailbox(name, domain, profileId, approve) {
  const u = cli(["user", "create", "--name", name, "--email", `${name}@${domain}`]);
  const id = String(u.mailbox_id);
  cli(["mailbox", "update", id, "--set", `profile_id=${profileId}`, "--set", "incoming_method=server_side_sync", "--set", "outgoing_method=server_side_sync"]);
  if (approve) cli(["mailbox", "approve", id]);
}

let certApp;

before(async () => {
  assert.ok(existsSync(APP), `${APP} is missing: build it first`);
  writeFileSync(join(SERVERS, "users.txt"), "alice:alice-pass\n");
  execFileSync("bash", [join(ROOT, "tests/servers/up.sh"), SERVERS], { stdio: ["ignore", "inherit", "inherit"] });
  ca = JSON.parse(readFileSync(join(SERVERS, "ports.json"), "utf8")).CA_FILE;
  graph = up("graph");
  ews = up("ews");
  certApp = certificate("window-app");

  // Exchange Online: one app with a secret, one with a certificate; the last user has no licence.
  await admin(graph, "POST", "/apps", { tenant: TENANT, client_id: CLIENT, secret: SECRET, certificate_pem: null, users: "*" });
  await admin(graph, "POST", "/apps", { tenant: TENANT, client_id: CERT_CLIENT, secret: null, certificate_pem: certApp.cert, users: "*" });
  for (const [user, licensed] of [["ana", true], ["ben", true], ["cleo", true], ["dan", true], ["eve", false]]) {
    await admin(graph, "POST", "/users", { mail: `${user}@contoso.test`, licensed, enabled: true });
  }
  // Exchange Server: a service account that may act for the others; gina has no mailbox there.
  await admin(ews, "POST", "/users", { mail: SERVICE, password: SERVICE_PASSWORD, impersonation: true });
  for (const user of ["nancy", "carol", "dave", "erin"]) {
    await admin(ews, "POST", "/users", { mail: `${user}@fabrikam.test`, password: `${user}-pass`, impersonation: false });
  }

  cli(["settings", "update", "--set", "sync_in_desktop_app=false"]);
  const online = (name, ca_file, client = CLIENT) => [`tenant_id=${TENANT}`, `oauth_client_id=${client}`, `authority_host=${graph.base}`,
    `graph_endpoint=${graph.base}`, `ca_file=${ca_file}`, "timeout_seconds=10"];
  const good = profile("exchange-online", "Exchange Online", online("Exchange Online", ca), "oauth-secret", SECRET);
  const wrong = profile("exchange-online", "Exchange Online, wrong secret", online("", ca), "oauth-secret", "not-the-secret");
  // No CA file: the test server's certificate is from an authority no system store has.
  const untrusted = profile("exchange-online", "Exchange Online, untrusted", online("", ""), "oauth-secret", SECRET);
  profile("exchange-online", "Exchange Online, certificate", [...online("", ca, CERT_CLIENT), "oauth_credential_kind=certificate"], "oauth-secret", certApp.pem);
  mailbox("ana", "contoso.test", good, true);
  mailbox("ben", "contoso.test", wrong, true);
  mailbox("cleo", "contoso.test", good, false);
  mailbox("dan", "contoso.test", untrusted, true);
  mailbox("eve", "contoso.test", good, true);

  const server = (ca_file, password) => [
    ["use_autodiscover=false", `incoming_location=${ews.ews_url}`, `outgoing_location=${ews.ews_url}`, "incoming_credential_mode=profile",
      `incoming_user_name=${SERVICE}`, "incoming_use_impersonation=true", "incoming_auth_protocol=ntlm", `ca_file=${ca_file}`, "timeout_seconds=10"],
    "incoming-password",
    password,
  ];
  const onPremises = profile("exchange-server", "Exchange Server", ...server(ca, SERVICE_PASSWORD));
  const wrongPassword = profile("exchange-server", "Exchange Server, wrong password", ...server(ca, "not-the-password"));
  const untrustedServer = profile("exchange-server", "Exchange Server, untrusted", ...server("", SERVICE_PASSWORD));
  mailbox("nancy", "fabrikam.test", onPremises, true);
  mailbox("carol", "fabrikam.test", wrongPassword, true);
  mailbox("dave", "fabrikam.test", onPremises, false);
  mailbox("erin", "fabrikam.test", untrustedServer, true);
  mailbox("gina", "fabrikam.test", onPremises, true);

  app = await openApp(DATA);
  browser = app.browser;
});

after(async () => {
  await app?.stop();
  for (const kind of ["graph/", "ews/", ""]) {
    try {
      execFileSync("bash", [join(ROOT, `tests/servers/${kind}down.sh`), SERVERS], { stdio: "ignore" });
    } catch {
      /* already stopped */
    }
  }
});

async function openProfile(name) {
  await (await $t("nav-profiles")).click();
  const row = await browser.$(`[data-testid="profile-row"][data-name="${name}"]`);
  await row.waitForDisplayed({ timeout: 10000 });
  await browser.execute(
    (n) => document.querySelector(`[data-testid="profile-row"][data-name="${n}"]`).dispatchEvent(new MouseEvent("dblclick", { bubbles: true })),
    name,
  );
  await (await $t("profile-form")).waitForDisplayed({ timeout: 10000 });
}

async function closeProfile() {
  await browser.$('[data-testid="profile-form"] .form-header button:last-child').click();
}

/** Test Connection on the open profile form; returns each step's outcome by `direction.kind`. */
async function testConnection() {
  const button = await $t("profile-test-connection");
  await button.waitForEnabled({ timeout: 10000 });
  await button.click();
  const status = await $t("connection-test-status");
  await status.waitForDisplayed({ timeout: 30000 });
  const steps = await browser.execute(() =>
    Object.fromEntries([...document.querySelectorAll("[data-step]")].map((r) => [r.getAttribute("data-step"), r.getAttribute("data-outcome")])),
  );
  return { status: await status.getAttribute("data-status"), steps };
}

const shownFields = () => browser.execute(() => [...document.querySelectorAll('[data-testid="profile-form"] [data-field]')].map((f) => f.getAttribute("data-field")));

/** A job item of the panel, read by selector each time (the panel renders its items again as the
 * job advances). */
const itemOf = (name) =>
  browser.execute((n) => {
    const el = document.querySelector(`[data-testid="job-item"][data-mailbox="${n}"]`);
    return el ? { state: el.getAttribute("data-state"), code: el.querySelector(".reason")?.getAttribute("data-code") ?? "", text: el.textContent } : null;
  }, name);

/** Test & Enable of the mailboxes whose address ends with `@domain`; checks each one's result. */
async function testAndEnable(domain, expected) {
  await (await $t("nav-mailboxes")).click();
  const search = await $t("mailbox-search");
  await search.clearValue();
  await search.setValue(`@${domain}`);
  const count = Object.keys(expected).length;
  await browser.waitUntil(async () => (await browser.$$('[data-testid="mailbox-row"]').length) === count, { timeout: 10000 });
  await (await $t("mailbox-grid-select-all")).click();
  await (await $t("cmd-test-enable")).click();
  for (const [name, code] of Object.entries(expected)) {
    await browser.waitUntil(async () => ["success", "failure"].includes((await itemOf(name))?.state), { timeout: 60000, timeoutMsg: `${name} was not tested` });
    const item = await itemOf(name);
    assert.equal(item.state, code ? "failure" : "success", `${name}: ${item.text}`);
    if (code) assert.equal(item.code, code, name);
  }
  const rowText = (name) =>
    browser.execute((n) => document.querySelector(`[data-testid="mailbox-row"][data-name="${n}"]`)?.textContent ?? "", name);
  const good = Object.keys(expected).find((n) => !expected[n]);
  await browser.waitUntil(async () => (await rowText(good)).includes("Success"), { timeout: 10000 });
}

test("an Exchange Online profile shows the Entra app's fields, and Test Connection signs in to Microsoft Graph", async () => {
  await openProfile("Exchange Online");
  const fields = await shownFields();
  for (const f of ["tenant_id", "oauth_client_id", "oauth_credential_kind", "authority_host", "graph_endpoint", "oauth_secret"]) {
    assert.ok(fields.includes(f), `${f} is not on the Exchange Online form: ${fields}`);
  }
  for (const f of ["use_autodiscover", "incoming_port", "incoming_tls_mode", "incoming_user_name"]) {
    assert.ok(!fields.includes(f), `${f} is on the Exchange Online form`);
  }
  const { status, steps } = await testConnection();
  assert.equal(status, "success", JSON.stringify(steps));
  assert.equal(steps["incoming.authenticate"], "success", JSON.stringify(steps));
  await shot("exchange-online-test-connection");
  await closeProfile();

  await openProfile("Exchange Online, wrong secret");
  const refused = await testConnection();
  assert.equal(refused.status, "failure");
  const details = await $t("connection-test-failure");
  assert.equal(await details.getAttribute("data-code"), "mail.auth.failed_profile");
  const text = await details.getText();
  assert.match(text, /AADSTS7000215/, "the server's response code is shown");
  assert.ok(!text.includes("not-the-secret") && !text.includes(SECRET), "a secret reached the window");
  await shot("exchange-online-test-connection-wrong-secret");
  await closeProfile();
});

test("an app that signs in with a certificate shows its thumbprint and gets a token", async () => {
  await openProfile("Exchange Online, certificate");
  const thumbprint = await $t("thumbprint-oauth_secret");
  await thumbprint.waitForDisplayed({ timeout: 10000 });
  assert.equal(await thumbprint.getText(), certApp.thumbprint);
  assert.ok(await (await $t("file-oauth_secret")).isExisting(), "the certificate is not taken from a file");
  const { status, steps } = await testConnection();
  assert.equal(status, "success", JSON.stringify(steps));
  await shot("exchange-online-certificate");
  await closeProfile();
});

test("Test & Enable of five Exchange Online mailboxes enables the good one and tells why the others failed", async () => {
  await testAndEnable("contoso.test", {
    ana: "",
    ben: "mail.auth.failed_profile",
    cleo: "mailbox.not_approved",
    dan: "mail.tls.untrusted",
    eve: "graph.mailbox_not_enabled",
  });
  assert.match((await itemOf("eve")).text, /MailboxNotEnabledForRESTAPI/);
  await shot("exchange-online-test-enable");
  const inbox = await admin(graph, "GET", "/users/ana@contoso.test/messages?folder=inbox");
  assert.ok(inbox.some((m) => m.subject === SUBJECT), `the test message did not reach ana: ${JSON.stringify(inbox)}`);
  assert.deepEqual(await admin(graph, "GET", "/violations"), [], "requests that do not match Graph's description");
});

test("an Exchange Server profile shows the EWS fields, and Test Connection signs in with NTLM", async () => {
  await openProfile("Exchange Server");
  const fields = await shownFields();
  for (const f of ["use_autodiscover", "incoming_location", "incoming_credential_mode", "incoming_user_name", "incoming_use_impersonation", "incoming_auth_protocol"]) {
    assert.ok(fields.includes(f), `${f} is not on the Exchange Server form: ${fields}`);
  }
  for (const f of ["tenant_id", "graph_endpoint", "authority_host", "incoming_tls_mode"]) {
    assert.ok(!fields.includes(f), `${f} is on the Exchange Server form`);
  }
  const { status, steps } = await testConnection();
  assert.equal(status, "success", JSON.stringify(steps));
  assert.equal(steps["incoming.authenticate"], "success", JSON.stringify(steps));
  await shot("exchange-server-test-connection");
  await closeProfile();
});

test("Test & Enable of five Exchange Server mailboxes enables the good one and tells why the others failed", async () => {
  await testAndEnable("fabrikam.test", {
    nancy: "",
    carol: "mail.auth.failed_profile",
    dave: "mailbox.not_approved",
    erin: "mail.tls.untrusted",
    gina: "ews.mailbox_not_found",
  });
  await shot("exchange-server-test-enable");
  const inbox = await admin(ews, "GET", "/users/nancy@fabrikam.test/messages?folder=inbox");
  assert.ok(inbox.some((m) => m.subject === SUBJECT), `the test message did not reach nancy: ${JSON.stringify(inbox)}`);
  assert.deepEqual(await admin(ews, "GET", "/violations"), [], "requests that do not validate against the EWS schemas");
  const wall = await browser.execute(() => document.body.textContent ?? "");
  assert.ok(!wall.includes(SERVICE_PASSWORD) && !wall.includes("not-the-password"), "a password reached the window");
});
