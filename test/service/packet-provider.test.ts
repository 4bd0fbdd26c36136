// Packet EIP mode as `kvip start` composes it (buildProvider), driven by the real VipService with an elector
// stand-in: what the cloud routes to (the in-memory cloud's holder) and what is on lo, at each step of a
// leadership and of a shutdown.
import { loadConfig } from '../../src/config/index.js';
import { buildProvider, UNASSIGN_ON_SHUTDOWN_ENV } from '../../src/service/providers.js';
import { VipService, type LeaderCallbacks } from '../../src/service/service.js';
import { MemoryCloud } from '../vip/memory-cloud.js';

const log = { debug() {}, info() {}, warn() {}, error() {} };
const VIP = '203.0.113.100';
const ME = 'dev-me';

class FakeAddresses {
  on = new Set<string>();
  async add(ifname: string, ip: string, prefix: number) {
    this.on.add(`${ifname} ${ip}/${prefix}`);
    return 'added' as const;
  }
  async has(ifname: string, ip: string, prefix: number) {
    return this.on.has(`${ifname} ${ip}/${prefix}`);
  }
  async remove(ifname: string, ip: string, prefix: number) {
    this.on.delete(`${ifname} ${ip}/${prefix}`);
    return 'removed' as const;
  }
}

const config = loadConfig(
  {
    flags: {
      vip: { value: VIP, name: '--vip' },
      packet: { value: true, name: '--packet' },
      packetProject: { value: 'vipTest', name: '--packetProject' },
      packetKey: { value: 'kvip-sentinel-t', name: '--packetKey' },
      leaderElection: { value: true, name: '--leaderElection' },
    },
    env: {},
  },
  'start',
);

const running: VipService[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
});

async function cluster(env: NodeJS.ProcessEnv) {
  const cloud = new MemoryCloud(VIP);
  const addresses = new FakeAddresses();
  const order: string[] = [];
  let callbacks!: LeaderCallbacks;
  const lease = { valid: true };
  const leading = { now: () => false, lease: () => false };
  const provider = buildProvider(
    config,
    {
      addresses: addresses as never,
      log,
      leadingNow: () => leading.now(),
      leaseValid: () => leading.lease(),
      identity: 'n1',
      packet: { cloud, device: { id: ME }, eip: await cloud.findReservation(VIP) } as never,
    },
    env,
  );
  cloud.onCall = (c) => order.push(c.op);
  const service = new VipService({
    provider,
    elector: (cb) => {
      callbacks = cb;
      return {
        start: () => undefined,
        isLeader: () => lease.valid,
        resign: async () => undefined,
        stop: async () => {
          await callbacks.onStoppedLeading('lost');
          order.push('lease released');
          lease.valid = false;
        },
      };
    },
    log,
    reconcileIntervalMs: 3_600_000,
    stopStepTimeoutMs: 2000,
  });
  leading.now = service.leadingNow;
  leading.lease = service.leaseValid;
  running.push(service);
  await service.start();
  await callbacks.onStartedLeading();
  return { cloud, addresses, order, service };
}

test('the leader holds the assignment; on SIGTERM it is left for the next leader and lo keeps the address', async () => {
  const { cloud, addresses, order, service } = await cluster({});
  expect(cloud.holder()).toBe(ME);
  expect(addresses.on.has(`lo ${VIP}/32`)).toBe(true);
  await service.stop();
  expect(cloud.holder()).toBe(ME);
  expect(order).toEqual(['assign', 'lease released']);
  expect(addresses.on.has(`lo ${VIP}/32`)).toBe(true);
});

test('with unassign-on-shutdown, the unassign reaches the cloud before the lease is released', async () => {
  const { cloud, order, service } = await cluster({ [UNASSIGN_ON_SHUTDOWN_ENV]: '1' });
  await service.stop();
  expect(cloud.holder()).toBeUndefined();
  expect(order).toEqual(['assign', 'unassign', 'lease released']);
});
