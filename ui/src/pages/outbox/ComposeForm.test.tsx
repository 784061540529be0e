import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@solidjs/testing-library";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import { ComposeForm } from "./ComposeForm";
import { errorField, emptyDraft, recipientsOf, splitAddresses } from "./compose";
import { ApiError, type MailboxId } from "../../api";
import { setLang } from "../../i18n";

/** A page of `rows` as the engine answers a search: the rows whose fields contain it. */
const pageOf = <T,>(rows: T[], a: Record<string, unknown>) => {
  const s = ((a.query as { search: string | null }).search ?? "").toLowerCase();
  const found = s ? rows.filter((r) => JSON.stringify(r).toLowerCase().includes(s)) : rows;
  return { rows: found, total: found.length };
};

const mailbox = (id: number, name: string, email: string, kind: string, enabled_for_outgoing: boolean) => ({
  id, name, email_address: email, kind, enabled_for_outgoing, enabled_for_incoming: true, state: "active",
});
const record = (id: number, fields: Record<string, string>) => ({
  id, first_name: "", last_name: "", email_address_1: "", email_address_2: "", email_address_3: "", owner_user_id: null, state: "active",
  created_on: "", modified_on: "", ...fields,
});

const SENT = {
  id: 41, subject: "Quote for 20 chairs", status: "pending_send", created_on: "2026-12-04T09:00:00Z", sent_on: null,
  parties: [
    { role: "from", position: 0, address: "nancy@contoso.com", display_name: "Nancy", record: { entity: "user", id: 1 }, record_name: "Nancy Anderson" },
    { role: "to", position: 0, address: "ann@fabrikam.com", display_name: "", record: { entity: "contact", id: 2 }, record_name: "Ann Baker" },
  ],
};

let calls: { cmd: string; args: Record<string, unknown> }[] = [];
let sendAnswer: () => unknown;
let status = "pending_send";

beforeEach(() => {
  setLang("en");
  calls = [];
  status = "pending_send";
  sendAnswer = () => SENT;
  mockIPC(
    (cmd, args) => {
      const a = args as Record<string, unknown>;
      calls.push({ cmd, args: a });
      if (cmd === "list_mailbox_page") return pageOf([
        mailbox(9, "Forward", "fwd@contoso.com", "forward", false),
        mailbox(3, "Sales", "sales@contoso.com", "queue", false),
        mailbox(1, "Nancy Anderson", "nancy@contoso.com", "user", true),
      ].filter((m) => !(a.query as { senders_only?: boolean }).senders_only || m.kind !== "forward"), a);
      if (cmd === "list_contact_page") return pageOf([record(2, { first_name: "Ann", last_name: "Baker", email_address_1: "ann@fabrikam.com" }), record(4, { first_name: "Cleo", last_name: "Diaz", email_address_1: "cleo@fabrikam.com" })], a);
      if (cmd === "list_account_page") return pageOf([{ ...record(7, { email_address_1: "orders@fabrikam.com" }), name: "Fabrikam" }], a);
      if (cmd === "list_user_page") return pageOf([{ id: 5, full_name: "Bob Lee", primary_email: "bob@contoso.com", state: "active" }], a);
      if (cmd === "send_email") return sendAnswer();
      if (cmd === "get_email_activity") return { ...SENT, status, sent_on: status === "sent" ? "2026-12-04T09:00:30Z" : null };
      throw new Error(`unexpected command ${cmd}`);
    },
    { shouldMockEvents: true },
  );
});

afterEach(() => {
  cleanup();
  clearMocks();
});

const byId = (id: string) => screen.getByTestId(id) as HTMLInputElement;
const type = (id: string, value: string) => fireEvent.input(byId(id), { target: { value } });

async function pick(prefix: string, entity: string, search: string) {
  fireEvent.click(screen.getByTestId(`${prefix}-lookup`));
  const picker = await screen.findByTestId(`${prefix}-picker`);
  fireEvent.change(screen.getByTestId(`${prefix}-entity`), { target: { value: entity } });
  fireEvent.input(screen.getByTestId(`${prefix}-search`), { target: { value: search } });
  await waitFor(() => expect(picker.querySelectorAll(`[data-testid="${prefix}-record"] option[value]:not([value=""])`).length).toBe(1));
  fireEvent.click(screen.getByTestId(`${prefix}-add`));
  await waitFor(() => expect(screen.queryByTestId(`${prefix}-picker`)).toBeNull());
}

async function open() {
  render(() => <ComposeForm onClose={() => {}} />);
  // Users' and queues' mailboxes only, the one enabled for outgoing email chosen first.
  await waitFor(() => expect(byId("compose-from").querySelectorAll("option").length).toBe(2));
  expect((byId("compose-from") as unknown as HTMLSelectElement).value).toBe("1");
}

describe("New Email", () => {
  it("sends the recipients picked and typed, the HTML body, the files read, the regarding and the Send Later time", async () => {
    await open();
    await pick("compose-to", "contact", "ann");
    type("compose-to", "lan@example.vn; yui@fabrikam.com ;");
    await pick("compose-cc", "user", "bob");
    type("compose-bcc", "audit@contoso.com");
    type("compose-subject", "Quote for 20 chairs");
    fireEvent.click(screen.getByTestId("compose-format-html"));
    type("compose-body", "<p>Here is the <b>quote</b>.</p>");
    const files = screen.getByTestId("compose-attachments") as HTMLInputElement;
    Object.defineProperty(files, "files", {
      configurable: true,
      value: [new File(["hello, world"], "quote.txt", { type: "text/plain" }), new File([new Uint8Array([0, 255, 1])], "raw.bin")],
    });
    fireEvent.change(files);
    await waitFor(() => expect(document.querySelectorAll('[data-testid="compose-attachment"]').length).toBe(2));
    await pick("compose-regarding", "account", "fab");
    fireEvent.click(screen.getByTestId("compose-send-later"));
    type("compose-send-after", "12/24/2026 09:30"); // the user's local time, in the order of the language

    expect([...document.querySelectorAll('[data-testid="recipient-chip"]')].map((c) => [c.getAttribute("data-field"), c.getAttribute("data-entity"), c.getAttribute("data-id")]))
      .toEqual([["compose-to", "contact", "2"], ["compose-cc", "user", "5"], ["compose-regarding", "account", "7"]]);
    fireEvent.click(screen.getByTestId("compose-send"));
    await screen.findByTestId("compose-sent");
    expect(calls.filter((c) => c.cmd === "send_email").map((c) => c.args)).toEqual([{
      request: {
        from_mailbox_id: 1,
        to: [{ record: { entity: "contact", id: 2 }, address: null }, { record: null, address: "lan@example.vn" }, { record: null, address: "yui@fabrikam.com" }],
        cc: [{ record: { entity: "user", id: 5 }, address: null }],
        bcc: [{ record: null, address: "audit@contoso.com" }],
        subject: "Quote for 20 chairs",
        body_text: "",
        body_html: "<p>Here is the <b>quote</b>.</p>",
        attachments: [
          { file_name: "quote.txt", mime_type: "text/plain", content_base64: btoa("hello, world") },
          { file_name: "raw.bin", mime_type: "", content_base64: "AP8B" },
        ],
        regarding: { entity: "account", id: 7 },
        send_after: new Date(2026, 11, 24, 9, 30, 0).toISOString(),
        in_reply_to: null,
      },
    }]);
  });

  it("shows the email sent, Pending Send, and follows it to Sent when its sender's cycle ends", async () => {
    await open();
    type("compose-to", "ann@fabrikam.com");
    type("compose-subject", "Quote for 20 chairs");
    type("compose-body", "Hello");
    fireEvent.click(screen.getByTestId("compose-send"));
    const sent = await screen.findByTestId("compose-sent");
    expect(sent.getAttribute("data-status")).toBe("pending_send");
    expect(sent.getAttribute("data-id")).toBe("41");
    expect(sent.textContent).toContain("The email is in the Outbox. Status: Pending Send.");
    const request = calls.find((c) => c.cmd === "send_email")!.args.request as Record<string, unknown>;
    expect(request.body_text).toBe("Hello");
    expect(request.body_html).toBe("");
    expect(request.send_after).toBeNull();
    expect(request.regarding).toBeNull();

    status = "sent";
    await new Promise((r) => setTimeout(r, 20)); // the listener is registered asynchronously
    await emit("sync-changed", { mailbox_id: 3 }); // another mailbox's cycle: nothing to read
    await emit("sync-changed", { mailbox_id: 1 });
    await waitFor(() => expect(screen.getByTestId("compose-sent").getAttribute("data-status")).toBe("sent"));
    expect(screen.getByTestId("compose-sent").textContent).toContain("Status: Sent.");
    expect(calls.filter((c) => c.cmd === "get_email_activity").length).toBe(1);
  });

  it("shows the engine's refusal next to the field it names, and nothing is shown as sent", async () => {
    sendAnswer = () => {
      throw { kind: "validation", code: "field.not_an_email", params: { field: "cc", value: "not an address" }, message: "" };
    };
    await open();
    type("compose-to", "ann@fabrikam.com");
    type("compose-cc", "not an address");
    type("compose-subject", "Hello");
    fireEvent.click(screen.getByTestId("compose-send"));
    const err = await screen.findByTestId("compose-error-cc");
    expect(err.textContent).toBe('"not an address" is not a valid email address.');
    expect(err.closest('[data-field="cc"]')!.classList.contains("invalid")).toBe(true);
    expect(screen.queryByTestId("compose-error-to")).toBeNull();
    expect(screen.queryByTestId("compose-sent")).toBeNull();
    expect(screen.getByTestId("compose").getAttribute("data-state")).toBe("editing");
  });

  it("puts a refusal that names no field next to the field its code is about", async () => {
    sendAnswer = () => {
      throw { kind: "validation", code: "attachment.blocked", params: { file: "setup.exe" }, message: "" };
    };
    await open();
    type("compose-to", "ann@fabrikam.com");
    type("compose-subject", "Installer");
    fireEvent.click(screen.getByTestId("compose-send"));
    const err = await screen.findByTestId("compose-error-attachments");
    expect(err.textContent).toBe("Files like setup.exe are blocked for attachments in this organization.");
  });

  it("finds the sender by a search the engine runs, and never offers a forward mailbox", async () => {
    await open();
    const options = () => [...(screen.getByTestId("compose-from") as HTMLSelectElement).options].map((o) => o.textContent ?? "");
    await waitFor(() => expect(options().length).toBe(2));
    expect(options().some((o) => o.includes("Forward"))).toBe(false);
    fireEvent.input(screen.getByTestId("compose-from-search"), { target: { value: "sales" } });
    await waitFor(() => expect(calls.some((c) => c.cmd === "list_mailbox_page" && (c.args.query as { search: string | null }).search === "sales")).toBe(true));
    await waitFor(() => expect(options()).toEqual([expect.stringContaining("Sales <sales@contoso.com>")]));
    // The engine leaves the forward mailboxes out, so they never crowd out the senders.
    expect(calls.find((c) => c.cmd === "list_mailbox_page")!.args).toMatchObject({ query: { view: { view: "active" }, senders_only: true }, limit: 50 });
  });

  it("words the form in the user's language", async () => {
    setLang("fr");
    await open();
    expect(screen.getByTestId("compose-send").textContent).toBe("Envoyer");
    expect(byId("compose-to").placeholder).toBe("Adresses séparées par ;");
  });
});

describe("what Send is made of", () => {
  it("splits typed addresses on semicolons and drops blanks", () => {
    expect(splitAddresses(" a@x.com ;b@y.com;; \n c@z.com ")).toEqual(["a@x.com", "b@y.com", "c@z.com"]);
    expect(splitAddresses("  ")).toEqual([]);
  });

  it("lists the records chosen before the addresses typed", () => {
    const d = emptyDraft(1 as MailboxId);
    d.records.to = [{ ref: { entity: "lead", id: 9 }, name: "Bob", address: "bob@x.com" }];
    d.typed.to = "c@z.com";
    expect(recipientsOf(d, "to")).toEqual([{ record: { entity: "lead", id: 9 }, address: null }, { record: null, address: "c@z.com" }]);
  });

  it("finds the field of a refusal: named, an unresolved address's field, the sender, the attachments", () => {
    const d = emptyDraft(1 as MailboxId);
    d.typed.bcc = "who@nowhere.example";
    const err = (code: string, params: Record<string, string> = {}) => new ApiError({ kind: "validation", code, params, message: "" });
    expect(errorField(err("field.required", { field: "subject" }), d)).toBe("subject");
    expect(errorField(err("field.required", { field: "file_name" }), d)).toBe("attachments");
    expect(errorField(err("email.recipient.unresolved", { address: "WHO@nowhere.example" }), d)).toBe("bcc");
    expect(errorField(err("email.recipient.none"), d)).toBe("to");
    expect(errorField(err("email.from.not_allowed", { mailbox: "Forward" }), d)).toBe("from_mailbox_id");
    expect(errorField(err("attachment.too_large", { file: "a.pdf", max_kb: "5120" }), d)).toBe("attachments");
    expect(errorField(err("storage.failed"), d)).toBeUndefined();
    expect(errorField(new Error("plain"), d)).toBeUndefined();
  });
});
