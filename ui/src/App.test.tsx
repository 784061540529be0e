import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@solidjs/testing-library";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { App } from "./App";
import { setLang } from "./i18n";
import { DETAIL } from "./pages/activities/fixtures";
import "./test/viewport";
import catalog from "./bindings/catalog.json";

const record = (id: number, fields: Record<string, string>) => ({
  id, first_name: "", last_name: "", email_address_1: "", email_address_2: "", email_address_3: "", owner_user_id: null, state: "active",
  created_on: "", modified_on: "", ...fields,
});

let calls: { cmd: string; args: Record<string, unknown> }[] = [];
let settings: Record<string, unknown> = {};
let schedulerRunning = true;

beforeEach(() => {
  setLang("en");
  calls = [];
  settings = { default_profile_id: null, sync_in_desktop_app: true, process_email_using: "server_side_sync" };
  schedulerRunning = true;
  mockIPC((cmd, args) => {
    calls.push({ cmd, args: args as Record<string, unknown> });
    if (cmd === "scheduler_status") return { running: schedulerRunning, started_on: null, active: 0, cycles: 0, failures: 0, last_cycle_on: null, next_due_on: null };
    if (cmd === "get_settings") return settings;
    if (cmd === "update_settings") {
      settings = { ...settings, ...(args as { changes: Record<string, unknown> }).changes };
      schedulerRunning = settings.sync_in_desktop_app === true;
      return settings;
    }
    if (cmd === "form_catalog") return catalog;
    if (cmd === "list_outbox_page") return { rows: [], total: 0, counts: { pending_send: 0, sending: 0, failed: 0 } };
    if (cmd === "monitoring_summary") return {
      generated_on: "2026-12-04T09:30:00Z", since: "2026-12-03T09:30:00Z", per_hour: [], latency: [], failures: [], mailboxes: [],
      backlog: { pending_send: 0, sending: 0, failed_emails: 0, possible_duplicates: 0, overdue_workloads: 0 },
    };
    if (cmd === "list_profiles") return [];
    if (cmd === "list_mailboxes") return [];
    if (cmd === "list_mailbox_page") return { rows: [], total: 0 };
    if (cmd === "first_run_progress") return { profile: true, default_profile: true, users_or_queues: true, approved: true, enabled: true };
    if (cmd === "list_user_page" || cmd === "list_queue_page") return { rows: [], total: 0 };
    if (cmd === "list_email_activities") return { total: 1, rows: [{
      id: 11, subject: DETAIL.subject, sender: DETAIL.sender, to: "sales@contoso.com", regarding: null, regarding_name: "",
      received_on: DETAIL.received_on, receiving_mailbox_id: 5, receiving_mailbox_name: "Sales queue", correlation_method: "in_reply_to", attachment_count: 2,
    }] };
    if (cmd === "get_email_activity") return DETAIL;
    const contacts = [record(1, { first_name: "Zoe", last_name: "Adams" }), record(2, { first_name: "Ann", last_name: "Baker" })];
    const leads = [record(9, { first_name: "Bob", last_name: "Carter", company_name: "Fabrikam" })];
    const accounts = [{ ...record(3, {}), name: "Fabrikam" }];
    const a = args as Record<string, unknown>;
    if (cmd === "list_contact_page") return { rows: contacts, total: contacts.length };
    if (cmd === "list_lead_page") return { rows: leads, total: leads.length };
    if (cmd === "list_account_page") return { rows: accounts, total: accounts.length };
    if (cmd === "get_contact") return contacts.find((r) => r.id === a.id);
    if (cmd === "get_lead") return leads.find((r) => r.id === a.id);
    if (cmd === "get_account") return accounts.find((r) => r.id === a.id);
    throw new Error(`unexpected command ${cmd}`);
  });
});

afterEach(() => {
  cleanup();
  clearMocks();
});

async function openTheEmail() {
  render(() => <App />);
  fireEvent.click(screen.getByTestId("nav-activities"));
  await waitFor(() => expect(document.querySelector('[data-testid="activity-row"]')).not.toBeNull());
  fireEvent.click(document.querySelector('[data-testid="activity-row"]')!);
  await waitFor(() => expect(document.querySelector('[data-testid="party-link"]')).not.toBeNull());
}

describe("navigation", () => {
  it("offers the email pages in the sidebar, in the user's language", () => {
    setLang("fr");
    render(() => <App />);
    expect(screen.getByTestId("nav-activities").textContent).toBe("Activités courrier électronique");
    expect(screen.getByTestId("nav-contacts").textContent).toBe("Contacts");
    expect(screen.getByTestId("nav-accounts").textContent).toBe("Comptes");
    expect(screen.getByTestId("nav-leads").textContent).toBe("Prospects");
  });

  it("offers the Outbox and Monitoring, and shows the synchronization indicator", async () => {
    render(() => <App />);
    await waitFor(() => expect(screen.getByTestId("scheduler-status").getAttribute("data-running")).toBe("true"));
    fireEvent.click(screen.getByTestId("nav-outbox"));
    await screen.findByTestId("outbox-grid-empty");
    expect(screen.getByTestId("nav-outbox").textContent).toBe("Outbox");
    fireEvent.click(screen.getByTestId("nav-monitoring"));
    await waitFor(() => expect(screen.getByTestId("chart-per-hour").getAttribute("data-incoming-total")).toBe("0"));
    expect(screen.getByTestId("nav-monitoring").classList.contains("active")).toBe(true);
  });

  it("turns the synchronization in this app off from the settings page, and the indicator says so", async () => {
    render(() => <App />);
    await waitFor(() => expect(screen.getByTestId("scheduler-status").getAttribute("data-running")).toBe("true"));
    fireEvent.click(screen.getByTestId("nav-settings"));
    const box = (await screen.findByText("Synchronize mailboxes in this app while its window is open")).closest("label")!;
    expect(box.closest("[data-section]")!.querySelector("legend")!.textContent).toBe("Synchronization in this app");
    const check = box.querySelector("input") as HTMLInputElement;
    expect(check.checked).toBe(true);
    fireEvent.change(check, { target: { checked: false } });
    fireEvent.click(screen.getByTestId("settings-save"));
    await waitFor(() => expect(screen.getByTestId("scheduler-status").getAttribute("data-running")).toBe("false"));
    expect((calls.find((c) => c.cmd === "update_settings")!.args.changes as Record<string, unknown>).sync_in_desktop_app).toBe(false);
  });

  it("opens New Email from the Email Activities page", async () => {
    render(() => <App />);
    fireEvent.click(screen.getByTestId("nav-activities"));
    fireEvent.click(await screen.findByTestId("activity-new-email"));
    await screen.findByTestId("compose");
    fireEvent.click(screen.getByTestId("compose-close"));
    await waitFor(() => expect(screen.queryByTestId("compose")).toBeNull());
  });

  it("goes from an email's party to that contact, with the contact opened", async () => {
    await openTheEmail();
    fireEvent.click(screen.getByTestId("parties-from").querySelector('[data-testid="party-link"]')!);
    await waitFor(() => expect(screen.getByTestId("record-form").getAttribute("data-id")).toBe("2"));
    expect(screen.getByTestId("record-form").getAttribute("data-entity")).toBe("contact");
    expect(screen.getByTestId("record-title").textContent).toBe("Ann Baker");
    expect(screen.getByTestId("nav-contacts").classList.contains("active")).toBe(true);
    // Closing the record shows the Contacts grid.
    fireEvent.click(screen.getByTestId("record-close"));
    await waitFor(() => expect(document.querySelectorAll('[data-testid="contact-row"]').length).toBe(2));
  });

  it("goes from a Cc party to that lead, and from the regarding to that account", async () => {
    await openTheEmail();
    fireEvent.click(screen.getByTestId("parties-cc").querySelector('[data-testid="party-link"]')!);
    await waitFor(() => expect(screen.getByTestId("record-form").getAttribute("data-entity")).toBe("lead"));
    expect(screen.getByTestId("record-title").textContent).toBe("Bob Carter");

    fireEvent.click(screen.getByTestId("nav-activities"));
    await waitFor(() => expect(document.querySelector('[data-testid="activity-row"]')).not.toBeNull());
    fireEvent.click(document.querySelector('[data-testid="activity-row"]')!);
    fireEvent.click(await screen.findByTestId("regarding-link"));
    await waitFor(() => expect(screen.getByTestId("record-form").getAttribute("data-entity")).toBe("account"));
    expect(screen.getByTestId("record-title").textContent).toBe("Fabrikam");
  });

  it("shows a queue party on the Users & Queues page", async () => {
    await openTheEmail();
    fireEvent.click(screen.getByTestId("parties-to").querySelector('[data-testid="party-link"]')!);
    await waitFor(() => expect(screen.getByTestId("principals-page")).toBeTruthy());
  });
});
