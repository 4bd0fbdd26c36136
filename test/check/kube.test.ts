// `kvip check --leaderElection`, the Kubernetes rows, against the Lease API fake over TLS on 127.0.0.1 (as kvip
// start reaches this node's API server by default: verified as "kubernetes"): the kubeconfig, the API server,
// what RBAC allows on the Lease (SelfSubjectAccessReviews from the fake's `denied` rules) and the health check.
// Every server is closed and the kubeconfig removed after each test; the check only reads the Lease (who
// leads, when asked), never creates or changes it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubeRows } from '../../src/check/kube.js';
import type { CheckRow } from '../../src/check/row.js';
import { loadConfig } from '../../src/config/index.js';
import { microTime, startFakeApiServer, type FakeApiServer } from '../../src/lease-api/server.js';
import { until } from '../helpers/wait.js';

const TOKEN = 'kvip-sentinel-check-kube-7c1d';
let api: FakeApiServer;
let dir: string;
const servers: Server[] = [];

beforeAll(async () => {
  api = await startFakeApiServer({ tls: true, sans: [], tokens: { [TOKEN]: 'cp1' } });
});
afterAll(() => api.close());
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kvip-check-'));
});
afterEach(async () => {
  api.denied.splice(0);
  api.requests.splice(0);
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  rmSync(dir, { recursive: true, force: true });
});

const port = () => Number(new URL(api.url).port);

function kubeconfig(text = api.kubeconfig('cp1'), name = 'admin.conf'): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** The check's config: ARP off on lo (no frames), leader election against the fake as this node's API server. */
function config(flags: Record<string, string | boolean> = {}) {
  const all: Record<string, string | boolean> = {
    vip: '198.51.100.10',
    interface: 'lo',
    arp: false,
    leaderElection: true,
    k8sConfigPath: kubeconfig(),
    port: String(port()),
    ...flags,
  };
  const input = Object.fromEntries(Object.entries(all).map(([k, v]) => [k, { value: v, name: `--${k}` }]));
  return loadConfig({ flags: input, env: {} }, 'check');
}

const byName = (rows: CheckRow[]) => Object.fromEntries(rows.map((r) => [r.check, r]));

/** A plain HTTP server that answers every request with `status`, or never when status is 0. */
async function httpServer(status: number): Promise<number> {
  const server = createServer((req, res) => {
    if (status === 0) return; // never answers; closed in afterEach
    res.writeHead(status).end();
  });
  servers.push(server);
  server.on('connection', (s) => server.once('close', () => s.destroy()));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

const leaseRequests = () => api.requests.filter((r) => r.path.startsWith('/apis/coordination.k8s.io'));

test('all allowed: kubeconfig, this node API server, get/update/watch/create on the Lease, health; no Lease touched', async () => {
  const found = await kubeRows(config(), {});
  const rows = byName(found.rows);
  expect(Object.keys(rows)).toEqual(['kubeconfig', 'API server', 'Lease access', 'health check']);
  expect(Object.values(rows).every((r) => r.ok)).toBe(true);
  expect(rows['API server']?.detail).toMatch(
    new RegExp(
      `^https://127\\.0\\.0\\.1:${port()} \\(this node's own API server, .*answers: Kubernetes v1\\.31`,
    ),
  );
  expect(rows['Lease access']?.detail).toBe(
    'get, update, watch on leases/plndr-cp-lock, create on leases and create, patch on events in namespace kube-system: allowed',
  );
  expect(rows['health check']?.detail).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/readyz .*: healthy$/);
  const reviews = api.requests.filter(
    (r) => r.path === '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
  );
  expect(reviews.map((r) => [r.client, r.status])).toEqual(Array(6).fill(['cp1', 201]));
  expect(leaseRequests()).toEqual([]);
  expect(found.lease).toBeUndefined();
  expect(api.getLease('kube-system', 'plndr-cp-lock')).toBeUndefined();
});

const leaseSpec = (holder: string, renewed = new Date()) => ({
  metadata: { name: 'plndr-cp-lock', namespace: 'kube-system' },
  spec: {
    holderIdentity: holder,
    leaseDurationSeconds: 30,
    acquireTime: microTime(renewed),
    renewTime: microTime(renewed),
    leaseTransitions: 3,
  },
});

/** A short watch window (retry period + renew deadline = 0.7 s), for the cases that wait it out. */
const SHORT = { retryPeriod: '0.2', renewDeadline: '0.5', leaseDuration: '1' };

/** Runs `fn` once check's first GET of the Lease has been answered (so that what it does comes after). */
async function afterFirstRead(fn: () => void): Promise<void> {
  await until(
    () => leaseRequests().some((r) => r.verb === 'get' && r.status !== 0),
    'the first Lease GET',
    20_000,
  );
  fn();
}

describe('who leads (when the segment row wants it)', () => {
  afterEach(() => {
    api.clearFaults();
    api.deleteLease('kube-system', 'plndr-cp-lock');
  });

  it('not wanted: the Lease is not read at all', async () => {
    api.putLease(leaseSpec('cp2'));
    expect((await kubeRows(config(), {})).lease).toBeUndefined();
    expect(leaseRequests()).toEqual([]);
  });

  it('another holder that renews while check watches: renewed, and nothing in the Lease changed by check', async () => {
    api.putLease(leaseSpec('cp2'));
    // The holder renews every 100 ms, as a leader does every retry period, until the check is done.
    const renew = setInterval(() => api.putLease(leaseSpec('cp2')), 100);
    try {
      expect((await kubeRows(config(), {}, true)).lease).toEqual({
        kind: 'watched',
        holder: 'cp2',
        renewed: true,
        seenMs: expect.any(Number),
        windowMs: 4000,
      });
    } finally {
      clearInterval(renew);
    }
    expect(leaseRequests().every((r) => r.verb === 'get')).toBe(true);
  });

  it('a holder that does not renew within the window: not renewed, whatever its stamps say', async () => {
    // Its wall-clock stamp is a minute ahead, but it is never renewed: a clock-based check would be fooled.
    api.putLease(leaseSpec('cp2', new Date(Date.now() + 60_000)));
    expect((await kubeRows(config(SHORT), {}, true)).lease).toEqual({
      kind: 'watched',
      holder: 'cp2',
      renewed: false,
      seenMs: expect.any(Number),
      windowMs: 700,
    });
  });

  it('released, or held by this node (its host name, without --nodeName): one GET, nothing to watch', async () => {
    const me = hostname().toLowerCase();
    api.putLease(leaseSpec(me));
    expect((await kubeRows(config(), {}, true)).lease).toEqual({ kind: 'read', holder: me });
    expect(leaseRequests()).toHaveLength(1);
    api.putLease({ ...leaseSpec(''), spec: { holderIdentity: '' } });
    expect((await kubeRows(config(), {}, true)).lease).toEqual({ kind: 'read', holder: null });
  });

  it('a failover while check watches: moved, from whom to whom; or deleted', async () => {
    api.putLease(leaseSpec('cp2'));
    const [moved] = await Promise.all([
      kubeRows(config(), {}, true),
      afterFirstRead(() => api.putLease(leaseSpec('cp3'))),
    ]);
    expect(moved.lease).toEqual({ kind: 'moved', from: 'cp2', to: 'cp3' });
    api.requests.splice(0);
    api.putLease(leaseSpec('cp2'));
    const [deleted] = await Promise.all([
      kubeRows(config(), {}, true),
      afterFirstRead(() => api.deleteLease('kube-system', 'plndr-cp-lock')),
    ]);
    expect(deleted.lease).toEqual({ kind: 'deleted', from: 'cp2' });
  });

  it('later GETs that hang or fail: the holder kept, read again while the window lasts, and why', async () => {
    api.putLease(leaseSpec('cp2'));
    /** The Lease as read when every GET after the first one meets `fault`. */
    const faulty = async (flags: Record<string, string>, fault: Parameters<FakeApiServer['setFault']>[1]) => {
      api.clearFaults();
      api.requests.splice(0);
      const set = () => api.setFault('cp1', fault, { verbs: ['get'], resources: ['leases'] });
      return (await Promise.all([kubeRows(config(flags), {}, true), afterFirstRead(set)]))[0].lease;
    };
    const unseen = (windowMs: number) => ({
      kind: 'watched',
      holder: 'cp2',
      renewed: false,
      seenMs: 0,
      windowMs,
    });
    // A window (3.6 s) that leaves the first GET after the first read its whole renew deadline (2 s).
    const wide = { retryPeriod: '1.6', renewDeadline: '2', leaseDuration: '4' };
    expect(await faulty(wide, { kind: 'hang' })).toEqual({
      ...unseen(3600),
      error: 'no answer within 2000 ms (--renewDeadline)',
    });
    // Cut short by the end of the window (0.45 s of a 0.5 s deadline left): that is the window ending.
    expect(await faulty(SHORT, { kind: 'hang' })).toEqual(unseen(700));
    expect(await faulty(SHORT, { kind: 'status', code: 500 })).toEqual({
      ...unseen(700),
      error: expect.stringMatching(/500/),
    });
  });

  it('a failed read that passes: the watch goes on and sees the renewal', async () => {
    api.putLease(leaseSpec('cp2'));
    const [found] = await Promise.all([
      kubeRows(config(), {}, true),
      afterFirstRead(() => {
        api.setFault(
          'cp1',
          { kind: 'status', code: 500 },
          { verbs: ['get'], resources: ['leases'], count: 1 },
        );
        setTimeout(() => api.putLease(leaseSpec('cp2')), 600);
      }),
    ]);
    expect(found.lease).toMatchObject({ kind: 'watched', holder: 'cp2', renewed: true });
    expect(found.lease).not.toHaveProperty('error');
  });

  it('no Lease, a failing GET, or get not allowed: said so, or not read at all', async () => {
    expect((await kubeRows(config(), {}, true)).lease).toEqual({ kind: 'none' });
    api.putLease({ ...leaseSpec(''), spec: { holderIdentity: '' } });
    api.setFault('cp1', { kind: 'status', code: 500 }, { verbs: ['get'], resources: ['leases'] });
    expect((await kubeRows(config(), {}, true)).lease).toEqual({
      kind: 'failed',
      reason: expect.stringMatching(/500/),
    });
    api.clearFaults();
    api.requests.splice(0);
    api.denied.push({ client: 'cp1', verb: 'get' });
    expect((await kubeRows(config(), {}, true)).lease).toBeUndefined();
    expect(leaseRequests()).toEqual([]);
    // Another verb missing does not keep the Lease from being read.
    api.denied.splice(0);
    api.denied.push({ client: 'cp1', verb: 'patch' });
    expect((await kubeRows(config(), {}, true)).lease).toEqual({ kind: 'read', holder: null });
  });
});

test('RBAC without update: ✗ naming the verb and the object, with the kvip manifest rbac hint', async () => {
  api.denied.push({ client: 'cp1', verb: 'update' });
  const rows = byName((await kubeRows(config({ namespace: 'kvip-ns', leaseName: 'cp-lock' }), {})).rows);
  expect(rows['Lease access']).toEqual({
    check: 'Lease access',
    ok: false,
    detail: expect.stringMatching(
      /^not allowed: update on leases\/cp-lock in namespace kvip-ns \(.*\): kvip manifest rbac --namespace kvip-ns --leaseName cp-lock \| kubectl apply -f -/,
    ),
  });
  expect(rows['API server']?.ok).toBe(true);
  expect(leaseRequests()).toEqual([]);
});

test('RBAC without create and watch: both named in one row', async () => {
  api.denied.push({ verb: 'create' }, { verb: 'watch' });
  const rows = byName((await kubeRows(config(), {})).rows);
  expect(rows['Lease access']?.ok).toBe(false);
  expect(rows['Lease access']?.detail).toMatch(
    /^not allowed: watch on leases\/plndr-cp-lock and create on leases in namespace kube-system/,
  );
});

test('credentials the API server does not know: ✗ refused (401), the token never printed', async () => {
  const rows = await kubeRows(
    config({
      k8sConfigPath: kubeconfig(api.kubeconfig('cp1').replace(TOKEN, 'kvip-sentinel-wrong'), 'wrong.conf'),
    }),
    {},
  );
  expect(byName(rows.rows)['Lease access']?.detail).toMatch(/refused the credentials \(401/);
  expect(JSON.stringify(rows)).not.toMatch(/kvip-sentinel/);
});

test('an API server that does not answer: ✗ naming the endpoint and the errno, the Lease row not checked', async () => {
  // A port nobody listens on: a server's, closed again.
  const p = await httpServer(200);
  await new Promise((r) => servers.pop()?.close(r));
  const rows = byName((await kubeRows(config({ port: String(p) }), {})).rows);
  expect(rows.kubeconfig?.ok).toBe(true);
  expect(rows['API server']).toEqual({
    check: 'API server',
    ok: false,
    detail: expect.stringMatching(
      new RegExp(
        `^https://127\\.0\\.0\\.1:${p} .*ECONNREFUSED.*is this node's API server running on port ${p}\\?`,
      ),
    ),
  });
  expect(rows['Lease access']).toEqual({
    check: 'Lease access',
    ok: false,
    detail: 'not checked: see API server',
  });
  expect(rows['health check']?.ok).toBe(false);
});

test('a kubeconfig that does not load: ✗ with the reason; the rows that need it say so', async () => {
  const { rows } = await kubeRows(config({ k8sConfigPath: join(dir, 'missing.conf') }), {});
  expect(rows).toEqual([
    {
      check: 'kubeconfig',
      ok: false,
      detail: expect.stringMatching(/missing\.conf: cannot read the kubeconfig \(ENOENT\)/),
    },
    { check: 'API server', ok: false, detail: 'not checked: the kubeconfig did not load' },
    { check: 'Lease access', ok: false, detail: 'not checked: the kubeconfig did not load' },
    { check: 'health check', ok: false, detail: 'not checked: the kubeconfig did not load' },
  ]);
});

describe('the health check row', () => {
  it('fails with the status the probe got, and what to check', async () => {
    const p = await httpServer(503);
    const rows = byName((await kubeRows(config({ healthCheck: `http://127.0.0.1:${p}/readyz` }), {})).rows);
    expect(rows['health check']).toEqual({
      check: 'health check',
      ok: false,
      detail: expect.stringMatching(
        new RegExp(
          `^http://127\\.0\\.0\\.1:${p}/readyz: HTTP 503: while this fails kvip does not lead on this node`,
        ),
      ),
    });
  });

  it('passes on 200 from the configured URL', async () => {
    const p = await httpServer(200);
    const rows = byName((await kubeRows(config({ healthCheck: `http://127.0.0.1:${p}/readyz` }), {})).rows);
    expect(rows['health check']).toEqual({
      check: 'health check',
      ok: true,
      detail: `http://127.0.0.1:${p}/readyz: healthy`,
    });
  });

  it('gives up at --healthCheckTimeout and says so', async () => {
    const p = await httpServer(0);
    const rows = byName(
      (await kubeRows(config({ healthCheck: `http://127.0.0.1:${p}/`, healthCheckTimeout: '0.3' }), {})).rows,
    );
    expect(rows['health check']?.ok).toBe(false);
    expect(rows['health check']?.detail).toMatch(/: no answer within 300 ms \(--healthCheckTimeout\): /);
  });

  it('is left out with --healthCheck off', async () => {
    const rows = byName((await kubeRows(config({ healthCheck: 'off' }), {})).rows);
    expect(rows['health check']).toBeUndefined();
  });
});
