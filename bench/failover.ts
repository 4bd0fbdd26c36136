// Failover benchmark on the e2e rig (network namespaces, real kernel): the outage a client probing the VIP
// every 2 ms sees when the holder crashes (SIGKILL + link cut) or stops (SIGTERM), for kvip and, on the same
// rig, for keepalived from Debian (VRRPv2 advert_int 1, VRRPv3 advert_int 0.1). Also: time two nodes hold
// the VIP at once, acquire -> first GARP, and kvip's idle RSS and CPU.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Rig } from '../test/e2e/rig.js';
import { fmt, round, summary, table } from './stats.js';
import { packetMain } from './failover-packet.js';
import { bgpMain } from './failover-bgp.js';
import { renderBarChart } from './svg-chart.js';

interface Lease {
  ld: number;
  rd: number;
  rp: number;
}

interface System {
  label: string;
  start: (rig: Rig, node: string) => void;
  /** keepalived leaves the VIP on a killed node; an operator removes it before restarting. kvip does it itself. */
  cleansStale: boolean;
}

interface Trial {
  outageMs: number;
  dualMs: number;
}

const IDLE_S = 30;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function steady(rig: Rig): Promise<string> {
  await rig.waitFor(() => rig.soleHolder() !== undefined, 60000, 'one holder');
  const holder = rig.soleHolder() as string;
  const since = Date.now();
  await rig.waitFor(
    () =>
      rig.probeEvents.some(
        (e) => e.type === 'tick' && e.t > since && e.node === holder && (e.lastReply ?? 0) > since,
      ),
    30000,
    `the client answered by ${holder}`,
  );
  return holder;
}

async function trial(rig: Rig, system: System, kind: 'crash' | 'graceful'): Promise<Trial> {
  const holder = await steady(rig);
  await sleep(200 + Math.random() * 800);
  const t0 = Date.now();
  if (kind === 'crash') {
    // The host dies: cut the link first, so nothing the dying process does still reaches the wire
    // (keepalived's VRRP child, for one, sends a priority-0 advert when its parent is killed).
    rig.linkDown(holder);
    await rig.stopKvip(holder, 'SIGKILL');
  } else {
    void rig.stopKvip(holder, 'SIGTERM');
  }
  const switched = await rig.switchedFrom(holder, t0, 60000);
  await sleep(500); // late `ip monitor` events
  const dead = kind === 'crash' ? new Map([[holder, t0]]) : undefined;
  const result = { outageMs: switched.ms ?? NaN, dualMs: rig.dualHolderMs(t0, dead) };
  if (kind === 'crash') {
    rig.linkUp(holder);
    if (!system.cleansStale && rig.holders().includes(holder)) rig.deleteVip(holder);
  }
  await rig.stopKvip(holder, 'SIGTERM');
  system.start(rig, holder);
  await sleep(1500);
  return result;
}

function procStat(pid: number): { rssMb: number; cpuTicks: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? NaN);
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return { rssMb: rssKb / 1024, cpuTicks: Number(fields[11]) + Number(fields[12]) };
}

/** RSS and CPU over `seconds`, after IDLE_SETTLE_S for the last restarted node to finish starting up. */
const IDLE_SETTLE_S = 15;
async function idle(rig: Rig, seconds: number): Promise<{ rssMb: number; cpuPct: number; role: string }[]> {
  const holder = await steady(rig);
  await sleep(IDLE_SETTLE_S * 1000);
  const before = new Map(rig.nodes.map((n) => [n, procStat(rig.pidOf(n)!)]));
  await sleep(seconds * 1000);
  return rig.nodes.map((n) => {
    const after = procStat(rig.pidOf(n)!);
    const ticks = after.cpuTicks - before.get(n)!.cpuTicks; // USER_HZ = 100
    return { role: n === holder ? 'leader' : 'follower', rssMb: after.rssMb, cpuPct: ticks / seconds };
  });
}

function acquireToGarpMs(rig: Rig): number[] {
  const out: number[] = [];
  for (const n of rig.nodes)
    for (const line of rig.kvipLogs(n).join('\n').split('\n')) {
      const m = /"sinceAcquireMs":([\d.]+)/.exec(line);
      if (m) out.push(Number(m[1]));
    }
  return out;
}

async function run(system: System, trials: number, extra?: (rig: Rig) => Promise<void>) {
  const rig = await Rig.create({ family: 4 });
  try {
    await rig.startProbe();
    for (const n of rig.nodes) system.start(rig, n);
    process.stderr.write(`${system.label}: `);
    await steady(rig);
    const crash: Trial[] = [];
    const graceful: Trial[] = [];
    for (let i = 0; i < trials; i++) {
      crash.push(await trial(rig, system, 'crash'));
      graceful.push(await trial(rig, system, 'graceful'));
      process.stderr.write('.');
    }
    await extra?.(rig);
    return { crash, graceful, garp: acquireToGarpMs(rig) };
  } finally {
    await rig.destroy();
  }
}

export async function main(argv: string[]): Promise<void> {
  const mode = parseArgs({ args: argv, options: { mode: { type: 'string' } }, strict: false }).values.mode;
  if (mode === 'packet') return packetMain(argv);
  if (mode === 'bgp') return bgpMain(argv);
  const { values } = parseArgs({
    args: argv,
    options: {
      mode: { type: 'string', default: 'arp' },
      trials: { type: 'string', default: '20' },
      lease: { type: 'string', default: '5/3/1' },
      'no-keepalived': { type: 'boolean', default: false },
      // Default: bench/results/failover-arp-<lease>.svg, committed with the README's table.
      svg: { type: 'string' },
    },
  });
  if (values.mode !== 'arp') throw new Error(`--mode ${values.mode}: arp, packet or bgp`);
  // Before any trial: without it the keepalived rows would only time out after the kvip ones.
  if (!values['no-keepalived'] && spawnSync('keepalived', ['--version']).error)
    throw new Error('keepalived is not installed: apt-get install keepalived, or pass --no-keepalived');
  const [ld, rd, rp] = values.lease.split('/').map(Number) as [number, number, number];
  const lease: Lease = { ld, rd, rp };
  const trials = Number(values.trials);
  const kvip: System = {
    label: `kvip, lease ${values.lease} s`,
    start: (rig, n) => void rig.startKvip(n, lease),
    cleansStale: true,
  };
  let idleRows: { rssMb: number; cpuPct: number; role: string }[] = [];
  const results = [
    {
      system: kvip,
      ...(await run(kvip, trials, async (rig) => {
        idleRows = await idle(rig, IDLE_S);
      })),
    },
  ];
  if (!values['no-keepalived'])
    for (const [version, advert] of [
      [2, 1],
      [3, 0.1],
    ] as const) {
      const system: System = {
        label: `keepalived VRRPv${version}, advert_int ${advert}`,
        start: (rig, n) => void rig.startKeepalived(n, version, advert),
        cleansStale: false,
      };
      results.push({ system, ...(await run(system, trials)) });
    }
  process.stderr.write('\n');

  const rows: (string | number)[][] = [];
  for (const r of results)
    for (const kind of ['crash', 'graceful'] as const) {
      const o = summary(r[kind].map((t) => t.outageMs));
      const dual = Math.max(...r[kind].map((t) => t.dualMs));
      rows.push([r.system.label, kind, String(o.n), o.p50, o.p95, o.max, dual]);
    }
  console.log(
    `\nfailover, ARP mode, 3 nodes on a bridge in network namespaces, UDP probe every 2 ms (${trials} trials each)`,
  );
  console.log(
    table(['system', 'event', 'n', 'outage p50 ms', 'p95 ms', 'max ms', 'dual-holder max ms'], rows),
  );

  const svgPath =
    values.svg ??
    fileURLToPath(new URL(`results/failover-arp-${values.lease.replace(/\//g, '-')}.svg`, import.meta.url));
  const events = { crash: 'crash (SIGKILL + link cut)', graceful: 'graceful (SIGTERM)' };
  const svg = renderBarChart({
    title: `ARP failover: outage per trial, ${trials} trials each (lease ${values.lease} s for kvip)`,
    unit: 'ms',
    panels: (['crash', 'graceful'] as const).map((kind) => ({
      title: events[kind],
      series: results.map((r) => ({ label: r.system.label, values: r[kind].map((t) => t.outageMs) })),
    })),
  });
  mkdirSync(dirname(svgPath), { recursive: true });
  writeFileSync(svgPath, svg);
  console.log(`\nchart: ${relative(process.cwd(), svgPath)}`);

  const p95 = (i: number, kind: 'crash' | 'graceful') =>
    summary(results[i]![kind].map((t) => t.outageMs)).p95;
  const kv = { crash: p95(0, 'crash'), graceful: p95(0, 'graceful') };
  const kaV2 = results[1] ? { crash: p95(1, 'crash'), graceful: p95(1, 'graceful') } : undefined;
  const kaV3 = results[2] ? { crash: p95(2, 'crash'), graceful: p95(2, 'graceful') } : undefined;
  if (kaV2 && kaV3)
    console.log(
      `\nratio (keepalived p95 / kvip p95): crash v2 ${fmt(kaV2.crash / kv.crash)}x, v3 ${fmt(kaV3.crash / kv.crash)}x; ` +
        `graceful v2 ${fmt(kaV2.graceful / kv.graceful)}x, v3 ${fmt(kaV3.graceful / kv.graceful)}x`,
    );
  const garp = summary(results[0]!.garp);
  console.log(
    `\nkvip acquire -> VIP added and first GARP sent: p50 ${fmt(garp.p50)} ms, p95 ${fmt(garp.p95)} ms, max ${fmt(garp.max)} ms (n=${garp.n})`,
  );
  console.log(
    table(
      [`kvip idle (${IDLE_S} s, after ${IDLE_SETTLE_S} s)`, 'RSS MB', 'CPU % of a core'],
      idleRows.map((r) => [r.role, r.rssMb, r.cpuPct]),
    ),
  );

  const dual = Math.max(...results[0]!.crash.concat(results[0]!.graceful).map((t) => t.dualMs));
  const rss = Math.max(...idleRows.map((r) => r.rssMb));
  const cpu = Math.max(...idleRows.map((r) => r.cpuPct));
  const json = {
    bench: 'failover',
    mode: 'arp',
    lease_ms: ld * 1000,
    trials,
    crash_p95_ms: round(kv.crash),
    graceful_p95_ms: round(kv.graceful),
    dual_holder_ms: round(dual),
    acquire_to_garp_p95_ms: round(garp.p95, 2),
    keepalived_v2_crash_p95_ms: kaV2 ? round(kaV2.crash) : null,
    keepalived_v3_crash_p95_ms: kaV3 ? round(kaV3.crash) : null,
    keepalived_graceful_p95_ms: kaV2 ? round(kaV2.graceful) : null,
    keepalived_v3_graceful_p95_ms: kaV3 ? round(kaV3.graceful) : null,
    idle_rss_mb: round(rss),
    idle_cpu_pct: round(cpu, 2),
  };
  const goals = {
    crash_p95_le_lease_plus_100ms: kv.crash <= ld * 1000 + 100,
    graceful_p95_le_50ms: kv.graceful <= 50,
    dual_holder_0: dual === 0,
    acquire_to_garp_le_5ms: garp.p95 <= 5,
    idle_rss_le_60mb: rss <= 60,
    idle_cpu_le_0_5pct: cpu <= 0.5,
  };
  console.log(
    `\ngoals: ${Object.entries(goals)
      .map(([k, v]) => `${k}=${v ? 'met' : 'MISSED'}`)
      .join(' ')}`,
  );
  console.log(JSON.stringify({ ...json, goals_met: Object.values(goals).every(Boolean) }));
}
