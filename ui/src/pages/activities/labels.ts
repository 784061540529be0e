// Words the email pages share: correlation methods, item results, sizes, the email body's frame.
import type { CorrelationMethod, ItemResult } from "../../api";
import { t } from "../../i18n";

/** Every correlation method, in the order the filter offers them. */
export const CORRELATION_METHODS: CorrelationMethod[] = [
  "none", "skipped", "x_header", "in_reply_to", "tracking_token", "conversation_index", "smart_matching", "custom",
];

export const correlationLabel = (m: CorrelationMethod) => t(`correlation.${m}`);

export const resultLabel = (r: ItemResult) => t(`sync.result.${r}`);

/** The policy the email body's frame runs under: nothing may load or run, only inline styles
 * and images the message itself carries as data: URLs. */
export const BODY_CSP = `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">`;

/** The document of the email body's sandboxed frame: the CSP first, then the sanitised HTML. */
export function emailBodyDoc(safeHtml: string): string {
  return BODY_CSP + safeHtml;
}

/** The first instant of a local calendar day ("2026-12-24", as the date filters keep it), as ISO UTC;
 * `plusDays` moves it (the day after a "to" date is the filter's exclusive end). */
export function localDayStart(day: string, plusDays = 0): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return null;
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + plusDays, 0, 0, 0, 0);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}
