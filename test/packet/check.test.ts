// `kvip check --packet` against the Metal fake: a row per check, ✓ only when it passed, what to do on ✗,
// and nothing changed in Metal (only GETs in the fake's log). Run through the CLI for the exit codes.
import { run } from '../../src/cli/main.js';
import { startMetalFake, type MetalFake } from '../fakes/metal/server.js';

const TOKEN = 'kvip-sentinel-check-token';
let fake: MetalFake;
let self: { id: string };

beforeEach(async () => {
  fake = await startMetalFake({ token: TOKEN, pageSize: 2 });
  const p = fake.addProject({ name: 'vipTest' });
  self = fake.addDevice(p.id, { hostname: 'self', metro: 'da', metadataSource: '127.0.0.1' });
  fake.addReservation(p.id, { address: '203.0.113.100', cidr: 32, metro: 'da' });
  fake.assign('203.0.113.100', self.id);
});

afterEach(async () => {
  await fake?.close();
});

async function check(
  extra: string[] = [],
  token = TOKEN,
): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run(
    [
      'check',
      '--packet',
      '--vip',
      '203.0.113.100',
      '--packetProject',
      'vipTest',
      '--packetAPIURL',
      fake.apiUrl,
      '--packetMetadataURL',
      fake.metadataUrl,
      ...extra,
    ],
    { out: (t) => (out += t), err: (t) => (err += t), env: { PACKET_AUTH_TOKEN: token } },
  );
  return { code, out, err };
}

test('all pass: token, project, this server (and how it was found), the EIP and its holder; exit 0', async () => {
  const r = await check();
  expect(r.code).toBe(0);
  const lines = r.out.trim().split('\n');
  expect(lines.pop()).toMatch(/^(\d+) of \1 checks passed$/);
  expect(lines.every((l) => l.startsWith('✓ '))).toBe(true);
  // Besides the Metal rows: this host's (lo in Packet mode, the capabilities).
  expect(r.out).toMatch(/^✓ VIP on this node +not on lo yet: kvip adds it when it starts \(packet-eip mode/m);
  expect(r.out).toMatch(/this server +self \(.*\), from the metadata service/);
  expect(r.out).toContain(`${self.id} (this server)`);
  expect(fake.requests.filter((q) => q.method !== 'GET')).toEqual([]);
});

test('a VIP that is no EIP of the project: ✗ with what to do, exit 2, the other checks still shown', async () => {
  const r = await check(['--vip', '203.0.113.101']);
  expect(r.code).toBe(2);
  expect(r.out).toMatch(/^✗ Elastic IP +--vip 203\.0\.113\.101 is not an Elastic IP/m);
  expect(r.out).toMatch(/^✓ this server/m);
});

test('a wrong token: ✗ on the token, exit 2, the token never printed', async () => {
  const r = await check([], 'kvip-sentinel-wrong');
  expect(r.code).toBe(2);
  expect(r.out).toMatch(/^✗ Metal API token +.*401/m);
  expect(r.out + r.err).not.toContain('kvip-sentinel-wrong');
});
