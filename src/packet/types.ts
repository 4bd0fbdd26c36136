// The part of the Equinix Metal object model kvip reads. Responses carry many more fields; only what the EIP
// and BGP code looks at is typed, and nothing here is validated beyond what the callers check themselves.

/** A nested object the API did not expand: only its URL (expand it with `?include=`). */
export interface MetalHref {
  href: string;
}

export interface MetalProject {
  id: string;
  name: string;
}

export interface MetalDevice {
  id: string;
  hostname: string;
  href?: string;
  /** queued, provisioning, active, inactive, failed, ... */
  state?: string;
  metro?: { code?: string };
  /** The device's own (management) addresses and any elastic IPs assigned to it. */
  ip_addresses?: MetalIpAssignment[];
}

/** An address of a reservation, assigned to one device. Its id is not the reservation's id. */
export interface MetalIpAssignment {
  id: string;
  address: string;
  cidr?: number;
  address_family?: 4 | 6;
  /** The device holding the address (`/metal/v1/devices/<device id>`). */
  assigned_to?: MetalHref;
  management?: boolean;
  public?: boolean;
  href?: string;
}

export type MetalIpReservationType = 'global_ipv4' | 'public_ipv4' | 'private_ipv4' | 'public_ipv6' | 'vrf';

/** A block owned by the project, e.g. an elastic IP /32. Deleting it by id gives the block up for good. */
export interface MetalIpReservation {
  id: string;
  address: string;
  /** The block's first address (the same as `address` for a /32). */
  network?: string;
  cidr: number;
  address_family?: 4 | 6;
  type: MetalIpReservationType | (string & {});
  /** True for a device's own auto-assigned block: never an elastic IP. */
  management?: boolean;
  public?: boolean;
  metro?: { code?: string };
  /** Expanded with `include=assignments`, otherwise only hrefs (of the assignments, not of the devices). */
  assignments?: (MetalIpAssignment | MetalHref)[];
  tags?: string[];
  project?: MetalHref;
  href?: string;
}

export interface MetalBgpRoute {
  route: string;
  exact: boolean;
}

/** What a device's BGP speaker needs, one entry per address family with a session. */
export interface MetalBgpNeighbor {
  address_family: 4 | 6;
  customer_as: number;
  /** The device's source address for the session (the private IPv4 for an IPv4 session). */
  customer_ip: string;
  md5_enabled: boolean;
  md5_password?: string | null;
  multihop: boolean;
  peer_as: number;
  peer_ips: string[];
  routes_in: MetalBgpRoute[];
  routes_out: MetalBgpRoute[];
}

export interface MetalBgpSession {
  id: string;
  address_family: 'ipv4' | 'ipv6';
  href?: string;
  default_route?: boolean;
  device?: MetalHref;
  learned_routes?: string[];
  /** One comma-separated value per switch ("up,down"); refreshed rarely, so not a liveness signal. */
  status?: string;
  created_at?: string;
  updated_at?: string;
}

/** A project's BGP configuration; the API answers `{}` when BGP was never enabled. */
export interface MetalBgpConfig {
  id?: string;
  asn?: number;
  deployment_type?: 'local' | 'global';
  status?: 'requested' | 'enabled' | 'disabled';
  md5?: string | null;
  max_prefix?: number;
  route_object?: string;
  sessions?: MetalBgpSession[];
  project?: MetalHref;
  href?: string;
}

export interface MetalMetadataAddress {
  id?: string;
  address: string;
  address_family: 4 | 6;
  public: boolean;
  management: boolean;
  gateway: string;
  cidr: number;
  netmask?: string;
  network?: string;
  enabled?: boolean;
}

/** The metadata service's document about the device asking (it goes by the caller's source address). */
export interface MetalMetadata {
  /** The device id, as used in the device API calls. */
  id: string;
  hostname: string;
  metro?: string;
  facility?: string;
  network?: { addresses?: MetalMetadataAddress[] };
  /** Absent or empty until BGP is enabled for the project and the device has a session. */
  bgp_neighbors?: MetalBgpNeighbor[];
}

/**
 * The id an href points at: its last path segment. Hrefs come as `/metal/v1/ips/<id>` or, from older
 * responses and the metadata service, `/ips/<id>`, so neither a fixed prefix nor a fixed depth is assumed.
 */
export function lastSegment(href: string): string {
  const path = href.split(/[?#]/, 1)[0] ?? '';
  const segment = path
    .split('/')
    .filter((s) => s !== '')
    .pop();
  if (segment === undefined)
    throw new TypeError(`href ${JSON.stringify(href.slice(0, 200))} has no path segment`);
  return decodeURIComponent(segment);
}
