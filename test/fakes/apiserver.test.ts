// The fake kube-apiserver (test/fakes/apiserver) against kube's Lease semantics: raw HTTP for the exact wire
// behaviour, @kubernetes/client-node 1.4 for what kvip's adapter will see, TLS, faults, and the standalone runner.
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
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type FakeApiServer, startFakeApiServer, type WatchEvent } from './apiserver/server.js';
import { until, within } from '../helpers/wait.js';

const NS = 'kube-system';
const LEASES = `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases`;
const TOKENS = { 'token-a': 'a', 'token-b': 'b' };
const MAIN = fileURLToPath(new URL('./apiserver/main.ts', import.meta.url));

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

interface Reply {
  status: number;
  body: Json;
  headers: Headers;
}

/** One request with Node's fetch as `client` (null: no Authorization header). */
async function call(
  fake: FakeApiServer,
  client: string | null,
  method: string,
  path: string,
  body?: unknown,
  signal?: AbortSignal,
): Promise<Reply> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const token = client === null ? undefined : (fake.tokenFor(client) ?? client);
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(fake.url + path, {
    method,
    headers,
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    ...(signal ? { signal } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

function lease(name: string, spec: Record<string, unknown> = {}, meta: Record<string, unknown> = {}) {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace: NS, ...meta },
    spec: {
      holderIdentity: 'a',
      leaseDurationSeconds: 15,
      renewTime: '2026-11-25T10:00:00.123456Z',
      ...spec,
    },
  };
}

interface RawWatch {
  res: IncomingMessage;
  events: WatchEvent[];
  /** 'end' for a clean end of stream, else the error code. */
  ended: Promise<string>;
  done: () => boolean;
  close: () => void;
}

/** A watch over node:http (so resets show as errors); resolves once the response headers are in. */
function rawWatch(fake: FakeApiServer, client: string, query: string, path = LEASES): Promise<RawWatch> {
  return new Promise((resolve, reject) => {
    const req = httpGet(
      `${fake.url}${path}?${query}`,
      { headers: { Authorization: `Bearer ${fake.tokenFor(client)}` } },
      (res) => {
        const events: WatchEvent[] = [];
        let finished = false;
        const ended = new Promise<string>((done) => {
          const finish = (how: string) => {
            finished = true;
            done(how);
          };
          res.on('error', (e: NodeJS.ErrnoException) => finish(e.code ?? e.message));
          req.on('error', (e: NodeJS.ErrnoException) => finish(e.code ?? e.message));
          res.on('end', () => finish('end'));
          res.on('close', () => finish(res.complete ? 'end' : 'aborted'));
        });
        createInterface({ input: res })
          .on('line', (l) => events.push(JSON.parse(l) as WatchEvent))
          .on('error', () => undefined); // reported through `ended`
        resolve({ res, events, ended, done: () => finished, close: () => req.destroy() });
      },
    );
    req.on('error', reject);
  });
}

function apiFor(fake: FakeApiServer, client: string): { kc: KubeConfig; api: CoordinationV1Api } {
  const kc = new KubeConfig();
  kc.loadFromString(fake.kubeconfig(client));
  return { kc, api: kc.makeApiClient(CoordinationV1Api) };
}

async function apiError(p: Promise<unknown>): Promise<{ code: number; body: Json }> {
  try {
    await p;
  } catch (e) {
    if (!(e instanceof ApiException)) throw e;
    const err = e as ApiException<string>;
    expect(typeof err.body).toBe('string');
    return { code: err.code, body: JSON.parse(err.body) };
  }
  throw new Error('expected an ApiException');
}

describe('fake kube-apiserver over HTTP', () => {
  let fake: FakeApiServer;
  beforeEach(async () => {
    fake = await startFakeApiServer({ tokens: TOKENS, bookmarkIntervalMs: 100 });
  });
  afterEach(async () => {
    await fake.close();
  });

  it('creates and reads a Lease, 404s a missing one and answers AlreadyExists on a second create', async () => {
    const created = await call(fake, 'a', 'POST', LEASES, lease('l1'));
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      kind: 'Lease',
      apiVersion: 'coordination.k8s.io/v1',
      metadata: { name: 'l1', namespace: NS, resourceVersion: '1' },
      spec: { holderIdentity: 'a', leaseDurationSeconds: 15, renewTime: '2026-11-25T10:00:00.123456Z' },
    });
    expect(created.body.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.body.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    const got = await call(fake, 'a', 'GET', `${LEASES}/l1`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual(created.body);
    expect(fake.getLease(NS, 'l1')).toEqual(created.body);

    const missing = await call(fake, 'a', 'GET', `${LEASES}/nope`);
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'leases.coordination.k8s.io "nope" not found',
      reason: 'NotFound',
      details: { name: 'nope', group: 'coordination.k8s.io', kind: 'leases' },
      code: 404,
    });

    const again = await call(fake, 'b', 'POST', LEASES, lease('l1', { holderIdentity: 'b' }));
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({
      reason: 'AlreadyExists',
      message: 'leases.coordination.k8s.io "l1" already exists',
      code: 409,
    });
    expect(fake.getLease(NS, 'l1')?.spec.holderIdentity).toBe('a');

    const second = await call(fake, 'a', 'POST', LEASES, lease('l2'));
    expect(second.body.metadata.resourceVersion).toBe('2');
    expect(fake.resourceVersion).toBe('2');
  });

  it('updates only with the current resourceVersion: 422 without one, 409 Conflict when stale', async () => {
    const created = (await call(fake, 'a', 'POST', LEASES, lease('l1'))).body;

    const noRv = await call(fake, 'a', 'PUT', `${LEASES}/l1`, lease('l1', { holderIdentity: 'x' }));
    expect(noRv.status).toBe(422);
    expect(noRv.body).toMatchObject({
      reason: 'Invalid',
      message:
        'Lease.coordination.k8s.io "l1" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update',
      details: { name: 'l1', group: 'coordination.k8s.io', kind: 'Lease' },
      code: 422,
    });

    const ok = await call(fake, 'a', 'PUT', `${LEASES}/l1`, {
      ...created,
      spec: { ...created.spec, holderIdentity: 'b', leaseTransitions: 1 },
    });
    expect(ok.status).toBe(200);
    expect(ok.body.metadata.resourceVersion).toBe('2');
    expect(ok.body.metadata.uid).toBe(created.metadata.uid);
    expect(ok.body.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });

    const stale = await call(fake, 'b', 'PUT', `${LEASES}/l1`, {
      ...created,
      spec: { ...created.spec, holderIdentity: 'c' },
    });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({
      reason: 'Conflict',
      message:
        'Operation cannot be fulfilled on leases.coordination.k8s.io "l1": the object has been modified; please apply your changes to the latest version and try again',
      details: { name: 'l1', group: 'coordination.k8s.io', kind: 'leases' },
    });
    expect(fake.getLease(NS, 'l1')?.spec.holderIdentity).toBe('b');

    // An update that changes nothing is not a write, as in kube.
    const same = await call(fake, 'a', 'PUT', `${LEASES}/l1`, ok.body);
    expect(same.status).toBe(200);
    expect(same.body.metadata.resourceVersion).toBe('2');

    const absent = await call(fake, 'a', 'PUT', `${LEASES}/zz`, lease('zz', {}, { resourceVersion: '2' }));
    expect(absent.status).toBe(404);
    const renamed = await call(
      fake,
      'a',
      'PUT',
      `${LEASES}/l1`,
      lease('other', {}, { resourceVersion: '2' }),
    );
    expect(renamed.status).toBe(400);
    expect(renamed.body.message).toBe(
      'the name of the object (other) does not match the name on the URL (l1)',
    );
  });

  it('decodes MicroTime like kube (exactly six fractional digits) and validates the spec', async () => {
    for (const bad of [
      '2026-11-25T10:00:00.278Z',
      '2026-11-25T10:00:00Z',
      '2026-11-25T10:00:00.123456789Z',
    ]) {
      const r = await call(fake, 'a', 'POST', LEASES, lease('l1', { renewTime: bad }));
      expect(r.status).toBe(400);
      expect(r.body.reason).toBe('BadRequest');
      expect(r.body.message).toMatch(/^Lease in version "v1" cannot be handled as a Lease: parsing time /);
      expect(r.body.message).toContain(bad);
    }
    const badAcquire = await call(
      fake,
      'a',
      'POST',
      LEASES,
      lease('l1', { acquireTime: '2026-11-25T10:00:00.5Z' }),
    );
    expect(badAcquire.status).toBe(400);
    const stringDuration = await call(fake, 'a', 'POST', LEASES, lease('l1', { leaseDurationSeconds: '15' }));
    expect(stringDuration.status).toBe(400);

    for (const d of [0, -3]) {
      const r = await call(fake, 'a', 'POST', LEASES, lease('l1', { leaseDurationSeconds: d }));
      expect(r.status).toBe(422);
      expect(r.body.reason).toBe('Invalid');
      expect(r.body.message).toBe(
        `Lease.coordination.k8s.io "l1" is invalid: spec.leaseDurationSeconds: Invalid value: ${d}: must be greater than 0`,
      );
    }
    const transitions = await call(fake, 'a', 'POST', LEASES, lease('l1', { leaseTransitions: -1 }));
    expect(transitions.status).toBe(422);
    expect(transitions.body.details.causes).toEqual([
      {
        reason: 'FieldValueInvalid',
        message: 'Invalid value: -1: must be greater than or equal to 0',
        field: 'spec.leaseTransitions',
      },
    ]);
    expect(fake.getLease(NS, 'l1')).toBeUndefined();
    expect(fake.resourceVersion).toBe('0');

    // Offsets are accepted and normalised to UTC; holderIdentity "" is kept (a released lease).
    const ok = await call(
      fake,
      'a',
      'POST',
      LEASES,
      lease('l1', { holderIdentity: '', acquireTime: '2026-11-25T12:30:00.000001+02:00' }),
    );
    expect(ok.status).toBe(201);
    expect(ok.body.spec).toMatchObject({ holderIdentity: '', acquireTime: '2026-11-25T10:30:00.000001Z' });
  });

  it('authenticates bearer tokens, simulates RBAC denials and 404s unknown paths', async () => {
    const none = await call(fake, null, 'GET', `${LEASES}/l1`);
    expect(none.status).toBe(401);
    expect(none.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Unauthorized',
      reason: 'Unauthorized',
      code: 401,
    });
    expect((await call(fake, 'not-a-token', 'GET', `${LEASES}/l1`)).status).toBe(401);

    fake.denied.push({ client: 'b', verb: 'update' }, { client: 'b', verb: 'create' });
    const created = (await call(fake, 'a', 'POST', LEASES, lease('l1'))).body;
    const put = await call(fake, 'b', 'PUT', `${LEASES}/l1`, { ...created, spec: { holderIdentity: 'b' } });
    expect(put.status).toBe(403);
    expect(put.body).toMatchObject({
      reason: 'Forbidden',
      message:
        'leases.coordination.k8s.io "l1" is forbidden: User "system:serviceaccount:kube-system:b" cannot update resource "leases" in API group "coordination.k8s.io" in the namespace "kube-system"',
      details: { name: 'l1', group: 'coordination.k8s.io', kind: 'leases' },
      code: 403,
    });
    const post = await call(fake, 'b', 'POST', LEASES, lease('l2'));
    expect(post.body.message).toBe(
      'leases.coordination.k8s.io is forbidden: User "system:serviceaccount:kube-system:b" cannot create resource "leases" in API group "coordination.k8s.io" in the namespace "kube-system"',
    );
    expect((await call(fake, 'b', 'GET', `${LEASES}/l1`)).status).toBe(200);
    expect(
      (await call(fake, 'a', 'PUT', `${LEASES}/l1`, { ...created, spec: { holderIdentity: 'a2' } })).status,
    ).toBe(200);

    const unknown = await call(fake, 'a', 'GET', '/apis/apps/v1/namespaces/kube-system/deployments');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ kind: 'Status', reason: 'NotFound', code: 404 });

    expect(fake.requests.map((r) => [r.client, r.verb, r.status])).toEqual([
      ['', 'get', 401],
      ['', 'get', 401],
      ['a', 'create', 201],
      ['b', 'update', 403],
      ['b', 'create', 403],
      ['b', 'get', 200],
      ['a', 'update', 200],
      ['a', 'get', 404],
    ]);
  });

  it('lists with a field selector and deletes', async () => {
    await call(fake, 'a', 'POST', LEASES, lease('l1'));
    await call(fake, 'a', 'POST', LEASES, lease('l2'));
    const all = await call(fake, 'a', 'GET', LEASES);
    expect(all.body).toMatchObject({
      kind: 'LeaseList',
      apiVersion: 'coordination.k8s.io/v1',
      metadata: { resourceVersion: '2' },
    });
    expect(all.body.items.map((l: Json) => l.metadata.name)).toEqual(['l1', 'l2']);
    const one = await call(
      fake,
      'a',
      'GET',
      `${LEASES}?fieldSelector=${encodeURIComponent('metadata.name=l2')}`,
    );
    expect(one.body.items.map((l: Json) => l.metadata.name)).toEqual(['l2']);

    const del = await call(fake, 'a', 'DELETE', `${LEASES}/l1`);
    expect(del.status).toBe(200);
    expect(del.body).toMatchObject({
      kind: 'Status',
      status: 'Success',
      details: { name: 'l1', kind: 'leases' },
    });
    expect((await call(fake, 'a', 'GET', `${LEASES}/l1`)).status).toBe(404);
    expect((await call(fake, 'a', 'DELETE', `${LEASES}/l1`)).status).toBe(404);
    expect(fake.resourceVersion).toBe('3');
  });

  it('watches: ADDED for what exists, then MODIFIED, DELETED and BOOKMARKs', async () => {
    await call(fake, 'a', 'POST', LEASES, lease('l1'));
    await call(fake, 'a', 'POST', LEASES, lease('other'));
    const w = await rawWatch(fake, 'b', 'watch=1&allowWatchBookmarks=true&fieldSelector=metadata.name%3Dl1');
    expect(w.res.statusCode).toBe(200);
    expect(w.res.headers['content-type']).toBe('application/json');
    expect(w.res.headers['transfer-encoding']).toBe('chunked');
    await until(() => w.events.length >= 1, 'ADDED');
    expect(w.events[0]).toMatchObject({
      type: 'ADDED',
      object: { metadata: { name: 'l1', resourceVersion: '1' } },
    });

    const cur = fake.getLease(NS, 'l1')!;
    await call(fake, 'a', 'PUT', `${LEASES}/l1`, { ...cur, spec: { ...cur.spec, holderIdentity: 'b' } });
    await call(fake, 'a', 'PUT', `${LEASES}/other`, {
      ...lease('other', { holderIdentity: 'z' }),
      metadata: { name: 'other', resourceVersion: '2' },
    });
    await call(fake, 'a', 'DELETE', `${LEASES}/l1`);
    await until(() => w.events.some((e) => e.type === 'DELETED'), 'DELETED');
    await until(() => w.events.filter((e) => e.type === 'BOOKMARK').length >= 2, 'two bookmarks');
    const changes = w.events.filter((e) => e.type !== 'BOOKMARK');
    expect(changes.map((e) => [e.type, (e.object as Json).metadata.resourceVersion])).toEqual([
      ['ADDED', '1'],
      ['MODIFIED', '3'],
      ['DELETED', '5'],
    ]);
    expect((changes[1]!.object as Json).spec.holderIdentity).toBe('b');
    expect(w.events.find((e) => e.type === 'BOOKMARK')!.object).toEqual({
      kind: 'Lease',
      apiVersion: 'coordination.k8s.io/v1',
      metadata: { resourceVersion: expect.stringMatching(/^\d+$/) },
    });
    expect(w.done()).toBe(false);
    w.close();
  });

  it('resumes a watch from a resourceVersion, and answers 410 Expired once history is compacted', async () => {
    await call(fake, 'a', 'POST', LEASES, lease('l1')); // rv 1
    for (let i = 0; i < 3; i++) {
      const cur = fake.getLease(NS, 'l1')!;
      await call(fake, 'a', 'PUT', `${LEASES}/l1`, {
        ...cur,
        spec: { ...cur.spec, leaseTransitions: i + 1 },
      });
    } // rv 2..4
    const resumed = await rawWatch(fake, 'a', 'watch=true&resourceVersion=2');
    await until(() => resumed.events.length >= 2, 'replayed events');
    expect(resumed.events.map((e) => [e.type, (e.object as Json).metadata.resourceVersion])).toEqual([
      ['MODIFIED', '3'],
      ['MODIFIED', '4'],
    ]);
    resumed.close();

    fake.compact();
    const expired = await rawWatch(fake, 'a', 'watch=1&resourceVersion=2');
    expect(await within(expired.ended, 'the end of the expired watch')).toBe('end');
    expect(expired.events).toEqual([
      {
        type: 'ERROR',
        object: {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: expect.stringMatching(/^too old resource version: 2 \(\d+\)$/),
          reason: 'Expired',
          code: 410,
        },
      },
    ]);
    // From the current resourceVersion nothing is missing: the watch stays open and sees the next write.
    const current = await rawWatch(fake, 'a', `watch=1&resourceVersion=${fake.resourceVersion}`);
    fake.putLease({ metadata: { name: 'l1', namespace: NS }, spec: { holderIdentity: 'oob' } });
    await until(() => current.events.length >= 1, 'out-of-band write');
    expect(current.events[0]).toMatchObject({
      type: 'MODIFIED',
      object: { spec: { holderIdentity: 'oob' } },
    });
    current.close();
  });

  it('ends a watch after timeoutSeconds', async () => {
    const w = await rawWatch(fake, 'a', 'watch=1&timeoutSeconds=1');
    expect(await within(w.ended, 'the watch to time out', 10000)).toBe('end');
  });

  it('delays one client only, and still commits a delayed write whose client gave up (as a slow etcd does)', async () => {
    await call(fake, 'a', 'POST', LEASES, lease('l1'));
    fake.setFault('a', { kind: 'delay', ms: 1000 });
    const slow = call(fake, 'a', 'GET', `${LEASES}/l1`);
    await until(() => fake.requests.length === 2, "a's get to arrive");
    // b is answered while a's get waits out its delay.
    expect((await call(fake, 'b', 'GET', `${LEASES}/l1`)).status).toBe(200);
    expect(fake.requests.map((r) => [r.client, r.verb, r.status])).toEqual([
      ['a', 'create', 201],
      ['a', 'get', 0],
      ['b', 'get', 200],
    ]);
    expect((await slow).status).toBe(200);

    const cur = fake.getLease(NS, 'l1')!;
    const ctl = new AbortController();
    const put = call(
      fake,
      'a',
      'PUT',
      `${LEASES}/l1`,
      { ...cur, spec: { holderIdentity: 'late' } },
      ctl.signal,
    );
    await until(() => fake.requests.length === 4, "a's put to arrive");
    ctl.abort();
    await expect(put).rejects.toThrow();
    // Delayed as long and sent later, this get is answered only after the put's delay has run out: the put
    // whose client gave up was committed all the same, as a slow etcd commits it.
    expect((await call(fake, 'a', 'GET', `${LEASES}/l1`)).body.spec.holderIdentity).toBe('late');
    expect(fake.resourceVersion).toBe('2');
  });

  it('hangs a request until the client aborts', async () => {
    fake.setFault('a', { kind: 'hang' });
    await expect(call(fake, 'a', 'GET', `${LEASES}/l1`, undefined, AbortSignal.timeout(300))).rejects.toThrow(
      /timeout|abort/i,
    );
    expect(fake.requests.at(-1)).toMatchObject({ client: 'a', verb: 'get', status: 0 });
    expect((await call(fake, 'b', 'GET', `${LEASES}/l1`)).status).toBe(404);
    // A request still hanging when the server closes is cut then (afterEach must not wait for it).
    void call(fake, 'a', 'GET', `${LEASES}/l1`).catch(() => undefined);
  });

  it('answers injected 5xx/429 for the given verbs and count', async () => {
    await call(fake, 'a', 'POST', LEASES, lease('l1'));
    fake.setFault('a', { kind: 'status', code: 503 }, { count: 2 });
    for (let i = 0; i < 2; i++) {
      const r = await call(fake, 'a', 'GET', `${LEASES}/l1`);
      expect(r.status).toBe(503);
      expect(r.body).toMatchObject({
        kind: 'Status',
        status: 'Failure',
        reason: 'ServiceUnavailable',
        code: 503,
      });
    }
    expect((await call(fake, 'a', 'GET', `${LEASES}/l1`)).status).toBe(200);

    fake.setFault('a', { kind: 'status', code: 500 }, { verbs: ['update'] });
    const cur = fake.getLease(NS, 'l1')!;
    expect((await call(fake, 'a', 'GET', `${LEASES}/l1`)).status).toBe(200);
    expect((await call(fake, 'a', 'PUT', `${LEASES}/l1`, cur)).status).toBe(500);
    fake.setFault('a', null);
    expect((await call(fake, 'a', 'PUT', `${LEASES}/l1`, cur)).status).toBe(200);

    fake.setFault('*', { kind: 'status', code: 429 });
    const limited = await call(fake, 'b', 'GET', `${LEASES}/l1`);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect((await call(fake, 'a', 'GET', `${LEASES}/l1`)).status).toBe(429);
    fake.clearFaults();
    expect((await call(fake, 'b', 'GET', `${LEASES}/l1`)).status).toBe(200);
  });

  it('resets the connection (ECONNRESET)', async () => {
    fake.setFault('a', { kind: 'reset' }, { count: 1 });
    const err = await call(fake, 'a', 'GET', `${LEASES}/l1`).then(
      () => null,
      (e: Error & { cause?: NodeJS.ErrnoException }) => e,
    );
    expect(err?.cause?.code).toBe('ECONNRESET');
    expect((await call(fake, 'a', 'GET', `${LEASES}/l1`)).status).toBe(404);
  });

  it('partitions one client: its watch is cut at once and its requests hang, while another client works', async () => {
    await call(fake, 'a', 'POST', LEASES, lease('l1'));
    const wa = await rawWatch(fake, 'a', 'watch=1&fieldSelector=metadata.name%3Dl1');
    const wb = await rawWatch(fake, 'b', 'watch=1&fieldSelector=metadata.name%3Dl1');
    await until(() => wa.events.length === 1 && wb.events.length === 1, 'initial ADDED on both watches');

    fake.setFault('a', { kind: 'partition' });
    expect(await within(wa.ended, 'the partitioned watch to be cut')).toBe('ECONNRESET');
    await expect(
      call(fake, 'a', 'GET', `${LEASES}/l1`, undefined, AbortSignal.timeout(300)),
    ).rejects.toThrow();
    // A new watch hangs too: the fake takes it in and never answers (rejected when the server closes).
    let answered = false;
    rawWatch(fake, 'a', 'watch=1').then(
      () => (answered = true),
      () => undefined,
    );
    await until(() => fake.requests.at(-1)?.verb === 'watch', 'the new watch to arrive');
    expect(fake.requests.at(-1)).toMatchObject({ client: 'a', verb: 'watch', status: 0 });

    const cur = fake.getLease(NS, 'l1')!;
    const taken = await call(fake, 'b', 'PUT', `${LEASES}/l1`, {
      ...cur,
      spec: { ...cur.spec, holderIdentity: 'b' },
    });
    expect(taken.status).toBe(200);
    await until(() => wb.events.length === 2, 'MODIFIED on the healthy client');
    expect(wb.events[1]).toMatchObject({ type: 'MODIFIED', object: { spec: { holderIdentity: 'b' } } });
    expect(wb.done()).toBe(false);

    fake.setFault('a', null);
    expect((await call(fake, 'a', 'GET', `${LEASES}/l1`)).body.spec.holderIdentity).toBe('b');
    expect(answered).toBe(false);
    wb.close();
  });
});

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
