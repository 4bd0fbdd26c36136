// Shared setup of the `--bgp --packet` tests: a Metal fake with this server (metadata by 127.0.0.1, a private
// /31 whose gateway is 10.70.0.2), Metal-shaped neighbours carrying a sentinel MD5 password, a Config built
// by the real loader, and the check that no secret reached a log line or an error.
import { inspect } from 'node:util';
import type { Config } from '../../src/config/index.js';
import type { BgpNeighbor } from '../fakes/metal/types.js';
import { startMetalFake, type MetalFake } from '../fakes/metal/server.js';
import { startConfig } from './harness.js';

export const TOKEN = 'kvip-sentinel-bgp-token-5b1e';
export const MD5 = 'kvip-sentinel-md5-9d2c';
export const GW = '10.70.0.2';

export const V4: BgpNeighbor = {
  address_family: 4,
  customer_as: 65000,
  customer_ip: '10.70.0.3',
  md5_enabled: true,
  md5_password: MD5,
  multihop: true,
  peer_as: 65530,
  peer_ips: ['169.254.255.1', '169.254.255.2'],
  routes_in: [{ route: '10.70.0.2/31', exact: true }],
  routes_out: [],
};

export const V6: BgpNeighbor = {
  ...V4,
  address_family: 6,
  customer_ip: '2604:1380:4111:2700::3',
  peer_ips: ['fc00::e', 'fc00::f'],
  routes_in: [],
};

export interface BgpRig {
  fake: MetalFake;
  project: { id: string; name: string };
  self: { id: string };
  /** A start-up Config for --bgp --packet against the fake; `over` adds or replaces flags ('' drops one). */
  config(over?: Record<string, string | boolean>): Config;
  /** The fake's requests that were not GETs. */
  writes(): string[];
  /** How many times the device's neighbours were read. */
  neighborReads(): number;
}

/** Starts a fresh fake before each test and closes it after, whatever the outcome. */
export function useBgpRig(): BgpRig {
  const rig = {} as BgpRig & { fake: MetalFake };
  beforeEach(async () => {
    rig.fake = await startMetalFake({ token: TOKEN, pageSize: 2 });
    rig.project = rig.fake.addProject({ name: 'vipTest' });
    rig.fake.addDevice(rig.project.id, { hostname: 'cp1', metro: 'da', privateIpv4: '10.70.0.5' });
    rig.self = rig.fake.addDevice(rig.project.id, {
      hostname: 'self',
      metro: 'da',
      privateIpv4: '10.70.0.3',
      publicIpv4: '147.28.0.3',
      metadataSource: '127.0.0.1',
    });
  });
  afterEach(async () => {
    await rig.fake?.close();
  });
  rig.config = (over = {}) =>
    startConfig({
      bgp: true,
      packet: true,
      vip: '203.0.113.100',
      packetProject: 'vipTest',
      packetKey: TOKEN,
      packetAPIURL: rig.fake.apiUrl,
      packetMetadataURL: rig.fake.metadataUrl,
      ...over,
    });
  rig.writes = () => rig.fake.requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}`);
  rig.neighborReads = () => rig.fake.requests.filter((r) => r.operation === 'getBgpNeighborData').length;
  return rig;
}

/** Neither secret in any of `texts` (log lines) nor anywhere in `err` (message, stack, fields). */
export function expectNoSecrets(texts: string[], err?: unknown): void {
  const all = [...texts];
  if (err !== undefined)
    all.push(inspect(err, { depth: 20, showHidden: true }), String((err as Error).stack));
  for (const t of all) {
    expect(t).not.toContain(TOKEN);
    expect(t).not.toContain(MD5);
  }
}
