// One email activity: its subject and dates, the parties (each resolved record a link to it), the
// attachments (Save), why it was tracked, its regarding record, Download .eml, and the body. The
// HTML body is the engine's sanitised copy, shown only in a sandboxed frame that runs no script
// and loads nothing (a tracking pixel never fires).
import { For, Show, createEffect, createResource, createSignal, on } from "solid-js";
import { api, call, type ActivityId, type EmailActivityDetail_Serialize, type PartyRole, type PartyView_Serialize, type RecordRef } from "../../api";
import { ErrorBanner } from "../../components/form";
import { formatDate, formatSize, optionLabel, t } from "../../i18n";
import type { RecordEntity } from "../records/kinds";
import { correlationLabel, emailBodyDoc } from "./labels";
import { RecordPicker } from "./RecordPicker";

const ROLES: PartyRole[] = ["from", "to", "cc", "bcc"];
const REGARDING_ENTITIES: RecordEntity[] = ["contact", "account", "lead"];

export function EmailDetail(props: {
  id: ActivityId;
  onClose: () => void;
  onBack?: () => void;
  onOpenActivity: (id: ActivityId) => void;
  onOpenRecord?: (r: RecordRef) => void;
  onChanged?: () => void;
}) {
  const [detail, { mutate, refetch }] = createResource(() => props.id, (id) => call(api.getEmailActivity(id)));
  const [error, setError] = createSignal<unknown>(null);
  const [emlPath, setEmlPath] = createSignal<string | null>(null);
  const [savedPaths, setSavedPaths] = createSignal<Record<number, string>>({});
  const [busy, setBusy] = createSignal(false);
  createEffect(on(() => props.id, () => { setError(null); setEmlPath(null); setSavedPaths({}); }));

  async function run<T>(f: () => Promise<T>): Promise<T | undefined> {
    setError(null);
    setBusy(true);
    try {
      return await f();
    } catch (e) {
      setError(e);
      return undefined;
    } finally {
      setBusy(false);
    }
  }

  const partiesOf = (d: EmailActivityDetail_Serialize, role: PartyRole) =>
    d.parties.filter((p) => p.role === role).sort((a, b) => a.position - b.position);

  return (
    <article class="form email-detail" data-testid="activity-detail" data-id={props.id}>
      <Show when={detail.error}><ErrorBanner error={detail.error} /></Show>
      <Show when={detail()} fallback={<Show when={!detail.error}><p class="muted">{t("common.loading")}</p></Show>}>
        {(d) => (
          <>
            <header class="form-header">
              <h2 data-testid="activity-subject">{d().subject || t("activity.noSubject")}</h2>
              <span class="muted">{optionLabel("entity", "email")}</span>
              <div class="commands">
                <button type="button" data-testid="download-eml" disabled={busy()}
                  onClick={async () => { const p = await run(() => call(api.exportEmail(d().id))); if (p !== undefined) setEmlPath(p); }}>
                  {t("activity.downloadEml")}
                </button>
                <button type="button" data-testid="activity-refresh-detail" onClick={() => refetch()}>{t("cmd.refresh")}</button>
                <Show when={props.onBack}>
                  <button type="button" data-testid="activity-back" onClick={() => props.onBack?.()}>{t("cmd.back")}</button>
                </Show>
                <button type="button" data-testid="activity-close" onClick={props.onClose}>{t("cmd.close")}</button>
              </div>
            </header>
            <ErrorBanner error={error()} />
            <Show when={emlPath()}>
              <div class="banner ok" role="status" data-testid="eml-path" data-path={emlPath()!}>{t("activity.savedTo", { path: emlPath()! })}</div>
            </Show>
            <Show when={d().notifications !== "none"}>
              <div class="banner warning" role="note" data-testid="activity-notification" data-notification={d().notifications}>
                {t(`activity.notification.${d().notifications as "attachments_not_saved" | "truncated_body"}`)}
              </div>
            </Show>

            <div class="detail-grid">
              <section class="section" aria-labelledby="email-summary">
                <h3 id="email-summary">{t("activity.section.summary")}</h3>
                <dl class="readonly" data-testid="activity-dates">
                  <dt>{t("activity.receivedOn")}</dt><dd data-testid="activity-received-on">{formatDate(d().received_on)}</dd>
                  <Show when={d().sent_on}>
                    <dt>{t("activity.sentOn")}</dt><dd data-testid="activity-sent-on">{formatDate(d().sent_on)}</dd>
                  </Show>
                  <dt>{t("activity.createdOn")}</dt><dd>{formatDate(d().created_on)}</dd>
                  <dt>{t("activity.owner")}</dt><dd>{d().owner_name || t("common.none")}</dd>
                  <dt>{t("activity.size")}</dt><dd>{formatSize(d().size_bytes)}</dd>
                </dl>
                <h4>{t("activity.parties")}</h4>
                <dl class="readonly parties" data-testid="activity-parties">
                  <For each={ROLES}>
                    {(role) => (
                      <Show when={role !== "bcc" || partiesOf(d(), role).length > 0}>
                        <dt>{t(`activity.role.${role}`)}</dt>
                        <dd>
                          <ul class="party-list" data-testid={`parties-${role}`} data-role={role}>
                            <For each={partiesOf(d(), role)} fallback={<li class="muted">{t("common.none")}</li>}>
                              {(p) => <PartyItem party={p} onOpenRecord={props.onOpenRecord} />}
                            </For>
                          </ul>
                        </dd>
                      </Show>
                    )}
                  </For>
                </dl>
              </section>

              <section class="section" aria-labelledby="email-why" data-testid="activity-why">
                <h3 id="email-why">{t("activity.section.why")}</h3>
                <dl class="readonly">
                  <dt>{t("activity.why.accepting")}</dt>
                  <dd data-testid="why-accepting" data-entity={d().accepting?.entity ?? ""}>
                    <Show when={d().accepting} fallback={<span class="muted">{t("activity.why.noAccepting")}</span>}>
                      {(a) => <>{d().accepting_name || `#${a().id}`} <span class="tag">{optionLabel("entity", a().entity)}</span></>}
                    </Show>
                  </dd>
                  <dt>{t("activity.why.filter")}</dt>
                  <dd data-testid="why-filter" data-filter={d().accepting_filter ?? ""}>
                    {d().accepting_filter ? optionLabel("filtering_method", d().accepting_filter!) : t("common.none")}
                  </dd>
                  <dt>{t("activity.why.correlation")}</dt>
                  <dd data-testid="why-correlation" data-method={d().correlation_method}>{correlationLabel(d().correlation_method)}</dd>
                  <Show when={d().correlated_activity_id}>
                    {(other) => (
                      <>
                        <dt>{t("activity.why.correlatedWith")}</dt>
                        <dd>
                          <button type="button" class="link" data-testid="correlated-link" data-id={other()}
                            onClick={() => props.onOpenActivity(other())}>
                            {d().correlated_subject || t("activity.noSubject")}
                          </button>
                        </dd>
                      </>
                    )}
                  </Show>
                  <dt>{t("activity.receivedBy")}</dt>
                  <dd>
                    <ul class="plain" data-testid="activity-receipts">
                      <For each={d().receipts} fallback={<li class="muted">{t("common.none")}</li>}>
                        {(r) => <li data-testid="receipt" data-mailbox={r.mailbox_name}>{r.mailbox_name} · {formatDate(r.received_on)}</li>}
                      </For>
                    </ul>
                  </dd>
                </dl>
              </section>

              <RegardingSection detail={d()} busy={busy()} onOpenRecord={props.onOpenRecord}
                onSet={async (ref) => {
                  const saved = await run(() => call(api.setEmailRegarding(d().id, ref)));
                  if (!saved) return false;
                  mutate(saved);
                  props.onChanged?.();
                  return true;
                }} />
            </div>

            <section class="section" aria-labelledby="email-attachments">
              <h3 id="email-attachments">{t("activity.section.attachments")}</h3>
              <Show when={d().attachments.length > 0} fallback={<p class="muted" data-testid="no-attachments">{t("activity.noAttachments")}</p>}>
                <table class="grid" data-testid="attachments">
                  <thead>
                    <tr><th>{t("activity.attachment.name")}</th><th>{t("activity.attachment.type")}</th><th>{t("activity.attachment.size")}</th><th>{t("common.state")}</th><th></th></tr>
                  </thead>
                  <tbody>
                    <For each={d().attachments}>
                      {(a) => (
                        <tr data-testid="attachment-row" data-position={a.position} data-name={a.file_name} data-not-saved={a.not_saved ?? ""}>
                          <td>{a.file_name}</td>
                          <td>{a.mime_type}</td>
                          <td>{formatSize(a.size_bytes)}</td>
                          <td>
                            <Show when={a.not_saved} fallback={t("activity.attachment.saved")}>
                              {(why) => <span class="not-saved" data-testid="attachment-not-saved" data-reason={why()}>{t(`activity.attachment.notSaved.${why()}`)}</span>}
                            </Show>
                          </td>
                          <td>
                            <button type="button" data-testid="attachment-save" disabled={a.not_saved !== null || busy()}
                              aria-label={t("activity.attachment.saveNamed", { file: a.file_name })}
                              onClick={async () => {
                                const p = await run(() => call(api.exportAttachment(d().id, a.position)));
                                if (p !== undefined) setSavedPaths({ ...savedPaths(), [a.position]: p });
                              }}>
                              {t("cmd.save")}
                            </button>
                            <Show when={savedPaths()[a.position]}>
                              {(p) => <div class="muted small" data-testid="attachment-path" data-path={p()}>{t("activity.savedTo", { path: p() })}</div>}
                            </Show>
                          </td>
                        </tr>
                      )}
                    </For>
                  </tbody>
                </table>
              </Show>
            </section>

            <section class="section" aria-labelledby="email-body">
              <h3 id="email-body">{t("activity.section.body")}</h3>
              <Show when={d().body_html_safe} fallback={<pre class="email-text" data-testid="email-body-text">{d().body_text}</pre>}>
                <iframe
                  class="email-frame"
                  sandbox=""
                  referrerpolicy="no-referrer"
                  title={t("activity.bodyFrame", { subject: d().subject })}
                  data-testid="email-body-frame"
                  srcdoc={emailBodyDoc(d().body_html_safe)}
                />
              </Show>
            </section>
          </>
        )}
      </Show>
    </article>
  );
}

function PartyItem(props: { party: PartyView_Serialize; onOpenRecord?: (r: RecordRef) => void }) {
  const p = () => props.party;
  return (
    <li class="party" data-testid="party" data-role={p().role} data-address={p().address} data-resolved={p().record ? "true" : "false"}>
      <Show when={p().record} fallback={
        <>
          <span data-testid="party-unresolved">{p().display_name ? `${p().display_name} <${p().address}>` : p().address}</span>{" "}
          <span class="tag muted">{t("activity.unresolved")}</span>
        </>
      }>
        {(rec) => (
          <>
            <button type="button" class="link" data-testid="party-link" data-entity={rec().entity} data-id={rec().id}
              title={t("activity.openRecord", { entity: optionLabel("entity", rec().entity) })}
              onClick={() => props.onOpenRecord?.(rec())}>
              {p().record_name || p().address}
            </button>{" "}
            <span class="tag" data-testid="party-entity">{optionLabel("entity", rec().entity)}</span>{" "}
            <span class="muted">&lt;{p().address}&gt;</span>
          </>
        )}
      </Show>
    </li>
  );
}

/** Regarding: the record the email is about (a contact, an account or a lead), and a picker to
 * set it or clear it. */
function RegardingSection(props: {
  detail: EmailActivityDetail_Serialize;
  busy: boolean;
  onOpenRecord?: (r: RecordRef) => void;
  /** Whether the email now has that regarding. */
  onSet: (ref: RecordRef | null) => Promise<boolean>;
}) {
  const [choice, setChoice] = createSignal<RecordRef | null>(null);
  // The records are read only when the picker opens.
  const [picking, setPicking] = createSignal(false);

  return (
    <section class="section" aria-labelledby="email-regarding" data-testid="activity-regarding">
      <h3 id="email-regarding">{t("activity.section.regarding")}</h3>
      <p data-testid="regarding-current" data-entity={props.detail.regarding?.entity ?? ""} data-id={props.detail.regarding?.id ?? ""}>
        <Show when={props.detail.regarding} fallback={<span class="muted" data-testid="regarding-none">{t("activity.regarding.none")}</span>}>
          {(r) => (
            <>
              <button type="button" class="link" data-testid="regarding-link" data-entity={r().entity} data-id={r().id}
                onClick={() => props.onOpenRecord?.(r())}>
                {props.detail.regarding_name || `#${r().id}`}
              </button>{" "}
              <span class="tag">{optionLabel("entity", r().entity)}</span>
            </>
          )}
        </Show>
        <span class="commands inline-commands">
          <button type="button" data-testid="regarding-change" aria-expanded={picking()} onClick={() => setPicking(!picking())}>
            {t("activity.regarding.change")}
          </button>
          <button type="button" data-testid="regarding-clear" disabled={props.busy || !props.detail.regarding}
            onClick={() => props.onSet(null)}>
            {t("activity.regarding.clear")}
          </button>
        </span>
      </p>
      <Show when={picking()}>
      <div class="regarding-picker" data-testid="regarding-picker">
        <RecordPicker entities={REGARDING_ENTITIES} prefix="regarding" onChoice={(r) => setChoice(r?.ref ?? null)} />
        <div class="commands">
          <button type="button" data-testid="regarding-set" disabled={props.busy || choice() === null}
            onClick={async () => {
              const ref = choice();
              if (ref === null) return;
              if (await props.onSet(ref)) setPicking(false);
            }}>
            {t("activity.regarding.set")}
          </button>
          <button type="button" onClick={() => setPicking(false)}>{t("cmd.cancel")}</button>
        </div>
      </div>
      </Show>
    </section>
  );
}
