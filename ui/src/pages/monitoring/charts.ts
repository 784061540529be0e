// Chart.js, with only the pieces the dashboard draws registered (bars, lines, a doughnut, their
// scales, the tooltip and the legend), so the rest of the library stays out of the bundle. It
// draws on a canvas and sets only the canvas's own style properties: it injects no <style>
// element and evaluates no code, so it runs under the window's content security policy.
import {
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  DoughnutController,
  Legend,
  LineController,
  LineElement,
  LinearScale,
  PointElement,
  Tooltip,
  type ChartConfiguration,
} from "chart.js";

Chart.register(BarController, BarElement, LineController, LineElement, PointElement, DoughnutController, ArcElement, CategoryScale, LinearScale, Tooltip, Legend);
Chart.defaults.font.family = '"Segoe UI", "Noto Sans", "Noto Sans CJK JP", "DejaVu Sans", system-ui, sans-serif';
// Axis words and grid lines follow the system's light or dark theme (the text colour reaches
// 4.5:1 on the panel of either); charts take a change at their next update.
const darkScheme = typeof matchMedia === "function" ? matchMedia("(prefers-color-scheme: dark)") : null;
function followScheme() {
  const dark = darkScheme?.matches ?? false;
  Chart.defaults.color = dark ? "#d6d6d6" : "#424242";
  Chart.defaults.borderColor = dark ? "rgba(255, 255, 255, 0.16)" : "rgba(0, 0, 0, 0.1)";
}
followScheme();
darkScheme?.addEventListener?.("change", followScheme);
// The dashboard is read again every few seconds: bars that grow back from zero each time would
// only distract.
Chart.defaults.animation = false;

export type AnyChartConfig = ChartConfiguration<"bar" | "line" | "doughnut", (number | null)[], string>;

/** A drawn chart that can be given new figures. */
export type DrawnChart = { update: (config: AnyChartConfig) => void; destroy: () => void };

/** Draws `config` on `canvas`; null where the canvas cannot be drawn on (no 2D context). */
export function drawChart(canvas: HTMLCanvasElement, config: AnyChartConfig): DrawnChart | null {
  if (!canvas.getContext("2d")) return null;
  const chart = new Chart(canvas, config as ChartConfiguration);
  return {
    update: (next) => {
      chart.data = next.data as typeof chart.data;
      chart.options = (next.options ?? {}) as typeof chart.options;
      chart.update();
    },
    destroy: () => chart.destroy(),
  };
}

/** The colours of the dashboard's series. */
export const COLORS = {
  incoming: "#0f6cbd",
  outgoing: "#8764b8",
  p50: "#0e700e",
  p95: "#c50f1f",
  pending: "#0f6cbd",
  sending: "#ca5010",
  failed: "#c50f1f",
  overdue: "#8a8886",
  cycle: "#c50f1f",
  message: "#ca5010",
  email: "#8764b8",
  enabled: "#0e700e",
  disabled: "#c50f1f",
  not_enabled: "#eaa300",
  not_synchronized: "#8a8886",
  inactive: "#d1d1d1",
} as const;
