// Benchmark (prints figures, asserts nothing): the desktop app's footprint and start-up.
// - start to interactive: from the app process's start (its /proc start time) to the moment the
//   window marks itself interactive (its first page painted: `performance.mark`
//   "serversync-interactive" in ui/src/main.tsx). Measured twice:
//   * as an administrator starts it: the app launched on its own, the time read from the line
//     "window interactive since_process_start_ms=…" the app writes to its log;
//   * under WebDriver (tauri-driver, as the end-to-end suite runs it), read from the page's
//     performance timeline, split at the page's navigation;
// - the proportional set size (PSS, /proc/<pid>/smaps_rollup) of each process of the app —
//   serversync-app, WebKitWebProcess, WebKitNetworkProcess — after the window, started on its
//   own, has idled, and their sum.
// - beside it, in the same run, the floor: WebKitGTK's own MiniBrowser (shipped with the library), full-screen,
//   showing one paragraph, with the app's WebKit settings (no compositing, no WebGL, no page
//   cache; GTK's OpenGL and the DMA-BUF renderer off), idled as long: what any window of this
//   toolkit costs before a line of ServerSync runs.
// The data directory holds MAILBOXES mailboxes (default 10,000), seeded through the engine.
// Run: xvfb-run -a bash scripts/with-keychain.sh node bench/ui-footprint.mjs
//   SERVERSYNC_APP=target/release/serversync-app for the release build (the goal is measured on it);
//   RUNS=3 start-ups of each kind (the median is printed); IDLE_SECONDS=10 of idling before the
//   PSS is read.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createRequire } from "node:module";

const ROOT = resolve(import.meta.dirname, "..");
const { remote } = await import(createRequire(join(ROOT, "tests/e2e/package.json")).resolve("webdriverio"));
const APP = resolve(process.env.SERVERSYNC_APP ?? join(ROOT, "target/debug/serversync-app"));
const CLI = resolve(process.env.SERVERSYNC_CLI ?? join(ROOT, "target/debug/serversync"));
const N = Number(process.env.MAILBOXES ?? 10000);
const RUNS = Number(process.env.RUNS ?? 3);
const IDLE = Number(process.env.IDLE_SECONDS ?? 10);
const DATA = mkdtempSync(join(tmpdir(), "serversync-bench-footprint-"));

const lines = Array.from({ length: N }, (_, i) => JSON.stringify({ full_name: `Bench ${i}`, primary_email: `b${i}@bench.test` })).join("\n");
let t0 = Date.now();
execFileSync(CLI, ["--data-dir", DATA, "user", "import"], { input: lines, maxBuffer: 1 << 28 });
execFileSync(CLI, ["--data-dir", DATA, "settings", "update", "--set", "sync_in_desktop_app=false"]);
console.log(`app: ${APP}`);
console.log(`seeded ${N} users and mailboxes in ${Date.now() - t0} ms`);

const HZ = 100; // USER_HZ on Linux
// The boot's time in ms: now minus the uptime (`btime` in /proc/stat is rounded down to the
// second, which would put every process's start up to a second early).
const bootMs = Date.now() - Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]) * 1000;
/** The processes of the app (or of `main`, another WebKitGTK browser): it and the WebKit
 * processes it started, with their start time. */
function processes(main = APP, mainName = "serversync-app") {
  const out = [];
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const startMs = bootMs + (Number(fields[19]) / HZ) * 1000;
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0];
      if (cmd === main || comm.startsWith("WebKitWebProces") || comm.startsWith("WebKitNetworkPr")) {
        out.push({ pid, name: cmd === main ? mainName : comm.startsWith("WebKitWeb") ? "WebKitWebProcess" : "WebKitNetworkProcess", startMs });
      }
    } catch {
      /* gone */
    }
  }
  return out;
}
const TOP = Number(process.env.TOP_MAPPINGS ?? 0);
/** Where a process's PSS goes: its TOP largest mappings (file or [heap], [anon]…), summed by name. */
function topMappings(pid) {
  if (!TOP) return [];
  const by = new Map();
  let name = "";
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) name = head[1] || "[anon]";
    const pss = /^Pss:\s+(\d+) kB/.exec(line);
    if (pss) by.set(name, (by.get(name) ?? 0) + Number(pss[1]));
  }
  return [...by].sort((a, b) => b[1] - a[1]).slice(0, TOP);
}
const kb = (pid, field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))?.[1] ?? 0);

async function session() {
  const driver = spawn(process.env.TAURI_DRIVER ?? "tauri-driver", ["--port", "4444"], { stdio: "ignore", env: { ...process.env, SERVERSYNC_DATA_DIR: DATA } });
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch("http://127.0.0.1:4444/status")).ok) break; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  const browser = await remote({ hostname: "127.0.0.1", port: 4444, logLevel: "error",
    capabilities: { "tauri:options": { application: APP }, "wdio:enforceWebDriverClassic": true } });
  const stop = async () => { await browser.deleteSession().catch(() => {}); driver.kill("SIGTERM"); await new Promise((r) => setTimeout(r, 1000)); };
  return { browser, stop };
}

const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The start-up times the app has logged so far, in order. */
function loggedStarts() {
  const dir = join(DATA, "logs");
  if (!existsSync(dir)) return [];
  return readdirSync(dir).sort().flatMap((f) =>
    [...readFileSync(join(dir, f), "utf8").matchAll(/window interactive since_process_start_ms=(-?\d+) before_page_ms=(-?\d+) page_ms=(-?\d+)/g)]
      .map((m) => ({ total: Number(m[1]), beforePage: Number(m[2]), page: Number(m[3]) })));
}

// As an administrator starts it: the app on its own.
const direct = [];
let pss = null;
for (let run = 0; run < RUNS; run++) {
  const before = loggedStarts().length;
  const app = spawn(APP, [], { stdio: "ignore", env: { ...process.env, SERVERSYNC_DATA_DIR: DATA } });
  try {
    const deadline = Date.now() + 30000;
    while (loggedStarts().length === before && Date.now() < deadline) await sleep(50);
    const logged = loggedStarts();
    if (logged.length === before) throw new Error("the app did not log its start-up within 30 s");
    direct.push(logged[logged.length - 1]);
    if (run === RUNS - 1) {
      await sleep(IDLE * 1000);
      pss = processes().map((p) => ({ ...p, pss: kb(p.pid, "Pss"), rss: kb(p.pid, "Rss"), top: topMappings(p.pid) }));
    }
  } finally {
    app.kill("SIGTERM");
    await new Promise((r) => (app.exitCode !== null ? r() : app.once("exit", r)));
    await sleep(1000);
  }
}

// Under WebDriver, as the end-to-end suite starts it.
const starts = [];
// Where start-up goes: until the web view starts loading the page, and from there until the page
// is interactive.
const toPage = [];
const inPage = [];
for (let run = 0; run < RUNS; run++) {
  const { browser, stop } = await session();
  try {
    await browser.waitUntil(() => browser.execute(() => performance.getEntriesByName("serversync-interactive").length > 0), { timeout: 30000 });
    const [origin, mark] = await browser.execute(() => [performance.timeOrigin, performance.getEntriesByName("serversync-interactive")[0].startTime]);
    const app = processes().find((p) => p.name === "serversync-app");
    starts.push(origin + mark - app.startMs);
    toPage.push(origin - app.startMs);
    inPage.push(mark);
  } finally {
    await stop();
  }
}
// The floor: a bare WebKitGTK window with the app's settings.
const MINI = process.env.MINIBROWSER ?? "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser";
let floor = null;
if (existsSync(MINI)) {
  const mini = spawn(MINI, ["--full-screen", "--enable-page-cache=false", "--enable-webgl=false", "data:text/html,<p>ServerSync</p>"], {
    stdio: "ignore",
    env: { ...process.env, GDK_GL: "disable", WEBKIT_DISABLE_DMABUF_RENDERER: "1", WEBKIT_DISABLE_COMPOSITING_MODE: "1" },
  });
  try {
    await sleep(2000 + IDLE * 1000);
    floor = processes(MINI, "MiniBrowser").map((p) => ({ ...p, pss: kb(p.pid, "Pss"), rss: kb(p.pid, "Rss"), top: topMappings(p.pid) }));
  } finally {
    mini.kill("SIGTERM");
    await new Promise((r) => (mini.exitCode !== null ? r() : mini.once("exit", r)));
  }
}

const list = (xs) => xs.map((s) => s.toFixed(0)).join(", ");
console.log(`start to interactive (${N} mailboxes; goal ≤ 1000 ms, release build):`);
console.log(`  started on its own:  ${list(direct.map((d) => d.total))} ms (median ${median(direct.map((d) => d.total)).toFixed(0)} ms)`);
console.log(`    before the page started loading: ${list(direct.map((d) => d.beforePage))} ms; the page: ${list(direct.map((d) => d.page))} ms`);
console.log(`  under WebDriver:     ${list(starts)} ms (median ${median(starts).toFixed(0)} ms)`);
console.log(`    of which: process start to the page's navigation ${median(toPage).toFixed(0)} ms, navigation to interactive ${median(inPage).toFixed(0)} ms (medians)`);
console.log(`after ${IDLE} s idle (started on its own):`);
console.log("process               PSS (MB)   RSS (MB)");
let total = 0;
for (const p of pss) {
  total += p.pss;
  console.log(`${p.name.padEnd(22)}${(p.pss / 1024).toFixed(1).padStart(8)}${(p.rss / 1024).toFixed(1).padStart(11)}`);
  for (const [name, k] of p.top) console.log(`    ${(k / 1024).toFixed(1).padStart(7)} MB  ${name}`);
}
console.log(`${"total".padEnd(22)}${(total / 1024).toFixed(1).padStart(8)}   (goal ≤ 150 MB PSS)`);
if (floor) {
  console.log(`the floor, in the same run: WebKitGTK's MiniBrowser showing one paragraph, same settings, after ${IDLE} s idle:`);
  let bare = 0;
  for (const p of floor) {
    bare += p.pss;
    console.log(`${p.name.padEnd(22)}${(p.pss / 1024).toFixed(1).padStart(8)}${(p.rss / 1024).toFixed(1).padStart(11)}`);
    for (const [name, k] of p.top) console.log(`    ${(k / 1024).toFixed(1).padStart(7)} MB  ${name}`);
  }
  console.log(`${"total".padEnd(22)}${(bare / 1024).toFixed(1).padStart(8)}   (ServerSync adds ${((total - bare) / 1024).toFixed(1)} MB)`);
} else {
  console.log(`(no MiniBrowser at ${MINI}: the floor was not measured)`);
}
if (!existsSync(APP)) console.log("(the app binary was not found)");
