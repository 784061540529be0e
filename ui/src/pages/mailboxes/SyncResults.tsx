// What Synchronize now (or Preview) did, mailbox by mailbox: the counts, or why the mailbox could
// not be processed; for a preview, each message with what would become of it and why.
import { For, Show, type JSX } from "solid-js";
import type { CycleReport_Serialize, ItemReport_Serialize, ItemResult, MailboxSync_Serialize, RecordRef } from "../../api";
import { formatNumber, msg, optionLabel, t } from "../../i18n";
import { correlationLabel, resultLabel } from "../activities/labels";

const COUNTS: { result: ItemResult; key: keyof CycleReport_Serialize }[] = [
  { result: "tracked", key: "tracked" },
  { result: "already_tracked", key: "already_tracked" },
  { result: "skipped", key: "skipped" },
  { result: "failed", key: "failed" },
  { result: "passed_over", key: "passed_over" },
];

export function SyncResults(props: {
  preview: boolean;
  results: MailboxSync_Serialize[];
  /** The name of a user or queue, if known. */
  nameOf?: (r: RecordRef) => string | undefined;
  onClose: () => void;
}) {
  return (
    <section class="section sync-results" data-testid="sync-results" data-preview={props.preview ? "true" : "false"} aria-live="polite">
      <header class="form-header">
        <h3>{props.preview ? t("sync.previewTitle") : t("sync.resultsTitle")}</h3>
        <div class="commands">
          <button type="button" data-testid="sync-results-close" onClick={props.onClose}>{t("cmd.close")}</button>
        </div>
      </header>
      <Show when={props.preview}>
        <p class="muted" data-testid="sync-preview-note">{t("sync.previewNote")}</p>
      </Show>
      <For each={props.results} fallback={<p class="muted">{t("common.empty")}</p>}>
        {(m) => (
          <div class="sync-mailbox" data-testid="sync-result" data-mailbox={m.mailbox_name} data-id={m.mailbox_id} data-status={m.error ? "error" : "ok"}>
            <h4>{m.mailbox_name}</h4>
            <Show when={m.error}>
              {(e) => <p class="banner error" role="alert" data-testid="sync-error" data-code={e().code}>{msg(e().code, e().params)}</p>}
            </Show>
            <Show when={m.report}>
              {(r) => (
                <>
                  <ul class="sync-counts" data-testid="sync-counts">
                    <For each={COUNTS}>
                      {(c) => (
                        <li data-testid={`count-${c.result}`} data-count={r()[c.key] as number}>
                          <span class="muted">{resultLabel(c.result)}</span> <strong>{formatNumber(r()[c.key] as number)}</strong>
                        </li>
                      )}
                    </For>
                  </ul>
                  <Show when={r().interrupted}>
                    <p class="muted" data-testid="sync-interrupted">{t("sync.interrupted")}</p>
                  </Show>
                  <Show when={props.preview}>
                    <ItemTable items={r().items} nameOf={props.nameOf} testid="preview-item" />
                  </Show>
                  <Show when={!props.preview && r().items.some(notTracked)}>
                    <details class="sync-not-tracked">
                      <summary>{t("sync.notTrackedItems", { count: formatNumber(r().items.filter(notTracked).length) })}</summary>
                      <ItemTable items={r().items.filter(notTracked)} nameOf={props.nameOf} testid="sync-item" />
                    </details>
                  </Show>
                </>
              )}
            </Show>
          </div>
        )}
      </For>
    </section>
  );
}

const notTracked = (i: ItemReport_Serialize) => i.result === "skipped" || i.result === "failed";

function ItemTable(props: { items: ItemReport_Serialize[]; nameOf?: (r: RecordRef) => string | undefined; testid: string }) {
  return (
    <Show when={props.items.length > 0} fallback={<p class="muted">{t("sync.noMessages")}</p>}>
      <table class="grid sync-items">
        <thead>
          <tr><th>{t("activity.subject")}</th><th>{t("activity.from")}</th><th>{t("sync.result")}</th><th>{t("sync.why")}</th></tr>
        </thead>
        <tbody>
          <For each={props.items}>
            {(i) => (
              <tr data-testid={props.testid} data-result={i.result} data-code={i.code} data-subject={i.subject}>
                <td>{i.subject || t("activity.noSubject")}</td>
                <td>{i.from}</td>
                <td data-testid="item-result">{resultLabel(i.result)}</td>
                <td data-testid="item-why"><Why item={i} nameOf={props.nameOf} /></td>
              </tr>
            )}
          </For>
        </tbody>
      </table>
    </Show>
  );
}

/** Why a message went the way it did: the refusal's words, or who accepted it and how it was
 * matched to a conversation. */
function Why(props: { item: ItemReport_Serialize; nameOf?: (r: RecordRef) => string | undefined }) {
  const i = () => props.item;
  const parts = (): JSX.Element[] => {
    const out: JSX.Element[] = [];
    const a = i().accepting;
    if (a) {
      out.push(
        <span data-testid="item-accepting" data-entity={a.entity}>
          {optionLabel("entity", a.entity)}
          <Show when={props.nameOf?.(a)}>{(n) => <> {n()}</>}</Show>
        </span>,
      );
    }
    const f = i().accepting_filter;
    if (f) out.push(<span data-testid="item-filter" data-filter={f}>{optionLabel("filtering_method", f)}</span>);
    if (i().result === "tracked" || i().correlation !== "none") {
      out.push(<span data-testid="item-correlation" data-method={i().correlation}>{t("sync.correlation", { method: correlationLabel(i().correlation) })}</span>);
    }
    return out;
  };
  return (
    <Show when={!i().code} fallback={<span class="reason" data-code={i().code}>{msg(i().code, i().params)}</span>}>
      <For each={parts()}>{(p, n) => <>{n() > 0 ? " · " : ""}{p}</>}</For>
    </Show>
  );
}
