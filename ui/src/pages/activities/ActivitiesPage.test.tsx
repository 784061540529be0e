import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@solidjs/testing-library";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { ActivitiesPage, PAGE_SIZE } from "./ActivitiesPage";
import { DETAIL } from "./fixtures";
import { setLang } from "../../i18n";
import "../../test/viewport";

const TOTAL = 1000;
const row = (i: number) => ({
  id: i + 1, subject: `Email ${i}`, sender: `sender${i}@fabrikam.com`, to: "sales@contoso.com; dana@contoso.com",
  regarding: i % 2 ? { entity: "account", id: 3 } : null, regarding_name: i % 2 ? "Fabrikam" : "",
  received_on: "2026-11-30T09:00:00Z", receiving_mailbox_id: 5, receiving_mailbox_name: "Sales queue",
  correlation_method: i % 3 ? "none" : "tracking_token", attachment_count: 0,
});

let calls: { cmd: string; args: Record<string, unknown> }[] = [];
const pages = () => calls.filter((c) => c.cmd === "list_email_activities");

beforeEach(() => {
  setLang("en");
  calls = [];
  mockIPC((cmd, args) => {
    const a = args as Record<string, unknown>;
    calls.push({ cmd, args: a });
    if (cmd === "list_mailbox_page") return { rows: [{ id: 5, name: "Sales queue" }, { id: 6, name: "Dana" }], total: 2 };
    if (cmd === "list_email_activities") {
      const f = a.filter as Record<string, unknown>;
      const total = f.correlation_method ? 3 : TOTAL;
      const offset = a.offset as number;
      const n = Math.max(0, Math.min(a.limit as number, total - offset));
      return { total, rows: Array.from({ length: n }, (_, k) => row(offset + k)) };
    }
    if (cmd === "get_email_activity") return { ...DETAIL, id: a.id };
    throw new Error(`unexpected command ${cmd}`);
  });
});

afterEach(() => {
  cleanup();
  clearMocks();
});

const shownRows = () => [...document.querySelectorAll('[data-testid="activity-row"]')];

describe("the Email Activities page", () => {
  it("reads the first page of 200, knows the total, and shows the columns", async () => {
    render(() => <ActivitiesPage />);
    await waitFor(() => expect(shownRows().length).toBeGreaterThan(0));
    expect(pages()[0].args).toMatchObject({ offset: 0, limit: PAGE_SIZE });
    expect(PAGE_SIZE).toBe(200);
    expect(screen.getByTestId("activity-count").textContent).toBe("1,000 email activities");
    expect(screen.getByTestId("activity-grid").getAttribute("aria-rowcount")).toBe("1001");
    // Virtualised: only the rows in view (and a few more) are in the DOM.
    expect(shownRows().length).toBeLessThan(60);
    const first = shownRows()[0];
    expect(first.getAttribute("role")).toBe("row");
    const cell = (col: string) => first.querySelector(`[data-col="${col}"]`)!.textContent;
    expect(cell("subject")).toBe("Email 0");
    expect(cell("sender")).toBe("sender0@fabrikam.com");
    expect(cell("to")).toBe("sales@contoso.com; dana@contoso.com");
    expect(cell("receiving_mailbox")).toBe("Sales queue");
    expect(cell("correlation_method")).toBe("Tracking token");
    expect(shownRows()[1].querySelector('[data-col="regarding"]')!.textContent).toBe("Fabrikam (Account)");
  });

  it("reads the next page when the user scrolls to it, and only once", async () => {
    render(() => <ActivitiesPage />);
    await waitFor(() => expect(shownRows().length).toBeGreaterThan(0));
    expect(pages().length).toBe(1);
    const body = screen.getByTestId("activity-grid-body");
    body.scrollTop = 195 * 32;
    fireEvent.scroll(body);
    await waitFor(() => expect(pages().some((c) => c.args.offset === 200)).toBe(true));
    await waitFor(() => expect(document.querySelector('[data-testid="activity-row"][data-name="Email 205"]')).not.toBeNull());
    body.scrollTop = 196 * 32;
    fireEvent.scroll(body);
    await new Promise((r) => setTimeout(r, 30));
    expect(pages().filter((c) => c.args.offset === 200).length).toBe(1);
    expect(pages().some((c) => (c.args.offset as number) >= 400)).toBe(false);
  });

  it("filters by correlation method and mailbox, starting again from the first page", async () => {
    render(() => <ActivitiesPage />);
    await waitFor(() => expect(shownRows().length).toBeGreaterThan(0));
    await waitFor(() => expect(screen.getByTestId("activity-mailbox").querySelectorAll("option").length).toBe(3));
    fireEvent.change(screen.getByTestId("activity-correlation"), { target: { value: "in_reply_to" } });
    await waitFor(() => expect(screen.getByTestId("activity-count").textContent).toBe("3 email activities"));
    const last = pages()[pages().length - 1].args;
    expect(last.offset).toBe(0);
    expect((last.filter as Record<string, unknown>).correlation_method).toBe("in_reply_to");
    expect(shownRows().length).toBe(3);
    fireEvent.change(screen.getByTestId("activity-mailbox"), { target: { value: "6" } });
    await waitFor(() => expect((pages()[pages().length - 1].args.filter as Record<string, unknown>).mailbox_id).toBe(6));
  });

  it("searches the text typed, and sends the dates as the start of the local days", async () => {
    render(() => <ActivitiesPage />);
    await waitFor(() => expect(shownRows().length).toBeGreaterThan(0));
    fireEvent.input(screen.getByTestId("activity-search"), { target: { value: "quote" } });
    await waitFor(() => expect((pages()[pages().length - 1].args.filter as Record<string, unknown>).search).toBe("quote"));
    // Typed in the order of the language (English: month/day/year).
    fireEvent.input(screen.getByTestId("activity-from"), { target: { value: "11/01/2026" } });
    fireEvent.input(screen.getByTestId("activity-to"), { target: { value: "11/30/2026" } });
    await waitFor(() => expect((pages()[pages().length - 1].args.filter as Record<string, unknown>).received_to).toBeTruthy());
    const f = pages()[pages().length - 1].args.filter as Record<string, string>;
    expect(f.received_from).toBe(new Date(2026, 10, 1).toISOString());
    // The "to" day is included: the filter ends at the start of the next day.
    expect(f.received_to).toBe(new Date(2026, 11, 1).toISOString());
  });

  it("refreshes from the first page", async () => {
    render(() => <ActivitiesPage />);
    await waitFor(() => expect(shownRows().length).toBeGreaterThan(0));
    const before = pages().length;
    fireEvent.click(screen.getByTestId("activity-refresh"));
    await waitFor(() => expect(pages().length).toBe(before + 1));
    expect(pages()[before].args.offset).toBe(0);
  });

  it("opens a row, follows the correlated email, goes back, and closes", async () => {
    render(() => <ActivitiesPage />);
    await waitFor(() => expect(shownRows().length).toBeGreaterThan(0));
    fireEvent.click(document.querySelector('[data-testid="activity-row"][data-name="Email 4"]')!);
    await waitFor(() => expect(screen.getByTestId("activity-detail").getAttribute("data-id")).toBe("5"));
    expect(calls.find((c) => c.cmd === "get_email_activity")!.args.id).toBe(5);
    await screen.findByTestId("correlated-link");
    fireEvent.click(screen.getByTestId("correlated-link"));
    await waitFor(() => expect(screen.getByTestId("activity-detail").getAttribute("data-id")).toBe("10"));
    fireEvent.click(screen.getByTestId("activity-back"));
    await waitFor(() => expect(screen.getByTestId("activity-detail").getAttribute("data-id")).toBe("5"));
    fireEvent.click(screen.getByTestId("activity-close"));
    await waitFor(() => expect(screen.queryByTestId("activity-detail")).toBeNull());
    expect(shownRows().length).toBeGreaterThan(0);
  });
});
