// JSON shapes of the fake Metal API, as the published spec's schemas (Project, Device, IPReservation,
// IPAssignment, BgpSession, BgpConfig, Meta) and the metadata service's document. Nested resources are
// collapsed to {href} unless `include` names them, like the real API.
import { randomUUID } from 'node:crypto';
import { type Block, netmask, network, nth } from './ip.js';
import type { Assignment, BgpSession, Device, MetalStore, Project, Reservation } from './store.js';

export const BASE = '/metal/v1';
const href = (kind: string, id: string): { href: string } => ({ href: `${BASE}/${kind}/${id}` });

const METRO_NAMES: Record<string, [string, string]> = {
  da: ['Dallas', 'US'],
  sv: ['Silicon Valley', 'US'],
  ny: ['New York', 'US'],
  am: ['Amsterdam', 'NL'],
  fr: ['Frankfurt', 'DE'],
  sg: ['Singapore', 'SG'],
};
const ids = new Map<string, string>();
/** The same random UUID for the same key, so a metro keeps its id across responses. */
function stableId(key: string): string {
  let id = ids.get(key);
  if (!id) ids.set(key, (id = randomUUID()));
  return id;
}

export function metro(code: string): { id: string; code: string; name: string; country: string } {
  const [name, country] = METRO_NAMES[code] ?? [code.toUpperCase(), 'US'];
  return { id: stableId(`metro:${code}`), code, name, country };
}

/** Facility code of a metro: the fake has one facility per metro. */
export const facilityCode = (metroCode: string): string => `${metroCode}11`;

function facility(metroCode: string): Record<string, unknown> {
  const m = metro(metroCode);
  return {
    id: stableId(`facility:${metroCode}`),
    code: facilityCode(metroCode),
    name: `${m.name} 11`,
    metro: m,
  };
}

export function includes(url: URL): Set<string> {
  return new Set(
    (url.searchParams.get('include') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
}

export function project(s: MetalStore, p: Project): Record<string, unknown> {
  return {
    id: p.id,
    name: p.name,
    href: `${BASE}/projects/${p.id}`,
    created_at: p.createdAt,
    updated_at: p.createdAt,
    type: 'default',
    backend_transfer_enabled: false,
    customdata: {},
    tags: [],
    network_status: {},
    max_devices: {},
    devices: [...s.devices.values()].filter((d) => d.projectId === p.id).map((d) => href('devices', d.id)),
    bgp_config: href('projects', `${p.id}/bgp-config`),
    ssh_keys: [],
    volumes: [],
    invitations: [],
    memberships: [],
    members: [],
  };
}

function gateway(block: Block, address: string): string {
  if (block.cidr === (block.family === 4 ? 32 : 128)) return address;
  if (block.cidr === (block.family === 4 ? 31 : 127))
    return address === nth(block, 0) ? nth(block, 1) : nth(block, 0);
  return nth(block, 1);
}

function isPublic(r: Reservation): boolean {
  return r.type !== 'private_ipv4';
}

export function assignment(s: MetalStore, a: Assignment): Record<string, unknown> {
  const r = s.reservations.get(a.reservationId)!;
  return {
    id: a.id,
    href: `${BASE}/ips/${a.id}`,
    address: a.address,
    address_family: a.block.family,
    cidr: a.block.cidr,
    netmask: netmask(a.block),
    network: network(a.block),
    gateway: gateway(a.block, a.address),
    public: isPublic(r),
    management: r.management,
    manageable: !r.management,
    enabled: true,
    global_ip: r.type === 'global_ipv4',
    created_at: a.createdAt,
    metro: metro(r.metro),
    assigned_to: href('devices', a.deviceId),
    parent_block: {
      network: network(r.block),
      netmask: netmask(r.block),
      cidr: r.block.cidr,
      href: `${BASE}/ips/${r.id}`,
    },
  };
}

export function reservation(s: MetalStore, r: Reservation, expand: boolean): Record<string, unknown> {
  const address = nth(r.block, 0);
  return {
    id: r.id,
    href: `${BASE}/ips/${r.id}`,
    address,
    network: network(r.block),
    netmask: netmask(r.block),
    gateway: gateway(r.block, address),
    cidr: r.block.cidr,
    address_family: r.block.family,
    public: isPublic(r),
    management: r.management,
    manageable: !r.management,
    addon: !r.management,
    global_ip: r.type === 'global_ipv4',
    enabled: true,
    bill: !r.management,
    type: r.type,
    // 'created', as the API reports a reservation that needs no approval. The published spec's GET /ips/{id}
    // is oneOf(IPAssignment, IPReservation, ...) and IPAssignment requires nothing, so a reservation only
    // matches exactly one branch when its state is outside IPAssignment's enum (pending, active, deleting).
    state: 'created',
    tags: [],
    customdata: {},
    created_at: r.createdAt,
    metro: metro(r.metro),
    facility: facility(r.metro),
    project: href('projects', r.projectId),
    project_lite: href('projects', r.projectId),
    assignments: s
      .assignmentsOf(r.id)
      .map((a) => (expand ? assignment(s, a) : { href: `${BASE}/ips/${a.id}` })),
  };
}

export function device(s: MetalStore, d: Device): Record<string, unknown> {
  return {
    id: d.id,
    short_id: d.shortId,
    hostname: d.hostname,
    href: `${BASE}/devices/${d.id}`,
    state: 'active',
    created_at: d.createdAt,
    updated_at: d.createdAt,
    billing_cycle: 'hourly',
    always_pxe: false,
    locked: false,
    network_frozen: false,
    spot_instance: false,
    customdata: {},
    tags: [],
    iqn: `iqn.2026-01.net.packet:device.${d.shortId}`,
    switch_uuid: d.shortId,
    metro: metro(d.metro),
    facility: facility(d.metro),
    project: href('projects', d.projectId),
    project_lite: href('projects', d.projectId),
    ssh_keys: [],
    ip_addresses: s.assignmentsOfDevice(d.id).map((a) => assignment(s, a)),
  };
}

export function session(d: Device, x: BgpSession): Record<string, unknown> {
  return {
    id: x.id,
    href: `${BASE}/bgp/sessions/${x.id}`,
    address_family: x.addressFamily,
    default_route: x.defaultRoute,
    device: href('devices', d.id),
    learned_routes: [],
    // Per switch; the API starts each at "unknown" and refreshes it only every few hours.
    status: 'unknown,unknown',
    created_at: x.createdAt,
    updated_at: x.createdAt,
  };
}

/** GET /projects/{id}/bgp-config: {} when BGP was never enabled. */
export function bgpConfig(p: Project): Record<string, unknown> {
  if (!p.bgpConfig) return {};
  return {
    deployment_type: 'local',
    status: 'enabled',
    max_prefix: 10,
    md5: null,
    href: `${BASE}/bgp-configs/${p.bgpConfig.id}`,
    project: href('projects', p.id),
    ranges: [],
    sessions: [],
    ...p.bgpConfig,
  };
}

/** The metadata service's document for a device (the fields packngo and network-helpers read). */
export function metadata(s: MetalStore, d: Device): Record<string, unknown> {
  return {
    id: d.id,
    hostname: d.hostname,
    iqn: `iqn.2026-01.net.packet:device.${d.shortId}`,
    metro: d.metro,
    facility: facilityCode(d.metro),
    plan: 'c3.small.x86',
    class: 'c3.small.x86',
    state: 'active',
    tags: [],
    customdata: {},
    ssh_keys: [],
    operating_system: { slug: 'ubuntu_24_04', distro: 'ubuntu', version: '24.04' },
    switch_short_id: d.shortId,
    network: {
      bonding: { mode: 4, link_aggregation: 'bonded', mac: '00:00:5e:00:53:01' },
      interfaces: [
        { name: 'eth0', mac: '00:00:5e:00:53:01', bond: 'bond0' },
        { name: 'eth1', mac: '00:00:5e:00:53:02', bond: 'bond0' },
      ],
      addresses: s.assignmentsOfDevice(d.id).map((a) => {
        const full = assignment(s, a);
        // The metadata service uses the older /ips/<uuid> hrefs.
        const pb = full.parent_block as Record<string, unknown>;
        return {
          id: a.id,
          address_family: full.address_family,
          netmask: full.netmask,
          public: full.public,
          management: full.management,
          enabled: true,
          cidr: full.cidr,
          network: full.network,
          address: full.address,
          gateway: full.gateway,
          created_at: a.createdAt,
          parent_block: { ...pb, href: `/ips/${a.reservationId}` },
        };
      }),
      metal_gateways: [],
    },
    bgp_neighbors: structuredClone(d.neighbors),
    api_url: 'https://metadata.platformequinix.com',
  };
}
