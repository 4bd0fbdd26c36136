// Failover benchmark, BGP mode, on the router rig (test/e2e/bgp-rig.ts): three nodes peer with a real BGP
// daemon (BIRD 2 or FRR) in the router namespace, which installs the VIP's route into its kernel, so the
// client's probes through the router follow it. Per daemon and hold time (3 s and the default, 30 s):
// leadership -> UPDATE written, UPDATE -> route in the router's kernel, and the outage the client sees for a
// graceful stop (SIGTERM: withdraw, then release), a process crash (SIGKILL: the kernel closes the TCP
// session, so the router drops the path at once) and a node crash (link cut + SIGKILL: no FIN, the router
// keeps the dead path until its hold timer). And whether every withdraw reached the router before the lease
// was released.
import { parseArgs } from 'node:util';
import { BgpRig } from '../test/e2e/bgp-rig.js';
import { kvipLogLines } from '../src/demo/kvip-log.js';
import { round, summary, table } from './stats.js';

type Kind = 'graceful' | 'process-crash' | 'node-crash';
interface Lease {
  ld: number;
  rd: number;
  rp: number;
}
interface Trial {
  kind: Kind;
  /** The new leader's "this node is leader" -> its "announced ... over BGP" log line (ms resolution). */
  leadToWrittenMs: number;
  /** kvip's own clock: acquire -> the UPDATE handed to the kernel on every established session. */
  acquireToWrittenMs: number;
  /** The UPDATE written (kvip's wall clock) -> rt's kernel route via the new leader (ip monitor). */
  writtenToRouteMs: number;
  outageMs: number;
  /** graceful: the old leader logged the withdraw written to all its established sessions before releasing. */
  withdrawBeforeRelease?: boolean;
  /** graceful, from the SIGTERM: rt's route deleted, the old leader's release, the new leader's lead, its route. */
  steps?: { deleted: number; released: number; led: number; routed: number };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const DEFAULT_HOLD = 30;

interface Timing {
  writtenMs?: number;
  /** Wall clock ms when the UPDATE was handed to the kernel. */
  writtenAt?: number;
}

const logLines = (b: BgpRig, node: string) => kvipLogLines<Timing>(b.rig.kvipLogs(node));

const settled = (b: BgpRig) => b.settled(90000, 20);

async function trial(b: BgpRig, kind: Kind, lease: Lease): Promise<Trial> {
  const old = await settled(b);
  await sleep(1000 + Math.random() * 500);
  const t0 = Date.now();
  if (kind === 'node-crash') b.rig.linkDown(old);
  if (kind === 'graceful') void b.rig.stopKvip(old, 'SIGTERM');
  else await b.rig.stopKvip(old, 'SIGKILL');
  const sw = await b.rig.switchedFrom(old, t0, 120000);
  const next = String(sw.to);
  await sleep(300);
  const lines = logLines(b, next).filter((l) => l.t >= t0 - 50);
  const led = lines.find((l) => /^this node is leader/.test(l.msg));
  const written = lines.find((l) => /^announced the virtual IP over BGP/.test(l.msg));
  const via = b.rig.nodeAddress(next);
  const routed = b.rig.routeEvents.find((e) => e.t >= t0 && e.via === via);
  const result: Trial = {
    kind,
    leadToWrittenMs: (written?.writtenAt ?? NaN) - (led?.t ?? NaN),
    acquireToWrittenMs: written?.writtenMs ?? NaN,
    writtenToRouteMs: (routed?.t ?? NaN) - (written?.writtenAt ?? NaN),
    outageMs: sw?.ms ?? NaN,
  };
  if (kind === 'graceful') {
    const oldLines = logLines(b, old).filter((l) => l.t >= t0 - 50);
    const w = oldLines.findIndex((l) => /^BGP withdraw written to (\d+) of \1 /.test(l.msg));
    const r = oldLines.findIndex((l) => l.msg === 'released the lease');
    result.withdrawBeforeRelease = w >= 0 && r > w;
    const deleted = b.rig.routeEvents.find((e) => e.t >= t0 && e.via === '');
    result.steps = {
      deleted: (deleted?.t ?? NaN) - t0,
      released: (oldLines[r]?.t ?? NaN) - t0,
      led: (led?.t ?? NaN) - t0,
      routed: (routed?.t ?? NaN) - t0,
    };
  }
  if (kind === 'node-crash') b.rig.linkUp(old);
  await b.rig.stopKvip(old, 'SIGTERM');
  b.startKvip(old, lease);
  return result;
}

async function run(router: 'bird' | 'frr', hold: number, trials: number, lease: Lease) {
  const b = await BgpRig.create({ router, holdTime: hold });
  try {
    await b.rig.startProbe();
    for (const n of b.rig.nodes) b.startKvip(n, lease);
    const out: Trial[] = [];
    for (let i = 0; i < trials; i++)
      for (const kind of ['graceful', 'process-crash', 'node-crash'] as const) {
        out.push(await trial(b, kind, lease));
        process.stderr.write('.');
      }
    return { router, hold, trials: out };
  } finally {
    await Promise.all(b.rig.nodes.map((n) => b.rig.stopKvip(n, 'SIGKILL')));
    await b.destroy();
  }
}

export async function bgpMain(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      mode: { type: 'string' },
      trials: { type: 'string', default: '10' },
      /** Trials at the default hold time (each node crash waits out 30 s); default half of --trials. */
      'default-hold-trials': { type: 'string' },
      lease: { type: 'string', default: '5/3/1' },
      router: { type: 'string', default: 'bird,frr' },
    },
  });
  const [ld, rd, rp] = values.lease.split('/').map(Number) as [number, number, number];
  const lease = { ld, rd, rp };
  const trials = Number(values.trials);
  const slowTrials = Number(values['default-hold-trials'] ?? Math.ceil(trials / 2));
  const routers = values.router.split(',');
  for (const r of routers) if (r !== 'bird' && r !== 'frr') throw new Error(`--router ${r}: bird or frr`);
  const runs: Awaited<ReturnType<typeof run>>[] = [];
  for (const router of routers as ('bird' | 'frr')[])
    for (const [hold, n] of [
      [3, trials],
      [DEFAULT_HOLD, slowTrials],
    ] as const) {
      if (n === 0) continue;
      process.stderr.write(`bgp, ${router}, hold ${hold} s: `);
      runs.push(await run(router, hold, n, lease));
      process.stderr.write('\n');
    }
  const rows: (string | number)[][] = [];
  for (const r of runs)
    for (const kind of ['graceful', 'process-crash', 'node-crash'] as const) {
      const ts = r.trials.filter((t) => t.kind === kind);
      const o = summary(ts.map((t) => t.outageMs));
      rows.push([
        r.router,
        `${r.hold} s`,
        kind,
        String(ts.length),
        summary(ts.map((t) => t.leadToWrittenMs)).p95,
        summary(ts.map((t) => t.acquireToWrittenMs)).p95,
        // After a node crash the router prefers the dead node's path until its hold timer: not the UPDATE's doing.
        kind === 'node-crash' ? NaN : summary(ts.map((t) => t.writtenToRouteMs)).p95,
        o.p50,
        o.p95,
        o.max,
      ]);
    }
  console.log(
    `\nfailover, BGP mode, 3 nodes + a router namespace running the daemon (kernel routes), lease ${values.lease} s, UDP probe every 2 ms through the router`,
  );
  console.log(
    table(
      [
        'router',
        'hold',
        'event',
        'n',
        'lead->UPDATE written p95 ms',
        'acquire->written p95 ms',
        'written->kernel route p95 ms',
        'outage p50 ms',
        'p95 ms',
        'max ms',
      ],
      rows,
    ),
  );
  const steps = runs.flatMap((r) => r.trials).flatMap((t) => (t.steps ? [t.steps] : []));
  const med = (f: (x: NonNullable<Trial['steps']>) => number) =>
    round(summary(steps.map(f).filter(Number.isFinite)).p50, 1);
  console.log(
    `\ngraceful, p50 ms after the SIGTERM: route deleted at the router ${med((x) => x.deleted)}, lease released ${med((x) => x.released)}, new leader ${med((x) => x.led)}, its route installed ${med((x) => x.routed)}`,
  );
  const all = runs.flatMap((r) => r.trials);
  const p95 = (f: (t: Trial) => boolean, g: (t: Trial) => number) => summary(all.filter(f).map(g)).p95;
  const fast = (t: Trial, kind: Kind) => t.kind === kind;
  const leadToUpdate = p95(
    () => true,
    (t) => t.leadToWrittenMs,
  );
  const graceful = p95(
    (t) => fast(t, 'graceful'),
    (t) => t.outageMs,
  );
  const processCrash = p95(
    (t) => fast(t, 'process-crash'),
    (t) => t.outageMs,
  );
  const byHold = (hold: number) => runs.filter((r) => r.hold === hold).flatMap((r) => r.trials);
  const nodeCrash = (hold: number) =>
    summary(
      byHold(hold)
        .filter((t) => t.kind === 'node-crash')
        .map((t) => t.outageMs),
    ).p95;
  const withdrawFirst = all
    .filter((t) => t.kind === 'graceful')
    .every((t) => t.withdrawBeforeRelease === true);
  const json = {
    bench: 'failover',
    mode: 'bgp',
    routers,
    lease_ms: ld * 1000,
    trials,
    default_hold_trials: slowTrials,
    hold_time_s: 3,
    default_hold_time_s: DEFAULT_HOLD,
    leader_to_update_ms: round(leadToUpdate, 1),
    acquire_to_written_p95_ms: round(
      p95(
        () => true,
        (t) => t.acquireToWrittenMs,
      ),
      2,
    ),
    update_to_route_p95_ms: round(
      p95(
        (t) => t.kind !== 'node-crash',
        (t) => t.writtenToRouteMs,
      ),
      1,
    ),
    graceful_p95_ms: round(graceful),
    process_crash_p95_ms: round(processCrash),
    node_crash_p95_ms: round(nodeCrash(3)),
    node_crash_p95_ms_default_hold: round(nodeCrash(DEFAULT_HOLD)),
    withdraw_before_release: withdrawFirst,
  };
  const goals = {
    leader_to_update_le_10ms: leadToUpdate <= 10,
    graceful_le_50ms: graceful <= 50,
    process_crash_le_lease_plus_100: processCrash <= ld * 1000 + 100,
    node_crash_le_max_lease_hold_plus_100: nodeCrash(3) <= Math.max(ld, 3) * 1000 + 100,
    node_crash_default_hold_le_max_lease_hold_plus_100:
      nodeCrash(DEFAULT_HOLD) <= Math.max(ld, DEFAULT_HOLD) * 1000 + 100,
    withdraw_before_release: withdrawFirst,
  };
  console.log(
    `\ngoals: ${Object.entries(goals)
      .map(([k, v]) => `${k}=${v ? 'met' : 'MISSED'}`)
      .join(' ')}`,
  );
  console.log(JSON.stringify({ ...json, goals_met: Object.values(goals).every(Boolean) }));
}
