// The demo's terminal output as pure functions of what happened: one row per second of the timeline, event
// lines, and the closing summary. With color, plain ANSI (SGR colors, no cursor movement: the live redraw
// is the caller's); without, only ASCII, for a log file or a pipe.

/** Which node answered the probes in one slot of a row: a node, '' (probed, no answer) or null (no answer yet ever). */
export type Slot = string | null;

export interface Row {
  /** Seconds since the timeline started. */
  second: number;
  /** The Lease's holder at the end of the row ('' nobody), and whether it had expired. */
  lease: { holder: string; expired: boolean };
  /** BGP: the node the router sends the VIP's traffic to at the end of the row ('' none). */
  route?: string;
  /** One per slot; fewer while the row is still being filled. */
  slots: Slot[];
  slotMs: number;
}

export interface Style {
  color: boolean;
}

const SGR = { reset: '\x1b[0m', dim: '\x1b[2m', bold: '\x1b[1m', red: '\x1b[31m' };
const NODE_COLORS = ['\x1b[32m', '\x1b[36m', '\x1b[35m', '\x1b[33m', '\x1b[34m'];

function paint(text: string, sgr: string, style: Style): string {
  return style.color ? `${sgr}${text}${SGR.reset}` : text;
}

/** n1 green, n2 cyan, n3 magenta, ... */
function nodeColor(node: string): string {
  const i = Number(/\d+$/.exec(node)?.[0] ?? 0) - 1;
  return NODE_COLORS[((i % NODE_COLORS.length) + NODE_COLORS.length) % NODE_COLORS.length] as string;
}

export function nodeName(node: string, style: Style): string {
  return paint(node, nodeColor(node), style);
}

/** A slot: the node's digit (colored block with color), '.' no answer (red), ' ' none yet. */
function slotChar(slot: Slot, style: Style): string {
  if (slot === null) return ' ';
  if (slot === '') return style.color ? paint('░', SGR.red, style) : '.';
  return style.color ? paint('█', nodeColor(slot), style) : (/\d+$/.exec(slot)?.[0] ?? '?').slice(-1);
}

function leaseText(lease: Row['lease']): string {
  if (lease.holder === '') return 'nobody';
  return lease.expired ? `${lease.holder} expired` : lease.holder;
}

/** Each node once per run of answers, in order: n1 n1 n2 n1 -> [n1, n2, n1]. */
function runs(slots: string[]): string[] {
  return slots.filter((s, i) => i === 0 || s !== slots[i - 1]);
}

/**
 * One second of the timeline: time, lease holder, a bar of slots (who answered the client's probes), then
 * who answered and how long nothing did, e.g. `  13s  lease n1 expired |1111......| n1, no answer 800 ms`.
 */
export function renderRow(row: Row, style: Style, slotsPerRow: number): string {
  const bar = row.slots.map((s) => slotChar(s, style)).join('') + ' '.repeat(slotsPerRow - row.slots.length);
  const answered = runs(row.slots.filter((s): s is string => s !== null && s !== ''));
  const silent = row.slots.filter((s) => s === '').length * row.slotMs;
  const notes = [
    answered.map((n) => nodeName(n, style)).join(' -> '),
    silent > 0 ? paint(`no answer ${silent} ms`, SGR.red, style) : '',
  ].filter(Boolean);
  const lease = leaseText(row.lease).padEnd(10);
  const route = row.route === undefined ? '' : ` route ${(row.route || 'none').padEnd(4)}`;
  const edge = style.color ? ['▕', '▏'] : ['|', '|'];
  return `${String(row.second).padStart(4)}s  lease ${lease}${route} ${edge[0]}${bar}${edge[1]} ${notes.join(', ')}`.trimEnd();
}

/** An event between rows, stamped (dim) with its time since the start: `  +5.0s  SIGTERM to n1 ...`. */
export function renderEvent(ms: number, text: string, style: Style): string {
  return `${paint(`+${(ms / 1000).toFixed(1)}s`.padStart(8), SGR.dim, style)}  ${text}`;
}

/** How to read a row: what a character stands for. */
export function renderLegend(nodes: string[], slotMs: number, style: Style): string {
  const keys = nodes.map((n) => `${slotChar(n, style)} ${n}`);
  return (
    `One row a second, one character per ${slotMs} ms of the client's probes: ` +
    `${keys.join(', ')} = answered by that node, ${slotChar('', style)} = no answer`
  );
}

export interface Outage {
  /** What was done: 'SIGTERM' (graceful stop) or 'SIGKILL' (crash). */
  action: string;
  from: string;
  to: string;
  /** From the last answer of `from` to the first answer of `to`, as the client saw them. */
  ms: number;
}

export interface NodeLogLine {
  node: string;
  /** ms since the start of the timeline. */
  ms: number;
  msg: string;
}

export interface Summary {
  vip: string;
  probeIntervalMs: number;
  outages: Outage[];
  log: NodeLogLine[];
}

const WHAT: Record<string, (node: string) => string> = {
  SIGTERM: (n) => `SIGTERM to ${n}: it steps down, releases the lease`,
  SIGKILL: (n) => `${n} dies (SIGKILL, link cut): its lease must expire`,
};

export function renderSummary(s: Summary, style: Style): string[] {
  const out = [
    '',
    paint(
      `Outages, as the client saw them (a UDP probe to ${s.vip} every ${s.probeIntervalMs} ms):`,
      SGR.bold,
      style,
    ),
  ];
  s.outages.forEach((o, i) => {
    const what = WHAT[o.action]?.(o.from) ?? `${o.action} to ${o.from}`;
    out.push(
      `  ${i + 1}. ${what.padEnd(52)} ${o.from} -> ${o.to}  ${String(Math.round(o.ms)).padStart(5)} ms`,
    );
  });
  out.push('', paint('What kvip logged (the key lines of each node):', SGR.bold, style));
  for (const l of s.log)
    out.push(`  ${nodeName(l.node, style)}  ${`+${(l.ms / 1000).toFixed(3)}s`.padStart(9)}  ${l.msg}`);
  return out;
}
