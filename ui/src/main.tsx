import { render } from "solid-js/web";
import { App } from "./App";
import { lang } from "./i18n";
import { api } from "./api";

document.documentElement.lang = lang();
const root = document.getElementById("root");
if (root) {
  render(() => <App />, root);
  // The window is interactive once its first page has painted: the mark the start-up benchmark
  // (bench/ui-footprint.mjs) reads, and the moment the app logs as its start-up time.
  requestAnimationFrame(() => requestAnimationFrame(() => {
    const mark = performance.mark("serversync-interactive");
    void api.windowInteractive(performance.timeOrigin + mark.startTime, performance.timeOrigin).catch(() => {});
  }));
}
