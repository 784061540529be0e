// The Outbox: the emails waiting to leave (Pending Send), leaving (Sending) and failed, each with
// its sender, recipients, attempts, Send Later time and the reason it waits or failed. Retry puts
// a failed email back; Send now runs an outgoing cycle of the selected emails' senders; New Email
// writes one. Read again when a cycle ends and every few seconds while the window is visible.
import { For, Show, createMemo, createSignal, onMount } from "solid-js";
import { api, call, events, type ActivityId, type MailboxId, type MailboxSend_Serialize, type OutboxRow_Serialize } from "../../api";
import { coalesce, onEngineEvent, whileVisible } from "../../api/live";
import { ErrorBanner } from "../../components/form";
import { formatDate, formatNumber, msg, t } from "../../i18n";
import { ComposeForm } from "./ComposeForm";

/** The most emails the Outbox reads at once. */
export const OUTBOX_LIMIT = 500;
/** How often the Outbox reads again while the window is visible. */
export const OUTBOX_POLL_MS = 10_000;

export type OutboxTab = "pending_send" | "sending" | "failed";
const TABS: OutboxTab[] = ["pending_send", "sending", "failed"];

export function OutboxPage() {
  const [tab, setTab] = createSignal<OutboxTab>("pending_send");
  const [composing, setComposing] = createSignal(false);
  const [selected, setSelected] = createSignal<Set<ActivityId>>(new Set());
  const [error, setError] = createSignal<unknown>(null);
  const [notice, setNotice] = createSignal("");
  const [busy, setBusy] = createSignal(false);
  const [sendingNow, setSendingNow] = createSignal(false);
  const [results, setResults] = createSignal<MailboxSend_Serialize[] | null>(null);
  // One read serves the three tabs and their counts; an answer older than the latest read is
  // dropped.
  const [all, setAll] = createSignal<OutboxRow_Serialize[] | null>(null);
  const [loadError, setLoadError] = createSignal<unknown>(null);
  let generation = 0;
  async function refetch() {
    const mine = ++generation;
    try {
      const list = await call(api.listOutbox(null, OUTBOX_LIMIT));
      if (mine !== generation) return;
      setAll(list);
      setLoadError(null);
    } catch (e) {
      if (mine === generation) setLoadError(e);
    }
  }
  onMount(() => void refetch());
  const rows = createMemo(() => (all() ?? []).filter((r) => r.status === tab()));
  const count = (s: OutboxTab) => (all() ?? []).filter((r) => r.status === s).length;
  const shown = createMemo(() => new Set(rows().map((r) => r.id)));
  const chosen = () => rows().filter((r) => selected().has(r.id));
  const senders = () => [...new Set(chosen().map((r) => r.sender_mailbox_id).filter((m): m is MailboxId => m !== null))];
  const names = createMemo(() => new Map((all() ?? []).map((r) => [r.sender_mailbox_id, r.sender_mailbox_name])));

  const reread = coalesce(() => void refetch(), 1000);
  onEngineEvent(events.syncChanged, reread);
  whileVisible(reread, OUTBOX_POLL_MS);

  const toggle = (id: ActivityId, on: boolean) => {
    const next = new Set([...selected()].filter((x) => shown().has(x)));
    if (on) next.add(id);
    else next.delete(id);
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
      void refetch();
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
        setSelected(new Set<ActivityId>());
      } finally {
        setSendingNow(false);
      }
    });

  return (
    <Show when={!composing()} fallback={<ComposeForm onClose={() => { setComposing(false); void refetch(); }} onSent={() => void refetch()} />}>
      <section class="page" data-testid="outbox-page">
        <header class="page-header">
          <h2 class="page-title">{t("nav.outbox")}</h2>
          <div class="tabs" role="tablist">
            <For each={TABS}>
              {(s) => (
                <button type="button" role="tab" aria-selected={tab() === s} classList={{ active: tab() === s }} data-testid={`outbox-tab-${s}`}
                  data-count={all() ? count(s) : ""} onClick={() => setTab(s)}>
                  {t("outbox.tabWithCount", { label: t(`emailStatus.${s}`), count: formatNumber(count(s)) })}
                </button>
              )}
            </For>
          </div>
          <div class="commands">
            <button type="button" data-testid="outbox-new-email" onClick={() => setComposing(true)}>{t("outbox.newEmail")}</button>
            <button type="button" data-testid="outbox-send-now" disabled={busy() || senders().length === 0} onClick={sendNow}>{t("outbox.sendNow")}</button>
            <button type="button" data-testid="outbox-refresh" onClick={() => void refetch()}>{t("cmd.refresh")}</button>
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
                      <strong>{names().get(r.mailbox_id) || `#${r.mailbox_id}`}</strong>{" — "}
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
        <Show when={rows().length > 0} fallback={<p class="muted" data-testid="outbox-empty">{all() === null ? t("common.loading") : t("outbox.empty")}</p>}>
          <table class="grid outbox" data-testid="outbox-grid" data-tab={tab()}>
            <thead>
              <tr>
                <th><span class="sr-only">{t("grid.selectRow")}</span></th>
                <th>{t("activity.subject")}</th>
                <th>{t("outbox.sender")}</th>
                <th>{t("activity.to")}</th>
                <th>{t("outbox.status")}</th>
                <th>{t("outbox.attempts")}</th>
                <th>{t("outbox.sendAfter")}</th>
                <th>{t("outbox.reason")}</th>
                <th></th>
              </tr>
            </thead>
            <tbody>
              <For each={rows()}>
                {(r) => (
                  <tr data-testid="outbox-row" data-id={r.id} data-status={r.status} data-subject={r.subject} data-sender={r.sender_mailbox_id ?? ""}
                    data-attempts={r.delivery_attempts} data-possible-duplicate={String(r.possible_duplicate)} data-code={r.last_error_code}
                    classList={{ selected: selected().has(r.id) }}>
                    <td>
                      <input type="checkbox" data-testid="outbox-select" aria-label={t("grid.selectRow")} checked={selected().has(r.id)}
                        disabled={r.sender_mailbox_id === null} onChange={(e) => toggle(r.id, e.currentTarget.checked)} />
                    </td>
                    <td>
                      {r.subject || t("activity.noSubject")}
                      <Show when={r.possible_duplicate}>
                        {" "}<span class="tag warning" data-testid="possible-duplicate" title={t("outbox.possibleDuplicateHint")}>{t("outbox.possibleDuplicate")}</span>
                      </Show>
                    </td>
                    <td>{r.sender_mailbox_name}</td>
                    <td>{r.to}</td>
                    <td data-testid="outbox-status">{t(`emailStatus.${r.status}`)}</td>
                    <td>{formatNumber(r.delivery_attempts)}</td>
                    <td>{r.send_after ? formatDate(r.send_after) : ""}</td>
                    <td data-testid="outbox-reason">{r.last_error_code ? msg(r.last_error_code, r.last_error_params) : ""}</td>
                    <td>
                      <Show when={r.status === "failed"}>
                        <button type="button" data-testid="outbox-retry" disabled={busy()} onClick={() => retry(r)}>{t("outbox.retry")}</button>
                      </Show>
                    </td>
                  </tr>
                )}
              </For>
            </tbody>
          </table>
        </Show>
      </section>
    </Show>
  );
}
