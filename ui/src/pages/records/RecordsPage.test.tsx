import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@solidjs/testing-library";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { PAGE_SIZE, RecordsPage } from "./RecordsPage";
import { setLang } from "../../i18n";
import "../../test/viewport";

const contact = (id: number, first: string, last: string, email = "", state = "active") => ({
  id, first_name: first, last_name: last, email_address_1: email, email_address_2: "", email_address_3: "",
  owner_user_id: null, state, created_on: "2026-11-01T10:00:00Z", modified_on: "2026-11-02T10:00:00Z",
});
const user = (id: number, full_name: string, state = "active") => ({
  id, full_name, primary_email: `${full_name.toLowerCase()}@contoso.com`, can_approve_email: false, incoming_filtering_method: "all_email",
  state, created_on: "", modified_on: "", mailbox_id: null,
});

let calls: { cmd: string; args: Record<string, unknown> }[] = [];

type Query = { view: "active" | "inactive" | "all"; search: string | null };
/** The contacts of a view whose name or address contains the search, as the engine finds them. */
const matching = (q: Query) =>
  contacts.filter((c) => (q.view === "all" || c.state === q.view)
    && (!q.search || [`${c.first_name} ${c.last_name}`, c.email_address_1].some((v) => v.toLowerCase().includes(q.search!.toLowerCase()))));
/** A window of a view, sorted as the engine sorts it (by last name; blank addresses last). */
function page(a: Record<string, unknown>) {
  const sort = a.sort as { key: string; descending: boolean };
  const key = (c: ReturnType<typeof contact>) => (sort.key === "email_address_1" ? c.email_address_1 : `${c.last_name} ${c.first_name}`);
  const rows = [...matching(a.query as Query)].sort((x, y) =>
    (key(x) === "") !== (key(y) === "") ? (key(x) === "" ? 1 : -1) : key(x).localeCompare(key(y)) * (sort.descending ? -1 : 1) || x.id - y.id);
  const offset = a.offset as number;
  return { rows: rows.slice(offset, offset + (a.limit as number)), total: rows.length };
}
let contacts: ReturnType<typeof contact>[] = [];
let createAnswer: (changes: Record<string, unknown>) => unknown;
let importAnswer: (csv: string) => unknown;

beforeEach(() => {
  setLang("en");
  calls = [];
  contacts = [contact(1, "Zoe", "Adams", "zoe@fabrikam.com"), contact(2, "Ann", "Baker", "ann@fabrikam.com"), contact(3, "Bob", "Carter")];
  createAnswer = (changes) => ({ ...contact(50, "", ""), ...changes });
  importAnswer = () => ({ imported: 2 });
  mockIPC((cmd, args) => {
    const a = args as Record<string, unknown>;
    calls.push({ cmd, args: a });
    if (cmd === "list_contact_page") return page(a);
    if (cmd === "selected_contact_ids") {
      const sel = a.selection as { by: "ids"; ids: number[] } | { by: "query"; query: Query; except: number[] };
      return sel.by === "ids" ? sel.ids : matching(sel.query).map((c) => c.id).filter((id) => !sel.except.includes(id));
    }
    if (cmd === "get_contact") {
      const found = contacts.find((c) => c.id === a.id);
      if (!found) throw { kind: "not_found", code: "record.not_found", params: { entity: "contact", id: String(a.id) }, message: "" };
      return found;
    }
    if (cmd === "list_user_page") {
      const q = a.query as { view: string; search: string | null };
      const rows = [user(7, "Dana"), user(8, "Eli"), user(9, "Old", "inactive")]
        .filter((u) => q.view === "all" || u.state === q.view)
        .filter((u) => !q.search || u.full_name.toLowerCase().includes(q.search.toLowerCase()));
      return { rows, total: rows.length };
    }
    if (cmd === "get_user") return user(a.id as number, `User ${a.id}`);
    if (cmd === "create_contact") return createAnswer(a.changes as Record<string, unknown>);
    if (cmd === "update_contact") return { ...contacts.find((c) => c.id === a.id), ...(a.changes as object) };
    if (cmd === "set_contact_state") {
      const ids = new Set(a.ids as number[]);
      const changed = contacts.filter((c) => ids.has(c.id));
      changed.forEach((c) => (c.state = a.state as string));
      return changed;
    }
    if (cmd === "import_contacts") return importAnswer(a.csv as string);
    throw new Error(`unexpected command ${cmd}`);
  });
});

afterEach(() => {
  cleanup();
  clearMocks();
});

const input = (field: string) => document.querySelector(`[data-testid="record-form"] [data-field="${field}"] input, [data-testid="record-form"] [data-field="${field}"] select`) as HTMLInputElement;
const rowNames = () => [...document.querySelectorAll('[data-testid="contact-row"]')].map((r) => r.getAttribute("data-name"));

describe("the Contacts page", () => {
  it("lists the active contacts as the engine sorts them (by last name), in a virtualised grid", async () => {
    render(() => <RecordsPage entity="contact" />);
    await waitFor(() => expect(rowNames()).toEqual(["Zoe Adams", "Ann Baker", "Bob Carter"]));
    expect(calls.find((c) => c.cmd === "list_contact_page")!.args).toMatchObject({
      query: { view: "active", search: null }, sort: { key: "name", descending: false }, offset: 0, limit: PAGE_SIZE,
    });
    expect(screen.getByTestId("contact-grid").getAttribute("role")).toBe("grid");
    expect(document.querySelector('[data-testid="contact-row"]')!.getAttribute("role")).toBe("row");
    expect(screen.getByTestId("record-count").textContent).toContain("3 records");
    // Sorting by the email column puts the contact without email last.
    fireEvent.click(screen.getByTestId("sort-email_address_1"));
    await waitFor(() => expect(rowNames()).toEqual(["Ann Baker", "Zoe Adams", "Bob Carter"]));
    expect(calls.filter((c) => c.cmd === "list_contact_page")[calls.filter((c) => c.cmd === "list_contact_page").length - 1].args).toMatchObject({ offset: 0, sort: { key: "email_address_1", descending: false } });
  });

  it("reads only the page it shows when there are thousands, and searches in the engine", async () => {
    contacts = Array.from({ length: 50_000 }, (_, i) => contact(i + 1, "Person", String(i).padStart(5, "0")));
    render(() => <RecordsPage entity="contact" />);
    await waitFor(() => expect(rowNames().length).toBeGreaterThan(0));
    expect(rowNames().length).toBeLessThan(100);
    expect(screen.getByTestId("record-count").textContent).toContain("50,000 records");
    expect(calls.filter((c) => c.cmd === "list_contact_page").length).toBe(1);
    fireEvent.input(screen.getByTestId("record-search"), { target: { value: "Person 0001" } });
    await waitFor(() => expect(screen.getByTestId("record-count").textContent).toContain("10 records"));
    expect(calls.filter((c) => c.cmd === "list_contact_page")[calls.filter((c) => c.cmd === "list_contact_page").length - 1].args).toMatchObject({ offset: 0, query: { search: "Person 0001" } });
  });

  it("selects a whole view by query, and resolves it in the engine for Deactivate", async () => {
    contacts = Array.from({ length: 50_000 }, (_, i) => contact(i + 1, "Person", String(i).padStart(5, "0")));
    render(() => <RecordsPage entity="contact" />);
    await waitFor(() => expect(rowNames().length).toBeGreaterThan(0));
    fireEvent.click(screen.getByTestId("contact-grid-select-all"));
    fireEvent.click(document.querySelector('[data-testid="contact-row"][data-name="Person 00000"]')!, { ctrlKey: true });
    await waitFor(() => expect(screen.getByTestId("record-count").textContent).toContain("49,999 selected"));
    fireEvent.click(screen.getByTestId("record-deactivate"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "set_contact_state")).toBe(true));
    expect(calls.find((c) => c.cmd === "selected_contact_ids")!.args.selection).toEqual({ by: "query", query: { view: "active", search: null }, except: [1] });
    expect((calls.find((c) => c.cmd === "set_contact_state")!.args.ids as number[]).length).toBe(49_999);
  });

  it("creates a contact, sending the fields filled in and the owner", async () => {
    render(() => <RecordsPage entity="contact" />);
    await waitFor(() => expect(rowNames().length).toBe(3));
    fireEvent.click(screen.getByTestId("record-new"));
    await waitFor(() => expect(screen.getByTestId("record-form")).toBeTruthy());
    // The owner choices are the active users, and a search narrows them in the engine.
    const owners = () => [...input("owner_user_id").querySelectorAll("option")].map((o) => o.textContent);
    await waitFor(() => expect(owners()).toEqual(["—", "Dana <dana@contoso.com>", "Eli <eli@contoso.com>"]));
    fireEvent.input(input("owner_search"), { target: { value: "el" } });
    await waitFor(() => expect(owners()).toEqual(["—", "Eli <eli@contoso.com>"]));
    expect(calls.filter((c) => c.cmd === "list_user_page").map((c) => (c.args.query as { search: string | null }).search)).toEqual([null, "el"]);
    fireEvent.input(input("first_name"), { target: { value: "Nina" } });
    fireEvent.input(input("last_name"), { target: { value: "Lopez" } });
    fireEvent.input(input("email_address_1"), { target: { value: "nina@fabrikam.com" } });
    fireEvent.change(input("owner_user_id"), { target: { value: "8" } });
    fireEvent.click(screen.getByTestId("record-save"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "create_contact")).toBe(true));
    expect(calls.find((c) => c.cmd === "create_contact")!.args.changes).toEqual({
      first_name: "Nina", last_name: "Lopez", email_address_1: "nina@fabrikam.com", owner_user_id: 8,
    });
    await waitFor(() => expect(screen.getByTestId("record-title").textContent).toBe("Nina Lopez"));
    expect(screen.getByTestId("record-form").getAttribute("data-id")).toBe("50");
  });

  it("keeps a deactivated owner as the first choice, by name, until another is chosen", async () => {
    contacts[1] = { ...contacts[1], owner_user_id: 9 as unknown as null };
    render(() => <RecordsPage entity="contact" />);
    await waitFor(() => expect(rowNames().length).toBe(3));
    fireEvent.click(document.querySelector('[data-testid="contact-row"][data-name="Ann Baker"] [data-testid="record-open"]')!);
    const owners = () => [...input("owner_user_id").querySelectorAll("option")].map((o) => o.textContent);
    // The search offers active users only; the owner now is named by a lookup of that user.
    await waitFor(() => expect(owners()).toEqual(["—", "User 9", "Dana <dana@contoso.com>", "Eli <eli@contoso.com>"]));
    expect(input("owner_user_id").value).toBe("9");
    fireEvent.change(input("owner_user_id"), { target: { value: "7" } });
    await waitFor(() => expect(owners()).toEqual(["—", "Dana <dana@contoso.com>", "Eli <eli@contoso.com>"]));
  });

  it("saves only what changed on an existing contact", async () => {
    render(() => <RecordsPage entity="contact" />);
    await waitFor(() => expect(rowNames().length).toBe(3));
    fireEvent.click(document.querySelector('[data-testid="contact-row"][data-name="Ann Baker"] [data-testid="record-open"]')!);
    await waitFor(() => expect(input("last_name").value).toBe("Baker"));
    fireEvent.input(input("email_address_2"), { target: { value: "ann@contoso.com" } });
    fireEvent.click(screen.getByTestId("record-save"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "update_contact")).toBe(true));
    const call = calls.find((c) => c.cmd === "update_contact")!;
    expect(call.args.id).toBe(2);
    expect(call.args.changes).toEqual({ email_address_2: "ann@contoso.com" });
  });

  it("shows the engine's refusal next to its field", async () => {
    createAnswer = () => {
      throw { kind: "validation", code: "field.not_an_email", params: { field: "email_address_1", value: "nina@" }, message: "" };
    };
    render(() => <RecordsPage entity="contact" />);
    fireEvent.click(await screen.findByTestId("record-new"));
    fireEvent.input(input("last_name"), { target: { value: "Lopez" } });
    fireEvent.input(input("email_address_1"), { target: { value: "nina@" } });
    fireEvent.click(screen.getByTestId("record-save"));
    await waitFor(() => expect(document.querySelector('[data-field="email_address_1"] .field-error')).not.toBeNull());
    expect(document.querySelector('[data-field="email_address_1"] .field-error')!.textContent).toBe('"nina@" is not a valid email address.');
    expect(screen.queryByTestId("error-banner")).toBeNull();
  });

  it("imports a CSV file and says how many records it imported", async () => {
    render(() => <RecordsPage entity="contact" />);
    await waitFor(() => expect(rowNames().length).toBe(3));
    const before = calls.filter((c) => c.cmd === "list_contact_page").length;
    const file = new File(["last_name,email_address_1\nLee,lee@x.com\nKim,kim@x.com\n"], "contacts.csv", { type: "text/csv" });
    const picker = screen.getByTestId("record-import-file") as HTMLInputElement;
    Object.defineProperty(picker, "files", { value: [file], configurable: true });
    fireEvent.change(picker);
    await waitFor(() => expect(screen.getByTestId("record-import-result").textContent).toBe("2 records imported."));
    expect(calls.find((c) => c.cmd === "import_contacts")!.args.csv).toBe("last_name,email_address_1\nLee,lee@x.com\nKim,kim@x.com\n");
    // The grid is read again.
    expect(calls.filter((c) => c.cmd === "list_contact_page").length).toBeGreaterThan(before);
  });

  it("shows an import refusal naming the refused line, and nothing as imported", async () => {
    importAnswer = () => {
      throw { kind: "validation", code: "field.not_an_email", params: { field: "email_address_1", value: "nope", line: "3" }, message: "" };
    };
    setLang("fr");
    render(() => <RecordsPage entity="contact" />);
    await waitFor(() => expect(rowNames().length).toBe(3));
    const picker = screen.getByTestId("record-import-file") as HTMLInputElement;
    Object.defineProperty(picker, "files", { value: [new File(["last_name,email_address_1\nLee,lee@x.com\nKim,nope\n"], "c.csv")], configurable: true });
    fireEvent.change(picker);
    const banner = await screen.findByTestId("record-import-error");
    expect(banner.getAttribute("data-line")).toBe("3");
    expect(banner.textContent).toMatch(/^Ligne 3 : /);
    expect(banner.textContent).toContain("nope");
    expect(screen.queryByTestId("record-import-result")).toBeNull();
  });

  it("deactivates the selected rows", async () => {
    render(() => <RecordsPage entity="contact" />);
    await waitFor(() => expect(rowNames().length).toBe(3));
    expect((screen.getByTestId("record-deactivate") as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(document.querySelector('[data-testid="contact-row"][data-name="Zoe Adams"]')!);
    fireEvent.click(document.querySelector('[data-testid="contact-row"][data-name="Bob Carter"]')!, { ctrlKey: true });
    fireEvent.click(screen.getByTestId("record-deactivate"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "set_contact_state")).toBe(true));
    const call = calls.find((c) => c.cmd === "set_contact_state")!;
    expect((call.args.ids as number[]).sort()).toEqual([1, 3]);
    expect(call.args.state).toBe("inactive");
    // A list of ids needs no look-up in the engine.
    expect(calls.some((c) => c.cmd === "selected_contact_ids")).toBe(false);
    // Then the selection clears and the grid is read again, from the top, without them.
    await waitFor(() => expect(rowNames()).toEqual(["Ann Baker"]));
    expect(screen.getByTestId("record-count").textContent).toBe("1 record · 0 selected");
    expect((screen.getByTestId("record-deactivate") as HTMLButtonElement).disabled).toBe(true);
    const last = calls.filter((c) => c.cmd === "list_contact_page").pop()!;
    expect(last.args).toMatchObject({ offset: 0, query: { view: "active" } });
  });

  it("activates the selected rows of the inactive view", async () => {
    contacts.push(contact(4, "Ivy", "Stone", "ivy@x.com", "inactive"), contact(5, "Jon", "Hale", "", "inactive"));
    render(() => <RecordsPage entity="contact" />);
    await waitFor(() => expect(rowNames().length).toBe(3));
    fireEvent.change(screen.getByTestId("record-view"), { target: { value: "inactive" } });
    await waitFor(() => expect(rowNames()).toEqual(["Jon Hale", "Ivy Stone"]));
    expect(calls.filter((c) => c.cmd === "list_contact_page").pop()!.args).toMatchObject({ offset: 0, query: { view: "inactive", search: null } });
    expect(screen.queryByTestId("record-deactivate")).toBeNull();
    fireEvent.click(document.querySelector('[data-testid="contact-row"][data-name="Ivy Stone"]')!);
    fireEvent.click(screen.getByTestId("record-activate"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "set_contact_state")).toBe(true));
    expect(calls.find((c) => c.cmd === "set_contact_state")!.args).toMatchObject({ ids: [4], state: "active" });
    await waitFor(() => expect(rowNames()).toEqual(["Jon Hale"]));
  });

  it("picks a range with Shift-click, and a new sort clears the selection and asks the engine from the top", async () => {
    render(() => <RecordsPage entity="contact" />);
    await waitFor(() => expect(rowNames().length).toBe(3));
    fireEvent.click(document.querySelector('[data-testid="contact-row"][data-name="Zoe Adams"]')!);
    fireEvent.click(document.querySelector('[data-testid="contact-row"][data-name="Bob Carter"]')!, { shiftKey: true });
    await waitFor(() => expect(screen.getByTestId("record-count").textContent).toBe("3 records · 3 selected"));
    // The same column again sorts the other way; the selection does not outlive the order.
    fireEvent.click(screen.getByTestId("sort-name"));
    await waitFor(() => expect(rowNames()).toEqual(["Bob Carter", "Ann Baker", "Zoe Adams"]));
    expect(calls.filter((c) => c.cmd === "list_contact_page").pop()!.args).toMatchObject({ offset: 0, limit: PAGE_SIZE, sort: { key: "name", descending: true } });
    expect(screen.getByTestId("record-count").textContent).toBe("3 records · 0 selected");
    expect(document.querySelectorAll('[data-testid="contact-row"][aria-selected="true"]').length).toBe(0);
  });

  it("opens the record it is asked to open, even an inactive one", async () => {
    contacts.push(contact(4, "Ivy", "Stone", "ivy@x.com", "inactive"));
    render(() => <RecordsPage entity="contact" open={{ id: 4 }} />);
    await waitFor(() => expect(screen.getByTestId("record-form").getAttribute("data-id")).toBe("4"));
    expect(input("first_name").value).toBe("Ivy");
    expect(screen.getByTestId("record-title").textContent).toBe("Ivy Stone");
  });
});

describe("the Leads page", () => {
  it("reads its pages from the engine, and sorts by the company name there", async () => {
    const lead = (id: number, company: string) => ({
      id, first_name: "Lead", last_name: String(id).padStart(5, "0"), company_name: company, email_address_1: "", email_address_2: "", email_address_3: "",
      owner_user_id: null, state: "active", created_on: "", modified_on: "2026-11-02T10:00:00Z",
    });
    const leads = Array.from({ length: 50_000 }, (_, i) => lead(i + 1, `Company ${String(50_000 - i).padStart(5, "0")}`));
    mockIPC((cmd, args) => {
      const a = args as Record<string, unknown>;
      calls.push({ cmd, args: a });
      if (cmd === "list_lead_page") {
        const sort = a.sort as { key: string; descending: boolean };
        const key = (l: ReturnType<typeof lead>) => (sort.key === "company_name" ? l.company_name : l.last_name);
        const rows = [...leads].sort((x, y) => key(x).localeCompare(key(y)) * (sort.descending ? -1 : 1));
        const offset = a.offset as number;
        return { rows: rows.slice(offset, offset + (a.limit as number)), total: rows.length };
      }
      throw new Error(`unexpected command ${cmd}`);
    });
    const leadNames = () => [...document.querySelectorAll('[data-testid="lead-row"]')].map((r) => r.getAttribute("data-name"));
    const leadPages = () => calls.filter((c) => c.cmd === "list_lead_page");
    render(() => <RecordsPage entity="lead" />);
    await waitFor(() => expect(leadNames()[0]).toBe("Lead 00001"));
    expect(leadPages().length).toBe(1);
    expect(leadPages()[0].args).toMatchObject({ query: { view: "active", search: null }, sort: { key: "name", descending: false }, offset: 0, limit: PAGE_SIZE });
    expect(leadNames().length).toBeLessThan(100);
    expect(screen.getByTestId("record-count").textContent).toContain("50,000 records");
    // Every column sorts by a key the engine knows.
    expect([...screen.getByTestId("lead-grid").querySelectorAll('[data-testid^="sort-"]')].map((b) => b.getAttribute("data-testid")))
      .toEqual(["sort-name", "sort-company_name", "sort-email_address_1", "sort-owner_user_id", "sort-modified_on"]);
    fireEvent.click(screen.getByTestId("sort-company_name"));
    await waitFor(() => expect(leadNames()[0]).toBe("Lead 50000"));
    expect(leadPages().pop()!.args).toMatchObject({ offset: 0, sort: { key: "company_name", descending: false } });
  });
});
