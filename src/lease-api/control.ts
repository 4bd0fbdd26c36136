// The fake kube-apiserver's control routes under /_fake/, for a test driving a fake that runs in another process
// (main.ts): set and clear faults, shape and feed watch streams, read, write and delete Leases out of band,
// compact the watch history, read the request log. No auth, no faults, not logged in `requests`.
//
//   POST   /_fake/faults              {client, fault: Fault | null, verbs?, resources?, count?}
//   DELETE /_fake/faults              clear every fault
//   POST   /_fake/watch-chunking      {client, chunking: WatchChunking | null, count?}  (see watch.ts)
//   POST   /_fake/watch-events        {client, event: WatchInjection}  -> {watches: how many it reached}
//   GET    /_fake/leases/{ns}/{name}  the stored Lease or 404
//   PUT    /_fake/leases              a Lease: out-of-band upsert (bumps resourceVersion, emits a watch event)
//   DELETE /_fake/leases/{ns}/{name}
//   GET    /_fake/events?namespace=NS the stored Events (all namespaces without it)
//   POST   /_fake/compact
//   GET    /_fake/requests?since=N    request log entries from index N on
import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkFault, type Fault, type FaultOptions } from './faults.js';
import type { FakeApiServer } from './server.js';
import type { LeaseInput } from './types.js';
import { checkChunking, checkInjection, type WatchChunking, type WatchInjection } from './watch.js';

function reply(res: ServerResponse, code: number, body?: unknown): void {
  const text = body === undefined ? '' : JSON.stringify(body) + '\n';
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

async function json(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text.trim() ? JSON.parse(text) : {};
}

/** The JSON body of a request that names a client; null once it has been answered with a 400. */
async function clientBody(
  req: IncomingMessage,
  res: ServerResponse,
): Promise<(Record<string, unknown> & { client: string }) | null> {
  const b = (await json(req)) as Record<string, unknown>;
  if (typeof b.client === 'string' && b.client) return b as Record<string, unknown> & { client: string };
  reply(res, 400, { error: 'client (string) required' });
  return null;
}

export async function handleControl(
  fake: FakeApiServer,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent); // ['_fake', ...]
  const method = req.method ?? 'GET';
  try {
    if (parts[1] === 'faults' && parts.length === 2) {
      if (method === 'DELETE') {
        fake.clearFaults();
        return reply(res, 204);
      }
      if (method === 'POST') {
        const b = await clientBody(req, res);
        if (!b) return;
        const problem = b.fault === null ? null : checkFault(b.fault);
        if (problem) return reply(res, 400, { error: problem });
        for (const list of ['verbs', 'resources'] as const) {
          const v = b[list];
          if (v !== undefined && !(Array.isArray(v) && v.every((x) => typeof x === 'string')))
            return reply(res, 400, { error: `${list} must be an array of strings` });
        }
        const opts: FaultOptions = {};
        if (b.verbs !== undefined) opts.verbs = b.verbs as string[];
        if (b.resources !== undefined) opts.resources = b.resources as string[];
        if (b.count !== undefined) opts.count = b.count as number;
        fake.setFault(b.client, (b.fault ?? null) as Fault | null, opts);
        return reply(res, 204);
      }
    }
    if (parts[1] === 'watch-chunking' && parts.length === 2 && method === 'POST') {
      const b = await clientBody(req, res);
      if (!b) return;
      const problem = b.chunking === null ? null : checkChunking(b.chunking);
      if (problem) return reply(res, 400, { error: problem });
      const opts = b.count === undefined ? {} : { count: b.count as number };
      fake.setWatchChunking(b.client, b.chunking as WatchChunking | null, opts);
      return reply(res, 204);
    }
    if (parts[1] === 'watch-events' && parts.length === 2 && method === 'POST') {
      const b = await clientBody(req, res);
      if (!b) return;
      const problem = checkInjection(b.event);
      if (problem) return reply(res, 400, { error: problem });
      return reply(res, 200, { watches: fake.injectWatch(b.client, b.event as WatchInjection) });
    }
    if (parts[1] === 'leases') {
      if (method === 'PUT' && parts.length === 2)
        return reply(res, 200, fake.putLease((await json(req)) as LeaseInput));
      if (parts.length === 4) {
        const [, , ns, name] = parts as [string, string, string, string];
        if (method === 'GET') {
          const l = fake.getLease(ns, name);
          return l ? reply(res, 200, l) : reply(res, 404, { error: 'not found' });
        }
        if (method === 'DELETE') {
          fake.deleteLease(ns, name);
          return reply(res, 204);
        }
      }
    }
    if (parts[1] === 'events' && parts.length === 2 && method === 'GET')
      return reply(res, 200, fake.events(url.searchParams.get('namespace') ?? undefined));
    if (parts[1] === 'compact' && parts.length === 2 && method === 'POST') {
      fake.compact();
      return reply(res, 204);
    }
    if (parts[1] === 'requests' && parts.length === 2 && method === 'GET') {
      return reply(res, 200, fake.requests.slice(Number(url.searchParams.get('since') ?? '0') || 0));
    }
    reply(res, 404, { error: `no control route ${method} ${url.pathname}` });
  } catch (e) {
    reply(res, 400, { error: (e as Error).message });
  }
}
