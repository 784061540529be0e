import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@solidjs/testing-library";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import { MonitoringPage } from "./MonitoringPage";
import { hoursOf, latencySeries, perHourSeries, totalsOf } from "./figures";
import type { AnyChartConfig } from "./charts";
import type { MonitoringSummary } from "../../api";
import { setLang } from "../../i18n";

// The charts are drawn by Chart.js on a canvas, which the test window cannot draw on: the test
// reads the figures each chart is given instead.
const drawn = vi.hoisted(() => [] as { config: AnyChartConfig }[]);
vi.mock("./charts", async (importOriginal) => {
  const real = await importOriginal<typeof import("./charts")>();
  return {
    ...real,
    drawChart: (_canvas: HTMLCanvasElement, config: AnyChartConfig) => {
      const chart = { config };
      drawn.push(chart);
      return { update: (next: AnyChartConfig) => (chart.config = next), destroy: () => {} };
    },
  };
});

const SUMMARY: MonitoringSummary = {
  generated_on: "2026-12-04T09:30:00Z",
  since: "2026-12-03T09:30:00Z",
  per_hour: [
    { hour: "2026-12-04T07:00:00Z", incoming: 3, outgoing: 0 },
    { hour: "2026-12-04T08:00:00Z", incoming: 2, outgoing: 1 },
  ],
  latency: [
    { hour: "2026-12-04T07:00:00Z", count: 3, p50_seconds: 4, p95_seconds: 9.5 },
    { hour: "2026-12-04T08:00:00Z", count: 2, p50_seconds: 2, p95_seconds: 3 },
  ],
  failures: [
    { source: "cycle", code: "mail.timeout", count: 2 },
    { source: "email", code: "email.delivery_attempts_exhausted", count: 1 },
    { source: "message", code: "sync.item.too_large", count: 1 },
    { source: "message", code: "mail.timeout", count: 1 },
  ],
  mailboxes: [
    { state: "enabled", count: 2 },
    { state: "inactive", count: 1 },
    { state: "not_enabled", count: 1 },
  ],
  backlog: { pending_send: 2, sending: 1, failed_emails: 1, possible_duplicates: 1, overdue_workloads: 0 },
};

let calls: { cmd: string; args: Record<string, unknown> }[] = [];
let answer: MonitoringSummary = SUMMARY;

beforeEach(() => {
  setLang("en");
  calls = [];
  drawn.length = 0;
  answer = SUMMARY;
  mockIPC(
    (cmd, args) => {
      calls.push({ cmd, args: args as Record<string, unknown> });
      if (cmd === "monitoring_summary") return answer;
      throw new Error(`unexpected command ${cmd}`);
    },
    { shouldMockEvents: true },
  );
});

afterEach(() => {
  cleanup();
  clearMocks();
});

const box = (id: string) => screen.getByTestId(id);
const chartTitled = (title: string) => drawn.find((d) => d.config.data.datasets.some((s) => s.label === title))!;
const sum = (xs: (number | null)[]) => xs.reduce<number>((n, x) => n + (x ?? 0), 0);

async function open() {
  render(() => <MonitoringPage />);
  await waitFor(() => expect(box("chart-per-hour").getAttribute("data-incoming-total")).toBe("5"));
}

describe("the Monitoring dashboard", () => {
  it("writes the totals each chart shows on its box, and says them", async () => {
    await open();
    expect(calls.filter((c) => c.cmd === "monitoring_summary").map((c) => c.args)).toEqual([{ hours: 24 }]);
    expect(box("chart-per-hour").getAttribute("data-outgoing-total")).toBe("1");
    expect(box("incoming-total").textContent).toBe("5");
    expect(box("outgoing-total").textContent).toBe("1");
    const backlog = box("chart-backlog");
    expect(backlog.getAttribute("data-pending-send")).toBe("2");
    expect(backlog.getAttribute("data-sending")).toBe("1");
    expect(backlog.getAttribute("data-failed-emails")).toBe("1");
    expect(backlog.getAttribute("data-overdue-workloads")).toBe("0");
    expect(backlog.getAttribute("data-possible-duplicates")).toBe("1");
    expect(backlog.textContent).toContain("Pending Send: 2");
    expect(box("chart-latency").getAttribute("data-latency-count")).toBe("5");
    expect(box("chart-latency").getAttribute("data-p95-max")).toBe("9.5");
    const failures = box("chart-failures");
    expect(failures.getAttribute("data-failures-total")).toBe("5");
    expect(failures.getAttribute("data-failure-codes")).toBe("mail.timeout email.delivery_attempts_exhausted sync.item.too_large");
    expect(failures.textContent).toContain("Failures: 5");
    const mailboxes = box("chart-mailboxes");
    expect(mailboxes.getAttribute("data-enabled-mailboxes")).toBe("2");
    expect(mailboxes.getAttribute("data-not-enabled-mailboxes")).toBe("1");
    expect(mailboxes.getAttribute("data-inactive-mailboxes")).toBe("1");
    expect(mailboxes.getAttribute("data-disabled-mailboxes")).toBe("0");
    expect(mailboxes.getAttribute("data-mailboxes-total")).toBe("4");
    expect(mailboxes.textContent).toContain("Total: 4");
  });

  it("gives each chart the summary's figures: every hour of the period, the backlog, the latency, failures by code, mailboxes by state", async () => {
    await open();
    await waitFor(() => expect(drawn.length).toBe(5));
    const perHour = chartTitled("Incoming (tracked)").config;
    expect(perHour.type).toBe("bar");
    expect(perHour.data.labels!.length).toBe(25);
    expect(sum(perHour.data.datasets[0].data)).toBe(5);
    expect(sum(perHour.data.datasets[1].data)).toBe(1);
    expect(chartTitled("Backlog").config.data.datasets[0].data).toEqual([2, 1, 1, 0]);
    const latency = chartTitled("95th percentile (p95)").config;
    expect(latency.type).toBe("line");
    expect(latency.data.datasets[1].data.filter((x) => x !== null)).toEqual([9.5, 3]);
    const failures = chartTitled("Synchronization cycle").config;
    expect(failures.data.labels).toEqual(["mail.timeout", "email.delivery_attempts_exhausted", "sync.item.too_large"]);
    expect(failures.data.datasets.map((d) => [d.label, d.data])).toEqual([
      ["Synchronization cycle", [2, 0, 0]],
      ["Incoming message", [1, 0, 1]],
      ["Email to send", [0, 1, 0]],
    ]);
    expect((failures.options as { indexAxis?: string }).indexAxis).toBe("y");
    const tooltip = (failures.options as { plugins: { tooltip: { callbacks: { title: (i: unknown[]) => string; footer: (i: unknown[]) => string[] } } } }).plugins.tooltip.callbacks;
    expect(tooltip.title([{ dataIndex: 0 }])).toBe("mail.timeout");
    expect(tooltip.footer([{ dataIndex: 0 }]).join(" ")).toContain("The email server … did not answer within … seconds.");
    const doughnut = drawn.find((d) => d.config.type === "doughnut")!.config;
    expect(doughnut.data.labels).toEqual(["Enabled", "Disabled by a failure", "Not enabled yet", "Not synchronized", "Inactive"]);
    expect(doughnut.data.datasets[0].data).toEqual([2, 0, 1, 0, 1]);
    // A code's words are on the page too, on hover.
    expect(document.querySelector('[data-testid="failure-code"][data-code="sync.item.too_large"]')!.getAttribute("title")).toContain("over the … MB limit");
  });

  it("reads the last 7 days when asked, and again when a cycle ends or a job changes", async () => {
    await open();
    fireEvent.click(screen.getByTestId("monitoring-window-168"));
    await waitFor(() => expect(calls.filter((c) => c.cmd === "monitoring_summary").map((c) => c.args)).toEqual([{ hours: 24 }, { hours: 168 }]));
    expect(screen.getByTestId("monitoring-page").getAttribute("data-hours")).toBe("168");
    expect(screen.getByTestId("monitoring-window-168").getAttribute("aria-pressed")).toBe("true");
    await new Promise((r) => setTimeout(r, 20)); // the listeners are registered asynchronously
    answer = { ...SUMMARY, per_hour: [...SUMMARY.per_hour, { hour: "2026-12-04T09:00:00Z", incoming: 4, outgoing: 2 }] };
    await emit("job-changed", { id: 3 });
    await waitFor(() => expect(calls.filter((c) => c.cmd === "monitoring_summary").length).toBe(3));
    expect(calls[2].args).toEqual({ hours: 168 });
    // The boxes and the charts show the new figures.
    await waitFor(() => expect(box("chart-per-hour").getAttribute("data-incoming-total")).toBe("9"));
    expect(box("chart-per-hour").getAttribute("data-outgoing-total")).toBe("3");
    expect(sum(chartTitled("Incoming (tracked)").config.data.datasets[0].data)).toBe(9);
  });

  it("words the dashboard in the user's language", async () => {
    setLang("ja");
    await open();
    expect(box("chart-mailboxes").textContent).toContain("有効: 2");
    expect(screen.getByTestId("monitoring-window-24").textContent).toBe("過去 24 時間");
  });
});

describe("the dashboard's figures", () => {
  it("counts every hour of the period, an hour with nothing as zero", () => {
    expect(hoursOf({ since: "2026-12-04T07:10:00Z", generated_on: "2026-12-04T09:05:00Z" })).toEqual([
      "2026-12-04T07:00:00Z", "2026-12-04T08:00:00Z", "2026-12-04T09:00:00Z",
    ]);
    const s = { ...SUMMARY, since: "2026-12-04T06:30:00Z" };
    expect(perHourSeries(s)).toEqual({
      hours: ["2026-12-04T06:00:00Z", "2026-12-04T07:00:00Z", "2026-12-04T08:00:00Z", "2026-12-04T09:00:00Z"],
      incoming: [0, 3, 2, 0],
      outgoing: [0, 0, 1, 0],
    });
    expect(latencySeries(s).p50).toEqual([null, 4, 2, null]);
  });

  it("totals the summary", () => {
    const t = totalsOf(SUMMARY);
    expect([t.incoming, t.outgoing, t.latencyCount, t.failures, t.failureCodes]).toEqual([5, 1, 5, 5, 3]);
    expect(t.mailboxes).toEqual({ enabled: 2, disabled: 0, not_enabled: 1, not_synchronized: 0, inactive: 1, total: 4 });
  });
});
