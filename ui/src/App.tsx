// The shell: Settings › Email Configuration navigation, the language switch, and the page.
import { For, Match, Switch, createSignal } from "solid-js";
import type { MailboxId } from "./api";
import { JobPanel } from "./components/JobPanel";
import { LANGS, lang, setLang, t, type Lang } from "./i18n";
import type { Key } from "./i18n/en";
import { AlertsPage } from "./pages/alerts/AlertsPage";
import { MailboxesPage } from "./pages/mailboxes/MailboxesPage";
import { MailboxForm } from "./pages/mailboxes/MailboxForm";
import { PrincipalsPage } from "./pages/principals/PrincipalsPage";
import { ProfilesPage } from "./pages/profiles/ProfilesPage";
import { SettingsPage } from "./pages/settings/SettingsPage";

export type Page = "profiles" | "mailboxes" | "settings" | "principals" | "alerts";
const PAGES: { id: Page; label: Key }[] = [
  { id: "profiles", label: "nav.profiles" },
  { id: "mailboxes", label: "nav.mailboxes" },
  { id: "settings", label: "nav.emailSettings" },
  { id: "principals", label: "nav.usersQueues" },
  { id: "alerts", label: "nav.alerts" },
];

export function App() {
  const [page, setPage] = createSignal<Page>("profiles");
  const [mailbox, setMailbox] = createSignal<MailboxId | null>(null);
  const go = (p: Page) => {
    setMailbox(null);
    setPage(p);
  };
  return (
    <div class="app" lang={lang()}>
      <nav class="sidebar" aria-label={t("nav.emailConfiguration")}>
        <div class="brand">{t("app.title")}</div>
        <div class="crumb">{t("nav.settings")} › {t("nav.emailConfiguration")}</div>
        <For each={PAGES}>
          {(p) => (
            <button type="button" classList={{ active: page() === p.id }} data-testid={`nav-${p.id}`} onClick={() => go(p.id)}>
              {t(p.label)}
            </button>
          )}
        </For>
        <label class="lang">
          {t("nav.language")}
          <select data-testid="lang" value={lang()} onChange={(e) => setLang(e.currentTarget.value as Lang)}>
            <For each={LANGS}>{(l) => <option value={l.code} selected={l.code === lang()}>{l.name}</option>}</For>
          </select>
        </label>
      </nav>
      <main>
        <Switch>
          <Match when={mailbox() !== null}>
            <MailboxForm id={mailbox()!} onClose={() => setMailbox(null)} />
          </Match>
          <Match when={page() === "profiles"}><ProfilesPage /></Match>
          <Match when={page() === "mailboxes"}><MailboxesPage /></Match>
          <Match when={page() === "settings"}><SettingsPage /></Match>
          <Match when={page() === "principals"}><PrincipalsPage onOpenMailbox={setMailbox} /></Match>
          <Match when={page() === "alerts"}><AlertsPage /></Match>
        </Switch>
        <JobPanel />
      </main>
    </div>
  );
}
