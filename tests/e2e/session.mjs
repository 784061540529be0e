// One desktop-app session for an end-to-end test file: tauri-driver (which starts
// WebKitWebDriver) and the real ServerSync window on a data directory of the test's own.
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, openSync, readFileSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { remote } from "webdriverio";

export const ROOT = resolve(import.meta.dirname, "../..");
export const APP = process.env.SERVERSYNC_APP ?? join(ROOT, "target/debug/serversync-app");
export const CLI = process.env.SERVERSYNC_CLI ?? join(ROOT, "target/debug/serversync");
const DRIVER = process.env.TAURI_DRIVER ?? "tauri-driver";
const OUT = process.env.SERVERSYNC_TEST_OUTPUT ?? join(ROOT, "test-output");
export const SHOTS = join(OUT, "screenshots");

async function waitForDriver(ms = 20000) {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    try {
      if ((await fetch("http://127.0.0.1:4444/status")).ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error("tauri-driver did not start");
}

/** The processes of the app started on `dataDir` (by its environment). */
function appsOn(dataDir) {
  const out = [];
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0];
      if (!cmd.endsWith("serversync-app")) continue;
      if (readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(`SERVERSYNC_DATA_DIR=${dataDir}`)) out.push(Number(pid));
    } catch {
      /* gone, or not ours to read */
    }
  }
  return out;
}

/** Starts tauri-driver and opens the app on `dataDir` (`env`: more of the app's environment);
 * `stop()` ends both. */
export async function openApp(dataDir, env = {}) {
  mkdirSync(SHOTS, { recursive: true });
  // The driver's output goes to a file, not to this process's pipes: an app it leaves behind
  // would otherwise hold the test runner's output open, and the runner would wait for ever.
  const log = openSync(join(OUT, "tauri-driver.log"), "a");
  const driver = spawn(DRIVER, ["--port", "4444"], {
    stdio: ["ignore", log, log],
    env: { ...process.env, ...env, SERVERSYNC_DATA_DIR: dataDir },
  });
  await waitForDriver();
  const browser = await remote({
    hostname: "127.0.0.1",
    port: 4444,
    logLevel: "warn",
    connectionRetryCount: 3,
    capabilities: { "tauri:options": { application: APP }, "wdio:enforceWebDriverClassic": true },
  });
  await browser.setTimeout({ implicit: 0 });
  const stop = async () => {
    await browser.deleteSession().catch(() => {});
    driver.kill("SIGTERM"); // SIGTERM lets tauri-driver stop WebKitWebDriver too
    await new Promise((r) => setTimeout(r, 500));
    // An app WebKitWebDriver did not close is ended here (it keeps the data directory open).
    for (const signal of ["SIGTERM", "SIGKILL"]) {
      const left = appsOn(dataDir);
      if (!left.length) break;
      for (const pid of left) {
        try {
          process.kill(pid, signal);
        } catch {
          /* already gone */
        }
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  };
  return { browser, stop };
}

/** Saves a screenshot of the window (after a frame: right after a click the previous one can
 * still be on screen).
 *
 * WebKitWebDriver answers a screenshot after the page's next painting. The app's web view paints
 * without GPU compositing (docs/adr/0016), and there a page with nothing left to paint does not
 * paint again, so a second screenshot of an unchanged window would wait for ever. While the
 * screenshot is taken, a one-pixel dot in the top-left corner flickers between transparent and
 * 2 % black, which keeps the page painting; it is removed afterwards. */
export async function shot(browser, name) {
  await browser.pause(400);
  await browser.execute(() => {
    const dot = document.createElement("div");
    dot.id = "screenshot-repaint";
    dot.setAttribute("aria-hidden", "true");
    dot.style.cssText = "position:fixed;left:0;top:0;width:1px;height:1px;pointer-events:none;z-index:2147483647";
    document.body.append(dot);
    let n = 0;
    window.__screenshotRepaint = setInterval(() => {
      dot.style.backgroundColor = n++ % 2 ? "rgba(0, 0, 0, 0)" : "rgba(0, 0, 0, 0.02)";
    }, 50);
  });
  try {
    await browser.saveScreenshot(join(SHOTS, `${name}.png`));
  } finally {
    await browser.execute(() => {
      clearInterval(window.__screenshotRepaint);
      document.getElementById("screenshot-repaint")?.remove();
    });
  }
}

/** The subjects in a user's Inbox on the loopback servers (`ports` from their ports.json), read
 * over IMAPS with the servers' CA (Python's imaplib), encoded words decoded. */
export function inboxSubjects(ports, user, password) {
  const script = `
import imaplib, ssl, sys, email
from email.header import decode_header, make_header
ctx = ssl.create_default_context(cafile=sys.argv[2])
m = imaplib.IMAP4_SSL("localhost", int(sys.argv[1]), ssl_context=ctx)
m.login(sys.argv[3], sys.argv[4])
m.select("INBOX", readonly=True)
typ, data = m.search(None, "ALL")
for n in data[0].split():
    typ, msg = m.fetch(n, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    print(str(make_header(decode_header(email.message_from_bytes(msg[0][1])["Subject"] or ""))))
m.logout()
`;
  return execFileSync("python3", ["-c", script, String(ports.IMAPS_PORT), ports.CA_FILE, user, password]).toString().split("\n").filter(Boolean);
}

/** Waits (up to 30 s) until a subject of the user's Inbox matches `wanted`: mail sent over SMTP
 * goes through Postfix's queue, so it arrives a moment after the server accepted it. Returns the
 * subjects last read. */
export async function waitForSubject(ports, user, password, wanted) {
  const deadline = Date.now() + 30_000;
  let subjects = inboxSubjects(ports, user, password);
  while (!subjects.some(wanted) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    subjects = inboxSubjects(ports, user, password);
  }
  return subjects;
}
