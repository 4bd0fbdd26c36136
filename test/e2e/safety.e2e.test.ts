// Safety end to end, checked by what the world sees: frames on the client's wire (tcpdump), the VIP on the
// nodes' interfaces (`ip addr`, `ip monitor`) and the Lease in the API server.
// - A leader paused past its lease and resumed sends no gratuitous ARP once another node has taken over,
//   and removes its VIP at once.
// - A leader that cannot remove its VIP on SIGTERM (rtnetlink refuses, through an LD_PRELOAD fault injector)
//   keeps the lease instead of releasing it, exits 1, and its next start removes the stale VIP.
// - A leader whose own API server answers slowly (0.6 x RenewDeadline) gives way to a node whose API server
//   is fast, and that node keeps the VIP and the Lease.
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeNetns } from '../helpers/netns.js';
import { ROOT, Rig } from './rig.js';

const REF = { ld: 5, rd: 3, rp: 1 };
const FAST = { ld: 1, rd: 0.5, rp: 0.2 };
const BOUND_MS = 15000; // functional deadline only; the benchmarks measure the times

interface Garp {
  t: number;
  mac: string;
}

/** Gratuitous ARP requests for `vip` (sender IP = target IP = VIP) in `tcpdump -e -n -tt` output. */
function garps(lines: string[], vip: string): Garp[] {
  const out: Garp[] = [];
  for (const line of lines) {
    const m = /^(\d+\.\d+) ([0-9a-f:]{17}) > .*Request who-has (\S+)(?: \([^)]*\))? tell (\S+),/.exec(line);
    if (m && m[3] === vip && m[4] === vip) out.push({ t: Number(m[1]) * 1000, mac: m[2] as string });
  }
  return out;
}

async function leaderOf(rig: Rig): Promise<string> {
  await rig.waitFor(() => rig.soleHolder() !== undefined, BOUND_MS, 'one VIP holder');
  return rig.soleHolder() as string;
}

describeNetns('safety (netns, three nodes)', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await Rig.create({ family: 4 });
  }, 60000);
  afterAll(async () => {
    await rig?.destroy();
  });
  afterEach(async () => {
    for (const n of rig.nodes) rig.resume(n);
    await rig.control('DELETE', '/_fake/faults');
    await Promise.all(rig.nodes.map((n) => rig.stopKvip(n, 'SIGTERM')));
    await rig.waitFor(() => rig.holders().length === 0, BOUND_MS, 'no holder after stopping every node');
  });

  it('a leader paused past its lease sends no gratuitous ARP after the new holder, and drops the VIP on resume', async () => {
    const capture = await rig.capture('cl', 'arp');
    try {
      for (const n of rig.nodes) rig.startKvip(n, REF);
      const old = await leaderOf(rig);
      const oldMac = rig.mac(old);
      rig.pause(old);
      const pausedAt = Date.now();
      // While paused the old node's kernel keeps the address: the new holder is the one that is not `old`.
      await rig.waitFor(
        () => rig.holders().some((n) => n !== old),
        REF.ld * 1000 + BOUND_MS,
        'another node takes the VIP',
      );
      const next = rig.holders().find((n) => n !== old) as string;
      // Stay paused past the arpRate, so repeats and burst timers are all overdue on resume.
      await new Promise((r) => setTimeout(r, Math.max(0, pausedAt + REF.ld * 1000 + 3500 - Date.now())));
      const resumedAt = Date.now();
      rig.resume(old);
      await rig.waitFor(() => !rig.holders().includes(old), BOUND_MS, 'the old holder drops the VIP');
      await rig.waitFor(
        () => rig.vipEvents.some((e) => e.node === old && e.op === 'del' && e.t >= resumedAt - 5),
        BOUND_MS,
        'the delete event',
      );
      // Give any late frame from the old holder time to show up on the wire.
      await new Promise((r) => setTimeout(r, 4000));
      const frames = garps(await capture.stop(), rig.vip);
      const nextMac = rig.mac(next);
      const firstOfNext = frames.find((f) => f.mac === nextMac);
      expect(firstOfNext).toBeDefined();
      const lateFromOld = frames.filter((f) => f.mac === oldMac && f.t >= (firstOfNext as Garp).t);
      expect(lateFromOld).toEqual([]);
      const removed = rig.vipEvents.find((e) => e.node === old && e.op === 'del' && e.t >= resumedAt - 5);
      // Within one retry period of SIGCONT (plus the time `ip monitor` and the scheduler take).
      expect((removed?.t ?? Infinity) - resumedAt).toBeLessThan(REF.rp * 1000 + 500);
      expect(rig.holders()).toEqual([next]);
      expect(await rig.leaseHolder()).toBe(next);
    } finally {
      await capture.stop().catch(() => undefined);
    }
  }, 60000);

  it('a leader whose API server answers in 0.6 x RenewDeadline gives way to a faster node, which keeps the VIP', async () => {
    for (const n of rig.nodes) rig.startKvip(n, FAST);
    const slow = await leaderOf(rig);
    const delayed = Date.now();
    await rig.control('POST', '/_fake/faults', {
      client: slow,
      fault: { kind: 'delay', ms: 0.6 * FAST.rd * 1000 },
    });
    await rig.waitFor(
      () => ![undefined, slow].includes(rig.soleHolder()),
      (FAST.ld + FAST.rd) * 1000 + 1000,
      'another node holding the VIP within LD + RD + 1 s',
    );
    const holder = rig.soleHolder() as string;
    // It keeps it: the same sole holder, named by the Lease, over several lease durations.
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setTimeout(r, FAST.ld * 300));
      expect(rig.holders()).toEqual([holder]);
      expect(await rig.leaseHolder()).toBe(holder);
    }
    expect(rig.dualHolderMs(delayed)).toBe(0);
  }, 60000);

  it('a leader that cannot remove its VIP on SIGTERM does not release the lease, exits 1, and cleans up on restart', async () => {
    const shim = join(rig.dir, 'fail-deladdr.so');
    execFileSync('cc', [
      '-shared',
      '-fPIC',
      '-o',
      shim,
      join(ROOT, 'test/e2e/fixtures/fail-deladdr.c'),
      '-ldl',
    ]);
    const flag = (node: string) => join(rig.dir, `${node}.fail-deladdr`);
    const env = (node: string) => ({ LD_PRELOAD: shim, KVIP_TEST_FAIL_DELADDR: flag(node) });
    for (const n of rig.nodes) rig.startKvip(n, REF, [], env(n));
    const leader = await leaderOf(rig);
    writeFileSync(flag(leader), '');
    try {
      const code = await rig.stopKvip(leader, 'SIGTERM');
      expect(code).toBe(1);
      // The VIP is still on the old leader, and the Lease still names it: nobody was told to take over.
      expect(rig.holders()).toContain(leader);
      expect(await rig.leaseHolder()).toBe(leader);
      expect(rig.kvipLog(leader)).toMatch(/not releasing the lease/);
    } finally {
      rmSync(flag(leader), { force: true });
    }
    const restartedAt = Date.now();
    rig.startKvip(leader, REF);
    await rig.waitFor(
      () => rig.vipEvents.some((e) => e.node === leader && e.op === 'del' && e.t >= restartedAt - 5),
      BOUND_MS,
      'the restarted kvip to remove the stale VIP',
    );
    await rig.waitFor(
      () => /removed a stale virtual IP left by an earlier run/.test(rig.kvipLog(leader)),
      BOUND_MS,
      'the log line saying so',
    );
    await rig.waitFor(() => rig.soleHolder() !== undefined, REF.ld * 1000 + BOUND_MS, 'one holder again');
  }, 60000);
});
