// Host routes to Metal's BGP peers against an in-memory routing table that answers like the kernel: what is
// added (and logged), what is left alone, and the one ConfigError line with the exact commands when kvip
// may not (or cannot) add a route.
import { ConfigError } from '../../src/config/index.js';
import { ensurePeerRoutes, planPeerRoutes, privateIpv4 } from '../../src/packet/peer-routes.js';
import { recordingLogger } from './fake-http.js';
import { errno, metalHostRoutes, RouteTable } from './route-table.js';

const GW = '10.70.0.2';
const multihop = (address: string) => ({ address, ttl: 255 });
const METAL = [multihop('169.254.255.1'), multihop('169.254.255.2')];

async function configError(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  const line = (err as Error).message;
  expect(line).not.toContain('\n');
  return line;
}

test('adds <peer>/32 via the private gateway for each Metal peer the default route would take, and logs it', async () => {
  const table = new RouteTable(metalHostRoutes());
  const { log, entries } = recordingLogger();
  const plan = await ensurePeerRoutes(METAL, GW, table, log);
  expect(table.adds).toEqual([`169.254.255.1/32 via ${GW}`, `169.254.255.2/32 via ${GW}`]);
  expect(await table.lookup('169.254.255.2')).toEqual({ gateway: GW, ifname: 'bond0' });
  expect(plan).toEqual([
    { peer: '169.254.255.1', state: 'present', via: GW },
    { peer: '169.254.255.2', state: 'present', via: GW },
  ]);
  const info = entries.filter((e) => e.level === 'info');
  expect(info.map((e) => e.msg)).toEqual([
    expect.stringContaining(`added route 169.254.255.1/32 via ${GW}`),
    expect.stringContaining(`added route 169.254.255.2/32 via ${GW}`),
  ]);
  expect(info[0]).toMatchObject({ route: '169.254.255.1/32', gateway: GW });
});

test('a second run changes nothing: the routes go via the gateway already', async () => {
  const table = new RouteTable(metalHostRoutes());
  await ensurePeerRoutes(METAL, GW, table, recordingLogger().log);
  const again = await ensurePeerRoutes(METAL, GW, table, recordingLogger().log);
  expect(table.adds).toHaveLength(2);
  expect(again.map((r) => r.state)).toEqual(['present', 'present']);
});

test('no route at all (or ENETUNREACH from the lookup) is missing too; the same peer twice is routed once', async () => {
  const table = new RouteTable([]);
  const lookup = table.lookup.bind(table);
  let first = true;
  table.lookup = (a) => (first ? ((first = false), Promise.reject(errno('ENETUNREACH'))) : lookup(a));
  await ensurePeerRoutes([...METAL, multihop('169.254.255.1')], GW, table, recordingLogger().log);
  expect(table.adds).toEqual([`169.254.255.1/32 via ${GW}`, `169.254.255.2/32 via ${GW}`]);
});

test("a link-scope 169.254.0.0/16 route does not make a multihop peer connected; a direct peer's does", async () => {
  const table = new RouteTable([...metalHostRoutes(), { dst: '169.254.0.0/16', ifname: 'bond0' }]);
  const plan = await planPeerRoutes([multihop('169.254.255.1'), { address: '169.254.7.7' }], GW, table);
  expect(plan).toEqual([
    { peer: '169.254.255.1', state: 'missing' },
    { peer: '169.254.7.7', state: 'connected' },
  ]);
  await ensurePeerRoutes(
    [multihop('169.254.255.1'), { address: '169.254.7.7' }],
    GW,
    table,
    recordingLogger().log,
  );
  expect(table.adds).toEqual([`169.254.255.1/32 via ${GW}`]);
});

test('IPv6 peers and IPv4 peers outside 169.254.0.0/16 are left to the host', async () => {
  const table = new RouteTable(metalHostRoutes());
  const plan = await ensurePeerRoutes(
    [multihop('fc00::e'), multihop('fe80::1'), multihop('192.0.2.1'), { address: GW }],
    GW,
    table,
    recordingLogger().log,
  );
  expect(plan.map((r) => r.state)).toEqual(['unmanaged', 'unmanaged', 'unmanaged', 'unmanaged']);
  expect(table.adds).toEqual([]);
});

test('EPERM: one ConfigError line naming the exact commands for every peer, after trying each', async () => {
  const table = new RouteTable(metalHostRoutes());
  table.deny = true;
  const line = await configError(ensurePeerRoutes(METAL, GW, table, recordingLogger().log));
  expect(line).toContain('EPERM');
  expect(line).toContain('CAP_NET_ADMIN');
  expect(line).toContain(
    `ip route add 169.254.255.1/32 via ${GW} && ip route add 169.254.255.2/32 via ${GW}`,
  );
  expect(table.adds).toHaveLength(2);
});

test('any other add failure: the errno and the command', async () => {
  const table = new RouteTable(metalHostRoutes());
  table.add = () => Promise.reject(errno('ENETDOWN'));
  const line = await configError(ensurePeerRoutes(METAL.slice(0, 1), GW, table, recordingLogger().log));
  expect(line).toMatch(/failed \(ENETDOWN\).*run: ip route add 169\.254\.255\.1\/32 via 10\.70\.0\.2$/);
});

test('EEXIST because the same route appeared meanwhile is success; a /32 via another gateway is not', async () => {
  const raced = new RouteTable(metalHostRoutes());
  raced.beforeAdd = (dst) => raced.routes.push({ dst, gateway: GW, ifname: 'bond0' });
  const plan = await ensurePeerRoutes(METAL.slice(0, 1), GW, raced, recordingLogger().log);
  expect(plan).toEqual([{ peer: '169.254.255.1', state: 'present', via: GW }]);

  const other = new RouteTable([
    ...metalHostRoutes(),
    { dst: '169.254.255.1/32', gateway: '147.28.0.2', ifname: 'bond0' },
  ]);
  const line = await configError(ensurePeerRoutes(METAL.slice(0, 1), GW, other, recordingLogger().log));
  expect(line).toContain('a route to 169.254.255.1/32 exists via 147.28.0.2');
  expect(line).toContain(`run: ip route replace 169.254.255.1/32 via ${GW}`);
});

test('a gateway that is not IPv4 is refused before anything is added', async () => {
  const table = new RouteTable(metalHostRoutes());
  await configError(ensurePeerRoutes(METAL, 'fe80::1', table, recordingLogger().log));
  expect(table.adds).toEqual([]);
});

test("privateIpv4: the metadata's private IPv4 entry (public=false, family 4) and its gateway", () => {
  const addresses = [
    { address: '147.28.0.3', address_family: 4 as const, public: true, gateway: '147.28.0.2' },
    { address: '2604:1380::3', address_family: 6 as const, public: true, gateway: '2604:1380::2' },
    { address: '10.70.0.3', address_family: 4 as const, public: false, gateway: GW },
  ];
  expect(privateIpv4(addresses)).toEqual({ address: '10.70.0.3', gateway: GW });
  expect(privateIpv4(addresses.slice(0, 2))).toBeUndefined();
  expect(privateIpv4(undefined)).toBeUndefined();
});
