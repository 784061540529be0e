import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@solidjs/testing-library";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import { MailboxForm } from "./MailboxForm";
import { formatRelative, setLang } from "../../i18n";
import type { MailboxId } from "../../api";
import catalog from "../../bindings/catalog.json";

const MAILBOX = {
  id: 1, name: "Nancy Anderson", kind: "user", owner_user_id: 7, email_address: "nancy@contoso.com", delete_after_processing: false, user_id: 7,
  queue_id: null, is_forward_mailbox: false, allow_credentials: true, user_name: "nancy", is_password_set: true, profile_id: 1,
  incoming_method: "server_side_sync", outgoing_method: "server_side_sync", act_method: "none", incoming_status: "success",
  outgoing_status: "failure", act_status: "not_run", test_completed_on: "2026-12-04T08:00:00Z", test_and_enable_last_attempted_on: null,
  email_address_status: "approved", approved_by_user_id: null, approved_by_administrator: true, approved_on: null, enabled_for_incoming: true,
  enabled_for_outgoing: false, enabled_for_act: false, process_email_received_after: null, state: "active", transient_failure_count: 0,
  last_sync_error_code: "", last_sync_error_on: null, created_on: "", modified_on: "",
};

const schedule = (workload: string, extra: Record<string, unknown> = {}) => ({
  mailbox_id: 1, workload, next_run_on: null, last_started_on: null, last_completed_on: null, last_success_on: null, transient_failures: 0,
  idle_cycles: 0, items_processed: 0, items_failed: 0, last_error_code: "", last_error_params: {}, last_error_on: null, lease_holder: null,
  lease_expires_on: null, ...extra,
});

const inAMinute = () => new Date(Date.now() + 60_000).toISOString();

let calls: { cmd: string; args: Record<string, unknown> }[] = [];
let workloads: ReturnType<typeof schedule>[] = [];

beforeEach(() => {
  setLang("en");
  calls = [];
  workloads = [
    schedule("incoming", {
      last_completed_on: "2026-12-04T09:01:00Z", items_processed: 1234, items_failed: 2, transient_failures: 3,
      last_error_code: "mail.timeout", last_error_params: { host: "imap.contoso.com", seconds: "30", consequence: "retry" },
      last_error_on: "2026-12-04T09:00:30Z", lease_holder: "desktop:host:4242", lease_expires_on: inAMinute(),
    }),
    schedule("outgoing", { next_run_on: inAMinute(), last_error_code: "mail.auth.failed", last_error_params: { host: "smtp.contoso.com" } }),
  ];
  mockIPC(
    (cmd, args) => {
      const a = args as Record<string, unknown>;
      calls.push({ cmd, args: a });
      if (cmd === "get_mailbox") return MAILBOX;
      if (cmd === "list_profiles") return [];
      if (cmd === "form_catalog") return catalog;
      if (cmd === "list_alerts") return [];
      if (cmd === "get_sync_state") return {
        uid_validity: 1, last_uid: 40, highest_modseq: null, uid_next: 41, process_from: null, last_sync_started_on: null,
        last_sync_completed_on: null, items_processed_last_sync: 0, items_failed_last_sync: 0, no_email_count: 0,
      };
      if (cmd === "list_item_outcomes") return [];
      if (cmd === "get_mailbox_schedule") return workloads;
      if (cmd === "list_sync_runs") return [
        { mailbox_id: 1, workload: "incoming", started_on: "2026-12-04T09:00:00Z", completed_on: "2026-12-04T09:00:30Z", outcome: "transient",
          items: 0, failed_items: 0, error_code: "mail.timeout", runner: "desktop:host:4242" },
        { mailbox_id: 1, workload: "incoming", started_on: "2026-12-04T08:50:00Z", completed_on: "2026-12-04T08:50:02Z", outcome: "success",
          items: 5, failed_items: 1, error_code: "", runner: "serve:srv:77" },
      ];
      if (cmd === "export_mailbox_details") return "/home/ann/Downloads/Nancy Anderson sync details.csv";
      throw new Error(`unexpected command ${cmd}`);
    },
    { shouldMockEvents: true },
  );
});

afterEach(() => {
  cleanup();
  clearMocks();
});

const rowOf = (w: string) => document.querySelector(`[data-testid="schedule-row"][data-workload="${w}"]`)!;
const cell = (w: string, id: string) => rowOf(w).querySelector(`[data-testid="${id}"]`)!.textContent;

async function open() {
  render(() => <MailboxForm id={1 as MailboxId} onClose={() => {}} />);
  await waitFor(() => expect(document.querySelectorAll('[data-testid="schedule-row"]').length).toBe(2));
}

describe("the mailbox form's Synchronization section", () => {
  it("says when each workload last ran and runs next, what its last cycle did, and its last error in words", async () => {
    await open();
    expect(calls.find((c) => c.cmd === "get_mailbox_schedule")!.args).toEqual({ id: 1 });
    // Incoming: enabled, due as soon as possible, a cycle running now.
    expect(rowOf("incoming").getAttribute("data-next")).toBe("asap");
    expect(cell("incoming", "schedule-next-sync")).toBe("As soon as possible");
    // How long ago, in words; the date and time itself in the title.
    expect(cell("incoming", "schedule-last-sync")).toBe(formatRelative("2026-12-04T09:01:00Z"));
    expect(rowOf("incoming").querySelector('[data-testid="schedule-last-sync"]')!.getAttribute("title")).toMatch(/2026/);
    expect(cell("incoming", "schedule-items-processed")).toBe("1,234");
    expect(cell("incoming", "schedule-items-failed")).toBe("2");
    expect(cell("incoming", "schedule-transient-failures")).toBe("3");
    expect(rowOf("incoming").getAttribute("data-running")).toBe("true");
    expect(cell("incoming", "schedule-running")).toBe("Yes (desktop:host:4242)");
    expect(rowOf("incoming").querySelector('[data-testid="schedule-last-error"] .reason')!.textContent)
      .toBe("The email server imap.contoso.com did not answer within 30 seconds. The system will try again later; if this goes on, check that the server is reachable and raise the profile's timeout.");
    // Outgoing: not enabled, so it does not run, whatever its schedule says.
    expect(rowOf("outgoing").getAttribute("data-next")).toBe("disabled");
    expect(cell("outgoing", "schedule-next-sync")).toBe("Disabled — run Test & Enable");
    expect(cell("outgoing", "schedule-last-sync")).toBe("Never");
    expect(rowOf("outgoing").getAttribute("data-running")).toBe("false");
    expect(cell("outgoing", "schedule-last-error")).toContain("refused the user name or password");
  });

  it("shows the time of the next sync of an enabled workload, and says when a workload is not synchronized here", async () => {
    const next = inAMinute();
    workloads = [schedule("incoming", { next_run_on: next }), schedule("outgoing")];
    mockIPC((cmd, args) => {
      if (cmd === "get_mailbox") return { ...MAILBOX, outgoing_method: "none" };
      if (cmd === "get_mailbox_schedule") return workloads;
      if (cmd === "list_sync_runs") return [];
      if (cmd === "form_catalog") return catalog;
      if (["list_profiles", "list_alerts", "list_item_outcomes"].includes(cmd)) return [];
      if (cmd === "get_sync_state") return null;
      throw new Error(`unexpected command ${cmd} ${JSON.stringify(args)}`);
    });
    await open();
    expect(rowOf("incoming").getAttribute("data-next")).toBe("scheduled");
    expect(cell("incoming", "schedule-next-sync")).toMatch(/\d/);
    expect(rowOf("outgoing").getAttribute("data-next")).toBe("not_configured");
    expect(cell("outgoing", "schedule-next-sync")).toBe("Not synchronized by server-side synchronization");
    expect(screen.getByTestId("sync-runs-empty").textContent).toBe("No cycle has run yet.");
  });

  it("lists the latest cycles with their outcome and error", async () => {
    await open();
    await waitFor(() => expect(document.querySelectorAll('[data-testid="sync-run"]').length).toBe(2));
    expect(calls.find((c) => c.cmd === "list_sync_runs")!.args).toEqual({ id: 1, limit: 20 });
    const [failed, ok] = [...document.querySelectorAll('[data-testid="sync-run"]')];
    expect(failed.getAttribute("data-outcome")).toBe("transient");
    expect(failed.textContent).toContain("Transient failure");
    // The history keeps the code, not its parameters: the words leave the gaps visible.
    expect(failed.textContent).toContain("The email server … did not answer within … seconds.");
    expect(ok.getAttribute("data-items")).toBe("5");
    expect(ok.textContent).toContain("Success");
  });

  it("downloads the mailbox details in the user's language and says where they were saved", async () => {
    setLang("fr");
    await open();
    expect(screen.getByTestId("download-mailbox-details").textContent).toBe("Télécharger les détails de la boîte aux lettres");
    expect(cell("outgoing", "schedule-next-sync")).toBe("Désactivée — exécutez Tester et activer");
    fireEvent.click(screen.getByTestId("download-mailbox-details"));
    const saved = await screen.findByTestId("mailbox-details-path");
    expect(calls.find((c) => c.cmd === "export_mailbox_details")!.args).toEqual({ id: 1, lang: "fr" });
    expect(saved.getAttribute("data-path")).toBe("/home/ann/Downloads/Nancy Anderson sync details.csv");
    expect(saved.textContent).toBe("Enregistré dans /home/ann/Downloads/Nancy Anderson sync details.csv");
  });

  it("reads the schedule again when a cycle of this mailbox ends, not another's", async () => {
    await open();
    const reads = () => calls.filter((c) => c.cmd === "get_mailbox_schedule").length;
    const before = reads();
    await new Promise((r) => setTimeout(r, 20)); // the listener is registered asynchronously
    await emit("sync-changed", { mailbox_id: 2 });
    await new Promise((r) => setTimeout(r, 20));
    expect(reads()).toBe(before);
    workloads = [schedule("incoming", { last_completed_on: "2026-12-04T09:05:00Z", items_processed: 7 }), schedule("outgoing")];
    await emit("sync-changed", { mailbox_id: 1 });
    await waitFor(() => expect(cell("incoming", "schedule-items-processed")).toBe("7"));
    expect(rowOf("incoming").getAttribute("data-running")).toBe("false");
    expect(cell("incoming", "schedule-last-error")).toBe("—");
  });
});
