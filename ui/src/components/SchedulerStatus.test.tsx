import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cleanup, render, screen, waitFor } from "@solidjs/testing-library";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import { SchedulerIndicator, refreshSchedulerStatus } from "./SchedulerStatus";
import { setLang } from "../i18n";

const RUNNING = {
  running: true, started_on: "2026-12-04T09:00:00Z", active: 2, cycles: 1234, failures: 3, last_cycle_on: "2026-12-04T09:10:00Z",
  next_due_on: null as string | null,
};

let answer: typeof RUNNING | { running: false; started_on: null; active: 0; cycles: 0; failures: 0; last_cycle_on: null; next_due_on: null };
let reads = 0;

beforeEach(() => {
  setLang("en");
  reads = 0;
  answer = { ...RUNNING, next_due_on: new Date(Date.now() + 90_000).toISOString() };
  mockIPC(
    (cmd) => {
      if (cmd === "scheduler_status") {
        reads++;
        return answer;
      }
      throw new Error(`unexpected command ${cmd}`);
    },
    { shouldMockEvents: true },
  );
});

afterEach(() => {
  cleanup();
  clearMocks();
});

const status = () => screen.getByTestId("scheduler-status");

describe("the synchronization indicator", () => {
  it("says the scheduler runs, the cycles running now, when the next is due, and the cycles and failures since it started", async () => {
    render(() => <SchedulerIndicator />);
    await waitFor(() => expect(status().getAttribute("data-running")).toBe("true"));
    expect(status().getAttribute("data-active")).toBe("2");
    expect(status().getAttribute("data-cycles")).toBe("1234");
    expect(status().getAttribute("data-failures")).toBe("3");
    expect(screen.getByTestId("scheduler-running").textContent).toBe("Running in this app");
    expect(screen.getByTestId("scheduler-active").textContent).toBe("Cycles running now: 2");
    expect(screen.getByTestId("scheduler-next").textContent).toMatch(/^Next cycle in (1 minute|2 minutes|90 seconds|89 seconds)$/);
    expect(screen.getByTestId("scheduler-cycles").textContent).toBe("Cycles since start: 1,234");
    expect(screen.getByTestId("scheduler-failures").textContent).toBe("Failures since start: 3");
  });

  it("says when nothing is scheduled or a workload is already due", async () => {
    answer = { ...RUNNING, next_due_on: null };
    render(() => <SchedulerIndicator />);
    await waitFor(() => expect(screen.getByTestId("scheduler-next").textContent).toBe("No workload scheduled"));
    answer = { ...RUNNING, next_due_on: "2026-01-01T00:00:00Z" };
    await refreshSchedulerStatus();
    await waitFor(() => expect(screen.getByTestId("scheduler-next").textContent).toBe("Next cycle: now"));
  });

  it("says when the scheduler is off in this window, in the user's language", async () => {
    setLang("vi");
    answer = { running: false, started_on: null, active: 0, cycles: 0, failures: 0, last_cycle_on: null, next_due_on: null };
    render(() => <SchedulerIndicator />);
    await waitFor(() => expect(status().getAttribute("data-running")).toBe("false"));
    expect(screen.getByTestId("scheduler-off").textContent).toBe("Đang tắt trong ứng dụng này");
    expect(screen.queryByTestId("scheduler-active")).toBeNull();
  });

  it("reads the status again as soon as a cycle ends", async () => {
    render(() => <SchedulerIndicator />);
    await waitFor(() => expect(status().getAttribute("data-cycles")).toBe("1234"));
    const before = reads;
    answer = { ...answer, cycles: 1235, active: 1 } as typeof RUNNING;
    await new Promise((r) => setTimeout(r, 20)); // the listener is registered asynchronously
    await emit("sync-changed", { mailbox_id: 1 });
    await waitFor(() => expect(status().getAttribute("data-cycles")).toBe("1235"));
    expect(reads).toBeGreaterThan(before);
  });
});
