// Incoming email in the real window, against the real Dovecot of tests/servers/: Preview and
// Synchronize now on the Mailboxes page, the Email Activities page and an email's detail (parties
// linked to their records, why it was tracked, Download .eml), the Contacts page with a CSV
// import, and a hostile HTML message that renders with no script run and no request made: a local
// HTTP server that the message points to counts every request, and must see none.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createServer } from "node:http";
import { createConnection } from "node:net";
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { APP, CLI, ROOT, openApp, shot as saveShot, waitForSubject } from "./session.mjs";

const DATA = mkdtempSync(join(tmpdir(), "serversync-e2e-incoming-"));
const SERVERS = mkdtempSync(join(tmpdir(), "serversync-e2e-incoming-servers-"));
const HOME = mkdtempSync(join(tmpdir(), "serversync-e2e-home-"));

let app;
let browser;
let ports;
let mailboxId;
const requests = [];
let httpServer;
let httpPort;

const $t = (id) => browser.$(`[data-testid="${id}"]`);
const shot = (name) => saveShot(browser, name);

function cli(args, input) {
  const out = execFileSync(CLI, ["--data-dir", DATA, "--json", ...args], { input, env: { ...process.env, LANG: "C.UTF-8", HOME } });
  return JSON.parse(out.toString());
}

/** Delivers messages to nancy@localhost over LMTP, as the mail server's MTA would. */
function deliver(messages) {
  return new Promise((resolve, reject) => {
    const sock = createConnection(ports.LMTP_PORT, "127.0.0.1");
    let buffer = "";
    const script = ["LHLO e2e\r\n"];
    for (const m of messages) {
      script.push("MAIL FROM:<sender@example.org>\r\n", "RCPT TO:<nancy@localhost>\r\n", "DATA\r\n");
      script.push(m.replace(/\r?\n/g, "\r\n").replace(/\r\n\./g, "\r\n..") + "\r\n.\r\n");
    }
    script.push("QUIT\r\n");
    let step = -1; // the greeting first
    sock.on("data", (d) => {
      buffer += d.toString();
      let nl;
      while ((nl = buffer.indexOf("\r\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 2);
        if (line[3] === "-") continue;
        if (!/^[23]/.test(line)) return reject(new Error(`LMTP: ${line}`));
        step += 1;
        if (step < script.length) sock.write(script[step]);
        else sock.end();
      }
    });
    sock.on("end", resolve);
    sock.on("error", reject);
  });
}

const HOSTILE = (port) => `From: Mallory <mallory@evil.example>
To: nancy@localhost
Subject: Hostile HTML
Message-ID: <hostile-1@evil.example>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b"

--b
Content-Type: text/plain; charset=utf-8

Nothing to see here.
--b
Content-Type: text/html; charset=utf-8

<html><head><style>body{background:url(http://127.0.0.1:${port}/css-url.png)}</style>
<link rel="stylesheet" href="http://127.0.0.1:${port}/sheet.css"></head>
<body onload="fetch('http://127.0.0.1:${port}/onload')">
<p>Invoice attached</p>
<script>new Image().src = "http://127.0.0.1:${port}/script-ran";</script>
<img src="http://127.0.0.1:${port}/pixel.gif" width="1" height="1">
<img src="x" onerror="fetch('http://127.0.0.1:${port}/onerror')">
<a href="javascript:fetch('http://127.0.0.1:${port}/js-link')">click</a>
<div style="background-image:url('http://127.0.0.1:${port}/inline-style.png')">styled</div>
<iframe src="http://127.0.0.1:${port}/frame"></iframe>
<video poster="http://127.0.0.1:${port}/poster.png"></video>
<form action="http://127.0.0.1:${port}/form"><input type="image" src="http://127.0.0.1:${port}/input.png"></form>
</body></html>
--b--
`;

before(async () => {
  assert.ok(existsSync(APP), `${APP} is missing: build it first`);
  httpServer = createServer((req, res) => {
    requests.push(req.url);
    res.end("");
  });
  await new Promise((r) => httpServer.listen(0, "127.0.0.1", r));
  httpPort = httpServer.address().port;

  writeFileSync(join(SERVERS, "users.txt"), "nancy:nancy-pass\n");
  execFileSync("bash", [join(ROOT, "tests/servers/up.sh"), SERVERS], { stdio: ["ignore", "inherit", "inherit"] });
  ports = JSON.parse(readFileSync(join(SERVERS, "ports.json"), "utf8"));
  // These pages are driven by hand (Synchronize now, Test & Enable): the window's own scheduler
  // would race them, so it is off here (tests/e2e/monitoring.test.mjs runs with it on).
  cli(["settings", "update", "--set", "sync_in_desktop_app=false"]);
  cli(["profile", "create", "--type", "imap-smtp", "--name", "Loopback mail", "--default",
    "--set", "incoming_location=localhost", "--set", "outgoing_location=localhost",
    "--set", `incoming_port=${ports.IMAPS_PORT}`, "--set", "incoming_tls_mode=implicit",
    "--set", `outgoing_port=${ports.SMTP_PORT}`, "--set", "outgoing_tls_mode=starttls", "--set", `ca_file=${ports.CA_FILE}`]);
  const u = cli(["user", "create", "--name", "Nancy Anderson", "--email", "nancy@localhost"]);
  mailboxId = String(u.mailbox_id);
  cli(["user", "update", String(u.id), "--set", "incoming_filtering_method=all_email"]);
  cli(["mailbox", "set-credentials", mailboxId, "--user-name", "nancy", "--password-stdin"], "nancy-pass");
  cli(["mailbox", "approve", mailboxId]);
  cli(["mailbox", "test-enable", mailboxId]);
  // Test & Enable's own message goes through Postfix's queue; the pages below count it.
  const connected = "Your mailbox is now connected to ServerSync";
  const subjects = await waitForSubject(ports, "nancy", "nancy-pass", (s) => s === connected);
  assert.ok(subjects.includes(connected), `the test message did not reach nancy: ${subjects}`);
  await deliver([
    `From: Yui Nakamura <yui@fabrikam.com>\nTo: nancy@localhost\nSubject: Order status\nMessage-ID: <order-e2e@fabrikam.com>\n\nBonjour Nancy, où en est ma commande ?\n`,
    HOSTILE(httpPort),
  ]);
  app = await openApp(DATA);
  browser = app.browser;
});

after(async () => {
  await app?.stop();
  httpServer?.close();
  try {
    execFileSync("bash", [join(ROOT, "tests/servers/down.sh"), SERVERS], { stdio: "ignore" });
  } catch {
    /* already stopped */
  }
});

test("Contacts: a CSV import adds the records email resolves to", async () => {
  await (await $t("nav-contacts")).click();
  await (await $t("contacts-page")).waitForDisplayed({ timeout: 10000 });
  const csv = join(HOME, "contacts.csv");
  writeFileSync(csv, "first_name,last_name,email_address_1\nYui,Nakamura,yui@fabrikam.com\nLan,Trần,lan@example.vn\n");
  const input = await $t("record-import-file");
  await browser.execute((el) => { el.style.opacity = "1"; el.style.display = "block"; }, input);
  await input.setValue(csv);
  const result = await $t("record-import-result");
  await result.waitForDisplayed({ timeout: 10000 });
  assert.equal(await result.getAttribute("data-count"), "2");
  await browser.waitUntil(async () => (await browser.$$('[data-testid="contact-row"]').length) === 2, { timeout: 10000 });
  await shot("contacts");
});

test("Preview lists what the next cycle would track and why, and changes nothing", async () => {
  await (await $t("nav-mailboxes")).click();
  const row = await browser.$(`[data-testid="mailbox-row"][data-id="${mailboxId}"]`);
  await row.waitForDisplayed({ timeout: 10000 });
  await browser.execute((id) => document.querySelector(`[data-testid="mailbox-row"][data-id="${id}"]`).dispatchEvent(new MouseEvent("click", { bubbles: true })), mailboxId);
  await (await $t("cmd-preview")).click();
  const results = await $t("sync-results");
  await results.waitForDisplayed({ timeout: 30000 });
  await browser.waitUntil(async () => (await browser.$$('[data-testid="preview-item"]').length) >= 3, { timeout: 30000 });
  const items = await browser.execute(() =>
    [...document.querySelectorAll('[data-testid="preview-item"]')].map((e) => [e.getAttribute("data-result"), e.textContent]),
  );
  assert.ok(items.some(([r, text]) => r === "tracked" && text.includes("Order status")), JSON.stringify(items));
  await shot("mailboxes-preview");
  assert.deepEqual(cli(["email", "list"]).total, 0, "a preview tracks nothing");
  await (await $t("sync-results-close")).click();
});

test("Synchronize now tracks the mail, and the Email Activities page shows it with its parties and why", async () => {
  const selected = await browser.execute((id) => document.querySelector(`[data-testid="mailbox-row"][data-id="${id}"]`)?.classList.contains("selected"), mailboxId);
  if (!selected) {
    await browser.execute((id) => document.querySelector(`[data-testid="mailbox-row"][data-id="${id}"]`).dispatchEvent(new MouseEvent("click", { bubbles: true })), mailboxId);
  }
  const button = await $t("cmd-sync-now");
  await button.waitForEnabled({ timeout: 10000 });
  await button.click();
  const result = await browser.$(`[data-testid="sync-result"][data-id="${mailboxId}"]`);
  await result.waitForDisplayed({ timeout: 60000 });
  await browser.waitUntil(async () => Number(await (await result.$('[data-testid="count-tracked"]')).getAttribute("data-count")) >= 3, { timeout: 30000 });
  await shot("mailboxes-synchronized");
  await (await $t("nav-activities")).click();
  const order = await browser.$('[data-testid="activity-row"][data-name="Order status"]');
  await order.waitForDisplayed({ timeout: 10000 });
  await shot("email-activities");
  await browser.execute(() => document.querySelector('[data-testid="activity-row"][data-name="Order status"]').dispatchEvent(new MouseEvent("dblclick", { bubbles: true })));
  const detail = await $t("activity-detail");
  await detail.waitForDisplayed({ timeout: 10000 });
  const from = await browser.$('[data-testid="party"][data-role="from"]');
  assert.equal(await from.getAttribute("data-resolved"), "true", "Yui's address resolved to her contact");
  assert.match(await (await $t("why-filter")).getText(), /All email|all/i);
  assert.match(await (await $t("email-body-text")).getText(), /où en est ma commande/);
  // Download .eml: the original, byte for byte, in the Downloads folder.
  await (await $t("download-eml")).click();
  const path = await $t("eml-path");
  await path.waitForDisplayed({ timeout: 10000 });
  const saved = readFileSync(await path.getAttribute("data-path"));
  const id = await detail.getAttribute("data-id");
  const original = execFileSync(CLI, ["--data-dir", DATA, "email", "export", id], { env: { ...process.env, HOME } });
  assert.ok(saved.equals(original), "the saved .eml is the original message");
  await shot("email-detail");
  // The party is a link to the contact's record.
  await (await browser.$('[data-testid="party"][data-role="from"] [data-testid="party-link"]')).click();
  const form = await $t("record-form");
  await form.waitForDisplayed({ timeout: 10000 });
  assert.equal(await form.getAttribute("data-entity"), "contact");
});

test("a hostile HTML email renders with no script run and no request made", async () => {
  await (await $t("nav-activities")).click();
  const row = await browser.$('[data-testid="activity-row"][data-name="Hostile HTML"]');
  await row.waitForDisplayed({ timeout: 10000 });
  await browser.execute(() => document.querySelector('[data-testid="activity-row"][data-name="Hostile HTML"]').dispatchEvent(new MouseEvent("dblclick", { bubbles: true })));
  const frame = await $t("email-body-frame");
  await frame.waitForDisplayed({ timeout: 10000 });
  assert.equal(await frame.getAttribute("sandbox"), "", "the frame allows nothing");
  // Let the frame load and any pixel, style sheet or script have its chance.
  await browser.pause(3000);
  await browser.switchFrame(await frame);
  const text = await browser.execute(() => document.body?.innerText ?? "");
  const scripts = await browser.execute(() => document.querySelectorAll("script, [onerror], [onload]").length);
  await browser.switchFrame(null);
  assert.match(text, /Invoice attached/, "the message is shown");
  assert.equal(scripts, 0, "no script or event handler reached the frame");
  await shot("email-hostile-html");
  assert.deepEqual(requests, [], `the message made requests: ${requests.join(", ")}`);
});

test("Accounts and Leads: a record is created from its form, and a refused field is named", async () => {
  for (const [nav, entity, fields] of [
    ["nav-accounts", "account", { name: "Fabrikam", email_address_1: "orders@fabrikam.com" }],
    ["nav-leads", "lead", { first_name: "Lan", last_name: "Trần", company_name: "Example VN", email_address_1: "lan@example.vn" }],
  ]) {
    await (await $t(nav)).click();
    await (await $t(`${entity}s-page`)).waitForDisplayed({ timeout: 10000 });
    await (await $t("record-new")).click();
    const form = await $t("record-form");
    await form.waitForDisplayed({ timeout: 10000 });
    const fill = async (field, value) => {
      const input = await browser.$(`[data-testid="record-form"] [data-field="${field}"] input`);
      await input.clearValue();
      await input.setValue(value);
    };
    for (const [field, value] of Object.entries(fields)) await fill(field, value);
    // Nonsense first: an address that is not one is refused next to its field, nothing saved.
    await fill("email_address_1", "not an address");
    await (await $t("record-save")).click();
    const err = await browser.$('[data-testid="record-form"] [data-field="email_address_1"] .field-error');
    await err.waitForDisplayed({ timeout: 10000 });
    await fill("email_address_1", fields.email_address_1);
    await (await $t("record-save-close")).click();
    const row = await browser.$(`[data-testid="${entity}-row"]`);
    await row.waitForDisplayed({ timeout: 10000 });
    await shot(`${entity}s`);
  }
  const accounts = cli(["account", "list"]);
  assert.deepEqual(accounts.map((a) => a.email_address_1), ["orders@fabrikam.com"]);
  const leads = cli(["lead", "list"]);
  assert.deepEqual(leads.map((l) => [l.last_name, l.company_name]), [["Trần", "Example VN"]]);
});
