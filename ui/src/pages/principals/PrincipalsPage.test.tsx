import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@solidjs/testing-library";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { PAGE_SIZE, PrincipalsPage } from "./PrincipalsPage";
import { setLang } from "../../i18n";
import catalog from "../../bindings/catalog.json";
import "../../test/viewport";

const USERS = 100_000;
const user = (id: number) => ({
  id, full_name: `User ${String(id).padStart(6, "0")}`, primary_email: `u${id}@contoso.com`, can_approve_email: false,
  incoming_filtering_method: "responses_to_crm_email", state: "active", mailbox_id: id + 1000, created_on: "", modified_on: "",
});
const queue = (id: number) => ({
  id, name: `Queue ${id}`, email_address: `q${id}@contoso.com`, owner_user_id: null, incoming_filtering_method: "all_email",
  state: "active", mailbox_id: id + 5000, created_on: "", modified_on: "",
});

let calls: { cmd: string; args: Record<string, unknown> }[] = [];

beforeEach(() => {
  setLang("en");
  calls = [];
  mockIPC((cmd, args) => {
    const a = args as Record<string, unknown>;
    calls.push({ cmd, args: a });
    const offset = a.offset as number;
    const limit = a.limit as number;
    if (cmd === "list_user_page") {
      const search = (a.query as { search: string | null }).search;
      const total = search ? 3 : USERS;
      return { rows: Array.from({ length: Math.max(0, Math.min(limit, total - offset)) }, (_, i) => user(offset + i + 1)), total };
    }
    if (cmd === "list_queue_page") return { rows: [queue(1), queue(2)].slice(offset, offset + limit), total: 2 };
    if (cmd === "form_catalog") return catalog;
    if (cmd === "create_queue") return queue(3);
    if (cmd === "update_user") return { ...user(a.id as number), ...(a.changes as object) };
    if (cmd === "update_queue") return { ...queue(a.id as number), ...(a.changes as object) };
    if (cmd === "get_user") return user(a.id as number);
    if (cmd === "set_user_state") return [];
    throw new Error(`unexpected command ${cmd}`);
  });
});

afterEach(() => {
  cleanup();
  clearMocks();
});

const last = <T,>(list: T[]): T => list[list.length - 1];
const of = (cmd: string) => calls.filter((c) => c.cmd === cmd);
const userGridPages = () => of("list_user_page").filter((c) => c.args.limit === PAGE_SIZE);

describe("Users & Queues over 100,000 users", () => {
  it("reads only the page of users it shows, sorted by the engine, and says how many there are", async () => {
    render(() => <PrincipalsPage />);
    await waitFor(() => expect(document.querySelector('[data-testid="user-row"][data-name="User 000001"]')).not.toBeNull());
    expect(userGridPages().length).toBe(1);
    expect(userGridPages()[0].args).toMatchObject({ offset: 0, limit: PAGE_SIZE, query: { view: "active", search: null }, sort: { key: "name", descending: false } });
    expect(screen.getByTestId("user-count").textContent).toBe("100,000 records");
    expect(document.querySelectorAll('[data-testid="user-row"]').length).toBeLessThan(100);
    expect(document.querySelectorAll('[data-testid="queue-row"]').length).toBe(2);

    // Sorting by address, then a search: the engine is asked again, from the top.
    fireEvent.click(document.querySelector('[data-testid="users-grid"] [data-testid="sort-email_address"]')!);
    await waitFor(() => expect(last(userGridPages()).args).toMatchObject({ offset: 0, sort: { key: "email_address", descending: false } }));
    fireEvent.input(screen.getByTestId("user-search"), { target: { value: "ann" } });
    await waitFor(() => expect(last(userGridPages()).args).toMatchObject({ offset: 0, query: { search: "ann" } }));
    await waitFor(() => expect(screen.getByTestId("user-count").textContent).toBe("3 records"));
  });

  it("offers the queue owner among the users a search finds, never the whole list", async () => {
    render(() => <PrincipalsPage />);
    await waitFor(() => expect(document.querySelector('[data-testid="queue-row"]')).not.toBeNull());
    const owners = () => of("list_user_page").filter((c) => c.args.limit !== PAGE_SIZE);
    await waitFor(() => expect(owners().length).toBeGreaterThan(0));
    expect(owners()[0].args).toMatchObject({ offset: 0, limit: 50, query: { view: "active" } });
    fireEvent.input(screen.getByLabelText("Find the owner"), { target: { value: "User 000002" } });
    await waitFor(() => expect(last(owners()).args).toMatchObject({ query: { search: "User 000002" } }));
    const select = screen.getByLabelText("Owner") as HTMLSelectElement;
    await waitFor(() => expect(select.options.length).toBe(4), { timeout: 2000 }); // "—" and three users
    fireEvent.change(select, { target: { value: "2" } });
    fireEvent.input(document.querySelector('[data-section="new-queue"] input[name="name"]')!, { target: { value: "Support" } });
    fireEvent.click(screen.getByTestId("queue-create"));
    await waitFor(() => expect(of("create_queue").length).toBe(1));
    expect(of("create_queue")[0].args).toMatchObject({ request: { name: "Support", owner_user_id: 2 } });
  });

  it("deactivates a user from its row and reads the view again", async () => {
    render(() => <PrincipalsPage />);
    await waitFor(() => expect(document.querySelector('[data-testid="user-row"][data-name="User 000001"]')).not.toBeNull());
    const before = userGridPages().length;
    fireEvent.click(document.querySelector('[data-testid="user-row"][data-name="User 000001"] [data-testid="principal-state"]')!);
    await waitFor(() => expect(of("set_user_state").length).toBe(1));
    expect(of("set_user_state")[0].args).toMatchObject({ ids: [1], state: "inactive" });
    await waitFor(() => expect(userGridPages().length).toBeGreaterThan(before));
  });

  it("opens a chosen user in the form and saves what it tracks", async () => {
    render(() => <PrincipalsPage />);
    const row = async () => document.querySelector<HTMLElement>('[data-testid="user-row"][data-name="User 000002"]');
    await waitFor(async () => expect(await row()).not.toBeNull());
    // A new user starts with the engine's default.
    await waitFor(() => expect((document.querySelector('[data-section="new-user"] select[name="incoming_filtering_method"]') as HTMLSelectElement).value)
      .toBe("responses_to_crm_email"));
    fireEvent.click((await row())!);
    await waitFor(() => expect(document.querySelector('[data-section="edit-user"]')).not.toBeNull());
    const form = document.querySelector('[data-section="edit-user"]')!;
    expect((await row())!.getAttribute("aria-current")).toBe("true");
    expect(form.querySelector("legend")!.textContent).toBe("User: User 000002");
    expect((form.querySelector('input[name="primary_email"]') as HTMLInputElement).value).toBe("u2@contoso.com");
    const filtering = form.querySelector('select[name="incoming_filtering_method"]') as HTMLSelectElement;
    expect(filtering.value).toBe("responses_to_crm_email");
    expect([...filtering.options].map((o) => o.textContent)).toContain("All email messages");
    fireEvent.change(filtering, { target: { value: "all_email" } });
    fireEvent.click(screen.getByTestId("user-create"));
    await waitFor(() => expect(of("update_user").length).toBe(1));
    expect(of("update_user")[0].args).toEqual({
      id: 2,
      changes: { full_name: "User 000002", primary_email: "u2@contoso.com", can_approve_email: false, incoming_filtering_method: "all_email" },
    });
    expect(of("create_user").length).toBe(0);
    // Saved: the form is a new user's again.
    await waitFor(() => expect(document.querySelector('[data-section="new-user"]')).not.toBeNull());
  });

  it("opens a chosen queue with its owner named, and cancels without saving", async () => {
    mockIPC((cmd, args) => {
      const a = args as Record<string, unknown>;
      calls.push({ cmd, args: a });
      if (cmd === "list_user_page") return { rows: [], total: 0 };
      if (cmd === "list_queue_page") return { rows: [{ ...queue(1), owner_user_id: 7, incoming_filtering_method: "no_email" }], total: 1 };
      if (cmd === "form_catalog") return catalog;
      if (cmd === "get_user") return user(a.id as number);
      throw new Error(`unexpected command ${cmd}`);
    });
    render(() => <PrincipalsPage />);
    await waitFor(() => expect(document.querySelector('[data-testid="queue-row"]')).not.toBeNull());
    fireEvent.click(document.querySelector('[data-testid="queue-row"]')!);
    await waitFor(() => expect(document.querySelector('[data-section="edit-queue"]')).not.toBeNull());
    const form = document.querySelector('[data-section="edit-queue"]')!;
    expect((form.querySelector('select[name="incoming_filtering_method"]') as HTMLSelectElement).value).toBe("no_email");
    const owner = form.querySelector('select[name="owner_user_id"]') as HTMLSelectElement;
    await waitFor(() => expect(owner.selectedOptions[0].textContent).toBe("User 000007"));
    fireEvent.click(screen.getByTestId("queue-cancel"));
    await waitFor(() => expect(document.querySelector('[data-section="new-queue"]')).not.toBeNull());
    expect((document.querySelector('[data-section="new-queue"] select[name="incoming_filtering_method"]') as HTMLSelectElement).value).toBe("all_email");
    expect(calls.some((c) => c.cmd === "update_queue" || c.cmd === "create_queue")).toBe(false);
  });

  it("keeps what was typed when the catalog arrives late, and Enter on a row's button is that button's", async () => {
    let answerCatalog: (c: unknown) => void = () => {};
    mockIPC((cmd, args) => {
      const a = args as Record<string, unknown>;
      calls.push({ cmd, args: a });
      if (cmd === "list_user_page") return { rows: [user(1)], total: 1 };
      if (cmd === "list_queue_page") return { rows: [], total: 0 };
      if (cmd === "form_catalog") return new Promise((resolve) => (answerCatalog = resolve));
      if (cmd === "set_user_state") return [];
      throw new Error(`unexpected command ${cmd}`);
    });
    render(() => <PrincipalsPage />);
    await waitFor(() => expect(document.querySelector('[data-testid="user-row"]')).not.toBeNull());
    fireEvent.input(document.querySelector('[data-section="new-user"] input[name="full_name"]')!, { target: { value: "Olga Kim" } });
    answerCatalog(catalog);
    const filtering = () => (document.querySelector('[data-section="new-user"] select[name="incoming_filtering_method"]') as HTMLSelectElement).value;
    await waitFor(() => expect(filtering()).toBe("responses_to_crm_email"));
    expect((document.querySelector('[data-section="new-user"] input[name="full_name"]') as HTMLInputElement).value).toBe("Olga Kim");
    // Enter on the row's Deactivate button deactivates; it does not open the user.
    const button = document.querySelector('[data-testid="user-row"] [data-testid="principal-state"]') as HTMLButtonElement;
    fireEvent.keyDown(button, { key: "Enter" });
    expect(document.querySelector('[data-section="edit-user"]')).toBeNull();
    // On the row itself, Enter opens it.
    fireEvent.keyDown(document.querySelector('[data-testid="user-row"]')!, { key: "Enter" });
    await waitFor(() => expect(document.querySelector('[data-section="edit-user"]')).not.toBeNull());
  });
});
