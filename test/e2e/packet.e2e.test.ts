// Packet (Equinix Metal) Elastic IP mode end to end: three real `kvip start --packet` nodes, the Metal fake,
// and a router whose route for the EIP follows the fake's assignment. Checked by what the world sees: the
// assignment in the fake, the route at the router, the addresses on lo, the client's replies, the Lease in
// the API server, and the fake's request log (who called what, from which node).
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeNetns } from '../helpers/netns.js';
import { parseExposition, sampleValue } from '../helpers/prom.js';
import { MetalRig, type MetalRequest } from './metal-rig.js';

const LEASE = { ld: 3, rd: 2, rp: 0.5 };
const BOUND_MS = 20000; // functional deadline only; bench/ measures the times
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeNetns('Packet EIP mode (netns, three nodes, Metal fake, router)', () => {
  let m: MetalRig;
  const procs = new Map<string, ChildProcess>();

  const running = (n: string) => {
    const p = procs.get(n);
    return p !== undefined && p.exitCode === null && p.signalCode === null;
  };
  const start = (n: string, extra: string[] = []) => procs.set(n, m.startKvip(n, LEASE, extra));
  const exited = (n: string) =>
    new Promise<number | null>((resolve) => {
      const p = procs.get(n);
      if (!p || p.exitCode !== null || p.signalCode !== null) resolve(p?.exitCode ?? null);
      else p.once('exit', (code) => resolve(code));
    });

  /** Everyone up; then the one leader in the Lease, the fake assigning the EIP to it and the router routing there. */
  async function settled(): Promise<string> {
    for (const n of m.rig.nodes) if (!running(n)) start(n);
    let leader = '';
    const end = Date.now() + BOUND_MS;
    for (;;) {
      leader = await m.rig.leaseHolder();
      if (leader !== '' && (await m.holder()) === leader && m.rig.routeVia() === m.rig.nodeAddress(leader))
        break;
      if (Date.now() > end)
        throw new Error(
          `not settled: lease ${leader}, EIP on ${await m.holder()}, route ${m.rig.routeVia()}`,
        );
      await sleep(50);
    }
    return leader;
  }

  async function waitLeaderOtherThan(old: string): Promise<string> {
    const end = Date.now() + BOUND_MS + LEASE.ld * 1000;
    for (;;) {
      const l = await m.rig.leaseHolder();
      if (l !== '' && l !== old && (await m.holder()) === l) return l;
      if (Date.now() > end)
        throw new Error(`no new leader holding the EIP (lease ${l}, EIP on ${await m.holder()})`);
      await sleep(50);
    }
  }

  const changingFrom = (reqs: MetalRequest[], node: string) =>
    MetalRig.changing(reqs).filter((r) => m.nodeOfSource(r.source) === node);

  beforeAll(async () => {
    m = await MetalRig.create();
    await m.rig.startProbe();
  }, 90000);

  afterAll(async () => {
    for (const n of m?.rig.nodes ?? []) m.rig.resume(n);
    await Promise.all((m?.rig.nodes ?? []).map((n) => m.rig.stopKvip(n, 'SIGKILL')));
    await m?.destroy();
  });

  afterEach(async () => {
    for (const n of m.rig.nodes) m.rig.resume(n);
    await m.clearFaults();
  });

  it('binds the EIP to lo on every node; the leader gets the assignment; the client is answered through the router', async () => {
    const leader = await settled();
    // lo on every node, leader or not (the last one started may still be starting)
    await m.rig.waitFor(
      () => m.rig.holders().length === m.rig.nodes.length,
      BOUND_MS,
      'the EIP on lo everywhere',
    );
    const since = Date.now();
    await m.rig.waitFor(
      () =>
        m.rig.probeEvents.some(
          (e) => e.type === 'tick' && e.t > since && e.node === leader && (e.lastReply ?? 0) > since,
        ),
      BOUND_MS,
      `the client answered by ${leader}`,
    );
    // Its metrics count the Metal API requests it made, by kvip's name for the call and the status.
    const e = parseExposition((await m.rig.httpGet(leader, '/metrics')).body);
    expect(sampleValue(e, 'kvip_build_info', { mode: 'packet-eip' })).toBe(1);
    expect(
      sampleValue(e, 'kvip_metal_api_requests_total', { operation: 'findProjectIps', status: '200' }),
    ).toBeGreaterThanOrEqual(1);
    expect(sampleValue(e, 'kvip_vip_held')).toBe(1);
  });

  it('a crashed leader: the next leader moves the assignment with one unassign and one assign, never deleting the reservation', async () => {
    const old = await settled();
    await sleep(4000); // past the followers' refresh after the new leader (3 s): their view is fresh
    const mark = (await m.requests()).length;
    await m.rig.stopKvip(old, 'SIGKILL');
    const next = await waitLeaderOtherThan(old);
    expect(m.rig.routeVia()).toBe(m.rig.nodeAddress(next));
    const calls = changingFrom(await m.requests(mark), next);
    expect(calls.map((c) => c.method)).toEqual(['DELETE', 'POST']);
    expect(calls[0]?.path).not.toContain(m.reservationId);
    expect(await m.reservationExists()).toBe(true);
    await m.rig.waitFor(
      () => m.rig.probeEvents.some((e) => e.type === 'switch' && e.to === next),
      BOUND_MS,
      `the client answered by ${next}`,
    );
  });

  it('a graceful stop (SIGTERM): exit 0, the lease is released, the next leader holds the EIP', async () => {
    const old = await settled();
    await sleep(4000);
    const code = m.rig.stopKvip(old, 'SIGTERM');
    expect(await code).toBe(0);
    const next = await waitLeaderOtherThan(old);
    expect(next).not.toBe(old);
    expect(await m.reservationExists()).toBe(true);
  });

  it('an old leader paused past its lease and resumed never moves the EIP back', async () => {
    const old = await settled();
    await sleep(4000);
    m.rig.pause(old);
    const next = await waitLeaderOtherThan(old);
    await sleep(Math.max(0, LEASE.ld * 1000 + 1000));
    const mark = (await m.requests()).length;
    m.rig.resume(old);
    await sleep(3000);
    expect(changingFrom(await m.requests(mark), old)).toEqual([]);
    expect(await m.holder()).toBe(next);
    expect(await m.rig.leaseHolder()).toBe(next);
    expect(m.rig.routeVia()).toBe(m.rig.nodeAddress(next));
  });

  it('after a fault storm on the Metal API (429, 5xx, resets, latency) the EIP ends on the current leader', async () => {
    const old = await settled();
    await m.setFaults({
      latencyMs: { ms: 200 },
      status429: {
        count: 3,
        retryAfter: 1,
        rateLimit: { limit: 100, remaining: 0, reset: Math.ceil(Date.now() / 1000) + 1 },
      },
      status5xx: { count: 3, status: 503 },
      nonJson502: { count: 2 },
      reset: { count: 2 },
    });
    await m.rig.stopKvip(old, 'SIGKILL');
    await sleep(5000);
    await m.clearFaults();
    const next = await waitLeaderOtherThan(old);
    expect(m.rig.routeVia()).toBe(m.rig.nodeAddress(next));
    expect(await m.reservationExists()).toBe(true);
  });

  it('bad input: one line naming what is wrong, exit 2, and no call that changes anything', async () => {
    for (const n of m.rig.nodes) await m.rig.stopKvip(n, 'SIGTERM');
    const n = 'n3';
    const empty = join(m.rig.dir, 'empty-token');
    writeFileSync(empty, '\n');
    const wrong = join(m.rig.dir, 'wrong-token');
    writeFileSync(wrong, 'not-the-token\n');
    const cases: { args: string[]; says: RegExp }[] = [
      { args: ['--packetKeyFile', wrong], says: /token.*401|401.*token/ },
      { args: ['--packetKeyFile', empty], says: /--packetKeyFile .*empty/ },
      { args: ['--packetKeyFile', join(m.rig.dir, 'no-such-file')], says: /--packetKeyFile .*ENOENT/ },
      { args: ['--packetProject', 'nope'], says: /--packetProject "nope"/ },
      { args: ['--vip', '203.0.113.101'], says: /--vip 203\.0\.113\.101 is not an Elastic IP/ },
      { args: ['--vip', '203.0.113.105'], says: /--vip 203\.0\.113\.105.*\/30/ },
      { args: ['--vip', '203.0.113.110'], says: /metro ny/ },
      { args: ['--packetMetadataURL', `http://${m.rig.apiAddress}:9/metadata`], says: /--packetDeviceID/ },
      { args: ['--arp'], says: /--arp/ },
    ];
    const mark = (await m.requests()).length;
    const bound = m.rig.holders();
    for (const c of cases) {
      start(n, c.args);
      expect({ args: c.args, code: await exited(n) }).toEqual({ args: c.args, code: 2 });
      const lines = m.rig.kvipLog(n).trim().split('\n');
      const last = lines[lines.length - 1] ?? '';
      expect(last).toMatch(/^kvip: /);
      expect({ args: c.args, last }).toEqual({ args: c.args, last: expect.stringMatching(c.says) });
    }
    expect(MetalRig.changing(await m.requests(mark))).toEqual([]);
    expect(m.rig.holders()).toEqual(bound); // nothing bound to lo either
  });

  it('the token never appears in any output of kvip', () => {
    for (const n of m.rig.nodes) for (const text of m.rig.kvipLogs(n)) expect(text).not.toContain(m.token);
    expect(m.rig.kvipLogs('n1').join('').length).toBeGreaterThan(0);
  });
});
