// Times as the synchronization pages say them: "in 40 seconds", "3 minutes ago", in the chosen
// language, and whether a lease is still live.
import { createSignal } from "solid-js";
import { formatRelative, lang } from "../i18n";

/** `iso` relative to `now` ("in 40 seconds", "3 minutes ago"), in the user's language. */
export function relativeTime(iso: string, now: number = Date.now()): string {
  return formatRelative(iso, now);
}

const [tick, setTick] = createSignal(Date.now());
let ticking = false;

/** The time now, as a signal that moves every 30 seconds, so "3 minutes ago" stays true while
 * the page is open. */
export function nowTick(): number {
  if (!ticking && typeof setInterval !== "undefined") {
    ticking = true;
    setTick(Date.now());
    const timer = setInterval(() => setTick(Date.now()), 30_000) as unknown as { unref?: () => void };
    timer.unref?.(); // under Node (the tests), the clock does not keep the process alive
  }
  return tick();
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
