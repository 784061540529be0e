// Email Server Profiles: views Active / Inactive, New › type, and the commands of the grid.
import { For, Show, createResource, createSignal } from "solid-js";
import { api, call, type Profile_Serialize, type ProfileId, type ProfileView, type ServerType } from "../../api";
import { ConfirmDelete, ErrorBanner } from "../../components/form";
import { followJob } from "../../components/JobPanel";
import { optionLabel, t } from "../../i18n";
import { ProfileForm } from "./ProfileForm";
import "../../components/panels.css";

const TYPES: ServerType[] = ["exchange_online", "exchange_server", "imap_smtp", "pop3_smtp"];

export function ProfilesPage() {
  const [view, setView] = createSignal<ProfileView>("active");
  const [selected, setSelected] = createSignal<ProfileId | null>(null);
  const [editing, setEditing] = createSignal<{ id: ProfileId | null; type: ServerType } | null>(null);
  const [error, setError] = createSignal<unknown>(null);
  const [menu, setMenu] = createSignal(false);
  const [confirmDelete, setConfirmDelete] = createSignal(false);
  let newButton!: HTMLButtonElement;
  const [profiles, { refetch }] = createResource(view, (v) => call(api.listProfiles(v)));
  const [settings, { refetch: refetchSettings }] = createResource(() => call(api.getSettings()));

  async function run(f: () => Promise<unknown>) {
    setError(null);
    try {
      await f();
      refetch();
      refetchSettings();
    } catch (e) {
      setError(e);
    }
  }
  const sel = () => selected();
  /** No active profile (once read): the page explains what a profile is and offers to create one. */
  const noProfiles = () => view() === "active" && !profiles.loading && !profiles.error && profiles()?.length === 0;
  const newProfile = (type: ServerType) => {
    setMenu(false);
    setEditing({ id: null, type });
  };

  return (
    <Show
      when={!editing()}
      fallback={
        <ProfileForm id={editing()!.id} serverType={editing()!.type} onClose={() => { setEditing(null); refetch(); }} onSaved={() => refetch()} />
      }
    >
      <section class="page" data-testid="profiles-page">
        <header class="page-header">
          <select data-testid="profile-view" aria-label={t("view.choose")} value={view()} onChange={(e) => setView(e.currentTarget.value as ProfileView)}>
            <option value="active">{t("view.activeProfiles")}</option>
            <option value="inactive">{t("view.inactiveProfiles")}</option>
          </select>
          <div class="commands">
            <span class="menu">
              <button type="button" data-testid="profile-new" ref={newButton} onClick={() => setMenu(!menu())}>{t("cmd.new")} ▾</button>
              <Show when={menu()}>
                <div class="menu-items">
                  <For each={TYPES}>
                    {(type) => (
                      <button type="button" data-testid={`profile-new-${type}`} onClick={() => newProfile(type)}>
                        {t(`profile.new.${type}`)}
                      </button>
                    )}
                  </For>
                </div>
              </Show>
            </span>
            <button type="button" disabled={sel() === null} data-testid="profile-test-enable"
              onClick={() => run(async () => followJob(await call(api.startTestAndEnable({ scope: "profile", id: sel()! }))))}>
              {t("cmd.testEnableMailboxes")}
            </button>
            <button type="button" disabled={sel() === null} data-testid="profile-set-default" onClick={() => run(() => call(api.setDefaultProfile(sel()!)))}>{t("cmd.setDefault")}</button>
            <Show when={view() === "active"} fallback={
              <button type="button" disabled={sel() === null} onClick={() => run(() => call(api.setProfileState([sel()!], "active")))}>{t("cmd.activate")}</button>
            }>
              <button type="button" disabled={sel() === null} onClick={() => run(() => call(api.setProfileState([sel()!], "inactive")))}>{t("cmd.deactivate")}</button>
            </Show>
            <button type="button" disabled={sel() === null} data-testid="profile-delete" onClick={() => setConfirmDelete(true)}>{t("cmd.delete")}</button>
          </div>
        </header>
        <Show when={confirmDelete() && sel() !== null}>
          <ConfirmDelete testid="dialog-delete-profile" label={t("cmd.delete")}
            message={t("profile.deleteConfirm", { name: profiles()?.find((p) => p.id === sel())?.name ?? "" })}
            onClose={() => setConfirmDelete(false)}
            onDelete={() => {
              const id = sel()!;
              // The Delete button is disabled once the profile is gone: focus goes to New.
              void run(async () => { await call(api.deleteProfile(id)); setSelected(null); newButton.focus(); });
            }} />
        </Show>
        <ErrorBanner error={error()} />
        <Show when={!noProfiles()} fallback={
          // First run: what a profile is, and the four kinds to create (as New › type does).
          <section class="empty-state" data-testid="profiles-empty">
            <h2>{t("profile.empty.title")}</h2>
            <p>{t("profile.empty.text")}</p>
            <div class="choices" role="group" aria-label={t("profile.empty.newFor")}>
              <span class="muted">{t("profile.empty.newFor")}</span>
              <For each={TYPES}>
                {(type) => (
                  <button type="button" data-testid={`empty-new-${type}`} onClick={() => newProfile(type)}>
                    {t(`profile.new.${type}`)}
                  </button>
                )}
              </For>
            </div>
          </section>
        }>
          <table class="grid" data-testid="profiles-grid">
            <thead>
              <tr>
                <th>{t("common.name")}</th>
                <th>{t("profile.serverType")}</th>
                <th>{t("common.state")}</th>
                <th>{t("profile.default")}</th>
              </tr>
            </thead>
            <tbody>
              <For each={profiles() ?? []} fallback={<tr><td colspan="4" class="muted">{t("common.empty")}</td></tr>}>
                {(p: Profile_Serialize) => (
                  <tr classList={{ selected: sel() === p.id }} data-testid="profile-row" data-name={p.name} tabIndex={0}
                    aria-selected={sel() === p.id}
                    onClick={() => setSelected(p.id)} onDblClick={() => setEditing({ id: p.id, type: p.server_type })}
                    onKeyDown={(e) => {
                      // Space selects the row (for the commands above), Enter opens it.
                      if (e.target !== e.currentTarget) return;
                      if (e.key === " ") {
                        e.preventDefault();
                        setSelected(p.id);
                      } else if (e.key === "Enter") setEditing({ id: p.id, type: p.server_type });
                    }}>
                    <td><a href="#" onClick={(e) => { e.preventDefault(); setEditing({ id: p.id, type: p.server_type }); }}>{p.name}</a></td>
                    <td>{optionLabel("server_type", p.server_type)}</td>
                    <td>{t(`state.${p.state}`)}</td>
                    <td>{settings()?.default_profile_id === p.id ? "✓" : ""}</td>
                  </tr>
                )}
              </For>
            </tbody>
          </table>
        </Show>
      </section>
    </Show>
  );
}
