// What the New Email form sends, and where an error it gets back belongs: pure functions, so the
// form's rules are tested without a window.
import { ApiError, type OutgoingAttachment_Deserialize, type Recipient_Deserialize, type RecordRef, type SendEmail_Deserialize, type MailboxId, type ActivityId } from "../../api";

export type Role = "to" | "cc" | "bcc";
export const ROLES: Role[] = ["to", "cc", "bcc"];

/** A record chosen as a recipient, with what the form shows of it. */
export type ChosenRecord = { ref: RecordRef; name: string; address: string };

/** A file read for sending. */
export type ReadFile = OutgoingAttachment_Deserialize & { size: number };

export type Draft = {
  from: MailboxId | null;
  records: Record<Role, ChosenRecord[]>;
  /** The addresses typed, separated by ";". */
  typed: Record<Role, string>;
  subject: string;
  format: "text" | "html";
  body: string;
  attachments: ReadFile[];
  regarding: ChosenRecord | null;
  sendLater: boolean;
  /** The Send Later time as an ISO UTC instant ("" when none); it is typed in local time. */
  sendAfter: string;
  inReplyTo?: ActivityId | null;
};

export const emptyDraft = (from: MailboxId | null = null): Draft => ({
  from,
  records: { to: [], cc: [], bcc: [] },
  typed: { to: "", cc: "", bcc: "" },
  subject: "",
  format: "text",
  body: "",
  attachments: [],
  regarding: null,
  sendLater: false,
  sendAfter: "",
});

/** The addresses typed in a recipient field: separated by ";" (or new lines), blanks dropped. */
export function splitAddresses(text: string): string[] {
  return text
    .split(/[;\n]/)
    .map((a) => a.trim())
    .filter((a) => a !== "");
}

/** The recipients of one field: the records chosen, then the addresses typed. */
export function recipientsOf(d: Draft, role: Role): Recipient_Deserialize[] {
  return [
    ...d.records[role].map((r) => ({ record: r.ref, address: null })),
    ...splitAddresses(d.typed[role]).map((address) => ({ record: null, address })),
  ];
}

/** The request Send makes of the draft. */
export function sendRequest(d: Draft): SendEmail_Deserialize {
  if (d.from === null) throw new Error("no sender mailbox");
  return {
    from_mailbox_id: d.from,
    to: recipientsOf(d, "to"),
    cc: recipientsOf(d, "cc"),
    bcc: recipientsOf(d, "bcc"),
    subject: d.subject,
    body_text: d.format === "text" ? d.body : "",
    body_html: d.format === "html" ? d.body : "",
    attachments: d.attachments.map(({ file_name, mime_type, content_base64 }) => ({ file_name, mime_type, content_base64 })),
    regarding: d.regarding?.ref ?? null,
    send_after: d.sendLater && d.sendAfter ? d.sendAfter : null,
    in_reply_to: d.inReplyTo ?? null,
  };
}

/** The form field an error from Send is about: the one it names, or the one its code points to
 * (an attachment, the sender, a recipient by its address). */
export function errorField(e: unknown, d: Draft): string | undefined {
  if (!(e instanceof ApiError)) return undefined;
  const named = e.field;
  if (named === "file_name") return "attachments";
  if (named) return named;
  const code = e.dto.code;
  const p = e.dto.params;
  if (code.startsWith("attachment.")) return "attachments";
  if (code.startsWith("email.from.")) return "from_mailbox_id";
  if (code === "email.recipient.none") return "to";
  if (code === "email.recipient.unresolved" && p.address) {
    const a = p.address.toLowerCase();
    return ROLES.find((r) => splitAddresses(d.typed[r]).some((x) => x.toLowerCase() === a));
  }
  if (code === "email.recipient.no_address" || (code === "record.not_found" && p.id)) {
    return ROLES.find((r) => d.records[r].some((x) => String(x.ref.id) === p.id && (!p.entity || p.entity === x.ref.entity)));
  }
  return undefined;
}

/** A file's bytes as base64. */
export async function base64Of(file: Blob): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

/** Reads the files chosen for sending. */
export async function readFiles(files: Iterable<File>): Promise<ReadFile[]> {
  const out: ReadFile[] = [];
  for (const f of files) out.push({ file_name: f.name, mime_type: f.type, content_base64: await base64Of(f), size: f.size });
  return out;
}
