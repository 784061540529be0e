// Users & Queues: each has a mailbox, created with it. Both grids read the rows they show from
// the engine, a page at a time, sorted and searched in SQL: an organisation may have 100,000
// users.
import { createEffect, createSignal, on } from "solid-js";
import { api, call, type MailboxId, type PrincipalSortKey, type PrincipalView, type Queue_Serialize, type RecordQuery_Deserialize, type User_Serialize, type UserId } from "../../api";
import { CheckField, ErrorBanner, Section, TextField } from "../../components/form";
import { createDebounced } from "../../components/debounced";
import { OwnerFields, createOwnerSearch } from "../../components/ownerSearch";
import { createPagedRows } from "../../components/pagedRows";
import { VirtualGrid, type GridColumn } from "../../components/VirtualGrid";
import { t, tn } from "../../i18n";
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

export function PrincipalsPage(props: { onOpenMailbox?: (id: MailboxId) => void }) {
  const [view, setView] = createSignal<PrincipalView>("active");
  const [error, setError] = createSignal<unknown>(null);
  const userSearch = createDebounced();
  const queueSearch = createDebounced();
  const users = principalGrid<User_Serialize>(view, userSearch.value, (q, s, offset, limit) =>
    call(api.listUserPage(q, { key: s.key, descending: s.dir === "desc" }, offset, limit)), setError);
  const queues = principalGrid<Queue_Serialize>(view, queueSearch.value, (q, s, offset, limit) =>
    call(api.listQueuePage(q, { key: s.key, descending: s.dir === "desc" }, offset, limit)), setError);

  const [user, setUser] = createSignal({ full_name: "", primary_email: "", can_approve_email: false });
  const [queue, setQueue] = createSignal<{ name: string; email_address: string; owner_user_id: UserId | null }>({ name: "", email_address: "", owner_user_id: null });
  // The queue owner is chosen among the active users whose name or address matches a search.
  const ownerSearch = createOwnerSearch();

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
          <Section title={t("cmd.newUser")} id="new-user">
            <TextField name="full_name" label={t("users.fullName")} value={user().full_name} error={error()} onInput={(v) => setUser({ ...user(), full_name: v })} />
            <TextField name="primary_email" label={t("users.primaryEmail")} value={user().primary_email} error={error()} onInput={(v) => setUser({ ...user(), primary_email: v })} />
            <CheckField name="can_approve_email" label={t("users.canApprove")} value={user().can_approve_email} onChange={(v) => setUser({ ...user(), can_approve_email: v })} />
            <button type="button" data-testid="user-create" onClick={() => run(async () => {
              await call(api.createUser({ ...user(), incoming_filtering_method: null }));
              setUser({ full_name: "", primary_email: "", can_approve_email: false });
            })}>{t("cmd.save")}</button>
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
            sort={users.sort()}
            onSort={users.onSort}
            onRange={users.paged.range}
            empty={users.paged.total() === null ? t("common.loading") : undefined}
          />
        </div>
        <div>
          <Section title={t("cmd.newQueue")} id="new-queue">
            <TextField name="name" label={t("queues.name")} value={queue().name} error={error()} onInput={(v) => setQueue({ ...queue(), name: v })} />
            <TextField name="email_address" label={t("queues.email")} value={queue().email_address} error={error()} onInput={(v) => setQueue({ ...queue(), email_address: v })} />
            <OwnerFields search={ownerSearch} label={t("queues.owner")} value={queue().owner_user_id}
              onChange={(v) => setQueue({ ...queue(), owner_user_id: v })} />
            <button type="button" data-testid="queue-create" onClick={() => run(async () => {
              await call(api.createQueue({ ...queue(), incoming_filtering_method: null }));
              setQueue({ name: "", email_address: "", owner_user_id: null });
              ownerSearch.clear();
            })}>{t("cmd.save")}</button>
          </Section>
          <div class="grid-title">
            <h3>{t("queues.title")}</h3>
            <label class="inline">
              <span class="sr-only">{t("records.search")}</span>
              <input type="search" data-testid="queue-search" placeholder={t("records.search")} value={queueSearch.text()} onInput={(e) => queueSearch.input(e.currentTarget.value)} />
            </label>
            <span class="muted" data-testid="queue-count">{tn("records.count", queues.paged.total() ?? 0)}</span>
          </div>
          <VirtualGrid<Queue_Serialize, number>
            testid="queues-grid"
            rowTestid="queue-row"
            label={t("queues.title")}
            count={queues.paged.total() ?? 0}
            row={queues.paged.row}
            rowId={(q) => q.id as unknown as number}
            rowName={(q) => q.name}
            columns={queueColumns}
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
