// Contacts, Accounts and Leads: the three record tables an email's parties resolve to. One page
// serves them all; this says what differs between them (fields, name, engine calls).
import { api, call, type ImportSummary, type PrincipalView, type RecordQuery_Deserialize, type RecordSelection_Deserialize, type RecordSort_Deserialize, type RecordState, type UserId } from "../../api";
import type { Key } from "../../i18n";

export type RecordEntity = "contact" | "account" | "lead";

/** The fields every kind shares, as the page reads them. */
export type AnyRecord = {
  id: number;
  state: RecordState;
  owner_user_id: UserId | null;
  email_address_1: string;
  email_address_2: string;
  email_address_3: string;
  created_on: string;
  modified_on: string;
  [field: string]: unknown;
};

/** What the form may send: text fields and the owner. */
export type RecordChanges = { [field: string]: string | UserId | null | undefined; owner_user_id?: UserId | null };

export type RecordKind = {
  entity: RecordEntity;
  /** The page's title (plural) and the New command. */
  title: Key;
  newTitle: Key;
  /** The text fields of the form, in order (the owner follows). */
  textFields: string[];
  /** The grid's text columns after the name (then the owner and Modified On). */
  columns: string[];
  /** The label of the name column. */
  nameLabel: string;
  name: (r: AnyRecord) => string;
  list: (view: PrincipalView) => Promise<AnyRecord[]>;
  /** Rows `offset..offset + limit` of a view, sorted and searched by the engine, and its size. */
  page: (query: RecordQuery_Deserialize, sort: RecordSort_Deserialize, offset: number, limit: number) => Promise<{ rows: AnyRecord[]; total: number }>;
  /** The ids of a selection (a whole view is read in the engine). */
  selectedIds: (selection: RecordSelection_Deserialize) => Promise<number[]>;
  get: (id: number) => Promise<AnyRecord>;
  create: (changes: RecordChanges) => Promise<AnyRecord>;
  update: (id: number, changes: RecordChanges) => Promise<AnyRecord>;
  setState: (ids: number[], state: RecordState) => Promise<AnyRecord[]>;
  importCsv: (csv: string) => Promise<ImportSummary>;
};

const EMAILS = ["email_address_1", "email_address_2", "email_address_3"];

const personName = (r: AnyRecord) => [r.first_name, r.last_name].filter((x) => typeof x === "string" && x).join(" ");

// The engine's DTOs are structurally these records; the casts only widen the branded ids.
export const KINDS: Record<RecordEntity, RecordKind> = {
  contact: {
    entity: "contact",
    title: "nav.contacts",
    newTitle: "records.new.contact",
    textFields: ["first_name", "last_name", ...EMAILS],
    columns: ["email_address_1"],
    nameLabel: "full_name",
    name: personName,
    list: (v) => call(api.listContacts(v)) as Promise<any>,
    page: (q, sort, offset, limit) => call(api.listContactPage(q, sort, offset, limit)) as Promise<any>,
    selectedIds: (sel) => call(api.selectedContactIds(sel)) as Promise<any>,
    get: (id) => call(api.getContact(id as any)) as Promise<any>,
    create: (c) => call(api.createContact(c as any)) as Promise<any>,
    update: (id, c) => call(api.updateContact(id as any, c as any)) as Promise<any>,
    setState: (ids, s) => call(api.setContactState(ids as any, s)) as Promise<any>,
    importCsv: (csv) => call(api.importContacts(csv)),
  },
  account: {
    entity: "account",
    title: "nav.accounts",
    newTitle: "records.new.account",
    textFields: ["name", ...EMAILS],
    columns: ["email_address_1"],
    nameLabel: "name",
    name: (r) => String(r.name ?? ""),
    list: (v) => call(api.listAccounts(v)) as Promise<any>,
    page: (q, sort, offset, limit) => call(api.listAccountPage(q, sort, offset, limit)) as Promise<any>,
    selectedIds: (sel) => call(api.selectedAccountIds(sel)) as Promise<any>,
    get: (id) => call(api.getAccount(id as any)) as Promise<any>,
    create: (c) => call(api.createAccount(c as any)) as Promise<any>,
    update: (id, c) => call(api.updateAccount(id as any, c as any)) as Promise<any>,
    setState: (ids, s) => call(api.setAccountState(ids as any, s)) as Promise<any>,
    importCsv: (csv) => call(api.importAccounts(csv)),
  },
  lead: {
    entity: "lead",
    title: "nav.leads",
    newTitle: "records.new.lead",
    textFields: ["first_name", "last_name", "company_name", ...EMAILS],
    columns: ["company_name", "email_address_1"],
    nameLabel: "full_name",
    name: personName,
    list: (v) => call(api.listLeads(v)) as Promise<any>,
    page: (q, sort, offset, limit) => call(api.listLeadPage(q, sort, offset, limit)) as Promise<any>,
    selectedIds: (sel) => call(api.selectedLeadIds(sel)) as Promise<any>,
    get: (id) => call(api.getLead(id as any)) as Promise<any>,
    create: (c) => call(api.createLead(c as any)) as Promise<any>,
    update: (id, c) => call(api.updateLead(id as any, c as any)) as Promise<any>,
    setState: (ids, s) => call(api.setLeadState(ids as any, s)) as Promise<any>,
    importCsv: (csv) => call(api.importLeads(csv)),
  },
};

/** The form's values for a record (or a new one). */
export function valuesOf(kind: RecordKind, r: AnyRecord | null): RecordChanges {
  const out: RecordChanges = {};
  for (const f of kind.textFields) out[f] = r ? String(r[f] ?? "") : "";
  out.owner_user_id = r ? r.owner_user_id : null;
  return out;
}

/** What Save sends: for a new record, the fields filled in; for a saved one, the fields changed. */
export function changesOf(kind: RecordKind, original: AnyRecord | null, values: RecordChanges): RecordChanges {
  const before = valuesOf(kind, original);
  const out: RecordChanges = {};
  for (const f of kind.textFields) {
    const v = (values[f] as string | undefined) ?? "";
    if (original === null ? v !== "" : v !== before[f]) out[f] = v;
  }
  const owner = values.owner_user_id ?? null;
  if (original === null ? owner !== null : owner !== before.owner_user_id) out.owner_user_id = owner;
  return out;
}
