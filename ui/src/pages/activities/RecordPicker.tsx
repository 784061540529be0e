// The record search shared by the email pages: choose a kind of record (user, queue, contact,
// account, lead), type part of its name or address, pick one of the matches. The records of a
// kind are read when the picker shows it.
import { For, createEffect, createMemo, createResource, createSignal, on } from "solid-js";
import { api, call, type EmailEntity, type RecordRef } from "../../api";
import { errorText } from "../../components/form";
import { lang, optionLabel, t } from "../../i18n";
import { KINDS } from "../records/kinds";

/** How many matching records the picker lists at once. */
export const PICK_LIMIT = 100;

/** A record as the picker lists it: its name and its email addresses. */
export type Pickable = { id: number; name: string; emails: string[] };

/** A record chosen in the picker. */
export type PickedRecord = { ref: RecordRef; name: string; address: string };

const fromKind = (e: "contact" | "account" | "lead") => async (): Promise<Pickable[]> =>
  (await KINDS[e].list("active")).map((r) => ({
    id: r.id,
    name: KINDS[e].name(r),
    emails: [r.email_address_1, r.email_address_2, r.email_address_3].filter((a) => a),
  }));

/** Where the active records of each kind are read. */
export const PICK_SOURCES: Record<EmailEntity, () => Promise<Pickable[]>> = {
  user: async () => (await call(api.listUsers("active"))).map((u) => ({ id: u.id, name: u.full_name, emails: [u.primary_email].filter((a) => a) })),
  queue: async () => (await call(api.listQueues("active"))).map((q) => ({ id: q.id, name: q.name, emails: [q.email_address].filter((a) => a) })),
  contact: fromKind("contact"),
  account: fromKind("account"),
  lead: fromKind("lead"),
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
  const [query, setQuery] = createSignal("");
  const [choice, setChoice] = createSignal<number | null>(null);
  const [records] = createResource(entity, (e) => PICK_SOURCES[e]());
  const matches = createMemo(() => {
    const q = query().trim().toLocaleLowerCase(lang());
    const out: Pickable[] = [];
    for (const r of (records.error ? undefined : records()) ?? []) {
      if (!q || [r.name, ...r.emails].some((v) => v.toLocaleLowerCase(lang()).includes(q))) out.push(r);
      if (out.length >= PICK_LIMIT) break;
    }
    return out;
  });
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
        <input type="search" data-testid={`${props.prefix}-search`} value={query()} onInput={(e) => setQuery(e.currentTarget.value)} />
      </label>
      <label class="field">
        <span class="label">{t("activity.regarding.record")}</span>
        <select data-testid={`${props.prefix}-record`} onChange={(e) => setChoice(e.currentTarget.value ? Number(e.currentTarget.value) : null)}>
          <For each={matches()} fallback={<option value="">{records.loading ? t("common.loading") : records.error ? errorText(records.error) : t("common.empty")}</option>}>
            {(r) => <option value={r.id} selected={r.id === choice()}>{pickLabel({ name: r.name, address: r.emails[0] ?? "" })}</option>}
          </For>
        </select>
      </label>
    </>
  );
}
