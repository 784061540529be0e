// New Email: From (a user's or a queue's mailbox), To, Cc and Bcc (records looked up, or
// addresses typed), Subject, the message as text or HTML, attachments (read here, sent as
// base64), Regarding, and an optional Send Later time. Send puts the email in the Outbox (Pending
// Send); the form then shows it, its status kept current, or the engine's refusal next to the
// field it is about.
import { For, Show, createMemo, createSignal, type JSX } from "solid-js";
import { api, call, events, type EmailActivityDetail_Serialize, type EmailEntity, type MailboxId } from "../../api";
import { coalesce, onEngineEvent } from "../../api/live";
import { DateTimeInput, ErrorBanner, errorText } from "../../components/form";
import { MailboxSearchInput, createMailboxSearch } from "../../components/mailboxSearch";
import { formatDate, formatSize, optionLabel, t } from "../../i18n";
import { RecordPicker, pickLabel, type PickedRecord } from "../activities/RecordPicker";
import { ROLES, emptyDraft, errorField, readFiles, sendRequest, type ChosenRecord, type Draft, type Role } from "./compose";

const RECIPIENT_ENTITIES: EmailEntity[] = ["user", "queue", "contact", "account", "lead"];
const REGARDING_ENTITIES: EmailEntity[] = ["contact", "account", "lead"];

/** A labelled group of controls, with the engine's refusal under it when it is about `name`. */
function Field(props: { name: string; label: string; error?: unknown; children: JSX.Element }) {
  return (
    <div class="field" classList={{ invalid: props.error !== undefined }} data-field={props.name} role="group" aria-label={props.label}>
      <span class="label">{props.label}</span>
      {props.children}
      <Show when={props.error !== undefined}>
        <span class="field-error" role="alert" data-testid={`compose-error-${props.name}`}>{errorText(props.error)}</span>
      </Show>
    </div>
  );
}

/** Records chosen for a field, each with a Remove button, and the picker that adds one. */
function RecordLookup(props: {
  prefix: string;
  entities: EmailEntity[];
  chosen: ChosenRecord[];
  onAdd: (r: ChosenRecord) => void;
  onRemove: (r: ChosenRecord) => void;
}) {
  const [open, setOpen] = createSignal(false);
  const [choice, setChoice] = createSignal<PickedRecord | null>(null);
  return (
    <>
      <div class="chips">
        <For each={props.chosen}>
          {(r) => (
            <span class="chip" data-testid="recipient-chip" data-field={props.prefix} data-entity={r.ref.entity} data-id={r.ref.id}>
              {pickLabel(r)} <span class="tag">{optionLabel("entity", r.ref.entity)}</span>
              <button type="button" class="link" aria-label={t("compose.remove", { name: r.name || r.address })} onClick={() => props.onRemove(r)}>×</button>
            </span>
          )}
        </For>
        <button type="button" data-testid={`${props.prefix}-lookup`} aria-expanded={open()} onClick={() => setOpen(!open())}>{t("compose.lookUp")}</button>
      </div>
      <Show when={open()}>
        <div class="regarding-picker" data-testid={`${props.prefix}-picker`}>
          <RecordPicker entities={props.entities} prefix={props.prefix} onChoice={setChoice} />
          <div class="commands">
            <button type="button" data-testid={`${props.prefix}-add`} disabled={choice() === null}
              onClick={() => {
                const c = choice();
                if (c && !props.chosen.some((x) => x.ref.entity === c.ref.entity && x.ref.id === c.ref.id)) props.onAdd(c);
                setOpen(false);
              }}>
              {t("compose.add")}
            </button>
            <button type="button" onClick={() => setOpen(false)}>{t("cmd.cancel")}</button>
          </div>
        </div>
      </Show>
    </>
  );
}

export function ComposeForm(props: { onClose: () => void; onSent?: (email: EmailActivityDetail_Serialize) => void }) {
  // The sender: an active user or queue mailbox (the engine leaves forward mailboxes out), found
  // by a search (the first ones by name).
  const mailboxes = createMailboxSearch("active", { sendersOnly: true });
  const senders = () => mailboxes.rows();
  const [draft, setDraft] = createSignal<Draft>(emptyDraft());
  const [error, setError] = createSignal<unknown>(null);
  const [busy, setBusy] = createSignal(false);
  const [reading, setReading] = createSignal(0);
  const [sent, setSent] = createSignal<EmailActivityDetail_Serialize | null>(null);
  const set = (patch: Partial<Draft>) => setDraft({ ...draft(), ...patch });
  const regardingChosen = (): ChosenRecord[] => {
    const r = draft().regarding;
    return r ? [r] : [];
  };

  // The sender: the one picked, else the first mailbox enabled for outgoing email, else the first.
  const from = createMemo<MailboxId | null>(() => {
    const list = senders();
    const picked = draft().from;
    if (picked !== null && list.some((m) => m.id === picked)) return picked;
    return (list.find((m) => m.enabled_for_outgoing) ?? list[0])?.id ?? null;
  });
  const errorFor = (name: string): unknown => {
    const e = error();
    return e !== null && errorField(e, { ...draft(), from: from() }) === name ? e : undefined;
  };

  // The email sent: its status follows the sender's outgoing cycles.
  const refreshSent = coalesce(async () => {
    const s = sent();
    if (!s) return;
    try {
      const now = await call(api.getEmailActivity(s.id));
      if (sent()?.id === now.id) setSent(now);
    } catch {
      /* the next cycle's notification tries again */
    }
  }, 500);
  onEngineEvent(events.syncChanged, (e) => {
    const s = sent();
    if (s && e.mailbox_id === from()) refreshSent();
  });

  async function attach(input: HTMLInputElement) {
    const files = [...(input.files ?? [])];
    input.value = "";
    if (!files.length) return;
    setReading((n) => n + 1);
    try {
      const read = await readFiles(files);
      set({ attachments: [...draft().attachments, ...read] });
    } catch (e) {
      setError(e);
    } finally {
      setReading((n) => n - 1);
    }
  }

  async function send() {
    const d = { ...draft(), from: from() };
    if (d.from === null || busy() || reading() > 0) return;
    setError(null);
    setBusy(true);
    try {
      const email = await call(api.sendEmail(sendRequest(d)));
      setSent(email);
      props.onSent?.(email);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  const recipientField = (role: Role) => (
    <Field name={role} label={t(`activity.role.${role}`)} error={errorFor(role)}>
      <RecordLookup prefix={`compose-${role}`} entities={RECIPIENT_ENTITIES} chosen={draft().records[role]}
        onAdd={(r) => set({ records: { ...draft().records, [role]: [...draft().records[role], r] } })}
        onRemove={(r) => set({ records: { ...draft().records, [role]: draft().records[role].filter((x) => x !== r) } })} />
      <input type="text" name={role} data-testid={`compose-${role}`} placeholder={t("compose.addresses")} value={draft().typed[role]}
        aria-label={`${t(`activity.role.${role}`)} — ${t("compose.addresses")}`}
        onInput={(e) => set({ typed: { ...draft().typed, [role]: e.currentTarget.value } })} />
    </Field>
  );

  return (
    <section class="form compose" data-testid="compose" data-state={sent() ? "sent" : "editing"}>
      <header class="form-header">
        <h2>{t("compose.title")}</h2>
        <div class="commands">
          <Show when={!sent()}>
            <button type="button" data-testid="compose-send" disabled={busy() || reading() > 0 || from() === null || (draft().sendLater && !draft().sendAfter)} onClick={send}>
              {t("compose.send")}
            </button>
          </Show>
          <Show when={sent()}>
            <button type="button" data-testid="compose-new" onClick={() => { setSent(null); setError(null); setDraft(emptyDraft(from())); }}>{t("outbox.newEmail")}</button>
          </Show>
          <button type="button" data-testid="compose-close" onClick={props.onClose}>{t("cmd.close")}</button>
        </div>
      </header>
      <ErrorBanner error={error() ?? mailboxes.error()} />
      <Show when={sent()}>
        {(s) => (
          <div class="banner ok" role="status" data-testid="compose-sent" data-id={s().id} data-status={s().status}>
            {t("compose.sent", { status: t(`emailStatus.${s().status}`) })}
            <dl class="readonly">
              <dt>{t("activity.subject")}</dt><dd data-testid="compose-sent-subject">{s().subject}</dd>
              <dt>{t("activity.createdOn")}</dt><dd>{formatDate(s().created_on)}</dd>
              <Show when={s().sent_on}><dt>{t("activity.sentOn")}</dt><dd>{formatDate(s().sent_on)}</dd></Show>
              <dt>{t("activity.parties")}</dt>
              <dd>{s().parties.filter((p) => p.role !== "from").map((p) => `${t(`activity.role.${p.role}`)}: ${p.record_name || p.address}`).join(" · ")}</dd>
            </dl>
          </div>
        )}
      </Show>
      <Show when={!sent()}>
        <Show when={!mailboxes.loading() && !mailboxes.error() && !mailboxes.text().trim() && senders().length === 0}>
          <div class="banner warning" data-testid="compose-no-mailbox">{t("compose.noMailbox")}</div>
        </Show>
        <div class="section compose-fields">
          <Field name="from_mailbox_id" label={t("compose.from")} error={errorFor("from_mailbox_id")}>
            <MailboxSearchInput search={mailboxes} testid="compose-from-search" />
            <select name="from_mailbox_id" data-testid="compose-from" aria-label={t("compose.from")}
              onChange={(e) => {
                const id = e.currentTarget.value ? (Number(e.currentTarget.value) as MailboxId) : null;
                mailboxes.choose(id);
                set({ from: id });
              }}>
              <For each={senders()}>
                {(m) => <option value={m.id} selected={m.id === from()}>{`${m.name} <${m.email_address}>`} · {t(`mailbox.kind.${m.kind}`)}</option>}
              </For>
            </select>
          </Field>
          <For each={ROLES}>{(role) => recipientField(role)}</For>
          <Field name="subject" label={t("activity.subject")} error={errorFor("subject")}>
            <input type="text" name="subject" data-testid="compose-subject" aria-label={t("activity.subject")} value={draft().subject}
              onInput={(e) => set({ subject: e.currentTarget.value })} />
          </Field>
          <Field name="body" label={t("compose.body")} error={errorFor("body_text") ?? errorFor("body_html")}>
            <span class="inline" role="radiogroup" aria-label={t("compose.format")}>
              <For each={["text", "html"] as const}>
                {(f) => (
                  <label class="check">
                    <input type="radio" name="compose-format" value={f} data-testid={`compose-format-${f}`} checked={draft().format === f}
                      onChange={() => set({ format: f })} />
                    <span>{t(`compose.format.${f}`)}</span>
                  </label>
                )}
              </For>
            </span>
            <textarea name="body" data-testid="compose-body" rows={8} aria-label={t("compose.body")} value={draft().body}
              onInput={(e) => set({ body: e.currentTarget.value })} />
          </Field>
          <Field name="attachments" label={t("activity.section.attachments")} error={errorFor("attachments")}>
            <ul class="plain" data-testid="compose-attachments-list">
              <For each={draft().attachments}>
                {(a) => (
                  <li data-testid="compose-attachment" data-name={a.file_name} data-size={a.size}>
                    {a.file_name} <span class="muted">({formatSize(a.size)})</span>{" "}
                    <button type="button" class="link" aria-label={t("compose.remove", { name: a.file_name })}
                      onClick={() => set({ attachments: draft().attachments.filter((x) => x !== a) })}>×</button>
                  </li>
                )}
              </For>
            </ul>
            <label class="file-button">
              {t("compose.attach")}
              <input type="file" multiple data-testid="compose-attachments" onChange={(e) => void attach(e.currentTarget)} />
            </label>
            <Show when={reading() > 0}><span class="muted" data-testid="compose-reading">{t("compose.reading")}</span></Show>
          </Field>
          <Field name="regarding" label={t("activity.regarding")} error={errorFor("regarding")}>
            <RecordLookup prefix="compose-regarding" entities={REGARDING_ENTITIES} chosen={regardingChosen()}
              onAdd={(r) => set({ regarding: r })} onRemove={() => set({ regarding: null })} />
          </Field>
          <Field name="send_after" label={t("outbox.sendAfter")} error={errorFor("send_after")}>
            <label class="check">
              <input type="checkbox" data-testid="compose-send-later" checked={draft().sendLater} onChange={(e) => set({ sendLater: e.currentTarget.checked })} />
              <span>{t("compose.sendLater")}</span>
            </label>
            <Show when={draft().sendLater}>
              <span class="inline">
                <label for="compose-send-after">{t("compose.sendAfter")}</label>
                <DateTimeInput id="compose-send-after" name="send_after" testid="compose-send-after" value={draft().sendAfter || null}
                  onInput={(v) => set({ sendAfter: v ?? "" })} />
              </span>
            </Show>
          </Field>
        </div>
      </Show>
    </section>
  );
}
