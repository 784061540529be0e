// Times as the synchronization pages say them: "in 40 seconds", "3 minutes ago", in the chosen
// language, and whether a lease is still live.
import { lang } from "../i18n";

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ["day", 86_400],
  ["hour", 3_600],
  ["minute", 60],
  ["second", 1],
];

/** `iso` relative to `now` ("in 40 seconds", "3 minutes ago"), in the user's language. */
export function relativeTime(iso: string, now: number = Date.now()): string {
  const at = new Date(iso).getTime();
  if (Number.isNaN(at)) return iso;
  const seconds = Math.round((at - now) / 1000);
  const [unit, size] = UNITS.find(([, s]) => Math.abs(seconds) >= s) ?? UNITS[UNITS.length - 1];
  return new Intl.RelativeTimeFormat(lang(), { numeric: "auto" }).format(Math.round(seconds / size), unit);
}

/** Whether `iso` is later than `now` (a lease that has not expired, a time still to come). */
export function isFuture(iso: string | null | undefined, now: number = Date.now()): boolean {
  if (!iso) return false;
  const at = new Date(iso).getTime();
  return !Number.isNaN(at) && at > now;
}

/** A time of day (with seconds) when `iso` is today, else a short date and time. */
export function formatMoment(iso: string | null | undefined, now: Date = new Date()): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const sameDay = d.toDateString() === now.toDateString();
  return new Intl.DateTimeFormat(lang(), sameDay ? { timeStyle: "medium" } : { dateStyle: "short", timeStyle: "short" }).format(d);
}
