// fetchMetadata against a scripted local HTTP server: no token, retries for transient failures only, and a
// document without the device's id or hostname is refused by name.
import { MetalApiError, fetchMetadata } from '../../src/packet/index.js';
import { VERSION } from '../../src/version.js';
import { fakeHttp, json, type FakeHttp, type Handler } from './fake-http.js';

const DOC = {
  id: '8f3c2a4e-0000-4000-8000-000000000001',
  hostname: 'cp-1',
  metro: 'da',
  network: {
    addresses: [
      {
        address: '10.70.1.3',
        address_family: 4,
        public: false,
        management: true,
        gateway: '10.70.1.2',
        cidr: 31,
      },
    ],
  },
  bgp_neighbors: [],
};

let server: FakeHttp | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function serve(handler: Handler): Promise<string> {
  server = await fakeHttp(handler);
  return `${server.url}/metadata`;
}

const quick = { minDelayMs: 1, maxDelayMs: 20 };

async function metadataError(p: Promise<unknown>): Promise<MetalApiError> {
  const err = await p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MetalApiError);
  return err as MetalApiError;
}

test('returns the document; sends a User-Agent and no token', async () => {
  const url = await serve((_req, _n, res) => json(res, 200, DOC));
  await expect(fetchMetadata(url, quick)).resolves.toEqual(DOC);
  const [req] = server!.seen;
  expect(req!.path).toBe('/metadata');
  expect(req!.headers['user-agent']).toBe(`kvip/${VERSION}`);
  expect(req!.headers['x-auth-token']).toBeUndefined();
});

test('a custom User-Agent', async () => {
  const url = await serve((_req, _n, res) => json(res, 200, DOC));
  await fetchMetadata(url, { ...quick, userAgent: 'probe/2' });
  expect(server!.seen[0]!.headers['user-agent']).toBe('probe/2');
});

test('a 5xx and a reset are retried', async () => {
  const url = await serve((_req, n, res) =>
    n === 1 ? json(res, 503, {}) : n === 2 ? res.socket?.destroy() : json(res, 200, DOC),
  );
  await expect(fetchMetadata(url, quick)).resolves.toEqual(DOC);
  expect(server!.seen).toHaveLength(3);
});

test('gives up after its retries', async () => {
  const url = await serve((_req, _n, res) => json(res, 502, {}));
  expect((await metadataError(fetchMetadata(url, { ...quick, retries: 2 }))).status).toBe(502);
  expect(server!.seen).toHaveLength(3);
});

test('a 404 is not retried', async () => {
  const url = await serve((_req, _n, res) => json(res, 404, { error: 'Not found' }));
  const err = await metadataError(fetchMetadata(url, quick));
  expect([err.operation, err.method, err.path, err.status, err.messages]).toEqual([
    'fetchMetadata',
    'GET',
    '/metadata',
    404,
    ['Not found'],
  ]);
  expect(server!.seen).toHaveLength(1);
});

test('each attempt is bounded', async () => {
  const url = await serve(() => undefined);
  const err = await metadataError(fetchMetadata(url, { ...quick, timeoutMs: 50, retries: 1 }));
  expect(err.code).toBe('ETIMEDOUT');
  expect(server!.seen).toHaveLength(2);
});

test.each([
  ['id', { ...DOC, id: undefined }],
  ['id', { ...DOC, id: '' }],
  ['hostname', { ...DOC, hostname: undefined }],
  ['hostname', { ...DOC, hostname: 7 }],
  ['id', []],
])('a document without a usable %s is refused by name, not retried', async (field, doc) => {
  const url = await serve((_req, _n, res) => json(res, 200, doc));
  const err = await metadataError(fetchMetadata(url, quick));
  expect(err.code).toBe('EBADRESPONSE');
  expect(err.message).toContain(`"${field}"`);
  expect(server!.seen).toHaveLength(1);
});

test('a non-JSON 200 is refused', async () => {
  const url = await serve((_req, _n, res) =>
    res.writeHead(200, { 'Content-Type': 'text/html' }).end('<html>'),
  );
  const err = await metadataError(fetchMetadata(url, quick));
  expect([err.code, err.messages]).toEqual(['EBADRESPONSE', ['non-JSON body (text/html)']]);
});

test('an abort rejects with its reason', async () => {
  const ac = new AbortController();
  const url = await serve(() => ac.abort(new Error('stop')));
  await expect(fetchMetadata(url, { ...quick, signal: ac.signal })).rejects.toThrow('stop');
  expect(server!.seen).toHaveLength(1);
});
