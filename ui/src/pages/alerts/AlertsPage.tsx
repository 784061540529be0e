// The Alerts wall: Errors / Warnings / Information, filtered by profile or mailbox.
import { For, Show, createResource, createSignal } from "solid-js";
import { api, call, idFrom, type AlertLevel, type MailboxId, type ProfileId } from "../../api";
import { ErrorBanner } from "../../components/form";
import { MailboxSearchInput, createMailboxSearch } from "../../components/mailboxSearch";
import { createMailboxNames } from "../../components/nameLookup";
import { formatDate, formatNumber, msg, t } from "../../i18n";

export function AlertsPage() {
  const [level, setLevel] = createSignal<AlertLevel | null>(null);
  const [profile, setProfile] = createSignal<ProfileId | null>(null);
  const [mailbox, setMailbox] = createSignal<MailboxId | null>(null);
  const [error, setError] = createSignal<unknown>(null);
  const filter = () => ({ level: level(), profile_id: profile(), mailbox_id: mailbox() });
  const [alerts, { refetch }] = createResource(filter, (f) => call(api.listAlerts(f)));
  const [profiles] = createResource(() => call(api.listProfiles("all")));
  const mailboxes = createMailboxSearch("all");
  // The names of the mailboxes the alerts are about, each looked up once, not a list of them all.
  const mailboxName = createMailboxNames();
  const regarding = (r: { type: "profile" | "mailbox"; id: number }) =>
    (r.type === "profile" ? profiles()?.find((p) => p.id === r.id)?.name : mailboxName(idFrom<MailboxId>(r.id))) || `#${r.id}`;

  return (
    <section class="page" data-testid="alerts-page">
      <header class="page-header">
        <div class="tabs">
          <For each={[null, "error", "warning", "information"] as (AlertLevel | null)[]}>
            {(l) => (
              <button type="button" classList={{ active: level() === l }} onClick={() => setLevel(l)}>
                {l === null ? t("alerts.all") : l === "error" ? t("alerts.errors") : l === "warning" ? t("alerts.warnings") : t("alerts.information")}
              </button>
            )}
          </For>
        </div>
        <select aria-label={t("alerts.filterProfile")} onChange={(e) => setProfile(e.currentTarget.value ? idFrom<ProfileId>(e.currentTarget.value) : null)}>
          <option value="">{t("alerts.anyProfile")}</option>
          <For each={profiles() ?? []}>{(p) => <option value={p.id}>{p.name}</option>}</For>
        </select>
        <MailboxSearchInput search={mailboxes} testid="alerts-mailbox-search" />
        <select aria-label={t("alerts.filterMailbox")} data-testid="alerts-mailbox" onChange={(e) => {
          const id = e.currentTarget.value ? idFrom<MailboxId>(e.currentTarget.value) : null;
          mailboxes.choose(id);
          setMailbox(id);
        }}>
          <option value="">{t("alerts.anyMailbox")}</option>
          <For each={mailboxes.rows()}>{(m) => <option value={m.id} selected={m.id === mailbox()}>{m.name}</option>}</For>
        </select>
        <button type="button" onClick={async () => { try { await call(api.deleteAlerts(filter())); refetch(); } catch (e) { setError(e); } }}>{t("cmd.deleteAllAlerts")}</button>
      </header>
      <ErrorBanner error={error()} />
      <table class="grid" data-testid="alerts-grid">
        <thead><tr><th>{t("alerts.level.error")}/{t("alerts.level.warning")}</th><th>{t("alerts.message")}</th><th>{t("alerts.regarding")}</th><th>{t("alerts.lastSeen")}</th><th>{t("alerts.count")}</th></tr></thead>
        <tbody>
          <For each={alerts() ?? []} fallback={<tr><td colspan="5" class="muted">{t("common.empty")}</td></tr>}>
            {(a) => (
              <tr class={`alert ${a.level}`} data-testid="alert-row" data-code={a.code}>
                <td>{t(`alerts.level.${a.level}`)}</td>
                <td>
                  {msg(a.code, a.params)}
                  <Show when={a.detail}>
                    <details class="alert-detail" data-testid="alert-detail">
                      <summary>{t("alerts.details")}</summary>
                      <pre>{a.detail}</pre>
                    </details>
                  </Show>
                </td>
                <td>{regarding(a.regarding as { type: "profile" | "mailbox"; id: number })}</td>
                <td>{formatDate(a.last_seen)}</td>
                <td>{formatNumber(a.count)}</td>
              </tr>
            )}
          </For>
        </tbody>
      </table>
    </section>
  );
}
