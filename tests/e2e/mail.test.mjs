// Test Connection and Test & Enable Mailboxes in the real window, against the real Dovecot and
// Postfix that tests/servers/up.sh starts on 127.0.0.1. Five mailboxes — two good, one with a
// wrong password, one not approved, one whose server certificate is not trusted — end with
// exactly the two good ones enabled, and the test message is read back from their Inboxes.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { APP, CLI, ROOT, inboxSubjects, openApp, shot as saveShot, waitForSubject } from "./session.mjs";

const DATA = mkdtempSync(join(tmpdir(), "serversync-e2e-mail-"));
const SERVERS = mkdtempSync(join(tmpdir(), "serversync-e2e-servers-"));
const SUBJECT = "Your mailbox is now connected to ServerSync";
const USERS = [
  ["alice", "alice-pass"],
  ["bob", "bob-pass"],
  ["carol", "carol-pass"],
  ["dave", "dave-pass"],
  ["erin", "erin-pass"],
];

let app;
let browser;
let ports;

const $t = (id) => browser.$(`[data-testid="${id}"]`);

function cli(args, input) {
  const out = execFileSync(CLI, ["--data-dir", DATA, "--json", ...args], { input, env: { ...process.env, LANG: "C.UTF-8" } });
  return JSON.parse(out.toString());
}

const shot = (name) => saveShot(browser, name);

before(async () => {
  assert.ok(existsSync(APP), `${APP} is missing: build it first`);
  writeFileSync(join(SERVERS, "users.txt"), USERS.map(([u, p]) => `${u}:${p}\n`).join(""));
  execFileSync("bash", [join(ROOT, "tests/servers/up.sh"), SERVERS], { stdio: ["ignore", "inherit", "inherit"] });
  ports = JSON.parse(readFileSync(join(SERVERS, "ports.json"), "utf8"));

  // The organisation, seeded through the engine (the CLI): two profiles, five users.
  const common = ["--set", "incoming_location=localhost", "--set", "outgoing_location=localhost", "--set", "timeout_seconds=10",
    "--set", `outgoing_port=${ports.SMTP_PORT}`, "--set", "outgoing_tls_mode=starttls", "--set", "incoming_tls_mode=implicit"];
  // These pages are driven by hand (Synchronize now, Test & Enable): the window's own scheduler
  // would race them, so it is off here (tests/e2e/monitoring.test.mjs runs with it on).
  cli(["settings", "update", "--set", "sync_in_desktop_app=false"]);
  cli(["profile", "create", "--type", "imap-smtp", "--name", "Loopback mail", "--default", ...common,
    "--set", `incoming_port=${ports.IMAPS_PORT}`, "--set", `ca_file=${ports.CA_FILE}`, "--set", "max_concurrent_connections=2"]);
  // Names no authority: the throwaway CA is in no system store, so no certificate is trusted.
  const untrusted = cli(["profile", "create", "--type", "imap-smtp", "--name", "Untrusted certificate", ...common,
    "--set", `incoming_port=${ports.UNTRUSTED_IMAPS_PORT}`]);
  for (const [user, password] of USERS) {
    const u = cli(["user", "create", "--name", user, "--email", `${user}@localhost`]);
    const id = String(u.mailbox_id);
    cli(["mailbox", "set-credentials", id, "--user-name", user, "--password-stdin"], user === "carol" ? "not-carols-password" : password);
    if (user !== "dave") cli(["mailbox", "approve", id]);
    if (user === "erin") cli(["mailbox", "update", id, "--set", `profile_id=${untrusted.id}`]);
  }

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

test("Test Connection on the profile form lists each step against the real servers", async () => {
  await (await $t("nav-profiles")).click();
  const row = await browser.$('[data-testid="profile-row"][data-name="Loopback mail"]');
  await row.waitForDisplayed({ timeout: 10000 });
  // Rows are clicked through the page's own events (WebDriver's pointer actions may call a table
  // row not "interactable" though a user can double-click it).
  await browser.execute(() =>
    document.querySelector('[data-testid="profile-row"][data-name="Loopback mail"]').dispatchEvent(new MouseEvent("dblclick", { bubbles: true })),
  );
  const button = await $t("profile-test-connection");
  await button.waitForEnabled({ timeout: 10000 });
  await button.click();
  const status = await $t("connection-test-status");
  await status.waitForDisplayed({ timeout: 30000 });
  assert.equal(await status.getAttribute("data-status"), "success", await (await $t("connection-test")).getText());
  for (const step of ["incoming.connect", "incoming.tls", "incoming.greeting", "outgoing.connect", "outgoing.start_tls"]) {
    assert.equal(await browser.$(`[data-step="${step}"]`).getAttribute("data-outcome"), "success", step);
  }
  // The profile's mailboxes bring their own credentials: the panel says sign-in was not tested.
  assert.ok(await (await $t("connection-test-no-sign-in")).isDisplayed());
  await shot("profile-test-connection");
  await browser.$('[data-testid="profile-form"] button:last-child').click();
});

test("Test & Enable of five mailboxes enables exactly the two good ones and tells why the others failed", async () => {
  await (await $t("nav-mailboxes")).click();
  await (await $t("mailbox-search")).setValue("@localhost");
  await browser.waitUntil(async () => (await browser.$$('[data-testid="mailbox-row"]').length) === 5, { timeout: 10000 });
  await (await $t("mailbox-grid-select-all")).click();
  await (await $t("cmd-test-enable")).click();
  const expected = {
    alice: ["success", ""],
    bob: ["success", ""],
    carol: ["failure", "mail.auth.failed_mailbox"],
    dave: ["failure", "mailbox.not_approved"],
    erin: ["failure", "mail.tls.untrusted"],
  };
  for (const [name, [state, code]] of Object.entries(expected)) {
    const item = await browser.$(`[data-testid="job-item"][data-mailbox="${name}"]`);
    await item.waitForDisplayed({ timeout: 10000 });
    await browser.waitUntil(async () => ["success", "failure"].includes(await item.getAttribute("data-state")), { timeout: 60000 });
    assert.equal(await item.getAttribute("data-state"), state, `${name}: ${await item.getText()}`);
    if (code) assert.equal(await item.$(".reason").getAttribute("data-code"), code, name);
  }
  assert.match(await browser.$('[data-testid="job-item"][data-mailbox="erin"]').getText(), /not trusted/);
  // When the job ends the grid shows what it wrote: the good mailboxes' statuses are Success.
  const rowText = (name) =>
    browser.execute((n) => document.querySelector(`[data-testid="mailbox-row"][data-name="${n}"]`)?.textContent ?? "", name);
  await browser.waitUntil(async () => (await rowText("alice")).includes("Success"), { timeout: 10000 });
  assert.match(await rowText("erin"), /Failure/);
  await shot("test-enable-real-servers");

  for (const [user, password] of [["alice", "alice-pass"], ["bob", "bob-pass"]]) {
    const subjects = await waitForSubject(ports, user, password, (s) => s === SUBJECT);
    assert.ok(subjects.includes(SUBJECT), `the test message did not reach ${user}: ${subjects}`);
  }
  assert.deepEqual(inboxSubjects(ports, "dave", "dave-pass"), [], "a mailbox that failed was sent nothing");
});

test("the untrusted profile shows its alert, and Test Connection shows where and why it fails", async () => {
  await (await $t("nav-profiles")).click();
  const row = await browser.$('[data-testid="profile-row"][data-name="Untrusted certificate"]');
  await row.waitForDisplayed({ timeout: 10000 });
  await browser.execute(() =>
    document.querySelector('[data-testid="profile-row"][data-name="Untrusted certificate"]').dispatchEvent(new MouseEvent("dblclick", { bubbles: true })),
  );
  const alert = await browser.$('[data-testid="profile-alerts"] [data-code="mail.tls.untrusted"]');
  await alert.waitForDisplayed({ timeout: 10000 });
  const button = await $t("profile-test-connection");
  await button.waitForEnabled({ timeout: 10000 });
  await button.click();
  const status = await $t("connection-test-status");
  await status.waitForDisplayed({ timeout: 30000 });
  assert.equal(await status.getAttribute("data-status"), "failure");
  assert.equal(await browser.$('[data-step="incoming.tls"]').getAttribute("data-outcome"), "failure");
  const details = await $t("connection-test-failure");
  assert.equal(await details.getAttribute("data-code"), "mail.tls.untrusted");
  assert.match(await details.getText(), /certificate is not trusted/);
  await shot("profile-test-connection-failure");
  await browser.$('[data-testid="profile-form"] button:last-child').click();
});

test("the alert wall shows each failure with its technical details", async () => {
  await (await $t("nav-alerts")).click();
  await (await $t("alerts-page")).waitForDisplayed({ timeout: 10000 });
  const row = await browser.$('[data-testid="alert-row"][data-code="mail.tls.untrusted"]');
  await row.waitForDisplayed({ timeout: 10000 });
  const wall = await browser.execute(() => document.querySelector('[data-testid="alerts-page"]')?.textContent ?? "");
  assert.ok(!wall.includes("not-carols-password"), "a password reached the alert wall");
  // Choosing the alert shows what the server answered, under the grid.
  await row.click();
  const detail = await $t("alert-detail");
  await detail.waitForDisplayed({ timeout: 10000 });
  assert.equal(await detail.getAttribute("data-code"), "mail.tls.untrusted");
  assert.match(await (await $t("alert-detail-text")).getText(), /UnknownIssuer/);
  const shown = await browser.execute(() => document.querySelector('[data-testid="alerts-page"]')?.textContent ?? "");
  assert.ok(!shown.includes("not-carols-password"), "a password reached the alert details");
  await shot("alerts-details");
});
