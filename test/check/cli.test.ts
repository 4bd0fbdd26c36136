// `kvip check` through the CLI, in-process: the table with "N of M checks passed", -o json, and the exit code:
// 0 only when every row passed, 2 otherwise. Address-only on lo (the host's own loopback, read only: no frame
// is sent) with leader election against the Lease API fake as this node's API server.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeApiServer, type FakeApiServer } from '../../src/lease-api/server.js';
import { runCli } from '../helpers/cli.js';

const TOKEN = 'kvip-sentinel-check-cli-41aa';
let api: FakeApiServer;
let dir: string;
let args: string[];

beforeAll(async () => {
  api = await startFakeApiServer({ tls: true, sans: [], tokens: { [TOKEN]: 'cp1' } });
  dir = mkdtempSync(join(tmpdir(), 'kvip-check-cli-'));
  const path = join(dir, 'admin.conf');
  writeFileSync(path, api.kubeconfig('cp1'));
  const port = new URL(api.url).port;
  args = ['check', '--vip', '198.51.100.10', '--interface', 'lo', '--arp=false', '--leaderElection'];
  args.push('--k8sConfigPath', path, '--port', port);
});
afterAll(async () => {
  await api.close();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => api.denied.splice(0));

test('every check passes: one ✓ row each, "8 of 8 checks passed", exit 0', async () => {
  const r = await runCli(args);
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  const lines = r.out.trimEnd().split('\n');
  expect(lines.at(-1)).toBe('8 of 8 checks passed');
  expect(lines.slice(0, -1).map((l) => l.slice(0, 2))).toEqual(Array(8).fill('✓ '));
  expect(r.out).toMatch(
    /^✓ configuration +address-only mode, VIP 198\.51\.100\.10\/32 on lo, leader election/m,
  );
  expect(r.out).not.toContain(TOKEN);
});

test('one failed row: ✗ with what to do, the count, exit 2', async () => {
  api.denied.push({ verb: 'watch' });
  const r = await runCli(args);
  expect(r.code).toBe(2);
  expect(r.out).toMatch(/^✗ Lease access +not allowed: watch on leases\/plndr-cp-lock .*kvip manifest rbac/m);
  expect(r.out.trimEnd().split('\n').at(-1)).toBe('7 of 8 checks passed');
});

test('-o json: the rows, passed and total; the same exit code', async () => {
  api.denied.push({ verb: 'create' });
  const r = await runCli([...args, '-o', 'json']);
  expect(r.code).toBe(2);
  const report = JSON.parse(r.out) as {
    rows: { check: string; ok: boolean }[];
    passed: number;
    total: number;
  };
  expect(report.total).toBe(8);
  expect(report.passed).toBe(7);
  expect(report.rows.filter((row) => !row.ok).map((row) => row.check)).toEqual(['Lease access']);
});

test('an unknown output format: one line naming --output, exit 2, nothing checked', async () => {
  const before = api.requests.length;
  const r = await runCli([...args, '--output', 'yaml']);
  expect(r).toEqual({ code: 2, out: '', err: 'kvip: --output yaml: table or json\n' });
  expect(api.requests.length).toBe(before);
});
