import { afterEach, describe, expect, it } from "vitest";
import { cleanup, render, waitFor } from "@solidjs/testing-library";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import { JobPanel, followJob } from "./JobPanel";
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
    await waitFor(() => expect(document.querySelector('[data-testid="job-progress"]')!.textContent).toBe("0 of 2 mailboxes tested"));
    await waitFor(() => expect(document.querySelector('[data-mailbox="Bob"]')!.getAttribute("data-state")).toBe("failure"));
    expect(document.querySelector('[data-mailbox="Ann"]')!.getAttribute("data-state")).toBe("success");
    expect(document.querySelector('[data-mailbox="Bob"] .reason')!.textContent).toContain("is not approved");
    expect(document.querySelector('[data-testid="job-progress"]')!.textContent).toBe("2 of 2 mailboxes tested");
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
});
