// The UI's languages. UI words come from ./{en,fr,ja,vi}.ts; the words for the engine's codes
// (errors, alerts) and for field labels come from the engine's catalogs, so the app and the
// `serversync` command say the same thing.
import { createSignal } from "solid-js";
import { en, type Key } from "./en";
export type { Key };
import { fr } from "./fr";
import { ja } from "./ja";
import { vi } from "./vi";
import enCodes from "../../../engine/i18n/en.json";
import frCodes from "../../../engine/i18n/fr.json";
import jaCodes from "../../../engine/i18n/ja.json";
import viCodes from "../../../engine/i18n/vi.json";

export type Lang = "en" | "fr" | "ja" | "vi";
export const LANGS: { code: Lang; name: string }[] = [
  { code: "en", name: "English" },
  { code: "fr", name: "Français" },
  { code: "ja", name: "日本語" },
  { code: "vi", name: "Tiếng Việt" },
];

const dicts: Record<Lang, Record<Key, string>> = { en, fr, ja, vi };
const codes: Record<Lang, Record<string, string>> = { en: enCodes, fr: frCodes, ja: jaCodes, vi: viCodes };

/** The language of the system, if it is one of ours. */
export function systemLang(locales: readonly string[] = navigator.languages ?? [navigator.language]): Lang {
  for (const l of locales) {
    const primary = l.toLowerCase().split(/[-_]/)[0];
    if (primary === "fr" || primary === "ja" || primary === "vi" || primary === "en") return primary;
  }
  return "en";
}

const stored = typeof localStorage !== "undefined" ? (localStorage.getItem("serversync.lang") as Lang | null) : null;
const [lang, setLangSignal] = createSignal<Lang>(stored && stored in dicts ? stored : systemLang());
export { lang };

export function setLang(l: Lang) {
  setLangSignal(l);
  try {
    localStorage.setItem("serversync.lang", l);
  } catch {
    /* storage may be unavailable; the choice still holds for this session */
  }
  document.documentElement.lang = l;
}

function fill(template: string, params: Record<string, string | number> | undefined, map?: (name: string, v: string) => string) {
  if (!params) return template;
  // Numbers are written the language's way (100,000 / 100 000 / 100.000).
  const shown = (v: string | number) => (typeof v === "number" ? new Intl.NumberFormat(lang()).format(v) : v);
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? (map ? map(name, shown(params[name])) : shown(params[name])) : whole,
  );
}

/** A UI word. */
export function t(key: Key, params?: Record<string, string | number>): string {
  return fill(dicts[lang()][key] ?? en[key], params);
}

/** The words that change with a number: each has a `.one` and an `.other` form. */
type BaseOf<K> = K extends `${infer Base}.other` ? Base : never;
export type PluralKey = BaseOf<Key>;
const pluralRules = new Map<Lang, Intl.PluralRules>();

/** A UI word that counts something, in the form the language uses for `count` (English "1
 * mailbox" / "2 mailboxes"; French also "0 boîte"); `count` is written the language's way. */
export function tn(key: PluralKey, count: number, params?: Record<string, string | number>): string {
  const l = lang();
  let rules = pluralRules.get(l);
  if (!rules) pluralRules.set(l, (rules = new Intl.PluralRules(l)));
  const form = rules.select(count) === "one" ? "one" : "other";
  return t(`${key}.${form}` as Key, { ...params, count });
}

function code(key: string): string | undefined {
  return codes[lang()][key] ?? codes.en[key];
}

const NAMESPACES: Record<string, string[]> = {
  field: ["field"],
  server_type: ["server_type"],
  mode: ["credential_mode"],
  protocol: ["auth_protocol"],
  workload: ["workload"],
  allowed: ["credential_mode", "auth_protocol", "server_type"],
  entity: ["entity"],
  filters: ["filtering_method"],
};

/** A parameter of an engine message as shown: field and option codes become their labels. */
function localizeParam(name: string, value: string): string {
  const ns = NAMESPACES[name];
  if (!ns) return value;
  return value
    .split(", ")
    .map((piece) => ns.map((n) => code(`label.${n}.${piece}`)).find((x) => x !== undefined) ?? piece)
    .join(", ");
}

/** The words for an engine code (error, alert) with its parameters. */
export function msg(c: string, params?: Record<string, string>): string {
  const template = code(c);
  if (template === undefined) return c;
  const text = fill(template, params, localizeParam);
  // A refusal about one line of an imported file says which line, whatever the refusal.
  const atLine = code("import.at_line");
  if (params?.line !== undefined && !template.includes("{line}") && atLine !== undefined) {
    return atLine.replace("{line}", params.line).replace("{message}", text);
  }
  // A sync failure's alert says what follows: the workload disabled, or a retry later (once: a
  // transient error's own words may already say it).
  const then = params?.consequence !== undefined ? code(`sync.consequence.${params.consequence}`) : undefined;
  return then === undefined || text.includes(then.replace(/[.。]$/, "")) ? text : `${text} ${fill(then, params, localizeParam)}`;
}

/** The label of a field (`label.field.<name>` in the engine catalog). */
export function fieldLabel(field: string): string {
  return code(`label.field.${field}`) ?? field;
}

/** A label of an option set kept in the engine catalog (server types, credential modes, protocols). */
export function optionLabel(namespace: string, value: string): string {
  return code(`label.${namespace}.${value}`) ?? value;
}

/** Dates, times, numbers and sizes through Intl, in the chosen language. Times are the system
 * time zone's. */
export const DATE_TIME: Intl.DateTimeFormatOptions = { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" };

/** A date and time as the language writes it (ja `2026/12/02 12:30`, fr `02/12/2026 12:30`). */
export function formatDate(iso: string | null | undefined, locale: string = lang()): string {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : new Intl.DateTimeFormat(locale, DATE_TIME).format(d);
}

export function formatNumber(n: number, options?: Intl.NumberFormatOptions): string {
  return new Intl.NumberFormat(lang(), options).format(n);
}

/** The short name of the system time zone at `at` ("JST", "UTC+1", "GMT+7"), in the language. */
export function timeZoneName(at: Date = new Date(), locale: string = lang()): string {
  return new Intl.DateTimeFormat(locale, { timeZoneName: "short" }).formatToParts(at).find((p) => p.type === "timeZoneName")?.value ?? "";
}

const SIZE_UNITS = ["byte", "kilobyte", "megabyte", "gigabyte", "terabyte"] as const;

/** A size in bytes as people read it (bytes, kB, MB, GB…; 1 kB = 1,024 bytes), in the language. */
export function formatSize(bytes: number, locale: string = lang()): string {
  let i = 0;
  let v = bytes;
  while (Math.abs(v) >= 1024 && i < SIZE_UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  // Bytes in words, since their short form does not take the plural ("415 byte"); the larger
  // units by their symbols (kB, MB).
  return new Intl.NumberFormat(locale, { style: "unit", unit: SIZE_UNITS[i], unitDisplay: i === 0 ? "long" : "short", maximumFractionDigits: i === 0 ? 0 : 1 }).format(v);
}

const RELATIVE_UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ["year", 365 * 86_400],
  ["month", 30 * 86_400],
  ["week", 7 * 86_400],
  ["day", 86_400],
  ["hour", 3_600],
  ["minute", 60],
  ["second", 1],
];

/** `iso` relative to `now` ("3 minutes ago", "il y a 3 minutes", "3 分前", "in 40 seconds"), in
 * the language; "" when there is no time. */
export function formatRelative(iso: string | null | undefined, now: number | Date = Date.now(), locale: string = lang()): string {
  if (!iso) return "";
  const at = new Date(iso).getTime();
  if (Number.isNaN(at)) return iso;
  const seconds = Math.round((at - Number(now)) / 1000);
  const [unit, size] = RELATIVE_UNITS.find(([, s]) => Math.abs(seconds) >= s) ?? RELATIVE_UNITS[RELATIVE_UNITS.length - 1];
  return new Intl.RelativeTimeFormat(locale, { numeric: "auto" }).format(Math.trunc(seconds / size), unit);
}
