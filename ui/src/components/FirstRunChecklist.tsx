// The first-run checklist: the five steps an administrator goes through before mail flows, each
// ticked from what the engine already holds, each a link to the page where it is done. It can be
// dismissed, and it leaves for good once every step is done (both remembered in localStorage).
import { For, Show, createEffect, createResource, createSignal, on, onCleanup } from "solid-js";
import type { Page } from "../App";
import { api, call } from "../api";
import { t, type Key } from "../i18n";
import { currentJob } from "./JobPanel";
import "./panels.css";

export const DISMISSED_KEY = "serversync.firstRun.dismissed";
export const COMPLETED_KEY = "serversync.firstRun.completed";
/** How often the checklist reads the steps again while it shows. */
export const REFRESH_MS = 3000;

type Step = { label: Key; page: Page };
const STEPS: Step[] = [
  { label: "firstRun.step1", page: "profiles" },
  { label: "firstRun.step2", page: "profiles" }, // Set as default, on the grid of profiles
  { label: "firstRun.step3", page: "principals" },
  { label: "firstRun.step4", page: "mailboxes" },
  { label: "firstRun.step5", page: "mailboxes" },
];

/** Which steps are done, read from the engine (one small query, whatever the organisation's size). */
export async function firstRunProgress(): Promise<boolean[]> {
  const p = await call(api.firstRunProgress());
  return [p.profile, p.default_profile, p.users_or_queues, p.approved, p.enabled];
}

function stored(key: string): boolean {
  try {
    return localStorage.getItem(key) === "1";
  } catch {
    return false;
  }
}
function store(key: string) {
  try {
    localStorage.setItem(key, "1");
  } catch {
    /* storage may be unavailable: the choice holds while the window is open */
  }
}

export type FirstRunChecklistProps = {
  /** Opens a page of the navigation (App's `go`). */
  onGo: (page: Page) => void;
  /** Read the steps again whenever this changes (e.g. the page shown). */
  refreshKey?: unknown;
};

export function FirstRunChecklist(props: FirstRunChecklistProps) {
  const [hidden, setHidden] = createSignal(stored(DISMISSED_KEY) || stored(COMPLETED_KEY));
  // The end of a Test & Enable job may tick the last step.
  const [tick, setTick] = createSignal(0);
  createEffect(on(() => currentJob()?.finished, (finished, before) => {
    if (finished && before === false) setTick((n) => n + 1);
  }));
  // While it shows, it looks again now and then: a step done on the page below (a profile saved,
  // a default chosen) ticks without leaving the page. One small query each time.
  const timer = setInterval(() => {
    if (!hidden()) setTick((n) => n + 1);
  }, REFRESH_MS);
  onCleanup(() => clearInterval(timer));
  const [done] = createResource(
    () => (hidden() ? false : { key: props.refreshKey, tick: tick() }),
    async () => {
      const steps = await firstRunProgress();
      if (steps.every(Boolean)) {
        store(COMPLETED_KEY);
        setHidden(true);
      }
      return steps;
    },
  );
  // A failed read shows nothing: the checklist is a help, and the pages say what went wrong.
  const steps = () => (done.error ? undefined : done.latest);
  const count = () => (steps() ?? []).filter(Boolean).length;
  const dismiss = () => {
    store(DISMISSED_KEY);
    setHidden(true);
  };
  return (
    <Show when={!hidden() && steps()}>
      {(ticks) => (
        <section class="first-run" data-testid="first-run-checklist" aria-labelledby="first-run-title">
          <header>
            <h2 id="first-run-title">{t("firstRun.title")}</h2>
            <span class="muted" data-testid="first-run-progress">{t("firstRun.progress", { done: count(), total: STEPS.length })}</span>
            <button type="button" data-testid="first-run-dismiss" onClick={dismiss}>{t("firstRun.dismiss")}</button>
          </header>
          <ol>
            <For each={STEPS}>
              {(step, i) => (
                <li data-testid={`checklist-step-${i() + 1}`} data-done={ticks()[i()] ? "true" : "false"}>
                  <span class="tick" role="img" aria-label={ticks()[i()] ? t("firstRun.done") : t("firstRun.todo")}>✓</span>
                  <button type="button" class="link" onClick={() => props.onGo(step.page)}>{`${i() + 1}. ${t(step.label)}`}</button>
                </li>
              )}
            </For>
          </ol>
        </section>
      )}
    </Show>
  );
}
