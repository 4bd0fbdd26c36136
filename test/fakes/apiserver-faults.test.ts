// The fake kube-apiserver's per-client faults over raw HTTP: delay, hang, injected statuses, reset and a
// partition of one client while another keeps working.
import { type FakeApiServer, startFakeApiServer } from '../../src/lease-api/server.js';
import { call, lease, LEASES, NS, rawWatch, TOKENS } from './apiserver-clients.js';
import { until, within } from '../helpers/wait.js';

describe('fake kube-apiserver faults', () => {
  let fake: FakeApiServer;
  beforeEach(async () => {
    fake = await startFakeApiServer({ tokens: TOKENS, bookmarkIntervalMs: 100 });
  });
  afterEach(async () => {
    await fake.close();
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

    // Scoped to leases: the Lease fails, /version and discovery do not.
    fake.setFault('a', { kind: 'status', code: 500 }, { verbs: ['get'], resources: ['leases'] });
    expect((await call(fake, 'a', 'GET', `${LEASES}/l1`)).status).toBe(500);
    expect((await call(fake, 'a', 'GET', '/version')).status).toBe(200);
    expect((await call(fake, 'a', 'GET', '/apis/coordination.k8s.io/v1')).status).toBe(200);
    fake.clearFaults();

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
