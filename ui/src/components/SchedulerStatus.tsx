// The sidebar's synchronization indicator: whether this window's scheduler runs, the cycles
// running now, when the next workload falls due, and the cycles and failures since it started.
// Read again when a cycle ends and every few seconds while the window is visible.
import { Show, createSignal, onMount } from "solid-js";
import { api, call, events, type SchedulerStatus_Serialize } from "../api";
import { coalesce, onEngineEvent, whileVisible } from "../api/live";
import { formatNumber, t } from "../i18n";
import { formatMoment, isFuture, relativeTime } from "./when";

/** How often the indicator reads the status while the window is visible. */
export const STATUS_POLL_MS = 5000;

const [status, setStatus] = createSignal<SchedulerStatus_Serialize | null>(null);
let generation = 0;

/** Reads the scheduler's status again (after a setting that starts or stops it changed); an
 * answer older than the latest read is dropped. */
export async function refreshSchedulerStatus(): Promise<void> {
  const mine = ++generation;
  try {
    const s = await call(api.schedulerStatus());
    if (mine === generation) setStatus(s);
  } catch {
    /* the next tick tries again */
  }
}

export function SchedulerIndicator() {
  const [now, setNow] = createSignal(Date.now());
  const refresh = () => {
    setNow(Date.now());
    void refreshSchedulerStatus();
  };
  const soon = coalesce(refresh, 500);
  onMount(refresh);
  onEngineEvent(events.syncChanged, soon);
  whileVisible(refresh, STATUS_POLL_MS);

  const s = () => status();
  const next = () => {
    const due = s()?.next_due_on;
    if (!due) return t("scheduler.nextDue.none");
    return isFuture(due, now()) ? t("scheduler.nextDue", { when: relativeTime(due, now()) }) : t("scheduler.nextDue.now");
  };
  return (
    <div class="scheduler-status" data-testid="scheduler-status" role="status" aria-live="polite"
      data-running={s() ? String(s()!.running) : ""}
      data-active={s()?.active ?? ""}
      data-cycles={s()?.cycles ?? ""}
      data-failures={s()?.failures ?? ""}
      data-next-due={s()?.next_due_on ?? ""}
      data-last-cycle={s()?.last_cycle_on ?? ""}>
      <div class="scheduler-title">
        <span class="dot" classList={{ on: !!s()?.running }} aria-hidden="true" />
        <strong>{t("scheduler.title")}</strong>
      </div>
      <Show when={s()} fallback={<div class="muted">{t("common.loading")}</div>}>
        {(st) => (
          <Show when={st().running} fallback={<div data-testid="scheduler-off">{t("scheduler.off")}</div>}>
            <div data-testid="scheduler-running">{t("scheduler.running")}</div>
            <div data-testid="scheduler-active">{t("scheduler.activeNow", { count: formatNumber(st().active) })}</div>
            <div data-testid="scheduler-next" title={formatMoment(st().next_due_on)}>{next()}</div>
            <div data-testid="scheduler-cycles" title={st().last_cycle_on ? t("scheduler.lastCycle", { when: formatMoment(st().last_cycle_on) }) : undefined}>
              {t("scheduler.cyclesSinceStart", { count: formatNumber(st().cycles) })}
            </div>
            <div data-testid="scheduler-failures" classList={{ failing: st().failures > 0 }}>
              {t("scheduler.failuresSinceStart", { count: formatNumber(st().failures) })}
            </div>
          </Show>
        )}
      </Show>
    </div>
  );
}
