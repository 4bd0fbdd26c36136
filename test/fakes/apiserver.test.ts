// The fake kube-apiserver (src/lease-api) against kube's Lease semantics over raw HTTP: create, read,
// update with optimistic concurrency, MicroTime, auth and RBAC, list, delete and watch. Faults, client-node,
// TLS and the standalone runner are in apiserver-*.test.ts.
import { type FakeApiServer, startFakeApiServer } from '../../src/lease-api/server.js';
import { call, type Json, lease, LEASES, NS, rawWatch, TOKENS } from './apiserver-clients.js';
import { until, within } from '../helpers/wait.js';

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
});
