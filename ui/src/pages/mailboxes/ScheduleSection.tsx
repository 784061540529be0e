// The mailbox form's Synchronization section: for each workload (incoming, outgoing) when it
// last ran and runs next, what its last cycle did, its failures in a row and last error, and
// whether a cycle is running now; then the latest cycles, and Download Mailbox Details.
import { For, Show, createSignal } from "solid-js";
import { api, call, type MailboxDto_Serialize, type SyncRun, type WorkloadSchedule_Serialize } from "../../api";
import { ErrorBanner } from "../../components/form";
import { formatMoment, isFuture, nowTick } from "../../components/when";
import { formatDate, formatNumber, formatRelative, lang, msg, t } from "../../i18n";

/** How many of the latest cycles the form lists. */
export const RUNS_SHOWN = 20;

/** What the Next sync cell says, as a code (the data attribute) and in words. */
export function nextSync(m: MailboxDto_Serialize, s: WorkloadSchedule_Serialize): { state: "not_configured" | "inactive" | "disabled" | "asap" | "scheduled"; text: string } {
  const incoming = s.workload === "incoming";
  const configured = incoming ? m.incoming_method === "server_side_sync" : s.workload === "outgoing" ? m.outgoing_method === "server_side_sync" : m.act_method === "server_side_sync";
  if (!configured) return { state: "not_configured", text: t("schedule.notConfigured") };
  const enabled = incoming ? m.enabled_for_incoming : s.workload === "outgoing" ? m.enabled_for_outgoing : m.enabled_for_act;
  if (m.state !== "active") return { state: "inactive", text: t("state.inactive") };
  if (!enabled) return { state: "disabled", text: t("schedule.disabled") };
  if (!isFuture(s.next_run_on)) return { state: "asap", text: t("schedule.asap") };
  return { state: "scheduled", text: formatMoment(s.next_run_on) };
}

/** The words of an error code; a code whose words need parameters the record does not keep
 * shows "…" in their place. */
export function errorWords(code: string, params?: Record<string, string>): string {
  return msg(code, params).replace(/\{\w+\}/g, "…");
}

export function ScheduleSection(props: {
  mailbox: MailboxDto_Serialize;
  schedule: WorkloadSchedule_Serialize[] | undefined;
  runs: SyncRun[] | undefined;
}) {
  const [path, setPath] = createSignal<string | null>(null);
  const [error, setError] = createSignal<unknown>(null);
  const [busy, setBusy] = createSignal(false);
  const running = (s: WorkloadSchedule_Serialize) => isFuture(s.lease_expires_on);
  const pushed = (s: WorkloadSchedule_Serialize) => "idle_connected" in s && s.idle_connected === true;

  async function download() {
    setError(null);
    setPath(null);
    setBusy(true);
    try {
      setPath(await call(api.exportMailboxDetails(props.mailbox.id, lang())));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <fieldset class="section schedule" data-section="schedule" data-testid="mailbox-schedule">
      <legend>{t("mailbox.section.schedule")}</legend>
      <div class="commands bar">
        <button type="button" data-testid="download-mailbox-details" disabled={busy()} onClick={download}>{t("cmd.downloadMailboxDetails")}</button>
      </div>
      <ErrorBanner error={error()} />
      <Show when={path()}>
        {(p) => <div class="banner ok" role="status" data-testid="mailbox-details-path" data-path={p()}>{t("activity.savedTo", { path: p() })}</div>}
      </Show>
      <table class="grid schedule-grid">
        <thead>
          <tr>
            <th>{t("schedule.workload")}</th>
            <th>{t("schedule.lastSync")}</th>
            <th>{t("schedule.nextSync")}</th>
            <th>{t("schedule.itemsProcessed")}</th>
            <th>{t("schedule.itemsFailed")}</th>
            <th>{t("schedule.transientFailures")}</th>
            <th>{t("schedule.runningNow")}</th>
            <th>{t("schedule.lastError")}</th>
          </tr>
        </thead>
        <tbody>
          <For each={props.schedule ?? []} fallback={<tr><td colspan="8" class="muted">{t("common.loading")}</td></tr>}>
            {(s) => {
              const next = () => nextSync(props.mailbox, s);
              return (
                <tr data-testid="schedule-row" data-workload={s.workload} data-next={next().state} data-next-run={s.next_run_on ?? ""}
                  data-last-completed={s.last_completed_on ?? ""} data-items-processed={s.items_processed} data-items-failed={s.items_failed}
                  data-transient-failures={s.transient_failures} data-running={String(running(s))} data-error-code={s.last_error_code}>
                  <th scope="row">{t(`schedule.workload.${s.workload}`)}</th>
                  <td data-testid="schedule-last-sync" title={formatDate(s.last_completed_on) || undefined}>{s.last_completed_on ? formatRelative(s.last_completed_on, nowTick()) : t("schedule.never")}</td>
                  <td data-testid="schedule-next-sync" title={next().state === "scheduled" ? formatDate(s.next_run_on) : undefined}>{next().text}</td>
                  <td data-testid="schedule-items-processed">{formatNumber(s.items_processed)}</td>
                  <td data-testid="schedule-items-failed">{formatNumber(s.items_failed)}</td>
                  <td data-testid="schedule-transient-failures">{formatNumber(s.transient_failures)}</td>
                  <td data-testid="schedule-running">
                    {running(s) ? t("schedule.runningBy", { holder: s.lease_holder ?? "" }) : t("no")}
                    <Show when={pushed(s)}><div class="muted small" data-testid="schedule-pushed">{t("schedule.pushed")}</div></Show>
                  </td>
                  <td data-testid="schedule-last-error">
                    <Show when={s.last_error_code} fallback={t("common.none")}>
                      <span class="reason" data-code={s.last_error_code}>{errorWords(s.last_error_code, s.last_error_params)}</span>
                      <Show when={s.last_error_on}><div class="muted small" title={formatDate(s.last_error_on)}>{formatRelative(s.last_error_on, nowTick())}</div></Show>
                    </Show>
                  </td>
                </tr>
              );
            }}
          </For>
        </tbody>
      </table>
      <h4>{t("schedule.latestCycles")}</h4>
      <Show when={(props.runs ?? []).length > 0} fallback={<p class="muted" data-testid="sync-runs-empty">{t("schedule.noCycles")}</p>}>
        <table class="grid sync-runs" data-testid="sync-runs">
          <thead>
            <tr>
              <th>{t("schedule.workload")}</th>
              <th>{t("schedule.started")}</th>
              <th>{t("schedule.completed")}</th>
              <th>{t("schedule.outcome")}</th>
              <th>{t("schedule.items")}</th>
              <th>{t("schedule.failedItems")}</th>
              <th>{t("schedule.error")}</th>
              <th>{t("schedule.runner")}</th>
            </tr>
          </thead>
          <tbody>
            <For each={props.runs ?? []}>
              {(r) => (
                <tr data-testid="sync-run" data-workload={r.workload} data-outcome={r.outcome} data-items={r.items} data-failed-items={r.failed_items} data-code={r.error_code}>
                  <td>{t(`schedule.workload.${r.workload}`)}</td>
                  <td class="nowrap" title={formatDate(r.started_on)}>{formatMoment(r.started_on)}</td>
                  <td class="nowrap" title={formatDate(r.completed_on)}>{formatMoment(r.completed_on)}</td>
                  <td classList={{ failing: r.outcome !== "success" }}>{t(`run.outcome.${r.outcome}`)}</td>
                  <td>{formatNumber(r.items)}</td>
                  <td>{formatNumber(r.failed_items)}</td>
                  <td>{r.error_code ? errorWords(r.error_code) : ""}</td>
                  <td class="muted small">{r.runner}</td>
                </tr>
              )}
            </For>
          </tbody>
        </table>
      </Show>
    </fieldset>
  );
}
