// Keeping a page current: follow an engine event while a component is shown, read again on a
// timer while the window is visible, and fold a burst of notifications into one read.
import { onCleanup } from "solid-js";

type Listenable<T> = { listen: (cb: (e: { payload: T }) => void) => Promise<() => void> };

/** Calls `handler` with each notification of `event` until the component is disposed. */
export function onEngineEvent<T>(event: Listenable<T>, handler: (payload: T) => void) {
  let unlisten: (() => void) | undefined;
  let disposed = false;
  event
    .listen((e) => {
      if (!disposed) handler(e.payload);
    })
    .then((u) => {
      if (disposed) u();
      else unlisten = u;
    })
    .catch(() => {
      /* no event channel: the timer alone keeps the page current */
    });
  onCleanup(() => {
    disposed = true;
    unlisten?.();
  });
}

/** Calls `tick` every `ms` while the window is visible, and at once when it is shown again. */
export function whileVisible(tick: () => void, ms: number) {
  const visible = () => typeof document === "undefined" || document.visibilityState !== "hidden";
  const timer = setInterval(() => {
    if (visible()) tick();
  }, ms);
  const shown = () => {
    if (visible()) tick();
  };
  document.addEventListener("visibilitychange", shown);
  onCleanup(() => {
    clearInterval(timer);
    document.removeEventListener("visibilitychange", shown);
  });
}

/** `f`, called at most once per `ms`: calls in between are folded into one at the end. */
export function coalesce(f: () => void, ms: number): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let last = 0;
  const run = () => {
    timer = undefined;
    last = Date.now();
    f();
  };
  onCleanup(() => clearTimeout(timer));
  return () => {
    if (timer !== undefined) return;
    const wait = last + ms - Date.now();
    if (wait <= 0) run();
    else timer = setTimeout(run, wait);
  };
}
