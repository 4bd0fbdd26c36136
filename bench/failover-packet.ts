// Failover benchmark, Packet (Equinix Metal) Elastic IP mode, on the router rig with the Metal fake
// (test/e2e/metal-rig.ts): for crash (link cut + SIGKILL) and graceful (SIGTERM), with the fake answering at
// 0 and at 200 ms: Metal API calls per failover, leadership -> first Metal request, leadership -> assignment
// answered, and the outage the client sees through the router (route propagation 0, so kvip's own part
// shows). Graceful is measured twice: leaving the assignment for the next leader (kvip's behaviour) and
// unassigning before the lease is released. Then the idle API budget and the recovery after a fault storm.
import { parseArgs } from 'node:util';
import { UNASSIGN_ON_SHUTDOWN_ENV } from '../src/service/providers.js';
import { MetalRig, type MetalRequest } from '../test/e2e/metal-rig.js';
import { kvipLogLines } from '../src/demo/kvip-log.js';
import { round, summary, table } from './stats.js';

type Kind = 'crash' | 'graceful' | 'graceful-unassign';
interface Lease {
  ld: number;
  rd: number;
  rp: number;
}
interface Trial {
  kind: Kind;
  calls: number;
  firstRequestMs: number;
  /** kvip's own clock: acquire -> the first call passes its guard (about to be sent). */
  acquireToCallMs: number;
  /** The first call passed its guard (kvip's wall clock) -> the fake saw it arrive. */
  sendToArrivalMs: number;
  assignedMs: number;
  outageMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const IDLE_S = 150;

interface Timing {
  firstCallMs?: number;
  /** Wall clock ms when the first call passed its guard. */
  firstCallAt?: number;
}

/** kvip's log lines on `node` (all runs) whose msg matches: wall-clock time and kvip's own timing. */
function logLines(m: MetalRig, node: string, msg: RegExp) {
  return kvipLogLines<Timing>(m.rig.kvipLogs(node)).filter((l) => msg.test(l.msg));
}

async function settled(m: MetalRig): Promise<string> {
  const end = Date.now() + 60000;
  for (;;) {
    const l = await m.rig.leaseHolder();
    if (l !== '' && (await m.holder()) === l && m.rig.routeVia() === m.rig.nodeAddress(l)) return l;
    if (Date.now() > end) throw new Error('the cluster did not settle');
    await sleep(20);
  }
}

async function trial(m: MetalRig, kind: Kind, lease: Lease, env: Record<string, string>): Promise<Trial> {
  const old = await settled(m);
  await sleep(4000 + Math.random() * 1000); // followers have refreshed their view after the last leader
  const mark = (await m.requests()).length;
  const t0 = Date.now();
  if (kind === 'crash') {
    m.rig.linkDown(old);
    await m.rig.stopKvip(old, 'SIGKILL');
  } else void m.rig.stopKvip(old, 'SIGTERM');
  const sw = await m.rig.switchedFrom(old, t0, 60000);
  const next = String(sw.to);
  await sleep(300);
  const led = logLines(m, next, /^this node is leader/).filter((l) => l.t >= t0 - 50);
  const assigned = logLines(m, next, /^the Elastic IP is assigned/).filter((l) => l.t >= t0 - 50);
  const since = (await m.requests(mark)).filter((r: MetalRequest) => m.nodeOfSource(r.source) === next);
  const leadAt = led[0]?.t ?? NaN;
  const assignedAt = assigned[0]?.t ?? NaN;
  const during = since.filter((r) => r.t >= leadAt - 1 && r.t <= assignedAt);
  const result: Trial = {
    kind,
    calls: during.length,
    firstRequestMs: (during[0]?.t ?? NaN) - leadAt,
    acquireToCallMs: assigned[0]?.firstCallMs ?? NaN,
    sendToArrivalMs: (during[0]?.t ?? NaN) - (assigned[0]?.firstCallAt ?? NaN),
    assignedMs: assignedAt - leadAt,
    outageMs: sw?.ms ?? NaN,
  };
  if (kind === 'crash') m.rig.linkUp(old);
  await m.rig.stopKvip(old, 'SIGTERM');
  m.startKvip(old, lease, [], env);
  return result;
}

async function idleBudget(m: MetalRig): Promise<{ leader: number; follower: number }> {
  const leader = await settled(m);
  await sleep(5000);
  const mark = (await m.requests()).length;
  await sleep(IDLE_S * 1000);
  const reqs = await m.requests(mark);
  const per = (n: string) => (reqs.filter((r) => m.nodeOfSource(r.source) === n).length * 60) / IDLE_S;
  return {
    leader: per(leader),
    follower: Math.max(...m.rig.nodes.filter((n) => n !== leader).map(per)),
  };
}

/** Every request fails (5xx, resets, 429) for a while around a crash; then how long until the leader holds it. */
async function faultRecovery(m: MetalRig, lease: Lease): Promise<number> {
  const old = await settled(m);
  await m.setFaults({ status5xx: { status: 503 } });
  m.rig.linkDown(old);
  await m.rig.stopKvip(old, 'SIGKILL');
  await sleep(lease.ld * 1000 + 3000);
  await m.clearFaults();
  const cleared = Date.now();
  await settled(m);
  const ms = Date.now() - cleared;
  m.rig.linkUp(old);
  m.startKvip(old, lease);
  return ms;
}

async function run(latencyMs: number, trials: number, lease: Lease, quick: boolean) {
  const m = await MetalRig.create();
  try {
    await m.rig.startProbe();
    if (latencyMs > 0) await m.setFaults({ latencyMs: { ms: latencyMs } });
    const out: Trial[] = [];
    const variants: Record<string, string>[] = [{}, { [UNASSIGN_ON_SHUTDOWN_ENV]: '1' }];
    for (const variant of variants) {
      for (const n of m.rig.nodes) await m.rig.stopKvip(n, 'SIGTERM');
      for (const n of m.rig.nodes) m.startKvip(n, lease, [], variant);
      const unassign = Object.keys(variant).length > 0;
      for (let i = 0; i < trials; i++) {
        if (!unassign) out.push(await trial(m, 'crash', lease, variant));
        out.push(await trial(m, unassign ? 'graceful-unassign' : 'graceful', lease, variant));
        process.stderr.write('.');
      }
    }
    for (const n of m.rig.nodes) await m.rig.stopKvip(n, 'SIGTERM');
    for (const n of m.rig.nodes) m.startKvip(n, lease);
    const idle = latencyMs === 0 && !quick ? await idleBudget(m) : null;
    const recovery = latencyMs === 0 && !quick ? await faultRecovery(m, lease) : null;
    const leaked = m.rig.nodes.some((n) => m.rig.kvipLogs(n).some((t) => t.includes(m.token)));
    const reservationKept = await m.reservationExists();
    return { latencyMs, trials: out, idle, recovery, leaked, reservationKept };
  } finally {
    await m.destroy();
  }
}

export async function packetMain(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      mode: { type: 'string' },
      trials: { type: 'string', default: '10' },
      lease: { type: 'string', default: '5/3/1' },
      latency: { type: 'string', default: '0,200' },
      /** Skip the idle budget and the fault recovery (a look at the failover numbers only). */
      quick: { type: 'boolean', default: false },
    },
  });
  const [ld, rd, rp] = values.lease.split('/').map(Number) as [number, number, number];
  const lease = { ld, rd, rp };
  const trials = Number(values.trials);
  const runs: Awaited<ReturnType<typeof run>>[] = [];
  for (const latency of values.latency.split(',').map(Number)) {
    process.stderr.write(`packet, Metal API latency ${latency} ms: `);
    runs.push(await run(latency, trials, lease, values.quick));
    process.stderr.write('\n');
  }
  const rows: (string | number)[][] = [];
  for (const r of runs)
    for (const kind of ['crash', 'graceful', 'graceful-unassign'] as const) {
      const ts = r.trials.filter((t) => t.kind === kind);
      const o = summary(ts.map((t) => t.outageMs));
      rows.push([
        `${r.latencyMs} ms`,
        kind === 'graceful'
          ? 'graceful (leave)'
          : kind === 'graceful-unassign'
            ? 'graceful (unassign)'
            : kind,
        ts.length,
        Math.max(...ts.map((t) => t.calls)),
        summary(ts.map((t) => t.firstRequestMs)).p95,
        summary(ts.map((t) => t.acquireToCallMs)).p95,
        summary(ts.map((t) => t.sendToArrivalMs)).p95,
        summary(ts.map((t) => t.assignedMs)).p95,
        o.p50,
        o.p95,
        o.max,
      ]);
    }
  console.log(
    `\nfailover, Packet EIP mode, 3 nodes + Metal fake + router (propagation 0), lease ${values.lease} s, UDP probe every 2 ms through the router`,
  );
  console.log(
    table(
      [
        'API latency',
        'event',
        'n',
        'calls max',
        'lead->1st req p95 ms',
        'acquire->send p95 ms',
        'send->arrival p95 ms',
        'lead->assigned p95 ms',
        'outage p50 ms',
        'p95 ms',
        'max ms',
      ],
      rows,
    ),
  );
  const zero = runs[0]!;
  const slow = runs[runs.length - 1]!; // the worse case: the highest latency run
  const p95 = (r: (typeof runs)[number], kind: Kind, f: (t: Trial) => number) =>
    summary(r.trials.filter((t) => t.kind === kind).map(f)).p95;
  console.log(
    `\nidle API budget over ${IDLE_S} s: leader ${round(zero.idle?.leader ?? NaN, 2)} requests/min, busiest follower ${round(zero.idle?.follower ?? NaN, 2)} requests/min`,
  );
  console.log(
    `after a 503 storm across a crash: the leader holds the EIP ${zero.recovery} ms after the faults clear`,
  );
  const all = runs.flatMap((r) => r.trials);
  const calls = Math.max(...all.map((t) => t.calls));
  const first = summary(all.map((t) => t.firstRequestMs)).p95;
  const crash = p95(slow, 'crash', (t) => t.outageMs);
  const graceful = p95(slow, 'graceful', (t) => t.outageMs);
  const json = {
    bench: 'failover',
    mode: 'packet',
    lease_ms: ld * 1000,
    trials,
    api_latency_ms: slow.latencyMs,
    api_calls_per_failover: calls,
    leader_to_first_request_ms: round(first, 1),
    leader_to_assigned_p95_ms: round(p95(slow, 'crash', (t) => t.assignedMs)),
    crash_p95_ms: round(crash),
    graceful_p95_ms: round(graceful),
    graceful_unassign_p95_ms: round(p95(slow, 'graceful-unassign', (t) => t.outageMs)),
    crash_p95_ms_at_0: round(p95(zero, 'crash', (t) => t.outageMs)),
    graceful_p95_ms_at_0: round(p95(zero, 'graceful', (t) => t.outageMs)),
    idle_requests_per_min_leader: round(zero.idle?.leader ?? NaN, 2),
    idle_requests_per_min_follower: round(zero.idle?.follower ?? NaN, 2),
    fault_recovery_ms: zero.recovery,
    token_in_logs: runs.some((r) => r.leaked),
    reservation_kept: runs.every((r) => r.reservationKept),
  };
  const goals = {
    calls_le_2: calls <= 2,
    first_request_le_10ms: first <= 10,
    crash_le_lease_plus_2lat_plus_100: crash <= ld * 1000 + 2 * slow.latencyMs + 100,
    graceful_le_2lat_plus_100: graceful <= 2 * slow.latencyMs + 100,
    recovery_le_backoff_cap: (zero.recovery ?? Infinity) <= 5000,
    idle_leader_le_1_per_reconcile: (zero.idle?.leader ?? NaN) <= 60_000 / 10_000,
    idle_follower_le_1_per_min: (zero.idle?.follower ?? NaN) <= 1,
    no_token_no_deleted_reservation: !json.token_in_logs && json.reservation_kept,
  };
  console.log(
    `\ngoals: ${Object.entries(goals)
      .map(([k, v]) => `${k}=${v ? 'met' : 'MISSED'}`)
      .join(' ')}`,
  );
  console.log(JSON.stringify({ ...json, goals_met: Object.values(goals).every(Boolean) }));
}
