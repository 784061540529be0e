// Monitoring: messages in and out per hour, the backlog, the delivery-to-tracked latency, the
// failures by code and the mailboxes by state, over the last 24 hours or 7 days. Read again when
// a cycle ends or a Test & Enable job changes, and every 30 seconds while the window is visible.
// Each chart's box carries the totals it shows as data attributes, and says them in words.
import { For, Show, createEffect, createMemo, createSignal, on, onCleanup, onMount, untrack, type JSX } from "solid-js";
import { api, call, events, type MonitoringSummary } from "../../api";
import { coalesce, onEngineEvent, whileVisible } from "../../api/live";
import { ErrorBanner } from "../../components/form";
import { formatMoment } from "../../components/when";
import { formatNumber, lang, msg, t, type Key } from "../../i18n";
import { COLORS, drawChart, type AnyChartConfig, type DrawnChart } from "./charts";
import { FAILURE_SOURCES, MAILBOX_STATES, failuresByCode, latencySeries, perHourSeries, totalsOf } from "./figures";

/** The periods offered, in hours. */
export const WINDOWS = [24, 168] as const;
export type Window = (typeof WINDOWS)[number];
/** How often the dashboard reads again while the window is visible. */
export const MONITORING_POLL_MS = 30_000;

/** One chart on its canvas, given new figures whenever `config` changes. */
function ChartCanvas(props: { config: AnyChartConfig; label: string }) {
  let canvas!: HTMLCanvasElement;
  let chart: DrawnChart | null = null;
  onMount(() => {
    createEffect(() => {
      const config = props.config;
      untrack(() => {
        if (chart) chart.update(config);
        else chart = drawChart(canvas, config);
      });
    });
  });
  onCleanup(() => chart?.destroy());
  return (
    <div class="chart-canvas">
      <canvas ref={canvas} role="img" aria-label={props.label} />
    </div>
  );
}

/** A chart's box: its title, the chart, and its totals in words. */
function ChartBox(props: { title: string; testid: string; data: Record<string, string | number>; children: JSX.Element; totals: JSX.Element }) {
  const attrs = () => Object.fromEntries(Object.entries(props.data).map(([k, v]) => [`data-${k}`, String(v)]));
  return (
    <section class="section chart-box" data-testid={props.testid} {...attrs()}>
      <h3>{props.title}</h3>
      {props.children}
      <p class="chart-totals">{props.totals}</p>
    </section>
  );
}

/** An error code's words for a tooltip: placeholders with no value become "…", long text is cut
 * into lines. */
function tooltipLines(code: string): string[] {
  const text = msg(code).replace(/\{\w+\}/g, "…");
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line && (line + " " + word).length > 60) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

export function MonitoringPage() {
  const [hours, setHours] = createSignal<Window>(24);
  const [summary, setSummary] = createSignal<MonitoringSummary | null>(null);
  const [error, setError] = createSignal<unknown>(null);
  let generation = 0;
  async function load() {
    const mine = ++generation;
    try {
      const s = await call(api.monitoringSummary(hours()));
      if (mine !== generation) return;
      setSummary(s);
      setError(null);
    } catch (e) {
      if (mine === generation) setError(e);
    }
  }
  createEffect(on(hours, () => void load()));
  // A busy organisation ends cycles all the time: the dashboard reads again at most every 5 s.
  const soon = coalesce(() => void load(), 5000);
  onEngineEvent(events.syncChanged, soon);
  onEngineEvent(events.jobChanged, soon);
  whileVisible(() => void load(), MONITORING_POLL_MS);

  const totals = createMemo(() => (summary() ? totalsOf(summary()!) : null));
  const hourLabel = (iso: string) => {
    const options: Intl.DateTimeFormatOptions = hours() === 24 ? { hour: "2-digit", minute: "2-digit" } : { month: "short", day: "numeric", hour: "2-digit" };
    return new Intl.DateTimeFormat(lang(), options).format(new Date(iso));
  };
  // Chart.js writes its axis numbers with Intl: in the language chosen.
  const common = { responsive: true, maintainAspectRatio: false, locale: lang() };
  const countAxis = { beginAtZero: true, ticks: { precision: 0 } };

  const perHour = createMemo((): AnyChartConfig | null => {
    const s = summary();
    if (!s) return null;
    const series = perHourSeries(s);
    return {
      type: "bar",
      data: {
        labels: series.hours.map(hourLabel),
        datasets: [
          { label: t("monitoring.incoming"), data: series.incoming, backgroundColor: COLORS.incoming },
          { label: t("monitoring.outgoing"), data: series.outgoing, backgroundColor: COLORS.outgoing },
        ],
      },
      options: { ...common, scales: { x: { ticks: { autoSkip: true, maxRotation: 0 } }, y: countAxis }, plugins: { legend: { position: "bottom" } } },
    } as AnyChartConfig;
  });

  const backlogBars = (): { key: Key; value: (s: MonitoringSummary) => number; color: string }[] => [
    { key: "emailStatus.pending_send", value: (s) => s.backlog.pending_send, color: COLORS.pending },
    { key: "emailStatus.sending", value: (s) => s.backlog.sending, color: COLORS.sending },
    { key: "emailStatus.failed", value: (s) => s.backlog.failed_emails, color: COLORS.failed },
    { key: "monitoring.backlog.overdue", value: (s) => s.backlog.overdue_workloads, color: COLORS.overdue },
  ];
  const backlog = createMemo((): AnyChartConfig | null => {
    const s = summary();
    if (!s) return null;
    const bars = backlogBars();
    return {
      type: "bar",
      data: {
        labels: bars.map((b) => t(b.key)),
        datasets: [{ label: t("monitoring.backlog"), data: bars.map((b) => b.value(s)), backgroundColor: bars.map((b) => b.color) }],
      },
      options: { ...common, scales: { y: countAxis }, plugins: { legend: { display: false } } },
    } as AnyChartConfig;
  });

  const latency = createMemo((): AnyChartConfig | null => {
    const s = summary();
    if (!s) return null;
    const series = latencySeries(s);
    return {
      type: "line",
      data: {
        labels: series.hours.map(hourLabel),
        datasets: [
          { label: t("monitoring.latency.p50"), data: series.p50, borderColor: COLORS.p50, backgroundColor: COLORS.p50, spanGaps: false, pointRadius: 2 },
          { label: t("monitoring.latency.p95"), data: series.p95, borderColor: COLORS.p95, backgroundColor: COLORS.p95, spanGaps: false, pointRadius: 2 },
        ],
      },
      options: { ...common, scales: { x: { ticks: { autoSkip: true, maxRotation: 0 } }, y: { beginAtZero: true } }, plugins: { legend: { position: "bottom" } } },
    } as AnyChartConfig;
  });

  const failureRows = createMemo(() => (summary() ? failuresByCode(summary()!) : []));
  const failures = createMemo((): AnyChartConfig | null => {
    const rows = failureRows();
    if (!summary() || rows.length === 0) return null;
    const codes = rows.map((r) => r.code);
    return {
      type: "bar",
      data: {
        labels: codes.map((c) => c || t("common.none")),
        datasets: FAILURE_SOURCES.map((source) => ({
          label: t(`monitoring.source.${source}`),
          data: rows.map((r) => r.bySource[source] ?? 0),
          backgroundColor: COLORS[source],
        })),
      },
      options: {
        ...common,
        indexAxis: "y",
        scales: { x: { ...countAxis, stacked: true }, y: { stacked: true } },
        plugins: {
          legend: { position: "bottom" },
          tooltip: {
            callbacks: {
              title: (items: { dataIndex: number }[]) => codes[items[0]?.dataIndex ?? 0] ?? "",
              footer: (items: { dataIndex: number }[]) => (codes[items[0]?.dataIndex ?? 0] ? tooltipLines(codes[items[0].dataIndex]) : []),
            },
          },
        },
      },
    } as AnyChartConfig;
  });

  const mailboxes = createMemo((): AnyChartConfig | null => {
    const tt = totals();
    if (!tt) return null;
    return {
      type: "doughnut",
      data: {
        labels: MAILBOX_STATES.map((st) => t(`monitoring.state.${st}`)),
        datasets: [{ label: t("monitoring.mailboxes"), data: MAILBOX_STATES.map((st) => tt.mailboxes[st]), backgroundColor: MAILBOX_STATES.map((st) => COLORS[st]) }],
      },
      options: { ...common, plugins: { legend: { position: "right" } } },
    } as AnyChartConfig;
  });

  const n = (v: number) => formatNumber(v);

  return (
    <section class="page monitoring" data-testid="monitoring-page" data-hours={hours()} data-generated-on={summary()?.generated_on ?? ""}>
      <header class="page-header">
        <h2 class="page-title">{t("nav.monitoring")}</h2>
        <div class="tabs" role="group" aria-label={t("monitoring.window")}>
          <For each={WINDOWS}>
            {(w) => (
              <button type="button" data-testid={`monitoring-window-${w}`} classList={{ active: hours() === w }} aria-pressed={hours() === w}
                onClick={() => setHours(w)}>
                {t(`monitoring.window.${w}`)}
              </button>
            )}
          </For>
        </div>
        <span class="muted" data-testid="monitoring-updated">
          {summary() ? t("monitoring.updated", { when: formatMoment(summary()!.generated_on) }) : t("common.loading")}
        </span>
        <div class="commands">
          <button type="button" data-testid="monitoring-refresh" onClick={() => void load()}>{t("cmd.refresh")}</button>
        </div>
      </header>
      <ErrorBanner error={error()} />
      <Show when={summary() && totals()}>
        <div class="dashboard">
          <ChartBox title={t("monitoring.perHour")} testid="chart-per-hour"
            data={{ "incoming-total": totals()!.incoming, "outgoing-total": totals()!.outgoing }}
            totals={<>{t("monitoring.incoming")}: <strong data-testid="incoming-total">{n(totals()!.incoming)}</strong> · {t("monitoring.outgoing")}: <strong data-testid="outgoing-total">{n(totals()!.outgoing)}</strong></>}>
            <ChartCanvas config={perHour()!} label={t("monitoring.perHour")} />
          </ChartBox>
          <ChartBox title={t("monitoring.backlog")} testid="chart-backlog"
            data={{
              "pending-send": summary()!.backlog.pending_send, sending: summary()!.backlog.sending, "failed-emails": summary()!.backlog.failed_emails,
              "overdue-workloads": summary()!.backlog.overdue_workloads, "possible-duplicates": summary()!.backlog.possible_duplicates,
            }}
            totals={<>
              <For each={backlogBars()}>{(b, i) => <>{i() > 0 ? " · " : ""}{t(b.key)}: <strong>{n(b.value(summary()!))}</strong></>}</For>
              {" · "}{t("monitoring.backlog.duplicates", { count: n(summary()!.backlog.possible_duplicates) })}
            </>}>
            <ChartCanvas config={backlog()!} label={t("monitoring.backlog")} />
          </ChartBox>
          <ChartBox title={t("monitoring.latency")} testid="chart-latency"
            data={{ "latency-count": totals()!.latencyCount, "p95-max": Math.max(0, ...summary()!.latency.map((p) => p.p95_seconds ?? 0)) }}
            totals={<>{t("monitoring.latency.count", { count: n(totals()!.latencyCount) })}</>}>
            <ChartCanvas config={latency()!} label={t("monitoring.latency")} />
          </ChartBox>
          <ChartBox title={t("monitoring.failures")} testid="chart-failures"
            data={{ "failures-total": totals()!.failures, "failure-codes": failureRows().map((r) => r.code).join(" ") }}
            totals={<>{t("monitoring.failures.total", { count: n(totals()!.failures) })}</>}>
            <Show when={failures()} fallback={<p class="muted chart-empty" data-testid="failures-none">{t("monitoring.failures.none")}</p>}>
              <ChartCanvas config={failures()!} label={t("monitoring.failures")} />
            </Show>
            <ul class="plain failure-codes" data-testid="failure-codes">
              <For each={failureRows()}>
                {(r) => <li data-testid="failure-code" data-code={r.code} data-count={r.count} title={tooltipLines(r.code).join(" ")}><code>{r.code || t("common.none")}</code> <strong>{n(r.count)}</strong></li>}
              </For>
            </ul>
          </ChartBox>
          <ChartBox title={t("monitoring.mailboxes")} testid="chart-mailboxes"
            data={{
              "enabled-mailboxes": totals()!.mailboxes.enabled, "disabled-mailboxes": totals()!.mailboxes.disabled,
              "not-enabled-mailboxes": totals()!.mailboxes.not_enabled, "not-synchronized-mailboxes": totals()!.mailboxes.not_synchronized,
              "inactive-mailboxes": totals()!.mailboxes.inactive, "mailboxes-total": totals()!.mailboxes.total,
            }}
            totals={<>
              <For each={MAILBOX_STATES}>{(st, i) => <>{i() > 0 ? " · " : ""}{t(`monitoring.state.${st}`)}: <strong>{n(totals()!.mailboxes[st])}</strong></>}</For>
              {" · "}{t("monitoring.total", { count: n(totals()!.mailboxes.total) })}
            </>}>
            <ChartCanvas config={mailboxes()!} label={t("monitoring.mailboxes")} />
          </ChartBox>
        </div>
      </Show>
    </section>
  );
}
