import { render } from "solid-js/web";
import { App } from "./App";
import { lang } from "./i18n";

document.documentElement.lang = lang();
const root = document.getElementById("root");
if (root) {
  render(() => <App />, root);
  // The window is interactive once its first page has painted: the mark the start-up benchmark
  // (bench/ui-footprint.mjs) reads.
  requestAnimationFrame(() => requestAnimationFrame(() => performance.mark("serversync-interactive")));
}
