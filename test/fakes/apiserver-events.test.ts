// The fake kube-apiserver's core/v1 Events (src/lease-api/events.ts) over raw HTTP, against what
// kube-apiserver does for /api/v1: create with the legacy Event rules, get, list with selectors, merge patch
// (how a repeat is counted), RBAC and faults scoped to Events.
import { type FakeApiServer, startFakeApiServer } from '../../src/lease-api/server.js';
import { call, type Json, lease, LEASES, NS, TOKENS } from './apiserver-clients.js';
import { until, within } from '../helpers/wait.js';

const EVENTS = `/api/v1/namespaces/${NS}/events`;

/** An Event as kvip posts one: eventTime set, so the fields events.k8s.io requires are required. */
function event(name: string, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name, namespace: NS },
    involvedObject: { apiVersion: 'v1', kind: 'Pod', namespace: NS, name: 'kvip-cp1', uid: 'u-1' },
    reason: 'StartedLeading',
    message: 'cp1 leads',
    source: { component: 'kvip', host: 'cp1' },
    firstTimestamp: '2026-11-25T10:00:00Z',
    lastTimestamp: '2026-11-25T10:00:00Z',
    count: 1,
    type: 'Normal',
    eventTime: '2026-11-25T10:00:00.123456Z',
    action: 'Lead',
    reportingComponent: 'kvip',
    reportingInstance: 'kvip-cp1',
    ...fields,
  };
}

async function patch(fake: FakeApiServer, client: string, path: string, body: unknown, type: string) {
  const res = await fetch(fake.url + path, {
    method: 'PATCH',
    headers: { Authorization: `Bearer ${fake.tokenFor(client)}`, 'Content-Type': type },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

describe('fake kube-apiserver: core/v1 Events', () => {
  let fake: FakeApiServer;
  beforeEach(async () => {
    fake = await startFakeApiServer({ tokens: TOKENS });
  });
  afterEach(async () => {
    await fake.close();
  });

  it('creates an Event as kube serialises it, reads it back, lists with selectors, AlreadyExists on a repeat', async () => {
    const created = await call(fake, 'a', 'POST', EVENTS, event('kvip-cp1.1'));
    expect(created.status).toBe(201);
    const { metadata, ...rest } = created.body;
    expect(metadata).toEqual({
      name: 'kvip-cp1.1',
      namespace: NS,
      uid: expect.stringMatching(/^[0-9a-f-]{36}$/),
      resourceVersion: '1',
      creationTimestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
    });
    // Key order is Go's struct order; the fields without omitempty are there.
    expect(Object.keys(rest)).toEqual([
      'kind',
      'apiVersion',
      'involvedObject',
      'reason',
      'message',
      'source',
      'firstTimestamp',
      'lastTimestamp',
      'count',
      'type',
      'eventTime',
      'action',
      'reportingComponent',
      'reportingInstance',
    ]);
    expect((await call(fake, 'a', 'GET', `${EVENTS}/kvip-cp1.1`)).body).toEqual(created.body);
    expect(fake.events(NS)).toEqual([created.body]);

    // An old-style Event (no eventTime) needs little; unset times are null, the reporting fields empty.
    const old = await call(fake, 'a', 'POST', EVENTS, {
      metadata: { name: 'old.1' },
      involvedObject: { kind: 'Lease', namespace: NS, name: 'plndr-cp-lock' },
      firstTimestamp: '2026-11-25T10:00:00.987+01:00',
    });
    expect(old.status).toBe(201);
    expect(old.body).toMatchObject({
      firstTimestamp: '2026-11-25T09:00:00Z',
      lastTimestamp: null,
      eventTime: null,
      source: {},
      reportingComponent: '',
      reportingInstance: '',
    });

    const list = await call(
      fake,
      'a',
      'GET',
      `${EVENTS}?fieldSelector=involvedObject.kind%3DPod,reason%3DStartedLeading`,
    );
    expect(list.body).toMatchObject({
      kind: 'EventList',
      apiVersion: 'v1',
      metadata: { resourceVersion: '2' },
    });
    expect(list.body.items.map((e: Json) => e.metadata.name)).toEqual(['kvip-cp1.1']);
    expect(list.body.items[0].kind).toBeUndefined();
    const notPods = await call(fake, 'a', 'GET', `/api/v1/events?fieldSelector=involvedObject.kind!%3DPod`);
    expect(notPods.body.items.map((e: Json) => e.metadata.name)).toEqual(['old.1']);
    const bad = await call(fake, 'a', 'GET', `${EVENTS}?fieldSelector=spec.x%3Dy`);
    expect(bad.status).toBe(400);
    expect(bad.body.message).toBe('field label not supported: spec.x');

    const again = await call(fake, 'a', 'POST', EVENTS, event('kvip-cp1.1'));
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({
      reason: 'AlreadyExists',
      message: 'events "kvip-cp1.1" already exists',
      details: { name: 'kvip-cp1.1', kind: 'events' },
    });
    const missing = await call(fake, 'a', 'GET', `${EVENTS}/nope`);
    expect(missing.status).toBe(404);
    expect(missing.body.message).toBe('events "nope" not found');
  });

  it('refuses what kube-apiserver refuses: 400 for the namespace or a wrong type, 422 for the Event rules', async () => {
    const otherNs = await call(
      fake,
      'a',
      'POST',
      EVENTS,
      event('e', { metadata: { name: 'e', namespace: 'x' } }),
    );
    expect(otherNs.status).toBe(400);
    expect(otherNs.body.message).toBe(
      'the namespace of the provided object does not match the namespace sent on the request',
    );
    const wrongType = await call(fake, 'a', 'POST', EVENTS, event('e', { reason: 7 }));
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.message).toBe(
      'Event in version "v1" cannot be handled as a Event: json: cannot unmarshal number into Go struct field Event.reason of type string',
    );
    const badTime = await call(fake, 'a', 'POST', EVENTS, event('e', { eventTime: '2026-11-25T10:00:00Z' }));
    expect(badTime.status).toBe(400);

    const objNs = await call(
      fake,
      'a',
      'POST',
      EVENTS,
      event('e', { eventTime: undefined, involvedObject: { kind: 'Pod', namespace: 'default', name: 'p' } }),
    );
    expect(objNs.status).toBe(422);
    expect(objNs.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'Event "e" is invalid: involvedObject.namespace: Invalid value: "default": does not match event.namespace',
      reason: 'Invalid',
      details: {
        name: 'e',
        kind: 'Event',
        causes: [
          {
            reason: 'FieldValueInvalid',
            message: 'Invalid value: "default": does not match event.namespace',
            field: 'involvedObject.namespace',
          },
        ],
      },
      code: 422,
    });

    // With eventTime kube checks only that an involved object without a namespace is in default or kube-system.
    const elsewhere = { kind: 'Pod', namespace: 'default', name: 'p' };
    expect((await call(fake, 'a', 'POST', EVENTS, event('e0', { involvedObject: elsewhere }))).status).toBe(
      201,
    );
    // And what events.k8s.io requires is required through core/v1 too.
    const bare = await call(
      fake,
      'a',
      'POST',
      EVENTS,
      event('e', {
        reason: undefined,
        action: undefined,
        reportingComponent: undefined,
        reportingInstance: 'i'.repeat(129),
        message: 'é'.repeat(513), // 1026 bytes: kube counts bytes
      }),
    );
    expect(bare.status).toBe(422);
    expect(bare.body.details.causes.map((c: Json) => `${c.field}: ${c.message}`)).toEqual([
      'reportingController: Required value',
      expect.stringMatching(/^reportingController: Invalid value: "": name part must consist of/),
      'reportingInstance: Invalid value: "": can have at most 128 characters',
      'action: Required value',
      'reason: Required value',
      'message: Invalid value: "": can have at most 1024 characters',
    ]);
    expect(bare.body.message).toMatch(/^Event "e" is invalid: \[reportingController: Required value, /);
    const slash = await call(fake, 'a', 'POST', EVENTS, event('e', { reportingComponent: 'a/b/c' }));
    expect(slash.body.details.causes[0].field).toBe('reportingController');

    // Old-style: without eventTime the same Event is fine.
    const legacy = event('legacy', { eventTime: undefined, reason: undefined, action: undefined });
    expect((await call(fake, 'a', 'POST', EVENTS, legacy)).status).toBe(201);

    const noName = await call(fake, 'a', 'POST', EVENTS, event('', { metadata: {} }));
    expect(noName.status).toBe(422);
    expect(noName.body.message).toBe(
      'Event "" is invalid: metadata.name: Required value: name or generateName is required',
    );
    const generated = await call(
      fake,
      'a',
      'POST',
      EVENTS,
      event('', { metadata: { generateName: 'kvip-' } }),
    );
    expect(generated.status).toBe(201);
    expect(generated.body.metadata.name).toMatch(/^kvip-[a-z0-9]{5}$/);
    const withSlash = await call(fake, 'a', 'POST', EVENTS, event('a/b'));
    expect(withSlash.body.message).toBe(
      `Event "a/b" is invalid: metadata.name: Invalid value: "a/b": may not contain '/'`,
    );
    const text = await call(fake, 'a', 'POST', EVENTS, 'not json');
    expect(text.status).toBe(400);
    expect(
      fake
        .events(NS)
        .map((e) => e.metadata.name)
        .sort(),
    ).toEqual(['e0', generated.body.metadata.name, 'legacy'].sort());
  });

  it('counts a repeat with a merge patch, which the Event rules check again', async () => {
    const created = (await call(fake, 'a', 'POST', EVENTS, event('kvip-cp1.1'))).body;
    const repeat = { count: 2, lastTimestamp: '2026-11-25T10:05:00Z' };
    const ok = await patch(fake, 'a', `${EVENTS}/kvip-cp1.1`, repeat, 'application/merge-patch+json');
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({
      count: 2,
      lastTimestamp: '2026-11-25T10:05:00Z',
      firstTimestamp: '2026-11-25T10:00:00Z',
    });
    expect(ok.body.metadata).toMatchObject({ uid: created.metadata.uid, resourceVersion: '2' });
    const strategic = await patch(
      fake,
      'a',
      `${EVENTS}/kvip-cp1.1`,
      { count: 3 },
      'application/strategic-merge-patch+json',
    );
    expect(strategic.body.count).toBe(3);

    const json = await patch(fake, 'a', `${EVENTS}/kvip-cp1.1`, repeat, 'application/json');
    expect(json.status).toBe(415);
    const missing = await patch(fake, 'a', `${EVENTS}/nope`, repeat, 'application/merge-patch+json');
    expect(missing.status).toBe(404);
    const stale = await patch(
      fake,
      'a',
      `${EVENTS}/kvip-cp1.1`,
      { metadata: { resourceVersion: '1' }, count: 9 },
      'application/merge-patch+json',
    );
    expect(stale.status).toBe(409);
    expect(stale.body.message).toMatch(/^Operation cannot be fulfilled on events "kvip-cp1.1": /);
    const invalid = await patch(
      fake,
      'a',
      `${EVENTS}/kvip-cp1.1`,
      { reason: null },
      'application/merge-patch+json',
    );
    expect(invalid.status).toBe(422);
    expect(invalid.body.message).toBe('Event "kvip-cp1.1" is invalid: reason: Required value');
    expect(fake.events(NS)[0]).toMatchObject({ count: 3, reason: 'StartedLeading' });
  });

  it('RBAC rules for events deny events only; a rule without a resource is about leases', async () => {
    fake.denied.push({ client: 'a', verb: 'create', resource: 'events' }, { client: 'b', verb: 'create' });
    const denied = await call(fake, 'a', 'POST', EVENTS, event('e1'));
    expect(denied.status).toBe(403);
    expect(denied.body).toMatchObject({
      reason: 'Forbidden',
      message:
        'events is forbidden: User "system:serviceaccount:kube-system:a" cannot create resource "events" in API group "" in the namespace "kube-system"',
      details: { kind: 'events' },
    });
    expect(denied.body.details.group).toBeUndefined();
    expect((await call(fake, 'a', 'POST', LEASES, lease('l1'))).status).toBe(201);
    expect((await call(fake, 'b', 'POST', EVENTS, event('e2'))).status).toBe(201);
    expect((await call(fake, 'b', 'POST', LEASES, lease('l2'))).status).toBe(403);
    expect((await call(fake, null, 'POST', EVENTS, event('e3'))).status).toBe(401);
    expect(fake.events().map((e) => e.metadata.name)).toEqual(['e2']);
  });

  it('faults scoped to events leave the Lease API working; unscoped faults reach events too', async () => {
    fake.setFault('a', { kind: 'hang' }, { resources: ['events'] });
    const hung = call(fake, 'a', 'POST', EVENTS, event('e1'), AbortSignal.timeout(5000)).catch(
      (e: unknown) => e,
    );
    await until(() => fake.requests.some((r) => r.path === EVENTS), 'the event post to arrive');
    expect((await call(fake, 'a', 'POST', LEASES, lease('l1'))).status).toBe(201);
    expect(fake.requests.find((r) => r.path === EVENTS)).toMatchObject({ verb: 'create', status: 0 });
    expect(fake.events()).toEqual([]);
    fake.clearFaults();
    void hung;

    fake.setFault('a', { kind: 'status', code: 503 }, { resources: ['events'], count: 1 });
    expect((await call(fake, 'a', 'POST', EVENTS, event('e2'))).status).toBe(503);
    expect((await call(fake, 'a', 'POST', EVENTS, event('e2'))).status).toBe(201);
    fake.setFault('a', { kind: 'status', code: 500 }, { verbs: ['patch'] });
    expect(
      (await patch(fake, 'a', `${EVENTS}/e2`, { count: 2 }, 'application/merge-patch+json')).status,
    ).toBe(500);
    fake.setFault('a', { kind: 'status', code: 500 }, { verbs: ['patch'], resources: ['leases'] });
    fake.setFault('a', null, { verbs: ['patch'] });
    // The rule for leases' patches alone is left, so the Event's patch goes through.
    expect(
      (await patch(fake, 'a', `${EVENTS}/e2`, { count: 2 }, 'application/merge-patch+json')).status,
    ).toBe(200);
  });

  it('serves no update, delete or watch of Events, and nothing else under /api/v1', async () => {
    await call(fake, 'a', 'POST', EVENTS, event('e1'));
    expect((await call(fake, 'a', 'PUT', `${EVENTS}/e1`, event('e1'))).status).toBe(405);
    expect((await call(fake, 'a', 'DELETE', `${EVENTS}/e1`)).status).toBe(405);
    expect((await call(fake, 'a', 'GET', `${EVENTS}?watch=1`)).status).toBe(405);
    expect((await call(fake, 'a', 'POST', '/api/v1/events', event('e2'))).status).toBe(405);
    expect((await call(fake, 'a', 'GET', `/api/v1/namespaces/${NS}/pods`)).status).toBe(404);
    expect((await call(fake, 'a', 'GET', `/api/v1/events/e1`)).status).toBe(404);
  });
});

describe('fake kube-apiserver control route for Events', () => {
  it('GET /_fake/events lists them, by namespace when asked', async () => {
    const fake = await startFakeApiServer({ control: true });
    try {
      await call(fake, null, 'POST', EVENTS, event('e1'));
      const get = async (q: string) =>
        (await within(fetch(`${fake.url}/_fake/events${q}`), 'control')).json();
      expect(((await get('')) as Json[]).map((e) => e.metadata.name)).toEqual(['e1']);
      expect(await get('?namespace=default')).toEqual([]);
    } finally {
      await fake.close();
    }
  });
});
