// BGP mode end to end: three real `kvip start --bgp` nodes with leader election, and a router namespace
// running BIRD 2 or FRR that installs what it learns into its kernel, between the nodes and a client that
// probes the VIP (FRR with TCP MD5 on every session). Checked by what the world sees: the paths the daemon has learned and from whom, the route
// in the router's kernel, the client's replies, the Lease in the API server, the addresses on lo.
import type { ChildProcess } from 'node:child_process';
import { describeNetns } from '../helpers/netns.js';
import { BgpRig } from './bgp-rig.js';

const LEASE = { ld: 3, rd: 2, rp: 0.5 };
const BOUND_MS = 20000; // functional deadline only; bench/ measures the times

describe.each(['bird', 'frr'] as const)('BGP mode with %s', (kind) => {
  describeNetns(`BGP mode (netns, three nodes, ${kind} router)`, () => {
    let b: BgpRig;
    const procs = new Map<string, ChildProcess>();
    const running = (n: string) => {
      const p = procs.get(n);
      return p !== undefined && p.exitCode === null && p.signalCode === null;
    };
    const start = (n: string) => procs.set(n, b.startKvip(n, LEASE));

    /** Everyone up; the one leader in the Lease is the one path the router has, and its kernel route. */
    async function settled(): Promise<string> {
      for (const n of b.rig.nodes) if (!running(n)) start(n);
      return b.settled(BOUND_MS);
    }

    const movedFrom = (old: string, ms = BOUND_MS) => b.movedFrom(old, ms);

    beforeAll(async () => {
      // FRR's sessions carry TCP MD5, BIRD's do not.
      b = await BgpRig.create({
        router: kind,
        holdTime: 3,
        ...(kind === 'frr' ? { password: 'frr-rig-md5' } : {}),
      });
      await b.rig.startProbe();
    }, 90000);

    afterAll(async () => {
      await Promise.all((b?.rig.nodes ?? []).map((n) => b.rig.stopKvip(n, 'SIGKILL')));
      await b?.destroy();
    });

    it('sessions up on every node, the VIP on lo everywhere, the route only from the leader, the client answered by it', async () => {
      const leader = await settled();
      await b.rig.waitFor(
        () => b.rig.holders().length === b.rig.nodes.length,
        BOUND_MS,
        'the VIP on lo everywhere',
      );
      const since = Date.now();
      await b.rig.waitFor(
        () => b.rig.probeEvents.some((e) => e.type === 'tick' && e.t > since && e.node === leader),
        BOUND_MS,
        `the client answered by ${leader}`,
      );
    });

    it('SIGTERM: the withdraw is written before the lease is released; the route moves to the next leader', async () => {
      const old = await settled();
      const code = b.rig.stopKvip(old, 'SIGTERM');
      expect(await code).toBe(0);
      const log = b.rig.kvipLog(old);
      const withdrawn = log.indexOf('BGP withdraw written to 1 of 1 established session(s)');
      const released = log.indexOf('released the lease');
      expect(withdrawn).toBeGreaterThan(0);
      expect(released).toBeGreaterThan(withdrawn);
      const next = await movedFrom(old);
      expect(next).not.toBe(old);
      await b.rig.waitFor(() => b.kernelHolder() === next, BOUND_MS, 'the kernel route to the next leader');
    });

    it('SIGKILL: the kernel closes the session, the router drops the path, the next leader announces', async () => {
      const old = await settled();
      await b.rig.stopKvip(old, 'SIGKILL');
      const next = await movedFrom(old, BOUND_MS + LEASE.ld * 1000);
      await b.rig.waitFor(
        () => b.rig.probeEvents.some((e) => e.type === 'switch' && e.to === next),
        BOUND_MS,
        `the client answered by ${next}`,
      );
    });

    it('a node cut off (link down, no FIN): the router drops its path at the hold timer; the next leader announces', async () => {
      const old = await settled();
      b.rig.linkDown(old);
      try {
        const next = await movedFrom(old, BOUND_MS + (LEASE.ld + b.holdTime) * 1000);
        await b.rig.waitFor(() => b.kernelHolder() === next, BOUND_MS, 'the kernel route to the next leader');
      } finally {
        b.rig.linkUp(old);
      }
      // the cut-off node lost its lease and its session: back on the link it announces nothing
      await settled();
    });

    it('the route comes back after the router daemon restarts', async () => {
      const leader = await settled();
      await b.router.restart();
      expect(await settled()).toBe(leader);
    });
  });
});
