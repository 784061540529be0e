// Mailboxes: Active / My Active / Inactive views in a virtualised grid, with the grid's
// commands. Commands act on the selected rows; Test & Enable runs as a background job.
import { Show, createEffect, createMemo, createResource, createSignal, on } from "solid-js";
import { api, call, idFrom, type MailboxDto_Serialize, type MailboxId, type MailboxSync_Serialize, type ProfileId, type RecordRef, type UserId, type MailboxQuery_Deserialize, type MailboxChanges_Deserialize } from "../../api";
import { useCatalog } from "../../api/catalog";
import { ErrorBanner, SelectField } from "../../components/form";
import { currentJob, followJob } from "../../components/JobPanel";
import { fieldLabel, lang, t } from "../../i18n";
import { MailboxForm } from "./MailboxForm";
import { MailboxGrid, type Column } from "./MailboxGrid";
import { clickSelect, prune, sortRows, toggleAll, type SortDir } from "./selection";
import { SyncResults } from "./SyncResults";

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
  const [search, setSearch] = createSignal("");
  const [selected, setSelected] = createSignal<Set<MailboxId>>(new Set());
  const [anchor, setAnchor] = createSignal<MailboxId | null>(null);
  const [sort, setSort] = createSignal<{ key: keyof MailboxDto_Serialize; dir: SortDir }>({ key: "name", dir: "asc" });
  const [open, setOpen] = createSignal<MailboxId | null>(null);
  const [dialog, setDialog] = createSignal<"edit" | "defaults" | "approve" | null>(null);
  const [error, setError] = createSignal<unknown>(null);

  const [users] = createResource(() => call(api.listUsers("active")));
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
  const [mailboxes, { refetch }] = createResource(query, (q) => call(api.listMailboxes(q)));
  // When a Test & Enable job ends, the grid shows the statuses and enabled flags it wrote.
  createEffect(
    on(
      () => currentJob()?.finished,
      (finished, before) => {
        if (finished && before === false) refetch();
      },
    ),
  );

  const rows = createMemo(() => sortRows(mailboxes() ?? [], sort().key, sort().dir, lang()));
  const order = createMemo(() => rows().map((r) => r.id));
  const profileName = (id: ProfileId | null) => profiles()?.find((p) => p.id === id)?.name ?? "";
  const ids = () => [...prune(selected(), order())];

  const columns = (): Column[] => [
    { key: "name", title: fieldLabel("name"), width: 220, render: (m) => m.name },
    { key: "email_address", title: fieldLabel("email_address"), width: 240, render: (m) => m.email_address },
    { key: "email_address_status", title: t("mailbox.emailAddressStatus"), width: 140, render: (m) => t(`approval.${m.email_address_status}`) },
    { key: "profile_id", title: fieldLabel("profile_id"), width: 160, render: (m) => profileName(m.profile_id) },
    { key: "incoming_status", title: t("mailbox.incomingStatus"), width: 120, render: (m) => t(`status.${m.incoming_status}`) },
    { key: "outgoing_status", title: t("mailbox.outgoingStatus"), width: 120, render: (m) => t(`status.${m.outgoing_status}`) },
    { key: "act_status", title: t("mailbox.actStatus"), width: 120, render: (m) => t(`status.${m.act_status}`) },
    { key: "kind", title: t("mailbox.regarding"), width: 110, render: (m) => t(`mailbox.kind.${m.kind}`) },
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
  const startTest = (list: MailboxId[]) => run(async () => followJob(await call(api.startTestAndEnable({ scope: "mailboxes", id: list }))));

  // Bulk edit state: undefined = keep.
  const [bulk, setBulk] = createSignal<MailboxChanges_Deserialize>({});

  // Synchronize now / Preview: one incoming cycle of each selected mailbox, then its report.
  const [syncing, setSyncing] = createSignal<"sync" | "preview" | null>(null);
  const [syncResults, setSyncResults] = createSignal<{ preview: boolean; results: MailboxSync_Serialize[] } | null>(null);
  // Queue names, for who accepted each message; read while the cycle runs.
  const [queues] = createResource(() => syncing() !== null || syncResults() !== null, () => call(api.listQueues("all")));
  const nameOf = (r: RecordRef) =>
    r.entity === "user" ? users()?.find((u) => u.id === r.id)?.full_name : r.entity === "queue" ? queues()?.find((q) => q.id === r.id)?.name : undefined;
  async function synchronize(preview: boolean) {
    const list = ids();
    if (!list.length || syncing()) return;
    setError(null);
    setSyncResults(null);
    setSyncing(preview ? "preview" : "sync");
    try {
      const results = await call(api.syncMailboxes({ scope: "mailboxes", ids: list }, { preview, max_messages: preview ? PREVIEW_MAX_MESSAGES : null }));
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
          <select data-testid="mailbox-view" value={view()} onChange={(e) => setView(e.currentTarget.value as ViewName)}>
            <option value="active">{t("view.activeMailboxes")}</option>
            <option value="my_active">{t("view.myActiveMailboxes")}</option>
            <option value="inactive">{t("view.inactiveMailboxes")}</option>
          </select>
          <Show when={view() === "my_active"}>
            <label class="inline">
              {t("view.me")}
              <select data-testid="mailbox-me" onChange={(e) => setMe(e.currentTarget.value ? idFrom<UserId>(e.currentTarget.value) : null)}>
                <option value="">—</option>
                {(users() ?? []).map((u) => <option value={u.id} selected={me() === u.id}>{u.full_name}</option>)}
              </select>
            </label>
          </Show>
          <input type="search" data-testid="mailbox-search" placeholder={t("mailbox.search")} value={search()} onInput={(e) => setSearch(e.currentTarget.value)} />
          <span class="muted" data-testid="mailbox-count">
            {t("mailbox.count", { count: rows().length })} · {t("mailbox.selected", { count: ids().length })}
          </span>
        </header>
        <div class="commands bar">
          <button type="button" disabled={!ids().length} data-testid="cmd-apply-defaults" onClick={() => setDialog("defaults")}>{t("cmd.applyDefaults")}</button>
          <button type="button" disabled={!ids().length} data-testid="cmd-approve" onClick={() => setDialog("approve")}>{t("cmd.approveEmail")}</button>
          <button type="button" disabled={!ids().length} data-testid="cmd-reject" onClick={() => run(() => call(api.rejectMailboxes(ids(), null)))}>{t("cmd.rejectEmail")}</button>
          <button type="button" disabled={!ids().length} data-testid="cmd-test-enable" onClick={() => startTest(ids())}>{t("cmd.testEnableMailboxes")}</button>
          <button type="button" disabled={!ids().length} data-testid="cmd-edit" onClick={() => { setBulk({}); setDialog("edit"); }}>{t("cmd.edit")}</button>
          <button type="button" disabled={!ids().length || syncing() !== null} data-testid="cmd-sync-now" onClick={() => synchronize(false)}>{t("cmd.syncNow")}</button>
          <button type="button" disabled={!ids().length || syncing() !== null} data-testid="cmd-preview" onClick={() => synchronize(true)}>{t("cmd.preview")}</button>
          <Show when={view() !== "inactive"} fallback={
            <button type="button" disabled={!ids().length} onClick={() => run(() => call(api.setMailboxState(ids(), "active")))}>{t("cmd.activate")}</button>
          }>
            <button type="button" disabled={!ids().length} data-testid="cmd-deactivate" onClick={() => run(() => call(api.setMailboxState(ids(), "inactive")))}>{t("cmd.deactivate")}</button>
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
          <div class="dialog" data-testid="dialog-approve">
            <p>{t("mailbox.approveConfirm", { count: ids().length })}</p>
            <button type="button" data-testid="dialog-ok" onClick={() => { setDialog(null); run(() => call(api.approveMailboxes(ids(), null))); }}>{t("cmd.ok")}</button>
            <button type="button" onClick={() => setDialog(null)}>{t("cmd.cancel")}</button>
          </div>
        </Show>
        <Show when={dialog() === "defaults"}>
          <div class="dialog" data-testid="dialog-defaults">
            <p>{t("mailbox.applyDefaultsConfirm", { count: ids().length })}</p>
            <dl>
              <dt>{fieldLabel("profile_id")}</dt><dd>{profileName(settings()?.default_profile_id ?? null) || t("mailbox.noProfile")}</dd>
              <dt>{fieldLabel("incoming_method")}</dt><dd>{settings() ? t(`option.incoming.${settings()!.default_incoming_method}`) : ""}</dd>
              <dt>{fieldLabel("outgoing_method")}</dt><dd>{settings() ? t(`option.outgoing.${settings()!.default_outgoing_method}`) : ""}</dd>
              <dt>{fieldLabel("act_method")}</dt><dd>{settings() ? t(`option.act.${settings()!.default_act_method}`) : ""}</dd>
            </dl>
            <label class="check"><input type="checkbox" checked={testAfterDefaults()} onChange={(e) => setTestAfterDefaults(e.currentTarget.checked)} /> {t("mailbox.applyDefaultsTest")}</label>
            <button type="button" data-testid="dialog-ok" onClick={() => {
              const list = ids();
              setDialog(null);
              run(async () => {
                await call(api.applyDefaultSettings(list));
                if (testAfterDefaults()) followJob(await call(api.startTestAndEnable({ scope: "mailboxes", id: list })));
              });
            }}>{t("cmd.ok")}</button>
            <button type="button" onClick={() => setDialog(null)}>{t("cmd.cancel")}</button>
          </div>
        </Show>
        <Show when={dialog() === "edit"}>
          <div class="dialog" data-testid="dialog-edit">
            <h3>{t("mailbox.editTitle", { count: ids().length })}</h3>
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
            <button type="button" data-testid="dialog-ok" onClick={() => { const list = ids(); const changes = bulk(); setDialog(null); run(() => call(api.editMailboxes(list, changes))); }}>{t("cmd.ok")}</button>
            <button type="button" onClick={() => setDialog(null)}>{t("cmd.cancel")}</button>
          </div>
        </Show>

        <MailboxGrid
          rows={rows()}
          columns={columns()}
          selected={selected()}
          sort={sort()}
          onSort={(key) => setSort({ key, dir: sort().key === key && sort().dir === "asc" ? "desc" : "asc" })}
          onRowClick={(id, e) => {
            setSelected(clickSelect(selected(), order(), id, anchor(), { ctrl: e.ctrlKey || e.metaKey, shift: e.shiftKey }));
            if (!e.shiftKey) setAnchor(id);
          }}
          onRowOpen={(id) => setOpen(id)}
          onToggleAll={() => setSelected(toggleAll(selected(), order()))}
        />
      </section>
    </Show>
  );
}
