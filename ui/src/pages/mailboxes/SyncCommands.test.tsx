import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@solidjs/testing-library";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { MailboxesPage } from "./MailboxesPage";
import { MailboxForm } from "./MailboxForm";
import { setLang } from "../../i18n";
import type { MailboxId } from "../../api";
import catalog from "../../bindings/catalog.json";
import "../../test/viewport";

const mailbox = (id: number, name: string, kind = "user") => ({
  id, name, kind, owner_user_id: null, email_address: `${name.toLowerCase()}@contoso.com`, delete_after_processing: false, user_id: null,
  queue_id: null, is_forward_mailbox: false, allow_credentials: false, user_name: "", is_password_set: false, profile_id: 1,
  incoming_method: "server_side_sync", outgoing_method: "none", act_method: "none", incoming_status: "success", outgoing_status: "not_run",
  act_status: "not_run", test_completed_on: null, test_and_enable_last_attempted_on: null, email_address_status: "approved",
  approved_by_user_id: null, approved_by_administrator: true, approved_on: null, enabled_for_incoming: true, enabled_for_outgoing: false,
  enabled_for_act: false, process_email_received_after: null, state: "active", transient_failure_count: 0, last_sync_error_code: "",
  last_sync_error_on: null, created_on: "", modified_on: "",
});

const item = (subject: string, from: string, result: string, extra: Record<string, unknown> = {}) => ({
  server_ref: `imap:1:${subject.length}`, message_id: `<${subject}@x>`, subject, from, result, code: "", params: {}, activity_id: null,
  accepting: null, accepting_filter: null, correlation: "none", correlated_with: null, parties: [], ...extra,
});

const report = (preview: boolean, counts: Partial<Record<string, number>>, items: unknown[] = []) => ({
  mailbox_id: 1, preview, rescan: null, planned: items.length, tracked: 0, already_tracked: 0, skipped: 0, failed: 0, passed_over: 0,
  moved_to_undeliverable: 0, deleted_from_server: 0, interrupted: false, items, ...counts,
});

let calls: { cmd: string; args: Record<string, unknown> }[] = [];
let syncAnswer: (args: Record<string, unknown>) => unknown;
let release: () => void = () => {};

beforeEach(() => {
  setLang("en");
  calls = [];
  syncAnswer = () => [];
  mockIPC(async (cmd, args) => {
    const a = args as Record<string, unknown>;
    calls.push({ cmd, args: a });
    if (cmd === "list_mailbox_page") return { rows: [mailbox(1, "Ann"), mailbox(2, "Sales", "queue"), mailbox(3, "Bob")], total: 3 };
    if (cmd === "get_user" && a.id === 7) return { id: 7, full_name: "Dana", state: "active" };
    if (cmd === "get_queue" && a.id === 2) return { id: 2, name: "Sales", state: "active" };
    if (cmd === "list_profiles") return [{ id: 1, name: "Contoso IMAP" }];
    if (cmd === "get_settings") return { default_profile_id: 1, default_incoming_method: "server_side_sync", default_outgoing_method: "none", default_act_method: "none" };
    if (cmd === "form_catalog") return catalog;
    if (cmd === "sync_mailboxes") {
      await new Promise<void>((r) => (release = r));
      return syncAnswer(a);
    }
    throw new Error(`unexpected command ${cmd}`);
  });
});

afterEach(() => {
  cleanup();
  clearMocks();
});

const row = (name: string) => document.querySelector(`[data-testid="mailbox-row"][data-name="${name}"]`)!;
const button = (id: string) => screen.getByTestId(id) as HTMLButtonElement;

async function selectAnnAndBob() {
  render(() => <MailboxesPage />);
  await waitFor(() => expect(row("Ann")).not.toBeNull());
  expect(button("cmd-sync-now").disabled).toBe(true);
  expect(button("cmd-preview").disabled).toBe(true);
  fireEvent.click(row("Ann"));
  fireEvent.click(row("Bob"), { ctrlKey: true });
  await waitFor(() => expect(button("cmd-sync-now").disabled).toBe(false));
}

describe("Synchronize now and Preview", () => {
  it("synchronize the selected mailboxes, show busy meanwhile, then each mailbox's counts or its error", async () => {
    syncAnswer = () => [
      { mailbox_id: 1, mailbox_name: "Ann", report: report(false, { tracked: 3, already_tracked: 1, skipped: 2, failed: 0, passed_over: 4 }), error: null },
      { mailbox_id: 3, mailbox_name: "Bob", report: null, error: { kind: "validation", code: "mailbox.incoming.not_enabled", params: { mailbox: "Bob" }, message: "" } },
    ];
    await selectAnnAndBob();
    const listsBefore = calls.filter((c) => c.cmd === "list_mailbox_page").length;
    fireEvent.click(button("cmd-sync-now"));
    await waitFor(() => expect(screen.getByTestId("sync-busy")).toBeTruthy());
    expect(button("cmd-sync-now").disabled).toBe(true);
    expect(button("cmd-preview").disabled).toBe(true);
    const sent = calls.find((c) => c.cmd === "sync_mailboxes")!.args;
    expect(sent.scope).toEqual({ scope: "mailboxes", ids: [1, 3] });
    expect(sent.request).toEqual({ preview: false, max_messages: null });

    release();
    const results = await screen.findByTestId("sync-results");
    expect(screen.queryByTestId("sync-busy")).toBeNull();
    expect(results.getAttribute("data-preview")).toBe("false");
    const ann = results.querySelector('[data-testid="sync-result"][data-mailbox="Ann"]')!;
    const count = (r: string) => ann.querySelector(`[data-testid="count-${r}"]`)!;
    expect(count("tracked").getAttribute("data-count")).toBe("3");
    expect(count("tracked").textContent).toBe("Tracked 3");
    expect(count("already_tracked").textContent).toBe("Already tracked 1");
    expect(count("skipped").textContent).toBe("Skipped 2");
    expect(count("failed").textContent).toBe("Failed 0");
    expect(count("passed_over").textContent).toBe("Passed over 4");
    const bob = results.querySelector('[data-testid="sync-result"][data-mailbox="Bob"]')!;
    expect(bob.getAttribute("data-status")).toBe("error");
    expect(bob.querySelector('[data-testid="sync-error"]')!.textContent).toBe("The mailbox Bob is not enabled for incoming email. Run Test & Enable Mailbox first.");
    expect(bob.querySelector('[data-testid="count-tracked"]')).toBeNull();
    // The grid is read again, and the commands are back.
    await waitFor(() => expect(calls.filter((c) => c.cmd === "list_mailbox_page").length).toBeGreaterThan(listsBefore));
    expect(button("cmd-sync-now").disabled).toBe(false);
  });

  it("previews at most 200 messages per mailbox and says, message by message, what would happen and why", async () => {
    syncAnswer = () => [{
      mailbox_id: 1, mailbox_name: "Ann", error: null,
      report: report(true, { tracked: 1, skipped: 1, failed: 1 }, [
        item("Quote", "ann@fabrikam.com", "tracked", { accepting: { entity: "queue", id: 2 }, accepting_filter: "all_email", correlation: "in_reply_to", correlated_with: 10 }),
        item("Newsletter", "news@spam.example", "skipped", { code: "sync.item.not_accepted", params: { filters: "responses_to_crm_email" } }),
        item("Huge", "big@fabrikam.com", "failed", { code: "sync.item.too_large", params: { size_mb: "60", max_mb: "50" } }),
      ]),
    }];
    await selectAnnAndBob();
    fireEvent.click(button("cmd-preview"));
    await waitFor(() => expect(screen.getByTestId("sync-busy").getAttribute("data-mode")).toBe("preview"));
    expect(calls.find((c) => c.cmd === "sync_mailboxes")!.args.request).toEqual({ preview: true, max_messages: 200 });
    release();
    const results = await screen.findByTestId("sync-results");
    expect(results.getAttribute("data-preview")).toBe("true");
    const items = [...results.querySelectorAll('[data-testid="preview-item"]')];
    expect(items.map((i) => i.getAttribute("data-result"))).toEqual(["tracked", "skipped", "failed"]);
    const cells = (i: Element) => [...i.querySelectorAll("td")].map((td) => td.textContent);
    expect(cells(items[0]).slice(0, 3)).toEqual(["Quote", "ann@fabrikam.com", "Tracked"]);
    const why = items[0].querySelector('[data-testid="item-why"]')!;
    await waitFor(() => expect(why.querySelector('[data-testid="item-accepting"]')!.textContent).toBe("Queue Sales"));
    expect(why.querySelector('[data-testid="item-filter"]')!.textContent).toBe("All email messages");
    expect(why.querySelector('[data-testid="item-correlation"]')!.textContent).toBe("correlation: In-Reply-To");
    expect(cells(items[1])).toEqual(["Newsletter", "news@spam.example", "Skipped",
      "Not tracked: the recipients' filters (Email messages in response to email) do not accept it."]);
    expect(cells(items[2])[3]).toBe("Not tracked: the message is 60 MB, over the 50 MB limit for incoming email.");
  });

  it("words the preview in the user's language", async () => {
    setLang("ja");
    syncAnswer = () => [{
      mailbox_id: 1, mailbox_name: "Ann", error: null,
      report: report(true, { skipped: 1 }, [item("Newsletter", "news@spam.example", "skipped", { code: "sync.item.no_recipient_match" })]),
    }];
    await selectAnnAndBob();
    expect(button("cmd-sync-now").textContent).toBe("今すぐ同期");
    expect(button("cmd-preview").textContent).toBe("プレビュー");
    fireEvent.click(button("cmd-preview"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "sync_mailboxes")).toBe(true));
    release();
    const it = await screen.findByTestId("preview-item");
    expect(it.querySelector('[data-testid="item-result"]')!.textContent).toBe("スキップ");
    expect(it.querySelector('[data-testid="item-why"]')!.textContent).toContain("NoRecipientMatch");
    expect(it.querySelector('[data-testid="item-why"]')!.textContent).not.toBe("sync.item.no_recipient_match");
  });
});

describe("the mailbox form's synchronization state", () => {
  it("shows the last sync and the latest messages not tracked, with their reason in words", async () => {
    mockIPC((cmd, args) => {
      const a = args as Record<string, unknown>;
      calls.push({ cmd, args: a });
      if (cmd === "get_mailbox") return mailbox(1, "Ann");
      if (cmd === "list_profiles") return [];
      if (cmd === "form_catalog") return catalog;
      if (cmd === "list_alerts") return [];
      if (cmd === "get_sync_state") return {
        uid_validity: 1, last_uid: 40, highest_modseq: null, uid_next: 41, process_from: null, last_sync_started_on: "2026-11-30T09:00:00Z",
        last_sync_completed_on: "2026-11-30T09:01:00Z", items_processed_last_sync: 1234, items_failed_last_sync: 2, no_email_count: 0,
      };
      if (cmd === "list_item_outcomes") return [
        { mailbox_id: 1, server_ref: "imap:1:39", outcome: "skipped", code: "sync.item.no_recipient_match", params: {}, message_id: "<a@x>",
          subject: "Lunch?", moved_to_undeliverable: false, occurred_on: "2026-11-30T09:01:00Z" },
        { mailbox_id: 1, server_ref: "imap:1:40", outcome: "failed", code: "sync.item.too_large", params: { size_mb: "60", max_mb: "50" }, message_id: "<b@x>",
          subject: "Video", moved_to_undeliverable: true, occurred_on: "2026-11-30T09:01:00Z" },
      ];
      throw new Error(`unexpected command ${cmd}`);
    });
    render(() => <MailboxForm id={1 as MailboxId} onClose={() => {}} />);
    await waitFor(() => expect(screen.getByTestId("sync-items-processed").textContent).toBe("1,234"));
    expect(screen.getByTestId("sync-items-failed").textContent).toBe("2");
    expect(screen.getByTestId("sync-last-completed").textContent).toMatch(/2026/);
    expect(calls.find((c) => c.cmd === "list_item_outcomes")!.args).toEqual({ mailbox: 1, limit: 20 });
    const outcomes = [...document.querySelectorAll('[data-testid="outcome-item"]')];
    expect(outcomes.length).toBe(2);
    expect(outcomes[0].textContent).toContain("Lunch?");
    expect(outcomes[0].textContent).toContain("Skipped: Not tracked: no user or queue among the recipients takes incoming email");
    expect(outcomes[1].getAttribute("data-outcome")).toBe("failed");
    expect(outcomes[1].textContent).toContain("over the 50 MB limit");
    expect(outcomes[1].textContent).toContain("Moved to Undeliverable");
  });
});
