// Packet EIP mode's composition: the address on lo on every node (LocalBinding) before the Elastic IP mover
// acts, the mover released before the address goes, and the address back after someone removed it.
import { LocalBinding } from '../../src/vip/binding.js';
import { ComposedProvider } from '../../src/vip/compose.js';
import type { VipProvider } from '../../src/vip/provider.js';

const log = { debug() {}, info() {}, warn() {}, error() {} };

/** rtnetlink as the world sees it: the addresses on each interface, and the scope asked for. */
class FakeAddresses {
  on = new Map<string, string>();
  ops: string[] = [];
  async add(ifname: string, ip: string, prefix: number, opts: { scope?: string }) {
    this.ops.push(`add ${ifname} ${ip}/${prefix} scope ${opts.scope ?? 'universe'}`);
    this.on.set(`${ifname} ${ip}/${prefix}`, opts.scope ?? 'universe');
    return 'added';
  }
  async has(ifname: string, ip: string, prefix: number) {
    return this.on.has(`${ifname} ${ip}/${prefix}`);
  }
  async remove(ifname: string, ip: string, prefix: number) {
    this.ops.push(`remove ${ifname} ${ip}/${prefix}`);
    this.on.delete(`${ifname} ${ip}/${prefix}`);
    return 'removed';
  }
}

class Recorder implements VipProvider {
  readonly name = 'recorder';
  constructor(private readonly ops: string[]) {}
  async prepare() {
    this.ops.push('mover prepare');
  }
  async acquire() {
    this.ops.push('mover acquire');
  }
  async release(reason?: string) {
    this.ops.push(`mover release ${reason}`);
  }
  async reconcile() {
    this.ops.push('mover reconcile');
  }
  async close() {
    this.ops.push('mover close');
  }
  leaderChanged(id: string) {
    this.ops.push(`mover leader ${id}`);
  }
}

test('the address is on lo (scope host) from prepare on, before the mover acts, and after it lets go', async () => {
  const addresses = new FakeAddresses();
  const binding = new LocalBinding({ ifname: 'lo', vip: '203.0.113.100', prefix: 32, addresses, log });
  const p = new ComposedProvider('packet-eip', [binding, new Recorder(addresses.ops)]);
  await p.prepare();
  expect(addresses.on.get('lo 203.0.113.100/32')).toBe('host');
  await p.acquire();
  p.leaderChanged('n2');
  await p.release('lost');
  expect(addresses.on.has('lo 203.0.113.100/32')).toBe(true); // a follower keeps it
  await p.close();
  expect(addresses.on.size).toBe(0);
  expect(addresses.ops).toEqual([
    'add lo 203.0.113.100/32 scope host',
    'mover prepare',
    'mover acquire',
    'mover leader n2',
    'mover release lost',
    'mover close',
    'remove lo 203.0.113.100/32',
  ]);
});

test('Packet mode keeps the address on lo when kvip stops (traffic still routed here is answered)', async () => {
  const addresses = new FakeAddresses();
  const binding = new LocalBinding({
    ifname: 'lo',
    vip: '203.0.113.100',
    prefix: 32,
    addresses,
    log,
    keepOnClose: true,
  });
  await binding.prepare();
  await binding.close();
  expect(addresses.on.get('lo 203.0.113.100/32')).toBe('host');
});

test('reconcile puts back an address someone removed', async () => {
  const addresses = new FakeAddresses();
  const binding = new LocalBinding({ ifname: 'lo', vip: '203.0.113.100', prefix: 32, addresses, log });
  await binding.prepare();
  addresses.on.clear();
  await binding.reconcile();
  expect(addresses.on.get('lo 203.0.113.100/32')).toBe('host');
});

test('a failing part does not stop the others from letting go; the failure is reported', async () => {
  const ops: string[] = [];
  const failing: VipProvider = {
    name: 'failing',
    prepare: async () => undefined,
    acquire: async () => undefined,
    release: async () => {
      throw new Error('release failed');
    },
    reconcile: async () => undefined,
    close: async () => {
      throw new Error('close failed');
    },
  };
  const p = new ComposedProvider('x', [new Recorder(ops), failing]);
  await expect(p.release('shutdown')).rejects.toThrow('release failed');
  await expect(p.close()).rejects.toThrow('close failed');
  expect(ops).toEqual(['mover release shutdown', 'mover close']);
});
