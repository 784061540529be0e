// The window's own scheduler against the real Dovecot and Postfix of tests/servers/: with
// "Synchronize mailboxes in this app" on (the default), mail delivered to Nancy is tracked without
// anyone asking, the sidebar's indicator counts the cycles, and the Monitoring dashboard's
// messages-in chart shows exactly the emails the engine tracked. An email written in the window
// (a user picked as recipient, an attachment, a Send Later time) waits in the Outbox, then the
// scheduler sends it and it reaches Olga's Inbox. Nancy's mailbox form shows the Synchronization
// section, and Download Mailbox Details saves its CSV.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createConnection } from "node:net";
import { mkdtempSync, readFileSync, writeFileSync, existsSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { APP, CLI, ROOT, openApp, shot as saveShot, waitForSubject } from "./session.mjs";

const DATA = mkdtempSync(join(tmpdir(), "serversync-e2e-monitoring-"));
const SERVERS = mkdtempSync(join(tmpdir(), "serversync-e2e-monitoring-servers-"));
const FILES = mkdtempSync(join(tmpdir(), "serversync-e2e-monitoring-files-"));
const SUBJECT = "Quarterly figures (e2e)";
/** How long the Send Later time is ahead of the moment the form is filled in. */
const SEND_LATER_MS = 30_000;

let app;
let browser;
let ports;
let nancy; // { user, mailbox }
let olga;
const DELIVERED = [
  ["Order status", "Bonjour Nancy, où en est ma commande ?"],
  ["Meeting on Thursday", "Can we meet on Thursday at 10?"],
  ["Invoice 2026-117", "Please find the invoice details below."],
];

const $t = (id) => browser.$(`[data-testid="${id}"]`);
const shot = (name) => saveShot(browser, name);

function cli(args, input) {
  const out = execFileSync(CLI, ["--data-dir", DATA, "--json", ...args], { input, env: { ...process.env, LANG: "C.UTF-8" } });
  return JSON.parse(out.toString());
}

/** Delivers messages to `to` over LMTP, as the mail server's MTA would. */
function deliver(to, messages) {
  return new Promise((resolve, reject) => {
    const sock = createConnection(ports.LMTP_PORT, "127.0.0.1");
    let buffer = "";
    const script = ["LHLO e2e\r\n"];
    for (const m of messages) {
      script.push("MAIL FROM:<sender@example.org>\r\n", `RCPT TO:<${to}>\r\n`, "DATA\r\n");
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

/** The incoming email activities the engine tracked, read back through the command line. */
function trackedIncoming(mailbox) {
  const page = cli(["email", "list", "--limit", "1000", ...(mailbox ? ["--mailbox", String(mailbox)] : [])]);
  return page.rows.map((r) => cli(["email", "show", String(r.id)])).filter((e) => e.direction === "incoming");
}

/** Sets a form control's value as a user's typing or choosing would, through the page's events. */
async function setControl(testid, value, event) {
  await browser.execute(
    (id, v, ev) => {
      const el = document.querySelector(`[data-testid="${id}"]`);
      el.value = v;
      el.dispatchEvent(new Event(ev, { bubbles: true }));
    },
    testid,
    value,
    event,
  );
}

const attr = async (testid, name) => (await $t(testid)).getAttribute(name);

/** Waits until `check()` holds; on timeout, fails with what `why()` says of the last try. */
async function until(check, { timeout, interval = 2000 }, why) {
  const t0 = Date.now();
  for (;;) {
    if (await check()) return;
    if (Date.now() - t0 > timeout) assert.fail(why());
    await new Promise((r) => setTimeout(r, interval));
  }
}

before(async () => {
  assert.ok(existsSync(APP), `${APP} is missing: build it first`);
  writeFileSync(join(SERVERS, "users.txt"), "nancy:nancy-pass\nolga:olga-pass\n");
  execFileSync("bash", [join(ROOT, "tests/servers/up.sh"), SERVERS], { stdio: ["ignore", "inherit", "inherit"] });
  ports = JSON.parse(readFileSync(join(SERVERS, "ports.json"), "utf8"));
  // The window's scheduler is left as the organisation has it by default: on.
  assert.equal(cli(["settings", "show"]).sync_in_desktop_app, true, "the window synchronizes by default");
  cli(["profile", "create", "--type", "imap-smtp", "--name", "Loopback mail", "--default",
    "--set", "incoming_location=localhost", "--set", "outgoing_location=localhost",
    "--set", `incoming_port=${ports.IMAPS_PORT}`, "--set", "incoming_tls_mode=implicit",
    "--set", `outgoing_port=${ports.SMTP_PORT}`, "--set", "outgoing_tls_mode=starttls", "--set", `ca_file=${ports.CA_FILE}`]);
  const people = [];
  for (const [login, name] of [["nancy", "Nancy Anderson"], ["olga", "Olga Petrova"]]) {
    const u = cli(["user", "create", "--name", name, "--email", `${login}@localhost`]);
    cli(["user", "update", String(u.id), "--set", "incoming_filtering_method=all_email"]);
    cli(["mailbox", "set-credentials", String(u.mailbox_id), "--user-name", login, "--password-stdin"], `${login}-pass`);
    cli(["mailbox", "approve", String(u.mailbox_id)]);
    people.push({ user: u.id, mailbox: u.mailbox_id, login });
  }
  [nancy, olga] = people;
  cli(["mailbox", "test-enable", String(nancy.mailbox), String(olga.mailbox)]);
  for (const p of people) {
    const m = cli(["mailbox", "show", String(p.mailbox)]);
    assert.ok(m.enabled_for_incoming && m.enabled_for_outgoing, `${p.login} is enabled for incoming and outgoing email: ${JSON.stringify(m)}`);
  }
  await deliver(
    "nancy@localhost",
    DELIVERED.map(([subject, body], i) =>
      `From: Yui Nakamura <yui@fabrikam.com>\nTo: nancy@localhost\nSubject: ${subject}\nMessage-ID: <monitoring-${i}@fabrikam.com>\n\n${body}\n`),
  );
  app = await openApp(DATA);
  browser = app.browser;
});

after(async () => {
  await app?.stop();
  try {
    execFileSync("bash", [join(ROOT, "tests/servers/down.sh"), SERVERS], { stdio: "ignore" });
  } catch {
    /* already stopped */
  }
});

test("the sidebar's indicator shows the window's scheduler running its cycles", async () => {
  const status = await $t("scheduler-status");
  await status.waitForDisplayed({ timeout: 20000 });
  await browser.waitUntil(async () => (await status.getAttribute("data-running")) === "true", {
    timeout: 20000, timeoutMsg: "the scheduler is not running in the window",
  });
  await browser.waitUntil(async () => Number(await status.getAttribute("data-cycles")) >= 1, {
    timeout: 60000, timeoutMsg: "no cycle ended",
  });
  assert.match(await (await $t("scheduler-cycles")).getText(), /\d/);
});

test("the Monitoring page's messages-in chart shows exactly the emails the engine tracked", async () => {
  await (await $t("nav-monitoring")).click();
  await (await $t("monitoring-page")).waitForDisplayed({ timeout: 20000 });
  const chart = await $t("chart-per-hour");
  await chart.waitForDisplayed({ timeout: 20000 });
  let tracked = [];
  let shown = "";
  // The scheduler tracks Nancy's messages (and each mailbox's Test & Enable message) on its own;
  // the dashboard reads again when a cycle ends.
  await until(
    async () => {
      const nancys = trackedIncoming(nancy.mailbox).map((e) => e.subject);
      if (!DELIVERED.every(([s]) => nancys.includes(s))) return false;
      tracked = trackedIncoming(null);
      shown = await chart.getAttribute("data-incoming-total");
      return shown === String(tracked.length);
    },
    { timeout: 120000 },
    () => `the chart shows ${shown} incoming, the engine tracked ${tracked.length}: ${tracked.map((e) => e.subject).join(", ")}`,
  );
  assert.ok(tracked.length >= DELIVERED.length, `${tracked.length} tracked`);
  assert.equal(await (await $t("incoming-total")).getText(), await chart.getAttribute("data-incoming-total"), "the total is said in words too");
  assert.equal(await attr("chart-mailboxes", "data-enabled-mailboxes"), "2", "Nancy's and Olga's mailboxes are enabled");
  assert.equal(await attr("chart-per-hour", "data-outgoing-total"), "0", "nothing was sent yet");
  assert.ok(Number(await attr("chart-latency", "data-latency-count")) >= DELIVERED.length);
  await shot("monitoring-dashboard");
});

test("an email written in the window waits in the Outbox until its Send Later time, then the scheduler sends it", async () => {
  await (await $t("nav-outbox")).click();
  await (await $t("outbox-page")).waitForDisplayed({ timeout: 10000 });
  await (await $t("outbox-new-email")).click();
  const compose = await $t("compose");
  await compose.waitForDisplayed({ timeout: 10000 });
  // From: Nancy's mailbox.
  await browser.waitUntil(async () => (await browser.$$('[data-testid="compose-from"] option').length) === 2, { timeout: 10000 });
  await setControl("compose-from", String(nancy.mailbox), "change");
  // To: Olga, found through the record search.
  await (await $t("compose-to-lookup")).click();
  await (await $t("compose-to-picker")).waitForDisplayed({ timeout: 10000 });
  await setControl("compose-to-entity", "user", "change");
  await (await $t("compose-to-search")).setValue("olga");
  await browser.waitUntil(
    async () => (await browser.$$(`[data-testid="compose-to-record"] option[value="${olga.user}"]`).length) === 1,
    { timeout: 10000, timeoutMsg: "Olga is not offered" },
  );
  await (await $t("compose-to-add")).click();
  await (await browser.$(`[data-testid="recipient-chip"][data-entity="user"][data-id="${olga.user}"]`)).waitForDisplayed({ timeout: 10000 });
  await (await $t("compose-subject")).setValue(SUBJECT);
  await (await $t("compose-body")).setValue("Hello Olga,\nthe figures are attached.\nNancy");
  // An attachment, read by the window.
  const file = join(FILES, "figures.csv");
  writeFileSync(file, "quarter,revenue\nQ1,120\nQ2,135\n");
  const input = await $t("compose-attachments");
  await browser.execute((el) => { el.style.opacity = "1"; el.style.position = "static"; }, input);
  await input.setValue(file);
  await (await browser.$('[data-testid="compose-attachment"][data-name="figures.csv"]')).waitForDisplayed({ timeout: 10000 });
  // Send Later: a little ahead, so the email is seen waiting before the scheduler sends it.
  await (await $t("compose-send-later")).click();
  await (await $t("compose-send-after")).waitForDisplayed({ timeout: 10000 });
  const later = await browser.execute((ms) => {
    const d = new Date(Date.now() + ms);
    const p = (n) => String(n).padStart(2, "0");
    // Typed as an English-speaking administrator writes it (the window's language is English here).
    const local = `${p(d.getMonth() + 1)}/${p(d.getDate())}/${d.getFullYear()} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
    const iso = new Date(d.getFullYear(), d.getMonth(), d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds()).toISOString();
    return { local, iso };
  }, SEND_LATER_MS);
  await setControl("compose-send-after", later.local, "input");
  await browser.execute(() => document.querySelector('[data-testid="compose"]').scrollIntoView());
  await shot("compose");

  await (await $t("compose-send")).click();
  const sent = await $t("compose-sent");
  await sent.waitForDisplayed({ timeout: 20000 });
  assert.equal(await sent.getAttribute("data-status"), "pending_send", await sent.getText());
  const id = await sent.getAttribute("data-id");
  const email = cli(["email", "show", id]);
  assert.equal(email.status, "pending_send");
  assert.ok(email.subject.startsWith(SUBJECT), email.subject);
  assert.equal(email.direction, "outgoing");
  const waiting = cli(["email", "outbox", "--status", "pending_send"]).find((r) => String(r.id) === id);
  assert.ok(waiting, "the email is in the outbox");
  assert.ok(Math.abs(Date.parse(waiting.send_after) - Date.parse(later.iso)) < 1000, `Send Later: ${waiting.send_after} for ${later.iso}`);
  assert.deepEqual(email.attachments.map((a) => a.file_name), ["figures.csv"]);
  assert.ok(email.parties.some((p) => p.role === "to" && p.address === "olga@localhost" && p.record?.entity === "user"), JSON.stringify(email.parties));

  // Back in the Outbox, the email waits, Pending Send, with its Send Later time.
  await (await $t("compose-close")).click();
  const row = await browser.$(`[data-testid="outbox-row"][data-id="${id}"]`);
  await row.waitForDisplayed({ timeout: 10000 });
  assert.equal(await row.getAttribute("data-status"), "pending_send");
  // The subject carries the email's tracking token after the words typed.
  assert.ok((await row.getAttribute("data-subject")).startsWith(SUBJECT), await row.getAttribute("data-subject"));
  await shot("outbox");

  // The scheduler sends it once its time has come; the Outbox no longer lists it.
  let status = "";
  await until(async () => (status = cli(["email", "show", id]).status) === "sent", { timeout: SEND_LATER_MS + 120000 },
    () => `the email is still ${status}: ${JSON.stringify(cli(["email", "outbox"]))}`);
  await browser.waitUntil(async () => (await browser.$$(`[data-testid="outbox-row"][data-id="${id}"]`).length) === 0, {
    timeout: 30000, timeoutMsg: "the sent email is still listed in the Outbox",
  });
  const sentOn = Date.parse(cli(["email", "show", id]).sent_on);
  assert.ok(sentOn >= Date.parse(later.iso) - 1000, `sent at ${new Date(sentOn).toISOString()}, before its Send Later time ${later.iso}`);
  const arrived = (list) => list.some((s) => s.startsWith(SUBJECT));
  const subjects = await waitForSubject(ports, "olga", "olga-pass", (s) => s.startsWith(SUBJECT));
  assert.ok(arrived(subjects), `the email did not reach Olga: ${subjects}`);

  // The dashboard counts it as sent.
  await (await $t("nav-monitoring")).click();
  await browser.waitUntil(async () => (await attr("chart-per-hour", "data-outgoing-total")) === "1", {
    timeout: 60000, interval: 1000, timeoutMsg: "the dashboard does not count the email sent",
  });
  assert.equal(await attr("chart-backlog", "data-pending-send"), "0");
  await shot("monitoring-dashboard-after-send");
});

test("Nancy's mailbox form shows her synchronization, and Download Mailbox Details saves it as CSV", async () => {
  await (await $t("nav-mailboxes")).click();
  const row = await browser.$(`[data-testid="mailbox-row"][data-id="${nancy.mailbox}"]`);
  await row.waitForDisplayed({ timeout: 10000 });
  await browser.execute(
    (id) => document.querySelector(`[data-testid="mailbox-row"][data-id="${id}"]`).dispatchEvent(new MouseEvent("dblclick", { bubbles: true })),
    String(nancy.mailbox),
  );
  const section = await $t("mailbox-schedule");
  await section.waitForDisplayed({ timeout: 10000 });
  const incoming = await browser.$('[data-testid="schedule-row"][data-workload="incoming"]');
  await incoming.waitForDisplayed({ timeout: 10000 });
  assert.ok(await incoming.getAttribute("data-last-completed"), "the incoming workload has a last sync");
  assert.match(await (await incoming.$('[data-testid="schedule-last-sync"]')).getText(), /\d/);
  assert.match(await (await incoming.$('[data-testid="schedule-items-processed"]')).getText(), /^\d/);
  assert.notEqual(await incoming.getAttribute("data-next"), "disabled", "the incoming workload is enabled");
  const outgoing = await browser.$('[data-testid="schedule-row"][data-workload="outgoing"]');
  assert.ok(await outgoing.getAttribute("data-last-completed"), "the outgoing workload ran (it sent the email)");
  // The history has the cycle that tracked the delivered messages, and the one that sent the email.
  const runs = await browser.execute(() =>
    [...document.querySelectorAll('[data-testid="sync-run"]')].map((r) => [r.getAttribute("data-workload"), r.getAttribute("data-outcome"), Number(r.getAttribute("data-items"))]),
  );
  const incomingItems = runs.filter(([w, o]) => w === "incoming" && o === "success").reduce((n, [, , items]) => n + items, 0);
  assert.ok(incomingItems >= DELIVERED.length, `incoming cycles handled ${incomingItems} messages: ${JSON.stringify(runs)}`);
  assert.ok(runs.some(([w, o, n]) => w === "outgoing" && o === "success" && n >= 1), JSON.stringify(runs));
  await section.scrollIntoView();
  await shot("mailbox-synchronization");

  await (await $t("download-mailbox-details")).click();
  const saved = await $t("mailbox-details-path");
  await saved.waitForDisplayed({ timeout: 10000 });
  const path = await saved.getAttribute("data-path");
  assert.ok(path.endsWith(".csv") && existsSync(path), `no CSV at ${path}`);
  const lines = readFileSync(path, "utf8").trim().split(/\r?\n/);
  assert.equal(lines[0], "kind,workload,started_on,completed_on,outcome,items,failed_items,code,message,reference,runner");
  assert.ok(lines.some((l) => l.startsWith("cycle,incoming,")), lines.join("\n"));
  assert.ok(lines.some((l) => l.startsWith("cycle,outgoing,")), lines.join("\n"));
  unlinkSync(path);
});
