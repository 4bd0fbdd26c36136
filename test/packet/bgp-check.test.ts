// `kvip check --bgp --packet`: the BGP rows (BGP on the project, this server's neighbours, the routes to
// Metal's peers) against the Metal fake; only GETs, so no session is ever created by a check.
import { run } from '../../src/cli/main.js';
import { checkPacket, type CheckRow } from '../../src/packet/check.js';
import { recordingLogger } from './fake-http.js';
import { expectNoSecrets, GW, TOKEN, useBgpRig, V4 } from './bgp-harness.js';
import { metalHostRoutes, RouteTable } from './route-table.js';

const rig = useBgpRig();

beforeEach(() => {
  rig.fake.addReservation(rig.project.id, { address: '203.0.113.100', cidr: 32, metro: 'da' });
});

const row = (rows: CheckRow[], check: string) => rows.find((r) => r.check === check);

test('all there: BGP enabled, the neighbours, the routes via the private gateway; only GETs', async () => {
  rig.fake.setBgpConfig(rig.project.id, { asn: 65000 });
  rig.fake.setBgpNeighbors(rig.self.id, [V4]);
  const routes = new RouteTable([
    ...metalHostRoutes(),
    { dst: '169.254.255.1/32', gateway: GW, ifname: 'bond0' },
    { dst: '169.254.255.2/32', gateway: GW, ifname: 'bond0' },
  ]);
  const rows = await checkPacket(rig.config(), recordingLogger().log, { routes });
  expect(rows.filter((r) => !r.ok)).toEqual([]);
  expect(row(rows, 'BGP on the project')?.detail).toBe('enabled');
  expect(row(rows, 'BGP neighbours')?.detail).toBe('169.254.255.1, 169.254.255.2 (AS 65530, multihop, MD5)');
  expect(row(rows, 'routes to the BGP peers')?.detail).toBe(`169.254.255.1, 169.254.255.2 via ${GW}`);
  expect(row(rows, 'assigned to')?.detail).toBe('nobody (the leader announces it by BGP)');
  expect(rig.writes()).toEqual([]);
  expectNoSecrets(rows.map((r) => r.detail));
});

test('no session yet: fine when BGP is enabled (start creates it), and nothing is created', async () => {
  rig.fake.setBgpConfig(rig.project.id, { asn: 65000 });
  const rows = await checkPacket(rig.config(), recordingLogger().log);
  expect(row(rows, 'BGP neighbours')).toEqual({
    check: 'BGP neighbours',
    ok: true,
    detail: "none yet: kvip creates this server's ipv4 session when it starts",
  });
  expect(row(rows, 'routes to the BGP peers')).toBeUndefined(); // no RoutePort given
  expect(rig.writes()).toEqual([]);
});

test('missing routes: the commands, still ✓ (start adds them); bad neighbour data: ✗ with why', async () => {
  rig.fake.setBgpConfig(rig.project.id, { asn: 65000 });
  rig.fake.setBgpNeighbors(rig.self.id, [V4]);
  const routes = new RouteTable(metalHostRoutes());
  const rows = await checkPacket(rig.config(), recordingLogger().log, { routes });
  expect(row(rows, 'routes to the BGP peers')?.detail).toBe(
    `missing: kvip adds them when it starts (it needs CAP_NET_ADMIN), or run: ip route add 169.254.255.1/32 via ${GW} && ip route add 169.254.255.2/32 via ${GW}`,
  );
  expect(routes.adds).toEqual([]);

  rig.fake.setBgpNeighbors(rig.self.id, [{ ...V4, customer_as: 0 }]);
  const bad = await checkPacket(rig.config(), recordingLogger().log, { routes });
  expect(row(bad, 'BGP neighbours')).toMatchObject({
    ok: false,
    detail: expect.stringMatching(/customer_as 0/),
  });
  expect(row(bad, 'routes to the BGP peers')).toBeUndefined();
  expectNoSecrets(bad.map((r) => r.detail));
});

test('through the CLI: BGP not enabled is ✗ naming the setting, exit 2', async () => {
  let out = '';
  const code = await run(
    [
      ...'check --bgp --packet --vip 203.0.113.100 --packetProject vipTest'.split(' '),
      ...['--packetAPIURL', rig.fake.apiUrl, '--packetMetadataURL', rig.fake.metadataUrl],
    ],
    { out: (t) => (out += t), err: () => {}, env: { PACKET_AUTH_TOKEN: TOKEN } },
  );
  expect(code).toBe(2);
  expect(out).toMatch(/^✗ BGP on the project +BGP is not enabled for project vipTest .*bgp-configs/m);
  expect(out).toMatch(/^✗ BGP neighbours +none yet$/m);
  expect(out).not.toContain(TOKEN);
  expect(rig.writes()).toEqual([]);
});
