// Election benchmark: three candidates against the fake kube-apiserver over HTTP on loopback.
// Measures takeover after a graceful release and after a crash (leader cut off mid-lease), with the watch
// and with client-go's polling for comparison, and the request rate of leader and followers.
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { Elector, KubeHttp, KubeLeaseStore, parseKubeConfig, systemClock } from '../src/election/index.js';
import { startFakeApiServer, type FakeApiServer } from '../src/lease-api/server.js';
import { round, summary, table } from './stats.js';

interface LeaseTiming {
  label: string;
  ld: number;
  rd: number;
  rp: number;
}

const LEASES: LeaseTiming[] = [
  { label: '5/3/1', ld: 5000, rd: 3000, rp: 1000 },
  { label: '1/0.5/0.2', ld: 1000, rd: 500, rp: 200 },
];
const IDS = ['c0', 'c1', 'c2'];
const NS = 'kube-system';
const LEASE = 'plndr-cp-lock';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) return false;
    await sleep(1);
  }
  return true;
}

class Candidate {
  elector!: Elector;
  leading = false;
  startedAt = 0;
  dead = false;
  private http: KubeHttp | undefined;

  constructor(
    readonly id: string,
    private readonly server: FakeApiServer,
    private readonly timing: LeaseTiming,
    private readonly watch: boolean,
  ) {
    this.boot();
  }

  boot(): void {
    this.http?.close();
    this.http = new KubeHttp(parseKubeConfig(this.server.kubeconfig(this.id)));
    this.dead = false;
    this.leading = false;
    const elector = new Elector(
      {
        identity: this.id,
        leaseDurationMs: this.timing.ld,
        renewDeadlineMs: this.timing.rd,
        retryPeriodMs: this.timing.rp,
        watch: this.watch,
      },
      {
        store: new KubeLeaseStore(this.http, NS, LEASE),
        clock: systemClock,
        callbacks: {
          onStartedLeading: () => {
            if (elector !== this.elector || this.dead) return;
            this.leading = true;
            this.startedAt = performance.now();
          },
          onStoppedLeading: () => {
            if (elector === this.elector) this.leading = false;
          },
          onNewLeader: () => undefined,
        },
      },
    );
    this.elector = elector;
    elector.start();
  }

  close(): void {
    this.http?.close();
  }
}

async function withCluster<T>(
  timing: LeaseTiming,
  watch: boolean,
  fn: (c: Candidate[], s: FakeApiServer) => Promise<T>,
): Promise<T> {
  const tokens = Object.fromEntries(IDS.map((id) => [`token-${id}`, id]));
  const server = await startFakeApiServer({ tokens, bookmarkIntervalMs: 60000 });
  const candidates = IDS.map((id) => new Candidate(id, server, timing, watch));
  try {
    if (!(await until(() => candidates.filter((c) => c.leading).length === 1, 4 * timing.ld)))
      throw new Error('no leader elected');
    return await fn(candidates, server);
  } finally {
    server.clearFaults();
    await Promise.all(candidates.map((c) => c.elector.stop()));
    candidates.forEach((c) => c.close());
    await server.close();
  }
}

const leaderOf = (cs: Candidate[]) => cs.find((c) => c.leading && !c.dead);

/** stop() on the leader (it releases the lease) -> another candidate starts leading. */
async function graceful(timing: LeaseTiming, watch: boolean, trials: number): Promise<number[]> {
  return withCluster(timing, watch, async (cs) => {
    const out: number[] = [];
    for (let i = 0; i < trials; i++) {
      await sleep(Math.random() * timing.rp + timing.rp);
      const old = leaderOf(cs);
      if (!old) throw new Error('no leader');
      const t0 = performance.now();
      void old.elector.stop();
      if (!(await until(() => cs.some((c) => c !== old && c.leading), 4 * timing.ld)))
        throw new Error('no takeover');
      out.push(cs.find((c) => c !== old && c.leading)!.startedAt - t0);
      await sleep(timing.rd);
      old.boot(); // the kubelet restarts it
      await sleep(2 * timing.rp);
    }
    return out;
  });
}

/** The leader is cut off (every request hangs, its watch dies) -> time past LD from its last renewal. */
async function crash(timing: LeaseTiming, watch: boolean, trials: number): Promise<number[]> {
  return withCluster(timing, watch, async (cs, server) => {
    const out: number[] = [];
    for (let i = 0; i < trials; i++) {
      await sleep(Math.random() * timing.rp + timing.rp);
      const old = leaderOf(cs);
      if (!old) throw new Error('no leader');
      old.dead = true;
      server.setFault(old.id, { kind: 'partition' });
      if (!(await until(() => cs.some((c) => c !== old && c.leading), 4 * timing.ld)))
        throw new Error('no takeover');
      const lastRenewal = server.requests
        .filter((r) => r.client === old.id && r.verb === 'update' && r.status === 200)
        .at(-1)!.at;
      out.push(cs.find((c) => c !== old && c.leading)!.startedAt - lastRenewal - timing.ld);
      await old.elector.stop();
      server.setFault(old.id, null);
      old.boot();
      await sleep(2 * timing.rp);
    }
    return out;
  });
}

async function rates(
  timing: LeaseTiming,
  watch: boolean,
  windowMs: number,
): Promise<{ leader: number; follower: number }> {
  return withCluster(timing, watch, async (cs, server) => {
    await sleep(2 * timing.rp);
    const from = performance.now();
    await sleep(windowMs);
    const to = performance.now();
    const leader = leaderOf(cs)!;
    const count = (id: string) =>
      server.requests.filter((r) => r.client === id && r.at >= from && r.at < to).length;
    const followers = cs.filter((c) => c !== leader);
    const seconds = (to - from) / 1000;
    return {
      leader: count(leader.id) / seconds,
      follower: followers.reduce((s, c) => s + count(c.id), 0) / followers.length / seconds,
    };
  });
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { trials: { type: 'string', default: '20' } } });
  const trials = Number(values.trials);
  const result: Record<string, string | number> = { bench: 'election', trials };
  for (const timing of LEASES) {
    const rows: (string | number)[][] = [];
    const window = Math.max(10 * timing.rp, 5000);
    for (const watch of [true, false]) {
      const mode = watch ? 'watch' : 'poll';
      const g = summary(await graceful(timing, watch, trials));
      const c = summary(await crash(timing, watch, Math.max(3, Math.round(trials / 2))));
      const r = await rates(timing, watch, window);
      rows.push([mode, 'graceful takeover (ms)', String(g.n), g.p50, g.p95, g.max]);
      rows.push([mode, 'crash takeover beyond LD (ms)', String(c.n), c.p50, c.p95, c.max]);
      rows.push([mode, 'leader requests/s', '1', r.leader, r.leader, r.leader]);
      rows.push([mode, 'follower requests/s', '2', r.follower, r.follower, r.follower]);
      const prefix = timing.label === '5/3/1' ? '' : 'fast_';
      const suffix = watch ? '' : '_poll';
      result[`${prefix}graceful_takeover_p95_ms${suffix}`] = round(g.p95);
      result[`${prefix}crash_takeover_after_lease_p95_ms${suffix}`] = round(c.p95);
      result[`${prefix}leader_rps${suffix}`] = round(r.leader, 2);
      result[`${prefix}follower_rps${suffix}`] = round(r.follower, 2);
    }
    console.log(
      `\nelection, lease ${timing.label} s (LD/RD/RP), 3 candidates, fake kube-apiserver over HTTP on loopback`,
    );
    console.log(table(['mode', 'measure', 'n', 'p50', 'p95', 'max'], rows));
  }
  const goals = {
    graceful_p95_le_50ms: Number(result.graceful_takeover_p95_ms) <= 50,
    crash_beyond_lease_p95_le_100ms: Number(result.crash_takeover_after_lease_p95_ms) <= 100,
    leader_rps_about_1_per_rp: Math.abs(Number(result.leader_rps) - 1) <= 0.2,
    follower_rps_about_0: Number(result.follower_rps) <= 0.05,
  };
  console.log(
    `\ngoals (5/3/1, watch): ${Object.entries(goals)
      .map(([k, v]) => `${k}=${v ? 'met' : 'MISSED'}`)
      .join(' ')}`,
  );
  console.log(JSON.stringify({ ...result, goals_met: Object.values(goals).every(Boolean) }));
}
