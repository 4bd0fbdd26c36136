// Soak benchmark: does kvip grow while it runs? Two parts, both bounded:
// 1. `--rounds` renewals by one elector (the real KubeHttp + KubeLeaseStore) against the fake kube-apiserver
//    in a process of its own (its request log must not count as this process's heap), at a 1 ms retry period
//    so 100 000 rounds take minutes, not days. Heap (after a full GC), RSS and open file descriptors are read
//    once the first fifth of the rounds is done (warm-up) and at the end.
// 2. `--failovers` leadership changes on the namespace rig: three `kvip start` processes that live
//    throughout; each failover partitions the leader at the fake until another node holds the VIP, then heals.
//    RSS and open fds of every kvip process are read after the first failover and at the end.
// Goal: growth under 5 %. Prints a table and a final JSON line.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createInterface } from 'node:readline';
import { Elector, KubeHttp, KubeLeaseStore, loadKubeConfig, systemClock } from '../src/election/index.js';
import type { LeaseRecord, LeaseStore } from '../src/election/index.js';
import { Rig } from '../test/e2e/rig.js';
import { round, table } from './stats.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const ROOT = new URL('..', import.meta.url).pathname;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (a: number, b: number) => round(((b - a) / a) * 100, 2);

function fds(pid: number | 'self' = 'self'): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

function rssMb(pid: number | 'self' = 'self'): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) / 1024;
}

interface Sample {
  heapMb: number;
  rssMb: number;
  fds: number;
}

function sample(): Sample {
  gc();
  return { heapMb: process.memoryUsage().heapUsed / 2 ** 20, rssMb: rssMb(), fds: fds() };
}

async function startFake(dir: string): Promise<() => void> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(ROOT, 'src/lease-api/main.ts'),
      '--clients',
      'soak',
      '--kubeconfig-dir',
      dir,
      '--bookmark-interval-ms',
      '60000',
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (l) => l.startsWith('listening') && resolve());
    child.once('exit', (code) => reject(new Error(`fake apiserver exited with ${code}`)));
  });
  return () => child.kill('SIGTERM');
}

async function renewals(rounds: number): Promise<{ start: Sample; end: Sample; rounds: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'kvip-soak-'));
  const stopFake = await startFake(dir);
  const http = new KubeHttp(loadKubeConfig({ inCluster: false, path: join(dir, 'soak.kubeconfig') }));
  const inner = new KubeLeaseStore(http, 'kube-system', 'plndr-cp-lock');
  let done = 0;
  let wake: (() => void) | undefined;
  const counting: LeaseStore = {
    description: inner.description,
    get: (s) => inner.get(s),
    create: (r, s) => inner.create(r, s),
    update: async (r: LeaseRecord, v: string, s: AbortSignal) => {
      const out = await inner.update(r, v, s);
      done++;
      if (done === warmup || done >= rounds) wake?.();
      return out;
    },
    watch: (from, h) => inner.watch(from, h),
  };
  // The first fifth settles the JIT, the allocator's arenas and the keep-alive socket; growth is measured
  // over the other four fifths.
  const warmup = Math.floor(rounds / 5);
  const reached = (n: number) =>
    new Promise<void>((r) => {
      wake = () => done >= n && r();
    });
  const elector = new Elector(
    { identity: 'soak', leaseDurationMs: 1000, renewDeadlineMs: 500, retryPeriodMs: 1, watch: true },
    {
      store: counting,
      clock: systemClock,
      callbacks: { onStartedLeading() {}, onStoppedLeading() {}, onNewLeader() {} },
    },
  );
  try {
    const warm = reached(warmup);
    elector.start();
    await warm;
    const start = sample();
    const end$ = reached(rounds);
    await end$;
    const end = sample();
    return { start, end, rounds: done };
  } finally {
    await elector.stop();
    http.close();
    stopFake();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function failovers(n: number): Promise<{ start: Sample; end: Sample; count: number }> {
  const rig = await Rig.create({ family: 4 });
  const lease = { ld: 1, rd: 0.5, rp: 0.2 };
  const total = (f: (pid: number) => number) =>
    rig.nodes.reduce((sum, node) => sum + f(rig.pidOf(node) as number), 0);
  try {
    for (const node of rig.nodes) rig.startKvip(node, lease);
    await rig.waitFor(() => rig.soleHolder() !== undefined, 10000, 'a first holder');
    let start: Sample | undefined;
    for (let i = 0; i < n; i++) {
      const old = rig.soleHolder() as string;
      await rig.control('POST', '/_fake/faults', { client: old, fault: { kind: 'partition' } });
      await rig.waitFor(() => ![undefined, old].includes(rig.soleHolder()), 10000, 'a new holder');
      await rig.control('DELETE', '/_fake/faults');
      await sleep(300);
      if (i === 0) start = { heapMb: NaN, rssMb: total(rssMb), fds: total(fds) };
    }
    return { start: start as Sample, end: { heapMb: NaN, rssMb: total(rssMb), fds: total(fds) }, count: n };
  } finally {
    await Promise.all(rig.nodes.map((node) => rig.stopKvip(node, 'SIGTERM')));
    await rig.destroy();
  }
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { rounds: { type: 'string', default: '100000' }, failovers: { type: 'string', default: '50' } },
  });
  const r = await renewals(Number(values.rounds));
  const f = Number(values.failovers) > 0 ? await failovers(Number(values.failovers)) : undefined;
  console.log(
    table(
      ['part', 'count', 'heap MB start→end', 'RSS MB start→end', 'fds start→end'],
      [
        [
          'elector renewals',
          r.rounds,
          `${round(r.start.heapMb, 2)} → ${round(r.end.heapMb, 2)}`,
          `${round(r.start.rssMb)} → ${round(r.end.rssMb)}`,
          `${r.start.fds} → ${r.end.fds}`,
        ],
        ...(f
          ? [
              [
                'rig failovers (3 kvip processes)',
                String(f.count),
                '—',
                `${round(f.start.rssMb)} → ${round(f.end.rssMb)}`,
                `${f.start.fds} → ${f.end.fds}`,
              ],
            ]
          : []),
      ],
    ),
  );
  const heap = pct(r.start.heapMb, r.end.heapMb);
  const rss = pct(r.start.rssMb, r.end.rssMb);
  const out = {
    bench: 'soak',
    rounds: r.rounds,
    failovers: f?.count ?? 0,
    heap_growth_pct: heap,
    rss_growth_pct: rss,
    fd_growth: r.end.fds - r.start.fds,
    rig_rss_growth_pct: f ? pct(f.start.rssMb, f.end.rssMb) : null,
    rig_fd_growth: f ? f.end.fds - f.start.fds : null,
    goals_met:
      heap < 5 &&
      rss < 5 &&
      r.end.fds <= r.start.fds &&
      (!f || (pct(f.start.rssMb, f.end.rssMb) < 5 && f.end.fds <= f.start.fds)),
  };
  console.log(JSON.stringify(out));
}
