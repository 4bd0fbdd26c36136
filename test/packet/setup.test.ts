// Packet mode's start-up against the Metal fake (in process, 127.0.0.1): which project, which server (and
// how it was found), which Elastic IP; every bad input is one ConfigError line naming the option, and none of
// it changes anything in Metal (the fake's request log has only GETs).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, type Config } from '../../src/config/index.js';
import { preparePacket, readMetalToken } from '../../src/packet/setup.js';
import { startMetalFake, type MetalFake } from '../fakes/metal/server.js';
import { packetStartConfig } from './harness.js';

const TOKEN = 'kvip-sentinel-setup-token';
const log = { debug() {}, info() {}, warn() {}, error() {} };

let fake: MetalFake;
let dir: string;
let project: { id: string };
let self: { id: string };

const config = (over: Record<string, string> = {}): Config => packetStartConfig(fake, TOKEN, over);

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kvip-setup-'));
  fake = await startMetalFake({ token: TOKEN, pageSize: 2 });
  fake.addProject({ name: 'vipTest-old' });
  project = fake.addProject({ name: 'vipTest' });
  for (const h of ['cp1', 'cp10', 'cp2', 'cp3']) fake.addDevice(project.id, { hostname: h, metro: 'da' });
  self = fake.addDevice(project.id, { hostname: 'self', metro: 'da', metadataSource: '127.0.0.1' });
  fake.addReservation(project.id, { address: '203.0.113.100', cidr: 32, metro: 'da' });
  fake.addReservation(project.id, { address: '203.0.113.104', cidr: 30, metro: 'da' });
  fake.addReservation(project.id, { address: '203.0.113.110', cidr: 32, metro: 'ny' });
  fake.addReservation(project.id, { address: '203.0.113.120', cidr: 32, metro: 'da', management: true });
});

afterEach(async () => {
  await fake?.close();
  rmSync(dir, { recursive: true, force: true });
});

const onlyReads = () => expect(fake.requests.filter((r) => r.method !== 'GET')).toEqual([]);

test('the project by name, this server from the metadata service, the Elastic IP and its holder', async () => {
  const other = fake.addDevice(project.id, { hostname: 'other', metro: 'da' });
  fake.assign('203.0.113.100', other.id);
  const s = await preparePacket(config(), log);
  expect(s.project.id).toBe(project.id);
  expect(s.device).toEqual(expect.objectContaining({ id: self.id, source: 'metadata' }));
  expect(s.eip).toEqual(expect.objectContaining({ address: '203.0.113.100', cidr: 32 }));
  expect(s.eip.holders.map((h) => h.deviceId)).toEqual([other.id]);
  onlyReads();
});

test('--packetDeviceID wins over the metadata service; --packetProjectID needs no lookup by name', async () => {
  const cp3 = (await preparePacket(config(), log)).client;
  void cp3;
  const devices = fake.requests.length;
  const s = await preparePacket(config({ packetDeviceID: self.id, packetProjectID: project.id }), log);
  expect(s.device.source).toBe('flag');
  expect(fake.requests.slice(devices).some((r) => r.path.endsWith('/projects'))).toBe(false);
});

test('no metadata service: the exact host name across every page, not a partial match', async () => {
  const me = fake.addDevice(project.id, { hostname: hostname(), metro: 'da' });
  fake.addDevice(project.id, { hostname: `${hostname()}0`, metro: 'da' });
  const s = await preparePacket(config({ packetMetadataURL: 'http://127.0.0.1:9/metadata' }), log);
  expect(s.device).toEqual(expect.objectContaining({ id: me.id, source: 'hostname' }));
});

test.each([
  [{ packetKey: 'wrong-token' }, /refused the token \(401\)/],
  [{ packetProject: 'vipTes' }, /--packetProject "vipTes"/],
  [{ packetProjectID: '00000000-0000-4000-8000-000000000000', packetProject: '' }, /--packetProjectID 0{8}/],
  [{ vip: '203.0.113.101' }, /--vip 203\.0\.113\.101 is not an Elastic IP/],
  [{ vip: '203.0.113.105' }, /--vip 203\.0\.113\.105 .*\/30/],
  [{ vip: '203.0.113.110' }, /metro ny .* da/],
  [{ vip: '203.0.113.120' }, /management address/],
  [{ packetDeviceID: '00000000-0000-4000-8000-000000000001' }, /--packetDeviceID 0{8}.*no such device/],
  [{ packetMetadataURL: 'http://127.0.0.1:9/metadata' }, /not found.*--packetDeviceID/],
])('bad input %j: one ConfigError line, nothing changed', async (over, says) => {
  const err = await preparePacket(config(over as Record<string, string>), log).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as Error).message).toMatch(says);
  expect((err as Error).message).not.toContain('\n');
  expect((err as Error).message).not.toContain(TOKEN);
  onlyReads();
});

test('the token file: read and trimmed; empty, unreadable or two words is a ConfigError naming the option', () => {
  const file = join(dir, 'token');
  writeFileSync(file, `${TOKEN}\n`);
  expect(readMetalToken({ packetKey: '', packetKeyFile: file })).toBe(TOKEN);
  writeFileSync(file, '\n');
  expect(() => readMetalToken({ packetKey: '', packetKeyFile: file })).toThrow(/--packetKeyFile .* empty/);
  writeFileSync(file, 'a b\n');
  expect(() => readMetalToken({ packetKey: '', packetKeyFile: file })).toThrow(
    /--packetKeyFile .* more than one word/,
  );
  expect(() => readMetalToken({ packetKey: '', packetKeyFile: join(dir, 'none') })).toThrow(
    /--packetKeyFile .*ENOENT/,
  );
});
