// What the metrics learn from outside the service: gratuitous ARP frames (counted only once the kernel took
// them), Metal API requests (by operation and status, against the Metal fake), and the BGP sessions (read
// from the real speaker at scrape time). Each checked over /metrics.
import { createServer } from 'node:net';
import { jest } from '@jest/globals';
import { loadConfig } from '../../src/config/index.js';
import { netDialer } from '../../src/bgp/dial.js';
import { KvipMetrics, StatusServer } from '../../src/metrics/index.js';
import { preparePacket } from '../../src/packet/setup.js';
import { buildProvider } from '../../src/service/providers.js';
import { ArpProvider, type PacketPort } from '../../src/vip/arp.js';
import type { VipProvider } from '../../src/vip/provider.js';
import { startMetalFake, type MetalFake } from '../fakes/metal/server.js';
import { ScriptedPeer } from '../bgp/scripted-peer.js';
import { packetStartConfig } from '../packet/harness.js';
import { httpGet, parseExposition, sampleValue, type Exposition } from '../helpers/prom.js';

const log = { debug() {}, info() {}, warn() {}, error() {} };
const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function served(family: 'ipv4' | 'ipv6' = 'ipv4', mode = 'arp') {
  const metrics = new KvipMetrics({ family, renewDeadlineS: 3, leaderElection: true, mode });
  const server = await StatusServer.open({ host: '127.0.0.1', port: 0 }, '--prometheusHTTPServer', {
    scrape: () => metrics.scrape(),
    live: () => ({ ok: true, line: 'ok' }),
    ready: () => ({ ok: true, line: 'ok' }),
  });
  cleanups.push(() => server.close());
  const scrape = async (): Promise<Exposition> =>
    parseExposition((await httpGet(server.port, '/metrics')).body);
  return { metrics, scrape };
}

describe('gratuitous announcements', () => {
  function arp(metrics: KvipMetrics, packets: PacketPort, leading: () => boolean) {
    const addrs = new Set<string>();
    return new ArpProvider({
      ifname: 'eth0',
      vip: '2001:db8::10',
      prefix: 128,
      announce: true,
      arpRateMs: 1000,
      addresses: {
        link: async () => ({ index: 2, mac: '02:00:00:00:00:01', carrier: true }),
        has: async (_i, ip) => addrs.has(ip),
        add: async (_i, ip) => void addrs.add(ip),
        remove: async (_i, ip) => void addrs.delete(ip),
        find: async () => [],
      },
      packets,
      frame: () => Buffer.from('frame'),
      log,
      leadingNow: leading,
      burstMs: [50],
      onAnnounced: () => metrics.announced('ipv6'),
    });
  }

  beforeEach(() => jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate'] }));
  afterEach(() => jest.useRealTimers());

  it('counts each frame the kernel took, not the failed sends nor the ones skipped when not leading', async () => {
    const { metrics, scrape } = await served('ipv6');
    const sent: string[] = [];
    let failing = false;
    let leading = true;
    const provider = arp(
      metrics,
      {
        open: () => 7,
        send: () => {
          if (failing) throw Object.assign(new Error('sendPacket: ENETDOWN'), { code: 'ENETDOWN' });
          sent.push('frame');
        },
        close: () => undefined,
      },
      () => leading,
    );
    cleanups.push(() => provider.close());
    await provider.prepare();
    await provider.acquire(); // the first frame
    await jest.advanceTimersByTimeAsync(50); // the burst
    expect(sent).toHaveLength(2);
    failing = true;
    await jest.advanceTimersByTimeAsync(1000); // a repeat that fails
    failing = false;
    leading = false;
    await jest.advanceTimersByTimeAsync(1000); // a repeat skipped: leadership is not valid
    leading = true;
    await jest.advanceTimersByTimeAsync(1000); // a repeat sent
    expect(sent).toHaveLength(3);
    jest.useRealTimers();
    expect(sampleValue(await scrape(), 'kvip_gratuitous_announcements_total', { family: 'ipv6' })).toBe(3);
  });

  it('a throwing hook does not turn a sent frame into a failed one', async () => {
    const warnings: string[] = [];
    const sent: string[] = [];
    const provider = new ArpProvider({
      ifname: 'eth0',
      vip: '198.51.100.10',
      prefix: 32,
      announce: true,
      arpRateMs: 1000,
      addresses: {
        link: async () => ({ index: 2, mac: '02:00:00:00:00:01', carrier: true }),
        has: async () => false,
        add: async () => undefined,
        remove: async () => undefined,
        find: async () => [],
      },
      packets: { open: () => 7, send: () => void sent.push('frame'), close: () => undefined },
      frame: () => Buffer.from('frame'),
      log: { ...log, warn: (_o: object, m: string) => void warnings.push(m) },
      burstMs: [],
      onAnnounced: () => {
        throw new Error('broken counter');
      },
    });
    cleanups.push(() => provider.close());
    await provider.prepare();
    await provider.acquire();
    expect(sent).toHaveLength(1);
    expect(warnings).toEqual([]);
  });
});

describe('Metal API requests', () => {
  const TOKEN = 'kvip-sentinel-metrics-token';
  let fake: MetalFake;
  beforeEach(async () => {
    fake = await startMetalFake({ token: TOKEN, pageSize: 2 });
    cleanups.push(() => fake.close());
    const project = fake.addProject({ name: 'vipTest' });
    for (const h of ['cp1', 'cp2', 'cp3']) fake.addDevice(project.id, { hostname: h, metro: 'da' });
    fake.addDevice(project.id, { hostname: 'self', metro: 'da', metadataSource: '127.0.0.1' });
    fake.addReservation(project.id, { address: '203.0.113.100', cidr: 32, metro: 'da' });
  });
  const config = () => packetStartConfig(fake, TOKEN);

  /** kvip's names for the calls (what its logs and errors say too), by the spec's operationId. */
  const KVIP_NAME: Record<string, string> = {
    findProjects: 'findProjects',
    findDeviceById: 'getDevice',
    findIPReservations: 'findProjectIps',
  };

  /** What the fake answered, as {operation/status: count}, the metadata service left out. */
  function answered(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of fake.requests.filter((q) => q.operation !== 'metadata')) {
      const op = KVIP_NAME[r.operation] ?? `unmapped ${r.operation}`;
      const key = `${op}/${r.status === 0 ? 'error' : r.status}`;
      out[key] = (out[key] ?? 0) + 1;
    }
    return out;
  }

  function counted(e: Exposition): Record<string, number> {
    const out: Record<string, number> = {};
    for (const s of e.samples.filter((x) => x.name === 'kvip_metal_api_requests_total'))
      out[`${s.labels.operation}/${s.labels.status}`] = s.value;
    return out;
  }

  it("counts Packet mode's start-up requests by operation and status, as the API answered them", async () => {
    const { metrics, scrape } = await served('ipv4', 'packet-eip');
    const setup = await preparePacket(config(), log, metrics.metalResponse);
    setup.client.close();
    const e = await scrape();
    expect(counted(e)).toEqual(answered());
    expect(Object.keys(counted(e)).sort()).toEqual([
      'findProjectIps/200',
      'findProjects/200',
      'getDevice/200',
    ]);
  });

  it('a retried 503 and a reset connection are counted as such', async () => {
    fake.setFaults({
      status5xx: { status: 503, count: 1, match: { method: 'GET', path: '/metal/v1/projects' } },
      reset: { count: 1, match: { method: 'GET', path: /\/ips$/ } },
    });
    const { metrics, scrape } = await served('ipv4', 'packet-eip');
    const setup = await preparePacket(config(), log, metrics.metalResponse);
    setup.client.close();
    const c = counted(await scrape());
    expect(c['findProjects/503']).toBe(1);
    expect(c['findProjects/200']).toBeGreaterThanOrEqual(1);
    expect(c['findProjectIps/error']).toBe(1);
    expect(c).toEqual(answered());
  });
});

describe('BGP sessions', () => {
  it("reads each peer's session state from the speaker at scrape time", async () => {
    const { metrics, scrape } = await served('ipv4', 'bgp');
    const peer = await ScriptedPeer.start();
    cleanups.push(() => peer.close());
    peer.autoOpen = { as: 64512, holdTime: 9 };
    // A port nobody listens on: that session never gets up.
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const deadPort = (closed.address() as { port: number }).port;
    await new Promise((r) => closed.close(r));

    const config = loadConfig(
      {
        flags: {
          vip: { value: '203.0.113.100', name: '--vip' },
          bgp: { value: true, name: '--bgp' },
          localAS: { value: '64513', name: '--localAS' },
          peerAS: { value: '64512', name: '--peerAS' },
          peerAddress: { value: '127.0.0.1', name: '--peerAddress' },
        },
        env: {},
      },
      'start',
    );
    const on = new Set<string>();
    const provider: VipProvider = buildProvider(
      config,
      {
        addresses: {
          add: async (_i: string, ip: string) => void on.add(ip),
          has: async (_i: string, ip: string) => on.has(ip),
          remove: async (_i: string, ip: string) => void on.delete(ip),
          find: async () => [],
        } as never,
        log,
        leadingNow: () => false,
        leaseValid: () => false,
        identity: 'n1',
        bgp: {
          speaker: {
            localAs: 64513,
            routerId: '198.51.100.2',
            peers: [
              { address: '127.0.0.1', port: peer.port, peerAs: 64512, holdTimeS: 9, keepaliveS: 3 },
              { address: '::1', port: deadPort, peerAs: 64512, holdTimeS: 9, keepaliveS: 3 },
            ],
          },
          dial: netDialer,
        },
        hooks: metrics,
      },
      {},
    );
    cleanups.push(() => provider.close());
    expect((await scrape()).samples.filter((s) => s.name === 'kvip_bgp_session_up')).toEqual([
      { name: 'kvip_bgp_session_up', labels: { peer: '127.0.0.1' }, value: 0 },
      { name: 'kvip_bgp_session_up', labels: { peer: '::1' }, value: 0 },
    ]);
    await provider.prepare();
    let e = await scrape();
    for (const end = Date.now() + 8000; sampleValue(e, 'kvip_bgp_session_up', { peer: '127.0.0.1' }) !== 1;) {
      if (Date.now() > end) throw new Error('the session to the scripted peer never came up');
      await new Promise((r) => setTimeout(r, 20));
      e = await scrape();
    }
    expect(sampleValue(e, 'kvip_bgp_session_up', { peer: '::1' })).toBe(0);
    const states = (p: string) =>
      e.samples
        .filter((s) => s.name === 'kvip_bgp_session_state' && s.labels.peer === p)
        .map((s) => `${s.labels.state}=${s.value}`);
    expect(states('127.0.0.1')).toEqual([
      'idle=0',
      'connect=0',
      'open-sent=0',
      'open-confirm=0',
      'established=1',
    ]);
    expect(states('::1')).toContain('established=0');
    expect(states('::1').filter((s) => s.endsWith('=1'))).toHaveLength(1);

    await peer.close(); // the router goes away: the session is down at the next scrape
    for (const end = Date.now() + 8000; sampleValue(e, 'kvip_bgp_session_up', { peer: '127.0.0.1' }) !== 0;) {
      if (Date.now() > end) throw new Error('the session never went down');
      await new Promise((r) => setTimeout(r, 20));
      e = await scrape();
    }
    expect(sampleValue(e, 'kvip_bgp_session_state', { peer: '127.0.0.1', state: 'established' })).toBe(0);
  });
});
