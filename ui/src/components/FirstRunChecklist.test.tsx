import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@solidjs/testing-library";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { createSignal } from "solid-js";
import { COMPLETED_KEY, DISMISSED_KEY, FirstRunChecklist } from "./FirstRunChecklist";
import { followJob, resetJobPanel } from "./JobPanel";
import { setLang } from "../i18n";
import type { Page } from "../App";

type Engine = {
  profiles: unknown[];
  default_profile_id: number | null;
  users: unknown[];
  queues: unknown[];
  mailboxes: { email_address_status: string; incoming_status: string; outgoing_status: string }[];
};
const EMPTY: Engine = { profiles: [], default_profile_id: null, users: [], queues: [], mailboxes: [] };
const mailbox = (email_address_status: string, incoming_status = "not_run", outgoing_status = "not_run") =>
  ({ email_address_status, incoming_status, outgoing_status });

const JOB = {
  id: 7, kind: "test_and_enable", profile_id: null, state: "running", created_on: "", started_on: null, completed_on: null,
  items: [], done: 0, total: 1, finished: false,
};

let engine: Engine;
let calls: string[];

beforeEach(() => {
  setLang("en");
  localStorage.clear();
  engine = { ...EMPTY };
  calls = [];
  mockIPC((cmd, args) => {
    calls.push(cmd);
    switch (cmd) {
      case "list_profiles":
        expect((args as { view: string }).view).toBe("active");
        return engine.profiles;
      case "get_settings":
        return { id: 1, default_profile_id: engine.default_profile_id };
      case "first_run_progress":
        // What the engine's query answers for this organisation.
        return {
          profile: engine.profiles.length > 0,
          default_profile: engine.default_profile_id !== null,
          users_or_queues: engine.users.length + engine.queues.length > 0,
          approved: engine.mailboxes.some((m) => m.email_address_status === "approved"),
          enabled: engine.mailboxes.some((m) => m.incoming_status === "success" || m.outgoing_status === "success"),
        };
      case "get_job":
        return { ...JOB, state: "succeeded", finished: true, done: 1 };
    }
    throw new Error(`unexpected command ${cmd}`);
  });
});

afterEach(() => {
  cleanup();
  clearMocks();
  localStorage.clear();
  resetJobPanel();
});

const done = () => [1, 2, 3, 4, 5].map((n) => screen.getByTestId(`checklist-step-${n}`).getAttribute("data-done"));

describe("the first-run checklist", () => {
  it("shows the five steps, none done, on an empty engine, each a link to its page", async () => {
    const went: Page[] = [];
    render(() => <FirstRunChecklist onGo={(p) => went.push(p)} />);
    await waitFor(() => expect(screen.getByTestId("first-run-checklist")).toBeTruthy());
    expect(done()).toEqual(["false", "false", "false", "false", "false"]);
    expect(screen.getByTestId("first-run-progress").textContent).toBe("0 of 5 steps done");
    expect(screen.getByTestId("checklist-step-1").textContent).toContain("Create an email server profile");
    for (const n of [1, 2, 3, 4, 5]) fireEvent.click(screen.getByTestId(`checklist-step-${n}`).querySelector("button")!);
    expect(went).toEqual(["profiles", "profiles", "principals", "mailboxes", "mailboxes"]);
  });

  it("ticks each step from what the engine holds", async () => {
    engine = {
      profiles: [{ id: 1 }],
      default_profile_id: 1,
      users: [],
      queues: [{ id: 4 }],
      mailboxes: [mailbox("pending_approval"), mailbox("approved")],
    };
    render(() => <FirstRunChecklist onGo={() => {}} />);
    await waitFor(() => expect(screen.getByTestId("first-run-checklist")).toBeTruthy());
    expect(done()).toEqual(["true", "true", "true", "true", "false"]);
    expect(screen.getByTestId("first-run-progress").textContent).toBe("4 of 5 steps done");
    expect(screen.getByTestId("checklist-step-5").querySelector(".tick")!.getAttribute("aria-label")).toBe("To do");
    expect(screen.getByTestId("checklist-step-1").querySelector(".tick")!.getAttribute("aria-label")).toBe("Done");
  });

  it("reads the steps again when its refresh key changes", async () => {
    const [key, setKey] = createSignal<Page>("profiles");
    render(() => <FirstRunChecklist onGo={() => {}} refreshKey={key()} />);
    await waitFor(() => expect(screen.getByTestId("checklist-step-1").getAttribute("data-done")).toBe("false"));
    engine = { ...EMPTY, profiles: [{ id: 1 }], users: [{ id: 2 }], mailboxes: [mailbox("approved", "failure", "success")] };
    setKey("settings");
    await waitFor(() => expect(done()).toEqual(["true", "false", "true", "true", "true"]));
  });

  it("reads the steps again when a Test & Enable job ends", async () => {
    engine = { ...EMPTY, profiles: [{ id: 1 }], default_profile_id: 1, users: [{ id: 2 }], mailboxes: [mailbox("approved")] };
    render(() => <FirstRunChecklist onGo={() => {}} />);
    await waitFor(() => expect(screen.getByTestId("checklist-step-4").getAttribute("data-done")).toBe("true"));
    expect(screen.getByTestId("checklist-step-5").getAttribute("data-done")).toBe("false");
    engine = { ...engine, mailboxes: [mailbox("approved", "success", "success")] };
    followJob(JOB as never, 600_000);
    // Every step is done: the checklist leaves.
    await waitFor(() => expect(screen.queryByTestId("first-run-checklist")).toBeNull());
    expect(localStorage.getItem(COMPLETED_KEY)).toBe("1");
  });

  it("can be dismissed, and stays dismissed without asking the engine", async () => {
    render(() => <FirstRunChecklist onGo={() => {}} />);
    await waitFor(() => expect(screen.getByTestId("first-run-checklist")).toBeTruthy());
    fireEvent.click(screen.getByTestId("first-run-dismiss"));
    expect(screen.queryByTestId("first-run-checklist")).toBeNull();
    expect(localStorage.getItem(DISMISSED_KEY)).toBe("1");
    cleanup();
    calls = [];
    render(() => <FirstRunChecklist onGo={() => {}} />);
    await new Promise((r) => setTimeout(r, 20));
    expect(screen.queryByTestId("first-run-checklist")).toBeNull();
    expect(calls).toEqual([]);
  });

  it("hides itself once every step is done, for good", async () => {
    engine = {
      profiles: [{ id: 1 }],
      default_profile_id: 1,
      users: [{ id: 2 }],
      queues: [],
      mailboxes: [mailbox("approved", "success", "not_run")],
    };
    render(() => <FirstRunChecklist onGo={() => {}} />);
    await waitFor(() => expect(localStorage.getItem(COMPLETED_KEY)).toBe("1"));
    expect(screen.queryByTestId("first-run-checklist")).toBeNull();
    cleanup();
    calls = [];
    engine = { ...EMPTY };
    render(() => <FirstRunChecklist onGo={() => {}} />);
    await new Promise((r) => setTimeout(r, 20));
    expect(screen.queryByTestId("first-run-checklist")).toBeNull();
    expect(calls).toEqual([]);
  });

  it("shows nothing when the engine cannot be read", async () => {
    mockIPC(() => {
      throw new Error("no engine");
    });
    render(() => <FirstRunChecklist onGo={() => {}} />);
    await new Promise((r) => setTimeout(r, 20));
    expect(screen.queryByTestId("first-run-checklist")).toBeNull();
  });
});
