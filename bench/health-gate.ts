// Health-gate failover on the namespace rigs, in each mode: the leader's own API server (the forwarder on its
// 127.0.0.1:6443) stops while the lease itself stays reachable (the nodes renew straight at the API fake),
// so only the health gate can move the VIP. Measured from the client's probe every 2 ms: when another node
// first answers after the stop (the move), and the outage (last reply from the old node to the first from the
// new). The bound to compare with is period x failures (the checks that must fail) plus the takeover. Then
// the API server comes back; the VIP must stay where it is (counted as "came back" if not).
import { parseArgs } from 'node:util';
import { createModeRig, messages, until, type ModeName, type ModeRig } from '../test/e2e/modes.js';
import { fmt, round, summary, table } from './stats.js';

const LEASE = { ld: 5, rd: 3, rp: 1 };
const PERIOD_S = 1;
const FAILURES = 3;
const TAKEOVER_BUDGET_MS = 500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Trial {
  moveMs: number;
  outageMs: number;
  cameBack: boolean;
}

async function leaderServing(m: ModeRig): Promise<string> {
  return until(
    'one leader serving the VIP',
    async () => {
      const holder = await m.rig.leaseHolder();
      return holder !== '' && (await m.servedBy()) === holder ? holder : undefined;
    },
    60000,
  );
}

async function trial(m: ModeRig): Promise<Trial> {
  const { rig } = m;
  const leader = await leaderServing(m);
  await sleep(500 + Math.random() * 1000); // a random phase against the check period
  const t0 = Date.now();
  await rig.stopLocalApiServer(leader);
  const switched = await rig.switchedFrom(leader, t0, 60000);
  const next = await leaderServing(m);
  const passes = () => messages(rig, leader).filter((l) => l.startsWith('the health check passes (')).length;
  const before = passes();
  await rig.startLocalApiServer(leader);
  await until('the old leader healthy again', async () => (passes() > before ? true : undefined), 60000);
  await sleep(2 * LEASE.ld * 1000);
  const cameBack = (await m.servedBy()) !== next || (await rig.leaseHolder()) !== next;
  return { moveMs: switched.t - t0, outageMs: switched.ms ?? NaN, cameBack };
}

async function runMode(name: ModeName, trials: number): Promise<Trial[]> {
  const m = await createModeRig(name);
  try {
    await m.rig.startProbe();
    for (const n of m.rig.nodes) m.start(n, LEASE, ['--apiServer', m.rig.apiServerUrl]);
    process.stderr.write(`${name}: `);
    const out: Trial[] = [];
    for (let i = 0; i < trials; i++) {
      out.push(await trial(m));
      process.stderr.write('.');
    }
    process.stderr.write('\n');
    return out;
  } finally {
    await Promise.all(m.rig.nodes.map((n) => m.rig.stopKvip(n, 'SIGTERM')));
    await m.close();
  }
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      modes: { type: 'string', default: 'arp,packet,bgp' },
      trials: { type: 'string', default: '10' },
    },
  });
  const modes = values.modes.split(',') as ModeName[];
  for (const mode of modes)
    if (!['arp', 'packet', 'bgp'].includes(mode)) throw new Error(`--modes ${mode}: arp, packet or bgp`);
  const trials = Number(values.trials);
  const bound = PERIOD_S * FAILURES * 1000 + TAKEOVER_BUDGET_MS;
  const results = new Map<ModeName, Trial[]>();
  for (const mode of modes) results.set(mode, await runMode(mode, trials));

  const rows = modes.map((mode) => {
    const r = results.get(mode)!;
    const move = summary(r.map((t) => t.moveMs));
    const outage = summary(r.map((t) => t.outageMs));
    return [
      mode,
      String(move.n),
      move.p50,
      move.p95,
      move.max,
      outage.p50,
      outage.p95,
      String(r.filter((t) => t.cameBack).length),
    ];
  });
  console.log(
    `\nhealth gate: the leader's own API server stops (lease ${LEASE.ld}/${LEASE.rd}/${LEASE.rp} s, ` +
      `check every ${PERIOD_S} s, ${FAILURES} failures; ${trials} trials per mode)`,
  );
  console.log(
    table(
      [
        'mode',
        'n',
        'stop -> moved p50 ms',
        'p95 ms',
        'max ms',
        'outage p50 ms',
        'outage p95 ms',
        'came back',
      ],
      rows,
    ),
  );
  const json: Record<string, unknown> = {
    bench: 'health-gate',
    lease_ms: LEASE.ld * 1000,
    trials,
    bound_ms: bound,
  };
  let met = true;
  for (const mode of modes) {
    const r = results.get(mode)!;
    const p95 = summary(r.map((t) => t.moveMs)).p95;
    json[`${mode}_move_p95_ms`] = round(p95);
    json[`${mode}_outage_p95_ms`] = round(summary(r.map((t) => t.outageMs)).p95);
    json[`${mode}_came_back`] = r.filter((t) => t.cameBack).length;
    met &&= p95 <= bound && r.every((t) => !t.cameBack);
  }
  console.log(
    `\ngoal: move p95 <= period x failures + ${TAKEOVER_BUDGET_MS} ms = ${fmt(bound)} ms, never back: ${met ? 'met' : 'MISSED'}`,
  );
  console.log(JSON.stringify({ ...json, goals_met: met }));
}
