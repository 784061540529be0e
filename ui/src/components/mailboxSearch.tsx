// Choosing a mailbox where a page needs one (a filter, the sender of an email): a search box
// whose matches the engine finds, the first few by name. An organisation may have 100,000
// mailboxes: a list of them all is never read.
import { createResource, createSignal } from "solid-js";
import { createDebounced } from "./debounced";
import { api, call, type MailboxId, type MailboxRow_Serialize } from "../api";
import { t } from "../i18n";

/** How many mailboxes a search offers. */
export const MAILBOX_CHOICES = 50;

/** `sendersOnly`: only the mailboxes that can send email (no forward mailbox), chosen by the engine. */
export function createMailboxSearch(view: "active" | "all", options: { sendersOnly?: boolean } = {}) {
  const box = createDebounced();
  const [page] = createResource(box.value, (s) =>
    call(api.listMailboxPage({ view: { view }, search: s.trim() || null, profile_id: null, senders_only: options.sendersOnly ?? false },
      { key: "name", descending: false }, 0, MAILBOX_CHOICES)));
  // The mailbox chosen last, kept as an option while a later search does not find it.
  const [chosen, setChosen] = createSignal<MailboxRow_Serialize | null>(null);
  return {
    text: box.text,
    input: box.input,
    /** The matches, with the chosen mailbox first when the search does not find it. */
    rows(): MailboxRow_Serialize[] {
      const found = page.error ? [] : (page.latest?.rows ?? []);
      const c = chosen();
      return c && !found.some((m) => m.id === c.id) ? [c, ...found] : found;
    },
    loading: () => page.loading,
    error: () => page.error as unknown,
    /** Remembers the mailbox chosen (by id, among the rows shown). */
    choose(id: MailboxId | null) {
      setChosen(id === null ? null : (this.rows().find((m) => m.id === id) ?? null));
    },
  };
}

export type MailboxSearch = ReturnType<typeof createMailboxSearch>;

/** The search box of a mailbox choice. */
export function MailboxSearchInput(props: { search: MailboxSearch; testid: string }) {
  return (
    <input type="search" data-testid={props.testid} aria-label={t("mailbox.find")} placeholder={t("mailbox.find")}
      value={props.search.text()} onInput={(e) => props.search.input(e.currentTarget.value)} />
  );
}
