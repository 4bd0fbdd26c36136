// A fake kube-apiserver for coordination.k8s.io/v1 Leases, over real HTTP(S): the API that `kvip demo` runs its
// nodes against, and what the tests check kvip's elector and its Kubernetes adapter with, without a cluster.
// It also takes the core/v1 Events kvip posts (events.ts), under the same auth, RBAC rules and faults.
//
// Hand-written because nothing off the shelf does this job: client-node has no fake server, envtest and kind need
// real etcd/kube-apiserver binaries (not runnable here), and generic HTTP mocks know nothing of kube's Lease
// semantics (one global resourceVersion, optimistic concurrency with 409/422, MicroTime decoding, watch with
// history, bookmarks and 410 Expired) nor of per-client faults (delay, hang, 5xx, reset, a partition of one node
// while the others keep working) that the failover tests need.
import { randomBytes } from 'node:crypto';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { isIPv6, Server as NetServer } from 'node:net';
import { performance } from 'node:perf_hooks';
import { stringify } from 'yaml';
import { readBody, resetSocket } from './http-util.js';
import { handleControl } from './control.js';
import { accessReview, isAccessReviewPath } from './access-review.js';
import { type Fault, type FaultOptions, FaultTable, RuleTable } from './faults.js';
import * as h from './handlers.js';
import { type CoreEvent, EVENTS, eventRoute, EventStore, serveEvent } from './events.js';
import { infoBody, route, selector } from './routes.js';
import * as st from './status.js';
import { LeaseStore } from './store.js';
import { generateTls } from './tls.js';
import type { Lease, LeaseInput, Verb } from './types.js';
import {
  checkChunking,
  type OpenWatch,
  serveWatch,
  type WatchChunking,
  type WatchContext,
  type WatchInjection,
} from './watch.js';

export type { Fault, FaultOptions } from './faults.js';
export type { Lease, LeaseInput, LeaseSpec, WatchEvent } from './types.js';
export type { CoreEvent, ObjectReference } from './events.js';
export type { WatchChunking, WatchInjection } from './watch.js';
export { microTime, parseMicroTime } from './validate.js';

export interface DenyRule {
  /** Client name; omitted = every client. */
  client?: string;
  verb: Verb;
  /** Omitted = leases (the rules predate Events). */
  resource?: 'leases' | 'events';
}

export interface FakeApiServerOptions {
  /** HTTPS with a freshly generated CA and server certificate (SANs: host, 127.0.0.1, ::1, localhost). */
  tls?: boolean;
  /** With tls: a certificate like kubeadm's, for the kubernetes names, host and these only. */
  sans?: string[];
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (ephemeral). */
  port?: number;
  /** Bearer token -> client name. Without it there is no auth and every client is 'anonymous'. */
  tokens?: Record<string, string>;
  /** Period of BOOKMARK events on watches with allowWatchBookmarks=true (default 1000 ms). */
  bookmarkIntervalMs?: number;
  /** RBAC simulation: these client/verb pairs get 403 Forbidden. */
  denied?: DenyRule[];
  /** Watch history kept for resumption (default 1000 events). */
  historyLimit?: number;
  /** Serve the /_fake/ control routes (see control.ts) on this server, without auth and faults. */
  control?: boolean;
}

export interface RequestRecord {
  /** From the bearer token; 'anonymous' without auth; '' when the token was missing or unknown. */
  client: string;
  verb: string;
  path: string;
  /** HTTP status sent; 0 while unanswered, and for hang, reset and partition. */
  status: number;
  /** performance.now() when the request arrived. */
  at: number;
}

export interface FakeApiServer {
  url: string;
  caPem?: string;
  /** kubeconfig YAML for `client` (server url, CA data or insecure-skip-tls-verify for http, its token). */
  kubeconfig(client: string): string;
  tokenFor(client: string): string | undefined;
  /** Sets (or with null clears) a fault for `client` or every client ('*'); see faults.ts for matching. */
  setFault(client: string, fault: Fault | null, opts?: FaultOptions): void;
  clearFaults(): void;
  /**
   * How new watches of `client` ('*': every client) cut their bytes into HTTP chunks (see watch.ts); null
   * clears it. With `count`, only that many watches opened from now on.
   */
  setWatchChunking(client: string, chunking: WatchChunking | null, opts?: { count?: number }): void;
  /** Puts `what` into the open watches of `client` ('*': every client); how many watches it reached. */
  injectWatch(client: string, what: WatchInjection): number;
  getLease(ns: string, name: string): Lease | undefined;
  /** The Events stored (in `namespace`, or all), as a GET would return them. */
  events(namespace?: string): CoreEvent[];
  /** Out-of-band upsert: no validation, always bumps resourceVersion and emits a watch event. */
  putLease(lease: LeaseInput): Lease;
  deleteLease(ns: string, name: string): void;
  /** Drops the watch history: resuming from any older resourceVersion gets 410 Expired. */
  compact(): void;
  readonly resourceVersion: string;
  /** Mutable RBAC rules (initially opts.denied). */
  denied: DenyRule[];
  requests: RequestRecord[];
  close(): Promise<void>;
}

const MAX_BODY = 3 * 1024 * 1024;

/** An Events route when the path is under /api/v1, else the Lease routes'. */
const routeOf = (method: string, url: URL) => eventRoute(method, url) ?? route(method, url);

/** The request's media type, without parameters (JSON when absent). */
const mediaType = (req: IncomingMessage): string =>
  (req.headers['content-type'] ?? 'application/json').split(';')[0]!.trim().toLowerCase();

export async function startFakeApiServer(opts: FakeApiServerOptions = {}): Promise<FakeApiServer> {
  const host = opts.host ?? '127.0.0.1';
  const tokens = opts.tokens;
  const bookmarkMs = opts.bookmarkIntervalMs ?? 1000;
  const store = new LeaseStore(opts.historyLimit ?? 1000);
  const events = new EventStore();
  const faults = new FaultTable();
  const chunkings = new RuleTable<WatchChunking>(checkChunking);
  const sockets = new Set<Socket>();
  const watches = new Set<OpenWatch>();
  const timers = new Set<NodeJS.Timeout>();
  const requests: RequestRecord[] = [];
  const denied: DenyRule[] = [...(opts.denied ?? [])];
  const tls = opts.tls ? generateTls(host, opts.sans) : undefined;
  let closing = false;

  function send(res: ServerResponse, rec: { status: number } | null, code: number, body: unknown): void {
    if (res.headersSent || res.destroyed) return;
    const text = typeof body === 'string' ? body : JSON.stringify(body) + '\n';
    const headers: Record<string, string | number> = {
      'Content-Type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
      'Content-Length': Buffer.byteLength(text),
      'Cache-Control': 'no-cache, private',
    };
    if (code === 429) headers['Retry-After'] = '1';
    res.writeHead(code, headers);
    res.end(text);
    if (rec) rec.status = code;
  }

  const watchContext: WatchContext = {
    store,
    watches,
    bookmarkMs,
    chunking: (client) => chunkings.take(client, 'watch') ?? { kind: 'event' },
    send,
  };

  function clientOf(req: IncomingMessage): string | null {
    if (!tokens) return 'anonymous';
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    return (m && tokens[m[1]!]) ?? null;
  }

  function userOf(client: string): string {
    return tokens ? `system:serviceaccount:kube-system:${client}` : 'system:anonymous';
  }

  function later(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });
  }

  async function serve(
    req: IncomingMessage,
    res: ServerResponse,
    rec: RequestRecord,
    url: URL,
    body: Promise<string | null> = readBody(req, MAX_BODY),
  ): Promise<void> {
    const r = routeOf(req.method ?? 'GET', url);
    if (r.kind === 'info') return send(res, rec, 200, infoBody(r.path));
    if (r.kind === 'notFound' && isAccessReviewPath(url.pathname)) {
      const reply = await accessReview(req, clientOf(req), denied, body);
      return send(res, rec, reply.code, reply.body);
    }
    if (r.kind === 'notFound') return send(res, rec, 404, st.pathNotFound());
    if (r.kind === 'methodNotAllowed') return send(res, rec, 405, st.methodNotAllowed());
    const client = clientOf(req);
    if (client === null) return send(res, rec, 401, st.unauthorized());
    const { verb, namespace: ns, name } = r;
    const resource = r.kind === 'events' ? 'events' : 'leases';
    const deny = (d: DenyRule) =>
      d.verb === verb && (d.client ?? client) === client && (d.resource ?? 'leases') === resource;
    if (denied.some(deny)) {
      const forbidden = st.forbidden(
        userOf(client),
        verb,
        ns,
        name,
        r.kind === 'events' ? EVENTS : st.LEASES,
      );
      return send(res, rec, 403, forbidden);
    }
    if (r.kind === 'events') {
      const reply = await serveEvent(events, r, url.searchParams, mediaType(req), body);
      return send(res, rec, reply.code, reply.body);
    }
    if (verb === 'watch') return serveWatch(watchContext, req, res, rec, client, ns, name, url.searchParams);
    if (verb === 'list') {
      const sel = selector(url.searchParams);
      if ('error' in sel) return send(res, rec, 400, st.badRequest(sel.error));
      const reply = h.listLeases(store, ns, sel);
      return send(res, rec, reply.code, reply.body);
    }
    if (verb === 'get') {
      const reply = h.getLease(store, ns!, name!);
      return send(res, rec, reply.code, reply.body);
    }
    if (verb === 'deletecollection') return send(res, rec, 405, st.methodNotAllowed());
    const type = mediaType(req);
    if (verb !== 'patch' && verb !== 'delete' && type !== 'application/json')
      return send(res, rec, 415, st.unsupportedMediaType());
    const raw = await body;
    if (raw === null) return send(res, rec, 413, st.tooLarge());
    let reply: h.Reply;
    if (verb === 'create') reply = h.createLease(store, ns!, raw);
    else if (verb === 'update') reply = h.updateLease(store, ns!, name!, raw);
    else if (verb === 'patch') reply = h.patchLease(store, ns!, name!, raw, type);
    else reply = h.deleteLease(store, ns!, name!, raw);
    send(res, rec, reply.code, reply.body);
  }

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake.invalid');
    if (opts.control && url.pathname.startsWith('/_fake/')) return handleControl(api, req, res, url);
    const r = routeOf(req.method ?? 'GET', url);
    const client = clientOf(req) ?? '';
    const rec: RequestRecord = {
      client,
      verb:
        r.kind === 'lease' || r.kind === 'events'
          ? r.verb
          : r.kind === 'info'
            ? 'get'
            : (req.method ?? '').toLowerCase(),
      path: req.url ?? '/',
      status: 0,
      at: performance.now(),
    };
    requests.push(rec);
    // A fault scoped to a resource hits that resource's requests only, not /version, /readyz and the like.
    const resource = r.kind === 'events' ? 'events' : r.kind === 'lease' ? 'leases' : '';
    const fault = closing ? null : faults.take(client, rec.verb, resource);
    let body: Promise<string | null> | undefined;
    if (fault) {
      switch (fault.kind) {
        case 'hang':
        case 'partition':
          req.resume(); // drain the body, never answer
          return;
        case 'reset':
          resetSocket(req.socket);
          return;
        case 'status':
          return send(res, rec, fault.code, st.injected(fault.code));
        case 'proxy':
          res.writeHead(fault.code, {
            'Content-Type': fault.contentType,
            'Content-Length': Buffer.byteLength(fault.body),
          });
          res.end(fault.body);
          rec.status = fault.code;
          return;
        case 'delay': {
          // A slow API server (slow etcd) still commits a write whose client gave up waiting, as
          // kube-apiserver does: the request is processed after the delay; only the answer is lost.
          body = readBody(req, MAX_BODY);
          await later(fault.ms);
          if (closing) return;
          break;
        }
      }
    }
    await serve(req, res, rec, url, body);
  }

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    onRequest(req, res).catch((e: unknown) => {
      send(
        res,
        null,
        500,
        st.failure(500, 'InternalError', `fake apiserver bug: ${(e as Error).stack ?? e}`),
      );
    });
  };
  const server: Server = tls
    ? createHttpsServer({ key: tls.keyPem, cert: tls.certPem }, handler)
    : createHttpServer(handler);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `${tls ? 'https' : 'http'}://${isIPv6(host) ? `[${host}]` : host}:${port}`;

  const tokenFor = (client: string): string | undefined =>
    tokens ? Object.entries(tokens).find(([, c]) => c === client)?.[0] : undefined;

  const api: FakeApiServer = {
    url,
    ...(tls ? { caPem: tls.caPem } : {}),
    denied,
    requests,
    get resourceVersion() {
      return String(store.resourceVersion);
    },
    tokenFor,
    kubeconfig(client: string): string {
      const token = tokenFor(client);
      if (tokens && token === undefined) throw new Error(`fake apiserver: no token for client ${client}`);
      const cluster: Record<string, unknown> = { server: url };
      if (tls) cluster['certificate-authority-data'] = Buffer.from(tls.caPem).toString('base64');
      else cluster['insecure-skip-tls-verify'] = true;
      return stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'fake', cluster }],
        users: [{ name: client, user: token ? { token } : {} }],
        contexts: [
          { name: `${client}@fake`, context: { cluster: 'fake', user: client, namespace: 'kube-system' } },
        ],
        'current-context': `${client}@fake`,
      });
    },
    setFault(client, fault, fopts) {
      faults.set(client, fault, fopts);
      if (fault?.kind === 'partition' && (!fopts?.verbs || fopts.verbs.includes('watch'))) {
        for (const w of [...watches]) {
          if (client === '*' || w.client === client) {
            w.stop();
            resetSocket(w.socket);
          }
        }
      }
    },
    clearFaults: () => faults.clear(),
    setWatchChunking: (client, chunking, copts) => chunkings.set(client, chunking, copts),
    injectWatch(client, what) {
      const reached = [...watches].filter((w) => client === '*' || w.client === client);
      for (const w of reached) w.inject(what);
      return reached.length;
    },
    getLease: (ns, name) => store.get(ns, name),
    events: (ns) => events.list(ns),
    putLease: (lease) => store.put(lease),
    deleteLease: (ns, name) => void store.delete(ns, name),
    compact: () => store.compact(),
    async close() {
      closing = true;
      for (const w of [...watches]) w.stop();
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => {
        try {
          server.close(() => resolve());
        } catch {
          // Node 20's idle-connection sweep can trip over a connection it already freed; close the listener anyway.
          NetServer.prototype.close.call(server, () => resolve());
        }
      });
    },
  };
  return api;
}

/** A random bearer token (hex). */
export function newToken(): string {
  return randomBytes(16).toString('hex');
}
