// The mailbox form: General, Credentials, Synchronization Method, Configuration Test Results,
// Synchronization (each workload's schedule, the latest cycles, Download Mailbox Details),
// Incoming Email Synchronization (the last sync and the latest messages not tracked), and the
// mailbox's Alerts. What the synchronization shows is read again when a cycle of the mailbox ends.
import { For, Show, createEffect, createResource, createSignal, on } from "solid-js";
import { api, call, events, type MailboxChanges_Deserialize, type MailboxDto_Serialize, type MailboxId } from "../../api";
import { coalesce, onEngineEvent } from "../../api/live";
import { useCatalog } from "../../api/catalog";
import { BoolField, ErrorBanner, SecretField, Section, SelectField, TextField, ConfirmDelete } from "../../components/form";
import { currentJob, followJob } from "../../components/JobPanel";
import { fieldLabel, formatDate, formatNumber, msg, t } from "../../i18n";
import { resultLabel } from "../activities/labels";
import { RUNS_SHOWN, ScheduleSection } from "./ScheduleSection";

/** How many of the latest messages not tracked the form lists. */
export const OUTCOMES_SHOWN = 20;

export function MailboxForm(props: { id: MailboxId; onClose: () => void }) {
  const [confirmDelete, setConfirmDelete] = createSignal(false);
  const [mailbox, { mutate, refetch }] = createResource(() => props.id, (id) => call(api.getMailbox(id)));
  const [profiles] = createResource(() => call(api.listProfiles("active")));
  const catalog = useCatalog();
  const [alerts, { refetch: refetchAlerts }] = createResource(() => props.id, (id) =>
    call(api.listAlerts({ level: null, profile_id: null, mailbox_id: id })));
  const [syncState, { refetch: refetchSyncState }] = createResource(() => props.id, (id) => call(api.getSyncState(id)));
  const [outcomes, { refetch: refetchOutcomes }] = createResource(() => props.id, (id) => call(api.listItemOutcomes(id, OUTCOMES_SHOWN)));
  const [schedule, { refetch: refetchSchedule }] = createResource(() => props.id, (id) => call(api.getMailboxSchedule(id)));
  const [runs, { refetch: refetchRuns }] = createResource(() => props.id, (id) => call(api.listSyncRuns(id, RUNS_SHOWN)));
  const [draft, setDraft] = createSignal<MailboxChanges_Deserialize>({});
  const [error, setError] = createSignal<unknown>(null);
  const [notice, setNotice] = createSignal("");
  createEffect(on(mailbox, (m) => m && setDraft(draftOf(m))));
  // When a Test & Enable job that tested this mailbox ends, show its results and alerts.
  createEffect(
    on(
      () => currentJob()?.finished,
      (finished, before) => {
        if (finished && before === false && currentJob()?.items.some((i) => i.mailbox_id === props.id)) {
          refetch();
          refetchAlerts();
        }
      },
    ),
  );

  // A cycle of this mailbox ended: its schedule, history, counters and alerts changed (and a
  // failure may have disabled a workload).
  const syncEnded = coalesce(() => {
    refetchMailboxFlags();
    refetchSchedule();
    refetchRuns();
    refetchSyncState();
    refetchOutcomes();
    refetchAlerts();
  }, 500);
  onEngineEvent(events.syncChanged, (e) => {
    if (e.mailbox_id === props.id) syncEnded();
  });
  // The enabled flags as a cycle left them, for the Synchronization section (the form's draft,
  // being typed, is left alone).
  const [flags, setFlags] = createSignal<MailboxDto_Serialize | null>(null);
  createEffect(on(mailbox, () => setFlags(null)));
  async function refetchMailboxFlags() {
    try {
      const m = await call(api.getMailbox(props.id));
      if (m.id === props.id) setFlags(m);
    } catch {
      /* the Refresh command reads it again */
    }
  }

  function draftOf(m: MailboxDto_Serialize): MailboxChanges_Deserialize {
    return {
      name: m.name,
      email_address: m.email_address,
      delete_after_processing: m.delete_after_processing,
      allow_credentials: m.allow_credentials,
      user_name: m.user_name,
      profile_id: m.profile_id,
      incoming_method: m.incoming_method,
      outgoing_method: m.outgoing_method,
      act_method: m.act_method,
    };
  }
  const set = (patch: MailboxChanges_Deserialize) => setDraft({ ...draft(), ...patch });

  async function save() {
    setError(null);
    setNotice("");
    try {
      const m = await call(api.updateMailbox(props.id, draft()));
      mutate(m);
      setDraft(draftOf(m));
      setNotice(t("common.saved"));
    } catch (e) {
      setError(e);
    }
  }

  return (
    <div class="form" data-testid="mailbox-form">
      <Show when={mailbox()}>
        {(m) => (
          <>
            <header class="form-header">
              <h2>{m().name}</h2>
              <span class="muted">{t(`mailbox.kind.${m().kind}`)} · {t(`approval.${m().email_address_status}`)}</span>
              <div class="commands">
                <button type="button" data-testid="mailbox-save" onClick={save}>{t("cmd.save")}</button>
                <button type="button" onClick={async () => { try { await call(api.approveMailboxes([m().id], null)); refetch(); } catch (e) { setError(e); } }}>{t("cmd.approveEmail")}</button>
                <button type="button" onClick={async () => { try { followJob(await call(api.startTestAndEnable({ scope: "mailboxes", id: [m().id] }))); } catch (e) { setError(e); } }}>{t("cmd.testEnableMailboxes")}</button>
                <button type="button" data-testid="mailbox-refresh" onClick={() => { refetch(); refetchAlerts(); refetchSyncState(); refetchOutcomes(); refetchSchedule(); refetchRuns(); }}>{t("cmd.refresh")}</button>
                <Show when={m().is_forward_mailbox}>
                  <button type="button" data-testid="mailbox-delete" onClick={() => setConfirmDelete(true)}>{t("cmd.delete")}</button>
                </Show>
                <button type="button" onClick={props.onClose}>{t("cmd.close")}</button>
              </div>
            </header>
            <Show when={confirmDelete()}>
              <ConfirmDelete testid="dialog-delete" label={t("cmd.delete")} message={t("mailbox.deleteConfirm", { name: m().name })}
                onClose={() => setConfirmDelete(false)}
                onDelete={() => void call(api.deleteForwardMailbox(m().id)).then(() => props.onClose(), setError)} />
            </Show>
            <ErrorBanner error={error()} />
            <Show when={notice()}><div class="banner ok">{notice()}</div></Show>
            <Section title={t("mailbox.section.general")} id="general">
              <TextField name="name" value={draft().name ?? ""} error={error()} onInput={(v) => set({ name: v })} />
              <TextField name="email_address" value={draft().email_address ?? ""} error={error()} onInput={(v) => set({ email_address: v })} />
              <BoolField name="delete_after_processing" value={!!draft().delete_after_processing} error={error()} onChange={(v) => set({ delete_after_processing: v })} />
              <TextField name="regarding" label={t("mailbox.regarding")} value={t(`mailbox.kind.${m().kind}`)} disabled onInput={() => {}} />
              <TextField name="is_forward" label={t("mailbox.isForward")} value={m().is_forward_mailbox ? t("yes") : t("no")} disabled onInput={() => {}} />
            </Section>
            <Section title={t("mailbox.section.credentials")} id="credentials">
              <BoolField name="allow_credentials" value={!!draft().allow_credentials} error={error()} onChange={(v) => set({ allow_credentials: v })} />
              <TextField name="user_name" value={draft().user_name ?? ""} error={error()} onInput={(v) => set({ user_name: v })} />
              <SecretField name="password" isSet={m().is_password_set} error={error()}
                onSet={async (pw) => {
                  setError(null);
                  try {
                    const saved = await call(api.setMailboxCredentials(m().id, draft().user_name ?? "", pw));
                    mutate(saved);
                    setDraft(draftOf(saved));
                  } catch (e) { setError(e); }
                }}
                onClear={async () => { try { const saved = await call(api.clearMailboxCredentials(m().id)); mutate(saved); setDraft(draftOf(saved)); } catch (e) { setError(e); } }} />
            </Section>
            <Section title={t("mailbox.section.syncMethod")} id="sync">
              <SelectField name="profile_id" value={draft().profile_id ?? null} error={error()} allowNone={t("mailbox.noProfile")}
                options={(profiles() ?? []).map((p) => ({ value: p.id, label: p.name }))} onChange={(v) => set({ profile_id: v })} />
              <SelectField name="incoming_method" value={draft().incoming_method ?? null} error={error()}
                options={(catalog()?.incoming_methods ?? []).map((o) => ({ value: o, label: t(`option.incoming.${o}`) }))}
                onChange={(v) => v && set({ incoming_method: v })} />
              <SelectField name="outgoing_method" value={draft().outgoing_method ?? null} error={error()}
                options={(catalog()?.outgoing_methods ?? []).map((o) => ({ value: o, label: t(`option.outgoing.${o}`) }))}
                onChange={(v) => v && set({ outgoing_method: v })} />
              <SelectField name="act_method" value={draft().act_method ?? null} error={error()}
                options={(catalog()?.act_methods ?? []).map((o) => ({ value: o, label: t(`option.act.${o}`) }))}
                onChange={(v) => v && set({ act_method: v })} />
            </Section>
            <Section title={t("mailbox.section.testResults")} id="results">
              <dl class="readonly" data-testid="mailbox-results">
                <dt>{t("mailbox.incomingStatus")}</dt><dd data-testid="incoming-status">{t(`status.${m().incoming_status}`)}</dd>
                <dt>{t("mailbox.outgoingStatus")}</dt><dd data-testid="outgoing-status">{t(`status.${m().outgoing_status}`)}</dd>
                <dt>{t("mailbox.actStatus")}</dt><dd>{t(`status.${m().act_status}`)}</dd>
                <dt>{t("mailbox.testCompletedOn")}</dt><dd>{formatDate(m().test_completed_on)}</dd>
                <dt>{t("mailbox.emailAddressStatus")}</dt><dd>{t(`approval.${m().email_address_status}`)}</dd>
                <dt>{fieldLabel("process_email_received_after")}</dt><dd>{formatDate(m().process_email_received_after)}</dd>
              </dl>
            </Section>
            <ScheduleSection mailbox={flags() ?? m()} schedule={schedule.error ? undefined : schedule()} runs={runs.error ? undefined : runs()} />
            <Section title={t("mailbox.section.syncState")} id="sync-state">
              <dl class="readonly" data-testid="mailbox-sync-state">
                <dt>{t("mailbox.lastSyncCompletedOn")}</dt>
                <dd data-testid="sync-last-completed">{syncState()?.last_sync_completed_on ? formatDate(syncState()!.last_sync_completed_on) : t("common.none")}</dd>
                <dt>{t("mailbox.itemsProcessedLastSync")}</dt>
                <dd data-testid="sync-items-processed" data-count={syncState()?.items_processed_last_sync ?? ""}>{syncState() ? formatNumber(syncState()!.items_processed_last_sync) : ""}</dd>
                <dt>{t("mailbox.itemsFailedLastSync")}</dt>
                <dd data-testid="sync-items-failed" data-count={syncState()?.items_failed_last_sync ?? ""}>{syncState() ? formatNumber(syncState()!.items_failed_last_sync) : ""}</dd>
              </dl>
              <div class="outcomes">
                <h4>{t("mailbox.latestNotTracked")}</h4>
                <ul class="plain" data-testid="mailbox-outcomes">
                  <For each={outcomes() ?? []} fallback={<li class="muted">{t("common.empty")}</li>}>
                    {(o) => (
                      <li data-testid="outcome-item" data-outcome={o.outcome} data-code={o.code}>
                        <span class="muted">{formatDate(o.occurred_on)}</span> — <strong>{o.subject || t("activity.noSubject")}</strong> — {resultLabel(o.outcome)}: {msg(o.code, o.params)}
                        <Show when={o.moved_to_undeliverable}> <span class="tag">{t("mailbox.movedToUndeliverable")}</span></Show>
                      </li>
                    )}
                  </For>
                </ul>
              </div>
            </Section>
            <Section title={t("mailbox.section.alerts")} id="alerts">
              <ul class="alerts">
                <For each={alerts() ?? []} fallback={<li class="muted">{t("common.empty")}</li>}>
                  {(a) => <li class={a.level} data-code={a.code}>{formatDate(a.last_seen)} — {msg(a.code, a.params)}</li>}
                </For>
              </ul>
            </Section>
          </>
        )}
      </Show>
    </div>
  );
}
