// The Equinix Metal API calls kvip makes to move an elastic IP and to set up BGP. Every call is bounded,
// retried only when sending it again is safe, and fails with a MetalApiError that never carries the token.
import type { Logger } from '../log.js';
import { VERSION } from '../version.js';
import { MetalApiError } from './errors.js';
import { Transport, withRetries, type Attempt } from './http.js';
import type {
  MetalBgpConfig,
  MetalBgpNeighbor,
  MetalBgpSession,
  MetalDevice,
  MetalIpAssignment,
  MetalIpReservation,
  MetalProject,
} from './types.js';

export interface MetalClientOptions {
  /** E.g. https://api.equinix.com/metal/v1; its path prefix is kept. */
  baseUrl: string;
  /** Sent as X-Auth-Token. */
  token: string;
  /** Bound on each attempt, from sending to the last byte of the answer (default 5000). */
  timeoutMs?: number;
  /** Retries after the first attempt (default 5). */
  retries?: number;
  /** First backoff ceiling (default 250), doubled per retry, full jitter. */
  minDelayMs?: number;
  /** Backoff cap (default 5000); also caps a wait the server asks for. */
  maxDelayMs?: number;
  /** Default `kvip/<version>`. */
  userAgent?: string;
  /** Gets a debug line per retry. */
  log?: Logger;
  /** Called once per attempt, for metrics. */
  onResponse?: (e: { operation: string; method: string; status: number | 'error'; ms: number }) => void;
}

export interface CallOptions {
  /** Asked right before every attempt; false rejects with MetalCallAbortedError and sends nothing more. */
  guard?: () => boolean;
  /** Aborts the attempt in flight and any backoff wait; the call rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Whether a 5xx, timeout or reset may be retried (default: GET and DELETE yes, POST no). */
  idempotent?: boolean;
  /** Retry also when this says so (e.g. a 422 right after an unassign). */
  retryIf?: (err: MetalApiError) => boolean;
  /** Overrides the client's retries for this call (0 = one attempt). */
  retries?: number;
}

export type Query = Record<string, string | number | boolean | (string | number)[] | undefined>;

export interface UnassignResult {
  /** True when the assignment did not exist any more (404): someone, or an earlier attempt, removed it. */
  alreadyGone: boolean;
}

export interface CreateBgpSessionResult {
  /** True when the device already had a session for that family (the API's 422 "already has session"). */
  alreadyExists: boolean;
  /** The new session; absent when it already existed. */
  session?: MetalBgpSession;
}

/** Page size asked for; the API may use a smaller one, so pagination is followed regardless. */
const PER_PAGE = 100;
/** More pages than this is a misbehaving API, not a project. */
const MAX_PAGES = 1000;

interface Page {
  meta?: { next?: { href?: unknown } | null; current_page?: unknown; last_page?: unknown };
  [key: string]: unknown;
}

export class MetalClient {
  readonly #transport: Transport;
  readonly #retries: number;
  readonly #minDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #log: Logger | undefined;

  constructor(opts: MetalClientOptions) {
    if (!opts.token) throw new TypeError('Metal API token is empty');
    this.#transport = new Transport({
      baseUrl: opts.baseUrl,
      headers: { 'X-Auth-Token': opts.token, 'User-Agent': opts.userAgent ?? `kvip/${VERSION}` },
      secret: opts.token,
      timeoutMs: opts.timeoutMs ?? 5000,
      onResponse: opts.onResponse,
    });
    this.#retries = opts.retries ?? 5;
    this.#minDelayMs = opts.minDelayMs ?? 250;
    this.#maxDelayMs = opts.maxDelayMs ?? 5000;
    this.#log = opts.log;
  }

  /** Closes kept-alive connections. */
  close(): void {
    this.#transport.close();
  }

  /** One API call with retries; resolves with the parsed body (undefined for 204). */
  async request<T>(
    operation: string,
    method: string,
    path: string,
    req: { query?: Query; body?: unknown } = {},
    call: CallOptions = {},
  ): Promise<T> {
    const m = method.toUpperCase();
    const attempt: Attempt = { operation, method: m, path, query: encodeQuery(req.query), body: req.body };
    const idempotent = call.idempotent ?? (m === 'GET' || m === 'DELETE' || m === 'HEAD');
    const answer = await withRetries(() => this.#transport.send(attempt, call.signal), {
      operation,
      method: m,
      path,
      retries: call.retries ?? this.#retries,
      minDelayMs: this.#minDelayMs,
      maxDelayMs: this.#maxDelayMs,
      // 429 means the request was not acted on, and a refused connection means it never arrived: both are
      // safe to send again whatever the method.
      shouldRetry: (err) =>
        err.status === 429 ||
        err.code === 'ECONNREFUSED' ||
        (idempotent && err.retryable) ||
        (call.retryIf?.(err) ?? false),
      guard: call.guard,
      signal: call.signal,
      log: this.#log,
    });
    return answer.data as T;
  }

  /**
   * GETs every page of a list: `{<collectionKey>: T[], meta}`. The next page number is read from meta.next
   * and requested on the same path, so an href can never send the call to another host or path.
   */
  async listAll<T>(
    operation: string,
    path: string,
    collectionKey: string,
    query: Query = {},
    call: CallOptions = {},
  ): Promise<T[]> {
    const items: T[] = [];
    let page = typeof query.page === 'number' ? query.page : 1;
    for (let fetched = 0; ; fetched++) {
      const fail = (message: string) =>
        this.#transport.error(
          { operation, method: 'GET', path },
          { code: 'EBADPAGINATION', messages: [message] },
        );
      if (fetched >= MAX_PAGES) throw fail(`more than ${MAX_PAGES} pages`);
      const body = await this.request<Page | undefined>(
        operation,
        'GET',
        path,
        { query: { ...query, page } },
        call,
      );
      const list = body?.[collectionKey];
      if (!Array.isArray(list)) {
        throw this.#transport.error(
          { operation, method: 'GET', path },
          { code: 'EBADRESPONSE', messages: [`page ${page} has no "${collectionKey}" list`] },
        );
      }
      items.push(...(list as T[]));
      const meta = body?.meta;
      const nextHref = meta?.next?.href;
      if (typeof nextHref !== 'string' || nextHref === '') return items;
      const current = typeof meta?.current_page === 'number' ? meta.current_page : page;
      if (typeof meta?.last_page === 'number' && current >= meta.last_page) return items;
      const next = pageOf(nextHref);
      if (next === undefined) throw fail(`meta.next of page ${page} has no page number`);
      if (next <= page) throw fail(`meta.next of page ${page} points at page ${next}`);
      page = next;
    }
  }

  findProjects(call?: CallOptions): Promise<MetalProject[]> {
    return this.listAll('findProjects', '/projects', 'projects', { per_page: PER_PAGE }, call);
  }

  getProject(id: string, call?: CallOptions): Promise<MetalProject> {
    return this.request('getProject', 'GET', `/projects/${seg(id)}`, {}, call);
  }

  /** `hostname` is a partial match on the server: compare the hostnames of the result exactly. */
  findProjectDevices(
    projectId: string,
    filter: { hostname?: string } = {},
    call?: CallOptions,
  ): Promise<MetalDevice[]> {
    return this.listAll(
      'findProjectDevices',
      `/projects/${seg(projectId)}/devices`,
      'devices',
      { hostname: filter.hostname, per_page: PER_PAGE },
      call,
    );
  }

  getDevice(id: string, call?: CallOptions): Promise<MetalDevice> {
    return this.request('getDevice', 'GET', `/devices/${seg(id)}`, {}, call);
  }

  /** Every IP reservation of the project, with its assignments expanded. */
  findProjectIps(projectId: string, call?: CallOptions): Promise<MetalIpReservation[]> {
    return this.listAll(
      'findProjectIps',
      `/projects/${seg(projectId)}/ips`,
      'ip_addresses',
      { include: 'assignments', per_page: PER_PAGE },
      call,
    );
  }

  /** An assignment or a reservation, depending on whose id this is. */
  getIp(id: string, call?: CallOptions): Promise<MetalIpAssignment | MetalIpReservation> {
    return this.request('getIp', 'GET', `/ips/${seg(id)}`, { query: { include: 'assignments' } }, call);
  }

  /**
   * Assigns `address` (bare or in CIDR notation) to the device. A 422 usually means the address is still
   * assigned somewhere (possibly not yet released after an unassign); the caller decides what to do.
   */
  assignIp(deviceId: string, address: string, call?: CallOptions): Promise<MetalIpAssignment> {
    return this.request('assignIp', 'POST', `/devices/${seg(deviceId)}/ips`, { body: { address } }, call);
  }

  /**
   * Removes an assignment. Takes an ASSIGNMENT id only: the same endpoint given a reservation id deletes the
   * whole block from the project.
   */
  async unassignIp(assignmentId: string, call?: CallOptions): Promise<UnassignResult> {
    try {
      await this.request('unassignIp', 'DELETE', `/ips/${seg(assignmentId)}`, {}, call);
      return { alreadyGone: false };
    } catch (err) {
      if (err instanceof MetalApiError && err.status === 404) return { alreadyGone: true };
      throw err;
    }
  }

  /** Empty until BGP is enabled for the project and the device has a session. */
  async getBgpNeighbors(deviceId: string, call?: CallOptions): Promise<MetalBgpNeighbor[]> {
    const body = await this.request<{ bgp_neighbors?: MetalBgpNeighbor[] } | undefined>(
      'getBgpNeighbors',
      'GET',
      `/devices/${seg(deviceId)}/bgp/neighbors`,
      {},
      call,
    );
    return body?.bgp_neighbors ?? [];
  }

  async findBgpSessions(deviceId: string, call?: CallOptions): Promise<MetalBgpSession[]> {
    const body = await this.request<{ bgp_sessions?: MetalBgpSession[] } | undefined>(
      'findBgpSessions',
      'GET',
      `/devices/${seg(deviceId)}/bgp/sessions`,
      {},
      call,
    );
    return body?.bgp_sessions ?? [];
  }

  /**
   * Creates the device's BGP session for one family; one that exists already counts as success. Idempotent
   * by default for that reason: a repeat after a lost answer finds the session and succeeds.
   */
  async createBgpSession(
    deviceId: string,
    addressFamily: 'ipv4' | 'ipv6',
    call: CallOptions = {},
  ): Promise<CreateBgpSessionResult> {
    try {
      const session = await this.request<MetalBgpSession>(
        'createBgpSession',
        'POST',
        `/devices/${seg(deviceId)}/bgp/sessions`,
        { body: { address_family: addressFamily, default_route: false } },
        { idempotent: true, ...call },
      );
      return { alreadyExists: false, session };
    } catch (err) {
      if (
        err instanceof MetalApiError &&
        err.status === 422 &&
        err.messages.some((m) => /already has session/i.test(m))
      ) {
        return { alreadyExists: true };
      }
      throw err;
    }
  }

  /** The project's BGP config; undefined when BGP was never enabled (the API answers `{}`). */
  async getBgpConfig(projectId: string, call?: CallOptions): Promise<MetalBgpConfig | undefined> {
    const body = await this.request<MetalBgpConfig | undefined>(
      'getBgpConfig',
      'GET',
      `/projects/${seg(projectId)}/bgp-config`,
      {},
      call,
    );
    return body && typeof body.id === 'string' && body.id !== '' ? body : undefined;
  }
}

/** An id as one path segment: it can never add a segment or a query. */
function seg(id: string): string {
  if (typeof id !== 'string' || id === '') throw new TypeError('Metal API id is empty');
  return encodeURIComponent(id);
}

/** Arrays repeat the key (`types=a&types=b`), the form the API expects; undefined values are left out. */
function encodeQuery(query: Query | undefined): string | undefined {
  if (!query) return undefined;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) params.append(key, String(v));
  }
  const s = params.toString();
  return s === '' ? undefined : s;
}

/** The `page` query parameter of an href (relative, with or without /metal/v1, or absolute). */
function pageOf(href: string): number | undefined {
  let raw: string | null;
  try {
    raw = new URL(href, 'http://metal.invalid').searchParams.get('page');
  } catch {
    return undefined;
  }
  return raw !== null && /^\d+$/.test(raw) ? Number(raw) : undefined;
}
