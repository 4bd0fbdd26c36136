// API latency benchmark: at what API server latency does a leader stop holding the VIP? One elector (the real
// KubeHttp + KubeLeaseStore) against the fake kube-apiserver, every one of its requests delayed by L; for
// each L it runs `--windowLeases` lease durations and reports whether it held leadership the whole time
// after the first acquire. kvip's rule implies the bound: a renewal sent at s makes leadership last until
// s + RP + RD; the next one is sent at s + L + RP and answered at s + 2L + RP, so it holds while L < RD / 2.
// Prints a table per lease and a final JSON line.
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { Elector, KubeHttp, KubeLeaseStore, parseKubeConfig, systemClock } from '../src/election/index.js';
import { startFakeApiServer } from '../src/lease-api/server.js';
import { round, table } from './stats.js';

const LEASES = [
  { label: '1/0.5/0.2', ld: 1000, rd: 500, rp: 200 },
  { label: '5/3/1', ld: 5000, rd: 3000, rp: 1000 },
];
/** Latencies tried, as fractions of RD. */
const FRACTIONS = [0.3, 0.4, 0.45, 0.5, 0.55, 0.6];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Did the elector, with every request delayed by `delayMs`, lead without a break for `windowMs`? */
async function holds(lease: (typeof LEASES)[number], delayMs: number, windowMs: number): Promise<boolean> {
  const server = await startFakeApiServer({ tokens: { 'tok-a': 'a' }, bookmarkIntervalMs: 60000 });
  const http = new KubeHttp(parseKubeConfig(server.kubeconfig('a')));
  let started = 0;
  let stopped = 0;
  const elector = new Elector(
    {
      identity: 'a',
      leaseDurationMs: lease.ld,
      renewDeadlineMs: lease.rd,
      retryPeriodMs: lease.rp,
      watch: true,
    },
    {
      store: new KubeLeaseStore(http, 'kube-system', 'plndr-cp-lock'),
      clock: systemClock,
      callbacks: {
        onStartedLeading: () => void started++,
        onStoppedLeading: () => void stopped++,
        onNewLeader: () => undefined,
      },
    },
  );
  try {
    elector.start();
    const end = performance.now() + 4 * lease.ld;
    while (started === 0 && performance.now() < end) await sleep(5);
    if (started === 0) return false;
    server.setFault('a', { kind: 'delay', ms: delayMs });
    const lostBefore = stopped;
    await sleep(windowMs);
    return stopped === lostBefore && elector.isLeader();
  } finally {
    server.clearFaults();
    await elector.stop();
    http.close();
    await server.close();
  }
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { windowLeases: { type: 'string', default: '4' } } });
  const results: Record<string, unknown> = {};
  for (const lease of LEASES) {
    const rows: (string | number)[][] = [];
    let firstLost: number | null = null;
    for (const f of FRACTIONS) {
      const delay = f * lease.rd;
      const held = await holds(lease, delay, Number(values.windowLeases) * lease.ld);
      if (!held && firstLost === null) firstLost = delay;
      rows.push([`${round(delay)} ms (${f} x RD)`, held ? 'yes' : 'no']);
    }
    console.log(`\nlease ${lease.label} s: the rule's bound is RD / 2 = ${lease.rd / 2} ms`);
    console.log(table(['API latency', 'leader keeps the VIP'], rows));
    results[lease.label] = { bound_ms: lease.rd / 2, first_lost_ms: firstLost };
  }
  console.log(JSON.stringify({ bench: 'latency', leases: results }));
}
