import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@solidjs/testing-library";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { ProfileForm } from "./ProfileForm";
import { setLang } from "../../i18n";
import type { ProfileId } from "../../api";
import catalog from "../../bindings/catalog.json";

// What the engine answers for an IMAP/SMTP profile (profile_form_fields), as the real engine does.
const IMAP_FIELDS = ["ca_file", "description", "incoming_auth_protocol", "incoming_credential_mode", "incoming_location", "incoming_port",
  "incoming_tls_mode", "incoming_use_ssl", "max_concurrent_connections", "min_polling_interval_minutes", "move_failed_to_undeliverable", "name",
  "outgoing_auth_protocol", "outgoing_location", "outgoing_port", "outgoing_tls_mode", "outgoing_use_ssl", "owner_user_id", "process_email_from",
  "send_alert_email", "timeout_mailbox_connection", "timeout_seconds", "use_same_settings_for_outgoing"];

const draft = {
  id: 0, name: "", description: "", server_type: "imap_smtp", owner_user_id: null, state: "active", tenant_id: "", oauth_client_id: "",
  oauth_credential_kind: null, server_authority: null, aad_resource_id: "", authority_host: "", graph_endpoint: "", use_autodiscover: false, incoming_location: "", outgoing_location: "",
  incoming_credential_mode: "user_or_queue", incoming_user_name: "", incoming_use_impersonation: false, use_same_settings_for_outgoing: true,
  outgoing_credential_mode: "user_or_queue", outgoing_user_name: "", outgoing_use_impersonation: false, incoming_port: null, outgoing_port: null,
  incoming_use_ssl: true, outgoing_use_ssl: true, incoming_tls_mode: "implicit", outgoing_tls_mode: "starttls", incoming_auth_protocol: "auto_detect",
  outgoing_auth_protocol: "auto_detect", ca_file: "", process_email_from: null, min_polling_interval_minutes: 0, max_concurrent_connections: 10,
  move_failed_to_undeliverable: false, send_alert_email: false, timeout_mailbox_connection: true, timeout_seconds: 60, is_incoming_password_set: false,
  is_outgoing_password_set: false, is_oauth_secret_set: false, oauth_certificate_thumbprint: "", last_test_started_on: null, last_test_duration_ms: null, last_test_execution_status: null,
  last_authorization_status: null, last_test_message: "", created_on: "2026-01-01T00:00:00Z", modified_on: "2026-01-01T00:00:00Z",
};

let calls: { cmd: string; args: Record<string, unknown> }[] = [];
let createAnswer: () => unknown;
let testAnswer: () => unknown = () => null;
let alertsAnswer: () => unknown = () => [];
let updateAnswer: () => unknown = () => ({ ...draft, id: 5, name: "Contoso", incoming_location: "imap.contoso.com" });

const step = (direction: string, kind: string, outcome = "success", error_code = "", error_params = {}, error_detail = "") =>
  ({ direction, kind, outcome, duration_ms: 12, info: "", error_code, error_params, error_detail });

beforeEach(() => {
  setLang("en");
  calls = [];
  createAnswer = () => ({ ...draft, id: 5, name: "Contoso" });
  updateAnswer = () => ({ ...draft, id: 5, name: "Contoso", incoming_location: "imap.contoso.com" });
  mockIPC((cmd, args) => {
    calls.push({ cmd, args: args as Record<string, unknown> });
    if (cmd === "form_catalog") return catalog;
    if (cmd === "new_profile_draft") return draft;
    if (cmd === "profile_form_fields") {
      const changes = (args as { changes: Record<string, unknown> }).changes;
      const fields = [...IMAP_FIELDS];
      if (changes.incoming_credential_mode === "profile") fields.push("incoming_user_name");
      return { fields, credential_modes: ["user_or_queue", "profile", "user_oauth"], auth_protocols: ["auto_detect", "basic", "oauth"] };
    }
    if (cmd === "create_profile") return createAnswer();
    if (cmd === "get_profile") return { ...draft, id: 5, name: "Contoso", incoming_location: "imap.contoso.com" };
    if (cmd === "test_profile_connection") return testAnswer();
    if (cmd === "list_alerts") return alertsAnswer();
    if (cmd === "update_profile") return updateAnswer();
    throw new Error(`unexpected command ${cmd}`);
  });
});

afterEach(() => {
  cleanup();
  clearMocks();
});

const shown = (name: string) => document.querySelector(`[data-field="${name}"]`) !== null;

describe("the profile form", () => {
  it("shows exactly the fields the engine says apply to the server type", async () => {
    render(() => <ProfileForm id={null} serverType="imap_smtp" onClose={() => {}} onSaved={() => {}} />);
    await waitFor(() => expect(shown("incoming_location")).toBe(true));
    for (const f of ["incoming_port", "incoming_tls_mode", "max_concurrent_connections", "timeout_seconds"]) expect(shown(f), f).toBe(true);
    for (const f of ["use_autodiscover", "tenant_id", "incoming_use_impersonation", "incoming_user_name", "aad_resource_id"]) expect(shown(f), f).toBe(false);
  });

  it("asks the engine again when the credential mode changes, and shows the user name", async () => {
    render(() => <ProfileForm id={null} serverType="imap_smtp" onClose={() => {}} onSaved={() => {}} />);
    await waitFor(() => expect(shown("incoming_credential_mode")).toBe(true));
    const select = document.querySelector('[data-field="incoming_credential_mode"] select') as HTMLSelectElement;
    fireEvent.change(select, { target: { value: "profile" } });
    await waitFor(() => expect(shown("incoming_user_name")).toBe(true));
    expect(calls.filter((c) => c.cmd === "profile_form_fields").length).toBeGreaterThan(1);
  });

  it("shows the engine's refusal next to its field, in words", async () => {
    createAnswer = () => {
      throw { kind: "validation", code: "profile.location.invalid_host", params: { field: "incoming_location", value: "imap://x" }, message: "" };
    };
    render(() => <ProfileForm id={null} serverType="imap_smtp" onClose={() => {}} onSaved={() => {}} />);
    await waitFor(() => expect(shown("name")).toBe(true));
    fireEvent.input(document.querySelector('[data-field="name"] input')!, { target: { value: "Contoso" } });
    fireEvent.click(screen.getByTestId("profile-save"));
    await waitFor(() => expect(document.querySelector('[data-field="incoming_location"] .field-error')).not.toBeNull());
    expect(document.querySelector('[data-field="incoming_location"] .field-error')!.textContent).toContain("imap.contoso.com");
  });

  it("refuses an out-of-range value before asking the engine", async () => {
    render(() => <ProfileForm id={null} serverType="imap_smtp" onClose={() => {}} onSaved={() => {}} />);
    await waitFor(() => expect(shown("max_concurrent_connections")).toBe(true));
    fireEvent.input(document.querySelector('[data-field="name"] input')!, { target: { value: "Contoso" } });
    fireEvent.input(document.querySelector('[data-field="max_concurrent_connections"] input')!, { target: { value: "0" } });
    fireEvent.click(screen.getByTestId("profile-save"));
    await waitFor(() => expect(document.querySelector('[data-field="max_concurrent_connections"] .field-error')).not.toBeNull());
    expect(calls.some((c) => c.cmd === "create_profile")).toBe(false);
  });

  it("sends only the visible fields when saving", async () => {
    render(() => <ProfileForm id={null} serverType="imap_smtp" onClose={() => {}} onSaved={() => {}} />);
    await waitFor(() => expect(shown("name")).toBe(true));
    fireEvent.input(document.querySelector('[data-field="name"] input')!, { target: { value: "Contoso" } });
    fireEvent.click(screen.getByTestId("profile-save"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "create_profile")).toBe(true));
    const req = calls.find((c) => c.cmd === "create_profile")!.args.request as { changes: Record<string, unknown> };
    expect(Object.keys(req.changes)).not.toContain("tenant_id");
    expect(req.changes.name).toBe("Contoso");
  });

  it("runs Test Connection on a saved profile and shows each step and the failure details in the user's language", async () => {
    testAnswer = () => ({
      status: "failure",
      profile: { ...draft, id: 5, name: "Contoso", last_test_execution_status: "failure", last_test_started_on: "2026-11-30T06:00:00Z" },
      steps: [
        step("incoming", "resolve"), step("incoming", "connect"),
        step("incoming", "tls", "failure", "mail.tls.untrusted", { host: "imap.contoso.com" }, "invalid peer certificate: UnknownIssuer"),
        step("outgoing", "resolve"), step("outgoing", "connect"), step("outgoing", "greeting"),
      ],
    });
    setLang("fr");
    render(() => <ProfileForm id={5 as ProfileId} serverType="imap_smtp" onClose={() => {}} onSaved={() => {}} />);
    const button = await screen.findByTestId("profile-test-connection");
    await waitFor(() => expect((button as HTMLButtonElement).disabled).toBe(false));
    fireEvent.click(button);
    await waitFor(() => expect(screen.getByTestId("connection-test-status").dataset.status).toBe("failure"));
    expect(calls.find((c) => c.cmd === "test_profile_connection")!.args.id).toBe(5);
    // What is tested is what is saved: the form was saved first.
    const order = calls.map((c) => c.cmd).filter((c) => c === "update_profile" || c === "test_profile_connection");
    expect(order).toEqual(["update_profile", "test_profile_connection"]);
    const rows = document.querySelectorAll("[data-testid=connection-test] tbody tr");
    expect(rows.length).toBe(6);
    expect(document.querySelector('[data-step="incoming.tls"]')!.getAttribute("data-outcome")).toBe("failure");
    const details = screen.getByTestId("connection-test-failure");
    expect(details.dataset.code).toBe("mail.tls.untrusted");
    expect(details.textContent).toContain("imap.contoso.com");
    expect(details.textContent).toContain("certificat n'est pas approuvé");
    expect(details.textContent).toContain("UnknownIssuer");
    expect(document.querySelector('[data-step="incoming.tls"]')!.textContent).toContain("Établissement d'une connexion sécurisée");
    // The profile's alerts are read again after the test.
    expect(calls.filter((c) => c.cmd === "list_alerts").every((c) => (c.args.filter as { profile_id: number }).profile_id === 5)).toBe(true);
  });

  it("cannot test the connection of a profile that was never saved", async () => {
    render(() => <ProfileForm id={null} serverType="imap_smtp" onClose={() => {}} onSaved={() => {}} />);
    await waitFor(() => expect(shown("name")).toBe(true));
    expect((screen.getByTestId("profile-test-connection") as HTMLButtonElement).disabled).toBe(true);
  });

  it("does not test a profile whose changes the engine refuses", async () => {
    updateAnswer = () => {
      throw { kind: "validation", code: "field.out_of_range", params: { field: "timeout_seconds", min: "1", max: "100", value: "500" }, message: "" };
    };
    render(() => <ProfileForm id={5 as ProfileId} serverType="imap_smtp" onClose={() => {}} onSaved={() => {}} />);
    const button = await screen.findByTestId("profile-test-connection");
    await waitFor(() => expect((button as HTMLButtonElement).disabled).toBe(false));
    fireEvent.click(button);
    await waitFor(() => expect(calls.some((c) => c.cmd === "update_profile")).toBe(true));
    await new Promise((r) => setTimeout(r, 20));
    expect(calls.some((c) => c.cmd === "test_profile_connection")).toBe(false);
  });

  it("takes an Exchange Online app's certificate from a PEM file and shows its thumbprint", async () => {
    const exo = { ...draft, id: 5, name: "Exchange Online", server_type: "exchange_online", tenant_id: "t", oauth_client_id: "c",
      oauth_credential_kind: "certificate", server_authority: "public", incoming_credential_mode: "profile" };
    const thumbprint = "3A1F09C2B7D4E5F60718293A4B5C6D7E8F901234";
    let pem = "";
    mockIPC((cmd, args) => {
      calls.push({ cmd, args: args as Record<string, unknown> });
      if (cmd === "form_catalog") return catalog;
      if (cmd === "get_profile") return exo;
      if (cmd === "profile_form_fields") return { fields: ["name", "tenant_id", "oauth_client_id", "oauth_credential_kind"], credential_modes: ["profile"], auth_protocols: ["oauth"] };
      if (cmd === "list_alerts") return [];
      if (cmd === "set_profile_secret") {
        pem = String((args as { secret: string }).secret);
        return { ...exo, is_oauth_secret_set: true, oauth_certificate_thumbprint: thumbprint };
      }
      throw new Error(`unexpected command ${cmd}`);
    });
    render(() => <ProfileForm id={5 as ProfileId} serverType="exchange_online" onClose={() => {}} onSaved={() => {}} />);
    const input = await waitFor(() => {
      const i = document.querySelector<HTMLInputElement>('[data-testid="file-oauth_secret"]');
      if (!i) throw new Error("no file input");
      return i;
    });
    expect(document.querySelector('[data-field="oauth_secret"] .label')?.textContent).toBe("Certificate");
    expect(document.querySelector('[data-testid="thumbprint-oauth_secret"]')).toBeNull();
    const text = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    Object.defineProperty(input, "files", { value: [new File([text], "app.pem", { type: "application/x-pem-file" })], configurable: true });
    fireEvent.change(input);
    await waitFor(() => expect(document.querySelector('[data-testid="thumbprint-oauth_secret"]')?.textContent).toBe(thumbprint));
    expect(pem).toBe(text);
    expect(document.querySelector('[data-testid="secret-oauth_secret"]')?.textContent).toBe("Set");
  });
});
