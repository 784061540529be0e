// The Monitoring dashboard's figures, read from a MonitoringSummary: every hour of the period (an
// hour with nothing is a zero, not a gap), and the totals each chart shows. Pure, so the numbers
// a chart is given are tested without drawing it.
import type { MonitoringSummary } from "../../api";

/** Mailbox states, in the order the doughnut lists them. */
export const MAILBOX_STATES = ["enabled", "disabled", "not_enabled", "not_synchronized", "inactive"] as const;
export type MailboxState = (typeof MAILBOX_STATES)[number];

/** Where a failure happened. */
export const FAILURE_SOURCES = ["cycle", "message", "email"] as const;

const HOUR_MS = 3_600_000;

/** The hour an instant falls in, as the engine keys it (`YYYY-MM-DDTHH:00:00Z`). */
export function hourKey(ms: number): string {
  return new Date(Math.floor(ms / HOUR_MS) * HOUR_MS).toISOString().slice(0, 13) + ":00:00Z";
}

/** Every hour from `since` to `generated_on`, oldest first (at most 24 × 31 of them). */
export function hoursOf(s: Pick<MonitoringSummary, "since" | "generated_on">): string[] {
  const from = Date.parse(s.since);
  const to = Date.parse(s.generated_on);
  if (Number.isNaN(from) || Number.isNaN(to) || to < from) return [];
  const out: string[] = [];
  for (let h = Math.floor(from / HOUR_MS) * HOUR_MS; h <= to && out.length < 24 * 31; h += HOUR_MS) out.push(hourKey(h));
  return out;
}

export type PerHourSeries = { hours: string[]; incoming: number[]; outgoing: number[] };

/** Messages in and out for every hour of the period (hours the engine did not list are zero). */
export function perHourSeries(s: MonitoringSummary): PerHourSeries {
  const hours = hoursOf(s);
  const byHour = new Map(s.per_hour.map((h) => [h.hour, h]));
  // An hour the engine counted outside the period's hours (clock skew) is still shown.
  for (const h of s.per_hour) if (!hours.includes(h.hour)) hours.push(h.hour);
  hours.sort();
  return {
    hours,
    incoming: hours.map((h) => byHour.get(h)?.incoming ?? 0),
    outgoing: hours.map((h) => byHour.get(h)?.outgoing ?? 0),
  };
}

export type LatencySeries = { hours: string[]; p50: (number | null)[]; p95: (number | null)[]; count: number };

/** The median and 95th percentile per hour; an hour with no message has no point. */
export function latencySeries(s: MonitoringSummary): LatencySeries {
  const hours = hoursOf(s);
  const byHour = new Map(s.latency.map((p) => [p.hour, p]));
  for (const p of s.latency) if (!hours.includes(p.hour)) hours.push(p.hour);
  hours.sort();
  const at = (h: string) => byHour.get(h);
  return {
    hours,
    p50: hours.map((h) => (at(h)?.count ? (at(h)!.p50_seconds ?? null) : null)),
    p95: hours.map((h) => (at(h)?.count ? (at(h)!.p95_seconds ?? null) : null)),
    count: s.latency.reduce((n, p) => n + p.count, 0),
  };
}

export type Totals = {
  incoming: number;
  outgoing: number;
  latencyCount: number;
  failures: number;
  failureCodes: number;
  mailboxes: Record<MailboxState, number> & { total: number };
};

/** The totals the dashboard writes on each chart's container. */
export function totalsOf(s: MonitoringSummary): Totals {
  const mailboxes = { enabled: 0, disabled: 0, not_enabled: 0, not_synchronized: 0, inactive: 0, total: 0 };
  for (const m of s.mailboxes) {
    if (m.state in mailboxes && m.state !== "total") mailboxes[m.state as MailboxState] += m.count;
    mailboxes.total += m.count;
  }
  return {
    incoming: s.per_hour.reduce((n, h) => n + h.incoming, 0),
    outgoing: s.per_hour.reduce((n, h) => n + h.outgoing, 0),
    latencyCount: s.latency.reduce((n, p) => n + p.count, 0),
    failures: s.failures.reduce((n, f) => n + f.count, 0),
    failureCodes: new Set(s.failures.map((f) => f.code)).size,
    mailboxes,
  };
}

/** Failures grouped by code (a code may come from several places), most first. */
export function failuresByCode(s: MonitoringSummary): { code: string; count: number; bySource: Record<string, number> }[] {
  const byCode = new Map<string, { code: string; count: number; bySource: Record<string, number> }>();
  for (const f of s.failures) {
    const code = f.code;
    const row = byCode.get(code) ?? { code, count: 0, bySource: {} };
    row.count += f.count;
    row.bySource[f.source] = (row.bySource[f.source] ?? 0) + f.count;
    byCode.set(code, row);
  }
  return [...byCode.values()].sort((a, b) => b.count - a.count || a.code.localeCompare(b.code));
}
