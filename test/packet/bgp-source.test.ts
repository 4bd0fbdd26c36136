// `--bgp --packet` start-up against the Metal fake: the speaker's configuration from the device's BGP
// neighbours (all of them, every peer_ip), the session created when there is none and the neighbours read
// again until Metal fills them in (bounded), the metadata service as the source without a token, the host
// routes to the peers, and every bad input as one ConfigError line that carries no secret.
import { ConfigError } from '../../src/config/index.js';
import { speakerFromNeighbors } from '../../src/packet/bgp-source.js';
import { preparePacketBgp, type PacketBgpDeps } from '../../src/packet/bgp-setup.js';
import { api } from '../fakes/metal-clients.js';
import { recordingLogger } from './fake-http.js';
import { expectNoSecrets, GW, MD5, TOKEN, useBgpRig, V4, V6 } from './bgp-harness.js';
import { metalHostRoutes, RouteTable } from './route-table.js';

const rig = useBgpRig();
/** Short waits for Metal to fill in the neighbours: the count of reads is what the tests look at. */
const fast: PacketBgpDeps = { wait: { reads: 3, minDelayMs: 1, maxDelayMs: 2 } };

function peer(address: string, over: Record<string, unknown> = {}) {
  return {
    address,
    port: 179,
    peerAs: 65530,
    localAddress: '10.70.0.3',
    password: MD5,
    ttl: 255,
    holdTimeS: 30,
    keepaliveS: 10,
    ...over,
  };
}

async function sessions(): Promise<string[]> {
  const res = await api(rig.fake, 'GET', `/devices/${rig.self.id}/bgp/sessions`, undefined, { token: TOKEN });
  return (res.body.bgp_sessions as Array<{ address_family: string }>).map((s) => s.address_family);
}

/** The ConfigError `p` rejects with: one line, no secret in it or in the logs. */
async function configError(p: Promise<unknown>, lines: string[]): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as Error).message).not.toContain('\n');
  expectNoSecrets(lines, err);
  return (err as Error).message;
}

test('neighbours listed: a peer for every peer_ip, customer_* and peer_as, MD5, multihop; routes added; only GETs', async () => {
  rig.fake.setBgpNeighbors(rig.self.id, [V4, V6]);
  const routes = new RouteTable(metalHostRoutes());
  const { log, lines } = recordingLogger();
  const s = await preparePacketBgp(rig.config(), log, { ...fast, routes });
  expect(s.speaker).toEqual({
    localAs: 65000,
    routerId: '10.70.0.3',
    peers: [peer('169.254.255.1'), peer('169.254.255.2')],
  });
  expect(s).toMatchObject({ source: 'api', deviceId: rig.self.id, gateway: GW });
  expect(routes.adds).toEqual([`169.254.255.1/32 via ${GW}`, `169.254.255.2/32 via ${GW}`]);
  expect(rig.writes()).toEqual([]);
  expect(lines.join('\n')).toContain('peers 169.254.255.1 (AS 65530), 169.254.255.2 (AS 65530)');
  expectNoSecrets(lines);
});

test('hold time and keepalive are config values; no MD5 leaves the password unset; a direct eBGP peer gets TTL 1', async () => {
  rig.fake.setBgpNeighbors(rig.self.id, [
    { ...V4, md5_enabled: false, md5_password: 'unused', multihop: false, peer_ips: [GW] },
  ]);
  const s = await preparePacketBgp(
    rig.config({ holdTime: '90', keepaliveInterval: '30' }),
    recordingLogger().log,
  );
  expect(s.speaker.peers).toEqual([
    {
      address: GW,
      port: 179,
      peerAs: 65530,
      localAddress: '10.70.0.3',
      ttl: 1,
      holdTimeS: 90,
      keepaliveS: 30,
    },
  ]);
  expect(s.gateway).toBeUndefined(); // the gateway itself needs no route
});

test('no neighbours: BGP enabled, so the ipv4 session is created once and the neighbours read until filled in', async () => {
  rig.fake.setBgpConfig(rig.project.id, { asn: 65000, status: 'enabled' });
  rig.fake.setBgpSessionNeighbors(rig.self.id, [V4, V6], 2);
  const { log, entries } = recordingLogger();
  const s = await preparePacketBgp(rig.config(), log, fast);
  expect(s.speaker.peers.map((p) => p.address)).toEqual(['169.254.255.1', '169.254.255.2']);
  expect(rig.writes()).toEqual([`POST /metal/v1/devices/${rig.self.id}/bgp/sessions`]);
  expect(await sessions()).toEqual(['ipv4']);
  // The read before the session, two while Metal fills them in, the one that has them.
  expect(rig.neighborReads()).toBe(4);
  expect(entries.map((e) => e.msg)).toContainEqual(
    expect.stringMatching(/^created this server's ipv4 BGP session/),
  );
});

test('a session that exists already (422 "already has session") counts as created', async () => {
  rig.fake.setBgpConfig(rig.project.id, { asn: 65000 });
  await api(
    rig.fake,
    'POST',
    `/devices/${rig.self.id}/bgp/sessions`,
    { address_family: 'ipv4' },
    { token: TOKEN },
  );
  rig.fake.setBgpSessionNeighbors(rig.self.id, [V4], 1);
  const { log, entries } = recordingLogger();
  const s = await preparePacketBgp(rig.config(), log, fast);
  expect(s.speaker.peers).toHaveLength(2);
  expect(entries.map((e) => e.msg)).toContainEqual(expect.stringMatching(/ipv4 BGP session exists/));
});

test('Metal never fills them in: a ConfigError after the bounded number of reads', async () => {
  rig.fake.setBgpConfig(rig.project.id, { asn: 65000 });
  const { log, lines } = recordingLogger();
  const line = await configError(preparePacketBgp(rig.config(), log, fast), lines);
  expect(line).toMatch(/no ipv4 BGP neighbours for this server \(.*\) after 3 reads/);
  expect(rig.neighborReads()).toBe(4);
});

test.each([
  [null, /^BGP is not enabled for project vipTest \(.*\): enable it .*POST \/projects\/.*\/bgp-configs/],
  [{ asn: 65000, status: 'disabled' as const }, /^BGP is disabled for project vipTest .*bgp-configs/],
  [
    { asn: 4200000000, status: 'requested' as const, deployment_type: 'global' as const },
    /requested but not enabled yet/,
  ],
])('BGP config %j: no session is created, the line names the setting', async (cfg, says) => {
  rig.fake.setBgpConfig(rig.project.id, cfg);
  const { log, lines } = recordingLogger();
  expect(await configError(preparePacketBgp(rig.config(), log, fast), lines)).toMatch(says);
  expect(rig.writes()).toEqual([]);
});

describe('an IPv6 VIP', () => {
  const vip = '2604:1380:4111:2700::100';

  test('creates the ipv6 session; peers are the IPv6 ones; router id from the private IPv4 in metadata', async () => {
    rig.fake.setBgpConfig(rig.project.id, { asn: 65000 });
    rig.fake.setBgpSessionNeighbors(rig.self.id, [V4, V6]);
    const routes = new RouteTable(metalHostRoutes());
    const s = await preparePacketBgp(rig.config({ vip }), recordingLogger().log, { ...fast, routes });
    expect(await sessions()).toEqual(['ipv6']);
    expect(s.speaker).toEqual({
      localAs: 65000,
      routerId: '10.70.0.3',
      peers: ['fc00::e', 'fc00::f'].map((a) => peer(a, { localAddress: V6.customer_ip })),
    });
    expect(routes.adds).toEqual([]); // IPv6 peers are not routed by kvip
    expect(s.gateway).toBeUndefined();
  });

  test("router id: the IPv4 neighbour's customer_ip over metadata; --bgpRouterID over both", async () => {
    rig.fake.setBgpNeighbors(rig.self.id, [{ ...V4, customer_ip: '10.70.0.9' }, V6]);
    const log = recordingLogger().log;
    expect((await preparePacketBgp(rig.config({ vip }), log)).speaker.routerId).toBe('10.70.0.9');
    const flagged = await preparePacketBgp(rig.config({ vip, bgpRouterID: '192.0.2.9' }), log);
    expect(flagged.speaker.routerId).toBe('192.0.2.9');
  });

  test('no IPv4 anywhere: a ConfigError asking for --bgpRouterID', async () => {
    const bare = rig.fake.addDevice(rig.project.id, { hostname: 'bare', metro: 'da' });
    rig.fake.setBgpNeighbors(bare.id, [V6]);
    const { log, lines } = recordingLogger();
    const p = preparePacketBgp(rig.config({ vip, packetDeviceID: bare.id }), log);
    expect(await configError(p, lines)).toMatch(/^--bgpRouterID is needed/);
  });

  test('only IPv4 neighbours, and the ipv6 session never gets any: the line says so', async () => {
    rig.fake.setBgpConfig(rig.project.id, { asn: 65000 });
    rig.fake.setBgpNeighbors(rig.self.id, [V4]);
    const { log, lines } = recordingLogger();
    const line = await configError(preparePacketBgp(rig.config({ vip }), log, fast), lines);
    expect(line).toContain('no ipv6 BGP neighbours');
    expect(line).toContain('only IPv4 ones, but the VIP is IPv6');
  });
});

test("the metadata service does not answer: the peers' gateway comes from the device's ip_addresses", async () => {
  rig.fake.setBgpNeighbors(rig.self.id, [V4]);
  const routes = new RouteTable(metalHostRoutes());
  const config = rig.config({
    packetDeviceID: rig.self.id,
    packetMetadataURL: 'http://127.0.0.1:9/metadata',
  });
  const s = await preparePacketBgp(config, recordingLogger().log, { routes });
  expect(s.gateway).toBe(GW);
  expect(routes.adds).toEqual([`169.254.255.1/32 via ${GW}`, `169.254.255.2/32 via ${GW}`]);
});

test('kvip may not add routes: one ConfigError line with the exact commands', async () => {
  rig.fake.setBgpNeighbors(rig.self.id, [V4]);
  const routes = new RouteTable(metalHostRoutes());
  routes.deny = true;
  const { log, lines } = recordingLogger();
  const line = await configError(preparePacketBgp(rig.config(), log, { routes }), lines);
  expect(line).toContain(
    `run: ip route add 169.254.255.1/32 via ${GW} && ip route add 169.254.255.2/32 via ${GW}`,
  );
});

describe('without a token: the metadata service', () => {
  const noToken = () => ({ ...rig.config(), packetKey: '', packetKeyFile: '' });

  test('its bgp_neighbors, and no API call at all', async () => {
    rig.fake.setBgpNeighbors(rig.self.id, [V4]);
    const s = await preparePacketBgp(noToken(), recordingLogger().log, {
      routes: new RouteTable(metalHostRoutes()),
    });
    expect(s).toMatchObject({ source: 'metadata', deviceId: rig.self.id, gateway: GW });
    expect(s.speaker.peers).toEqual([peer('169.254.255.1'), peer('169.254.255.2')]);
    expect(rig.fake.requests.map((r) => r.operation)).toEqual(['metadata']);
  });

  test('none listed: the line says what to create, or to give kvip a token', async () => {
    const { log, lines } = recordingLogger();
    const line = await configError(preparePacketBgp(noToken(), log), lines);
    expect(line).toMatch(
      /metadata service lists no ipv4 BGP neighbours .*POST \/devices\/.*\/bgp\/sessions.*--packetKey/,
    );
  });

  test('no metadata service either: the line asks for a token', async () => {
    const { log, lines } = recordingLogger();
    const config = { ...noToken(), packetMetadataURL: 'http://127.0.0.1:9/metadata' };
    expect(await configError(preparePacketBgp(config, log), lines)).toMatch(
      /did not answer.*give kvip a token/,
    );
  });
});

test('a wrong token: the 401 line, never the token', async () => {
  const { log, lines } = recordingLogger();
  const line = await configError(preparePacketBgp(rig.config({ packetKey: `${TOKEN}-wrong` }), log), lines);
  expect(line).toMatch(/refused the token \(401\)/);
});

test('bad neighbour data from Metal through start-up: one line, neither the password nor the token in it', async () => {
  rig.fake.setBgpNeighbors(rig.self.id, [{ ...V4, peer_as: 23456 }]);
  const { log, lines } = recordingLogger();
  expect(await configError(preparePacketBgp(rig.config(), log), lines)).toMatch(
    /peer_as 23456 is not an AS number/,
  );
});

test('--peerAddress and a different --localAS are said to be ignored', async () => {
  rig.fake.setBgpNeighbors(rig.self.id, [V4]);
  const { log, entries } = recordingLogger();
  await preparePacketBgp(rig.config({ peerAddress: '192.0.2.1', localAS: '64512' }), log);
  const warns = entries.filter((e) => e.level === 'warn').map((e) => e.msg);
  expect(warns).toEqual([
    expect.stringContaining('--peerAddress / --bgppeers are ignored'),
    expect.stringContaining('--localAS 64512 is ignored with --packet: Metal gives this server AS 65000'),
  ]);
});

describe('speakerFromNeighbors: Metal data checked before use', () => {
  const o = { family: 4 as const, holdTimeS: 30, keepaliveS: 10 };

  test('every neighbour of the family is used; a peer two of them name is one session', () => {
    const second = { ...V4, peer_ips: ['169.254.255.2', '169.254.255.3'] };
    const s = speakerFromNeighbors([V4, V6, second], o);
    expect(s.peers.map((p) => p.address)).toEqual(['169.254.255.1', '169.254.255.2', '169.254.255.3']);
  });

  test.each([
    ['customer_as 0', { customer_as: 0 }, /customer_as 0 is not an AS number/],
    ['customer_as AS_TRANS', { customer_as: 23456 }, /customer_as 23456/],
    ['customer_as as a string', { customer_as: '65000' }, /customer_as "65000"/],
    ['customer_as too big', { customer_as: 4294967296 }, /customer_as 4294967296/],
    ['peer_as negative', { peer_as: -1 }, /peer_as -1/],
    ['customer_ip not an address', { customer_ip: 'bond0' }, /customer_ip "bond0" is not an IPv4 address/],
    ['customer_ip of the other family', { customer_ip: '2604::3' }, /customer_ip "2604::3"/],
    ['no peer_ips', { peer_ips: [] }, /has no peer_ips/],
    ['peer_ips missing', { peer_ips: undefined }, /has no peer_ips/],
    ['a peer_ip of the other family', { peer_ips: ['169.254.255.1', 'fc00::e'] }, /peer_ips has "fc00::e"/],
    [
      'md5 without a password',
      { md5_password: undefined },
      /md5_enabled is set but Metal gives no md5_password/,
    ],
    ['md5 with an empty password', { md5_password: '' }, /no md5_password/],
    ['md5 password over 80 bytes', { md5_password: MD5.padEnd(81, 'x') }, /longer than TCP MD5 allows/],
  ])('%s: one ConfigError line without the password', (_what, over, says) => {
    const bad = { ...V4, ...over } as unknown as typeof V4;
    const err = (() => {
      try {
        speakerFromNeighbors([bad], o);
      } catch (e) {
        return e;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(says);
    expect((err as Error).message).toMatch(/^Metal's IPv4 BGP neighbour #1 for this server is unusable/);
    expectNoSecrets([], err);
  });

  test('neighbours that disagree on customer_as', () => {
    const other = { ...V4, customer_as: 65001 };
    expect(() => speakerFromNeighbors([V4, other], o)).toThrow(
      /disagree on its AS \(customer_as 65000 and 65001\)/,
    );
  });
});
