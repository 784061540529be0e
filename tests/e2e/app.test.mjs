// The desktop app, driven like a user: tauri-driver → WebKitWebDriver → the real ServerSync
// window under Xvfb. Run by scripts/test.sh (which starts Xvfb, D-Bus and gnome-keyring).
// Screenshots of each page go to $SERVERSYNC_TEST_OUTPUT/screenshots.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { APP, CLI, openApp, shot as saveShot } from "./session.mjs";

const DATA = mkdtempSync(join(tmpdir(), "serversync-e2e-"));
const PASSWORD = "E2e-Pässword-5c1d";

let app;
let browser;

const shot = (name) => saveShot(browser, name);
const $t = (id) => browser.$(`[data-testid="${id}"]`);
const field = (name, tag = "input") => browser.$(`[data-field="${name}"] ${tag}`);

/** Clicks through the page's own event (rows inside a virtualised, transformed container are
 * not always "interactable" for WebDriver, though a user can click them). */
async function jsClick(selector, init = {}) {
  const ok = await browser.execute(
    (sel, opts) => {
      const el = document.querySelector(sel);
      if (!el) return false;
      el.scrollIntoView({ block: "nearest" });
      el.dispatchEvent(new MouseEvent(opts.dbl ? "dblclick" : "click", { bubbles: true, shiftKey: !!opts.shift, ctrlKey: !!opts.ctrl }));
      return true;
    },
    selector,
    init,
  );
  assert.ok(ok, `${selector} not found`);
}

async function text(sel) {
  return (await browser.$(sel).getText()).trim();
}

before(async () => {
  assert.ok(existsSync(APP), `${APP} is missing: build it first`);
  // 10,000 mailboxes, seeded through the engine (the CLI), for the grid test.
  const lines = Array.from({ length: 10000 }, (_, i) =>
    JSON.stringify({ full_name: `Seed ${String(i).padStart(5, "0")}`, primary_email: `seed${i}@fabrikam.test` }),
  ).join("\n");
  execFileSync(CLI, ["--data-dir", DATA, "user", "import"], { input: lines });

  app = await openApp(DATA);
  browser = app.browser;
});

after(async () => {
  await app?.stop();
});

test("create an IMAP/SMTP profile through the form; fields of other server types are hidden", async () => {
  await (await $t("nav-profiles")).click();
  await (await $t("profile-new")).click();
  await (await $t("profile-new-imap_smtp")).click();
  await (await $t("profile-form")).waitForDisplayed({ timeout: 10000 });
  await (await field("incoming_location")).waitForDisplayed({ timeout: 10000 });
  for (const hidden of ["use_autodiscover", "tenant_id", "incoming_use_impersonation", "incoming_user_name", "timeout_mailbox_connection_x"]) {
    assert.equal(await browser.$(`[data-field="${hidden}"]`).isExisting(), false, `${hidden} is shown on an IMAP profile`);
  }
  assert.equal(await browser.$('[data-field="incoming_tls_mode"]').isExisting(), true, "the encryption choice is shown");

  // A value out of range is refused next to its field.
  await (await field("name")).setValue("Contoso IMAP");
  await (await field("incoming_location")).setValue("imap.contoso.test");
  await (await field("outgoing_location")).setValue("smtp.contoso.test");
  await (await field("max_concurrent_connections")).setValue("301");
  await (await $t("profile-save")).click();
  const err = await browser.$('[data-field="max_concurrent_connections"] .field-error');
  await err.waitForDisplayed({ timeout: 5000 });
  assert.match(await err.getText(), /1.*300/);
  await shot("profile-form-validation");

  await (await field("max_concurrent_connections")).setValue("2");
  // Choosing credentials in the profile shows the user name field, as the engine decides.
  await (await field("incoming_credential_mode", "select")).selectByAttribute("value", "profile");
  await (await field("incoming_user_name")).waitForDisplayed({ timeout: 5000 });
  await (await field("incoming_credential_mode", "select")).selectByAttribute("value", "user_or_queue");
  await browser.waitUntil(async () => !(await browser.$('[data-field="incoming_user_name"]').isExisting()), { timeout: 5000 });
  await shot("profile-form-imap");
  await (await $t("profile-save-close")).click();
  const row = await browser.$('[data-testid="profile-row"][data-name="Contoso IMAP"]');
  await row.waitForDisplayed({ timeout: 10000 });
  await jsClick('[data-testid="profile-row"][data-name="Contoso IMAP"]');
  await browser.$("button=Set as default").click();
  await browser.waitUntil(async () => (await row.getText()).includes("✓"), { timeout: 5000 });
  await shot("profiles");
});

test("create a user; its mailbox appears with the organisation's defaults", async () => {
  await (await $t("nav-principals")).click();
  await (await browser.$('[data-section="new-user"] [data-field="full_name"] input')).setValue("Nancy Anderson");
  await (await browser.$('[data-section="new-user"] [data-field="primary_email"] input')).setValue("nancy@contoso.test");
  await (await $t("user-create")).click();
  await browser.$('[data-testid="user-row"][data-name="Nancy Anderson"]').waitForDisplayed({ timeout: 10000 });
  await shot("users-queues");
  // Opened from the grid, she tracks all her incoming email from now on.
  await jsClick('[data-testid="user-row"][data-name="Nancy Anderson"]');
  const filtering = await browser.$('[data-section="edit-user"] select[name="incoming_filtering_method"]');
  await filtering.waitForDisplayed({ timeout: 10000 });
  assert.equal(await filtering.getValue(), "responses_to_crm_email");
  await filtering.selectByAttribute("value", "all_email");
  await (await $t("user-create")).click();
  await browser.$('[data-section="new-user"]').waitForDisplayed({ timeout: 10000 });
  const nancy = JSON.parse(execFileSync(CLI, ["--data-dir", DATA, "--json", "user", "list"], { encoding: "utf8", maxBuffer: 1 << 26 }))
    .find((u) => u.full_name === "Nancy Anderson");
  assert.equal(nancy?.incoming_filtering_method, "all_email", JSON.stringify(nancy));
});

test("the mailbox grid holds 10,000 mailboxes, scrolls and selects", async () => {
  await (await $t("nav-mailboxes")).click();
  await browser.waitUntil(async () => /10[,. \u202f]?001/.test(await text('[data-testid="mailbox-count"]')), { timeout: 20000 });
  const rendered = await browser.$$('[data-testid="mailbox-row"]').length;
  assert.ok(rendered > 0 && rendered < 200, `the grid is virtualised (rendered ${rendered} rows)`);
  await browser.execute(() => {
    const body = document.querySelector('[data-testid="mailbox-grid-body"]');
    body.scrollTop = body.scrollHeight;
  });
  const last = await browser.$('[data-testid="mailbox-row"][data-name="Seed 09999"]');
  await last.waitForExist({ timeout: 5000 });
  await jsClick('[data-testid="mailbox-row"][data-name="Seed 09999"]');
  await browser.waitUntil(async () => (await text('[data-testid="mailbox-count"]')).includes("1 selected"), { timeout: 5000 });
  // Shift-click selects the range from the last clicked row.
  await jsClick('[data-testid="mailbox-row"][data-name="Seed 09990"]', { shift: true });
  await browser.waitUntil(async () => (await text('[data-testid="mailbox-count"]')).includes("10 selected"), { timeout: 5000 });
  await shot("mailboxes-10000");
  await (await $t("mailbox-search")).setValue("nancy");
  await browser.$('[data-testid="mailbox-row"][data-name="Nancy Anderson"]').waitForExist({ timeout: 10000 });
});

test("approve the mailbox, then Test & Enable shows the per-mailbox result", async () => {
  const row = await browser.$('[data-testid="mailbox-row"][data-name="Nancy Anderson"]');
  await jsClick('[data-testid="mailbox-row"][data-name="Nancy Anderson"]');
  await (await $t("cmd-approve")).click();
  await (await $t("dialog-ok")).click();
  const rowText = () =>
    browser.execute(() => document.querySelector('[data-testid="mailbox-row"][data-name="Nancy Anderson"]')?.textContent ?? "");
  await browser.waitUntil(async () => (await rowText()).includes("Approved"), { timeout: 10000 });
  void row;
  await (await $t("cmd-test-enable")).click();
  const item = await browser.$('[data-testid="job-item"][data-mailbox="Nancy Anderson"]');
  await item.waitForDisplayed({ timeout: 10000 });
  await browser.waitUntil(async () => ["success", "failure"].includes(await item.getAttribute("data-state")), { timeout: 30000 });
  // Nancy's mailbox uses credentials specified by a user or queue and has none yet.
  assert.equal(await item.getAttribute("data-state"), "failure");
  assert.equal(await item.$(".reason").getAttribute("data-code"), "mailbox.credentials.missing");
  assert.match(await item.getText(), /user name and password/);
  await shot("test-enable-progress");
});

test("a password entered on the mailbox form goes to the keychain; the database and the IPC reply hold no trace of it", async () => {
  await (await $t("nav-mailboxes")).click();
  await (await $t("mailbox-search")).setValue("nancy");
  const row = await browser.$('[data-testid="mailbox-row"][data-name="Nancy Anderson"]');
  await row.waitForExist({ timeout: 10000 });
  await jsClick('[data-testid="mailbox-row"][data-name="Nancy Anderson"]', { dbl: true });
  await (await $t("mailbox-form")).waitForDisplayed({ timeout: 10000 });
  await (await field("user_name")).setValue("nancy");
  await (await browser.$('[data-field="password"] input[type="password"]')).setValue(PASSWORD);
  await (await $t("set-password")).click();
  await browser.waitUntil(async () => (await (await $t("secret-password")).getText()) === "Set", { timeout: 10000 });
  await shot("mailbox-form");
  const reply = await browser.execute(async () => {
    const invoke = window.__TAURI_INTERNALS__.invoke;
    const page = await invoke("list_mailbox_page", {
      query: { view: { view: "all" }, search: "nancy", profile_id: null }, sort: { key: "name", descending: false }, offset: 0, limit: 50,
    });
    const one = await invoke("get_mailbox", { id: page.rows[0].id });
    return JSON.stringify({ page, one });
  });
  assert.ok(reply.includes('"is_password_set":true'), reply);
  assert.ok(!reply.includes(PASSWORD), "the IPC reply carries the password");
  const files = readdirSync(DATA).filter((f) => f.startsWith("serversync.sqlite3"));
  assert.ok(files.length > 0, "no database files found");
  for (const f of files) {
    assert.ok(!readFileSync(join(DATA, f)).includes(Buffer.from(PASSWORD)), `${f} holds the password`);
  }
  await (await $t("mailbox-form")).$("button=Close").click();
});

test("the pages speak Japanese and French", async () => {
  await (await $t("nav-settings")).click();
  await (await $t("settings-page")).waitForDisplayed({ timeout: 10000 });
  await shot("settings-en");
  await (await $t("nav-alerts")).click();
  await (await $t("alerts-page")).waitForDisplayed({ timeout: 10000 });
  await shot("alerts-en");

  await (await $t("lang")).selectByAttribute("value", "ja");
  await (await $t("nav-profiles")).click();
  await browser.waitUntil(async () => (await (await $t("nav-profiles")).getText()) === "電子メール サーバー プロファイル", { timeout: 5000 });
  await (await $t("profile-new")).click();
  await (await $t("profile-new-imap_smtp")).click();
  const label = await browser.$('[data-field="incoming_location"] .label');
  await label.waitForDisplayed({ timeout: 10000 });
  assert.notEqual(await label.getText(), "Incoming Server Location", "the form is still in English");
  assert.match(await browser.$('[data-field="process_email_from"] .label').getText(), /[\u3040-\u30ff\u4e00-\u9faf]/);
  await shot("profile-form-ja");
  await browser.$('[data-testid="profile-form"] button:last-child').click();

  await (await $t("lang")).selectByAttribute("value", "fr");
  await (await $t("profile-new")).click();
  await (await $t("profile-new-imap_smtp")).click();
  const fr = await browser.$('[data-field="process_email_from"] .label');
  await fr.waitForDisplayed({ timeout: 10000 });
  assert.equal(await fr.getText(), "Traiter les e-mails à partir de");
  await shot("profile-form-fr");
  await (await $t("lang")).selectByAttribute("value", "en");
});

test("a forward mailbox is created from the Mailboxes page, opens in its form, and is deleted from it", async () => {
  await (await $t("nav-mailboxes")).click();
  await (await $t("cmd-new-forward")).click();
  const dialog = await $t("dialog-forward");
  await dialog.waitForDisplayed({ timeout: 10000 });
  await (await dialog.$('[data-field="name"] input')).setValue("Collect");
  await (await dialog.$('[data-field="email_address"] input')).setValue("collect@contoso.test");
  await (await dialog.$('[data-testid="dialog-ok"]')).click();
  await (await $t("mailbox-form")).waitForDisplayed({ timeout: 10000 });
  const cli = (args) => JSON.parse(execFileSync(CLI, ["--data-dir", DATA, "--json", ...args], { encoding: "utf8", maxBuffer: 1 << 26 }));
  const collect = cli(["mailbox", "list", "--search", "collect"]).find((m) => m.name === "Collect");
  assert.equal(collect?.is_forward_mailbox, true, JSON.stringify(collect));
  assert.equal(collect.outgoing_method, "none", "a forward mailbox sends nothing");
  await (await $t("mailbox-delete")).click();
  // The confirmation is modal: the window behind it is inert, and Tab goes round its own buttons.
  await (await $t("dialog-delete")).waitForDisplayed({ timeout: 10000 });
  assert.equal(await browser.execute(() => document.querySelector('[data-testid="dialog-delete"]').matches(":modal")), true, "the confirmation is not modal");
  for (let i = 0; i < 3; i++) {
    await browser.keys(["Tab"]);
    assert.equal(await browser.execute(() => !!document.activeElement?.closest('[data-testid="dialog-delete"]')), true, `Tab ${i + 1} left the confirmation`);
  }
  await (await browser.$('[data-testid="dialog-delete"] [data-testid="dialog-ok"]')).click();
  await (await $t("mailboxes-page")).waitForDisplayed({ timeout: 10000 });
  assert.equal(cli(["mailbox", "list", "--search", "collect"]).length, 0, "the forward mailbox is still there");
});
