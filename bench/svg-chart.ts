// A grouped bar chart as an SVG string, for the benchmarks' results: one panel per event (each with its own
// linear scale, since a crash outage is seconds and a graceful one milliseconds), in each panel one group of
// bars per system, one bar per trial. Pure (data in, text out) and hand-written: a bar chart is rects, lines
// and text, not worth a charting dependency.
import { fmt, percentile } from './stats.js';

export interface BarSeries {
  /** The system, e.g. "kvip, lease 5/3/1 s". */
  label: string;
  /** One value per trial; NaN (a trial without a result) is drawn as an empty slot. */
  values: readonly number[];
}

export interface BarPanel {
  /** The event, e.g. "crash". */
  title: string;
  series: readonly BarSeries[];
}

export interface BarChart {
  title: string;
  /** The values' unit, for the axis and the bars' tooltips, e.g. "ms". */
  unit: string;
  panels: readonly BarPanel[];
}

const WIDTH = 960;
const MARGIN = { left: 70, right: 20 };
const TITLE_H = 40;
const LEGEND_H = 28;
const PANEL_TITLE_H = 26;
const PLOT_H = 200;
const GROUP_LABEL_H = 44;
const GROUP_GAP = 24;
const BAR_GAP = 0.2; // of a bar's slot
/** One colour per system, in order; colour-blind-safe (Okabe–Ito). */
const COLOURS = ['#0072b2', '#e69f00', '#009e73', '#cc79a7', '#56b4e9', '#d55e00'];

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const px = (n: number) => String(Math.round(n * 10) / 10);

/** A round step for about `ticks` intervals up to `max`: 1, 2, 2.5 or 5 times a power of ten. */
export function niceStep(max: number, ticks = 4): number {
  if (!(max > 0)) return 1;
  const raw = max / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].find((m) => m * power >= raw) ?? 10;
  return step * power;
}

function label(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Math.round(n * 100) / 100);
}

function textEl(x: number, y: number, text: string, attrs = ''): string {
  return `<text x="${px(x)}" y="${px(y)}"${attrs ? ` ${attrs}` : ''}>${escapeXml(text)}</text>`;
}

function panel(chart: BarChart, p: BarPanel, top: number, colourOf: (label: string) => string): string[] {
  const out: string[] = [];
  const finite = p.series.flatMap((s) => s.values.filter((v) => Number.isFinite(v)));
  const step = niceStep(Math.max(0, ...finite));
  const axisMax = Math.max(step, Math.ceil(Math.max(0, ...finite) / step) * step);
  const plotTop = top + PANEL_TITLE_H;
  const base = plotTop + PLOT_H;
  const y = (v: number) => base - (v / axisMax) * PLOT_H;
  out.push(`<g class="panel" data-panel="${escapeXml(p.title)}">`);
  out.push(textEl(MARGIN.left, top + 18, p.title, 'class="panel-title"'));
  for (let i = 0; i * step <= axisMax * (1 + 1e-9); i++) {
    const v = i * step;
    out.push(
      `<line class="grid" x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${px(y(v))}" y2="${px(y(v))}"/>`,
    );
    out.push(textEl(MARGIN.left - 6, y(v) + 4, label(v), 'class="tick" text-anchor="end"'));
  }
  const axisX = 16;
  out.push(
    textEl(
      axisX,
      plotTop + PLOT_H / 2,
      `outage ${chart.unit}`,
      `class="axis" text-anchor="middle" transform="rotate(-90 ${axisX} ${px(plotTop + PLOT_H / 2)})"`,
    ),
  );
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const groups = Math.max(1, p.series.length);
  const groupW = (plotW - GROUP_GAP * (groups + 1)) / groups;
  p.series.forEach((s, si) => {
    const x0 = MARGIN.left + GROUP_GAP + si * (groupW + GROUP_GAP);
    const slot = groupW / Math.max(1, s.values.length);
    const colour = colourOf(s.label);
    s.values.forEach((v, ti) => {
      const h = Number.isFinite(v) ? Math.max(0, (v / axisMax) * PLOT_H) : 0;
      const tip = `${s.label}, ${p.title}, trial ${ti + 1}: ${Number.isFinite(v) ? `${fmt(v)} ${chart.unit}` : 'no result'}`;
      out.push(
        `<rect class="bar" data-panel="${escapeXml(p.title)}" data-series="${escapeXml(s.label)}" ` +
          `data-trial="${ti + 1}" data-value="${Number.isFinite(v) ? String(v) : 'NaN'}" ` +
          `x="${px(x0 + ti * slot + (slot * BAR_GAP) / 2)}" y="${px(base - h)}" width="${px(slot * (1 - BAR_GAP))}" ` +
          `height="${px(h)}" fill="${colour}"><title>${escapeXml(tip)}</title></rect>`,
      );
    });
    out.push(textEl(x0 + groupW / 2, base + 16, s.label, 'class="group" text-anchor="middle"'));
    // p50 as the bench's tables compute it (nearest rank), so the chart and the table agree.
    const p50 = percentile(
      s.values.filter((v) => Number.isFinite(v)),
      50,
    );
    if (Number.isFinite(p50))
      out.push(
        textEl(
          x0 + groupW / 2,
          base + 30,
          `p50 ${fmt(p50)} ${chart.unit}`,
          'class="tick" text-anchor="middle"',
        ),
      );
  });
  out.push(
    `<line class="axis-line" x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${px(base)}" y2="${px(base)}"/>`,
  );
  out.push('</g>');
  return out;
}

/** The chart as a standalone SVG document. */
export function renderBarChart(chart: BarChart): string {
  const panelH = PANEL_TITLE_H + PLOT_H + GROUP_LABEL_H;
  const height = TITLE_H + LEGEND_H + chart.panels.length * panelH;
  const labels = [...new Set(chart.panels.flatMap((p) => p.series.map((s) => s.label)))];
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    '<style>.grid{stroke:#ddd}.axis-line{stroke:#333}.chart-title{font-size:16px;font-weight:bold}.panel-title{font-weight:bold}.tick,.axis{fill:#555}</style>',
    '<rect width="100%" height="100%" fill="#fff"/>',
    textEl(MARGIN.left, 24, chart.title, 'class="chart-title"'),
  ];
  // The legend: one swatch per system, in the order the panels name them.
  let lx = MARGIN.left;
  const colourOf = (l: string) => COLOURS[labels.indexOf(l) % COLOURS.length] as string;
  labels.forEach((l) => {
    const colour = colourOf(l);
    out.push(`<rect class="swatch" x="${lx}" y="${TITLE_H}" width="12" height="12" fill="${colour}"/>`);
    out.push(textEl(lx + 16, TITLE_H + 10, l, 'class="legend"'));
    lx += 16 + l.length * 7 + 24;
  });
  chart.panels.forEach((p, i) => out.push(...panel(chart, p, TITLE_H + LEGEND_H + i * panelH, colourOf)));
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
