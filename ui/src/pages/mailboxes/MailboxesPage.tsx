// Mailboxes: Active / My Active / Inactive views in a virtualised grid, with the grid's
// commands. The grid reads the rows it shows, a page at a time, sorted and filtered by the
// engine, so 100,000 mailboxes open as fast as 100. Commands act on the selected rows; "all"
// selects the view itself (a query, with the rows unticked since), not a list of ids. Test &
// Enable runs as a background job.
import { Show, createEffect, createResource, createSignal, on } from "solid-js";
import { api, call, idFrom, type MailboxRow_Serialize, type MailboxId, type MailboxSync_Serialize, type ProfileId, type QueueId, type RecordRef, type UserId, type MailboxQuery_Deserialize, type MailboxChanges_Deserialize, type MailboxSelection_Deserialize, type MailboxSortKey } from "../../api";
import { useCatalog } from "../../api/catalog";
import { ErrorBanner, SelectField, TextField, Dialog } from "../../components/form";
import { currentJob, followJob } from "../../components/JobPanel";
import { createDebounced } from "../../components/debounced";
import { createGridSelection } from "../../components/gridSelection";
import { createQueueNames, createUserNames } from "../../components/nameLookup";
import { createOwnerSearch } from "../../components/ownerSearch";
import { createPagedRows } from "../../components/pagedRows";
import { VirtualGrid, type GridColumn } from "../../components/VirtualGrid";
import { nowTick } from "../../components/when";
import { fieldLabel, formatDate, formatRelative, t, tn } from "../../i18n";
import { MailboxForm } from "./MailboxForm";
import { type SortDir } from "./selection";
import { SyncResults } from "./SyncResults";

/** Rows per page read from the engine. */
export const PAGE_SIZE = 200;

/** The grid's selection: rows ticked one by one, or the whole view but the rows unticked. */

/** How many messages per mailbox a Preview reads at most. */
export const PREVIEW_MAX_MESSAGES = 200;

type ViewName = "active" | "my_active" | "inactive";

const ME_KEY = "serversync.me";

function rememberedMe(): UserId | null {
  try {
    const v = Number(localStorage.getItem(ME_KEY));
    return Number.isInteger(v) && v > 0 ? idFrom<UserId>(v) : null;
  } catch {
    return null;
  }
}

export function MailboxesPage() {
  const [view, setView] = createSignal<ViewName>("active");
  // "My" is the user the operator works as: chosen once, remembered on this computer.
  const [me, setMeSignal] = createSignal<UserId | null>(rememberedMe());
  const setMe = (id: UserId | null) => {
    setMeSignal(id);
    try {
      if (id === null) localStorage.removeItem(ME_KEY);
      else localStorage.setItem(ME_KEY, String(id));
    } catch {
      /* storage may be unavailable; the choice holds for this session */
    }
  };
  // What is typed; the search itself waits for a pause in typing.
  const searchBox = createDebounced();
  const search = searchBox.value;
  const searchText = searchBox.text;
  const typeSearch = searchBox.input;
  const [sort, setSort] = createSignal<{ key: MailboxSortKey; dir: SortDir }>({ key: "name", dir: "asc" });
  const [open, setOpen] = createSignal<MailboxId | null>(null);
  const [dialog, setDialog] = createSignal<"edit" | "defaults" | "approve" | "forward" | null>(null);
  // New Forward Mailbox: a name and an address; the rest is set in its form, opened once it exists.
  const [forward, setForward] = createSignal({ name: "", email_address: "" });
  const [forwardError, setForwardError] = createSignal<unknown>(null);
  async function createForward() {
    setForwardError(null);
    try {
      const m = await call(api.createForwardMailbox({ ...forward(), changes: {} }));
      setDialog(null);
      setForward({ name: "", email_address: "" });
      setOpen(m.id);
    } catch (e) {
      setForwardError(e);
    }
  }
  const [error, setError] = createSignal<unknown>(null);

  const [profiles] = createResource(() => call(api.listProfiles("active")));
  const catalog = useCatalog();
  const [settings] = createResource(() => call(api.getSettings()));
  const query = (): MailboxQuery_Deserialize | null => {
    const v = view();
    if (v === "my_active" && me() === null) return null;
    return {
      view: v === "active" ? { view: "active" } : v === "inactive" ? { view: "inactive" } : { view: "my_active", owner: me()! },
      search: search().trim() || null,
      profile_id: null,
    };
  };

  // The rows, read a page at a time as the grid scrolls, sorted and filtered by the engine.
  const paged = createPagedRows<MailboxRow_Serialize>({
    pageSize: PAGE_SIZE,
    fetch: (offset, limit) => {
      const q = query();
      return q === null ? null : call(api.listMailboxPage(q, { key: sort().key, descending: sort().dir === "desc" }, offset, limit));
    },
    onError: setError,
  });
  const total = paged.total;
  /** Reads the view again (after a command): the rows in view come back first. */
  const refetch = () => paged.reset(false);
  // Another view, search or sort: a new grid, nothing selected.
  createEffect(on([query, sort], () => {
    sel.clear();
    paged.reset();
  }));
  const row = paged.row;
  const sel = createGridSelection<MailboxRow_Serialize, MailboxId>({ total, row, indexWhere: paged.indexWhere, rowId: (m) => m.id });
  const selection = sel.selection;
  const isSelected = sel.isSelected;
  const selectedCount = sel.count;
  /** The selection as the engine takes it. */
  const selectionDto = (): MailboxSelection_Deserialize => {
    const q = query();
    return q ? sel.dto(q) : { by: "ids", ids: [] };
  };
  // When a Test & Enable job ends, the grid shows the statuses and enabled flags it wrote.
  createEffect(
    on(
      () => currentJob()?.finished,
      (finished, before) => {
        if (finished && before === false) refetch();
      },
    ),
  );

  const profileName = (id: ProfileId | null) => profiles()?.find((p) => p.id === id)?.name ?? "";
  /** The selected ids, for the commands that take a list (a whole view is read in the engine). */
  const ids = async (): Promise<MailboxId[]> => {
    const s = selection();
    return s.all ? call(api.selectedMailboxIds(selectionDto())) : [...s.ids];
  };
  const some = () => selectedCount() > 0;

  const columns = (): (GridColumn<MailboxRow_Serialize> & { key: MailboxSortKey | "last_synced_on" })[] => [
    { key: "name", sortable: true, title: fieldLabel("name"), width: 220, render: (m) => m.name },
    { key: "email_address", sortable: true, title: fieldLabel("email_address"), width: 240, render: (m) => m.email_address },
    { key: "email_address_status", sortable: true, title: t("mailbox.emailAddressStatus"), width: 140, render: (m) => t(`approval.${m.email_address_status}`) },
    { key: "profile_id", sortable: true, title: fieldLabel("profile_id"), width: 160, render: (m) => profileName(m.profile_id) },
    { key: "incoming_status", sortable: true, title: t("mailbox.incomingStatus"), width: 120, render: (m) => t(`status.${m.incoming_status}`) },
    { key: "outgoing_status", sortable: true, title: t("mailbox.outgoingStatus"), width: 120, render: (m) => t(`status.${m.outgoing_status}`) },
    { key: "act_status", sortable: true, title: t("mailbox.actStatus"), width: 120, render: (m) => t(`status.${m.act_status}`) },
    { key: "kind", sortable: true, title: t("mailbox.regarding"), width: 110, render: (m) => t(`mailbox.kind.${m.kind}`) },
    {
      key: "last_synced_on", title: t("mailbox.lastSynced"), width: 150,
      render: (m) => (m.last_synced_on
        ? <time dateTime={m.last_synced_on} title={formatDate(m.last_synced_on)} data-testid="mailbox-last-synced">{formatRelative(m.last_synced_on, nowTick())}</time>
        : t("schedule.never")),
    },
  ];

  async function run(f: () => Promise<unknown>) {
    setError(null);
    try {
      await f();
      refetch();
    } catch (e) {
      setError(e);
    }
  }
  const startTest = () => run(async () => {
    const s = selection();
    const scope = s.all ? { scope: "selection" as const, id: selectionDto() } : { scope: "mailboxes" as const, id: [...s.ids] };
    followJob(await call(api.startTestAndEnable(scope)));
  });

  // Bulk edit state: undefined = keep.
  const [bulk, setBulk] = createSignal<MailboxChanges_Deserialize>({});

  // Synchronize now / Preview: one incoming cycle of each selected mailbox, then its report.
  const [syncing, setSyncing] = createSignal<"sync" | "preview" | null>(null);
  const [syncResults, setSyncResults] = createSignal<{ preview: boolean; results: MailboxSync_Serialize[] } | null>(null);
  // The names of who accepted each message in a cycle's report, each looked up once: an
  // organisation may have 100,000 users.
  const userName = createUserNames();
  const queueName = createQueueNames();
  const nameOf = (r: RecordRef) =>
    (r.entity === "user" ? userName(idFrom<UserId>(r.id)) : r.entity === "queue" ? queueName(idFrom<QueueId>(r.id)) : "") || undefined;
  // "Me" is chosen among the active users a search finds.
  const meSearch = createOwnerSearch();
  async function synchronize(preview: boolean) {
    if (!some() || syncing()) return;
    const s = selection();
    const scope = s.all ? { scope: "selection" as const, ids: selectionDto() } : { scope: "mailboxes" as const, ids: [...s.ids] };
    setError(null);
    setSyncResults(null);
    setSyncing(preview ? "preview" : "sync");
    try {
      const results = await call(api.syncMailboxes(scope, { preview, max_messages: preview ? PREVIEW_MAX_MESSAGES : null }));
      setSyncResults({ preview, results });
    } catch (e) {
      setError(e);
    } finally {
      setSyncing(null);
      refetch();
    }
  }
  const [testAfterDefaults, setTestAfterDefaults] = createSignal(true);

  return (
    <Show when={open() === null} fallback={<MailboxForm id={open()!} onClose={() => { setOpen(null); refetch(); }} />}>
      <section class="page" data-testid="mailboxes-page">
        <header class="page-header">
          <select data-testid="mailbox-view" aria-label={t("view.choose")} value={view()} onChange={(e) => setView(e.currentTarget.value as ViewName)}>
            <option value="active">{t("view.activeMailboxes")}</option>
            <option value="my_active">{t("view.myActiveMailboxes")}</option>
            <option value="inactive">{t("view.inactiveMailboxes")}</option>
          </select>
          <Show when={view() === "my_active"}>
            <label class="inline">
              {t("view.me")}
              <input type="search" data-testid="mailbox-me-search" aria-label={t("owner.search")} placeholder={t("owner.search")}
                value={meSearch.text()} onInput={(e) => meSearch.input(e.currentTarget.value)} />
              <select data-testid="mailbox-me" onChange={(e) => setMe(e.currentTarget.value ? idFrom<UserId>(e.currentTarget.value) : null)}>
                <option value="">—</option>
                {meSearch.options(me(), userName).map((u) => <option value={u.value} selected={me() === u.value}>{u.label}</option>)}
              </select>
            </label>
          </Show>
          <input type="search" data-testid="mailbox-search" aria-label={t("mailbox.search")} placeholder={t("mailbox.search")} value={searchText()} onInput={(e) => typeSearch(e.currentTarget.value)} />
          <span class="muted" data-testid="mailbox-count" aria-live="polite">
            {tn("mailbox.count", total() ?? 0)} · {tn("mailbox.selected", selectedCount())}
          </span>
        </header>
        <div class="commands bar">
          <button type="button" data-testid="cmd-new-forward" onClick={() => { setForwardError(null); setDialog("forward"); }}>{t("cmd.newForwardMailbox")}</button>
          <button type="button" disabled={!some()} data-testid="cmd-apply-defaults" onClick={() => setDialog("defaults")}>{t("cmd.applyDefaults")}</button>
          <button type="button" disabled={!some()} data-testid="cmd-approve" onClick={() => setDialog("approve")}>{t("cmd.approveEmail")}</button>
          <button type="button" disabled={!some()} data-testid="cmd-reject" onClick={() => run(async () => call(api.rejectMailboxes(await ids(), null)))}>{t("cmd.rejectEmail")}</button>
          <button type="button" disabled={!some()} data-testid="cmd-test-enable" onClick={startTest}>{t("cmd.testEnableMailboxes")}</button>
          <button type="button" disabled={!some()} data-testid="cmd-edit" onClick={() => { setBulk({}); setDialog("edit"); }}>{t("cmd.edit")}</button>
          <button type="button" disabled={!some() || syncing() !== null} data-testid="cmd-sync-now" onClick={() => synchronize(false)}>{t("cmd.syncNow")}</button>
          <button type="button" disabled={!some() || syncing() !== null} data-testid="cmd-preview" onClick={() => synchronize(true)}>{t("cmd.preview")}</button>
          <Show when={view() !== "inactive"} fallback={
            <button type="button" disabled={!some()} onClick={() => run(async () => call(api.setMailboxState(await ids(), "active")))}>{t("cmd.activate")}</button>
          }>
            <button type="button" disabled={!some()} data-testid="cmd-deactivate" onClick={() => run(async () => call(api.setMailboxState(await ids(), "inactive")))}>{t("cmd.deactivate")}</button>
          </Show>
        </div>
        <ErrorBanner error={error()} />
        <Show when={syncing()}>
          {(mode) => (
            <div class="banner busy" role="status" aria-live="polite" data-testid="sync-busy" data-mode={mode()}>
              <span class="spinner" aria-hidden="true" /> {mode() === "preview" ? t("sync.previewing") : t("sync.running")}
            </div>
          )}
        </Show>
        <Show when={syncResults()}>
          {(r) => <SyncResults preview={r().preview} results={r().results} nameOf={nameOf} onClose={() => setSyncResults(null)} />}
        </Show>

        <Show when={dialog() === "approve"}>
          <Dialog testid="dialog-approve" label={t("cmd.approveEmail")} onClose={() => setDialog(null)}>
            <p>{tn("mailbox.approveConfirm", selectedCount())}</p>
            <div class="commands">
              <button type="button" data-testid="dialog-ok" onClick={() => { setDialog(null); run(async () => call(api.approveMailboxes(await ids(), null))); }}>{t("cmd.ok")}</button>
              <button type="button" onClick={() => setDialog(null)}>{t("cmd.cancel")}</button>
            </div>
          </Dialog>
        </Show>
        <Show when={dialog() === "defaults"}>
          <Dialog testid="dialog-defaults" label={t("cmd.applyDefaults")} onClose={() => setDialog(null)}>
            <p>{tn("mailbox.applyDefaultsConfirm", selectedCount())}</p>
            <dl>
              <dt>{fieldLabel("profile_id")}</dt><dd>{profileName(settings()?.default_profile_id ?? null) || t("mailbox.noProfile")}</dd>
              <dt>{fieldLabel("incoming_method")}</dt><dd>{settings() ? t(`option.incoming.${settings()!.default_incoming_method}`) : ""}</dd>
              <dt>{fieldLabel("outgoing_method")}</dt><dd>{settings() ? t(`option.outgoing.${settings()!.default_outgoing_method}`) : ""}</dd>
              <dt>{fieldLabel("act_method")}</dt><dd>{settings() ? t(`option.act.${settings()!.default_act_method}`) : ""}</dd>
            </dl>
            <label class="check"><input type="checkbox" checked={testAfterDefaults()} onChange={(e) => setTestAfterDefaults(e.currentTarget.checked)} /> {t("mailbox.applyDefaultsTest")}</label>
            <div class="commands">
              <button type="button" data-testid="dialog-ok" onClick={() => {
                setDialog(null);
                run(async () => {
                  const list = await ids();
                  await call(api.applyDefaultSettings(list));
                  if (testAfterDefaults()) followJob(await call(api.startTestAndEnable({ scope: "mailboxes", id: list })));
                });
              }}>{t("cmd.ok")}</button>
              <button type="button" onClick={() => setDialog(null)}>{t("cmd.cancel")}</button>
            </div>
          </Dialog>
        </Show>
        <Show when={dialog() === "forward"}>
          <Dialog testid="dialog-forward" label={t("cmd.newForwardMailbox")} onClose={() => setDialog(null)}>
            <h3>{t("cmd.newForwardMailbox")}</h3>
            <p class="muted">{t("mailbox.forwardHint")}</p>
            <ErrorBanner error={forwardError()} />
            <TextField name="name" value={forward().name} error={forwardError()} onInput={(v) => setForward({ ...forward(), name: v })} />
            <TextField name="email_address" value={forward().email_address} error={forwardError()} onInput={(v) => setForward({ ...forward(), email_address: v })} />
            <div class="commands">
              <button type="button" data-testid="dialog-ok" onClick={() => void createForward()}>{t("cmd.save")}</button>
              <button type="button" onClick={() => setDialog(null)}>{t("cmd.cancel")}</button>
            </div>
          </Dialog>
        </Show>
        <Show when={dialog() === "edit"}>
          <Dialog testid="dialog-edit" label={t("cmd.edit")} onClose={() => setDialog(null)}>
            <h3>{tn("mailbox.editTitle", selectedCount())}</h3>
            <SelectField name="profile_id" value={bulk().profile_id === undefined ? -1 : (bulk().profile_id ?? 0)}
              options={[{ value: -1, label: t("mailbox.keep") }, { value: 0, label: t("mailbox.noProfile") }, ...(profiles() ?? []).map((p) => ({ value: p.id, label: p.name }))]}
              onChange={(v) => setBulk({ ...bulk(), profile_id: v === -1 || v === null ? undefined : v === 0 ? null : v })} />
            <SelectField name="incoming_method" value={bulk().incoming_method ?? "keep"}
              options={[{ value: "keep", label: t("mailbox.keep") }, ...(catalog()?.bulk_incoming_methods ?? []).map((o) => ({ value: o, label: t(`option.incoming.${o}`) }))]}
              onChange={(v) => setBulk({ ...bulk(), incoming_method: v === "keep" || v === null ? undefined : (v as "none") })} />
            <SelectField name="outgoing_method" value={bulk().outgoing_method ?? "keep"}
              options={[{ value: "keep", label: t("mailbox.keep") }, ...(catalog()?.bulk_outgoing_methods ?? []).map((o) => ({ value: o, label: t(`option.outgoing.${o}`) }))]}
              onChange={(v) => setBulk({ ...bulk(), outgoing_method: v === "keep" || v === null ? undefined : (v as "none") })} />
            <SelectField name="act_method" value={bulk().act_method ?? "keep"}
              options={[{ value: "keep", label: t("mailbox.keep") }, ...(catalog()?.bulk_act_methods ?? []).map((o) => ({ value: o, label: t(`option.act.${o}`) }))]}
              onChange={(v) => setBulk({ ...bulk(), act_method: v === "keep" || v === null ? undefined : (v as "none") })} />
            <div class="commands">
              <button type="button" data-testid="dialog-ok" onClick={() => { const changes = bulk(); setDialog(null); run(async () => call(api.editMailboxes(await ids(), changes))); }}>{t("cmd.ok")}</button>
              <button type="button" onClick={() => setDialog(null)}>{t("cmd.cancel")}</button>
            </div>
          </Dialog>
        </Show>

        <VirtualGrid<MailboxRow_Serialize, MailboxId>
          testid="mailbox-grid"
          rowTestid="mailbox-row"
          label={t("nav.mailboxes")}
          count={total() ?? 0}
          row={row}
          rowId={(m) => m.id}
          rowName={(m) => m.name}
          columns={columns()}
          selectable
          isSelected={isSelected}
          allSelected={selection().all}
          onToggleAll={sel.toggleAll}
          sort={sort()}
          onSort={(key) => setSort({ key: key as MailboxSortKey, dir: sort().key === key && sort().dir === "asc" ? "desc" : "asc" })}
          onRowClick={(id, e) => sel.click(id, e)}
          onRowOpen={(id) => setOpen(id)}
          onRange={paged.range}
          empty={total() === null ? t("common.loading") : t("mailbox.empty")}
        />
      </section>
    </Show>
  );
}
