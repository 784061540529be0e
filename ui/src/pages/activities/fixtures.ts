// An email activity as the engine describes it, for the tests.
import type { RecordRef } from "../../api";

const party = (role: string, position: number, address: string, record: RecordRef | null, record_name = "", display_name = "") =>
  ({ role, position, address, display_name, record, record_name });

export const DETAIL = {
  id: 11, subject: "Quote for 20 chairs", body_text: "Hello there",
  body_html_safe: '<p>Hello <b class="greeting">there</b></p><img alt="logo" src="data:image/png;base64,iVBORw0KGgo=">',
  sender: "ann@fabrikam.com", direction: "incoming", status: "received", message_id: "<m1@fabrikam.com>", in_reply_to: "<m0@contoso.com>",
  references_ids: "<m0@contoso.com>", conversation_index: "", tracking_token: "",
  correlation_method: "in_reply_to", correlated_activity_id: 10, correlated_subject: "Chairs for the new office", parent_activity_id: 10,
  regarding: { entity: "account", id: 3 }, regarding_name: "Fabrikam",
  receiving_mailbox_id: 5, accepting: { entity: "queue", id: 2 }, accepting_name: "Sales", accepting_filter: "all_email",
  owner_user_id: 7, owner_name: "Dana", size_bytes: 20480, notifications: "attachments_not_saved", internet_headers: null,
  sent_on: "2026-11-30T08:59:00Z", received_on: "2026-11-30T09:00:00Z", created_on: "2026-11-30T09:00:05Z",
  parties: [
    party("to", 1, "stranger@elsewhere.com", null),
    party("from", 0, "ann@fabrikam.com", { entity: "contact", id: 2 }, "Ann Baker", "Ann"),
    party("to", 0, "sales@contoso.com", { entity: "queue", id: 2 }, "Sales"),
    party("cc", 0, "bob@fabrikam.com", { entity: "lead", id: 9 }, "Bob Carter", "Bob"),
  ],
  attachments: [
    { position: 0, part_index: 2, file_name: "quote.pdf", mime_type: "application/pdf", content_id: "", size_bytes: 2048, not_saved: null },
    { position: 1, part_index: 3, file_name: "setup.exe", mime_type: "application/octet-stream", content_id: "", size_bytes: 4096, not_saved: "blocked_extension" },
  ],
  receipts: [{ mailbox_id: 5, mailbox_name: "Sales queue", received_on: "2026-11-30T09:00:00Z" }],
  queue_ids: [2],
};
