// The window as an administrator meets it, on a new organisation: the first-run guidance, a
// profile created and a mailbox tested and enabled with the keyboard alone (against the real
// Dovecot and Postfix of tests/servers), the job panel docked where it hides no field, dates in
// each language's own order, axe-core run on every page with no serious or critical violation,
// and the dark theme the system asks for, with its contrast checked on every page.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import { APP, CLI, ROOT, openApp, shot as saveShot } from "./session.mjs";

const DATA = mkdtempSync(join(tmpdir(), "serversync-e2e-window-"));
const SERVERS = mkdtempSync(join(tmpdir(), "serversync-e2e-window-servers-"));
const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const PROFILE = "Keyboard IMAP";

let app;
let browser;
let ports;

const $t = (id) => browser.$(`[data-testid="${id}"]`);
const shot = (name) => saveShot(browser, name);

function cli(args, input) {
  const out = execFileSync(CLI, ["--data-dir", DATA, "--json", ...args], { input, env: { ...process.env, LANG: "C.UTF-8" } });
  return JSON.parse(out.toString());
}

/** Presses Tab until the focused element matches `selector` (at most `max` times): the control
 * is reachable from the keyboard. */
async function tabTo(selector, max = 150) {
  for (let i = 0; i < max; i++) {
    if (await browser.execute((sel) => document.activeElement?.matches(sel) ?? false, selector)) return;
    await browser.keys("Tab");
  }
  const at = await browser.execute(() => document.activeElement?.outerHTML.slice(0, 200) ?? "nothing");
  assert.fail(`${selector} is not reachable with Tab (focus is on ${at})`);
}

/** Types into the focused input, replacing what it holds (erased with End and Backspace). */
async function typeText(text) {
  const length = await browser.execute(() => String(document.activeElement?.value ?? "").length);
  await browser.keys("End");
  for (let i = 0; i < length; i++) await browser.keys("Backspace");
  // One key at a time: a key sent twice in one action is pressed once (it is already down).
  for (const ch of text) await browser.keys(ch);
  // The window applies keys a moment after WebDriver sends them.
  const holds = () => browser.execute(() => document.activeElement?.value);
  await browser.waitUntil(async () => (await holds()) === text, { timeout: 3000 }).catch(() => {});
  assert.equal(await holds(), text, "what was typed is not what the input holds");
}

before(async () => {
  assert.ok(existsSync(APP), `${APP} is missing: build it first`);
  writeFileSync(join(SERVERS, "users.txt"), "alice:alice-pass\n");
  execFileSync("bash", [join(ROOT, "tests/servers/up.sh"), SERVERS], { stdio: ["ignore", "inherit", "inherit"] });
  ports = JSON.parse(readFileSync(join(SERVERS, "ports.json"), "utf8"));
  // Driven by hand here: the window's scheduler would race the Test & Enable below.
  cli(["settings", "update", "--set", "sync_in_desktop_app=false"]);
  app = await openApp(DATA);
  browser = app.browser;
  // The window's storage outlives a session (another test file may have ended the checklist):
  // a new organisation starts from none, and the page is loaded again to read it.
  await browser.execute(() => {
    localStorage.clear();
    location.reload();
  });
  await browser.pause(500);
  await (await $t("nav-profiles")).waitForDisplayed({ timeout: 10000 });
});

after(async () => {
  await app?.stop();
  try {
    execFileSync("bash", [join(ROOT, "tests/servers/down.sh"), SERVERS], { stdio: "ignore" });
  } catch {
    /* already stopped */
  }
});

const stepsDone = () =>
  browser.execute(() => [1, 2, 3, 4, 5].map((n) => document.querySelector(`[data-testid="checklist-step-${n}"]`)?.getAttribute("data-done")));

test("a new organisation is told where to begin: what a profile is, the four kinds, and the checklist", async () => {
  await (await $t("nav-profiles")).click();
  const empty = await $t("profiles-empty");
  await empty.waitForDisplayed({ timeout: 10000 });
  assert.match(await empty.getText(), /profile/i);
  for (const type of ["exchange_online", "exchange_server", "imap_smtp", "pop3_smtp"]) {
    assert.ok(await (await $t(`empty-new-${type}`)).isDisplayed(), `no New ${type} on the empty page`);
  }
  const checklist = await $t("first-run-checklist");
  await checklist.waitForDisplayed({ timeout: 10000 });
  assert.deepEqual(await stepsDone(), ["false", "false", "false", "false", "false"]);
  await shot("first-run-profiles");
  await (await $t("nav-mailboxes")).click();
  const grid = await $t("mailbox-grid");
  await browser.waitUntil(async () => /users and queues/i.test(await grid.getText()), { timeout: 10000, timeoutMsg: "the empty Mailboxes page does not say where mailboxes come from" });
  await shot("first-run-mailboxes");
});

test("a profile is created and made the default with the keyboard alone", async () => {
  await browser.execute(() => document.activeElement?.blur());
  await tabTo('[data-testid="nav-profiles"]');
  await browser.keys("Enter");
  await tabTo('[data-testid="empty-new-imap_smtp"]');
  await browser.keys("Enter");
  await (await $t("profile-form")).waitForDisplayed({ timeout: 10000 });
  const fields = [
    ["name", PROFILE],
    ["incoming_location", "localhost"],
    ["outgoing_location", "localhost"],
    ["incoming_port", String(ports.IMAPS_PORT)],
    ["outgoing_port", String(ports.SMTP_PORT)],
    ["ca_file", ports.CA_FILE],
  ];
  for (const [name, value] of fields) {
    await tabTo(`[data-field="${name}"] input`);
    await typeText(value);
  }
  // The form's errors are announced to screen readers, and its labels name their inputs.
  const unlabelled = await browser.execute(() =>
    [...document.querySelectorAll('[data-testid="profile-form"] input, [data-testid="profile-form"] select')]
      .filter((i) => i.type !== "hidden" && !i.labels?.length && !i.getAttribute("aria-label") && !i.getAttribute("aria-labelledby"))
      .map((i) => i.name || i.outerHTML.slice(0, 80)),
  );
  assert.deepEqual(unlabelled, [], "inputs without a label");
  await tabTo('[data-testid="profile-save-close"]');
  await browser.keys("Enter");
  const row = await browser.$(`[data-testid="profile-row"][data-name="${PROFILE}"]`);
  await row.waitForDisplayed({ timeout: 10000 });
  await tabTo(`[data-testid="profile-row"][data-name="${PROFILE}"]`);
  await browser.keys("Space");
  await tabTo('[data-testid="profile-set-default"]');
  await browser.keys("Enter");
  const rowText = () => browser.execute((n) => document.querySelector(`[data-testid="profile-row"][data-name="${n}"]`)?.textContent ?? "", PROFILE);
  await browser.waitUntil(async () => (await rowText()).includes("✓"), { timeout: 5000, timeoutMsg: `the profile is not the default: ${PROFILE}` });
  await browser.waitUntil(async () => (await stepsDone()).slice(0, 2).every((d) => d === "true"), { timeout: 10000 });
  await shot("keyboard-profile");
});

test("a mailbox is tested and enabled with the keyboard alone, and the docked job panel hides no field", async () => {
  const u = cli(["user", "create", "--name", "alice", "--email", "alice@localhost"]);
  const id = String(u.mailbox_id);
  cli(["mailbox", "set-credentials", id, "--user-name", "alice", "--password-stdin"], "alice-pass");
  cli(["mailbox", "approve", id]);
  await tabTo('[data-testid="nav-mailboxes"]');
  await browser.keys("Enter");
  await browser.$('[data-testid="mailbox-row"][data-name="alice"]').waitForDisplayed({ timeout: 10000 });
  await tabTo('[data-testid="mailbox-row"][data-name="alice"]');
  await browser.keys("Space");
  await browser.waitUntil(async () => (await (await $t("mailbox-count")).getText()).includes("1 selected"), { timeout: 5000 });
  // The grid is wider than the window: Left and Right scroll it sideways from the row (WebKit's
  // own keyboard scrolling of the row's scroll container), and its header follows.
  const sideways = () =>
    browser.execute(() => {
      const body = document.querySelector('[data-testid="mailbox-grid-body"]');
      const header = document.querySelector('[data-testid="mailbox-grid"] .vgrid-header');
      return { body: body.scrollLeft, header: header.scrollLeft, wide: body.scrollWidth > body.clientWidth };
    });
  assert.ok((await sideways()).wide, "the Mailboxes grid is not wider than the window: nothing to scroll");
  await browser.keys("ArrowRight");
  await browser.keys("ArrowRight");
  // Keyboard scrolling may be animated: the header is waited for as the body moves.
  await browser.waitUntil(async () => { const s = await sideways(); return s.body > 0 && s.header === s.body; },
    { timeout: 5000, timeoutMsg: "Right did not scroll the grid, or the header did not follow it" });
  await browser.pause(500); // the end of the scrolling animation
  const right = await sideways();
  await browser.keys("ArrowLeft");
  await browser.keys("ArrowLeft");
  await browser.waitUntil(async () => { const s = await sideways(); return s.body < right.body && s.header === s.body; },
    { timeout: 5000, timeoutMsg: "Left did not scroll the grid back, or the header did not follow it" });
  await tabTo('[data-testid="cmd-test-enable"]');
  await browser.keys("Enter");
  const item = () =>
    browser.execute(() => {
      const el = document.querySelector('[data-testid="job-item"][data-mailbox="alice"]');
      return el ? { state: el.getAttribute("data-state"), text: el.textContent } : null;
    });
  await browser.waitUntil(async () => ["success", "failure"].includes((await item())?.state), { timeout: 60000, timeoutMsg: "alice was not tested" });
  assert.equal((await item()).state, "success", (await item()).text);
  // Every step done: the checklist leaves.
  await browser.waitUntil(async () => !(await (await $t("first-run-checklist")).isExisting()), { timeout: 15000, timeoutMsg: "the checklist stayed" });

  // The mailbox's form opens with the panel still there: every field can be seen and reached.
  await tabTo('[data-testid="mailbox-row"][data-name="alice"]');
  await browser.keys("Enter");
  await browser.$("[data-field]").waitForDisplayed({ timeout: 10000 });
  assert.ok(await (await $t("job-panel")).isDisplayed(), "the job panel went away");
  const covered = await browser.execute(() => {
    const out = [];
    for (const f of document.querySelectorAll("main [data-field]")) {
      f.scrollIntoView({ block: "end" });
      const r = f.getBoundingClientRect();
      const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
      if (hit && !f.contains(hit)) out.push(`${f.getAttribute("data-field")} under ${hit.className || hit.tagName}`);
    }
    return out;
  });
  assert.deepEqual(covered, [], "fields hidden by the job panel");
  await shot("job-panel-docked");
  // Minimised, it folds to one line; closed, it leaves a notification that leads back to it.
  await (await $t("job-panel-minimise")).click();
  assert.equal(await (await $t("job-panel-minimise")).getAttribute("aria-expanded"), "false");
  await (await $t("job-panel-minimise")).click();
  await (await $t("job-panel-close")).click();
  const note = await $t("job-notification");
  await note.waitForDisplayed({ timeout: 5000 });
  await shot("job-notification");
  await (await $t("job-notification-open")).click();
  await browser.$('[data-testid="job-item"][data-mailbox="alice"]').waitForDisplayed({ timeout: 5000 });
});

test("the Process Email From date shows in each language's own order", async () => {
  await (await $t("nav-profiles")).click();
  const open = async () => {
    await browser.$(`[data-testid="profile-row"][data-name="${PROFILE}"]`).waitForDisplayed({ timeout: 10000 });
    await browser.execute((n) => document.querySelector(`[data-testid="profile-row"][data-name="${n}"]`).dispatchEvent(new MouseEvent("dblclick", { bubbles: true })), PROFILE);
    const input = await $t("date-process_email_from");
    await input.waitForDisplayed({ timeout: 10000 });
    return input;
  };
  const input = await open();
  await input.click();
  await typeText("12/02/2026 12:30");
  await browser.keys("Enter");
  await (await $t("profile-save-close")).click();
  const expected = { ja: "2026/12/02 12:30", fr: "02/12/2026 12:30", vi: /^(12:30 02\/12\/2026|02\/12\/2026 12:30)$/ };
  for (const [lang, want] of Object.entries(expected)) {
    await (await $t("lang")).selectByAttribute("value", lang);
    const shown = await (await open()).getValue();
    if (want instanceof RegExp) assert.match(shown, want, lang);
    else assert.equal(shown, want, lang);
    await shot(`profile-form-date-${lang}`);
    await (await $t("profile-form")).$(".form-header button:last-child").click();
  }
  await (await $t("lang")).selectByAttribute("value", "en");
});

test("axe-core finds no serious or critical violation on any page, and no page scrolls sideways", async () => {
  const pages = ["profiles", "mailboxes", "settings", "principals", "alerts", "monitoring", "activities", "outbox", "contacts", "accounts", "leads"];
  const found = [];
  const audit = async (where) => {
    await browser.pause(300);
    // axe's source runs as a WebDriver script (the page's CSP rightly forbids eval).
    if (!(await browser.execute(() => typeof window.axe === "object"))) await browser.execute(`${AXE}\nreturn true;`);
    const result = await browser.executeAsync((done) => {
      window.axe
        .run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } })
        .then((r) => done(r.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
          .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(" | ")}`)))
        .catch((e) => done([`axe failed: ${e}`]));
    });
    for (const v of result) found.push(`${where}: ${v}`);
    // No page scrolls sideways as a whole; a grid wider than the window scrolls in its body, and
    // its header follows.
    const layout = await browser.execute(() => {
      const problems = [];
      const main = document.querySelector("main");
      if (main && main.scrollWidth > main.clientWidth + 1) problems.push(`the page scrolls sideways (${main.scrollWidth} > ${main.clientWidth})`);
      for (const grid of document.querySelectorAll(".vgrid")) {
        const body = grid.querySelector(".vgrid-body");
        const header = grid.querySelector(".vgrid-header");
        if (!body || !header || body.scrollWidth <= body.clientWidth) continue;
        body.scrollLeft = body.scrollWidth;
        body.dispatchEvent(new Event("scroll"));
        if (Math.abs(header.scrollLeft - body.scrollLeft) > 1) problems.push(`${grid.dataset.testid}: header at ${header.scrollLeft}, body at ${body.scrollLeft}`);
        body.scrollLeft = 0;
        body.dispatchEvent(new Event("scroll"));
      }
      return problems;
    });
    for (const v of layout) found.push(`${where}: ${v}`);
  };
  for (const p of pages) {
    await (await $t(`nav-${p}`)).click();
    await audit(p);
  }
  // The forms too: a profile, and a mailbox; and a confirmation, open over its page.
  await (await $t("nav-profiles")).click();
  // The grid is read when the page opens: the row is waited for before it is opened.
  const profileRow = await browser.$(`[data-testid="profile-row"][data-name="${PROFILE}"]`);
  await profileRow.waitForDisplayed({ timeout: 10000 });
  await browser.execute((n) => document.querySelector(`[data-testid="profile-row"][data-name="${n}"]`).click(), PROFILE);
  await (await $t("profile-delete")).click();
  await (await $t("dialog-delete-profile")).waitForDisplayed({ timeout: 10000 });
  await audit("delete confirmation");
  await shot("confirm-delete-profile");
  await browser.keys(["Escape"]);
  await (await $t("dialog-delete-profile")).waitForDisplayed({ reverse: true, timeout: 5000 });
  await browser.execute((n) => document.querySelector(`[data-testid="profile-row"][data-name="${n}"]`).dispatchEvent(new MouseEvent("dblclick", { bubbles: true })), PROFILE);
  await (await $t("profile-form")).waitForDisplayed({ timeout: 10000 });
  await audit("profile form");
  await (await $t("nav-mailboxes")).click();
  await browser.$('[data-testid="mailbox-row"][data-name="alice"]').waitForDisplayed({ timeout: 10000 });
  await browser.execute(() => document.querySelector('[data-testid="mailbox-row"][data-name="alice"]').dispatchEvent(new MouseEvent("dblclick", { bubbles: true })));
  await browser.$("[data-field]").waitForDisplayed({ timeout: 10000 });
  await audit("mailbox form");
  assert.deepEqual(found, [], `accessibility or layout violations:\n${found.join("\n")}`);
});

test("dark mode follows the system's preference, and keeps its contrast on every page", async () => {
  await app.stop();
  // The system's dark theme, as a desktop sets it: WebKitGTK reads prefers-color-scheme from it.
  app = await openApp(DATA, { GTK_THEME: "Adwaita:dark" });
  browser = app.browser;
  await (await $t("nav-profiles")).waitForDisplayed({ timeout: 10000 });
  const look = () =>
    browser.execute(() => {
      const rgb = (c) => (c.match(/\d+(\.\d+)?/g) ?? []).slice(0, 3).map(Number);
      const luminance = ([r, g, b]) => (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
      const page = document.querySelector(".page") ?? document.body;
      return {
        dark: matchMedia("(prefers-color-scheme: dark)").matches,
        background: luminance(rgb(getComputedStyle(document.body).backgroundColor)),
        text: luminance(rgb(getComputedStyle(page).color)),
      };
    });
  const seen = await look();
  assert.equal(seen.dark, true, "the window does not see the system's dark preference");
  assert.ok(seen.background < 0.25 && seen.text > 0.6, `not a dark theme: ${JSON.stringify(seen)}`);
  await (await $t("nav-mailboxes")).click();
  await browser.$('[data-testid="mailbox-row"][data-name="alice"]').waitForDisplayed({ timeout: 10000 });
  await shot("window-dark-mailboxes");
  // Contrast (WCAG AA) on every page, in the dark colours.
  const found = [];
  for (const p of ["profiles", "mailboxes", "settings", "principals", "alerts", "monitoring", "activities", "outbox", "contacts", "accounts", "leads"]) {
    await (await $t(`nav-${p}`)).click();
    await browser.pause(300);
    if (!(await browser.execute(() => typeof window.axe === "object"))) await browser.execute(`${AXE}\nreturn true;`);
    const result = await browser.executeAsync((done) => {
      window.axe
        .run(document, { runOnly: { type: "rule", values: ["color-contrast"] } })
        .then((r) => done(r.violations.map((v) => `${v.id}: ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(" | ")}`)))
        .catch((e) => done([`axe failed: ${e}`]));
    });
    for (const v of result) found.push(`${p}: ${v}`);
  }
  assert.deepEqual(found, [], `contrast violations in dark mode:\n${found.join("\n")}`);
});
