// KubeHttp's connection handling against a scripted HTTP/1.1 server on a raw TCP socket, so each test decides
// byte by byte what a request gets: an answer, a reset before any byte, or a reset in the middle of one.
import { createServer, type Server, type Socket } from 'node:net';
import { KubeHttp, type KubeConnection } from '../../src/election/index.js';
import { LineReader, type KubeHttpOptions } from '../../src/election/kube-http.js';
import { within } from '../helpers/wait.js';

/**
 * What the scripted server does with one request: answer it; reset the connection before any byte; send the
 * status line and close (a FIN, so the client surely reads the line first); send the headers and part of
 * the body, then hold the connection for the test to reset once the client has the headers; or hold the
 * request unanswered until the test answers it.
 */
type Script = 'ok' | 'reset' | 'statusLineThenClose' | 'headersThenHold' | 'hold';

interface Scripted {
  url: string;
  /** Paths in the order the requests arrived, with the connection (1, 2, ...) each came on. */
  log: { path: string; connection: number }[];
  /** Resolves once `n` requests have arrived. */
  arrived(n: number): Promise<void>;
  /** Resolves once connection `n` has closed. */
  closed(n: number): Promise<void>;
  /** Resolves once every connection a client opened has closed (so every byte sent on one was read). */
  drained(): Promise<void>;
  /** Answers the request for `path` held by 'hold'. */
  answer(path: string): void;
  /** Resets the connections held by 'headersThenHold' and 'hold'. */
  resetHeld(): void;
  close(): Promise<void>;
}

const OK = 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}';

/** `script(n)` answers the n-th request (1-based) across all connections. */
async function scripted(script: (n: number) => Script): Promise<Scripted> {
  const log: Scripted['log'] = [];
  const sockets = new Map<number, Socket>();
  const held = new Map<string, Socket>();
  let changed: (() => void)[] = [];
  const when = (cond: () => boolean): Promise<void> =>
    cond() ? Promise.resolve() : new Promise((resolve) => changed.push(() => cond() && resolve()));
  const notify = () => changed.forEach((f) => f());
  let connections = 0;
  const server: Server = createServer((sock) => {
    const connection = ++connections;
    sockets.set(connection, sock);
    sock.on('error', () => undefined);
    sock.on('close', () => {
      sockets.delete(connection);
      notify();
    });
    let buf = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
        const head = buf.subarray(0, end).toString('latin1');
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + length) return;
        buf = buf.subarray(end + 4 + length);
        const path = head.split(' ')[1]!;
        log.push({ path, connection });
        notify();
        const what = script(log.length);
        if (what === 'ok') sock.write(OK);
        else if (what === 'reset') return void sock.resetAndDestroy();
        else if (what === 'statusLineThenClose') return void sock.end('HTTP/1.1 200 OK\r\n');
        else if (what === 'headersThenHold') return void (sock.write(OK.slice(0, -1)), held.set(path, sock));
        else return void held.set(path, sock);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    arrived: (n) => when(() => log.length >= n),
    closed: (n) => when(() => n <= connections && !sockets.has(n)),
    drained: () => when(() => sockets.size === 0),
    answer: (path) => held.get(path)!.write(OK),
    resetHeld: () => {
      for (const s of held.values()) s.resetAndDestroy();
      held.clear();
    },
    close: () => {
      changed = [];
      for (const s of sockets.values()) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function connection(url: string): KubeConnection {
  return { server: new URL(url), requestOptions: () => Promise.resolve({ headers: {} }), invalidate() {} };
}

const never = () => new AbortController().signal;

let server: Scripted | undefined;
const clients: KubeHttp[] = [];
afterEach(async () => {
  clients.splice(0).forEach((c) => c.close());
  await server?.close();
  server = undefined;
});

function client(url: string | KubeConnection, opts?: KubeHttpOptions): KubeHttp {
  const http = new KubeHttp(typeof url === 'string' ? connection(url) : url, 'kvip-test', opts);
  clients.push(http);
  return http;
}

describe('KubeHttp on a kept-alive connection', () => {
  it('sends a request again, on a new connection, when the reused one is reset before any answer', async () => {
    server = await scripted((n) => (n === 2 ? 'reset' : 'ok'));
    const http = client(server.url);
    expect((await http.request('GET', '/a', undefined, never())).status).toBe(200);
    expect((await http.request('PUT', '/b', {}, never())).status).toBe(200);
    expect(server.log).toEqual([
      { path: '/a', connection: 1 },
      { path: '/b', connection: 1 },
      { path: '/b', connection: 2 },
    ]);
  });

  /** After /a and the failed /b, sends /c and closes: every request sent by then (a duplicate too) is logged. */
  async function logAfter(http: KubeHttp, s: Scripted): Promise<string[]> {
    await http.request('GET', '/c', undefined, never());
    http.close();
    await s.drained();
    return s.log.map((r) => r.path);
  }

  it('does not send a request again once the status line has come', async () => {
    server = await scripted((n) => (n === 2 ? 'statusLineThenClose' : 'ok'));
    const http = client(server.url);
    await http.request('GET', '/a', undefined, never());
    await expect(http.request('PUT', '/b', {}, never())).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(await logAfter(http, server)).toEqual(['/a', '/b', '/c']);
  });

  it('does not send a request again when the connection is reset after the headers (no second watch)', async () => {
    server = await scripted((n) => (n === 2 ? 'headersThenHold' : 'ok'));
    const http = client(server.url);
    await http.request('GET', '/a', undefined, never());
    const res = await http.open('GET', '/b?watch=1', never());
    const closed = new Promise((resolve) => res.on('close', resolve));
    res.on('error', () => undefined);
    server.resetHeld();
    await closed;
    expect(await logAfter(http, server)).toEqual(['/a', '/b?watch=1', '/c']);
  });
});

describe('KubeHttp bounds on connections', () => {
  let silent: Server | undefined;
  const accepted: Socket[] = [];
  afterEach(async () => {
    accepted.splice(0).forEach((s) => s.destroy());
    await new Promise((resolve) => (silent ? silent.close(resolve) : resolve(undefined)));
    silent = undefined;
  });

  it('fails a TLS handshake that never completes after connectTimeoutMs, naming it', async () => {
    // Accepts the TCP connection and never says a word: the handshake waits for ever.
    silent = createServer((s) => void accepted.push(s));
    await new Promise<void>((resolve) => silent!.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const http = client(`https://127.0.0.1:${port}`, { connectTimeoutMs: 100 });
    const err = await within(
      http.request('GET', '/a', undefined, never()).catch((e: unknown) => e),
      'the connect timeout',
    );
    expect(err).toMatchObject({ code: 'ETIMEDOUT', message: expect.stringMatching(/connectTimeoutMs/) });
  });

  it('fails a TCP connect that never completes after connectTimeoutMs', async () => {
    // A name lookup that never answers stands in for a SYN that nobody answers: the socket stays connecting.
    const conn: KubeConnection = {
      server: new URL('http://api.invalid:6443'),
      requestOptions: () => Promise.resolve({ headers: {}, lookup: () => undefined }),
      invalidate() {},
    };
    const http = client(conn, { connectTimeoutMs: 100 });
    const err = await within(
      http.request('GET', '/a', undefined, never()).catch((e: unknown) => e),
      'the connect timeout',
    );
    expect(err).toMatchObject({
      code: 'ETIMEDOUT',
      message: 'no connection to api.invalid:6443 within 100 ms (connectTimeoutMs)',
    });
  });

  it('closes a kept-alive connection idle longer than idleSocketMs and opens a new one', async () => {
    server = await scripted(() => 'ok');
    const http = client(server.url, { idleSocketMs: 100 });
    await http.request('GET', '/a', undefined, never());
    // The agent, not the server, closes it: the scripted server never closes a connection by itself.
    await within(server.drained(), 'the idle connection to be closed');
    await http.request('GET', '/b', undefined, never());
    expect(server.log).toEqual([
      { path: '/a', connection: 1 },
      { path: '/b', connection: 2 },
    ]);
  });

  it('waits for an answer slower than idleSocketMs: only free connections are closed when idle', async () => {
    server = await scripted(() => 'hold');
    const http = client(server.url, { idleSocketMs: 100 });
    const slow = http.request('GET', '/slow', undefined, never());
    await server.arrived(1);
    const quick = http.request('GET', '/quick', undefined, never());
    await server.arrived(2);
    server.answer('/quick');
    await quick;
    // /slow's connection has been silent longer than /quick's, which the agent closes once idle that long.
    const quickConnection = server.log[1]!.connection;
    await within(server.closed(quickConnection), 'the idle connection to be closed');
    server.answer('/slow');
    expect((await slow).status).toBe(200);
  });
});

describe('LineReader', () => {
  const text = '{"a":"Grüße 日本 🎉"}\n\n{"b":"ü"}\n';
  const bytes = Buffer.from(text);

  it('gives the same lines however the bytes are cut in three, inside characters too', () => {
    const want = text.split('\n').slice(0, -1);
    for (let i = 0; i <= bytes.length; i++)
      for (let j = i; j <= bytes.length; j++) {
        const reader = new LineReader(100);
        const lines = [bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)].flatMap((chunk) =>
          reader.push(chunk)!,
        );
        expect([i, j, lines.map(String)]).toEqual([i, j, want]);
      }
  });

  it('takes a line of exactly maxBytes and refuses one byte more, whole or in pieces', () => {
    const line = Buffer.from('日'.repeat(4)); // 12 bytes
    expect(new LineReader(12).push(Buffer.concat([line, Buffer.from('\n')]))).toEqual([line]);
    expect(new LineReader(11).push(Buffer.concat([line, Buffer.from('\n')]))).toBeNull();
    const pieces = new LineReader(11);
    expect(pieces.push(line.subarray(0, 6))).toEqual([]);
    expect(pieces.push(line.subarray(6))).toBeNull();
  });
});
