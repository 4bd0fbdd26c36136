// MetalClient against a scripted local HTTP server: what goes on the wire (headers, paths, bodies) and what
// the caller gets back, for answers, lists and error shapes. Retries, guards and secrecy: client-retries.test.ts.
import { MetalClient, lastSegment } from '../../src/packet/index.js';
import { VERSION } from '../../src/version.js';
import { json } from './fake-http.js';
import { TOKEN, apiError, useClient } from './harness.js';

const { setup, seen, serverUrl } = useClient();

describe('requests', () => {
  test('sends the token, the default User-Agent and JSON Accept under the base path', async () => {
    const c = await setup((_req, _n, res) => json(res, 200, { id: 'p1', name: 'one' }));
    await expect(c.getProject('p1')).resolves.toEqual({ id: 'p1', name: 'one' });
    expect(seen()).toHaveLength(1);
    expect(seen()[0]!.path).toBe('/metal/v1/projects/p1');
    expect(seen()[0]!.headers['x-auth-token']).toBe(TOKEN);
    expect(seen()[0]!.headers['user-agent']).toBe(`kvip/${VERSION}`);
    expect(seen()[0]!.headers.accept).toBe('application/json');
  });

  test('a custom User-Agent replaces the default', async () => {
    const c = await setup((_req, _n, res) => json(res, 200, { id: 'd1', hostname: 'h' }), {
      userAgent: 'x/1',
    });
    await c.getDevice('d1');
    expect(seen()[0]!.headers['user-agent']).toBe('x/1');
  });

  test('ids are one encoded path segment', async () => {
    const c = await setup((_req, _n, res) => json(res, 200, { id: 'x', hostname: 'h' }));
    await c.getDevice('../projects/evil?x=1');
    expect(seen()[0]!.path).toBe('/metal/v1/devices/..%2Fprojects%2Fevil%3Fx%3D1');
    expect([...seen()[0]!.query.keys()]).toEqual([]);
  });

  test('assignIp POSTs {address} as JSON and returns the assignment', async () => {
    const assignment = { id: 'a1', address: '198.51.100.7', assigned_to: { href: '/metal/v1/devices/d1' } };
    const c = await setup((_req, _n, res) => json(res, 201, assignment));
    await expect(c.assignIp('d1', '198.51.100.7')).resolves.toEqual(assignment);
    expect(seen()[0]!.method).toBe('POST');
    expect(seen()[0]!.path).toBe('/metal/v1/devices/d1/ips');
    expect(seen()[0]!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(seen()[0]!.body)).toEqual({ address: '198.51.100.7' });
  });

  test('getIp expands assignments', async () => {
    const c = await setup((_req, _n, res) => json(res, 200, { id: 'r1', address: '198.51.100.7' }));
    await c.getIp('r1');
    expect(seen()[0]!.path).toBe('/metal/v1/ips/r1');
    expect(seen()[0]!.query.get('include')).toBe('assignments');
  });

  test('unassign: 204 removed it, 404 means it was already gone', async () => {
    const c = await setup((_req, n, res) =>
      n === 1 ? res.writeHead(204).end() : json(res, 404, { error: 'Not found' }),
    );
    await expect(c.unassignIp('a1')).resolves.toEqual({ alreadyGone: false });
    await expect(c.unassignIp('a1')).resolves.toEqual({ alreadyGone: true });
    expect(seen().map((s) => `${s.method} ${s.path}`)).toEqual([
      'DELETE /metal/v1/ips/a1',
      'DELETE /metal/v1/ips/a1',
    ]);
  });

  test('createBgpSession: 201 returns the session, 422 "already has session" counts as success', async () => {
    const session = { id: 's1', address_family: 'ipv4' };
    const c = await setup((_req, n, res) =>
      n === 1 ? json(res, 201, session) : json(res, 422, { errors: ['Device already has session for ipv4'] }),
    );
    await expect(c.createBgpSession('d1', 'ipv4')).resolves.toEqual({ alreadyExists: false, session });
    await expect(c.createBgpSession('d1', 'ipv4')).resolves.toEqual({ alreadyExists: true });
    expect(seen()[0]!.path).toBe('/metal/v1/devices/d1/bgp/sessions');
    expect(JSON.parse(seen()[0]!.body)).toEqual({ address_family: 'ipv4', default_route: false });
  });

  test('createBgpSession: another 422 is an error', async () => {
    const c = await setup((_req, _n, res) => json(res, 422, { errors: ['BGP is not enabled for project'] }));
    const err = await apiError(c.createBgpSession('d1', 'ipv6'));
    expect(err.messages).toEqual(['BGP is not enabled for project']);
  });

  test('getBgpConfig: {} is undefined; a config is returned', async () => {
    const c = await setup((_req, n, res) =>
      json(res, 200, n === 1 ? {} : { id: 'b1', status: 'enabled', asn: 65000 }),
    );
    await expect(c.getBgpConfig('p1')).resolves.toBeUndefined();
    await expect(c.getBgpConfig('p1')).resolves.toEqual({ id: 'b1', status: 'enabled', asn: 65000 });
    expect(seen()[0]!.path).toBe('/metal/v1/projects/p1/bgp-config');
  });

  test('BGP neighbors and sessions unwrap their lists (empty when absent)', async () => {
    const neighbor = { address_family: 4, customer_as: 65000, peer_ips: ['169.254.255.1'] };
    const c = await setup((req, _n, res) =>
      req.path.endsWith('/neighbors') ? json(res, 200, { bgp_neighbors: [neighbor] }) : json(res, 200, {}),
    );
    await expect(c.getBgpNeighbors('d1')).resolves.toEqual([neighbor]);
    await expect(c.findBgpSessions('d1')).resolves.toEqual([]);
    expect(seen().map((s) => s.path)).toEqual([
      '/metal/v1/devices/d1/bgp/neighbors',
      '/metal/v1/devices/d1/bgp/sessions',
    ]);
  });

  test('onResponse is called once per attempt', async () => {
    const events: unknown[] = [];
    const c = await setup(
      (_req, n, res) => (n === 1 ? json(res, 503, {}) : json(res, 200, { id: 'p', name: 'n' })),
      {
        onResponse: (e) => events.push({ ...e, ms: typeof e.ms }),
      },
    );
    await c.getProject('p');
    expect(events).toEqual([
      { operation: 'getProject', method: 'GET', status: 503, ms: 'number' },
      { operation: 'getProject', method: 'GET', status: 200, ms: 'number' },
    ]);
  });
});

describe('pagination', () => {
  const devices = (page: number) => [{ id: `d${page}`, hostname: `host-${page}` }];

  test('follows meta.next over 3 pages, whatever prefix or host its href has', async () => {
    const next: Record<number, string> = {
      1: '/metal/v1/projects/p1/devices?page=2&per_page=100',
      2: 'http://elsewhere.invalid/projects/p1/devices?hostname=x&page=3',
    };
    const c = await setup((req, _n, res) => {
      const page = Number(req.query.get('page'));
      const meta = next[page]
        ? { next: { href: next[page] }, current_page: page, last_page: 3 }
        : { current_page: 3, last_page: 3 };
      json(res, 200, { devices: devices(page), meta });
    });
    const list = await c.findProjectDevices('p1', { hostname: 'host' });
    expect(list).toEqual([...devices(1), ...devices(2), ...devices(3)]);
    expect(seen()).toHaveLength(3);
    expect(seen().map((s) => s.path)).toEqual(Array(3).fill('/metal/v1/projects/p1/devices'));
    expect(seen().map((s) => s.query.get('page'))).toEqual(['1', '2', '3']);
    expect(seen().map((s) => s.query.get('hostname'))).toEqual(['host', 'host', 'host']);
    expect(seen().every((s) => s.headers.host === new URL(serverUrl()).host)).toBe(true);
  });

  test('findProjectIps sends include=assignments, per_page and page', async () => {
    const c = await setup((_req, _n, res) => json(res, 200, { ip_addresses: [{ id: 'r1' }], meta: {} }));
    await expect(c.findProjectIps('p1')).resolves.toEqual([{ id: 'r1' }]);
    const q = seen()[0]!.query;
    expect(seen()[0]!.path).toBe('/metal/v1/projects/p1/ips');
    expect([q.get('include'), q.get('per_page'), q.get('page')]).toEqual(['assignments', '100', '1']);
  });

  test('stops at current_page == last_page even with a next link', async () => {
    const c = await setup((_req, _n, res) =>
      json(res, 200, {
        projects: [{ id: 'p' }],
        meta: { next: { href: '/projects?page=2' }, current_page: 1, last_page: 1 },
      }),
    );
    await expect(c.findProjects()).resolves.toEqual([{ id: 'p' }]);
    expect(seen()).toHaveLength(1);
  });

  test('a next link that does not advance is an error, not a loop', async () => {
    const c = await setup((_req, _n, res) =>
      json(res, 200, { projects: [{ id: 'p' }], meta: { next: { href: '/metal/v1/projects?page=1' } } }),
    );
    const err = await apiError(c.findProjects());
    expect(err.code).toBe('EBADPAGINATION');
    expect(seen()).toHaveLength(1);
  });

  test('a page without its list is an error', async () => {
    const c = await setup((_req, _n, res) => json(res, 200, { meta: {} }));
    expect((await apiError(c.findProjects())).code).toBe('EBADRESPONSE');
  });
});

describe('errors', () => {
  test('{"error": "x"} -> status and message', async () => {
    const c = await setup((_req, _n, res) => json(res, 404, { error: 'Not found' }));
    const err = await apiError(c.getDevice('d1'));
    expect(err.status).toBe(404);
    expect(err.messages).toEqual(['Not found']);
    expect(err.message).toBe('Metal API getDevice (GET /devices/d1): 404 Not found');
    expect([err.operation, err.method, err.path, err.code]).toEqual([
      'getDevice',
      'GET',
      '/devices/d1',
      undefined,
    ]);
    expect(err.retryable).toBe(false);
  });

  test('{"errors": [...]} -> every message', async () => {
    const c = await setup((_req, _n, res) =>
      json(res, 422, { errors: ['Address has already been taken', 'second'] }),
    );
    const err = await apiError(c.assignIp('d1', '198.51.100.7'));
    expect(err.status).toBe(422);
    expect(err.messages).toEqual(['Address has already been taken', 'second']);
    expect(err.message).toBe(
      'Metal API assignIp (POST /devices/d1/ips): 422 Address has already been taken; second',
    );
  });

  test('a non-JSON error page -> the status text and a short note, not the page', async () => {
    const page = `<html><body><h1>502 Bad Gateway</h1>${'x'.repeat(5000)}</body></html>`;
    const c = await setup((_req, _n, res) => res.writeHead(502, { 'Content-Type': 'text/html' }).end(page));
    const err = await apiError(c.getProject('p1', { retries: 0 }));
    expect(err.status).toBe(502);
    expect(err.messages[0]).toBe('Bad Gateway');
    expect(err.messages[1]).toMatch(/^non-JSON body \(text\/html\)/);
    expect(err.messages[1]!.length).toBeLessThan(150);
    expect(err.message).not.toContain('<html>');
    expect(err.retryable).toBe(true);
  });

  test('an error without a body -> the status text', async () => {
    const c = await setup((_req, _n, res) => res.writeHead(503).end());
    const err = await apiError(c.getProject('p1', { retries: 0 }));
    expect([err.status, err.messages]).toEqual([503, ['Service Unavailable']]);
  });

  test('a 2xx with a non-JSON body is an error', async () => {
    const c = await setup((_req, _n, res) => res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok'));
    const err = await apiError(c.getProject('p1'));
    expect([err.status, err.code, err.messages]).toEqual([
      200,
      'EBADRESPONSE',
      ['non-JSON body (text/plain)'],
    ]);
  });

  test.each([401, 403, 404, 422])('%i is not retried', async (status) => {
    const c = await setup((_req, _n, res) => json(res, status, { error: 'no' }));
    expect((await apiError(c.getProject('p1'))).status).toBe(status);
    expect(seen()).toHaveLength(1);
  });
});

describe('construction', () => {
  test('rejects an empty token and a non-http base URL', () => {
    expect(() => new MetalClient({ baseUrl: 'http://127.0.0.1/metal/v1', token: '' })).toThrow(
      /token is empty/,
    );
    expect(() => new MetalClient({ baseUrl: 'file:///etc', token: TOKEN })).toThrow(/http/);
  });

  test('a request path must stay under the base URL', async () => {
    const c = await setup((_req, _n, res) => json(res, 200, {}));
    await expect(c.request('x', 'GET', '//elsewhere.invalid/x')).rejects.toThrow(TypeError);
    expect(seen()).toHaveLength(0);
  });
});

describe('lastSegment', () => {
  test.each([
    ['/metal/v1/ips/abc', 'abc'],
    ['/ips/abc', 'abc'],
    ['/ips/abc/', 'abc'],
    ['https://api.equinix.com/metal/v1/devices/d-1?include=x', 'd-1'],
  ])('%s -> %s', (href, id) => expect(lastSegment(href)).toBe(id));

  test('an href without a segment is an error', () => {
    expect(() => lastSegment('/')).toThrow(TypeError);
  });
});
