// SelfSubjectAccessReview on the fake kube-apiserver (src/lease-api/access-review.ts), over HTTP as kube-apiserver
// answers it: the review back with status.allowed from the fake's RBAC rules (`denied`), per token; 401 without
// a valid token, 405 for another method, 415 for another media type, 400 for a body that does not decode, 422 for
// one that does not validate. A review changes nothing: no Lease appears.
import { type FakeApiServer, startFakeApiServer } from '../../src/lease-api/server.js';
import { call, NS, TOKENS } from './apiserver-clients.js';

const SSAR = '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews';

function review(attrs: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    kind: 'SelfSubjectAccessReview',
    apiVersion: 'authorization.k8s.io/v1',
    spec: { resourceAttributes: attrs },
    ...extra,
  };
}

const lease = (verb: string, name?: string) => ({
  namespace: NS,
  verb,
  group: 'coordination.k8s.io',
  resource: 'leases',
  ...(name ? { name } : {}),
});

describe('SelfSubjectAccessReview on the fake', () => {
  let fake: FakeApiServer;
  beforeEach(async () => {
    fake = await startFakeApiServer({ tokens: TOKENS, denied: [{ client: 'b', verb: 'update' }] });
  });
  afterEach(async () => {
    await fake.close();
  });

  it('answers 201 with the review and allowed: true where no rule denies it', async () => {
    const r = await call(fake, 'a', 'POST', SSAR, review(lease('update', 'plndr-cp-lock')));
    expect(r.status).toBe(201);
    expect(r.body).toEqual({
      kind: 'SelfSubjectAccessReview',
      apiVersion: 'authorization.k8s.io/v1',
      metadata: { creationTimestamp: null },
      spec: { resourceAttributes: lease('update', 'plndr-cp-lock') },
      status: { allowed: true, reason: expect.any(String) },
    });
    expect(fake.getLease(NS, 'plndr-cp-lock')).toBeUndefined();
  });

  it('answers allowed: false (and no outright denied, as RBAC) for the client a rule denies, per token', async () => {
    const b = await call(fake, 'b', 'POST', SSAR, review(lease('update', 'plndr-cp-lock')));
    expect(b.status).toBe(201);
    expect(b.body.status.allowed).toBe(false);
    expect(b.body.status.denied).toBeUndefined();
    expect(b.body.status.reason).toMatch(/update/);
    // The same question from another token, and another verb from b, are allowed.
    expect((await call(fake, 'a', 'POST', SSAR, review(lease('update')))).body.status.allowed).toBe(true);
    expect((await call(fake, 'b', 'POST', SSAR, review(lease('get')))).body.status.allowed).toBe(true);
    // The rule is the one the Lease routes obey: b's real update is a 403.
    const put = await call(fake, 'b', 'PUT', `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/x`, {});
    expect(put.status).toBe(403);
  });

  it('follows the rules as they change, a rule for every client too', async () => {
    fake.denied.push({ verb: 'watch' });
    const watch = review(lease('watch', 'plndr-cp-lock'));
    expect((await call(fake, 'a', 'POST', SSAR, watch)).body.status.allowed).toBe(false);
    fake.denied.splice(0);
    expect((await call(fake, 'b', 'POST', SSAR, watch)).body.status.allowed).toBe(true);
  });

  it('applies a leases rule to leases of coordination.k8s.io only', async () => {
    const other = { ...lease('update'), group: 'example.com' };
    expect((await call(fake, 'b', 'POST', SSAR, review(other))).body.status.allowed).toBe(true);
    const pods = { namespace: NS, verb: 'update', group: '', resource: 'pods' };
    expect((await call(fake, 'b', 'POST', SSAR, review(pods))).body.status.allowed).toBe(true);
  });

  it('allows non-resource requests', async () => {
    const r = await call(fake, 'b', 'POST', SSAR, {
      kind: 'SelfSubjectAccessReview',
      apiVersion: 'authorization.k8s.io/v1',
      spec: { nonResourceAttributes: { path: '/readyz', verb: 'get' } },
    });
    expect(r.status).toBe(201);
    expect(r.body.status.allowed).toBe(true);
  });

  it('is 401 without a token or with an unknown one', async () => {
    for (const client of [null, 'not-a-token']) {
      const r = await call(fake, client, 'POST', SSAR, review(lease('get')));
      expect(r.status).toBe(401);
      expect(r.body).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
    }
  });

  it('is 405 for GET, 415 for a body that is not JSON by its media type', async () => {
    expect((await call(fake, 'a', 'GET', SSAR)).status).toBe(405);
    const res = await fetch(fake.url + SSAR, {
      method: 'POST',
      headers: { Authorization: `Bearer ${fake.tokenFor('a')}`, 'Content-Type': 'application/yaml' },
      body: 'kind: SelfSubjectAccessReview',
    });
    expect(res.status).toBe(415);
    expect(await res.json()).toMatchObject({ reason: 'UnsupportedMediaType' });
  });

  it.each([
    ['malformed JSON', '{"kind":', /^couldn't get version\/kind; json parse error/],
    [
      'another kind',
      review(lease('get'), { kind: 'Lease' }),
      /cannot be handled as a SelfSubjectAccessReview/,
    ],
    [
      'a verb that is no string',
      review({ ...lease('get'), verb: 7 }),
      /resourceAttributes\.verb of type string/,
    ],
    ['attributes that are no object', review('get' as never), /cannot unmarshal string/],
  ])('is 400 for %s', async (_what, body, message) => {
    const r = await call(fake, 'a', 'POST', SSAR, body);
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ reason: 'BadRequest', code: 400 });
    expect(r.body.message).toMatch(message);
  });

  it.each([
    [
      'neither attributes',
      { kind: 'SelfSubjectAccessReview', spec: {} },
      'spec.resourceAttributes',
      /exactly one of/,
    ],
    [
      'both attributes',
      { spec: { resourceAttributes: lease('get'), nonResourceAttributes: { path: '/', verb: 'get' } } },
      'spec.nonResourceAttributes',
      /cannot be specified in combination/,
    ],
    ['metadata', review(lease('get'), { metadata: { name: 'x' } }), 'metadata', /must be empty/],
  ])('is 422 for %s', async (_what, body, field, message) => {
    const r = await call(fake, 'a', 'POST', SSAR, body);
    expect(r.status).toBe(422);
    expect(r.body).toMatchObject({
      reason: 'Invalid',
      details: { group: 'authorization.k8s.io', kind: 'SelfSubjectAccessReview' },
    });
    expect(r.body.details.causes).toEqual([
      expect.objectContaining({ field, message: expect.stringMatching(message) }),
    ]);
    expect(r.body.message).toMatch(/^SelfSubjectAccessReview.authorization.k8s.io "" is invalid: /);
  });
});
