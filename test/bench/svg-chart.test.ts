// The benchmark chart renderer: a well-formed SVG with one bar per trial per system in each event's panel,
// the labels a reader needs, and bar heights and axis that follow the data.
import { escapeXml, niceStep, renderBarChart, type BarChart } from '../../bench/svg-chart.js';

/** Tags must nest and close; attribute values quoted; text without raw < or &. Enough to catch a broken writer. */
function checkWellFormed(xml: string): void {
  const stack: string[] = [];
  const token = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)/gy;
  let seen = 0;
  for (let m = token.exec(xml); m; m = token.exec(xml)) {
    seen = token.lastIndex;
    const [, close, name, , selfClose, text] = m;
    if (text !== undefined) {
      expect(text).not.toMatch(/&(?!amp;|lt;|gt;|quot;|apos;)/);
      continue;
    }
    if (close) expect(stack.pop()).toBe(name);
    else if (!selfClose) stack.push(name!);
  }
  expect(seen).toBe(xml.length); // nothing the tokenizer could not read (a stray <, an unquoted attribute)
  expect(stack).toEqual([]);
}

interface Bar {
  panel: string;
  series: string;
  trial: number;
  value: number;
  y: number;
  height: number;
  title: string;
}

function bars(svg: string): Bar[] {
  const re =
    /<rect class="bar" data-panel="([^"]*)" data-series="([^"]*)" data-trial="(\d+)" data-value="([^"]*)" x="[^"]*" y="([^"]*)" width="[^"]*" height="([^"]*)"[^>]*><title>([^<]*)<\/title><\/rect>/g;
  return [...svg.matchAll(re)].map((m) => ({
    panel: m[1]!,
    series: m[2]!,
    trial: Number(m[3]),
    value: Number(m[4]),
    y: Number(m[5]),
    height: Number(m[6]),
    title: m[7]!,
  }));
}

/** The numbers written as tick labels in one panel. */
function ticks(svg: string, panel: string): number[] {
  const start = svg.indexOf(`<g class="panel" data-panel="${panel}">`);
  const body = svg.slice(start, svg.indexOf('</g>', start));
  return [...body.matchAll(/<text [^>]*class="tick" text-anchor="end">([^<]*)<\/text>/g)].map((m) =>
    Number(m[1]),
  );
}

const chart: BarChart = {
  title: 'ARP failover',
  unit: 'ms',
  panels: [
    {
      title: 'crash',
      series: [
        { label: 'kvip', values: [4400, 4950, 4100] },
        { label: 'keepalived VRRPv2', values: [3000, 3500, 2900] },
      ],
    },
    {
      title: 'graceful',
      series: [
        { label: 'kvip', values: [12, 15, 11] },
        { label: 'keepalived VRRPv2', values: [605, 607, 604] },
      ],
    },
  ],
};

describe('renderBarChart', () => {
  it('is one well-formed svg document', () => {
    const svg = renderBarChart(chart);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" ')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    checkWellFormed(svg);
  });

  it('draws one bar per trial per system in each panel, each with its value and tooltip', () => {
    const drawn = bars(renderBarChart(chart));
    const expected = chart.panels.flatMap((p) =>
      p.series.flatMap((s) =>
        s.values.map((v, i) => ({ panel: p.title, series: s.label, trial: i + 1, value: v })),
      ),
    );
    expect(drawn.map(({ panel, series, trial, value }) => ({ panel, series, trial, value }))).toEqual(
      expected,
    );
    const first = drawn[0]!;
    expect(first.title).toBe('kvip, crash, trial 1: 4400 ms');
  });

  it('names the chart, each event, each system (legend and group) and the unit', () => {
    const svg = renderBarChart(chart);
    const texts = [...svg.matchAll(/<text [^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(texts).toEqual(expect.arrayContaining(['ARP failover', 'crash', 'graceful', 'outage ms']));
    for (const label of ['kvip', 'keepalived VRRPv2'])
      // once in the legend, once under its group in each of the two panels
      expect(texts.filter((t) => t === label)).toHaveLength(3);
    expect(texts).toContain('p50 4400 ms');
  });

  it('scales each panel to its own data: heights proportional to values, the axis just above the largest', () => {
    const svg = renderBarChart(chart);
    const drawn = bars(svg);
    for (const panel of ['crash', 'graceful']) {
      const inPanel = drawn.filter((b) => b.panel === panel);
      const top = Math.max(...ticks(svg, panel));
      const max = Math.max(...inPanel.map((b) => b.value));
      expect(top).toBeGreaterThanOrEqual(max);
      expect(top).toBeLessThan(max * 2);
      const pxPerUnit = inPanel[0]!.height / inPanel[0]!.value;
      for (const b of inPanel) expect(b.height).toBeCloseTo(b.value * pxPerUnit, 0);
      // All bars stand on one baseline.
      const bases = new Set(inPanel.map((b) => Math.round(b.y + b.height)));
      expect(bases.size).toBe(1);
    }
    expect(ticks(svg, 'crash')).toEqual([0, 2000, 4000, 6000]);
    expect(ticks(svg, 'graceful')).toEqual([0, 200, 400, 600, 800]);
    // The tallest bar of each panel is about the same height whatever its unit of magnitude.
    const tallest = (panel: string) =>
      Math.max(...drawn.filter((b) => b.panel === panel).map((b) => b.height));
    expect(tallest('graceful') / tallest('crash')).toBeCloseTo(607 / 800 / (4950 / 6000), 2);
  });

  it('leaves a trial without a result as an empty slot, still counted', () => {
    const svg = renderBarChart({
      title: 't',
      unit: 'ms',
      panels: [{ title: 'crash', series: [{ label: 'kvip', values: [10, NaN, 30] }] }],
    });
    const drawn = bars(svg);
    expect(drawn.map((b) => b.height > 0)).toEqual([true, false, true]);
    expect(drawn[1]!.title).toBe('kvip, crash, trial 2: no result');
    // p50 of the results there are, by nearest rank as the bench's tables (not 20, the mean of the two).
    expect(svg).toContain('>p50 10.0 ms</text>');
  });

  it('escapes labels', () => {
    const svg = renderBarChart({
      title: 'a <b> & "c"',
      unit: 'ms',
      panels: [{ title: 'x&y', series: [{ label: '<kvip>', values: [1] }] }],
    });
    checkWellFormed(svg);
    expect(svg).toContain(escapeXml('a <b> & "c"'));
    expect(svg).not.toContain('<kvip>');
  });

  it('chooses round axis steps', () => {
    expect([niceStep(4950), niceStep(607), niceStep(15), niceStep(0.9), niceStep(0)]).toEqual([
      2000, 200, 5, 0.25, 1,
    ]);
  });
});
