// The fake Metal API's control routes under /_fake/, for a test (or a netns rig) driving a fake that runs in
// another process (main.ts), over plain http on a unix socket. No auth, no faults, not logged in `requests`.
//
//   GET    /_fake/state                 projects with their devices and reservations (with holder)
//   GET    /_fake/requests?since=N      request log entries from index N on
//   POST   /_fake/faults                MetalFaults as JSON (match.path is a string prefix)
//   DELETE /_fake/faults                clear every fault
//   POST   /_fake/assign                {address, deviceId}: out-of-band assignment -> {id}
//   POST   /_fake/release-lag           {ms}
//   POST   /_fake/bgp-config            {projectId, config}: the project's BGP config (null: never enabled)
//   POST   /_fake/bgp-neighbors         {deviceId, neighbors, onSession?, afterReads?}: the device's neighbours
//   GET    /_fake/assignments/watch     NDJSON, never ends: one {t, address, deviceId|null} line per reservation
//                                      (its current holder), then one per change
import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkFaults } from './faults.js';
import type { BgpConfigInput, BgpNeighbor, MetalFake, MetalFaults } from './types.js';

function reply(res: ServerResponse, code: number, body?: unknown): void {
  const text = body === undefined ? '' : JSON.stringify(body) + '\n';
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

async function json(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  const v: unknown = text.trim() ? JSON.parse(text) : {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('body must be a JSON object');
  return v as Record<string, unknown>;
}

function watch(fake: MetalFake, req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'Cache-Control': 'no-cache' });
  const line = (e: unknown): void => {
    if (!res.destroyed) res.write(JSON.stringify(e) + '\n');
  };
  // Subscribe before the snapshot so no change falls between the two.
  const off = fake.onAssignmentChange(line);
  const t = Date.now();
  for (const p of fake.state().projects) {
    for (const r of p.reservations) line({ t, address: r.address, deviceId: r.holder });
  }
  req.socket.setKeepAlive(true);
  res.on('close', off);
}

export async function handleControl(
  fake: MetalFake,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  const method = req.method ?? 'GET';
  const path = url.pathname;
  try {
    if (path === '/_fake/state' && method === 'GET') return reply(res, 200, fake.state());
    if (path === '/_fake/requests' && method === 'GET') {
      return reply(res, 200, fake.requests.slice(Number(url.searchParams.get('since') ?? '0') || 0));
    }
    if (path === '/_fake/faults' && method === 'DELETE') {
      fake.setFaults(null);
      return reply(res, 204);
    }
    if (path === '/_fake/faults' && method === 'POST') {
      const b = await json(req);
      const problem = checkFaults(b);
      if (problem) return reply(res, 400, { error: problem });
      fake.setFaults(b as MetalFaults);
      return reply(res, 204);
    }
    if (path === '/_fake/assign' && method === 'POST') {
      const b = await json(req);
      if (typeof b.address !== 'string' || typeof b.deviceId !== 'string') {
        return reply(res, 400, { error: 'address and deviceId (strings) required' });
      }
      return reply(res, 200, fake.assign(b.address, b.deviceId));
    }
    if (path === '/_fake/release-lag' && method === 'POST') {
      const b = await json(req);
      if (typeof b.ms !== 'number' || !(b.ms >= 0))
        return reply(res, 400, { error: 'ms (number >= 0) required' });
      fake.setReleaseLagMs(b.ms);
      return reply(res, 204);
    }
    if (path === '/_fake/bgp-config' && method === 'POST') {
      const b = await json(req);
      if (typeof b.projectId !== 'string') return reply(res, 400, { error: 'projectId (string) required' });
      fake.setBgpConfig(b.projectId, (b.config ?? null) as BgpConfigInput | null);
      return reply(res, 204);
    }
    if (path === '/_fake/bgp-neighbors' && method === 'POST') {
      // onSession: Metal fills them in once the device has a BGP session (the default: listed at once).
      const b = await json(req);
      if (typeof b.deviceId !== 'string' || !Array.isArray(b.neighbors))
        return reply(res, 400, { error: 'deviceId (string) and neighbors (array) required' });
      const neighbors = b.neighbors as BgpNeighbor[];
      if (b.onSession === true) fake.setBgpSessionNeighbors(b.deviceId, neighbors, Number(b.afterReads ?? 0));
      else fake.setBgpNeighbors(b.deviceId, neighbors);
      return reply(res, 204);
    }
    if (path === '/_fake/assignments/watch' && method === 'GET') return watch(fake, req, res);
    reply(res, 404, { error: `no control route ${method} ${path}` });
  } catch (e) {
    reply(res, 400, { error: (e as Error).message });
  }
}
