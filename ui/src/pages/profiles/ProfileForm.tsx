// The Email Server Profile form: General, Credentials (incoming / outgoing), Advanced,
// Error Handling. Only the fields the engine says apply to this server type and these choices
// are shown; the engine validates on Save and its errors show next to their field.
import { For, Show, createEffect, createResource, createSignal, on } from "solid-js";
import { ApiError, api, call, type ConnectionTest_Serialize, type Profile_Serialize, type ProfileField, type ProfileId, type ProfileSecretKind, type ServerType } from "../../api";
import { ConnectionTestPanel } from "../../components/ConnectionTest";
import { boundsOf, useCatalog } from "../../api/catalog";
import { BoolField, DateField, ErrorBanner, NumberField, PemFileField, SecretField, Section, SelectField, TextField } from "../../components/form";
import { fieldLabel, formatDate, formatNumber, msg, optionLabel, t } from "../../i18n";
import { FIELD_KINDS, SECTIONS, VISIBILITY_DRIVERS, changesOf, draftOf, quickCheck, type Draft, type EditableField, type SectionId } from "./model";

const SECTION_TITLES: Record<SectionId, Parameters<typeof t>[0]> = {
  general: "profile.section.general",
  incoming: "profile.section.incomingConnection",
  outgoing: "profile.section.outgoingConnection",
  advanced: "profile.section.advanced",
  additional: "profile.section.additional",
  notifications: "profile.section.notifications",
  errorHandling: "profile.section.errorHandling",
};

export function ProfileForm(props: { id: ProfileId | null; serverType: ServerType; onClose: () => void; onSaved: (p: Profile_Serialize) => void }) {
  const [profile, setProfile] = createSignal<Profile_Serialize | null>(null);
  const [draft, setDraft] = createSignal<Draft>({});
  const [error, setError] = createSignal<unknown>(null);
  const [saving, setSaving] = createSignal(false);
  const [notice, setNotice] = createSignal("");
  const [testing, setTesting] = createSignal(false);
  const [testResult, setTestResult] = createSignal<ConnectionTest_Serialize | null>(null);
  // The profile's own alerts (server-level failures its owner must fix), newest first.
  const [alerts, { refetch: refetchAlerts }] = createResource(
    () => profile()?.id ?? null,
    (id) => call(api.listAlerts({ level: null, profile_id: id, mailbox_id: null })),
  );

  const [initial] = createResource(
    () => ({ id: props.id, type: props.serverType }),
    async ({ id, type }) => (id === null ? call(api.newProfileDraft(type)) : call(api.getProfile(id))),
  );
  createEffect(
    on(initial, (p) => {
      if (!p) return;
      setProfile(props.id === null ? null : p);
      setDraft(draftOf(p));
    }),
  );

  // Ask the engine which fields apply whenever a field that drives visibility changes.
  const drivers = () => VISIBILITY_DRIVERS.map((f) => draft()[f]).join("|");
  const [visibility] = createResource(
    () => (Object.keys(draft()).length ? drivers() : null),
    async () => {
      const d: Record<string, unknown> = {};
      for (const f of VISIBILITY_DRIVERS) if (draft()[f] !== undefined && draft()[f] !== null) d[f] = draft()[f];
      return call(api.profileFormFields(props.serverType, d));
    },
  );
  const visible = (f: ProfileField) => visibility()?.fields.includes(f) ?? false;
  // Whether an error's `field` parameter (any text) names a field the form shows.
  const showsField = (name: string) => (visibility()?.fields ?? []).some((f) => f === name);
  const set = (f: EditableField, v: unknown) => setDraft({ ...draft(), [f]: v });
  const catalog = useCatalog();

  async function save(close: boolean): Promise<boolean> {
    setError(null);
    setNotice("");
    const fields = visibility()?.fields ?? [];
    const problem = quickCheck(draft(), fields, catalog()?.profile_bounds ?? []);
    if (problem) {
      setError(new ApiError({ kind: "validation", code: problem.code, params: problem.params, message: problem.code }));
      return false;
    }
    setSaving(true);
    try {
      const changes = changesOf(draft(), fields);
      const saved =
        props.id === null && profile() === null
          ? await call(api.createProfile({ server_type: props.serverType, name: String(draft().name ?? ""), changes, set_as_default: false }))
          : await call(api.updateProfile((profile() ?? initial())!.id, changes));
      setProfile(saved);
      setDraft(draftOf(saved));
      setNotice(t("common.saved"));
      props.onSaved(saved);
      if (close) props.onClose();
      return true;
    } catch (e) {
      setError(e);
      return false;
    } finally {
      setSaving(false);
    }
  }

  async function setSecret(kind: ProfileSecretKind, value: string) {
    const p = profile();
    if (!p) return;
    setError(null);
    try {
      setProfile(await call(api.setProfileSecret(p.id, kind, value)));
    } catch (e) {
      setError(e);
    }
  }
  async function clearSecret(kind: ProfileSecretKind) {
    const p = profile();
    if (!p) return;
    try {
      setProfile(await call(api.clearProfileSecret(p.id, kind)));
    } catch (e) {
      setError(e);
    }
  }

  // Test Connection runs on the saved profile: the engine reads its secrets from the keychain.
  async function testConnection() {
    if (!profile()) return;
    // What is tested is what is saved: the form is saved first, and a refused change stops here.
    if (!(await save(false))) return;
    const p = profile();
    if (!p) return;
    setError(null);
    setTesting(true);
    setTestResult(null);
    try {
      const r = await call(api.testProfileConnection(p.id));
      setTestResult(r);
      setProfile(r.profile);
      refetchAlerts();
    } catch (e) {
      setError(e);
    } finally {
      setTesting(false);
    }
  }

  function renderField(f: EditableField) {
    const kind = FIELD_KINDS[f];
    const v = () => draft()[f];
    // Getters keep the props reactive: visibility and errors change after the field is created.
    const common = {
      name: f,
      get error() {
        return error();
      },
      get visible() {
        return visible(f);
      },
    };
    switch (kind) {
      case "text":
        return <TextField {...common} value={String(v() ?? "")} onInput={(x) => set(f, x)} />;
      case "number":
        return <NumberField {...common} value={(v() as number | null) ?? null} onInput={(x) => set(f, x)}
          min={boundsOf(catalog()?.profile_bounds, f)?.min} max={boundsOf(catalog()?.profile_bounds, f)?.max} />;
      case "bool":
        return <BoolField {...common} value={Boolean(v())} onChange={(x) => set(f, x)} />;
      case "date":
        return <DateField {...common} value={(v() as string | null) ?? null} onInput={(x) => set(f, x)} />;
      case "credentialMode":
        return (
          <SelectField {...common} value={(v() as string) ?? null} onChange={(x) => set(f, x)}
            options={(visibility()?.credential_modes ?? []).map((m) => ({ value: m as string, label: optionLabel("credential_mode", m) }))} />
        );
      case "authProtocol":
        return (
          <SelectField {...common} value={(v() as string) ?? null} onChange={(x) => set(f, x)}
            options={(visibility()?.auth_protocols ?? []).map((m) => ({ value: m as string, label: optionLabel("auth_protocol", m) }))} />
        );
      case "tlsMode":
        return (
          <SelectField {...common} value={(v() as string) ?? null} onChange={(x) => set(f, x)}
            options={(catalog()?.tls_modes ?? []).map((m) => ({ value: m, label: t(`option.tls.${m}`) }))} />
        );
      case "oauthKind":
        return (
          <SelectField {...common} value={(v() as string) ?? null} onChange={(x) => set(f, x)}
            options={(catalog()?.oauth_credential_kinds ?? []).map((k) => ({ value: k, label: t(`option.oauthKind.${k}`) }))} />
        );
      case "authority":
        return (
          <SelectField {...common} value={(v() as string) ?? null} onChange={(x) => set(f, x)}
            options={(catalog()?.server_authorities ?? []).map((a) => ({ value: a, label: t(`option.authority.${a}`) }))} />
        );
      default:
        return null;
    }
  }

  const p = () => profile();
  const incomingSecret = () => draft().incoming_credential_mode === "profile";
  const outgoingSecret = () => draft().use_same_settings_for_outgoing === false && draft().outgoing_credential_mode === "profile";

  return (
    <div class="form" data-testid="profile-form" data-server-type={props.serverType}>
      <header class="form-header">
        <h2>{p()?.name || t("profile.newTitle")}</h2>
        <span class="muted">
          {t("profile.serverType")}: {optionLabel("server_type", props.serverType)}
        </span>
        <div class="commands">
          <button type="button" data-testid="profile-save" disabled={saving()} onClick={() => save(false)}>
            {t("cmd.save")}
          </button>
          <button type="button" data-testid="profile-save-close" disabled={saving()} onClick={() => save(true)}>
            {t("cmd.saveAndClose")}
          </button>
          <button type="button" data-testid="profile-test-connection" disabled={!p() || testing() || saving()}
            title={p() ? undefined : t("connTest.saveFirst")} onClick={testConnection}>
            {t("cmd.testConnection")}
          </button>
          <button type="button" onClick={props.onClose}>
            {t("cmd.close")}
          </button>
        </div>
      </header>
      <ErrorBanner error={error() instanceof ApiError && showsField((error() as ApiError).field ?? "") ? null : error()} />
      <Show when={notice()}>
        <div class="banner ok">{notice()}</div>
      </Show>
      <Show when={testing() || testResult()}>
        <ConnectionTestPanel result={testResult()} running={testing()} />
      </Show>
      <Show when={!testing() && !testResult() && p()?.last_test_started_on}>
        <p class="muted" data-testid="profile-last-test">
          {t("connTest.lastRun")}: {formatDate(p()!.last_test_started_on)} —{" "}
          {t(`connTest.result.${p()!.last_test_execution_status ?? "failure"}`)}
          <Show when={p()!.last_authorization_status !== null}>
            {" "}· {t("connTest.signedIn")}: {p()!.last_authorization_status ? t("common.yes") : t("common.no")}
          </Show>
        </p>
      </Show>
      <For each={SECTIONS}>
        {(s) => (
          <Show when={s.fields.some((f) => visible(f)) || (s.id === "incoming" && p()) || (s.id === "outgoing" && outgoingSecret())}>
            <Section title={t(SECTION_TITLES[s.id])} id={s.id}>
              <For each={s.fields}>{(f) => renderField(f)}</For>
              <Show when={s.id === "incoming" && p() && incomingSecret()}>
                <SecretField name="incoming_password" isSet={p()!.is_incoming_password_set}
                  onSet={(v) => setSecret("incoming_password", v)} onClear={() => clearSecret("incoming_password")} />
              </Show>
              <Show when={s.id === "outgoing" && p() && outgoingSecret()}>
                <SecretField name="outgoing_password" isSet={p()!.is_outgoing_password_set}
                  onSet={(v) => setSecret("outgoing_password", v)} onClear={() => clearSecret("outgoing_password")} />
              </Show>
              <Show when={s.id === "general" && p() && visible("oauth_client_id")}>
                {/* The kind saved is the kind the engine reads the secret as. */}
                <Show when={p()!.oauth_credential_kind === "certificate"}
                  fallback={<SecretField name="oauth_secret" isSet={p()!.is_oauth_secret_set}
                    onSet={(v) => setSecret("oauth_secret", v)} onClear={() => clearSecret("oauth_secret")} />}>
                  <PemFileField name="oauth_secret" label={fieldLabel("oauth_certificate")} isSet={p()!.is_oauth_secret_set}
                    thumbprint={p()!.oauth_certificate_thumbprint} onSet={(v) => setSecret("oauth_secret", v)} onClear={() => clearSecret("oauth_secret")} />
                </Show>
              </Show>
            </Section>
          </Show>
        )}
      </For>
      <Show when={p()}>
        <Section title={t("mailbox.section.alerts")} id="alerts">
          <ul class="alerts" data-testid="profile-alerts">
            <For each={alerts() ?? []} fallback={<li class="muted">{t("common.empty")}</li>}>
              {(a) => (
                <li class={a.level} data-code={a.code}>
                  {formatDate(a.last_seen)} — {msg(a.code, a.params)}
                  <Show when={a.count > 1}> ({formatNumber(a.count)})</Show>
                </li>
              )}
            </For>
          </ul>
        </Section>
      </Show>
    </div>
  );
}
