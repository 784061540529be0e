// Live progress of a Test & Enable job, mailbox by mailbox. The job runs in the engine; this
// panel only follows it, so the user can keep working on other pages.
//
// Where it sits: a dock at the bottom of the page area, not a card floating over it. The dock is
// the last element of <main> (the scrolling page area) and is `position: sticky; bottom: 0`
// (./panels.css): while the page is longer than the window it stays in view at the bottom, and
// because it also takes its own room at the end of the page, scrolling down always brings the
// last fields and buttons out from under it — it can cover a field for a moment, never hide one.
// Its height is limited (the list scrolls inside it), and Minimise folds it to one line.
//
// When a job finishes, a notification stays in the dock (also after the panel is closed) and
// opens the panel on that job's results again.
import { For, Show, createMemo, createSignal, onCleanup } from "solid-js";
import { api, call, events, type JobDto_Serialize, type JobId } from "../api";
import { msg, t } from "../i18n";
import { errorText } from "./form";
import "./panels.css";

/** The job followed (the latest started): what `currentJob()` returns, open or not. */
const [current, setCurrent] = createSignal<JobDto_Serialize | null>(null);
/** The job the panel shows (the followed one, or a finished one reopened from its
 * notification); null when the panel is closed. */
const [shownId, setShownId] = createSignal<JobId | null>(null);
const [minimised, setMinimised] = createSignal(false);
/** Finished jobs, newest first, as they ended. */
const [notices, setNotices] = createSignal<JobDto_Serialize[]>([]);
const NOTICES_KEPT = 5;
let timer: ReturnType<typeof setInterval> | undefined;
let unlisten: (() => void) | undefined;

export function stopFollowing() {
  if (timer) clearInterval(timer);
  timer = undefined;
  unlisten?.();
  unlisten = undefined;
}

/** Records the followed job's new state; a job that has just finished leaves a notification. */
function update(job: JobDto_Serialize) {
  setCurrent(job);
  if (job.finished) {
    stopFollowing();
    setNotices((list) => [job, ...list.filter((n) => n.id !== job.id)].slice(0, NOTICES_KEPT));
  }
}

/** Starts following a job (replacing the one followed before) and opens the panel on it: the
 * engine pushes a notification whenever the job changes, and a slow poll covers a missed one. */
export function followJob(job: JobDto_Serialize, pollMs = 1000) {
  stopFollowing();
  setShownId(job.id);
  setMinimised(false);
  update(job);
  if (job.finished) return;
  const id = job.id;
  const refresh = async () => {
    if (current()?.id !== id) return;
    try {
      const next = await call(api.getJob(id));
      if (current()?.id !== id || current()?.finished) return;
      update(next);
    } catch {
      /* the next notification or tick tries again */
    }
  };
  timer = setInterval(refresh, pollMs);
  events.jobChanged
    .listen((e) => {
      if (e.payload.id === id) void refresh();
    })
    .then((u) => {
      if (current()?.id === id && timer) unlisten = u;
      else u();
    })
    .catch(() => {
      /* no event channel: the poll alone follows the job */
    });
  // The job may have moved on before the listener was in place.
  void refresh();
}

export function currentJob() {
  return current();
}

/** Opens the panel on a finished job's results (what its notification does). */
export function showJobResults(id: JobId) {
  setShownId(id);
  setMinimised(false);
}

/** Closes the panel. A running job is still followed: its notification comes when it ends. */
export function closeJobPanel() {
  setShownId(null);
}

/** Forgets the jobs and notifications (tests start from nothing). */
export function resetJobPanel() {
  stopFollowing();
  setCurrent(null);
  setShownId(null);
  setMinimised(false);
  setNotices([]);
}

const count = (job: JobDto_Serialize, state: string) => job.items.filter((i) => i.state === state).length;

export function JobPanel() {
  const [error, setError] = createSignal<unknown>(null);
  onCleanup(stopFollowing);
  const shown = createMemo(() => {
    const id = shownId();
    if (id === null) return null;
    const c = current();
    return c?.id === id ? c : notices().find((n) => n.id === id) ?? null;
  });
  // A notification is not repeated while the panel shows the same job, unfolded.
  const visibleNotices = () => notices().filter((n) => minimised() || shown()?.id !== n.id);
  const listId = "job-panel-items";
  return (
    <Show when={shown() || visibleNotices().length > 0}>
      <div class="job-dock" data-testid="job-dock">
        <For each={visibleNotices()}>
          {(n) => (
            <div class="job-notification" role="status" data-testid="job-notification" data-job={n.id} data-state={n.state}>
              <span>
                {t(n.state === "cancelled" ? "job.notice.cancelled" : "job.notice.finished", {
                  success: count(n, "success"),
                  failure: count(n, "failure"),
                })}
              </span>
              <button type="button" class="link" data-testid="job-notification-open" onClick={() => showJobResults(n.id)}>
                {t("job.notice.open")}
              </button>
              <button type="button" class="dismiss" data-testid="job-notification-dismiss" aria-label={t("job.notice.dismiss")} title={t("job.notice.dismiss")}
                onClick={() => setNotices((list) => list.filter((x) => x.id !== n.id))}>
                ×
              </button>
            </div>
          )}
        </For>
        <Show when={shown()}>
          {(job) => (
            <aside class="job-panel" classList={{ minimised: minimised() }} data-testid="job-panel" data-job={job().id} data-state={job().state}
              data-minimised={minimised() ? "true" : "false"} aria-label={t("job.title")}>
              <header>
                <strong>{t("job.title")}</strong>
                <span data-testid="job-progress">{t("job.progress", { done: job().done, total: job().total })}</span>
                <span class="muted">{job().state === "running" ? t("job.running") : t("job.finished")}</span>
                <span class="job-panel-commands">
                  <Show when={job().state === "running" && job().id === current()?.id}>
                    <button type="button" onClick={async () => {
                      try { update(await call(api.cancelJob(job().id))); } catch (e) { setError(e); }
                    }}>{t("job.cancel")}</button>
                  </Show>
                  <button type="button" data-testid="job-panel-minimise" aria-expanded={minimised() ? "false" : "true"} aria-controls={listId}
                    onClick={() => setMinimised(!minimised())}>
                    {minimised() ? t("job.restore") : t("job.minimise")}
                  </button>
                  <button type="button" data-testid="job-panel-close" onClick={closeJobPanel}>{t("cmd.close")}</button>
                </span>
              </header>
              <div id={listId} class="job-panel-body" hidden={minimised()}>
                <Show when={error()}><div class="banner error">{errorText(error())}</div></Show>
                <ul>
                  <For each={job().items}>
                    {(item) => (
                      <li class={`job-item ${item.state}`} data-testid="job-item" data-mailbox={item.mailbox_name} data-state={item.state}>
                        <span class="name">{item.mailbox_name}</span>
                        <span class="state">{t(`job.state.${item.state}`)}</span>
                        <Show when={item.error_code}>
                          <span class="reason" data-code={item.error_code}>{msg(item.error_code, item.error_params)}</span>
                        </Show>
                      </li>
                    )}
                  </For>
                </ul>
              </div>
            </aside>
          )}
        </Show>
      </div>
    </Show>
  );
}
