import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@solidjs/testing-library";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { MailboxesPage, PAGE_SIZE } from "./MailboxesPage";
import { setLang } from "../../i18n";
import catalog from "../../bindings/catalog.json";
import "../../test/viewport";

const TOTAL = 100_000;
const mailbox = (id: number) => ({
  id, name: `Mailbox ${String(id).padStart(6, "0")}`, kind: "user", owner_user_id: null, email_address: `m${id}@contoso.com`,
  delete_after_processing: false, user_id: null, queue_id: null, is_forward_mailbox: false, allow_credentials: false, user_name: "",
  is_password_set: false, profile_id: 1, incoming_method: "server_side_sync", outgoing_method: "none", act_method: "none",
  incoming_status: "not_run", outgoing_status: "not_run", act_status: "not_run", test_completed_on: null,
  test_and_enable_last_attempted_on: null, email_address_status: "approved", approved_by_user_id: null, approved_by_administrator: true,
  approved_on: null, enabled_for_incoming: false, enabled_for_outgoing: false, enabled_for_act: false, process_email_received_after: null,
  state: "active", transient_failure_count: 0, last_sync_error_code: "", last_sync_error_on: null, created_on: "", modified_on: "",
  // The first mailbox was synchronised three minutes ago; the others never.
  last_synced_on: id === 1 ? new Date(Date.now() - 3 * 60_000).toISOString() : null,
});

let calls: { cmd: string; args: Record<string, unknown> }[] = [];

beforeEach(() => {
  setLang("en");
  calls = [];
  mockIPC((cmd, args) => {
    const a = args as Record<string, unknown>;
    calls.push({ cmd, args: a });
    if (cmd === "list_mailbox_page") {
      const offset = a.offset as number;
      const limit = a.limit as number;
      const rows = Array.from({ length: Math.max(0, Math.min(limit, TOTAL - offset)) }, (_, i) => mailbox(offset + i + 1));
      return { rows, total: TOTAL };
    }
    if (cmd === "list_user_page") {
      const q = a.query as { view: string; search: string | null };
      const users = [{ id: 7, full_name: "Dana", primary_email: "dana@contoso.com", state: "active" }, { id: 8, full_name: "Eli", primary_email: "", state: "active" }]
        .filter((u) => !q.search || u.full_name.toLowerCase().includes(q.search.toLowerCase()));
      return { rows: users, total: users.length };
    }
    if (cmd === "list_profiles") return [{ id: 1, name: "Contoso IMAP" }];
    if (cmd === "get_settings") return { default_profile_id: 1, default_incoming_method: "server_side_sync", default_outgoing_method: "none", default_act_method: "none" };
    if (cmd === "form_catalog") return catalog;
    if (cmd === "start_test_and_enable") return { id: 9, kind: "test_and_enable", state: "running", items: [], done: 0, total: 0, testing: 0, finished: false };
    if (cmd === "get_mailbox") return mailbox(1);
    if (cmd === "get_job") return { id: 9, kind: "test_and_enable", state: "running", items: [], done: 0, total: 0, testing: 0, finished: false };
    throw new Error(`unexpected command ${cmd}`);
  });
});

afterEach(() => {
  cleanup();
  clearMocks();
});

const pages = () => calls.filter((c) => c.cmd === "list_mailbox_page");

describe("the mailbox grid over 100,000 mailboxes", () => {
  it("says when each mailbox was last synchronised, relative to now, in the chosen language", async () => {
    setLang("fr");
    render(() => <MailboxesPage />);
    await waitFor(() => expect(document.querySelector('[data-testid="mailbox-row"][data-name="Mailbox 000001"]')).not.toBeNull());
    const first = document.querySelector('[data-testid="mailbox-row"][data-name="Mailbox 000001"] [data-testid="mailbox-last-synced"]');
    expect(first?.textContent).toBe("il y a 3 minutes");
    expect(first?.getAttribute("title")).toMatch(/\d{2}\/\d{2}\/\d{4}/);
    const second = document.querySelector('[data-testid="mailbox-row"][data-name="Mailbox 000002"]');
    expect(second?.textContent).toContain("Jamais");
  });


  it("reads only the page it shows, sorted by the engine, and says how many there are", async () => {
    render(() => <MailboxesPage />);
    await waitFor(() => expect(document.querySelector('[data-testid="mailbox-row"][data-name="Mailbox 000001"]')).not.toBeNull());
    expect(pages().length).toBe(1);
    expect(pages()[0].args).toMatchObject({ offset: 0, limit: PAGE_SIZE, sort: { key: "name", descending: false } });
    expect(screen.getByTestId("mailbox-count").textContent).toMatch(/100,000 mailboxes/);
    expect(document.querySelectorAll('[data-testid="mailbox-row"]').length).toBeLessThan(100);
    // Sorting asks the engine again, from the top.
    fireEvent.click(screen.getByTestId("sort-email_address"));
    await waitFor(() => expect(pages()[pages().length - 1].args).toMatchObject({ offset: 0, sort: { key: "email_address", descending: false } }));
    fireEvent.click(screen.getByTestId("sort-email_address"));
    await waitFor(() => expect(pages()[pages().length - 1].args).toMatchObject({ sort: { key: "email_address", descending: true } }));
  });

  it("selects the whole view by query, not by 100,000 ids, and Test & Enable takes that selection", async () => {
    render(() => <MailboxesPage />);
    await waitFor(() => expect(document.querySelector('[data-testid="mailbox-row"][data-name="Mailbox 000002"]')).not.toBeNull());
    fireEvent.click(screen.getByTestId("mailbox-grid-select-all"));
    await waitFor(() => expect(screen.getByTestId("mailbox-count").textContent).toMatch(/100,000 selected/));
    // Ctrl-click unticks one row of the selected view.
    fireEvent.click(document.querySelector('[data-testid="mailbox-row"][data-name="Mailbox 000002"]')!, { ctrlKey: true });
    await waitFor(() => expect(screen.getByTestId("mailbox-count").textContent).toMatch(/99,999 selected/));
    fireEvent.click(screen.getByTestId("cmd-test-enable"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "start_test_and_enable")).toBe(true));
    const scope = calls.find((c) => c.cmd === "start_test_and_enable")!.args.scope;
    expect(scope).toEqual({ scope: "selection", id: { by: "query", query: { view: { view: "active" }, search: null, profile_id: null }, except: [2] } });
  });

  it("My Active: the user is found by a search in the engine, and the grid asks for that user's mailboxes", async () => {
    localStorage.removeItem("serversync.me");
    render(() => <MailboxesPage />);
    await waitFor(() => expect(pages().length).toBe(1));
    fireEvent.change(screen.getByTestId("mailbox-view"), { target: { value: "my_active" } });
    const me = () => [...screen.getByTestId("mailbox-me").querySelectorAll("option")].map((o) => o.textContent);
    await waitFor(() => expect(me()).toEqual(["—", "Dana <dana@contoso.com>", "Eli"]));
    fireEvent.input(screen.getByTestId("mailbox-me-search"), { target: { value: "el" } });
    await waitFor(() => expect(me()).toEqual(["—", "Eli"]));
    fireEvent.change(screen.getByTestId("mailbox-me"), { target: { value: "8" } });
    await waitFor(() => expect(pages()[pages().length - 1].args.query).toMatchObject({ view: { view: "my_active", owner: 8 } }));
    // No page reads the whole user table.
    expect(calls.some((c) => c.cmd === "list_users")).toBe(false);
    localStorage.removeItem("serversync.me");
  });

  it("moves between rows with the arrow keys", async () => {
    render(() => <MailboxesPage />);
    const first = await waitFor(() => {
      const r = document.querySelector<HTMLElement>('[data-testid="mailbox-row"][data-name="Mailbox 000001"]');
      if (!r) throw new Error("no row");
      return r;
    });
    expect(first.tabIndex).toBe(0);
    first.focus();
    fireEvent.keyDown(first, { key: "ArrowDown" });
    await waitFor(() => expect((document.activeElement as HTMLElement | null)?.getAttribute("data-name")).toBe("Mailbox 000002"));
  });

  it("creates a forward mailbox, says why the engine refuses one, and opens it in its form", async () => {
    let refused = true;
    mockIPC((cmd, args) => {
      const a = args as Record<string, unknown>;
      calls.push({ cmd, args: a });
      if (cmd === "list_mailbox_page") return { rows: [mailbox(1)], total: 1 };
      if (cmd === "create_forward_mailbox") {
        if (refused) {
          refused = false;
          throw { kind: "validation", code: "field.not_an_email", params: { field: "email_address", value: "collect@" }, message: "" };
        }
        return { ...mailbox(42), name: "Collect", kind: "forward", is_forward_mailbox: true };
      }
      if (cmd === "get_mailbox") return { ...mailbox(42), name: "Collect", kind: "forward", is_forward_mailbox: true };
      if (cmd === "form_catalog") return catalog;
      if (["list_profiles", "list_alerts", "list_item_outcomes", "list_sync_runs"].includes(cmd)) return [];
      return null;
    });
    render(() => <MailboxesPage />);
    fireEvent.click(await screen.findByTestId("cmd-new-forward"));
    const dialog = await screen.findByTestId("dialog-forward");
    // A modal dialog: the grid and its selection wait behind it.
    await waitFor(() => expect((dialog as HTMLDialogElement).open).toBe(true));
    expect(dialog.getAttribute("aria-modal")).toBe("true");
    // Focus moves into the dialog, to its first field.
    await waitFor(() => expect(document.activeElement).toBe(dialog.querySelector('input[name="name"]')));
    fireEvent.input(dialog.querySelector('input[name="name"]')!, { target: { value: "Collect" } });
    fireEvent.input(dialog.querySelector('input[name="email_address"]')!, { target: { value: "collect@" } });
    fireEvent.click(dialog.querySelector('[data-testid="dialog-ok"]')!);
    // Refused: the dialog stays, and says why.
    await waitFor(() => expect(dialog.textContent).toContain("collect@"));
    expect(screen.queryByTestId("mailbox-form")).toBeNull();
    fireEvent.input(dialog.querySelector('input[name="email_address"]')!, { target: { value: "collect@contoso.com" } });
    fireEvent.click(dialog.querySelector('[data-testid="dialog-ok"]')!);
    await screen.findByTestId("mailbox-form");
    expect(calls.filter((c) => c.cmd === "create_forward_mailbox").map((c) => c.args)[1])
      .toEqual({ request: { name: "Collect", email_address: "collect@contoso.com", changes: {} } });
    expect(calls.some((c) => c.cmd === "get_mailbox" && c.args.id === 42)).toBe(true);
    // A forward mailbox can be deleted from its form, after a confirmation.
    fireEvent.click(await screen.findByTestId("mailbox-delete"));
    const confirm = await screen.findByTestId("dialog-delete");
    expect(confirm.textContent).toContain("Collect");
    // A destructive confirmation starts on Cancel.
    await waitFor(() => expect(document.activeElement?.textContent).toBe("Cancel"));
    fireEvent.click(confirm.querySelector('[data-testid="dialog-ok"]')!);
    await waitFor(() => expect(calls.some((c) => c.cmd === "delete_forward_mailbox" && c.args.id === 42)).toBe(true));
    await screen.findByTestId("mailboxes-page");
  });

  it("closes a dialog with Escape and gives the focus back to the button that opened it", async () => {
    render(() => <MailboxesPage />);
    const open = await screen.findByTestId("cmd-new-forward");
    open.focus();
    fireEvent.click(open);
    const dialog = await screen.findByTestId("dialog-forward");
    await waitFor(() => expect(document.activeElement).toBe(dialog.querySelector('input[name="name"]')));
    fireEvent.keyDown(document.activeElement!, { key: "Escape" });
    await waitFor(() => expect(screen.queryByTestId("dialog-forward")).toBeNull());
    await waitFor(() => expect(document.activeElement).toBe(open));
    expect(calls.some((c) => c.cmd === "create_forward_mailbox")).toBe(false);
  });
});
