// Form building blocks: labelled inputs that show the engine's validation next to the field.
import { For, Show, type JSX } from "solid-js";
import { ApiError } from "../api";
import { fieldLabel, msg, t } from "../i18n";

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

function FieldShell(props: Base & { children: JSX.Element }) {
  const fieldError = () => (props.error instanceof ApiError && props.error.field === props.name ? props.error : undefined);
  return (
    <Show when={props.visible !== false}>
      <label class="field" classList={{ invalid: !!fieldError() }} data-field={props.name}>
        <span class="label">{props.label ?? fieldLabel(props.name)}</span>
        {props.children}
        <Show when={fieldError()}>
          {(e) => (
            <span class="field-error" role="alert">
              {errorText(e())}
            </span>
          )}
        </Show>
      </label>
    </Show>
  );
}

export function TextField(props: Base & { value: string; onInput: (v: string) => void; type?: string; placeholder?: string }) {
  return (
    <FieldShell {...props}>
      <input
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
  return (
    <FieldShell {...props}>
      <input
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
  return (
    <FieldShell {...props}>
      <select
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
        <input type="checkbox" name={props.name} checked={props.value} onChange={(e) => props.onChange(e.currentTarget.checked)} />
        <span>{props.label ?? fieldLabel(props.name)}</span>
      </label>
    </Show>
  );
}

export function SelectField<T extends string | number>(
  props: Base & { value: T | null; options: { value: T; label: string }[]; onChange: (v: T | null) => void; allowNone?: string },
) {
  return (
    <FieldShell {...props}>
      <select
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
  return (
    <FieldShell {...props}>
      <span class="secret">
        <span class="secret-state" data-testid={`secret-${props.name}`}>
          {props.isSet ? t("secret.set") : t("secret.notSet")}
        </span>
        <input ref={input} type="password" name={props.name} autocomplete="new-password" placeholder={t("secret.placeholder")} />
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
  return (
    <FieldShell {...props}>
      <span class="secret">
        <span class="secret-state" data-testid={`secret-${props.name}`}>
          {props.isSet ? t("secret.set") : t("secret.notSet")}
        </span>
        <input
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
      <span class="muted">{t("secret.pemHint")}</span>
      <Show when={props.thumbprint}>
        <span class="thumbprint">
          {t("secret.thumbprint")}: <code data-testid={`thumbprint-${props.name}`}>{props.thumbprint}</code>
        </span>
      </Show>
    </FieldShell>
  );
}

/** A datetime-local input bound to an ISO UTC string. */
export function DateField(props: Base & { value: string | null; onInput: (v: string | null) => void }) {
  const local = () => (props.value ? props.value.slice(0, 16) : "");
  return (
    <FieldShell {...props}>
      <input
        name={props.name}
        type="datetime-local"
        value={local()}
        onInput={(e) => {
          const v = e.currentTarget.value;
          props.onInput(v ? `${v}:00Z` : null);
        }}
      />
    </FieldShell>
  );
}
