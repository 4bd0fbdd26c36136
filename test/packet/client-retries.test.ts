// MetalClient's retries, guard, abort and host pinning against a scripted local HTTP server, judged by what
// the server saw (how many attempts) and what the caller got; and the token never leaking into errors or logs.
import { inspect } from 'node:util';
import { MetalApiError, MetalCallAbortedError, MetalClient } from '../../src/packet/index.js';
import { fakeHttp, json, recordingLogger, type FakeHttp } from './fake-http.js';
import { TOKEN, apiError, expectNoToken, rejection, useClient } from './harness.js';

const { setup, seen, track } = useClient();

describe('retries', () => {
  test('GET: a 5xx is retried', async () => {
    const c = await setup((_req, n, res) =>
      n < 3 ? json(res, 501 + n, { error: 'oops' }) : json(res, 200, { id: 'p', name: 'n' }),
    );
    await expect(c.getProject('p')).resolves.toEqual({ id: 'p', name: 'n' });
    expect(seen()).toHaveLength(3);
  });

  test('501 is not retried (it will not start working)', async () => {
    const c = await setup((_req, _n, res) => json(res, 501, { error: 'no' }));
    expect((await apiError(c.getProject('p'))).retryable).toBe(false);
    expect(seen()).toHaveLength(1);
  });

  test('GET: retries give up after the budget with the last error', async () => {
    const c = await setup((_req, _n, res) => json(res, 503, { error: 'down' }), { retries: 2 });
    expect((await apiError(c.getProject('p'))).status).toBe(503);
    expect(seen()).toHaveLength(3);
  });

  test('retries: 0 on a call means one attempt', async () => {
    const c = await setup((_req, _n, res) => json(res, 503, { error: 'down' }));
    await apiError(c.getProject('p', { retries: 0 }));
    expect(seen()).toHaveLength(1);
  });

  test('POST: a 5xx is not retried (the first may have been acted on)', async () => {
    const c = await setup((_req, _n, res) => json(res, 503, { error: 'down' }));
    expect((await apiError(c.assignIp('d1', '198.51.100.7'))).status).toBe(503);
    expect(seen()).toHaveLength(1);
  });

  test('POST with idempotent: true is retried', async () => {
    const c = await setup((_req, n, res) =>
      n === 1 ? json(res, 500, {}) : json(res, 201, { id: 'a1', address: 'x' }),
    );
    await expect(c.assignIp('d1', 'x', { idempotent: true })).resolves.toEqual({ id: 'a1', address: 'x' });
    expect(seen()).toHaveLength(2);
  });

  test('GET: a connection reset is retried', async () => {
    const c = await setup((_req, n, res) =>
      n === 1 ? res.socket?.destroy() : json(res, 200, { id: 'p', name: 'n' }),
    );
    await expect(c.getProject('p')).resolves.toEqual({ id: 'p', name: 'n' });
    expect(seen()).toHaveLength(2);
  });

  test('POST: a connection reset is not retried', async () => {
    const c = await setup((_req, _n, res) => res.socket?.destroy());
    const err = await apiError(c.assignIp('d1', 'x'));
    expect(err.status).toBeUndefined();
    expect(err.code).toBe('ECONNRESET');
    expect(seen()).toHaveLength(1);
  });

  test('each attempt is bounded: a server that never answers -> ETIMEDOUT after the retries', async () => {
    const c = await setup(() => undefined, { timeoutMs: 50, retries: 1 });
    const err = await apiError(c.getProject('p'));
    expect(err.code).toBe('ETIMEDOUT');
    expect(err.status).toBeUndefined();
    expect(err.retryable).toBe(true);
    expect(seen()).toHaveLength(2);
  });

  test('a refused connection is retried even for POST (nothing arrived)', async () => {
    const { log, entries } = recordingLogger();
    const dead = await fakeHttp(() => undefined);
    await dead.close();
    const opts = { baseUrl: dead.url, token: TOKEN, minDelayMs: 1, maxDelayMs: 2, retries: 2, log };
    const client = track(new MetalClient(opts));
    const err = await apiError(client.assignIp('d1', 'x'));
    expect(err.code).toBe('ECONNREFUSED');
    expect(entries.filter((e) => e.msg === 'Metal API call failed; retrying')).toHaveLength(2);
  });

  test('429 is retried even for POST, waiting for Retry-After (capped at maxDelayMs)', async () => {
    const { log, entries } = recordingLogger();
    const c = await setup(
      (_req, n, res) =>
        n === 1
          ? json(res, 429, { error: 'slow down' }, { 'Retry-After': '1' })
          : json(res, 201, { id: 'a1' }),
      { maxDelayMs: 40, log },
    );
    await expect(c.assignIp('d1', 'x')).resolves.toEqual({ id: 'a1' });
    expect(seen()).toHaveLength(2);
    expect(entries).toEqual([
      expect.objectContaining({ operation: 'assignIp', status: 429, waitMs: 40, waitSource: 'server' }),
    ]);
  });

  test('429 with Retry-After as an HTTP date', async () => {
    const { log, entries } = recordingLogger();
    const at = new Date(Date.now() + 30_000).toUTCString();
    const c = await setup(
      (_req, n, res) => (n === 1 ? json(res, 429, {}, { 'Retry-After': at }) : json(res, 200, { id: 'p' })),
      { maxDelayMs: 40, log },
    );
    await c.getProject('p');
    expect(entries).toEqual([expect.objectContaining({ status: 429, waitMs: 40, waitSource: 'server' })]);
  });

  test('429 with X-RateLimit-Reset waits until the reset', async () => {
    const { log, entries } = recordingLogger();
    const reset = String(Math.ceil(Date.now() / 1000) + 30);
    const c = await setup(
      (_req, n, res) =>
        n === 1 ? json(res, 429, {}, { 'X-RateLimit-Reset': reset }) : json(res, 200, { id: 'p' }),
      { maxDelayMs: 40, log },
    );
    await c.getProject('p');
    expect(seen()).toHaveLength(2);
    const err = entries[0]!;
    expect([err.waitMs, err.waitSource]).toEqual([40, 'server']);
  });

  test('429 without hints falls back to the jittered backoff', async () => {
    const { log, entries } = recordingLogger();
    const c = await setup((_req, n, res) => (n === 1 ? json(res, 429, {}) : json(res, 200, { id: 'p' })), {
      minDelayMs: 5,
      maxDelayMs: 40,
      log,
    });
    await c.getProject('p');
    expect(entries[0]!.waitSource).toBe('backoff');
    expect(entries[0]!.waitMs).toBeLessThanOrEqual(5);
  });

  test('retryIf retries a 422 ("already been taken" right after an unassign)', async () => {
    const c = await setup((_req, n, res) =>
      n < 3 ? json(res, 422, { errors: ['Address has already been taken'] }) : json(res, 201, { id: 'a2' }),
    );
    const retryIf = (e: MetalApiError) =>
      e.status === 422 && e.messages.some((m) => m.includes('already been taken'));
    await expect(c.assignIp('d1', 'x', { retryIf })).resolves.toEqual({ id: 'a2' });
    expect(seen()).toHaveLength(3);
    expect(seen().every((s) => JSON.parse(s.body).address === 'x')).toBe(true);
  });
});

describe('guard and signal', () => {
  test('a guard false before the first attempt sends nothing', async () => {
    const c = await setup((_req, _n, res) => json(res, 201, {}));
    const err = await rejection(c.assignIp('d1', 'x', { guard: () => false }));
    expect(err).toBeInstanceOf(MetalCallAbortedError);
    expect((err as MetalCallAbortedError).attempt).toBe(1);
    expect((err as MetalCallAbortedError).lastError).toBeUndefined();
    expect(seen()).toHaveLength(0);
  });

  test('a guard turning false between attempts stops the retries', async () => {
    let asked = 0;
    const c = await setup((_req, _n, res) => json(res, 503, { error: 'down' }));
    const err = await rejection(c.getProject('p', { guard: () => ++asked === 1 }));
    expect(err).toBeInstanceOf(MetalCallAbortedError);
    const aborted = err as MetalCallAbortedError;
    expect([aborted.attempt, aborted.lastError?.status, aborted.operation]).toEqual([2, 503, 'getProject']);
    expect(seen()).toHaveLength(1);
    expect(asked).toBe(2);
  });

  test('the guard is asked before every page of a list', async () => {
    let asked = 0;
    const c = await setup((req, _n, res) =>
      json(res, 200, {
        projects: [{ id: req.query.get('page') }],
        meta: { next: { href: '/projects?page=2' } },
      }),
    );
    const err = await rejection(c.findProjects({ guard: () => ++asked === 1 }));
    expect(err).toBeInstanceOf(MetalCallAbortedError);
    expect(seen()).toHaveLength(1);
  });

  test('an abort during the backoff wait rejects with its reason and sends nothing more', async () => {
    const ac = new AbortController();
    // The debug line comes right before the wait; the abort lands inside it. The wait is long enough that
    // only an abortable one lets the test finish within its (generous) bound.
    const log = {
      ...recordingLogger().log,
      debug: () => void setTimeout(() => ac.abort(new Error('stop')), 5),
    };
    const c = await setup((_req, _n, res) => json(res, 503, {}), {
      minDelayMs: 600_000,
      maxDelayMs: 600_000,
      log,
    });
    const err = await rejection(c.getProject('p', { signal: ac.signal }));
    expect((err as Error).message).toBe('stop');
    expect(seen()).toHaveLength(1);
  }, 5000);

  test('an abort during an attempt rejects with its reason', async () => {
    const ac = new AbortController();
    const c = await setup(() => ac.abort(new Error('stop')));
    const err = await rejection(c.getProject('p', { signal: ac.signal }));
    expect((err as Error).message).toBe('stop');
    expect(seen()).toHaveLength(1);
  });
});

describe('the token stays secret', () => {
  test('no error, log line or inspected client carries it', async () => {
    const { log, lines } = recordingLogger();
    let others = 0;
    const c = await setup(
      (req, _n, res) => {
        if (req.path.endsWith('/echo')) {
          // a misbehaving proxy that echoes the request headers into its error page
          return res
            .writeHead(500, { 'Content-Type': 'text/html' })
            .end(`<pre>${JSON.stringify(req.headers)}</pre>`);
        }
        if (req.path.endsWith('/echo-json')) return json(res, 400, { error: `bad token ${TOKEN}` });
        if (req.path.endsWith('/reset')) return res.socket?.destroy();
        if (req.path.endsWith('/hang')) return undefined;
        if (req.path.endsWith('/page'))
          return json(res, 200, { projects: [], meta: { next: { href: '/x?page=0' } } });
        // a retried GET that ends on a 404 (the retry logs a line)
        return json(res, ++others === 1 ? 503 : 404, { error: 'nope' });
      },
      { log, timeoutMs: 500, retries: 2 },
    );
    const failures = await Promise.all(
      [
        c.request('a', 'GET', '/echo'),
        c.request('b', 'GET', '/echo-json'),
        c.request('c', 'GET', '/reset'),
        c.request('d', 'GET', '/hang'),
        c.request('e', 'GET', '/other'),
        c.listAll('f', '/page', 'projects', {}),
        c.request('g', 'GET', '/other', {}, { guard: () => false }),
        c.request('h', 'POST', '/hang', { body: { a: 1 } }),
      ].map(rejection),
    );
    for (const err of failures) expectNoToken(err);
    // the echoing servers did put it in their answers: it was scrubbed, not absent
    expect((failures[0] as MetalApiError).messages[1]).toContain('[redacted]');
    expect((failures[1] as MetalApiError).messages).toEqual(['bad token [redacted]']);
    expect(failures.map((e) => (e as MetalApiError).code ?? (e as MetalApiError).status)).toEqual([
      500,
      400,
      'ECONNRESET',
      'ETIMEDOUT',
      404,
      'EBADPAGINATION',
      undefined,
      'ETIMEDOUT',
    ]);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).not.toContain(TOKEN);
    expect(inspect(c, { depth: 20, showHidden: true })).not.toContain(TOKEN);
    expect(JSON.stringify(c)).not.toContain(TOKEN);
    // the server did get it, so the checks above are not vacuous
    expect(seen().every((s) => s.headers['x-auth-token'] === TOKEN)).toBe(true);
  });
});

describe('never leaves the configured host', () => {
  let other: FakeHttp | undefined;
  const saved = { ...process.env };
  afterEach(async () => {
    process.env = { ...saved };
    await other?.close();
    other = undefined;
  });

  test('a redirect is not followed: it is an error, and the other host sees nothing', async () => {
    other = await fakeHttp((_req, _n, res) => json(res, 200, { id: 'p', name: 'n' }));
    const c = await setup((_req, _n, res) =>
      res.writeHead(302, { Location: `${other!.url}/metal/v1/projects/p` }).end(),
    );
    expect((await apiError(c.getProject('p'))).status).toBe(302);
    expect(other.seen).toHaveLength(0);
  });

  test('a proxy from the environment is not used', async () => {
    other = await fakeHttp((_req, _n, res) => json(res, 200, { id: 'proxy', name: 'n' }));
    process.env.HTTP_PROXY = other.url;
    process.env.http_proxy = other.url;
    process.env.NO_PROXY = '';
    process.env.no_proxy = '';
    const c = await setup((_req, _n, res) => json(res, 200, { id: 'p', name: 'n' }));
    await expect(c.getProject('p')).resolves.toEqual({ id: 'p', name: 'n' });
    expect(other.seen).toHaveLength(0);
  });
});
