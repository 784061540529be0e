// Choosing an owner (of a queue, a contact, an account, a lead): a search box whose matches the
// engine finds among the active users, the first few by name, and a list of them. An
// organisation may have 100,000 users: a list of them all is never read.
import { createEffect, createResource, createSignal } from "solid-js";
import { api, call, type User_Serialize, type UserId } from "../api";
import { t } from "../i18n";
import { createDebounced } from "./debounced";
import { SelectField, TextField } from "./form";

/** How many users a search offers. */
export const OWNER_CHOICES = 50;

/** How a user reads in the list: name and address, since two users may share a name. */
export const ownerLabel = (u: Pick<User_Serialize, "full_name" | "primary_email">) =>
  u.primary_email ? `${u.full_name} <${u.primary_email}>` : u.full_name;

export function createOwnerSearch() {
  const box = createDebounced();
  const [page] = createResource(box.value, (s) =>
    call(api.listUserPage({ view: "active", search: s.trim() || null }, { key: "name", descending: false }, 0, OWNER_CHOICES)));
  // Every user shown so far, so a chosen owner keeps its name when a later search misses it.
  const [seen, setSeen] = createSignal(new Map<UserId, string>());
  createEffect(() => {
    const rows = page.error ? undefined : page.latest?.rows;
    if (rows?.length) setSeen((m) => new Map([...m, ...rows.map((u) => [u.id, ownerLabel(u)] as const)]));
  });
  const found = () => (page.error ? [] : (page.latest?.rows ?? []));
  return {
    text: box.text,
    input: box.input,
    clear: () => box.clear(),
    loading: () => page.loading,
    /** The users found; `current` (the owner now, which may be inactive) comes first when the
     * search does not find it, named by `currentName` if no search has shown it. */
    options(current: UserId | null, currentName?: (id: UserId) => string) {
      const list = found().map((u) => ({ value: u.id, label: ownerLabel(u) }));
      if (current === null || list.some((o) => o.value === current)) return list;
      const name = seen().get(current) ?? currentName?.(current) ?? "";
      return [{ value: current, label: name || `#${current}` }, ...list];
    },
  };
}

export type OwnerSearch = ReturnType<typeof createOwnerSearch>;

/** The owner's search box and list, as two fields of a form. */
export function OwnerFields(props: {
  search: OwnerSearch;
  value: UserId | null;
  onChange: (v: UserId | null) => void;
  error?: unknown;
  label?: string;
  currentName?: (id: UserId) => string;
}) {
  return (
    <>
      <TextField name="owner_search" label={t("owner.search")} value={props.search.text()} onInput={(v) => props.search.input(v)} />
      <SelectField name="owner_user_id" label={props.label} value={props.value} error={props.error} allowNone={t("common.none")}
        options={props.search.options(props.value, props.currentName)} onChange={props.onChange} />
    </>
  );
}
