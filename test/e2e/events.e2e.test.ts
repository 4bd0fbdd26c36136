// Kubernetes Events end to end: three nodes in network namespaces run the built `kvip start` (ARP mode, each
// told its Pod by the downward API's variables) against the fake kube-apiserver; after a SIGTERM failover the
// fake holds the Events each node posted.
import type { CoreEvent } from '../../src/lease-api/server.js';
import { describeNetns } from '../helpers/netns.js';
import { Rig } from './rig.js';

const FAST = { ld: 1, rd: 0.5, rp: 0.2 };
const BOUND_MS = 10000; // functional deadline only
/** A hang guard above each case's own bounded waits (a few of BOUND_MS), not jest's 30 s. */
const CASE_TIMEOUT_MS = 6 * BOUND_MS;
const NS = 'kube-system';

const podEnv = (node: string) => ({ POD_NAME: `kvip-${node}`, POD_NAMESPACE: NS, POD_UID: `uid-${node}` });

async function events(rig: Rig): Promise<CoreEvent[]> {
  const r = await rig.control('GET', `/_fake/events?namespace=${NS}`);
  if (r.status !== 200) throw new Error(`GET /_fake/events: ${r.status} ${r.body}`);
  return JSON.parse(r.body) as CoreEvent[];
}

describeNetns('Kubernetes Events, ARP mode, three nodes', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await Rig.create({ family: 4 });
  }, 60000);
  afterAll(async () => {
    await rig?.destroy();
  });
  afterEach(async () => {
    await rig.control('DELETE', '/_fake/faults');
    await Promise.all(rig.nodes.map((n) => rig.stopKvip(n, 'SIGTERM')));
  });

  it(
    'SIGTERM failover: the old leader posted StartedLeading and, before it exited, StoppedLeading; the new leader StartedLeading',
    async () => {
      for (const n of rig.nodes) rig.startKvip(n, FAST, [], podEnv(n));
      await rig.waitFor(() => rig.soleHolder() !== undefined, BOUND_MS, 'one VIP holder');
      const leader = rig.soleHolder() as string;
      const started = (node: string) =>
        `${node} became leader of lease kube-system/plndr-cp-lock and is taking the virtual IP ${rig.vip}`;
      const stopped = `${leader} stopped leading lease kube-system/plndr-cp-lock (shutdown) and is dropping the virtual IP ${rig.vip}`;
      const beforeStop = await events(rig);
      expect(await rig.stopKvip(leader, 'SIGTERM')).toBe(0);
      // Read once the process is gone: what it posted on the way out is there already. (On a loaded machine a
      // 1 s lease may change hands before; repeats are counted on one Event, so look for them, not a sequence.)
      const atExit = await events(rig);
      const own = atExit.filter((e) => e.source.host === leader);
      const startedEvent = own.find((e) => e.reason === 'StartedLeading' && e.message === started(leader));
      const stoppedEvent = own.find((e) => e.reason === 'StoppedLeading' && e.message === stopped);
      expect(startedEvent).toMatchObject({ type: 'Normal', action: 'Lead' });
      expect(stoppedEvent).toMatchObject({ type: 'Normal', action: 'Lead' });
      for (const e of [startedEvent!, stoppedEvent!]) {
        expect(e.involvedObject).toEqual({
          apiVersion: 'v1',
          kind: 'Pod',
          namespace: NS,
          name: `kvip-${leader}`,
          uid: `uid-${leader}`,
        });
        expect(e).toMatchObject({
          reportingComponent: 'kvip',
          reportingInstance: leader,
          source: { component: 'kvip' },
        });
      }

      await rig.waitFor(() => ![undefined, leader].includes(rig.soleHolder()), BOUND_MS, 'a new holder');
      const next = rig.soleHolder() as string;
      // How often `next` has reported StartedLeading (a repeat counts on the same Event); it may have done so
      // for this failover already while the old leader was still exiting.
      const startedCount = (all: CoreEvent[]) =>
        all
          .filter(
            (e) => e.source.host === next && e.reason === 'StartedLeading' && e.message === started(next),
          )
          .reduce((n, e) => n + (e.count ?? 0), 0);
      const before = startedCount(beforeStop);
      let all = atExit;
      const end = Date.now() + BOUND_MS;
      while (startedCount(all) === before && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 50));
        all = await events(rig);
      }
      expect(startedCount(all)).toBeGreaterThan(before);
      expect(all.find((e) => e.source.host === next && e.reason === 'StartedLeading')).toMatchObject({
        type: 'Normal',
        involvedObject: { kind: 'Pod', name: `kvip-${next}` },
      });
      // The API server refused none of them (validation, RBAC), and no queue overflowed.
      for (const n of rig.nodes)
        for (const log of rig.kvipLogs(n))
          expect(log).not.toMatch(/refused a Kubernetes Event|forbids "\w+" on events|Events queue full/);
    },
    CASE_TIMEOUT_MS,
  );

  it(
    'an Events endpoint that never answers the leader: SIGTERM still hands over and exits 0, saying what it did not post',
    async () => {
      const earlier = new Set((await events(rig)).map((e) => e.metadata.name));
      for (const n of rig.nodes) rig.startKvip(n, FAST, [], podEnv(n));
      await rig.waitFor(() => rig.soleHolder() !== undefined, BOUND_MS, 'one VIP holder');
      const leader = rig.soleHolder() as string;
      const fault = { client: leader, fault: { kind: 'hang' }, resources: ['events'] };
      expect((await rig.control('POST', '/_fake/faults', fault)).status).toBe(204);
      expect(await rig.stopKvip(leader, 'SIGTERM')).toBe(0);
      await rig.waitFor(() => ![undefined, leader].includes(rig.soleHolder()), BOUND_MS, 'a new holder');
      const log = rig.kvipLog(leader);
      expect(log).toContain('released the lease');
      // At least its StoppedLeading (and its StartedLeading, unless posted before the fault) never got out.
      expect(log).toMatch(/shutdown: \d+ Kubernetes Event\(s\) not posted within 1000 ms/);
      const since = (await events(rig)).filter((e) => !earlier.has(e.metadata.name));
      expect(since.filter((e) => e.source.host === leader && e.reason === 'StoppedLeading')).toEqual([]);
    },
    CASE_TIMEOUT_MS,
  );
});
