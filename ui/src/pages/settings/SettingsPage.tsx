// Email Configuration Settings: the organisation row.
import { For, Show, createEffect, createResource, createSignal, on } from "solid-js";
import { api, call, type OrgSettings_Serialize, type SettingsChanges_Deserialize } from "../../api";
import { boundsOf, useCatalog } from "../../api/catalog";
import { CheckField, ErrorBanner, NumberField, Section, SelectField, TextField } from "../../components/form";
import { refreshSchedulerStatus } from "../../components/SchedulerStatus";
import { t, type Key } from "../../i18n";

type Field = keyof SettingsChanges_Deserialize;
type Spec = { f: Field; kind: "bool" | "number" | "text" | "profile" | "incoming" | "outgoing" | "act" | "processUsing" };

const SECTIONS: { title: Key; fields: Spec[] }[] = [
  { title: "settings.section.processing", fields: [{ f: "process_email_using", kind: "processUsing" }] },
  // The window's own scheduler: it synchronizes the mailboxes while the app is open.
  { title: "settings.section.desktop", fields: [{ f: "sync_in_desktop_app", kind: "bool" }] },
  {
    title: "settings.section.syncMethods",
    fields: [
      { f: "default_profile_id", kind: "profile" },
      { f: "default_incoming_method", kind: "incoming" },
      { f: "default_outgoing_method", kind: "outgoing" },
      { f: "default_act_method", kind: "act" },
    ],
  },
  {
    title: "settings.section.approval",
    fields: [
      { f: "require_approval_for_user_email", kind: "bool" },
      { f: "require_approval_for_queue_email", kind: "bool" },
      { f: "require_privilege_to_self_approve", kind: "bool" },
    ],
  },
  {
    title: "settings.section.security",
    fields: [
      { f: "allow_credentials_over_insecure_channels", kind: "bool" },
      { f: "sync_irm_emails", kind: "bool" },
      { f: "allow_delete_appointments_on_ownership_change", kind: "bool" },
    ],
  },
  {
    title: "settings.section.tracking",
    fields: [
      { f: "folder_level_tracking_enabled", kind: "bool" },
      { f: "max_folder_tracking_mappings", kind: "number" },
      { f: "email_correlation_enabled", kind: "bool" },
      { f: "use_tracking_tokens", kind: "bool" },
    ],
  },
  {
    title: "settings.section.trackingToken",
    fields: [
      { f: "tracking_prefix", kind: "text" },
      { f: "tracking_token_base", kind: "number" },
      { f: "tracking_user_digits", kind: "number" },
      { f: "tracking_counter_digits", kind: "number" },
    ],
  },
  {
    title: "settings.section.smartMatching",
    fields: [
      { f: "smart_matching_enabled", kind: "bool" },
      { f: "hash_filter_keywords", kind: "text" },
      { f: "hash_max_count", kind: "number" },
      { f: "hash_delta_subject_count", kind: "number" },
      { f: "hash_min_address_count", kind: "number" },
    ],
  },
  {
    title: "settings.section.trackingItems",
    fields: [
      { f: "track_categorized_items", kind: "bool" },
      { f: "auto_track_sent_items", kind: "bool" },
      { f: "track_internal_email_as_two_activities", kind: "bool" },
      { f: "save_sent_to_server", kind: "bool" },
    ],
  },
  {
    title: "settings.section.formOptions",
    fields: [
      { f: "render_secure_frames", kind: "bool" },
      { f: "allow_unresolved_recipients_on_send", kind: "bool" },
      { f: "unresolve_if_multiple_matches", kind: "bool" },
      { f: "resolve_similar_unresolved_addresses", kind: "bool" },
    ],
  },
  {
    title: "settings.section.attachments",
    fields: [
      { f: "max_attachment_size_kb", kind: "number" },
      { f: "blocked_attachments", kind: "text" },
    ],
  },
  {
    title: "settings.section.alerts",
    fields: [
      { f: "alerts_for_errors", kind: "bool" },
      { f: "alerts_for_warnings", kind: "bool" },
      { f: "alerts_for_information", kind: "bool" },
      { f: "notify_mailbox_owner", kind: "bool" },
    ],
  },
  {
    title: "settings.section.act",
    fields: [
      { f: "sync_appointment_attachments", kind: "bool" },
      { f: "sync_contact_mailing_address_only", kind: "bool" },
      { f: "sync_assigned_tasks", kind: "bool" },
    ],
  },
];

export function SettingsPage() {
  const [settings, { mutate }] = createResource(() => call(api.getSettings()));
  const [profiles] = createResource(() => call(api.listProfiles("active")));
  const catalog = useCatalog();
  const [draft, setDraft] = createSignal<Partial<OrgSettings_Serialize>>({});
  const [error, setError] = createSignal<unknown>(null);
  const [notice, setNotice] = createSignal("");
  createEffect(on(settings, (s) => s && setDraft({ ...s })));
  const set = (f: Field, v: unknown) => setDraft({ ...draft(), [f]: v });
  const label = (f: Field) => t(`settings.${f}` as Key);

  async function save() {
    setError(null);
    setNotice("");
    const changes: Record<string, unknown> = {};
    for (const s of SECTIONS) for (const { f } of s.fields) changes[f] = draft()[f];
    try {
      const saved = await call(api.updateSettings(changes as SettingsChanges_Deserialize));
      mutate(saved);
      setNotice(t("settings.saved"));
      // Saving starts or stops this window's scheduler when "Synchronize … in this app" changed.
      void refreshSchedulerStatus();
    } catch (e) {
      setError(e);
    }
  }

  function render(s: Spec) {
    const v = () => draft()[s.f] as unknown;
    const common = {
      name: s.f,
      get label() {
        return label(s.f);
      },
      get error() {
        return error();
      },
    };
    switch (s.kind) {
      case "bool":
        return <CheckField {...common} value={Boolean(v())} onChange={(x) => set(s.f, x)} />;
      case "number":
        return <NumberField {...common} value={(v() as number) ?? null} onInput={(x) => set(s.f, x)}
          min={boundsOf(catalog()?.settings_bounds, s.f)?.min} max={boundsOf(catalog()?.settings_bounds, s.f)?.max} />;
      case "text":
        return <TextField {...common} value={String(v() ?? "")} onInput={(x) => set(s.f, x)} />;
      case "profile":
        return <SelectField {...common} value={(v() as number | null) ?? null} allowNone="—" options={(profiles() ?? []).map((p) => ({ value: p.id, label: p.name }))} onChange={(x) => set(s.f, x)} />;
      case "incoming":
        return <SelectField {...common} value={v() as string} options={(catalog()?.incoming_methods ?? []).map((o) => ({ value: o, label: t(`option.incoming.${o}`) }))} onChange={(x) => set(s.f, x)} />;
      case "outgoing":
        return <SelectField {...common} value={v() as string} options={(catalog()?.outgoing_methods ?? []).map((o) => ({ value: o, label: t(`option.outgoing.${o}`) }))} onChange={(x) => set(s.f, x)} />;
      case "act":
        return <SelectField {...common} value={v() as string} options={(catalog()?.act_methods ?? []).map((o) => ({ value: o, label: t(`option.act.${o}`) }))} onChange={(x) => set(s.f, x)} />;
      case "processUsing":
        return <SelectField {...common} value={v() as string} options={(catalog()?.process_email_using ?? []).map((o) => ({ value: o, label: t(`option.processUsing.${o}`) }))} onChange={(x) => set(s.f, x)} />;
    }
  }

  return (
    <section class="page form" data-testid="settings-page">
      <header class="form-header">
        <h2>{t("nav.emailSettings")}</h2>
        <div class="commands"><button type="button" data-testid="settings-save" onClick={save}>{t("cmd.save")}</button></div>
      </header>
      <ErrorBanner error={error()} />
      <Show when={notice()}><div class="banner ok">{notice()}</div></Show>
      <Show when={settings()}>
        <For each={SECTIONS}>{(s) => <Section title={t(s.title)} id={s.title.slice("settings.section.".length)}><For each={s.fields}>{(f) => render(f)}</For></Section>}</For>
      </Show>
    </section>
  );
}
