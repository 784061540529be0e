import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@solidjs/testing-library";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import { JobPanel, currentJob, followJob, resetJobPanel } from "./JobPanel";
import type { JobDto_Serialize } from "../api";
import { setLang } from "../i18n";

const job = (state: string, items: [string, string, string][]): JobDto_Serialize => ({
  id: 1, kind: "test_and_enable", profile_id: null, state, created_on: "", started_on: "", completed_on: null,
  items: items.map(([name, s, code], i) => ({ mailbox_id: i + 1, mailbox_name: name, state: s, error_code: code, error_params: { mailbox: name } })),
  done: items.filter(([, s]) => s !== "pending" && s !== "testing").length,
  total: items.length,
  finished: state !== "running" && state !== "queued" && !items.some(([, s]) => s === "testing"),
}) as unknown as JobDto_Serialize;

afterEach(() => {
  cleanup();
  clearMocks();
  resetJobPanel();
});

describe("the Test & Enable panel", () => {
  it("follows the job mailbox by mailbox until it ends", async () => {
    setLang("en");
    const answers = [
      job("running", [["Ann", "success", ""], ["Bob", "testing", ""]]),
      job("failed", [["Ann", "success", ""], ["Bob", "failure", "mailbox.not_approved"]]),
    ];
    let n = 0;
    mockIPC((cmd) => {
      if (cmd === "get_job") return answers[Math.min(n++, answers.length - 1)];
      throw new Error(cmd);
    });
    render(() => <JobPanel />);
    followJob(job("running", [["Ann", "pending", ""], ["Bob", "pending", ""]]), 10);
    await waitFor(() => expect(document.querySelector('[data-testid="job-progress"]')!.textContent).toBe("Mailboxes tested: 0 of 2"));
    await waitFor(() => expect(document.querySelector('[data-mailbox="Bob"]')!.getAttribute("data-state")).toBe("failure"));
    expect(document.querySelector('[data-mailbox="Ann"]')!.getAttribute("data-state")).toBe("success");
    expect(document.querySelector('[data-mailbox="Bob"] .reason')!.textContent).toContain("is not approved");
    expect(document.querySelector('[data-testid="job-progress"]')!.textContent).toBe("Mailboxes tested: 2 of 2");
  });

  it("reads the job again as soon as the engine says it changed, without waiting for the poll", async () => {
    setLang("en");
    let answer = job("running", [["Ann", "testing", ""]]);
    let reads = 0;
    mockIPC(
      (cmd) => {
        if (cmd === "get_job") {
          reads++;
          return answer;
        }
        throw new Error(cmd);
      },
      { shouldMockEvents: true },
    );
    render(() => <JobPanel />);
    followJob(job("running", [["Ann", "pending", ""]]), 600_000); // the poll never fires here
    await waitFor(() => expect(document.querySelector('[data-mailbox="Ann"]')!.getAttribute("data-state")).toBe("testing"));
    const before = reads;
    answer = job("succeeded", [["Ann", "success", ""]]);
    await new Promise((r) => setTimeout(r, 20)); // the listener is registered asynchronously
    await emit("job-changed", { id: 1 });
    await waitFor(() => expect(document.querySelector('[data-mailbox="Ann"]')!.getAttribute("data-state")).toBe("success"));
    expect(reads).toBeGreaterThan(before);
  });

  it("docks at the bottom of the page area and folds to one line, keeping the job's progress", async () => {
    setLang("en");
    mockIPC((cmd) => {
      if (cmd === "get_job") return job("running", [["Ann", "testing", ""], ["Bob", "pending", ""]]);
      throw new Error(cmd);
    });
    render(() => <JobPanel />);
    followJob(job("running", [["Ann", "pending", ""], ["Bob", "pending", ""]]), 600_000);
    await waitFor(() => expect(screen.getByTestId("job-panel")).toBeTruthy());
    expect(screen.getByTestId("job-panel").closest(".job-dock")).not.toBeNull();
    const minimise = screen.getByTestId("job-panel-minimise");
    expect(minimise.getAttribute("aria-expanded")).toBe("true");
    expect(minimise.textContent).toBe("Minimise");
    const body = document.getElementById(minimise.getAttribute("aria-controls")!)!;
    expect(body.contains(screen.getAllByTestId("job-item")[0])).toBe(true);
    expect(body.hidden).toBe(false);
    fireEvent.click(minimise);
    expect(minimise.getAttribute("aria-expanded")).toBe("false");
    expect(minimise.textContent).toBe("Restore");
    expect(body.hidden).toBe(true);
    expect(screen.getByTestId("job-panel").getAttribute("data-minimised")).toBe("true");
    expect(screen.getByTestId("job-progress").textContent).toBe("Mailboxes tested: 0 of 2");
    fireEvent.click(minimise);
    expect(minimise.getAttribute("aria-expanded")).toBe("true");
    expect(body.hidden).toBe(false);
  });

  it("leaves a notification when the job ends, which stays after the panel is closed and reopens its results", async () => {
    setLang("en");
    let answer = job("running", [["Ann", "testing", ""], ["Bob", "pending", ""]]);
    mockIPC((cmd) => {
      if (cmd === "get_job") return answer;
      throw new Error(cmd);
    });
    render(() => <JobPanel />);
    followJob(job("running", [["Ann", "pending", ""], ["Bob", "pending", ""]]), 10);
    await waitFor(() => expect(document.querySelector('[data-mailbox="Ann"]')!.getAttribute("data-state")).toBe("testing"));
    // Closed while it runs: the job is still followed.
    fireEvent.click(screen.getByTestId("job-panel-close"));
    expect(screen.queryByTestId("job-panel")).toBeNull();
    expect(screen.queryByTestId("job-notification")).toBeNull();
    answer = job("failed", [["Ann", "success", ""], ["Bob", "failure", "mailbox.not_approved"]]);
    const note = await waitFor(() => screen.getByTestId("job-notification"));
    expect(currentJob()?.finished).toBe(true);
    expect(note.getAttribute("role")).toBe("status");
    expect(note.textContent).toContain("Test & Enable finished: 1 succeeded, 1 failed.");
    expect(screen.queryByTestId("job-panel")).toBeNull();
    // The notification opens the panel on that job's items.
    fireEvent.click(screen.getByTestId("job-notification-open"));
    expect(screen.getByTestId("job-panel").getAttribute("data-state")).toBe("failed");
    expect(document.querySelector('[data-mailbox="Bob"]')!.getAttribute("data-state")).toBe("failure");
    expect(screen.getByTestId("job-progress").textContent).toBe("Mailboxes tested: 2 of 2");
    // It is not repeated while the panel shows the job, and comes back when the panel closes.
    expect(screen.queryByTestId("job-notification")).toBeNull();
    fireEvent.click(screen.getByTestId("job-panel-close"));
    expect(screen.getByTestId("job-notification")).toBeTruthy();
    fireEvent.click(screen.getByTestId("job-notification-dismiss"));
    expect(screen.queryByTestId("job-notification")).toBeNull();
    expect(screen.queryByTestId("job-dock")).toBeNull();
  });

  it("keeps the notification of a finished job while a new job runs, and opens either", async () => {
    setLang("en");
    const second = { ...job("running", [["Cy", "testing", ""]]), id: 2 } as JobDto_Serialize;
    mockIPC((cmd, args) => {
      if (cmd === "get_job") return (args as { id: number }).id === 1 ? job("succeeded", [["Ann", "success", ""]]) : second;
      throw new Error(cmd);
    });
    render(() => <JobPanel />);
    followJob(job("running", [["Ann", "pending", ""]]), 600_000);
    await waitFor(() => expect(document.querySelector('[data-mailbox="Ann"]')!.getAttribute("data-state")).toBe("success"));
    followJob(second, 600_000);
    await waitFor(() => expect(screen.getByTestId("job-notification").getAttribute("data-job")).toBe("1"));
    expect(screen.getByTestId("job-panel").getAttribute("data-job")).toBe("2");
    fireEvent.click(screen.getByTestId("job-notification-open"));
    expect(screen.getByTestId("job-panel").getAttribute("data-job")).toBe("1");
    expect(document.querySelector('[data-mailbox="Ann"]')).not.toBeNull();
    expect(document.querySelector('[data-mailbox="Cy"]')).toBeNull();
    // The running job is still the one followed.
    expect(currentJob()?.id).toBe(2);
  });
});
