// A fake Equinix Metal API and metadata service, over real HTTP, for testing kvip's EIP mode without Equinix.
//
// Hand-written because nothing else does this job: Metal is sunset, so there is no sandbox, and a mock generated
// from the spec knows nothing of what the spec leaves out but clients must survive: a partial `hostname` filter,
// tiny pages, 422 "Address has already been taken" (also for a while after an unassignment), DELETE /ips/{id}
// with a reservation id deleting the whole block, BGP's 422 "already has session", neighbours filled in only
// after the session exists (and maybe a few reads later), `{}` for no bgp-config, both error body shapes, a
// metadata service that knows the caller by source address, and faults (latency, 429 with rate-limit headers,
// 5xx, a load balancer's HTML 502, reset, hang). Shapes follow the published spec (openapi/), which
// metal-contract.test.ts checks.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { isIPv6 } from 'node:net';
import { type Answer, FaultState } from './faults.js';
import { errors, match, type Reply } from './handlers.js';
import { network } from './ip.js';
import * as render from './render.js';
import { MetalStore } from './store.js';
import { readBody, resetSocket } from '../../../src/lease-api/http-util.js';
import type { MetalFake, MetalFakeOptions, MetalRequest } from './types.js';

export type * from './types.js';

const MAX_BODY = 1024 * 1024;
const HTML_502 =
  '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n';

function send(res: ServerResponse, rec: MetalRequest, status: number, body?: unknown, extra = {}): void {
  if (res.headersSent || res.destroyed) return;
  rec.status = status;
  if (body === undefined) {
    res.writeHead(status, extra);
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    ...extra,
  });
  res.end(text);
}

async function listen(server: Server, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

export async function startMetalFake(o: MetalFakeOptions): Promise<MetalFake> {
  const host = o.host ?? '127.0.0.1';
  const pageSize = o.pageSize ?? 2;
  const store = new MetalStore(o.releaseLagMs ?? 0);
  const faults = new FaultState();
  const requests: MetalRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let closing = false;

  function later(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });
  }

  /** Answers (or, for hang and reset, does not answer) with an injected fault. */
  function answerFault(req: IncomingMessage, res: ServerResponse, rec: MetalRequest, a: Answer): void {
    switch (a.kind) {
      case 'hang':
        req.resume(); // drain the body, never answer
        return;
      case 'reset':
        resetSocket(req.socket);
        return;
      case 'nonJson502':
        rec.status = 502;
        res.writeHead(502, { 'Content-Type': 'text/html', 'Content-Length': Buffer.byteLength(HTML_502) });
        res.end(HTML_502);
        return;
      case 'status5xx':
        return send(res, rec, a.status, {
          error: a.status === 503 ? 'Service Unavailable' : 'Internal Server Error',
        });
      case 'status429':
        return send(res, rec, 429, { error: 'Too Many Requests' }, a.headers);
    }
  }

  async function serveApi(req: IncomingMessage, url: URL, body: Promise<string | null>): Promise<Reply> {
    // The token is checked before routing, as a gateway in front of the API does: nothing changes on 401.
    if (req.headers['x-auth-token'] !== o.token)
      return { status: 401, body: { error: 'Invalid authentication token' } };
    const rel = url.pathname.startsWith(`${render.BASE}/`) ? url.pathname.slice(render.BASE.length) : null;
    const m = rel === null ? null : match(req.method ?? 'GET', rel);
    if (!m) return { status: 404, body: errors('Not found') };
    return m.run({
      store,
      url,
      pageSize,
      body: async () => {
        const text = await body;
        if (text === null) return null;
        if (!text.trim()) return undefined;
        try {
          return JSON.parse(text) as unknown;
        } catch {
          return null;
        }
      },
    });
  }

  function serveMetadata(req: IncomingMessage, url: URL, source: string): Reply {
    if (req.method !== 'GET' || url.pathname !== '/metadata')
      return { status: 404, body: { error: 'Not found' } };
    // The metadata service knows the caller only by its source address; no token.
    const d = [...store.devices.values()].find((x) => x.metadataSource === source);
    return d
      ? { status: 200, body: render.metadata(store, d) }
      : { status: 404, body: { error: 'Not found' } };
  }

  async function onRequest(
    req: IncomingMessage,
    res: ServerResponse,
    kind: 'api' | 'metadata',
  ): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://metal.invalid');
    const method = req.method ?? 'GET';
    const source = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    let operation = 'unknown';
    if (kind === 'metadata')
      operation = method === 'GET' && url.pathname === '/metadata' ? 'metadata' : 'unknown';
    else if (url.pathname.startsWith(`${render.BASE}/`))
      operation = match(method, url.pathname.slice(render.BASE.length))?.operation ?? 'unknown';
    const rec: MetalRequest = {
      t: Date.now(),
      method,
      path: url.pathname,
      query: url.search.slice(1),
      status: 0,
      source,
      operation,
    };
    requests.push(rec);
    const body = readBody(req, MAX_BODY);
    const { latencyMs, answer } = closing
      ? { latencyMs: 0, answer: null }
      : faults.take(method, url.pathname);
    if (latencyMs > 0) {
      // Served after the delay: a write whose client gave up waiting still happens, as with a slow real API.
      await later(latencyMs);
      if (closing) return;
    }
    if (answer) return answerFault(req, res, rec, answer);
    const reply = kind === 'api' ? await serveApi(req, url, body) : serveMetadata(req, url, source);
    send(res, rec, reply.status, reply.body);
  }

  function makeServer(kind: 'api' | 'metadata'): Server {
    const server = createServer((req, res) => {
      onRequest(req, res, kind).catch((e: unknown) => {
        if (res.headersSent || res.destroyed) return;
        const text = JSON.stringify({ error: `metal fake bug: ${(e as Error).stack ?? String(e)}` });
        res.writeHead(500, { 'Content-Type': 'application/json' });
        res.end(text);
      });
    });
    server.on('connection', (s: Socket) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    return server;
  }

  const apiServer = makeServer('api');
  const metaServer = makeServer('metadata');
  const hostPart = isIPv6(host) ? `[${host}]` : host;
  const apiPort = await listen(apiServer, host, o.port ?? 0);
  let metaPort: number;
  try {
    metaPort = await listen(metaServer, host, o.metadataPort ?? 0);
  } catch (e) {
    apiServer.close();
    throw e;
  }

  const fake: MetalFake = {
    apiUrl: `http://${hostPart}:${apiPort}${render.BASE}`,
    metadataUrl: `http://${hostPart}:${metaPort}/metadata`,
    requests,
    addProject: (p) => {
      const x = store.addProject(p);
      return { id: x.id, name: x.name };
    },
    addDevice: (projectId, d) => {
      const x = store.addDevice(projectId, d);
      return { id: x.id, hostname: x.hostname };
    },
    addReservation: (projectId, r) => {
      const x = store.addReservation(projectId, r);
      return { id: x.id, address: network(x.block) };
    },
    assign: (address, deviceId) => {
      const res = store.assign(deviceId, address, true);
      if (!res.ok) throw new Error(`metal fake: cannot assign ${address} to ${deviceId}: ${res.error}`);
      return { id: res.assignment.id };
    },
    holder: (address) => store.holder(address),
    reservation: (address) => {
      const r = store.reservationFor(address);
      return r ? { id: r.id } : undefined;
    },
    setBgpConfig: (projectId, cfg) => store.setBgpConfig(projectId, cfg),
    setBgpNeighbors: (deviceId, neighbors) => store.setBgpNeighbors(deviceId, neighbors),
    setBgpSessionNeighbors: (deviceId, neighbors, afterReads = 0) => {
      if (!(Number.isInteger(afterReads) && afterReads >= 0))
        throw new Error('metal fake: afterReads must be an integer >= 0');
      store.setBgpSessionNeighbors(deviceId, neighbors, afterReads);
    },
    setReleaseLagMs: (ms) => {
      if (!(ms >= 0)) throw new Error('metal fake: release lag must be >= 0');
      store.releaseLagMs = ms;
    },
    state: () => store.state(),
    setFaults: (f) => faults.set(f),
    onAssignmentChange: (cb) => store.onChange(cb),
    async close(): Promise<void> {
      if (closing) return;
      closing = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const s of sockets) s.destroy();
      await Promise.all(
        [apiServer, metaServer].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
      );
    },
  };
  return fake;
}
