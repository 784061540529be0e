import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@solidjs/testing-library";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { OutboxPage } from "./OutboxPage";
import { setLang } from "../../i18n";
import "../../test/viewport";

const row = (id: number, subject: string, status: string, extra: Record<string, unknown> = {}) => ({
  id, subject, sender_mailbox_id: 1, sender_mailbox_name: "Nancy Anderson", to: "ann@fabrikam.com", status, delivery_attempts: 0,
  send_after: null, created_on: "2026-12-04T09:00:00Z", last_error_code: "", last_error_params: {}, possible_duplicate: false, ...extra,
});

let calls: { cmd: string; args: Record<string, unknown> }[] = [];
let outbox: ReturnType<typeof row>[] = [];

// The engine's answer: a window of one tab's rows, its total, and every tab's count.
function page(a: Record<string, unknown>) {
  const of = (s: unknown) => outbox.filter((r) => s === null || r.status === s);
  const rows = of(a.status);
  const offset = a.offset as number;
  return {
    rows: rows.slice(offset, offset + (a.limit as number)),
    total: rows.length,
    counts: { pending_send: of("pending_send").length, sending: of("sending").length, failed: of("failed").length },
  };
}

beforeEach(() => {
  setLang("en");
  calls = [];
  outbox = [
    row(1, "Quote", "pending_send", { send_after: "2026-12-24T09:30:00Z" }),
    row(2, "Waiting for Test & Enable", "pending_send", {
      sender_mailbox_id: 3, sender_mailbox_name: "Sales", last_error_code: "mailbox.outgoing.not_enabled", last_error_params: { mailbox: "Sales" },
    }),
    row(3, "Invoice", "failed", {
      delivery_attempts: 10, last_error_code: "email.delivery_attempts_exhausted", last_error_params: { attempts: "10" }, possible_duplicate: true,
    }),
    row(4, "Leaving now", "sending", { delivery_attempts: 1 }),
  ];
  mockIPC((cmd, args) => {
    const a = args as Record<string, unknown>;
    calls.push({ cmd, args: a });
    if (cmd === "list_outbox_page") return page(a);
    if (cmd === "retry_email") {
      outbox = outbox.map((r) => (r.id === a.id ? { ...r, status: "pending_send", delivery_attempts: 0 } : r));
      return { id: a.id, status: "pending_send" };
    }
    if (cmd === "send_pending") return (a.ids as number[]).map((id) => ({
      mailbox_id: id, sent: id === 1 ? 1 : 0, found_sent: 0, failed: 0, retried_later: 0, possible_duplicates: 0, copied_to_sent: 0,
      error: id === 3 ? { kind: "validation", code: "mailbox.outgoing.not_enabled", params: { mailbox: "Sales" }, message: "" } : null,
    }));
    throw new Error(`unexpected command ${cmd}`);
  });
});

afterEach(() => {
  cleanup();
  clearMocks();
});

const rows = () => [...document.querySelectorAll('[data-testid="outbox-row"]')];
const rowOf = (id: number) => document.querySelector(`[data-testid="outbox-row"][data-id="${id}"]`)!;

describe("the Outbox", () => {
  it("lists Pending Send, Sending and Failed emails with their counts, senders, attempts and reasons", async () => {
    render(() => <OutboxPage />);
    await waitFor(() => expect(rows().length).toBe(2));
    expect(screen.getByTestId("outbox-tab-pending_send").textContent).toBe("Pending Send (2)");
    expect(screen.getByTestId("outbox-tab-sending").textContent).toBe("Sending (1)");
    expect(screen.getByTestId("outbox-tab-failed").textContent).toBe("Failed (1)");
    expect(calls.find((c) => c.cmd === "list_outbox_page")!.args).toEqual({ status: "pending_send", offset: 0, limit: 200 });
    const waiting = rowOf(2);
    expect(waiting.textContent).toContain("Sales");
    expect(waiting.querySelector('[data-testid="outbox-reason"]')!.textContent)
      .toBe("The mailbox Sales is not enabled for outgoing email: its email waits. Run Test & Enable Mailbox.");
    expect(rowOf(1).textContent).toMatch(/2026/); // the Send Later time
    expect(document.querySelector('[data-testid="outbox-retry"]')).toBeNull();

    fireEvent.click(screen.getByTestId("outbox-tab-failed"));
    await waitFor(() => expect(rows().map((r) => r.getAttribute("data-id"))).toEqual(["3"]));
    const failed = rowOf(3);
    expect(failed.querySelector('[data-testid="outbox-status"]')!.textContent).toBe("Failed");
    expect(failed.querySelector('[data-testid="outbox-reason"]')!.textContent).toBe("The email could not be sent after 10 attempts.");
    expect(failed.getAttribute("data-attempts")).toBe("10");
    const dup = failed.querySelector('[data-testid="possible-duplicate"]')!;
    expect(dup.textContent).toBe("Possible duplicate");
    expect(dup.getAttribute("title")).toContain("may already have reached its recipients");
  });

  it("retries a failed email: it goes back to Pending Send", async () => {
    render(() => <OutboxPage />);
    await waitFor(() => expect(rows().length).toBe(2));
    fireEvent.click(screen.getByTestId("outbox-tab-failed"));
    await waitFor(() => expect(rows().length).toBe(1));
    fireEvent.click(rowOf(3).querySelector('[data-testid="outbox-retry"]')!);
    await waitFor(() => expect(screen.getByTestId("outbox-notice").textContent).toBe("The email is back in Pending Send."));
    expect(calls.filter((c) => c.cmd === "retry_email").map((c) => c.args)).toEqual([{ id: 3 }]);
    // The Outbox is read again: the failed tab is empty, the email waits with the others.
    await waitFor(() => expect(screen.getByTestId("outbox-tab-failed").textContent).toBe("Failed (0)"));
    expect(screen.getByTestId("outbox-grid-empty")).toBeTruthy();
    fireEvent.click(screen.getByTestId("outbox-tab-pending_send"));
    await waitFor(() => expect(rows().map((r) => r.getAttribute("data-id"))).toEqual(["1", "2", "3"]));
  });

  it("sends now for the senders of the selected emails, each sender once, and says what each did", async () => {
    render(() => <OutboxPage />);
    await waitFor(() => expect(rows().length).toBe(2));
    const sendNow = screen.getByTestId("outbox-send-now") as HTMLButtonElement;
    expect(sendNow.disabled).toBe(true);
    for (const id of [1, 2]) fireEvent.click(rowOf(id).querySelector('[data-testid="outbox-row-select"]')!);
    await waitFor(() => expect(sendNow.disabled).toBe(false));
    fireEvent.click(sendNow);
    const results = await screen.findByTestId("send-results");
    expect(calls.find((c) => c.cmd === "send_pending")!.args).toEqual({ ids: [1, 3] });
    const nancy = results.querySelector('[data-testid="send-result"][data-mailbox="1"]')!;
    expect(nancy.getAttribute("data-sent")).toBe("1");
    expect(nancy.textContent).toContain("Nancy Anderson");
    const sales = results.querySelector('[data-testid="send-result"][data-mailbox="3"]')!;
    expect(sales.getAttribute("data-status")).toBe("error");
    expect(sales.textContent).toContain("is not enabled for outgoing email");
  });

  it("opens New Email from the Outbox, and comes back to it", async () => {
    mockIPC((cmd) => {
      if (cmd === "list_outbox_page") return { rows: [], total: 0, counts: { pending_send: 0, sending: 0, failed: 0 } };
      if (cmd === "list_mailbox_page") return { rows: [], total: 0 };
      throw new Error(`unexpected command ${cmd}`);
    });
    render(() => <OutboxPage />);
    await screen.findByTestId("outbox-grid-empty");
    fireEvent.click(screen.getByTestId("outbox-new-email"));
    await screen.findByTestId("compose");
    expect(await screen.findByTestId("compose-no-mailbox")).toBeTruthy();
    fireEvent.click(screen.getByTestId("compose-close"));
    await screen.findByTestId("outbox-page");
  });

  it("forgets a chosen email once it has left the tab, and never chooses one without a sender", async () => {
    outbox.push(row(5, "No sender", "pending_send", { sender_mailbox_id: null, sender_mailbox_name: "" }));
    render(() => <OutboxPage />);
    await waitFor(() => expect(rows().length).toBe(3));
    const sendNow = screen.getByTestId("outbox-send-now") as HTMLButtonElement;
    fireEvent.click(rowOf(5).querySelector('[data-testid="outbox-row-select"]')!);
    expect(sendNow.disabled).toBe(true);
    fireEvent.click(rowOf(1).querySelector('[data-testid="outbox-row-select"]')!);
    await waitFor(() => expect(sendNow.disabled).toBe(false));
    // The email is sent meanwhile: the next read no longer lists it, and nothing is chosen.
    outbox = outbox.filter((r) => r.id !== 1);
    fireEvent.click(screen.getByTestId("outbox-refresh"));
    await waitFor(() => expect(rowOf(1)).toBeNull());
    await waitFor(() => expect(sendNow.disabled).toBe(true));
    expect(screen.getByTestId("outbox-tab-pending_send").textContent).toBe("Pending Send (2)");
  });
});
