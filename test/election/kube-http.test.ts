// KubeHttp's connection handling against a scripted HTTP/1.1 server on a raw TCP socket, so each test decides
// byte by byte what a request gets: an answer, a reset before any byte, or a reset in the middle of one.
import { createServer, type Server, type Socket } from 'node:net';
import { KubeHttp, type KubeConnection } from '../../src/election/index.js';

/**
 * What the scripted server does with one request: answer it; reset the connection before any byte; send the
 * status line and close (a FIN, so the client surely reads the line first); or send the headers and part of
 * the body, then hold the connection for the test to reset once the client has the headers.
 */
type Script = 'ok' | 'reset' | 'statusLineThenClose' | 'headersThenHold';

interface Scripted {
  url: string;
  /** Paths in the order the requests arrived, with the connection (1, 2, ...) each came on. */
  log: { path: string; connection: number }[];
  /** Resolves once every connection a client opened has closed (so every byte sent on one was read). */
  drained(): Promise<void>;
  /** Resets the connections held by 'headersThenHold'. */
  resetHeld(): void;
  close(): Promise<void>;
}

const OK = 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}';

/** `script(n)` answers the n-th request (1-based) across all connections. */
async function scripted(script: (n: number) => Script): Promise<Scripted> {
  const log: Scripted['log'] = [];
  const open = new Set<Socket>();
  const held: Socket[] = [];
  let drainedWaiters: (() => void)[] = [];
  let connections = 0;
  const server: Server = createServer((sock) => {
    const connection = ++connections;
    open.add(sock);
    sock.on('error', () => undefined);
    sock.on('close', () => {
      open.delete(sock);
      if (open.size === 0) drainedWaiters.splice(0).forEach((w) => w());
    });
    let buf = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
        const head = buf.subarray(0, end).toString('latin1');
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + length) return;
        buf = buf.subarray(end + 4 + length);
        log.push({ path: head.split(' ')[1]!, connection });
        const what = script(log.length);
        if (what === 'ok') sock.write(OK);
        else if (what === 'reset') return void sock.resetAndDestroy();
        else if (what === 'statusLineThenClose') return void sock.end('HTTP/1.1 200 OK\r\n');
        else return void (sock.write(OK.slice(0, -1)), held.push(sock));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    resetHeld: () => held.splice(0).forEach((s) => s.resetAndDestroy()),
    drained: () =>
      open.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => drainedWaiters.push(resolve)),
    close: () => {
      drainedWaiters = [];
      for (const s of open) s.destroy();
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

function client(url: string): KubeHttp {
  const http = new KubeHttp(connection(url), 'kvip-test');
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
