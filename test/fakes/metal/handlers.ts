// Routes and handlers of the fake Metal API (paths relative to /metal/v1), each named by the spec's operationId.
// Handlers are pure over the store: they return a status and a body; server.ts does HTTP, auth and faults.
import { parseBlock } from './ip.js';
import * as r from './render.js';
import type { Device, MetalStore, Project } from './store.js';

export interface Reply {
  status: number;
  /** undefined: no body (204). */
  body?: unknown;
}

export interface Ctx {
  store: MetalStore;
  url: URL;
  pageSize: number;
  /** The parsed JSON body; undefined when empty, null when not JSON. */
  body: () => Promise<unknown>;
}

type Handler = (ctx: Ctx, id: string) => Reply | Promise<Reply>;

export const errors = (...msgs: string[]): { errors: string[] } => ({ errors: msgs });
const notFound = (): Reply => ({ status: 404, body: errors('Not found') });

const UUID = '([0-9a-fA-F-]{36})';
const routes: Array<{ method: string; re: RegExp; operation: string; handle: Handler }> = [];
function add(method: string, path: string, operation: string, handle: Handler): void {
  routes.push({ method, re: new RegExp(`^${path.replace('{id}', UUID)}/?$`), operation, handle });
}

/** The operation for a request, or null (404); the path is relative to /metal/v1. */
export function match(
  method: string,
  path: string,
): { operation: string; run: (ctx: Ctx) => Promise<Reply> } | null {
  for (const rt of routes) {
    const m = rt.re.exec(path);
    if (m && rt.method === method) {
      return { operation: rt.operation, run: async (ctx) => rt.handle(ctx, (m[1] ?? '').toLowerCase()) };
    }
  }
  return null;
}

/**
 * One page of a list, with the spec's Meta. per_page is capped at the fake's pageSize so clients must follow
 * meta.next; the page links keep the other query parameters.
 */
function page<T>(ctx: Ctx, key: string, items: T[]): Reply {
  const q = ctx.url.searchParams;
  const asked = Number(q.get('per_page'));
  const per = Math.max(1, Math.min(Number.isInteger(asked) && asked > 0 ? asked : Infinity, ctx.pageSize));
  const askedPage = Number(q.get('page'));
  const current = Number.isInteger(askedPage) && askedPage > 0 ? askedPage : 1;
  const last = Math.max(1, Math.ceil(items.length / per));
  const link = (n: number): { href: string } => {
    const p = new URLSearchParams(q);
    p.set('page', String(n));
    p.set('per_page', String(per));
    return { href: `${r.BASE}${ctx.url.pathname.slice(r.BASE.length)}?${p.toString()}` };
  };
  const meta: Record<string, unknown> = {
    first: link(1),
    last: link(last),
    self: link(current),
    total: items.length,
    current_page: current,
    last_page: last,
  };
  if (current < last) meta.next = link(current + 1);
  if (current > 1) meta.previous = link(Math.min(current - 1, last));
  return { status: 200, body: { [key]: items.slice((current - 1) * per, current * per), meta } };
}

function withProject(
  ctx: Ctx,
  id: string,
  f: (p: Project) => Reply | Promise<Reply>,
): Reply | Promise<Reply> {
  const p = ctx.store.projects.get(id);
  return p ? f(p) : notFound();
}

function withDevice(ctx: Ctx, id: string, f: (d: Device) => Reply | Promise<Reply>): Reply | Promise<Reply> {
  const d = ctx.store.devices.get(id);
  return d ? f(d) : notFound();
}

add('GET', '/projects', 'findProjects', (ctx) => {
  const name = ctx.url.searchParams.get('name');
  const ps = [...ctx.store.projects.values()].filter((p) => name === null || p.name === name);
  return page(
    ctx,
    'projects',
    ps.map((p) => r.project(ctx.store, p)),
  );
});

add('GET', '/projects/{id}', 'findProjectById', (ctx, id) =>
  withProject(ctx, id, (p) => ({ status: 200, body: r.project(ctx.store, p) })),
);

add('GET', '/projects/{id}/devices', 'findProjectDevices', (ctx, id) =>
  withProject(ctx, id, (p) => {
    const q = ctx.url.searchParams;
    // hostname is a partial match in the real API; clients must compare exactly themselves.
    const hostname = q.get('hostname')?.toLowerCase();
    const search = q.get('search')?.toLowerCase();
    const metro = q.get('metro');
    const ds = [...ctx.store.devices.values()].filter((d) => {
      if (d.projectId !== p.id) return false;
      if (hostname !== undefined && !d.hostname.toLowerCase().includes(hostname)) return false;
      if (metro !== null && d.metro !== metro) return false;
      if (search !== undefined) {
        const hay = [
          d.hostname,
          d.id,
          d.shortId,
          ...ctx.store.assignmentsOfDevice(d.id).map((a) => a.address),
        ];
        if (!hay.some((h) => h.toLowerCase().includes(search))) return false;
      }
      return true;
    });
    return page(
      ctx,
      'devices',
      ds.map((d) => r.device(ctx.store, d)),
    );
  }),
);

add('GET', '/projects/{id}/ips', 'findIPReservations', (ctx, id) =>
  withProject(ctx, id, (p) => {
    // `types` is form style: repeated (?types=a&types=b); a comma list is accepted too.
    const types = new Set(ctx.url.searchParams.getAll('types').flatMap((t) => t.split(',')));
    const expand = r.includes(ctx.url).has('assignments');
    const rs = [...ctx.store.reservations.values()].filter(
      (x) => x.projectId === p.id && (types.size === 0 || types.has(x.type)),
    );
    return page(
      ctx,
      'ip_addresses',
      rs.map((x) => r.reservation(ctx.store, x, expand)),
    );
  }),
);

add('GET', '/projects/{id}/bgp-config', 'findBgpConfigByProject', (ctx, id) =>
  withProject(ctx, id, (p) => ({ status: 200, body: r.bgpConfig(p) })),
);

add('GET', '/devices/{id}', 'findDeviceById', (ctx, id) =>
  withDevice(ctx, id, (d) => ({ status: 200, body: r.device(ctx.store, d) })),
);

add('GET', '/devices/{id}/ips', 'findIPAssignments', (ctx, id) =>
  withDevice(ctx, id, (d) => ({
    status: 200,
    body: { ip_addresses: ctx.store.assignmentsOfDevice(d.id).map((a) => r.assignment(ctx.store, a)) },
  })),
);

add('POST', '/devices/{id}/ips', 'createIPAssignment', (ctx, id) =>
  withDevice(ctx, id, async (d) => {
    const b = (await ctx.body()) as { address?: unknown } | null | undefined;
    const address = typeof b?.address === 'string' ? b.address : '';
    if (!address) return { status: 422, body: errors("Address can't be blank") };
    if (!parseBlock(address)) return { status: 422, body: errors('Address is invalid') };
    const res = ctx.store.assign(d.id, address);
    if (res.ok) return { status: 201, body: r.assignment(ctx.store, res.assignment) };
    const msg = {
      taken: 'Address has already been taken',
      noReservation: `Address ${address} is not part of any IP reservation of this project`,
      wrongMetro: `Address ${address} is not available in metro ${d.metro}`,
      badAddress: 'Address is invalid',
    }[res.error];
    return { status: 422, body: errors(msg) };
  }),
);

add('GET', '/devices/{id}/bgp/neighbors', 'getBgpNeighborData', (ctx, id) =>
  withDevice(ctx, id, (d) => ({ status: 200, body: { bgp_neighbors: ctx.store.readNeighbors(d) } })),
);

add('GET', '/devices/{id}/bgp/sessions', 'findBgpSessions', (ctx, id) =>
  withDevice(ctx, id, (d) => ({
    status: 200,
    body: { bgp_sessions: d.sessions.map((s) => r.session(d, s)) },
  })),
);

add('POST', '/devices/{id}/bgp/sessions', 'createBgpSession', (ctx, id) =>
  withDevice(ctx, id, async (d) => {
    const b = (await ctx.body()) as { address_family?: unknown; default_route?: unknown } | null | undefined;
    const family = b?.address_family;
    if (family !== 'ipv4' && family !== 'ipv6') {
      return { status: 422, body: errors('Address family must be one of ipv4, ipv6') };
    }
    const s = ctx.store.createSession(d.id, family, b?.default_route === true);
    // 422, not 409, is what the API answers for an existing session (clients match "already has session").
    if (!s) return { status: 422, body: errors(`Device ${d.id} already has session for ${family}`) };
    return { status: 201, body: r.session(d, s) };
  }),
);

add('GET', '/ips/{id}', 'findIPAddressById', (ctx, id) => {
  const a = ctx.store.assignments.get(id);
  if (a) return { status: 200, body: r.assignment(ctx.store, a) };
  const res = ctx.store.reservations.get(id);
  if (res)
    return { status: 200, body: r.reservation(ctx.store, res, r.includes(ctx.url).has('assignments')) };
  return notFound();
});

// With a reservation id this deletes the whole block, as the real API does: the dangerous mistake stays visible.
add('DELETE', '/ips/{id}', 'deleteIPAddress', (ctx, id) =>
  ctx.store.deleteIp(id) ? { status: 204 } : notFound(),
);
