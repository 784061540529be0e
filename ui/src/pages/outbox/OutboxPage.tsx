// The Outbox: the emails waiting to leave (Pending Send), leaving (Sending) and failed, each with
// its sender, recipients, attempts, Send Later time and the reason it waits or failed. Retry puts
// a failed email back; Send now runs an outgoing cycle of the selected emails' senders; New Email
// writes one. Each tab is a grid read a page at a time; every read also brings the count of each
// tab. Read again when a cycle ends and every few seconds while the window is visible.
import { For, Show, createEffect, createSignal, on } from "solid-js";
import { api, call, events, type ActivityId, type MailboxId, type MailboxSend_Serialize, type OutboxCounts, type OutboxPage_Serialize, type OutboxRow_Serialize } from "../../api";
import { coalesce, onEngineEvent, whileVisible } from "../../api/live";
import { ErrorBanner } from "../../components/form";
import { createPagedRows } from "../../components/pagedRows";
import { VirtualGrid, type GridColumn } from "../../components/VirtualGrid";
import { formatDate, formatNumber, msg, t } from "../../i18n";
import { ComposeForm } from "./ComposeForm";

/** The emails read at once, as the grid scrolls. */
export const OUTBOX_PAGE_SIZE = 200;
/** How often the Outbox reads again while the window is visible. */
export const OUTBOX_POLL_MS = 10_000;

export type OutboxTab = "pending_send" | "sending" | "failed";
const TABS: OutboxTab[] = ["pending_send", "sending", "failed"];

export function OutboxPage() {
  const [tab, setTab] = createSignal<OutboxTab>("pending_send");
  const [composing, setComposing] = createSignal(false);
  // The emails chosen, with their senders (a chosen row need not be read any more).
  const [selected, setSelected] = createSignal<Map<ActivityId, OutboxRow_Serialize>>(new Map());
  const [error, setError] = createSignal<unknown>(null);
  const [notice, setNotice] = createSignal("");
  const [busy, setBusy] = createSignal(false);
  const [sendingNow, setSendingNow] = createSignal(false);
  const [results, setResults] = createSignal<MailboxSend_Serialize[] | null>(null);
  const [counts, setCounts] = createSignal<OutboxCounts | null>(null);
  const [loadError, setLoadError] = createSignal<unknown>(null);
  // The sender names of the rows read, for the Send now results.
  const names = new Map<MailboxId, string>();

  const paged = createPagedRows<OutboxRow_Serialize, OutboxPage_Serialize>({
    pageSize: OUTBOX_PAGE_SIZE,
    fetch: (offset, limit) => call(api.listOutboxPage(tab(), offset, limit)),
    onError: setLoadError,
    // Only answers of the current view get here: a late one of another tab is dropped first.
    onAnswer: (page) => {
      setCounts(page.counts);
      setLoadError(null);
      for (const r of page.rows) if (r.sender_mailbox_id !== null) names.set(r.sender_mailbox_id, r.sender_mailbox_name);
      // An email chosen that left this tab (sent, retried, failed) is no longer chosen.
      const kept = [...selected()].filter(([id]) => paged.find((r) => r.id === id) !== undefined);
      if (kept.length !== selected().size) setSelected(new Map(kept));
    },
  });
  const total = paged.total;
  // A new tab is a new view, and a new selection.
  createEffect(on(tab, () => {
    setSelected(new Map());
    paged.reset();
  }));
  const refetch = () => paged.reset(false);

  const reread = coalesce(refetch, 1000);
  onEngineEvent(events.syncChanged, reread);
  whileVisible(reread, OUTBOX_POLL_MS);

  const senders = () => [...new Set([...selected().values()].map((r) => r.sender_mailbox_id).filter((m): m is MailboxId => m !== null))];
  const toggle = (id: ActivityId) => {
    const next = new Map(selected());
    if (next.has(id)) next.delete(id);
    else {
      const row = paged.find((r) => r.id === id);
      // An email without a sender mailbox has no cycle to send it.
      if (row && row.sender_mailbox_id !== null) next.set(id, row);
    }
    setSelected(next);
  };

  async function run(f: () => Promise<void>) {
    setError(null);
    setNotice("");
    setBusy(true);
    try {
      await f();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
      refetch();
    }
  }
  const retry = (row: OutboxRow_Serialize) =>
    run(async () => {
      await call(api.retryEmail(row.id));
      setNotice(t("outbox.retried"));
    });
  const sendNow = () =>
    run(async () => {
      setResults(null);
      setSendingNow(true);
      try {
        setResults(await call(api.sendPending(senders())));
        setSelected(new Map());
      } finally {
        setSendingNow(false);
      }
    });

  const columns = (): GridColumn<OutboxRow_Serialize>[] => [
    {
      key: "subject", title: t("activity.subject"), width: 300,
      render: (r) => (
        <>
          <span class="subject" title={r.subject}>{r.subject || t("activity.noSubject")}</span>
          <Show when={r.possible_duplicate}>
            {" "}<span class="tag warning" data-testid="possible-duplicate" title={t("outbox.possibleDuplicateHint")}>{t("outbox.possibleDuplicate")}</span>
          </Show>
        </>
      ),
    },
    { key: "sender", title: t("outbox.sender"), width: 180, render: (r) => r.sender_mailbox_name },
    { key: "to", title: t("activity.to"), width: 200, render: (r) => r.to },
    { key: "status", title: t("outbox.status"), width: 120, render: (r) => <span data-testid="outbox-status">{t(`emailStatus.${r.status}`)}</span> },
    { key: "attempts", title: t("outbox.attempts"), width: 90, render: (r) => formatNumber(r.delivery_attempts) },
    { key: "send_after", title: t("outbox.sendAfter"), width: 170, render: (r) => (r.send_after ? formatDate(r.send_after) : "") },
    {
      key: "reason", title: t("outbox.reason"), width: 360,
      render: (r) => {
        const reason = () => (r.last_error_code ? msg(r.last_error_code, r.last_error_params) : "");
        return <span data-testid="outbox-reason" title={reason()}>{reason()}</span>;
      },
    },
    {
      key: "retry", title: "", width: 100,
      render: (r) => (
        <Show when={r.status === "failed"}>
          <button type="button" data-testid="outbox-retry" disabled={busy()} onClick={(e) => { e.stopPropagation(); void retry(r); }}>
            {t("outbox.retry")}
          </button>
        </Show>
      ),
    },
  ];

  return (
    <Show when={!composing()} fallback={<ComposeForm onClose={() => { setComposing(false); refetch(); }} onSent={refetch} />}>
      <section class="page" data-testid="outbox-page">
        <header class="page-header">
          <h2 class="page-title">{t("nav.outbox")}</h2>
          <div class="tabs" role="tablist">
            <For each={TABS}>
              {(s) => (
                <button type="button" role="tab" aria-selected={tab() === s} classList={{ active: tab() === s }} data-testid={`outbox-tab-${s}`}
                  data-count={counts()?.[s] ?? ""} onClick={() => setTab(s)}>
                  {counts() ? t("outbox.tabWithCount", { label: t(`emailStatus.${s}`), count: formatNumber(counts()![s]) }) : t(`emailStatus.${s}`)}
                </button>
              )}
            </For>
          </div>
          <div class="commands">
            <button type="button" data-testid="outbox-new-email" onClick={() => setComposing(true)}>{t("outbox.newEmail")}</button>
            <button type="button" data-testid="outbox-send-now" disabled={busy() || senders().length === 0} onClick={sendNow}>{t("outbox.sendNow")}</button>
            <button type="button" data-testid="outbox-refresh" onClick={refetch}>{t("cmd.refresh")}</button>
          </div>
        </header>
        <ErrorBanner error={error() ?? loadError()} />
        <Show when={notice()}><div class="banner ok" role="status" data-testid="outbox-notice">{notice()}</div></Show>
        <Show when={sendingNow()}>
          <div class="banner busy" data-testid="outbox-busy"><span class="spinner" aria-hidden="true" />{t("outbox.sendingNow")}</div>
        </Show>
        <Show when={results()}>
          {(list) => (
            <section class="section" data-testid="send-results" aria-live="polite">
              <header class="form-header">
                <h3>{t("outbox.sendResults")}</h3>
                <div class="commands"><button type="button" onClick={() => setResults(null)}>{t("cmd.close")}</button></div>
              </header>
              <ul class="plain">
                <For each={list()}>
                  {(r) => (
                    <li data-testid="send-result" data-mailbox={r.mailbox_id} data-sent={r.sent} data-failed={r.failed} data-status={r.error ? "error" : "ok"}>
                      <strong>{names.get(r.mailbox_id) || `#${r.mailbox_id}`}</strong>{" — "}
                      <Show when={r.error} fallback={
                        <span class="sync-counts inline">
                          <span>{t("outbox.result.sent")} <strong>{formatNumber(r.sent)}</strong></span>
                          <span>{t("outbox.result.foundSent")} <strong>{formatNumber(r.found_sent)}</strong></span>
                          <span>{t("outbox.result.failed")} <strong>{formatNumber(r.failed)}</strong></span>
                          <span>{t("outbox.result.retriedLater")} <strong>{formatNumber(r.retried_later)}</strong></span>
                          <span>{t("outbox.result.duplicates")} <strong>{formatNumber(r.possible_duplicates)}</strong></span>
                        </span>
                      }>
                        {(e) => <span class="reason error" data-code={e().code}>{msg(e().code, e().params)}</span>}
                      </Show>
                    </li>
                  )}
                </For>
              </ul>
            </section>
          )}
        </Show>
        <VirtualGrid<OutboxRow_Serialize, ActivityId>
          testid="outbox-grid"
          rowTestid="outbox-row"
          label={t(`emailStatus.${tab()}`)}
          count={total() ?? 0}
          row={paged.row}
          rowId={(r) => r.id}
          rowName={(r) => r.subject}
          rowData={(r) => ({
            "data-status": r.status, "data-subject": r.subject, "data-sender": String(r.sender_mailbox_id ?? ""),
            "data-attempts": String(r.delivery_attempts), "data-possible-duplicate": String(r.possible_duplicate), "data-code": r.last_error_code,
          })}
          columns={columns()}
          selectable
          isSelected={(id) => selected().has(id)}
          onRowClick={toggle}
          onRange={paged.range}
          empty={total() === null ? t("common.loading") : t("outbox.empty")}
        />
      </section>
    </Show>
  );
}
