// Form building blocks: labelled inputs that show the engine's validation next to the field.
import { For, Show, createEffect, createSignal, createUniqueId, on, onCleanup, onMount, untrack, type JSX } from "solid-js";
import { ApiError } from "../api";
import { fieldLabel, lang, msg, t, timeZoneName } from "../i18n";
import { datePattern, formatDateTimeInput, formatDayInput, parseDateTimeInput, parseDayInput, sameInstant } from "../i18n/datetime";

export function errorText(e: unknown): string {
  if (e instanceof ApiError) return msg(e.dto.code, e.dto.params);
  return e instanceof Error ? e.message : String(e);
}

export function ErrorBanner(props: { error: unknown }) {
  return (
    <Show when={props.error}>
      <div class="banner error" role="alert" data-testid="error-banner">
        {errorText(props.error)}
      </div>
    </Show>
  );
}

/** A dialog's `ref`: once shown, focus moves into it, to its `[data-autofocus]` control or else
 * its first field or button, so a keyboard user goes on from there. */
export function focusInto(el: HTMLElement) {
  queueMicrotask(() =>
    (el.querySelector<HTMLElement>("[data-autofocus]") ?? el.querySelector<HTMLElement>("input, select, textarea, button"))?.focus());
}

/** A confirmation, or a small form that acts on what is selected: a modal dialog (the rest of the
 * window is inert until it is answered, so the selection it acts on cannot change under it; Tab
 * stays in it). `alert` marks a confirmation that asks before something is lost. Focus moves
 * into it; Escape closes it; once it is gone, focus goes back to the control that opened it when
 * it would otherwise be lost. */
export function Dialog(props: { testid: string; label: string; alert?: boolean; onClose: () => void; children: JSX.Element }) {
  const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  onCleanup(() =>
    queueMicrotask(() => {
      const lost = !document.activeElement || document.activeElement === document.body;
      if (lost && opener?.isConnected) opener.focus();
    }));
  // Shown modal once it is in the document; Escape's `cancel` is ours to answer (the element
  // stays until the page removes it).
  let el!: HTMLDialogElement;
  onMount(() => {
    if (!el.open) el.showModal();
    focusInto(el);
  });
  // Escape closes it; Tab past its last control comes back to its first (and Shift+Tab the other
  // way), rather than leaving the document.
  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === "Escape") {
      e.preventDefault();
      e.stopPropagation();
      props.onClose();
      return;
    }
    if (e.key !== "Tab") return;
    const controls = [...(e.currentTarget as HTMLElement).querySelectorAll<HTMLElement>("button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), a[href]")];
    const edge = e.shiftKey ? controls[0] : controls[controls.length - 1];
    if (!edge || document.activeElement !== edge) return;
    e.preventDefault();
    (e.shiftKey ? controls[controls.length - 1] : controls[0]).focus();
  };
  return (
    <dialog class="dialog" data-testid={props.testid} role={props.alert ? "alertdialog" : "dialog"} aria-modal="true" aria-label={props.label} ref={el}
      onCancel={(e) => { e.preventDefault(); props.onClose(); }} onKeyDown={onKeyDown}>
      {props.children}
    </dialog>
  );
}

/** A confirmation before something is deleted: the message, Delete, and Cancel (focused, so that
 * Enter does not delete). Delete closes it and then runs `onDelete`. */
export function ConfirmDelete(props: { testid: string; label: string; message: string; onDelete: () => void; onClose: () => void }) {
  return (
    <Dialog testid={props.testid} label={props.label} alert onClose={props.onClose}>
      <p>{props.message}</p>
      <div class="commands">
        <button type="button" data-testid="dialog-ok" onClick={() => { props.onClose(); props.onDelete(); }}>{t("cmd.delete")}</button>
        <button type="button" data-autofocus onClick={props.onClose}>{t("cmd.cancel")}</button>
      </div>
    </Dialog>
  );
}

export function Section(props: { title: string; children: JSX.Element; id?: string }) {
  return (
    <fieldset class="section" data-section={props.id}>
      <legend>{props.title}</legend>
      <div class="fields">{props.children}</div>
    </fieldset>
  );
}

type Base = {
  name: string;
  label?: string;
  error?: unknown;
  visible?: boolean;
  disabled?: boolean;
};

/** The engine's refusal when it is about this field. */
function fieldErrorOf(props: Base): ApiError | undefined {
  return props.error instanceof ApiError && props.error.field === props.name ? props.error : undefined;
}

/** What an input of a field says of itself: its id, and, when the engine refused the field, that
 * it is invalid and where the reason is. */
function inputAttrs(props: Base, id: string) {
  return {
    id,
    get "aria-invalid"() {
      return fieldErrorOf(props) ? ("true" as const) : undefined;
    },
    get "aria-describedby"() {
      return fieldErrorOf(props) ? `${id}-error` : undefined;
    },
  };
}

/** A field: its label (tied to the input by `id`), the input, and the engine's refusal of the
 * field, announced as it appears. */
function FieldShell(props: Base & { id: string; children: JSX.Element }) {
  return (
    <Show when={props.visible !== false}>
      <div class="field" classList={{ invalid: !!fieldErrorOf(props) }} data-field={props.name}>
        <label class="label" for={props.id}>{props.label ?? fieldLabel(props.name)}</label>
        {props.children}
        <Show when={fieldErrorOf(props)}>
          {(e) => (
            <span class="field-error" role="alert" id={`${props.id}-error`}>
              {errorText(e())}
            </span>
          )}
        </Show>
      </div>
    </Show>
  );
}

export function TextField(props: Base & { value: string; onInput: (v: string) => void; type?: string; placeholder?: string }) {
  const id = createUniqueId();
  return (
    <FieldShell {...props} id={id}>
      <input
        {...inputAttrs(props, id)}
        name={props.name}
        type={props.type ?? "text"}
        value={props.value}
        placeholder={props.placeholder}
        disabled={props.disabled}
        onInput={(e) => props.onInput(e.currentTarget.value)}
      />
    </FieldShell>
  );
}

export function NumberField(props: Base & { value: number | null; onInput: (v: number | null) => void; min?: number; max?: number }) {
  const id = createUniqueId();
  return (
    <FieldShell {...props} id={id}>
      <input
        {...inputAttrs(props, id)}
        name={props.name}
        type="number"
        min={props.min}
        max={props.max}
        value={props.value ?? ""}
        disabled={props.disabled}
        onInput={(e) => {
          const v = e.currentTarget.value.trim();
          props.onInput(v === "" ? null : Number(v));
        }}
      />
    </FieldShell>
  );
}

export function BoolField(props: Base & { value: boolean; onChange: (v: boolean) => void }) {
  const id = createUniqueId();
  return (
    <FieldShell {...props} id={id}>
      <select
        {...inputAttrs(props, id)}
        name={props.name}
        value={props.value ? "yes" : "no"}
        disabled={props.disabled}
        onChange={(e) => props.onChange(e.currentTarget.value === "yes")}
      >
        <option value="yes">{t("yes")}</option>
        <option value="no">{t("no")}</option>
      </select>
    </FieldShell>
  );
}

export function CheckField(props: Base & { value: boolean; onChange: (v: boolean) => void }) {
  return (
    <Show when={props.visible !== false}>
      <label class="check" data-field={props.name}>
        <input type="checkbox" name={props.name} checked={props.value} disabled={props.disabled} onChange={(e) => props.onChange(e.currentTarget.checked)} />
        <span>{props.label ?? fieldLabel(props.name)}</span>
      </label>
    </Show>
  );
}

export function SelectField<T extends string | number>(
  props: Base & { value: T | null; options: { value: T; label: string }[]; onChange: (v: T | null) => void; allowNone?: string },
) {
  const id = createUniqueId();
  return (
    <FieldShell {...props} id={id}>
      <select
        {...inputAttrs(props, id)}
        name={props.name}
        disabled={props.disabled}
        onChange={(e) => {
          const raw = e.currentTarget.value;
          const found = props.options.find((o) => String(o.value) === raw);
          props.onChange(found ? found.value : null);
        }}
      >
        <Show when={props.allowNone !== undefined}>
          <option value="" selected={props.value === null}>
            {props.allowNone}
          </option>
        </Show>
        <For each={props.options}>
          {(o) => (
            <option value={String(o.value)} selected={o.value === props.value}>
              {o.label}
            </option>
          )}
        </For>
      </select>
    </FieldShell>
  );
}

/** A write-only secret: shows whether one is set, never its value; a new value replaces it. */
export function SecretField(props: Base & { isSet: boolean; onSet: (value: string) => Promise<void>; onClear?: () => Promise<void> }) {
  let input!: HTMLInputElement;
  const id = createUniqueId();
  return (
    <FieldShell {...props} id={id}>
      <span class="secret">
        <span class="secret-state" id={`${id}-state`} data-testid={`secret-${props.name}`}>
          {props.isSet ? t("secret.set") : t("secret.notSet")}
        </span>
        <input ref={input} {...inputAttrs(props, id)} aria-describedby={fieldErrorOf(props) ? `${id}-state ${id}-error` : `${id}-state`}
          type="password" name={props.name} autocomplete="new-password" placeholder={t("secret.placeholder")} disabled={props.disabled} />
        <button
          type="button"
          data-testid={`set-${props.name}`}
          onClick={async () => {
            const v = input.value;
            input.value = "";
            if (v) await props.onSet(v);
          }}
        >
          {props.isSet ? t("cmd.replace") : t("cmd.set")}
        </button>
        <Show when={props.isSet && props.onClear}>
          <button type="button" onClick={() => props.onClear?.()}>
            {t("cmd.clear")}
          </button>
        </Show>
      </span>
    </FieldShell>
  );
}

/** A certificate and its private key, read from a PEM file and handed to the engine, which keeps
 * them in the keychain; what shows is whether one is set and its thumbprint. */
export function PemFileField(props: Base & { isSet: boolean; thumbprint: string; onSet: (pem: string) => Promise<void>; onClear?: () => Promise<void> }) {
  const id = createUniqueId();
  return (
    <FieldShell {...props} id={id}>
      <span class="secret">
        <span class="secret-state" id={`${id}-state`} data-testid={`secret-${props.name}`}>
          {props.isSet ? t("secret.set") : t("secret.notSet")}
        </span>
        <input
          {...inputAttrs(props, id)}
          aria-describedby={`${id}-state ${id}-hint` + (fieldErrorOf(props) ? ` ${id}-error` : "")}
          disabled={props.disabled}
          type="file"
          name={props.name}
          data-testid={`file-${props.name}`}
          accept=".pem,.crt,.cer,.key,text/plain"
          title={t("secret.pemHint")}
          onChange={async (e) => {
            const file = e.currentTarget.files?.[0];
            e.currentTarget.value = "";
            if (file) await props.onSet(await file.text());
          }}
        />
        <Show when={props.isSet && props.onClear}>
          <button type="button" onClick={() => props.onClear?.()}>
            {t("cmd.clear")}
          </button>
        </Show>
      </span>
      <span class="muted" id={`${id}-hint`}>{t("secret.pemHint")}</span>
      <Show when={props.thumbprint}>
        <span class="thumbprint">
          {t("secret.thumbprint")}: <code data-testid={`thumbprint-${props.name}`}>{props.thumbprint}</code>
        </span>
      </Show>
    </FieldShell>
  );
}

/** A date and time (or, with `dateOnly`, a calendar day) typed as text in the order of the
 * chosen language, shown with the system time zone. `value` is an ISO UTC instant (a
 * "YYYY-MM-DD" day with `dateOnly`); what is typed reaches `onInput` only once it is a real date,
 * and an entry that is not one says so when the field is left. */
export function DateTimeInput(props: {
  name: string;
  value: string | null;
  onInput: (v: string | null) => void;
  dateOnly?: boolean;
  id?: string;
  testid?: string;
  /** The accessible name, where no <label> names the input. */
  label?: string;
  disabled?: boolean;
  /** Another refusal (the engine's) that describes the input. */
  errorId?: string;
}) {
  const id = props.id ?? createUniqueId();
  const errorId = `${id}-date-error`;
  const zoneId = `${id}-zone`;
  const format = (v: string | null | undefined) => (props.dateOnly ? formatDayInput(v) : formatDateTimeInput(v));
  const parse = (text: string) => (props.dateOnly ? parseDayInput(text) : parseDateTimeInput(text));
  const same = (a: string | null | undefined, b: string | null | undefined) => (props.dateOnly ? (a || "") === (b || "") : sameInstant(a, b));
  const [text, setText] = createSignal(format(props.value));
  const [bad, setBad] = createSignal(false);
  // A value set from outside (a record read, a language chosen) replaces what is shown, unless
  // what is typed already says it.
  createEffect(
    on([() => props.value, lang], () => {
      const typed = parse(untrack(text));
      if (typed === null || !same(typed, props.value)) {
        setText(format(props.value));
        setBad(false);
      }
    }, { defer: true }),
  );
  const example = () => {
    const now = new Date();
    return props.dateOnly ? formatDayInput(`${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, "0")}-${String(now.getDate()).padStart(2, "0")}`) : formatDateTimeInput(now.toISOString());
  };
  const problem = () => t(props.dateOnly ? "date.invalidDay" : "date.invalid", { pattern: datePattern(!!props.dateOnly), example: example() });
  const zone = () => timeZoneName(props.value ? new Date(props.value) : new Date());
  function typed(value: string) {
    setText(value);
    const v = parse(value);
    if (v === null) return;
    setBad(false);
    if (!same(v, props.value)) props.onInput(v === "" ? null : v);
  }
  function commit() {
    const v = parse(text());
    if (v === null) return setBad(true);
    setBad(false);
    setText(format(v));
  }
  const describedBy = () => [bad() ? errorId : "", props.errorId ?? "", props.dateOnly ? "" : zoneId].filter(Boolean).join(" ") || undefined;
  return (
    <>
      <span class="date-input">
        <input
          type="text"
          id={id}
          name={props.name}
          data-testid={props.testid ?? `date-${props.name}`}
          value={text()}
          placeholder={datePattern(!!props.dateOnly)}
          size={props.dateOnly ? 12 : 18}
          autocomplete="off"
          spellcheck={false}
          disabled={props.disabled}
          aria-label={props.label}
          aria-invalid={bad() || props.errorId ? "true" : undefined}
          aria-describedby={describedBy()}
          onInput={(e) => typed(e.currentTarget.value)}
          onChange={commit}
          onKeyDown={(e) => {
            if (e.key === "Enter") commit();
          }}
        />
        <Show when={!props.dateOnly}>
          <span class="muted small time-zone" id={zoneId} data-testid={`tz-${props.name}`}>{t("date.timeZone", { zone: zone() })}</span>
        </Show>
      </span>
      <Show when={bad()}>
        <span class="field-error" role="alert" id={errorId} data-testid={`date-error-${props.name}`}>{problem()}</span>
      </Show>
    </>
  );
}

/** A date and time field bound to an ISO UTC string, typed in the order of the chosen language
 * in the system time zone (whose name it shows). */
export function DateField(props: Base & { value: string | null; onInput: (v: string | null) => void }) {
  const id = createUniqueId();
  return (
    <FieldShell {...props} id={id}>
      <DateTimeInput id={id} name={props.name} value={props.value} onInput={props.onInput} disabled={props.disabled}
        errorId={fieldErrorOf(props) ? `${id}-error` : undefined} />
    </FieldShell>
  );
}
