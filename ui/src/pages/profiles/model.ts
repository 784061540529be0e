// The profile form's model: which input each field is, and which section it sits in. Which
// fields show is decided by the engine (profile_form_fields), not here.
import type { FieldBounds, ProfileChanges_Deserialize, Profile_Serialize } from "../../api";

export type FieldKind = "text" | "number" | "bool" | "date" | "credentialMode" | "authProtocol" | "tlsMode" | "oauthKind" | "authority";

export type EditableField = keyof ProfileChanges_Deserialize & keyof Profile_Serialize;

export const FIELD_KINDS: Partial<Record<EditableField, FieldKind>> = {
  name: "text",
  description: "text",
  tenant_id: "text",
  oauth_client_id: "text",
  oauth_credential_kind: "oauthKind",
  server_authority: "authority",
  aad_resource_id: "text",
  authority_host: "text",
  graph_endpoint: "text",
  use_autodiscover: "bool",
  incoming_location: "text",
  outgoing_location: "text",
  incoming_credential_mode: "credentialMode",
  incoming_user_name: "text",
  incoming_use_impersonation: "bool",
  use_same_settings_for_outgoing: "bool",
  outgoing_credential_mode: "credentialMode",
  outgoing_user_name: "text",
  outgoing_use_impersonation: "bool",
  incoming_port: "number",
  outgoing_port: "number",
  incoming_use_ssl: "bool",
  outgoing_use_ssl: "bool",
  incoming_tls_mode: "tlsMode",
  outgoing_tls_mode: "tlsMode",
  incoming_auth_protocol: "authProtocol",
  outgoing_auth_protocol: "authProtocol",
  ca_file: "text",
  process_email_from: "date",
  min_polling_interval_minutes: "number",
  max_concurrent_connections: "number",
  move_failed_to_undeliverable: "bool",
  send_alert_email: "bool",
  timeout_mailbox_connection: "bool",
  timeout_seconds: "number",
};

export type SectionId = "general" | "incoming" | "outgoing" | "advanced" | "additional" | "notifications" | "errorHandling";

/** The form's sections (tabs of the Dynamics form) and their fields, in order. */
export const SECTIONS: { id: SectionId; fields: EditableField[] }[] = [
  {
    id: "general",
    fields: ["name", "description", "tenant_id", "oauth_client_id", "oauth_credential_kind", "server_authority", "authority_host", "graph_endpoint", "aad_resource_id", "use_autodiscover", "incoming_location", "outgoing_location"],
  },
  { id: "incoming", fields: ["incoming_credential_mode", "incoming_user_name", "incoming_use_impersonation", "use_same_settings_for_outgoing"] },
  { id: "outgoing", fields: ["outgoing_credential_mode", "outgoing_user_name", "outgoing_use_impersonation"] },
  {
    id: "advanced",
    fields: ["incoming_port", "outgoing_port", "incoming_use_ssl", "outgoing_use_ssl", "incoming_tls_mode", "outgoing_tls_mode", "incoming_auth_protocol", "outgoing_auth_protocol", "ca_file"],
  },
  { id: "additional", fields: ["process_email_from", "min_polling_interval_minutes", "max_concurrent_connections", "move_failed_to_undeliverable"] },
  { id: "notifications", fields: ["send_alert_email"] },
  { id: "errorHandling", fields: ["timeout_mailbox_connection", "timeout_seconds"] },
];

export type Draft = Partial<Record<EditableField, unknown>>;

/** The draft of an existing profile. */
export function draftOf(p: Profile_Serialize): Draft {
  const d: Draft = {};
  for (const f of Object.keys(FIELD_KINDS) as EditableField[]) d[f] = p[f];
  return d;
}

/** The change set the engine receives: the visible fields of the draft (hidden ones are left to
 * the engine, which clears them). */
export function changesOf(d: Draft, visible: readonly string[]): ProfileChanges_Deserialize {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(d)) {
    if (!visible.includes(k)) continue;
    if (v === undefined) continue;
    if (FIELD_KINDS[k as EditableField] === "text" && v === null) continue;
    out[k] = v;
  }
  return out as ProfileChanges_Deserialize;
}

/** The fields whose values decide which other fields show: asking the engine again when they change. */
export const VISIBILITY_DRIVERS: EditableField[] = [
  "incoming_credential_mode",
  "outgoing_credential_mode",
  "use_same_settings_for_outgoing",
  "use_autodiscover",
  "incoming_use_ssl",
  "outgoing_use_ssl",
  "timeout_mailbox_connection",
];

/** What the UI checks before asking the engine (the engine checks again and decides). */
export function quickCheck(d: Draft, visible: readonly string[], bounds: readonly FieldBounds[]): { field: string; code: string; params: Record<string, string> } | null {
  const name = String(d.name ?? "").trim();
  if (!name) return { field: "name", code: "field.required", params: { field: "name" } };
  for (const { field: f, min, max } of bounds) {
    if (!visible.includes(f)) continue;
    const v = d[f as EditableField];
    if (typeof v === "number" && (v < min || v > max || !Number.isInteger(v))) {
      return { field: f, code: "field.out_of_range", params: { field: f, min: String(min), max: String(max), value: String(v) } };
    }
  }
  return null;
}
