// ARP mode end to end: three nodes in network namespaces each run the built `kvip start`, against the fake
// kube-apiserver; a client probes the VIP every 2 ms and `ip monitor` records every VIP add/delete.
import { describeNetns } from '../helpers/netns.js';
import { Rig, type ProbeEvent } from './rig.js';
import { messages } from './modes.js';

const FAST = { ld: 1, rd: 0.5, rp: 0.2 };
const BOUND_MS = 10000; // functional deadline only; the failover benchmark measures the times

function answered(rig: Rig, after: number, by?: string): ProbeEvent | undefined {
  return rig.probeEvents.find(
    (e) =>
      (e.type === 'tick' || e.type === 'switch' || e.type === 'first') &&
      e.t > after &&
      (by === undefined || (e.type === 'switch' ? e.to === by : e.node === by)) &&
      (e.type !== 'tick' || (e.lastReply ?? 0) > after),
  );
}

async function leaderOf(rig: Rig): Promise<string> {
  await rig.waitFor(() => rig.soleHolder() !== undefined, BOUND_MS, 'one VIP holder');
  return rig.soleHolder() as string;
}

const lines = messages;

describeNetns('ARP mode, IPv4, three nodes', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await Rig.create({ family: 4 });
    await rig.startProbe();
  }, 60000);
  afterAll(async () => {
    await rig?.destroy();
  });
  let testStart = 0;
  beforeEach(async () => {
    testStart = Date.now();
    for (const n of rig.nodes) rig.startKvip(n, FAST);
    await rig.waitFor(() => rig.holders().length === 1, BOUND_MS, 'a first leader');
  });
  afterEach(async () => {
    await rig.control('DELETE', '/_fake/faults');
    for (const n of rig.nodes) rig.linkUp(n);
    await Promise.all(rig.nodes.map((n) => rig.stopKvip(n, 'SIGTERM')));
    await rig.waitFor(() => rig.holders().length === 0, BOUND_MS, 'no holder after stopping every node');
  });

  it('holds the VIP on exactly one node, and the client reaches that node', async () => {
    const leader = await leaderOf(rig);
    const since = Date.now();
    await rig.waitFor(
      () => answered(rig, since, leader) !== undefined,
      BOUND_MS,
      `the client answered by ${leader}`,
    );
    expect(rig.holders()).toEqual([leader]);
    expect(rig.dualHolderMs(testStart)).toBe(0);
    expect(lines(rig, leader)).toEqual(
      expect.arrayContaining([
        'successfully acquired lease',
        'this node is leader and is adopting the virtual IP',
        expect.stringMatching(/^Broadcasting gratuitous ARP for 198\.51\.100\.100/),
      ]),
    );
  });

  it('SIGTERM: drops the VIP, releases the lease, exits 0; another node answers', async () => {
    const leader = await leaderOf(rig);
    const t0 = Date.now();
    expect(await rig.stopKvip(leader, 'SIGTERM')).toBe(0);
    await rig.waitFor(() => ![undefined, leader].includes(rig.soleHolder()), BOUND_MS, 'a new holder');
    const next = rig.holders()[0] as string;
    await rig.waitFor(
      () => answered(rig, t0, next) !== undefined,
      BOUND_MS,
      `the client answered by ${next}`,
    );
    const log = lines(rig, leader);
    expect(log.indexOf('removed the virtual IP')).toBeGreaterThan(-1);
    expect(log.indexOf('released the lease')).toBeGreaterThan(log.indexOf('removed the virtual IP'));
    expect(rig.dualHolderMs(testStart)).toBe(0);
  });

  it('a dead leader host (SIGKILL and link cut): another node takes over; on restart the old one removes its stale VIP', async () => {
    const leader = await leaderOf(rig);
    const t0 = Date.now();
    await rig.stopKvip(leader, 'SIGKILL');
    rig.linkDown(leader);
    const live = rig.nodes.filter((n) => n !== leader);
    await rig.waitFor(
      () => live.some((n) => rig.holders().includes(n)),
      BOUND_MS,
      'a live node to take the VIP',
    );
    const next = live.find((n) => rig.holders().includes(n)) as string;
    await rig.waitFor(
      () => answered(rig, t0, next) !== undefined,
      BOUND_MS,
      `the client answered by ${next}`,
    );
    expect(rig.holders().sort()).toEqual([leader, next].sort()); // the dead host still has it
    expect(rig.dualHolderMs(t0, new Map([[leader, t0]]))).toBe(0);
    // The kubelet restarts the pod once the host is back.
    rig.linkUp(leader);
    rig.startKvip(leader, FAST);
    await rig.waitFor(() => !rig.holders().includes(leader), BOUND_MS, 'the stale VIP removed');
    expect(lines(rig, leader)).toContain('removed a stale virtual IP left by an earlier run');
    expect(rig.holders()).toEqual([next]);
  });

  it('SIGKILL of kvip alone, restarted at once: the stale VIP is removed before anything else', async () => {
    const leader = await leaderOf(rig);
    await rig.stopKvip(leader, 'SIGKILL');
    expect(rig.holders()).toEqual([leader]);
    const restartedAt = Date.now();
    rig.startKvip(leader, FAST);
    await rig.waitFor(
      () => rig.vipEvents.some((e) => e.node === leader && e.op === 'del' && e.t >= restartedAt - 5),
      BOUND_MS,
      'the restarted kvip to remove the stale VIP',
    );
    // The log line is written a moment after the address is gone: wait for it, then check it came first.
    await rig.waitFor(
      () => lines(rig, leader).some((l) => /virtual IP/.test(l)),
      BOUND_MS,
      'a log line about the virtual IP',
    );
    const log = lines(rig, leader);
    const firstVipLine = log.findIndex((l) => /virtual IP/.test(l));
    expect(log[firstVipLine]).toBe('removed a stale virtual IP left by an earlier run');
    // Until the restarted process runs, the killed one's VIP is stale (as with keepalived after SIGKILL); with
    // a 1 s lease another node may take over meanwhile. Afterwards exactly one node holds it.
    await rig.waitFor(() => rig.soleHolder() !== undefined, BOUND_MS, 'one holder again');
  });

  it('repairs drift: a VIP deleted by hand is back within a reconcile period', async () => {
    const leader = await leaderOf(rig);
    rig.deleteVip(leader);
    await rig.waitFor(() => rig.holders().includes(leader), BOUND_MS, 'the VIP back on the leader');
    expect(lines(rig, leader)).toContain('the virtual IP was missing; added it back');
  });

  it('a leader cut off from the API server drops the VIP by RD + RP, before another node takes it', async () => {
    const leader = await leaderOf(rig);
    const t0 = Date.now();
    await rig.control('POST', '/_fake/faults', { client: leader, fault: { kind: 'partition' } });
    await rig.waitFor(() => ![undefined, leader].includes(rig.soleHolder()), BOUND_MS, 'a new holder');
    // `ip monitor` events arrive a moment after `ip addr` shows the change: wait for them.
    const after = (node: (n: string) => boolean, op: 'add' | 'del') =>
      rig.vipEvents.find((e) => node(e.node) && e.op === op && e.t >= t0 - 5);
    await rig.waitFor(() => after((n) => n !== leader, 'add') !== undefined, BOUND_MS, 'the add event');
    const dropped = after((n) => n === leader, 'del');
    const taken = after((n) => n !== leader, 'add');
    expect(dropped).toBeDefined();
    expect(taken).toBeDefined();
    expect(dropped!.t).toBeLessThan(taken!.t);
    expect(rig.dualHolderMs(testStart)).toBe(0);
  });
});

describeNetns('ARP mode, IPv6, three nodes', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await Rig.create({ family: 6 });
    await rig.startProbe();
  }, 60000);
  afterAll(async () => {
    await rig?.destroy();
  });

  it('holds an IPv6 VIP on one node (unsolicited NA) and hands it over on SIGTERM', async () => {
    for (const n of rig.nodes) rig.startKvip(n, FAST);
    const leader = await leaderOf(rig);
    const since = Date.now();
    await rig.waitFor(
      () => answered(rig, since, leader) !== undefined,
      BOUND_MS,
      `the client answered by ${leader}`,
    );
    expect(lines(rig, leader)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^Broadcasting unsolicited neighbour advertisement for 2001:db8::100/),
      ]),
    );
    const t0 = Date.now();
    expect(await rig.stopKvip(leader, 'SIGTERM')).toBe(0);
    await rig.waitFor(() => ![undefined, leader].includes(rig.soleHolder()), BOUND_MS, 'a new holder');
    const next = rig.holders()[0] as string;
    await rig.waitFor(
      () => answered(rig, t0, next) !== undefined,
      BOUND_MS,
      `the client answered by ${next}`,
    );
    expect(rig.dualHolderMs()).toBe(0);
    await Promise.all(rig.nodes.map((n) => rig.stopKvip(n, 'SIGTERM')));
  });
});
