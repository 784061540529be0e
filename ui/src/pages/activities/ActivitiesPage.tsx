// Email Activities: the tracked emails, newest first, in a virtualised grid that reads pages of
// 200 rows as the user scrolls (the first page says how many there are). Filters: text, receiving
// mailbox, correlation method, received from / to. Opening a row shows the email; New Email
// writes one.
import { For, Show, createEffect, createMemo, createSignal, on } from "solid-js";
import { createDebounced } from "../../components/debounced";
import {
  api, call, idFrom,
  type ActivityId, type CorrelationMethod, type EmailActivityFilter_Deserialize, type EmailActivityRow_Serialize, type MailboxId, type RecordRef,
} from "../../api";
import { DateTimeInput, ErrorBanner } from "../../components/form";
import { MailboxSearchInput, createMailboxSearch } from "../../components/mailboxSearch";
import { createPagedRows } from "../../components/pagedRows";
import { VirtualGrid, type GridColumn } from "../../components/VirtualGrid";
import { formatDate, optionLabel, t, tn } from "../../i18n";
import { ComposeForm } from "../outbox/ComposeForm";
import { EmailDetail } from "./EmailDetail";
import { CORRELATION_METHODS, correlationLabel, localDayStart } from "./labels";

export const PAGE_SIZE = 200;

export function ActivitiesPage(props: { onOpenRecord?: (r: RecordRef) => void }) {
  // The search follows what is typed after a pause, or at once on Enter.
  const searchBox = createDebounced();
  const search = searchBox.value;
  const [mailbox, setMailbox] = createSignal<MailboxId | null>(null);
  const [method, setMethod] = createSignal<CorrelationMethod | null>(null);
  const [from, setFrom] = createSignal("");
  const [to, setTo] = createSignal("");
  const [error, setError] = createSignal<unknown>(null);
  // The emails opened, the last one shown (Back returns to the one before).
  const [opened, setOpened] = createSignal<ActivityId[]>([]);
  const current = () => opened()[opened().length - 1] ?? null;
  const [composing, setComposing] = createSignal(false);

  const mailboxes = createMailboxSearch("all");

  const filter = createMemo<EmailActivityFilter_Deserialize>(() => ({
    mailbox_id: mailbox(),
    direction: null,
    correlation_method: method(),
    search: search().trim() || null,
    received_from: from() ? localDayStart(from()) : null,
    received_to: to() ? localDayStart(to(), 1) : null,
  }));

  // The rows, read a page at a time as the grid scrolls; a refresh or a new filter starts again.
  const paged = createPagedRows<EmailActivityRow_Serialize>({
    pageSize: PAGE_SIZE,
    fetch: (offset, limit) => call(api.listEmailActivities(filter(), offset, limit)),
    onError: setError,
  });
  const { total, inFlight } = paged;
  function reload() {
    setError(null);
    paged.reset();
  }
  createEffect(on(filter, reload));

  const row = paged.row;
  const open = (id: ActivityId) => {
    if (current() !== id) setOpened([...opened(), id]);
  };

  const columns = (): GridColumn<EmailActivityRow_Serialize>[] => [
    {
      key: "subject", title: t("activity.subject"), width: 280,
      render: (r) => <span class="subject" title={r.subject}>{r.subject || t("activity.noSubject")}</span>,
    },
    { key: "sender", title: t("activity.from"), width: 220, render: (r) => r.sender },
    { key: "to", title: t("activity.to"), width: 220, render: (r) => r.to },
    {
      key: "regarding", title: t("activity.regarding"), width: 180,
      render: (r) => (r.regarding ? `${r.regarding_name} (${optionLabel("entity", r.regarding.entity)})` : ""),
    },
    { key: "received_on", title: t("activity.receivedOn"), width: 170, render: (r) => formatDate(r.received_on) },
    { key: "receiving_mailbox", title: t("activity.receivingMailbox"), width: 180, render: (r) => r.receiving_mailbox_name },
    { key: "correlation_method", title: t("activity.correlationMethod"), width: 170, render: (r) => correlationLabel(r.correlation_method) },
  ];

  return (
    <section class="page" data-testid="activities-page">
      <Show when={composing()}>
        <ComposeForm onClose={() => { setComposing(false); reload(); }} />
      </Show>
      <Show when={current() !== null && !composing()}>
        <EmailDetail
          id={current()!}
          onClose={() => setOpened([])}
          onBack={opened().length > 1 ? () => setOpened(opened().slice(0, -1)) : undefined}
          onOpenActivity={open}
          onOpenRecord={props.onOpenRecord}
          onChanged={reload}
        />
      </Show>
      <div classList={{ hidden: current() !== null || composing() }}>
        <header class="page-header">
          <h2 class="page-title">{t("nav.activities")}</h2>
          <label class="inline">
            <span class="sr-only">{t("activity.search")}</span>
            <input type="search" data-testid="activity-search" placeholder={t("activity.search")} size={Math.max(20, t("activity.search").length + 2)} value={searchBox.text()}
              onInput={(e) => searchBox.input(e.currentTarget.value)}
              onKeyDown={(e) => { if (e.key === "Enter") searchBox.now(e.currentTarget.value); }} />
          </label>
          <label class="inline">
            {t("activity.receivingMailbox")}
            <MailboxSearchInput search={mailboxes} testid="activity-mailbox-search" />
            <select data-testid="activity-mailbox" onChange={(e) => {
              const id = e.currentTarget.value ? idFrom<MailboxId>(e.currentTarget.value) : null;
              mailboxes.choose(id);
              setMailbox(id);
            }}>
              <option value="">{t("activity.anyMailbox")}</option>
              <For each={mailboxes.rows()}>{(m) => <option value={m.id} selected={m.id === mailbox()}>{m.name}</option>}</For>
            </select>
          </label>
          <label class="inline">
            {t("activity.correlationMethod")}
            <select data-testid="activity-correlation" onChange={(e) => setMethod((e.currentTarget.value || null) as CorrelationMethod | null)}>
              <option value="">{t("activity.anyMethod")}</option>
              <For each={CORRELATION_METHODS}>{(m) => <option value={m} selected={m === method()}>{correlationLabel(m)}</option>}</For>
            </select>
          </label>
          <span class="inline">
            <label for="activity-from">{t("activity.receivedFrom")}</label>
            <DateTimeInput dateOnly id="activity-from" name="received_from" testid="activity-from" value={from()} onInput={(v) => setFrom(v ?? "")} />
          </span>
          <span class="inline">
            <label for="activity-to">{t("activity.receivedTo")}</label>
            <DateTimeInput dateOnly id="activity-to" name="received_to" testid="activity-to" value={to()} onInput={(v) => setTo(v ?? "")} />
          </span>
          <button type="button" data-testid="activity-refresh" onClick={reload}>{t("cmd.refresh")}</button>
          <button type="button" data-testid="activity-new-email" onClick={() => setComposing(true)}>{t("outbox.newEmail")}</button>
          <span class="muted" data-testid="activity-count" data-total={total() ?? ""} aria-live="polite">
            {total() === null ? t("common.loading") : tn("activity.count", total()!)}
            <Show when={inFlight() > 0 && total() !== null}> · {t("common.loading")}</Show>
          </span>
        </header>
        <ErrorBanner error={error()} />
        <VirtualGrid<EmailActivityRow_Serialize, ActivityId>
          testid="activity-grid"
          rowTestid="activity-row"
          label={t("nav.activities")}
          count={total() ?? 0}
          row={row}
          rowId={(r) => r.id}
          rowName={(r) => r.subject}
          columns={columns()}
          onRowClick={(id) => open(id)}
          onRowOpen={(id) => open(id)}
          onRange={paged.range}
          empty={total() === null ? t("common.loading") : t("common.empty")}
        />
      </div>
    </section>
  );
}
