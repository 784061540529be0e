import { render } from "solid-js/web";
import { App } from "./App";
import { lang } from "./i18n";

document.documentElement.lang = lang();
const root = document.getElementById("root");
if (root) render(() => <App />, root);
