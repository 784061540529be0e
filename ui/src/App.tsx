// The shell: Settings › Email Configuration navigation (with Monitoring), the tracked records
// (Email Activities, the Outbox, Contacts, Accounts, Leads), the synchronization indicator, the
// language switch, and the page.
import { For, Match, Show, Switch, createSignal, lazy } from "solid-js";
import type { MailboxId, RecordRef } from "./api";
import { JobPanel } from "./components/JobPanel";
import { FirstRunChecklist } from "./components/FirstRunChecklist";
import { SchedulerIndicator } from "./components/SchedulerStatus";
import { LANGS, lang, setLang, t, type Lang } from "./i18n";
import type { Key } from "./i18n/en";
import { ActivitiesPage } from "./pages/activities/ActivitiesPage";
import { AlertsPage } from "./pages/alerts/AlertsPage";
import { MailboxesPage } from "./pages/mailboxes/MailboxesPage";
import { MailboxForm } from "./pages/mailboxes/MailboxForm";
import { OutboxPage } from "./pages/outbox/OutboxPage";
import { PrincipalsPage } from "./pages/principals/PrincipalsPage";
import { ProfilesPage } from "./pages/profiles/ProfilesPage";
import { RecordsPage, type OpenRequest } from "./pages/records/RecordsPage";
import { SettingsPage } from "./pages/settings/SettingsPage";

export type Page =
  | "profiles" | "mailboxes" | "settings" | "principals" | "alerts" | "monitoring"
  | "activities" | "outbox" | "contacts" | "accounts" | "leads";
const PAGES: { id: Page; label: Key }[] = [
  { id: "profiles", label: "nav.profiles" },
  { id: "mailboxes", label: "nav.mailboxes" },
  { id: "settings", label: "nav.emailSettings" },
  { id: "principals", label: "nav.usersQueues" },
  { id: "alerts", label: "nav.alerts" },
  { id: "monitoring", label: "nav.monitoring" },
];
const RECORD_PAGES: { id: Page; label: Key }[] = [
  { id: "activities", label: "nav.activities" },
  { id: "outbox", label: "nav.outbox" },
  { id: "contacts", label: "nav.contacts" },
  { id: "accounts", label: "nav.accounts" },
  { id: "leads", label: "nav.leads" },
];

// The dashboard and its charting library load when the page is first opened, not at start-up.
const MonitoringPage = lazy(() => import("./pages/monitoring/MonitoringPage").then((m) => ({ default: m.MonitoringPage })));

/** The page that shows records of an entity. */
const PAGE_OF: Record<RecordRef["entity"], Page> = { contact: "contacts", account: "accounts", lead: "leads", user: "principals", queue: "principals" };

export function App() {
  const [page, setPage] = createSignal<Page>("profiles");
  const [mailbox, setMailbox] = createSignal<MailboxId | null>(null);
  // A record to open on its page (from an email's party or regarding).
  const [openRecord, setOpenRecord] = createSignal<OpenRequest>(null);
  const go = (p: Page) => {
    setMailbox(null);
    setOpenRecord(null);
    setPage(p);
  };
  const showRecord = (r: RecordRef) => {
    setMailbox(null);
    const target = PAGE_OF[r.entity];
    setOpenRecord(target === "principals" ? null : { id: r.id });
    setPage(target);
  };
  const navButton = (p: { id: Page; label: Key }) => (
    <button type="button" classList={{ active: page() === p.id }} aria-current={page() === p.id ? "page" : undefined}
      data-testid={`nav-${p.id}`} onClick={() => go(p.id)}>
      {t(p.label)}
    </button>
  );
  return (
    <div class="app" lang={lang()}>
      <nav class="sidebar" aria-label={t("nav.emailConfiguration")}>
        <div class="brand">{t("app.title")}</div>
        <div class="crumb">{t("nav.settings")} › {t("nav.emailConfiguration")}</div>
        <For each={PAGES}>{navButton}</For>
        <div class="crumb group">{t("nav.sales")}</div>
        <For each={RECORD_PAGES}>{navButton}</For>
        <SchedulerIndicator />
        <label class="lang">
          {t("nav.language")}
          <select data-testid="lang" value={lang()} onChange={(e) => setLang(e.currentTarget.value as Lang)}>
            <For each={LANGS}>{(l) => <option value={l.code} selected={l.code === lang()}>{l.name}</option>}</For>
          </select>
        </label>
      </nav>
      <main>
        <Show when={mailbox() === null}>
          <FirstRunChecklist onGo={go} refreshKey={page()} />
        </Show>
        <Switch>
          <Match when={mailbox() !== null}>
            <MailboxForm id={mailbox()!} onClose={() => setMailbox(null)} />
          </Match>
          <Match when={page() === "profiles"}><ProfilesPage /></Match>
          <Match when={page() === "mailboxes"}><MailboxesPage /></Match>
          <Match when={page() === "settings"}><SettingsPage /></Match>
          <Match when={page() === "principals"}><PrincipalsPage onOpenMailbox={setMailbox} /></Match>
          <Match when={page() === "alerts"}><AlertsPage /></Match>
          <Match when={page() === "monitoring"}><MonitoringPage /></Match>
          <Match when={page() === "outbox"}><OutboxPage /></Match>
          <Match when={page() === "activities"}><ActivitiesPage onOpenRecord={showRecord} /></Match>
          <Match when={page() === "contacts"}><RecordsPage entity="contact" open={openRecord()} /></Match>
          <Match when={page() === "accounts"}><RecordsPage entity="account" open={openRecord()} /></Match>
          <Match when={page() === "leads"}><RecordsPage entity="lead" open={openRecord()} /></Match>
        </Switch>
        <JobPanel />
      </main>
    </div>
  );
}
