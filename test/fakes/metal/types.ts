// Public types of the fake Equinix Metal API (server.ts) and its faults (faults.ts).

export type ReservationType = 'public_ipv4' | 'global_ipv4' | 'public_ipv6' | 'private_ipv4';

export interface MetalFakeOptions {
  /** API listener, default 127.0.0.1:0; the API lives under /metal/v1. */
  host?: string;
  port?: number;
  /** Second listener on the same host serving GET /metadata (default 0: ephemeral). */
  metadataPort?: number;
  /** The only valid X-Auth-Token; anything else gets 401 {"error": ...}. */
  token: string;
  /** Server-side cap on per_page for every list (default 2, so clients must follow pages). */
  pageSize?: number;
  /**
   * Eventual consistency: after an assignment is deleted, POSTing that address answers 422 "Address has already
   * been taken" for this long (default 0).
   */
  releaseLagMs?: number;
}

export interface FaultMatch {
  /** HTTP method, case-insensitive; omitted = any. */
  method?: string;
  /** A RegExp tested against the path, or a prefix of it (e.g. '/metal/v1/devices'); omitted = any. */
  path?: RegExp | string;
}

export interface FaultRule {
  /** How many requests it hits; omitted = every matching request until cleared. */
  count?: number;
  match?: FaultMatch;
}

/** Faults hit both listeners: match.path '/metadata' picks the metadata service, '/metal/v1' the API. */
export interface MetalFaults {
  /** Delays every matching answer (also the faulted ones below). */
  latencyMs?: FaultRule & { ms: number };
  /** 429 with Retry-After (seconds) and/or X-RateLimit-Limit/Remaining/Reset (Unix seconds), as given. */
  status429?: FaultRule & {
    retryAfter?: number | string;
    rateLimit?: { limit: number; remaining: number; reset: number };
  };
  /** 500 or 503 with a JSON {"error"} body. */
  status5xx?: FaultRule & { status: 500 | 503 };
  /** 502 with a text/html body, as a load balancer in front of the API answers. */
  nonJson502?: FaultRule;
  /** Destroys the socket without answering (ECONNRESET). */
  reset?: FaultRule;
  /** Never answers. */
  hang?: FaultRule;
}

export interface MetalRequest {
  /** Date.now() when the request arrived. */
  t: number;
  method: string;
  /** Path without the query, e.g. /metal/v1/projects/<id>/ips or /metadata. */
  path: string;
  /** The query string without '?', '' when none. */
  query: string;
  /** Status sent; 0 while unanswered and for reset and hang. */
  status: number;
  /** Caller's source address (IPv4-mapped IPv6 stripped). */
  source: string;
  /** The spec's operationId ('metadata' for GET /metadata, 'unknown' when no route matched). */
  operation: string;
}

export interface AssignmentChange {
  t: number;
  address: string;
  /** The new holder; null once unassigned or the reservation was deleted. */
  deviceId: string | null;
}

/** One BgpNeighborData object as the API and the metadata service return it. */
export interface BgpNeighbor {
  address_family: 4 | 6;
  customer_as: number;
  customer_ip: string;
  md5_enabled: boolean;
  md5_password?: string;
  multihop: boolean;
  peer_as: number;
  peer_ips: string[];
  routes_in: Array<{ route: string; exact: boolean }>;
  routes_out: Array<{ route: string; exact: boolean }>;
}

/** The BgpConfig fields a test sets; id, href, project and created_at are filled in when missing. */
export interface BgpConfigInput {
  asn: number;
  deployment_type?: 'local' | 'global';
  status?: 'requested' | 'enabled' | 'disabled';
  md5?: string | null;
  max_prefix?: number;
  [k: string]: unknown;
}

export interface DeviceInput {
  hostname: string;
  id?: string;
  /** Metro code, default 'da'. */
  metro?: string;
  privateIpv4?: string;
  publicIpv4?: string;
  /** The caller source address the metadata service maps to this device. */
  metadataSource?: string;
}

export interface ReservationInput {
  /** 'a.b.c.d' (with cidr) or 'a.b.c.d/N'. */
  address: string;
  /** Default 32 for IPv4, 128 for IPv6 (or the /N of address). */
  cidr?: number;
  /** Default public_ipv4. */
  type?: ReservationType;
  /** Metro code, default 'da'. */
  metro?: string;
  management?: boolean;
}

/** Snapshot for the control socket's GET /_fake/state. */
export interface FakeState {
  projects: Array<{
    id: string;
    name: string;
    devices: Array<{ id: string; hostname: string; metro: string; metadataSource: string | null }>;
    reservations: Array<{
      id: string;
      address: string;
      cidr: number;
      type: ReservationType;
      metro: string;
      management: boolean;
      /** Device id of the (first) assignment, null when unassigned. */
      holder: string | null;
      assignmentId: string | null;
    }>;
  }>;
}

export interface MetalFake {
  /** http://host:port/metal/v1 */
  readonly apiUrl: string;
  /** http://host:mport/metadata */
  readonly metadataUrl: string;
  addProject(p: { name: string; id?: string }): { id: string; name: string };
  addDevice(projectId: string, d: DeviceInput): { id: string; hostname: string };
  addReservation(projectId: string, r: ReservationInput): { id: string; address: string };
  /** Out-of-band assignment: the API's rules but no release lag; throws where the API would refuse. */
  assign(address: string, deviceId: string): { id: string };
  /** Device id the address is assigned to now. */
  holder(address: string): string | undefined;
  /** The reservation containing address; undefined once deleted. */
  reservation(address: string): { id: string } | undefined;
  /** BGP config returned by GET /projects/{id}/bgp-config; null: none ({}). */
  setBgpConfig(projectId: string, cfg: BgpConfigInput | null): void;
  /** What GET /devices/{id}/bgp/neighbors and the metadata document's bgp_neighbors return. */
  setBgpNeighbors(deviceId: string, neighbors: BgpNeighbor[]): void;
  /**
   * What the device's neighbours become once it has a session of their family, as Metal fills them in after
   * POST /devices/{id}/bgp/sessions: the first `afterReads` (default 0) neighbour reads after the session
   * exists still answer without them. The metadata document shows them from the same moment.
   */
  setBgpSessionNeighbors(deviceId: string, neighbors: BgpNeighbor[], afterReads?: number): void;
  setReleaseLagMs(ms: number): void;
  state(): FakeState;
  /** Every request to either listener, in arrival order; never the token. */
  readonly requests: MetalRequest[];
  /** Replaces every fault (null clears them). */
  setFaults(f: MetalFaults | null): void;
  /** Calls cb on every assignment change (API or out of band); returns the unsubscribe function. */
  onAssignmentChange(cb: (e: AssignmentChange) => void): () => void;
  close(): Promise<void>;
}
