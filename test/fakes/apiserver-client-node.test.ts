// The fake kube-apiserver through @kubernetes/client-node 1.4 (what kvip's adapter is compared with), over TLS,
// and driven from outside: the /_fake/ control routes and the standalone runner (main.ts).
import {
  ApiException,
  CoordinationV1Api,
  KubeConfig,
  V1MicroTime,
  Watch,
  type V1Lease,
} from '@kubernetes/client-node';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type FakeApiServer, startFakeApiServer } from '../../src/lease-api/server.js';
import { apiError, apiFor, call, type Json, lease, LEASES, NS, TOKENS } from './apiserver-clients.js';
import { until } from '../helpers/wait.js';

const MAIN = fileURLToPath(new URL('../../src/lease-api/main.ts', import.meta.url));

describe('fake kube-apiserver through @kubernetes/client-node 1.4', () => {
  let fake: FakeApiServer;
  beforeEach(async () => {
    fake = await startFakeApiServer({ tokens: TOKENS, bookmarkIntervalMs: 100 });
  });
  afterEach(async () => {
    await fake.close();
  });

  it('round-trips a Lease; V1MicroTime is sent with six digits, a plain Date is rejected', async () => {
    const { api } = apiFor(fake, 'a');
    const when = new Date('2026-11-25T10:00:00.278Z');
    expect(new V1MicroTime(when).toISOString()).toBe('2026-11-25T10:00:00.278000Z');
    expect(JSON.stringify({ t: new V1MicroTime(when) })).toBe('{"t":"2026-11-25T10:00:00.278000Z"}');

    const created = await api.createNamespacedLease({
      namespace: NS,
      body: {
        metadata: { name: 'l1' },
        spec: {
          holderIdentity: 'a',
          leaseDurationSeconds: 15,
          acquireTime: new V1MicroTime(when),
          renewTime: new V1MicroTime(when),
        },
      },
    });
    expect(created.metadata?.resourceVersion).toBe('1');
    // Times come back as strings (client-node does not revive MicroTime), creationTimestamp as a Date.
    expect(created.spec?.renewTime).toBe('2026-11-25T10:00:00.278000Z');
    expect(created.metadata?.creationTimestamp).toBeInstanceOf(Date);
    expect(fake.getLease(NS, 'l1')?.spec.acquireTime).toBe('2026-11-25T10:00:00.278000Z');

    const plain = await apiError(
      api.createNamespacedLease({
        namespace: NS,
        body: { metadata: { name: 'l2' }, spec: { renewTime: when as V1MicroTime } },
      }),
    );
    expect(plain.code).toBe(400);
    expect(plain.body.message).toContain('parsing time "2026-11-25T10:00:00.278Z"');

    // Read-modify-write with the object as client-node deserialised it.
    const got: V1Lease = await api.readNamespacedLease({ name: 'l1', namespace: NS });
    got.spec!.holderIdentity = 'b';
    got.spec!.renewTime = new V1MicroTime(new Date('2026-11-25T10:00:01Z'));
    const replaced = await api.replaceNamespacedLease({ name: 'l1', namespace: NS, body: got });
    expect(replaced.metadata?.resourceVersion).toBe('2');
    expect(replaced.spec?.renewTime).toBe('2026-11-25T10:00:01.000000Z');
    const stored = await api.listNamespacedLease({ namespace: NS, fieldSelector: 'metadata.name=l1' });
    expect(stored.items.map((l) => l.spec?.holderIdentity)).toEqual(['b']);
    const status = await api.deleteNamespacedLease({ name: 'l1', namespace: NS });
    expect(status.status).toBe('Success');
  });

  it('surfaces kube errors as ApiException with the Status as a raw string body', async () => {
    const { api } = apiFor(fake, 'a');
    const body = { metadata: { name: 'l1' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15 } };
    const created = await api.createNamespacedLease({ namespace: NS, body });

    const missing = await apiError(api.readNamespacedLease({ name: 'zz', namespace: NS }));
    expect(missing).toMatchObject({ code: 404, body: { reason: 'NotFound' } });
    const exists = await apiError(api.createNamespacedLease({ namespace: NS, body }));
    expect(exists).toMatchObject({ code: 409, body: { reason: 'AlreadyExists' } });
    const noRv = await apiError(api.replaceNamespacedLease({ name: 'l1', namespace: NS, body }));
    expect(noRv).toMatchObject({ code: 422, body: { reason: 'Invalid' } });
    await api.replaceNamespacedLease({
      name: 'l1',
      namespace: NS,
      body: { ...created, spec: { ...created.spec, holderIdentity: 'a2' } },
    });
    const stale = await apiError(api.replaceNamespacedLease({ name: 'l1', namespace: NS, body: created }));
    expect(stale).toMatchObject({ code: 409, body: { reason: 'Conflict' } });
    const zero = await apiError(
      api.createNamespacedLease({
        namespace: NS,
        body: { metadata: { name: 'l3' }, spec: { leaseDurationSeconds: 0 } },
      }),
    );
    expect(zero).toMatchObject({ code: 422, body: { reason: 'Invalid' } });

    fake.denied.push({ client: 'a', verb: 'get' });
    const denied = await apiError(api.readNamespacedLease({ name: 'l1', namespace: NS }));
    expect(denied.code).toBe(403);
    expect(denied.body.message).toContain('cannot get resource "leases"');

    const kc = new KubeConfig();
    kc.loadFromString(fake.kubeconfig('a').replace(/token: .*/, 'token: wrong'));
    // For 401 client-node throws before reading the body: ApiException body is undefined.
    const anon = await kc
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ name: 'l1', namespace: NS })
      .then(
        () => null,
        (e: ApiException<unknown>) => e,
      );
    expect(anon).toBeInstanceOf(ApiException);
    expect(anon).toMatchObject({ code: 401, body: undefined });
  });

  it("works with client-node's Watch: events, bookmarks, 410, server-side end, and a partition", async () => {
    const { kc, api } = apiFor(fake, 'a');
    await api.createNamespacedLease({
      namespace: NS,
      body: { metadata: { name: 'l1' }, spec: { holderIdentity: 'a' } },
    });
    const seen: [string, Json][] = [];
    let doneWith: unknown = 'not yet';
    await new Watch(kc).watch(
      `${LEASES}`,
      { fieldSelector: 'metadata.name=l1', allowWatchBookmarks: true, timeoutSeconds: 2 },
      (type, obj) => seen.push([type, obj]),
      (err) => (doneWith = err),
    );
    await until(() => seen.length >= 1, 'ADDED');
    fake.putLease({ metadata: { name: 'l1', namespace: NS }, spec: { holderIdentity: 'b' } });
    await until(() => seen.some(([t]) => t === 'MODIFIED') && seen.some(([t]) => t === 'BOOKMARK'), 'events');
    expect(seen[0]![0]).toBe('ADDED');
    expect(seen.find(([t]) => t === 'MODIFIED')![1].spec.holderIdentity).toBe('b');
    // timeoutSeconds=2: the server ends the stream cleanly and done() gets null.
    await until(() => doneWith !== 'not yet', 'done after timeoutSeconds');
    expect(doneWith).toBeNull();

    fake.compact();
    const expired: [string, Json][] = [];
    let expiredDone: unknown = 'not yet';
    await new Watch(kc).watch(
      LEASES,
      { resourceVersion: '1' },
      (type, obj) => expired.push([type, obj]),
      (err) => (expiredDone = err),
    );
    await until(() => expiredDone !== 'not yet', 'done after 410');
    expect(expired).toEqual([['ERROR', expect.objectContaining({ code: 410, reason: 'Expired' })]]);
    expect(expiredDone).toBeNull();

    let cutDone: unknown = 'not yet';
    const cutSeen: string[] = [];
    await new Watch(kc).watch(
      LEASES,
      {},
      (type) => cutSeen.push(type),
      (err) => (cutDone = err),
    );
    await until(() => cutSeen.length === 1, 'ADDED before the partition');
    fake.setFault('a', { kind: 'partition' });
    await until(() => cutDone !== 'not yet', 'done after the partition');
    // A node-fetch FetchError (from another realm than jest's Error, so no toBeInstanceOf).
    expect(cutDone).toMatchObject({ code: 'ECONNRESET' });
  });
});

describe('fake kube-apiserver with TLS', () => {
  let fake: FakeApiServer;
  beforeAll(async () => {
    fake = await startFakeApiServer({ tls: true, tokens: TOKENS });
  });
  afterAll(async () => {
    await fake.close();
  });

  it('serves HTTPS that client-node verifies with the CA from the kubeconfig', async () => {
    expect(fake.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(fake.caPem).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(fake.kubeconfig('a')).toContain('certificate-authority-data:');
    expect(fake.kubeconfig('a')).not.toContain('insecure-skip-tls-verify');
    const { kc, api } = apiFor(fake, 'a');
    await api.createNamespacedLease({
      namespace: NS,
      body: { metadata: { name: 'tls' }, spec: { holderIdentity: 'a' } },
    });
    expect((await api.readNamespacedLease({ name: 'tls', namespace: NS })).spec?.holderIdentity).toBe('a');

    const seen: string[] = [];
    const ctl = await new Watch(kc).watch(
      LEASES,
      {},
      (type) => seen.push(type),
      () => undefined,
    );
    await until(() => seen.length === 1, 'ADDED over TLS');
    ctl.abort();

    // Without the CA the certificate is not trusted.
    const untrusted = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
      httpsGet(`${fake.url}/version`, (res) => {
        res.resume();
        resolve(null);
      }).on('error', resolve);
    });
    expect(untrusted?.code).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER/);
    const trusted = await new Promise<number | undefined>((resolve, reject) => {
      httpsGet(`${fake.url}/version`, { ca: fake.caPem }, (res) => {
        res.resume();
        resolve(res.statusCode);
      }).on('error', reject);
    });
    expect(trusted).toBe(200);
  });

  it('resets TLS connections too', async () => {
    fake.setFault('b', { kind: 'reset' }, { count: 1 });
    const { api } = apiFor(fake, 'b');
    await expect(api.readNamespacedLease({ name: 'tls', namespace: NS })).rejects.toMatchObject({
      code: 'ECONNRESET',
    });
  });
});

describe('fake kube-apiserver control routes and standalone runner', () => {
  it('sets faults and reads leases through /_fake/', async () => {
    const fake = await startFakeApiServer({ control: true });
    try {
      const post = await fetch(`${fake.url}/_fake/faults`, {
        method: 'POST',
        body: JSON.stringify({
          client: 'anonymous',
          fault: { kind: 'status', code: 504 },
          verbs: ['get'],
          count: 1,
        }),
      });
      expect(post.status).toBe(204);
      expect((await call(fake, null, 'GET', `${LEASES}/l1`)).status).toBe(504);
      expect((await call(fake, null, 'GET', `${LEASES}/l1`)).status).toBe(404);
      const bad = await fetch(`${fake.url}/_fake/faults`, {
        method: 'POST',
        body: JSON.stringify({ client: 'a', fault: { kind: 'explode' } }),
      });
      expect(bad.status).toBe(400);
      await call(fake, null, 'POST', LEASES, lease('l1'));
      const got = await fetch(`${fake.url}/_fake/leases/${NS}/l1`);
      expect(((await got.json()) as Json).spec.holderIdentity).toBe('a');
      expect((await fetch(`${fake.url}/_fake/leases/${NS}/zz`)).status).toBe(404);
      expect((await fetch(`${fake.url}/_fake/faults`, { method: 'DELETE' })).status).toBe(204);
      // Control requests are not API requests.
      expect(fake.requests.every((r) => !r.path.startsWith('/_fake/'))).toBe(true);
    } finally {
      await fake.close();
    }
  });

  it('runs standalone: writes kubeconfigs, prints its url, takes faults from another process, exits on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvip-fake-'));
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', MAIN, '--tls', '--clients', 'a,b', '--kubeconfig-dir', dir, '--control-port', '0'],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      const lines: string[] = [];
      createInterface({ input: child.stdout }).on('line', (l) => lines.push(l));
      await until(
        () => lines.some((l) => l.startsWith('listening ')),
        `listening line (stderr: ${stderr})`,
        20000,
      );
      const url = lines.find((l) => l.startsWith('listening '))!.slice('listening '.length);
      const control = lines.find((l) => l.startsWith('control '))!.slice('control '.length);
      expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(readFileSync(join(dir, 'ca.crt'), 'utf8')).toMatch(/BEGIN CERTIFICATE/);

      const kcA = new KubeConfig();
      kcA.loadFromFile(join(dir, 'a.kubeconfig'));
      const kcB = new KubeConfig();
      kcB.loadFromFile(join(dir, 'b.kubeconfig'));
      const a = kcA.makeApiClient(CoordinationV1Api);
      const b = kcB.makeApiClient(CoordinationV1Api);
      await a.createNamespacedLease({
        namespace: NS,
        body: { metadata: { name: 'l1' }, spec: { holderIdentity: 'a' } },
      });

      const set = await fetch(`${control}/_fake/faults`, {
        method: 'POST',
        body: JSON.stringify({ client: 'b', fault: { kind: 'status', code: 503 } }),
      });
      expect(set.status).toBe(204);
      expect((await apiError(b.readNamespacedLease({ name: 'l1', namespace: NS }))).code).toBe(503);
      expect((await a.readNamespacedLease({ name: 'l1', namespace: NS })).spec?.holderIdentity).toBe('a');
      const stored = (await (await fetch(`${control}/_fake/leases/${NS}/l1`)).json()) as Json;
      expect(stored.metadata.resourceVersion).toBe('1');

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
