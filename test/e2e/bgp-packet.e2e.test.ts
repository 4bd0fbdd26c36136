// `--bgp --packet` end to end: three real kvip nodes take their BGP neighbours from the Metal fake (each
// device's session created by kvip, the neighbours filled in by the fake once it exists), and BIRD on the
// router learns the VIP from the leader only, with the MD5 password Metal handed out. Checked by the paths at
// the router, its kernel route, the fake's request log, and the secrets missing from every log.
import type { ChildProcess } from 'node:child_process';
import { describeNetns } from '../helpers/netns.js';
import { BgpRig } from './bgp-rig.js';
import { MetalRig } from './metal-rig.js';

const LEASE = { ld: 3, rd: 2, rp: 0.5 };
const BOUND_MS = 20000;
const CUSTOMER_AS = 65000;
const METAL_AS = 65530;
const MD5 = 'metal-md5-sentinel-5b1f';

describeNetns('BGP mode with --packet (netns, three nodes, Metal fake neighbours, BIRD)', () => {
  let m: MetalRig;
  let b: BgpRig;
  const procs = new Map<string, ChildProcess>();

  const neighbour = (node: string) => ({
    address_family: 4,
    customer_as: CUSTOMER_AS,
    customer_ip: m.rig.nodeAddress(node),
    md5_enabled: true,
    md5_password: MD5,
    multihop: false,
    peer_as: METAL_AS,
    peer_ips: ['198.51.100.1'],
    routes_in: [{ route: `${m.rig.vip}/32`, exact: true }],
    routes_out: [],
  });

  beforeAll(async () => {
    m = await MetalRig.create();
    b = await BgpRig.attach(m.rig, {
      router: 'bird',
      holdTime: 3,
      password: MD5,
      routerAs: METAL_AS,
      nodeAs: CUSTOMER_AS,
    });
    await m.control('POST', '/_fake/bgp-config', {
      projectId: m.projectId,
      config: { asn: CUSTOMER_AS, deployment_type: 'local', status: 'enabled', md5: MD5 },
    });
    for (const n of m.rig.nodes)
      await m.control('POST', '/_fake/bgp-neighbors', {
        deviceId: m.devices.get(n),
        neighbors: [neighbour(n)],
        onSession: true,
      });
  }, 90000);

  afterAll(async () => {
    await Promise.all((m?.rig.nodes ?? []).map((n) => m.rig.stopKvip(n, 'SIGKILL')));
    await b?.destroy();
    await m?.destroy();
  });

  it('each node creates its session, takes its neighbours from Metal; only the leader is routed to', async () => {
    for (const n of m.rig.nodes) procs.set(n, m.startKvip(n, LEASE, ['--bgp', '--holdTime', '3']));
    await b.settled(BOUND_MS);
    const creates = (await m.requests()).filter(
      (r) => r.method === 'POST' && /\/bgp\/sessions$/.test(r.path),
    );
    expect(creates.map((r) => m.nodeOfSource(r.source)).sort()).toEqual([...m.rig.nodes].sort());
    expect(MetalRig.changing(await m.requests()).filter((r) => !/\/bgp\/sessions$/.test(r.path))).toEqual([]);
  });

  it('the leader stops: the next one is routed to, with no Metal call', async () => {
    const old = await m.rig.leaseHolder();
    const mark = (await m.requests()).length;
    expect(await m.rig.stopKvip(old, 'SIGTERM')).toBe(0);
    await b.movedFrom(old, BOUND_MS);
    expect(await m.requests(mark)).toEqual([]);
  });

  it('BGP not enabled for the project: one line naming it, exit 2, no session created', async () => {
    for (const n of m.rig.nodes) await m.rig.stopKvip(n, 'SIGTERM');
    await m.control('POST', '/_fake/bgp-config', { projectId: m.projectId, config: null });
    await m.control('POST', '/_fake/bgp-neighbors', { deviceId: m.devices.get('n3'), neighbors: [] });
    const mark = (await m.requests()).length;
    const p = m.startKvip('n3', LEASE, ['--bgp']);
    const code = await new Promise<number | null>((r) => p.once('exit', (c) => r(c)));
    expect(code).toBe(2);
    const lines = m.rig.kvipLog('n3').trim().split('\n');
    expect(lines[lines.length - 1]).toMatch(/^kvip: BGP is not enabled for project vipTest/);
    expect(MetalRig.changing(await m.requests(mark))).toEqual([]);
  });

  it('neither the Metal token nor the MD5 password appears in any output of kvip', () => {
    for (const n of m.rig.nodes)
      for (const text of m.rig.kvipLogs(n)) {
        expect(text).not.toContain(m.token);
        expect(text).not.toContain(MD5);
      }
    expect(m.rig.kvipLogs('n1').join('').length).toBeGreaterThan(0);
  });
});
