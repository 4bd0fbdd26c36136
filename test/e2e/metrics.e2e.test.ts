// Metrics and health end to end: three nodes in network namespaces run the built `kvip start` (ARP mode)
// against the fake kube-apiserver, and each node's /metrics, /healthz and /readyz are read from inside its
// namespace, as Prometheus and the kubelet on that node would. Two failovers: the leader stops (SIGTERM: it
// releases the lease), then the next one is cut off from the network (it keeps running, and shows the
// other side of a failover, and its health check failing).
import { describeNetns } from '../helpers/netns.js';
import { parseExposition, sampleValue, type Exposition } from '../helpers/prom.js';
import { Rig } from './rig.js';

const FAST = { ld: 1, rd: 0.5, rp: 0.2 };
const BOUND_MS = 10000; // functional deadlines only
const START_MS = 30000; // three processes starting on a loaded 2-core machine

describeNetns('metrics and health, ARP mode, three nodes', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await Rig.create({ family: 4 });
  }, 60000);
  afterAll(async () => {
    await rig?.destroy();
  });

  const scrape = async (node: string): Promise<Exposition> => {
    const r = await rig.httpGet(node, '/metrics');
    expect(r.status).toBe(200);
    return parseExposition(r.body);
  };
  const value = async (node: string, name: string, labels: Record<string, string> = {}) =>
    sampleValue(await scrape(node), name, labels);

  /** Scrapes `node` until `cond` holds (bounded); returns that scrape. */
  async function scrapeUntil(
    node: string,
    what: string,
    cond: (e: Exposition) => boolean,
  ): Promise<Exposition> {
    const end = Date.now() + BOUND_MS;
    for (;;) {
      const e = await scrape(node);
      if (cond(e)) return e;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what} on ${node}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async function soleHolderOtherThan(...not: string[]): Promise<string> {
    const bound = not.length === 0 ? START_MS : BOUND_MS;
    await rig.waitFor(
      () => {
        const h = rig.soleHolder();
        return h !== undefined && !not.includes(h);
      },
      bound,
      `one VIP holder other than ${not.join(', ') || 'none'}`,
    );
    return rig.soleHolder() as string;
  }

  it('reports leadership, the VIP, announcements, renewals and failovers as they happen', async () => {
    for (const n of rig.nodes) rig.startKvip(n, FAST);
    const first = await soleHolderOtherThan();
    for (const n of rig.nodes) {
      const end = Date.now() + START_MS;
      while ((await rig.httpGet(n, '/readyz')).status !== 200) {
        if (Date.now() > end) throw new Error(`${n} never became ready`);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(await rig.httpGet(n, '/healthz')).toEqual({ status: 200, body: 'ok\n' });
      expect(await rig.httpGet(n, '/readyz')).toEqual({ status: 200, body: 'ok\n' });
    }

    let e = await scrapeUntil(
      first,
      'a renewal',
      (x) => (sampleValue(x, 'kvip_lease_renew_duration_seconds_count') ?? 0) > 0,
    );
    expect(e.types.get('kvip_lease_renew_duration_seconds')).toBe('histogram');
    expect(sampleValue(e, 'kvip_leader')).toBe(1);
    expect(sampleValue(e, 'kvip_vip_held')).toBe(1);
    expect(sampleValue(e, 'kvip_leader_transitions_total', { direction: 'started' })).toBe(1);
    expect(sampleValue(e, 'kvip_gratuitous_announcements_total', { family: 'ipv4' })).toBeGreaterThan(0);
    expect(sampleValue(e, 'kvip_build_info', { mode: 'arp' })).toBe(1);
    expect(e.types.get('process_cpu_user_seconds_total')).toBe('counter');
    for (const n of rig.nodes.filter((x) => x !== first)) {
      const f = await scrape(n);
      expect(sampleValue(f, 'kvip_leader')).toBe(0);
      expect(sampleValue(f, 'kvip_vip_held')).toBe(0);
      expect(sampleValue(f, 'kvip_gratuitous_announcements_total', { family: 'ipv4' })).toBe(0);
      expect(sampleValue(f, 'kvip_lease_renew_duration_seconds_count')).toBe(0);
      expect(sampleValue(f, 'kvip_leader_transitions_total', { direction: 'started' })).toBeUndefined();
    }

    // 1. The leader stops: it releases the lease, and another node takes over from the release.
    expect(await rig.stopKvip(first, 'SIGTERM')).toBe(0);
    const second = await soleHolderOtherThan(first);
    e = await scrapeUntil(
      second,
      'the VIP held and a renewal',
      (x) =>
        sampleValue(x, 'kvip_vip_held') === 1 &&
        (sampleValue(x, 'kvip_lease_renew_duration_seconds_count') ?? 0) > 0,
    );
    expect(sampleValue(e, 'kvip_leader')).toBe(1);
    expect(sampleValue(e, 'kvip_leader_transitions_total', { direction: 'started' })).toBe(1);
    expect(sampleValue(e, 'kvip_last_failover_seconds')).toBeGreaterThan(0);
    expect(sampleValue(e, 'kvip_gratuitous_announcements_total', { family: 'ipv4' })).toBeGreaterThan(0);

    // 2. The new leader is cut off: it drops the VIP at its renew deadline, the third node takes over once
    // the lease has expired in its view, so its failover lasted at least a lease duration.
    rig.linkDown(second);
    const third = await soleHolderOtherThan(first, second);
    e = await scrapeUntil(third, 'the VIP held', (x) => sampleValue(x, 'kvip_vip_held') === 1);
    expect(sampleValue(e, 'kvip_leader')).toBe(1);
    expect(sampleValue(e, 'kvip_leader_transitions_total', { direction: 'started' })).toBe(1);
    expect(sampleValue(e, 'kvip_last_failover_seconds')).toBeGreaterThanOrEqual(FAST.ld);
    expect(sampleValue(e, 'kvip_gratuitous_announcements_total', { family: 'ipv4' })).toBeGreaterThan(0);

    // The old leader still runs, on its own: it says it no longer leads nor holds the VIP.
    const old = await scrapeUntil(second, 'the VIP dropped', (x) => sampleValue(x, 'kvip_vip_held') === 0);
    expect(sampleValue(old, 'kvip_leader')).toBe(0);
    expect(sampleValue(old, 'kvip_leader_transitions_total', { direction: 'started' })).toBe(1);
    expect(sampleValue(old, 'kvip_leader_transitions_total', { direction: 'stopped' })).toBe(1);
    // Its health check (its own API server, behind the cut link) fails: not ready, and it says why; but
    // cut off from the API server is no reason to restart it, so it stays alive.
    const end = Date.now() + BOUND_MS;
    let ready = await rig.httpGet(second, '/readyz');
    while (ready.status !== 503) {
      if (Date.now() > end) throw new Error(`${second} stayed ready: ${ready.body}`);
      await new Promise((r) => setTimeout(r, 100));
      ready = await rig.httpGet(second, '/readyz');
    }
    expect(ready.body).toMatch(/^the health check fails: the health check of .* is failing: .+\n$/);
    expect(await rig.httpGet(second, '/healthz')).toEqual({ status: 200, body: 'ok\n' });
    const gated = await scrape(second);
    expect(sampleValue(gated, 'kvip_health_check_up')).toBe(0);
    expect(sampleValue(gated, 'kvip_health_check_failures_total')).toBe(1);
    // The others' checks pass all along.
    expect(await value(third, 'kvip_health_check_up')).toBe(1);
    expect(await value(third, 'kvip_health_check_failures_total')).toBe(0);
    expect(rig.dualHolderMs()).toBe(0);

    rig.linkUp(second);
    await Promise.all(rig.nodes.map((n) => rig.stopKvip(n, 'SIGTERM')));
  }, 90000);
});
