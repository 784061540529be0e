// The record search shared by the email pages: choose a kind of record (user, queue, contact,
// account, lead), type part of its name or address, pick one of the matches. The engine searches
// the active records of the kind and returns the first matches by name: an organisation may have
// 100,000 of them.
import { For, createEffect, createResource, createSignal, on } from "solid-js";
import { api, call, type EmailEntity, type RecordQuery_Deserialize, type RecordRef } from "../../api";
import { createDebounced } from "../../components/debounced";
import { errorText } from "../../components/form";
import { optionLabel, t } from "../../i18n";
import { KINDS, type AnyRecord } from "../records/kinds";

/** How many matching records the picker lists at once. */
export const PICK_LIMIT = 100;

/** A record as the picker lists it: its name and its email addresses. */
export type Pickable = { id: number; name: string; emails: string[] };

/** A record chosen in the picker. */
export type PickedRecord = { ref: RecordRef; name: string; address: string };

const query = (search: string): RecordQuery_Deserialize => ({ view: "active", search: search.trim() || null });
const BY_NAME = { key: "name", descending: false } as const;

const fromKind = (e: "contact" | "account" | "lead", rows: AnyRecord[]): Pickable[] =>
  rows.map((r) => ({
    id: r.id,
    name: KINDS[e].name(r),
    emails: [r.email_address_1, r.email_address_2, r.email_address_3].filter((a) => a),
  }));

/** The first active records of each kind whose name or address contains the search, by name. */
export const PICK_SOURCES: Record<EmailEntity, (search: string) => Promise<Pickable[]>> = {
  user: async (s) => (await call(api.listUserPage(query(s), BY_NAME, 0, PICK_LIMIT))).rows.map((u) => ({ id: u.id, name: u.full_name, emails: [u.primary_email].filter((a) => a) })),
  queue: async (s) => (await call(api.listQueuePage(query(s), BY_NAME, 0, PICK_LIMIT))).rows.map((q) => ({ id: q.id, name: q.name, emails: [q.email_address].filter((a) => a) })),
  contact: async (s) => fromKind("contact", (await call(api.listContactPage(query(s), BY_NAME, 0, PICK_LIMIT))).rows as unknown as AnyRecord[]),
  account: async (s) => fromKind("account", (await call(api.listAccountPage(query(s), BY_NAME, 0, PICK_LIMIT))).rows as unknown as AnyRecord[]),
  lead: async (s) => fromKind("lead", (await call(api.listLeadPage(query(s), BY_NAME, 0, PICK_LIMIT))).rows as unknown as AnyRecord[]),
};

/** How a record reads in the picker and in a chosen list: "Name <address>". */
export function pickLabel(r: { name: string; address: string }): string {
  const name = r.name || t("common.none");
  return r.address ? `${name} <${r.address}>` : name;
}

/** The three fields of the search. `prefix` names their test ids (`${prefix}-entity`,
 * `${prefix}-search`, `${prefix}-record`); `onChoice` hears the record selected, or null. */
export function RecordPicker(props: { entities: EmailEntity[]; prefix: string; onChoice: (r: PickedRecord | null) => void }) {
  const [entity, setEntity] = createSignal<EmailEntity>(props.entities[0]);
  // The search the engine runs: the text, once typing pauses.
  const box = createDebounced();
  const text = box.text;
  const search = box.value;
  const type = box.input;
  const [choice, setChoice] = createSignal<number | null>(null);
  const [records] = createResource(() => ({ e: entity(), s: search() }), ({ e, s }) => PICK_SOURCES[e](s));
  // While a search is typed or read, the previous matches are not offered: a choice made then
  // would be a record of the previous search.
  const pending = () => records.loading || text() !== search();
  const matches = (): Pickable[] => (records.error || pending() ? [] : (records.latest ?? []));
  createEffect(on(matches, (m) => setChoice(m.length ? m[0].id : null)));
  createEffect(() => {
    const id = choice();
    const r = matches().find((x) => x.id === id);
    props.onChoice(r ? { ref: { entity: entity(), id: r.id }, name: r.name, address: r.emails[0] ?? "" } : null);
  });
  return (
    <>
      <label class="field">
        <span class="label">{t("activity.regarding.lookFor")}</span>
        <select data-testid={`${props.prefix}-entity`} value={entity()} onChange={(e) => setEntity(e.currentTarget.value as EmailEntity)}>
          <For each={props.entities}>{(e) => <option value={e} selected={e === entity()}>{optionLabel("entity", e)}</option>}</For>
        </select>
      </label>
      <label class="field">
        <span class="label">{t("activity.regarding.search")}</span>
        <input type="search" data-testid={`${props.prefix}-search`} value={text()} onInput={(e) => type(e.currentTarget.value)} />
      </label>
      <label class="field">
        <span class="label">{t("activity.regarding.record")}</span>
        <select data-testid={`${props.prefix}-record`} onChange={(e) => setChoice(e.currentTarget.value ? Number(e.currentTarget.value) : null)}>
          <For each={matches()} fallback={<option value="">{pending() ? t("common.loading") : records.error ? errorText(records.error) : t("common.empty")}</option>}>
            {(r) => <option value={r.id} selected={r.id === choice()}>{pickLabel({ name: r.name, address: r.emails[0] ?? "" })}</option>}
          </For>
        </select>
      </label>
    </>
  );
}
