// Users & Queues: each has a mailbox, created with it. Both grids read the rows they show from
// the engine, a page at a time, sorted and searched in SQL: an organisation may have 100,000
// users. Choosing a row opens it in the form beside its grid, to edit: its name, its address
// (its mailbox's), and which incoming email it tracks.
import { Show, createEffect, createSignal, on } from "solid-js";
import {
  api, call, type FilteringMethod, type MailboxId, type PrincipalSortKey, type PrincipalView, type QueueId, type Queue_Serialize,
  type RecordQuery_Deserialize, type User_Serialize, type UserId,
} from "../../api";
import { useCatalog } from "../../api/catalog";
import { CheckField, ErrorBanner, Section, SelectField, TextField } from "../../components/form";
import { createDebounced } from "../../components/debounced";
import { createUserNames } from "../../components/nameLookup";
import { OwnerFields, createOwnerSearch } from "../../components/ownerSearch";
import { createPagedRows } from "../../components/pagedRows";
import { VirtualGrid, type GridColumn } from "../../components/VirtualGrid";
import { optionLabel, t, tn } from "../../i18n";
import type { SortDir } from "../mailboxes/selection";

export const PAGE_SIZE = 200;

type Sort = { key: PrincipalSortKey; dir: SortDir };

/** One paged grid of users or queues over a view, a search and a sort. */
function principalGrid<T>(
  view: () => PrincipalView,
  search: () => string,
  fetch: (q: RecordQuery_Deserialize, sort: Sort, offset: number, limit: number) => Promise<{ rows: T[]; total: number }>,
  onError: (e: unknown) => void,
) {
  const [sort, setSort] = createSignal<Sort>({ key: "name", dir: "asc" });
  const paged = createPagedRows<T>({
    pageSize: PAGE_SIZE,
    fetch: (offset, limit) => fetch({ view: view(), search: search().trim() || null }, sort(), offset, limit),
    onError,
  });
  createEffect(on([view, search, sort], () => paged.reset()));
  return {
    paged,
    sort,
    onSort: (key: string) => setSort({ key: key as PrincipalSortKey, dir: sort().key === key && sort().dir === "asc" ? "desc" : "asc" }),
  };
}

/** The form beside a grid: a new record, or the one chosen in the grid to edit, and what is
 * typed in it. Choosing none (after a save or Cancel) brings back a blank new record. */
function createDraft<R, D>(blank: () => D, of: (r: R) => D) {
  const [editing, setEditing] = createSignal<R | null>(null);
  const [draft, setDraft] = createSignal<D>(blank());
  return {
    editing,
    draft,
    edit: (r: R | null) => {
      setEditing(() => r);
      setDraft(() => (r ? of(r) : blank()));
    },
    patch: (p: Partial<D>) => setDraft(() => ({ ...draft(), ...p })),
  };
}

export function PrincipalsPage(props: { onOpenMailbox?: (id: MailboxId) => void }) {
  const [view, setView] = createSignal<PrincipalView>("active");
  const [error, setError] = createSignal<unknown>(null);
  const userSearch = createDebounced();
  const queueSearch = createDebounced();
  const users = principalGrid<User_Serialize>(view, userSearch.value, (q, s, offset, limit) =>
    call(api.listUserPage(q, { key: s.key, descending: s.dir === "desc" }, offset, limit)), setError);
  const queues = principalGrid<Queue_Serialize>(view, queueSearch.value, (q, s, offset, limit) =>
    call(api.listQueuePage(q, { key: s.key, descending: s.dir === "desc" }, offset, limit)), setError);

  const catalog = useCatalog();
  const filterings = () => (catalog()?.filtering_methods ?? []).map((m) => ({ value: m, label: optionLabel("filtering_method", m) }));

  // The user and the queue in the forms: a new one, or the one chosen in the grid.
  type UserDraft = { full_name: string; primary_email: string; can_approve_email: boolean; incoming_filtering_method: FilteringMethod | null };
  const user = createDraft<User_Serialize, UserDraft>(
    () => ({ full_name: "", primary_email: "", can_approve_email: false, incoming_filtering_method: catalog()?.user_filtering_default ?? null }),
    (u) => ({ full_name: u.full_name, primary_email: u.primary_email, can_approve_email: u.can_approve_email, incoming_filtering_method: u.incoming_filtering_method }));
  type QueueDraft = { name: string; email_address: string; owner_user_id: UserId | null; incoming_filtering_method: FilteringMethod | null };
  const queue = createDraft<Queue_Serialize, QueueDraft>(
    () => ({ name: "", email_address: "", owner_user_id: null, incoming_filtering_method: catalog()?.queue_filtering_default ?? null }),
    (q) => ({ name: q.name, email_address: q.email_address, owner_user_id: q.owner_user_id, incoming_filtering_method: q.incoming_filtering_method }));
  // The engine's defaults, once its catalog is read, where the form has no choice yet (what was
  // typed meanwhile stays).
  createEffect(on(catalog, (c) => {
    if (!c) return;
    if (user.draft().incoming_filtering_method === null) user.patch({ incoming_filtering_method: c.user_filtering_default });
    if (queue.draft().incoming_filtering_method === null) queue.patch({ incoming_filtering_method: c.queue_filtering_default });
  }));
  // The queue owner is chosen among the active users whose name or address matches a search.
  const ownerSearch = createOwnerSearch();
  const ownerName = createUserNames();

  const chooseUser = (id: UserId) => {
    setError(null);
    user.edit(users.paged.find((u) => u.id === id) ?? null);
  };
  const chooseQueue = (id: QueueId) => {
    setError(null);
    queue.edit(queues.paged.find((q) => q.id === id) ?? null);
    ownerSearch.clear();
  };
  // A filtering method left unchosen (the catalog not read yet) is not sent: the engine keeps
  // the record's, or gives a new one its default.
  const saveUser = () => run(async () => {
    const u = user.editing();
    const d = { ...user.draft(), incoming_filtering_method: user.draft().incoming_filtering_method ?? undefined };
    await call(u ? api.updateUser(u.id, d) : api.createUser(d));
    user.edit(null);
  });
  const saveQueue = () => run(async () => {
    const q = queue.editing();
    const d = { ...queue.draft(), incoming_filtering_method: queue.draft().incoming_filtering_method ?? undefined };
    await call(q ? api.updateQueue(q.id, d) : api.createQueue(d));
    queue.edit(null);
    ownerSearch.clear();
  });

  async function run(f: () => Promise<unknown>) {
    setError(null);
    try {
      await f();
      users.paged.reset(false);
      queues.paged.reset(false);
    } catch (e) {
      setError(e);
    }
  }

  const stateButton = (state: "active" | "inactive", toggle: () => Promise<unknown>) => (
    <button type="button" data-testid="principal-state" onClick={(e) => { e.stopPropagation(); void run(toggle); }}>
      {state === "active" ? t("cmd.deactivate") : t("cmd.activate")}
    </button>
  );
  const userColumns: GridColumn<User_Serialize>[] = [
    { key: "name", sortable: true, title: t("users.fullName"), width: 220, render: (u) => u.full_name },
    { key: "email_address", sortable: true, title: t("users.primaryEmail"), width: 240, render: (u) => u.primary_email },
    { key: "state", title: t("common.state"), width: 100, render: (u) => t(`state.${u.state}`) },
    {
      key: "actions", title: "", width: 220,
      render: (u) => (
        <span class="row-actions">
          {stateButton(u.state, () => call(api.setUserState([u.id], u.state === "active" ? "inactive" : "active")))}
          <button type="button" disabled={u.mailbox_id === null}
            onClick={(e) => { e.stopPropagation(); if (u.mailbox_id !== null) props.onOpenMailbox?.(u.mailbox_id); }}>
            {t("common.mailbox")}
          </button>
        </span>
      ),
    },
  ];
  const queueColumns: GridColumn<Queue_Serialize>[] = [
    { key: "name", sortable: true, title: t("queues.name"), width: 200, render: (q) => q.name },
    { key: "email_address", sortable: true, title: t("queues.email"), width: 220, render: (q) => q.email_address },
    { key: "state", title: t("common.state"), width: 100, render: (q) => t(`state.${q.state}`) },
    {
      key: "actions", title: "", width: 130,
      render: (q) => stateButton(q.state, () => call(api.setQueueState([q.id], q.state === "active" ? "inactive" : "active"))),
    },
  ];

  return (
    <section class="page" data-testid="principals-page">
      <header class="page-header">
        <select aria-label={t("records.view")} value={view()} onChange={(e) => setView(e.currentTarget.value as PrincipalView)}>
          <option value="active">{t("view.active")}</option>
          <option value="inactive">{t("view.inactive")}</option>
        </select>
      </header>
      <ErrorBanner error={error()} />
      <div class="two-columns">
        <div>
          <Section title={user.editing() ? t("users.edit", { name: user.editing()!.full_name }) : t("cmd.newUser")} id={user.editing() ? "edit-user" : "new-user"}>
            <TextField name="full_name" label={t("users.fullName")} value={user.draft().full_name} error={error()} onInput={(v) => user.patch({ full_name: v })} />
            <TextField name="primary_email" label={t("users.primaryEmail")} value={user.draft().primary_email} error={error()} onInput={(v) => user.patch({ primary_email: v })} />
            <CheckField name="can_approve_email" label={t("users.canApprove")} value={user.draft().can_approve_email} onChange={(v) => user.patch({ can_approve_email: v })} />
            <SelectField name="incoming_filtering_method" label={t("users.filtering")} value={user.draft().incoming_filtering_method} error={error()}
              options={filterings()} onChange={(v) => user.patch({ incoming_filtering_method: v })} />
            <div class="commands">
              <button type="button" data-testid="user-create" onClick={saveUser}>{t("cmd.save")}</button>
              <Show when={user.editing()}>
                <button type="button" data-testid="user-cancel" onClick={() => { setError(null); user.edit(null); }}>{t("cmd.cancel")}</button>
              </Show>
            </div>
          </Section>
          <div class="grid-title">
            <h3>{t("users.title")}</h3>
            <label class="inline">
              <span class="sr-only">{t("records.search")}</span>
              <input type="search" data-testid="user-search" placeholder={t("records.search")} value={userSearch.text()} onInput={(e) => userSearch.input(e.currentTarget.value)} />
            </label>
            <span class="muted" data-testid="user-count">{tn("records.count", users.paged.total() ?? 0)}</span>
          </div>
          <VirtualGrid<User_Serialize, UserId>
            testid="users-grid"
            rowTestid="user-row"
            label={t("users.title")}
            count={users.paged.total() ?? 0}
            row={users.paged.row}
            rowId={(u) => u.id}
            rowName={(u) => u.full_name}
            columns={userColumns}
            onRowClick={chooseUser}
            onRowOpen={chooseUser}
            current={user.editing()?.id ?? null}
            sort={users.sort()}
            onSort={users.onSort}
            onRange={users.paged.range}
            empty={users.paged.total() === null ? t("common.loading") : undefined}
          />
        </div>
        <div>
          <Section title={queue.editing() ? t("queues.edit", { name: queue.editing()!.name }) : t("cmd.newQueue")} id={queue.editing() ? "edit-queue" : "new-queue"}>
            <TextField name="name" label={t("queues.name")} value={queue.draft().name} error={error()} onInput={(v) => queue.patch({ name: v })} />
            <TextField name="email_address" label={t("queues.email")} value={queue.draft().email_address} error={error()} onInput={(v) => queue.patch({ email_address: v })} />
            <OwnerFields search={ownerSearch} label={t("queues.owner")} value={queue.draft().owner_user_id} currentName={ownerName}
              onChange={(v) => queue.patch({ owner_user_id: v })} />
            <SelectField name="incoming_filtering_method" label={t("queues.filtering")} value={queue.draft().incoming_filtering_method} error={error()}
              options={filterings()} onChange={(v) => queue.patch({ incoming_filtering_method: v })} />
            <div class="commands">
              <button type="button" data-testid="queue-create" onClick={saveQueue}>{t("cmd.save")}</button>
              <Show when={queue.editing()}>
                <button type="button" data-testid="queue-cancel" onClick={() => { setError(null); queue.edit(null); ownerSearch.clear(); }}>{t("cmd.cancel")}</button>
              </Show>
            </div>
          </Section>
          <div class="grid-title">
            <h3>{t("queues.title")}</h3>
            <label class="inline">
              <span class="sr-only">{t("records.search")}</span>
              <input type="search" data-testid="queue-search" placeholder={t("records.search")} value={queueSearch.text()} onInput={(e) => queueSearch.input(e.currentTarget.value)} />
            </label>
            <span class="muted" data-testid="queue-count">{tn("records.count", queues.paged.total() ?? 0)}</span>
          </div>
          <VirtualGrid<Queue_Serialize, QueueId>
            testid="queues-grid"
            rowTestid="queue-row"
            label={t("queues.title")}
            count={queues.paged.total() ?? 0}
            row={queues.paged.row}
            rowId={(q) => q.id}
            rowName={(q) => q.name}
            columns={queueColumns}
            onRowClick={chooseQueue}
            onRowOpen={chooseQueue}
            current={queue.editing()?.id ?? null}
            sort={queues.sort()}
            onSort={queues.onSort}
            onRange={queues.paged.range}
            empty={queues.paged.total() === null ? t("common.loading") : undefined}
          />
        </div>
      </div>
    </section>
  );
}
