import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@solidjs/testing-library";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { ALERTS_PAGE_SIZE, AlertsPage } from "./AlertsPage";
import { setLang } from "../../i18n";
import "../../test/viewport";

const TOTAL = 5000;
const alert = (i: number) => ({
  id: i + 1,
  level: i % 10 === 0 ? "error" : "warning",
  code: i % 10 === 0 ? "mail.tls.untrusted" : "mailbox.not_approved",
  params: { mailbox: `Mailbox ${i}` },
  regarding: i % 2 ? { type: "profile", id: 1 } : { type: "mailbox", id: 7 },
  detail: i === 0 ? "invalid peer certificate: UnknownIssuer" : "",
  first_seen: "2026-12-01T09:00:00Z",
  last_seen: "2026-12-04T09:00:00Z",
  count: i === 0 && raisedAgain ? 42 : i + 1,
});

let calls: { cmd: string; args: Record<string, unknown> }[] = [];
let deleted = false;
let raisedAgain = false;
const pages = () => calls.filter((c) => c.cmd === "list_alert_page");
const shownRows = () => [...document.querySelectorAll('[data-testid="alert-row"]')];

beforeEach(() => {
  setLang("en");
  calls = [];
  deleted = false;
  raisedAgain = false;
  mockIPC((cmd, args) => {
    const a = args as Record<string, unknown>;
    calls.push({ cmd, args: a });
    if (cmd === "list_profiles") return [{ id: 1, name: "Contoso IMAP" }];
    if (cmd === "list_mailbox_page") return { rows: [{ id: 7, name: "Sales queue" }], total: 1 };
    if (cmd === "get_mailbox") return { id: a.id, name: "Sales queue" };
    if (cmd === "list_alert_page") {
      const f = a.filter as Record<string, unknown>;
      const total = deleted ? 0 : f.level === "error" ? TOTAL / 10 : TOTAL;
      const offset = a.offset as number;
      const n = Math.max(0, Math.min(a.limit as number, total - offset));
      const at = (k: number) => (f.level === "error" ? alert(k * 10) : alert(k));
      return { total, rows: Array.from({ length: n }, (_, k) => at(offset + k)) };
    }
    if (cmd === "delete_alerts") {
      deleted = true;
      return TOTAL;
    }
    throw new Error(`unexpected command ${cmd}`);
  });
});

afterEach(() => {
  cleanup();
  clearMocks();
});

describe("the Alerts wall", () => {
  it("reads one page of alerts at a time, not the whole wall", async () => {
    render(() => <AlertsPage />);
    await waitFor(() => expect(shownRows().length).toBeGreaterThan(0));
    expect(pages().map((c) => c.args)).toEqual([
      { filter: { level: null, profile_id: null, mailbox_id: null }, offset: 0, limit: ALERTS_PAGE_SIZE },
    ]);
    expect(screen.getByTestId("alerts-count").textContent).toBe("5,000 alerts");
    expect(shownRows().length).toBeLessThan(60);
    const first = shownRows()[0];
    expect(first.getAttribute("data-code")).toBe("mail.tls.untrusted");
    expect(first.getAttribute("data-level")).toBe("error");
    await waitFor(() => expect(first.querySelector('[data-col="regarding"]')!.textContent).toBe("Sales queue"));
    expect(shownRows()[1].querySelector('[data-col="regarding"]')!.textContent).toBe("Contoso IMAP");
    // The mailbox's name is looked up once, however many of its alerts are shown.
    expect(calls.filter((c) => c.cmd === "get_mailbox").length).toBe(1);

    const body = screen.getByTestId("alerts-grid-body");
    body.scrollTop = 3000 * 32;
    fireEvent.scroll(body);
    await waitFor(() => expect(pages().some((c) => c.args.offset === 3000)).toBe(true));
    expect(pages().length).toBeLessThan(4);
  });

  it("filters by level in the engine, and shows an alert's details when it is chosen", async () => {
    render(() => <AlertsPage />);
    await waitFor(() => expect(shownRows().length).toBeGreaterThan(0));
    fireEvent.click(screen.getByTestId("alerts-tab-error"));
    await waitFor(() => expect(screen.getByTestId("alerts-count").textContent).toBe("500 alerts"));
    expect(pages()[pages().length - 1].args.filter).toEqual({ level: "error", profile_id: null, mailbox_id: null });
    expect(shownRows().every((r) => r.getAttribute("data-level") === "error")).toBe(true);
    expect(screen.queryByTestId("alert-detail")).toBeNull();
    fireEvent.click(shownRows()[0]);
    const detail = await screen.findByTestId("alert-detail");
    expect(detail.getAttribute("data-code")).toBe("mail.tls.untrusted");
    expect(screen.getByTestId("alert-detail-text").textContent).toBe("invalid peer certificate: UnknownIssuer");
    expect(shownRows()[0].getAttribute("aria-current")).toBe("true");
    // Raised again meanwhile: a refresh shows its new count in the details.
    raisedAgain = true;
    fireEvent.click(screen.getByTestId("alerts-refresh"));
    await waitFor(() => expect(screen.getByTestId("alert-detail").textContent).toContain("42"));
    fireEvent.click(screen.getByTestId("alert-detail-close"));
    expect(screen.queryByTestId("alert-detail")).toBeNull();
  });

  it("deletes the alerts of the filter and reads the wall again", async () => {
    render(() => <AlertsPage />);
    await waitFor(() => expect(shownRows().length).toBeGreaterThan(0));
    fireEvent.click(screen.getByTestId("alerts-delete"));
    // First a confirmation that says how many, on Cancel: Cancel deletes nothing.
    const confirm = await screen.findByTestId("dialog-delete-alerts");
    expect(confirm.getAttribute("role")).toBe("alertdialog");
    expect(confirm.textContent).toContain("Delete the 5,000 alerts shown?");
    await waitFor(() => expect(document.activeElement?.textContent).toBe("Cancel"));
    fireEvent.click(document.activeElement!);
    expect(screen.queryByTestId("dialog-delete-alerts")).toBeNull();
    expect(calls.some((c) => c.cmd === "delete_alerts")).toBe(false);
    fireEvent.click(screen.getByTestId("alerts-delete"));
    fireEvent.click((await screen.findByTestId("dialog-delete-alerts")).querySelector('[data-testid="dialog-ok"]')!);
    await waitFor(() => expect(screen.getByTestId("alerts-count").textContent).toBe("0 alerts"));
    await waitFor(() => expect(document.activeElement).toBe(screen.getByTestId("alerts-refresh")));
    expect(calls.find((c) => c.cmd === "delete_alerts")!.args).toEqual({ filter: { level: null, profile_id: null, mailbox_id: null } });
    expect(screen.getByTestId("alerts-grid-empty")).toBeTruthy();
  });
});
