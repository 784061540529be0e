// Live progress of a Test & Enable job, mailbox by mailbox. The job runs in the engine; this
// panel only follows it, so the user can keep working on other pages.
import { For, Show, createSignal, onCleanup } from "solid-js";
import { api, call, events, type JobDto_Serialize } from "../api";
import { msg, t } from "../i18n";
import { errorText } from "./form";

const [current, setCurrent] = createSignal<JobDto_Serialize | null>(null);
let timer: ReturnType<typeof setInterval> | undefined;
let unlisten: (() => void) | undefined;

function stopFollowing() {
  if (timer) clearInterval(timer);
  timer = undefined;
  unlisten?.();
  unlisten = undefined;
}

/** Starts following a job (replacing the one followed before): the engine pushes a
 * notification whenever the job changes, and a slow poll covers a missed one. */
export function followJob(job: JobDto_Serialize, pollMs = 1000) {
  stopFollowing();
  setCurrent(job);
  const id = job.id;
  const refresh = async () => {
    if (current()?.id !== id) return;
    try {
      const next = await call(api.getJob(id));
      if (current()?.id !== id) return;
      setCurrent(next);
      if (next.finished) stopFollowing();
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

export function JobPanel() {
  const [error, setError] = createSignal<unknown>(null);
  onCleanup(stopFollowing);
  return (
    <Show when={current()}>
      {(job) => (
        <aside class="job-panel" data-testid="job-panel" data-state={job().state}>
          <header>
            <strong>{t("job.title")}</strong>
            <span data-testid="job-progress">{t("job.progress", { done: job().done, total: job().total })}</span>
            <span class="muted">{job().state === "running" ? t("job.running") : t("job.finished")}</span>
            <Show when={job().state === "running"}>
              <button type="button" onClick={async () => {
                try { setCurrent(await call(api.cancelJob(job().id))); } catch (e) { setError(e); }
              }}>{t("job.cancel")}</button>
            </Show>
            <button type="button" onClick={() => { stopFollowing(); setCurrent(null); }}>{t("cmd.close")}</button>
          </header>
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
        </aside>
      )}
    </Show>
  );
}
