import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@solidjs/testing-library";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { EmailDetail } from "./EmailDetail";
import { BODY_CSP } from "./labels";
import { setLang } from "../../i18n";
import type { ActivityId, RecordRef } from "../../api";
import { DETAIL } from "./fixtures";

/** A page of `rows` as the engine answers a search: the rows whose fields contain it. */
const pageOf = <T,>(rows: T[], a: Record<string, unknown>) => {
  const s = ((a.query as { search: string | null }).search ?? "").toLowerCase();
  const found = s ? rows.filter((r) => JSON.stringify(r).toLowerCase().includes(s)) : rows;
  return { rows: found, total: found.length };
};

const contact = (id: number, first_name: string, last_name: string) => ({
  id, first_name, last_name, email_address_1: `${first_name.toLowerCase()}@fabrikam.com`, email_address_2: "", email_address_3: "",
  owner_user_id: null, state: "active", created_on: "", modified_on: "",
});

let calls: { cmd: string; args: Record<string, unknown> }[] = [];
let detail: typeof DETAIL;

beforeEach(() => {
  setLang("en");
  calls = [];
  detail = structuredClone(DETAIL);
  mockIPC((cmd, args) => {
    const a = args as Record<string, unknown>;
    calls.push({ cmd, args: a });
    if (cmd === "get_email_activity") return { ...detail, id: a.id };
    if (cmd === "export_email") return "/home/ann/Downloads/Quote for 20 chairs.eml";
    if (cmd === "export_attachment") return "/home/ann/Downloads/quote.pdf";
    if (cmd === "list_contact_page") return pageOf([contact(2, "Ann", "Baker"), contact(4, "Cleo", "Diaz")], a);
    if (cmd === "set_email_regarding") {
      const r = a.regarding as RecordRef | null;
      detail = { ...detail, regarding: r as typeof detail.regarding, regarding_name: r ? (r.id === 4 ? "Cleo Diaz" : "Ann Baker") : "" };
      return detail;
    }
    throw new Error(`unexpected command ${cmd}`);
  });
});

afterEach(() => {
  cleanup();
  clearMocks();
});

function show(opts: { onOpenRecord?: (r: RecordRef) => void; onOpenActivity?: (id: ActivityId) => void } = {}) {
  render(() => (
    <EmailDetail id={11 as ActivityId} onClose={() => {}} onOpenActivity={opts.onOpenActivity ?? (() => {})} onOpenRecord={opts.onOpenRecord} />
  ));
  return screen.findByTestId("activity-subject");
}

const text = (sel: string) => document.querySelector(sel)?.textContent ?? "";

describe("the email detail", () => {
  it("groups the parties by From / To / Cc, each resolved party a link to its record", async () => {
    const opened: RecordRef[] = [];
    await show({ onOpenRecord: (r) => opened.push(r) });
    expect(screen.getByTestId("activity-subject").textContent).toBe("Quote for 20 chairs");
    const from = screen.getByTestId("parties-from");
    const link = from.querySelector('[data-testid="party-link"]')!;
    expect(link.textContent).toBe("Ann Baker");
    expect(link.tagName).toBe("BUTTON");
    expect(from.querySelector('[data-testid="party-entity"]')!.textContent).toBe("Contact");
    // To: in header order; the unresolved address is shown as such.
    const to = [...screen.getByTestId("parties-to").querySelectorAll('[data-testid="party"]')];
    expect(to.map((p) => p.getAttribute("data-address"))).toEqual(["sales@contoso.com", "stranger@elsewhere.com"]);
    expect(to[0].querySelector('[data-testid="party-entity"]')!.textContent).toBe("Queue");
    expect(to[1].getAttribute("data-resolved")).toBe("false");
    expect(to[1].querySelector('[data-testid="party-link"]')).toBeNull();
    expect(to[1].querySelector('[data-testid="party-unresolved"]')!.textContent).toBe("stranger@elsewhere.com");
    expect(to[1].textContent).toContain("unresolved");
    expect(screen.getByTestId("parties-cc").querySelector('[data-testid="party-link"]')!.textContent).toBe("Bob Carter");
    expect(screen.queryByTestId("parties-bcc")).toBeNull();
    fireEvent.click(link);
    expect(opened).toEqual([{ entity: "contact", id: 2 }]);
  });

  it("lists the attachments, marks the ones not saved with the reason, and saves one", async () => {
    await show();
    const rows = document.querySelectorAll('[data-testid="attachment-row"]');
    expect(rows.length).toBe(2);
    expect(rows[0].textContent).toContain("quote.pdf");
    expect(rows[0].textContent).toContain("application/pdf");
    expect(rows[0].textContent).toContain("2 kB");
    expect(rows[0].querySelector('[data-testid="attachment-not-saved"]')).toBeNull();
    const blocked = rows[1].querySelector('[data-testid="attachment-not-saved"]')!;
    expect(blocked.getAttribute("data-reason")).toBe("blocked_extension");
    expect(blocked.textContent).toBe("Not saved: its file type is blocked");
    expect((rows[1].querySelector('[data-testid="attachment-save"]') as HTMLButtonElement).disabled).toBe(true);
    expect(screen.getByTestId("activity-notification").getAttribute("data-notification")).toBe("attachments_not_saved");

    fireEvent.click(rows[0].querySelector('[data-testid="attachment-save"]')!);
    await waitFor(() => expect(screen.getByTestId("attachment-path").textContent).toBe("Saved to /home/ann/Downloads/quote.pdf"));
    expect(calls.find((c) => c.cmd === "export_attachment")!.args).toEqual({ id: 11, position: 0 });
  });

  it("says why it was tracked, and opens the email it was correlated with", async () => {
    const opened: ActivityId[] = [];
    await show({ onOpenActivity: (id) => opened.push(id) });
    expect(text('[data-testid="why-accepting"]')).toBe("Sales Queue");
    expect(screen.getByTestId("why-accepting").getAttribute("data-entity")).toBe("queue");
    expect(text('[data-testid="why-filter"]')).toBe("All email messages");
    expect(text('[data-testid="why-correlation"]')).toBe("In-Reply-To");
    const link = screen.getByTestId("correlated-link");
    expect(link.textContent).toBe("Chairs for the new office");
    fireEvent.click(link);
    expect(opened).toEqual([10]);
    expect(text('[data-testid="receipt"]')).toContain("Sales queue");
  });

  it("words the why in the user's language", async () => {
    setLang("fr");
    await show();
    expect(text('[data-testid="why-filter"]')).toBe("Tous les messages électroniques");
    expect(text('[data-testid="why-accepting"]')).toContain("File d'attente");
  });

  it("shows the HTML body only in a sandboxed frame that runs nothing and loads nothing", async () => {
    await show();
    const frame = screen.getByTestId("email-body-frame") as HTMLIFrameElement;
    expect(frame.tagName).toBe("IFRAME");
    expect(frame.hasAttribute("sandbox")).toBe(true);
    expect(frame.getAttribute("sandbox")).toBe("");
    expect(frame.getAttribute("referrerpolicy")).toBe("no-referrer");
    expect(frame.getAttribute("title")).toBeTruthy();
    expect(frame.hasAttribute("src")).toBe(false);
    const doc = frame.getAttribute("srcdoc")!;
    expect(doc.startsWith(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">`)).toBe(true);
    expect(doc.startsWith(BODY_CSP)).toBe(true);
    expect(doc.slice(BODY_CSP.length)).toBe(DETAIL.body_html_safe);
    // Nothing of the message's markup is in the window's own document.
    expect(document.querySelector(".greeting")).toBeNull();
    expect(document.querySelector('img[alt="logo"]')).toBeNull();
    expect(screen.queryByTestId("email-body-text")).toBeNull();
  });

  it("shows a text-only body in a wrapping <pre>, with no frame", async () => {
    detail.body_html_safe = "";
    detail.body_text = "Line one\nLine two <b>not markup</b>";
    await show();
    const pre = screen.getByTestId("email-body-text");
    expect(pre.tagName).toBe("PRE");
    expect(pre.textContent).toBe("Line one\nLine two <b>not markup</b>");
    expect(pre.querySelector("b")).toBeNull();
    expect(screen.queryByTestId("email-body-frame")).toBeNull();
  });

  it("downloads the .eml and shows where it was saved", async () => {
    await show();
    fireEvent.click(screen.getByTestId("download-eml"));
    await waitFor(() => expect(screen.getByTestId("eml-path").textContent).toBe("Saved to /home/ann/Downloads/Quote for 20 chairs.eml"));
    expect(calls.find((c) => c.cmd === "export_email")!.args).toEqual({ id: 11 });
    expect(screen.getByTestId("eml-path").getAttribute("data-path")).toBe("/home/ann/Downloads/Quote for 20 chairs.eml");
  });

  it("sets the regarding to a contact, then clears it", async () => {
    await show();
    expect(screen.getByTestId("regarding-link").textContent).toBe("Fabrikam");
    // The records are read only when the picker opens.
    expect(calls.some((c) => c.cmd === "list_contact_page")).toBe(false);
    fireEvent.click(screen.getByTestId("regarding-change"));
    await waitFor(() => expect(screen.getByTestId("regarding-record").querySelectorAll("option").length).toBe(2));
    fireEvent.input(screen.getByTestId("regarding-search"), { target: { value: "cleo" } });
    // While the search is read, nothing is offered (a choice then would be of the old matches).
    expect([...screen.getByTestId("regarding-record").querySelectorAll("option")].map((o) => o.value)).toEqual([""]);
    await waitFor(() => expect([...screen.getByTestId("regarding-record").querySelectorAll("option")].map((o) => o.value)).toEqual(["4"]));
    fireEvent.click(screen.getByTestId("regarding-set"));
    await waitFor(() => expect(screen.getByTestId("regarding-link").textContent).toBe("Cleo Diaz"));
    expect(calls.find((c) => c.cmd === "set_email_regarding")!.args).toEqual({ id: 11, regarding: { entity: "contact", id: 4 } });

    fireEvent.click(screen.getByTestId("regarding-clear"));
    await waitFor(() => expect(screen.queryByTestId("regarding-none")).not.toBeNull());
    expect(calls.filter((c) => c.cmd === "set_email_regarding")[1].args).toEqual({ id: 11, regarding: null });
  });

  it("shows the engine's refusal when the regarding cannot be set", async () => {
    mockIPC((cmd) => {
      if (cmd === "get_email_activity") return detail;
      if (cmd === "set_email_regarding") throw { kind: "validation", code: "email.regarding.invalid_entity", params: { entity: "queue" }, message: "" };
      throw new Error(cmd);
    });
    await show();
    fireEvent.click(screen.getByTestId("regarding-clear"));
    await waitFor(() => expect(screen.getByTestId("error-banner").textContent).toBe("An email can be regarding a contact, an account or a lead, not a Queue."));
  });
});
