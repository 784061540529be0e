// Dates typed and shown in text inputs, in the order of the chosen language (WebKitGTK draws
// <input type="datetime-local"> in US order whatever the page's language). The order of day,
// month and year, and whether the time comes first, are Intl's; times are the system time zone's.
import { DATE_TIME, lang, t } from "./index";

type DatePart = "year" | "month" | "day";

/** How `locale` writes a date and time: the order of its date parts, their separator, and
 * whether the time comes before the date (as in Vietnamese). */
export function dateLayout(locale: string = lang()): { order: DatePart[]; separator: string; timeFirst: boolean } {
  const parts = new Intl.DateTimeFormat(locale, { ...DATE_TIME, hourCycle: "h23" }).formatToParts(new Date(2026, 11, 24, 9, 30));
  const order = parts.map((p) => p.type).filter((x): x is DatePart => x === "year" || x === "month" || x === "day");
  const first = parts.findIndex((p) => p.type === order[0]);
  const separator = parts[first + 1]?.type === "literal" ? parts[first + 1].value.trim() || "/" : "/";
  const timeFirst = parts.findIndex((p) => p.type === "hour") < first;
  return { order: order.length === 3 ? order : ["year", "month", "day"], separator, timeFirst };
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

function compose(locale: string, values: Record<DatePart, number>, time: string | null): string {
  const { order, separator, timeFirst } = dateLayout(locale);
  const date = order.map((p) => pad(values[p], p === "year" ? 4 : 2)).join(separator);
  if (time === null) return date;
  return timeFirst ? `${time} ${date}` : `${date} ${time}`;
}

/** What the input expects, in the words of the chosen language: "MM/DD/YYYY hh:mm",
 * "JJ/MM/AAAA hh:mm", "YYYY/MM/DD hh:mm"… */
export function datePattern(dateOnly = false, locale: string = lang()): string {
  const { order, separator, timeFirst } = dateLayout(locale);
  const date = order.map((p) => t(`date.pattern.${p}`)).join(separator);
  if (dateOnly) return date;
  return timeFirst ? `${t("date.pattern.time")} ${date}` : `${date} ${t("date.pattern.time")}`;
}

type Fields = { year: number; month: number; day: number; hour: number; minute: number; second: number };

/** Reads what was typed in the order of `locale`: the separators / . - and spaces between the
 * date's parts, an optional 24-hour time (hh:mm or hh:mm:ss) before or after the date. Null when
 * it is not a real date and time. */
function read(text: string, locale: string, dateOnly: boolean): Fields | null {
  let s = text
    .trim()
    .replace(/[年月]/g, "/")
    .replace(/[日,]/g, " ")
    .replace(/\s+/g, " ");
  let hour = 0;
  let minute = 0;
  let second = 0;
  const time = /(?:^| )(\d{1,2})[:h](\d{2})(?::(\d{2}))?(?= |$)/i.exec(s);
  if (time) {
    if (dateOnly) return null;
    hour = Number(time[1]);
    minute = Number(time[2]);
    second = time[3] === undefined ? 0 : Number(time[3]);
    s = `${s.slice(0, time.index)} ${s.slice(time.index + time[0].length)}`.trim();
  }
  const date = /^(\d{1,4})[/.\- ]+(\d{1,4})[/.\- ]+(\d{1,4})\.?$/.exec(s);
  if (!date) return null;
  const { order } = dateLayout(locale);
  const raw = Object.fromEntries(order.map((p, i) => [p, date[i + 1]])) as Record<DatePart, string>;
  if (raw.year.length !== 4 || raw.month.length > 2 || raw.day.length > 2) return null;
  const f: Fields = { year: Number(raw.year), month: Number(raw.month), day: Number(raw.day), hour, minute, second };
  if (f.month < 1 || f.month > 12 || f.day < 1 || f.hour > 23 || f.minute > 59 || f.second > 59) return null;
  // Day 31 of February rolls over into March: a day the month does not have is refused.
  const check = new Date(f.year, f.month - 1, f.day);
  if (check.getFullYear() !== f.year || check.getMonth() !== f.month - 1 || check.getDate() !== f.day) return null;
  return f;
}

/** An instant (ISO UTC) as the input shows it: the local date and time, in the order of `locale`. */
export function formatDateTimeInput(iso: string | null | undefined, locale: string = lang()): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}` + (d.getSeconds() ? `:${pad(d.getSeconds())}` : "");
  return compose(locale, { year: d.getFullYear(), month: d.getMonth() + 1, day: d.getDate() }, time);
}

/** What was typed, as the ISO UTC instant of that local date and time: "" when nothing was typed,
 * null when it is not a date and time. */
export function parseDateTimeInput(text: string, locale: string = lang()): string | null {
  if (text.trim() === "") return "";
  const f = read(text, locale, false);
  if (!f) return null;
  return new Date(f.year, f.month - 1, f.day, f.hour, f.minute, f.second).toISOString();
}

/** A calendar day ("2026-12-24") as the input shows it, in the order of `locale`. */
export function formatDayInput(day: string | null | undefined, locale: string = lang()): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day ?? "");
  return m ? compose(locale, { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) }, null) : "";
}

/** What was typed, as a calendar day ("2026-12-24"): "" when nothing was typed, null when it is
 * not a date. */
export function parseDayInput(text: string, locale: string = lang()): string | null {
  if (text.trim() === "") return "";
  const f = read(text, locale, true);
  return f ? `${pad(f.year, 4)}-${pad(f.month)}-${pad(f.day)}` : null;
}

/** Whether two ISO instants are the same moment (the engine and the input may write it apart). */
export function sameInstant(a: string | null | undefined, b: string | null | undefined): boolean {
  if (!a || !b) return !a && !b;
  return Date.parse(a) === Date.parse(b);
}
