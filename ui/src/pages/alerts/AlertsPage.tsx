// The Alerts wall: Errors / Warnings / Information, filtered by profile or mailbox, most recent
// first, read a page at a time as the grid scrolls. Choosing an alert shows its details (what
// the server answered) under the grid.
import { For, Show, createEffect, createResource, createSignal, on } from "solid-js";
import { api, call, idFrom, type Alert, type AlertId, type AlertLevel, type MailboxId, type ProfileId } from "../../api";
import { ConfirmDelete, ErrorBanner } from "../../components/form";
import { MailboxSearchInput, createMailboxSearch } from "../../components/mailboxSearch";
import { createMailboxNames } from "../../components/nameLookup";
import { createPagedRows } from "../../components/pagedRows";
import { VirtualGrid, type GridColumn } from "../../components/VirtualGrid";
import { formatDate, formatNumber, formatRelative, msg, t, tn } from "../../i18n";

/** The alerts read at once, as the grid scrolls. */
export const ALERTS_PAGE_SIZE = 200;

type Regarding = { type: "profile" | "mailbox"; id: number };

export function AlertsPage() {
  const [level, setLevel] = createSignal<AlertLevel | null>(null);
  const [profile, setProfile] = createSignal<ProfileId | null>(null);
  const [mailbox, setMailbox] = createSignal<MailboxId | null>(null);
  const [error, setError] = createSignal<unknown>(null);
  // The alert shown under the grid, by id: a refresh shows its new count and last time.
  const [chosenId, setChosenId] = createSignal<AlertId | null>(null);
  const chosen = (): Alert | null => {
    const id = chosenId();
    return id === null ? null : (paged.find((a) => a.id === id) ?? null);
  };
  const filter = () => ({ level: level(), profile_id: profile(), mailbox_id: mailbox() });
  const paged = createPagedRows<Alert>({
    pageSize: ALERTS_PAGE_SIZE,
    fetch: (offset, limit) => call(api.listAlertPage(filter(), offset, limit)),
    onError: setError,
  });
  const total = paged.total;
  createEffect(on(filter, () => {
    setChosenId(null);
    paged.reset();
  }));
  const [profiles] = createResource(() => call(api.listProfiles("all")));
  const mailboxes = createMailboxSearch("all");
  // The names of the mailboxes the alerts are about, each looked up once, not a list of them all.
  const mailboxName = createMailboxNames();
  const regarding = (r: Regarding) =>
    (r.type === "profile" ? profiles()?.find((p) => p.id === r.id)?.name : mailboxName(idFrom<MailboxId>(r.id))) || `#${r.id}`;
  const choose = (id: AlertId) => setChosenId(id);

  const [confirmDelete, setConfirmDelete] = createSignal(false);
  let refreshButton!: HTMLButtonElement;
  async function deleteShown() {
    setError(null);
    try {
      await call(api.deleteAlerts(filter()));
      setChosenId(null);
      paged.reset();
    } catch (e) {
      setError(e);
    }
  }

  const columns = (): GridColumn<Alert>[] => [
    { key: "level", title: t("alerts.levelColumn"), width: 110, render: (a) => <span class={`level ${a.level}`}>{t(`alerts.level.${a.level}`)}</span> },
    {
      key: "message", title: t("alerts.message"), width: 520,
      render: (a) => <span title={msg(a.code, a.params)}>{msg(a.code, a.params)}</span>,
    },
    { key: "regarding", title: t("alerts.regarding"), width: 200, render: (a) => regarding(a.regarding as Regarding) },
    {
      key: "last_seen", title: t("alerts.lastSeen"), width: 150,
      render: (a) => <span title={formatDate(a.last_seen)}>{formatRelative(a.last_seen)}</span>,
    },
    { key: "count", title: t("alerts.count"), width: 80, render: (a) => formatNumber(a.count) },
  ];

  return (
    <section class="page" data-testid="alerts-page">
      <header class="page-header">
        <h2 class="page-title">{t("nav.alerts")}</h2>
        <div class="tabs" role="tablist">
          <For each={[null, "error", "warning", "information"] as (AlertLevel | null)[]}>
            {(l) => (
              <button type="button" role="tab" aria-selected={level() === l} classList={{ active: level() === l }}
                data-testid={`alerts-tab-${l ?? "all"}`} onClick={() => setLevel(l)}>
                {l === null ? t("alerts.all") : l === "error" ? t("alerts.errors") : l === "warning" ? t("alerts.warnings") : t("alerts.information")}
              </button>
            )}
          </For>
        </div>
        <select aria-label={t("alerts.filterProfile")} data-testid="alerts-profile"
          onChange={(e) => setProfile(e.currentTarget.value ? idFrom<ProfileId>(e.currentTarget.value) : null)}>
          <option value="">{t("alerts.anyProfile")}</option>
          <For each={profiles() ?? []}>{(p) => <option value={p.id}>{p.name}</option>}</For>
        </select>
        <MailboxSearchInput search={mailboxes} testid="alerts-mailbox-search" />
        <select aria-label={t("alerts.filterMailbox")} data-testid="alerts-mailbox" onChange={(e) => {
          const id = e.currentTarget.value ? idFrom<MailboxId>(e.currentTarget.value) : null;
          mailboxes.choose(id);
          setMailbox(id);
        }}>
          <option value="">{t("alerts.anyMailbox")}</option>
          <For each={mailboxes.rows()}>{(m) => <option value={m.id} selected={m.id === mailbox()}>{m.name}</option>}</For>
        </select>
        <div class="commands">
          <button type="button" data-testid="alerts-refresh" ref={refreshButton} onClick={() => paged.reset(false)}>{t("cmd.refresh")}</button>
          <button type="button" data-testid="alerts-delete" disabled={!total()} onClick={() => setConfirmDelete(true)}>{t("cmd.deleteAllAlerts")}</button>
        </div>
        <span class="muted" data-testid="alerts-count" data-total={total() ?? ""} aria-live="polite">
          {total() === null ? t("common.loading") : tn("alerts.total", total()!)}
        </span>
      </header>
      <Show when={confirmDelete()}>
        <ConfirmDelete testid="dialog-delete-alerts" label={t("cmd.deleteAllAlerts")} message={tn("alerts.deleteConfirm", total() ?? 0)}
          onClose={() => setConfirmDelete(false)}
          // The delete button is disabled once the wall is empty: focus goes to Refresh.
          onDelete={() => void deleteShown().then(() => refreshButton.focus())} />
      </Show>
      <ErrorBanner error={error()} />
      <VirtualGrid<Alert, AlertId>
        testid="alerts-grid"
        rowTestid="alert-row"
        label={t("nav.alerts")}
        count={total() ?? 0}
        row={paged.row}
        rowId={(a) => a.id}
        rowData={(a) => ({ "data-code": a.code, "data-level": a.level })}
        rowClass={(a) => ({ alert: true, [a.level]: true })}
        current={chosenId()}
        columns={columns()}
        onRowClick={choose}
        onRowOpen={choose}
        onRange={paged.range}
        empty={total() === null ? t("common.loading") : t("common.empty")}
      />
      <Show when={chosen()}>
        {(a) => (
          <section class="section alert-detail" data-testid="alert-detail" data-code={a().code} aria-live="polite">
            <header class="form-header">
              <h3>{t(`alerts.level.${a().level}`)} — {regarding(a().regarding as Regarding)}</h3>
              <div class="commands"><button type="button" data-testid="alert-detail-close" onClick={() => setChosenId(null)}>{t("cmd.close")}</button></div>
            </header>
            <p>{msg(a().code, a().params)}</p>
            <dl class="readonly">
              <dt>{t("alerts.firstSeen")}</dt><dd>{formatDate(a().first_seen)}</dd>
              <dt>{t("alerts.lastSeen")}</dt><dd>{formatDate(a().last_seen)}</dd>
              <dt>{t("alerts.count")}</dt><dd>{formatNumber(a().count)}</dd>
            </dl>
            <Show when={a().detail}>
              <h4>{t("alerts.details")}</h4>
              <pre data-testid="alert-detail-text">{a().detail}</pre>
            </Show>
          </section>
        )}
      </Show>
    </section>
  );
}
