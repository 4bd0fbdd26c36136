// The LeaseStore port on a real kube-apiserver: coordination.k8s.io/v1 Leases as plain JSON over KubeHttp.
// Every request carries the caller's AbortSignal (a hung request must not outlive the renew deadline);
// HTTP statuses become the typed LeaseErrors the elector acts on.
import {
  LeaseConflictError,
  LeaseError,
  LeaseForbiddenError,
  LeaseInvalidError,
  LeaseUnavailableError,
} from './errors.js';
import type { IncomingMessage } from 'node:http';
import { LineReader, readResponse, type KubeHttp, type KubeResponse } from './kube-http.js';
import type { LeaseRecord, LeaseStore, LeaseWatch, StoredLease, WatchHandlers } from './types.js';

/** Watches end after this long and are re-opened, so a silently dead connection cannot linger. */
const WATCH_TIMEOUT_SECONDS = 300;
/**
 * A watch that has delivered nothing (no event, no bookmark) for this long is ended and re-opened. While a
 * node leads, its renewals arrive every RetryPeriod; a silent stream is a dead connection that TCP
 * keepalive would take minutes to notice, and a follower trusting it would see the leader's death late.
 */
const WATCH_IDLE_MS = 30_000;
/** Bound on the wait for a watch's response, in case the API server cannot be reached. */
const WATCH_OPEN_TIMEOUT_MS = 5000;
/** A Lease event is a few hundred bytes; a line this long is not one. */
const MAX_EVENT_BYTES = 1 << 20;

/** A Lease as the API server sends it (the fields kvip reads; the rest is kept and sent back on update). */
export interface LeaseObject {
  metadata?: { resourceVersion?: string; managedFields?: unknown; [field: string]: unknown };
  spec?: {
    [field: string]: unknown;
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/** Certificate errors (node:tls) that no retry fixes: the kubeconfig does not trust this server. */
const UNTRUSTED_SERVER = new Set([
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
]);

function time(v: unknown): Date {
  const d = new Date(typeof v === 'string' ? v : 0);
  return Number.isNaN(d.getTime()) ? new Date(0) : d;
}

/** MicroTime: kube-apiserver rejects anything but exactly six fractional digits. */
export function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export function leaseToStored(lease: LeaseObject): StoredLease {
  const spec = lease.spec ?? {};
  return {
    version: lease.metadata?.resourceVersion ?? '',
    record: {
      holderIdentity: spec.holderIdentity ?? '',
      leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
      acquireTime: time(spec.acquireTime),
      renewTime: time(spec.renewTime),
      leaseTransitions: spec.leaseTransitions ?? 0,
    },
  };
}

/**
 * The `message` of a Kubernetes Status object (kind Status, or a string message with a numeric code), or
 * the reason of a Status without one; undefined for anything else.
 */
export function statusText(v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const s = v as { kind?: unknown; message?: unknown; code?: unknown; reason?: unknown };
  if (typeof s.message === 'string' && s.message && (s.kind === 'Status' || typeof s.code === 'number'))
    return s.message;
  if (s.kind === 'Status' && typeof s.reason === 'string' && /^[A-Za-z]+$/.test(s.reason)) return s.reason;
  return undefined;
}

/**
 * What a body was, never what it said: a non-Status answer may be a proxy's page carrying anything, secrets
 * included, and has no place in a log.
 */
export function describeBody(contentType: string, bytes: number): string {
  if (bytes === 0) return 'an empty body';
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  const named = /^[a-z0-9.+-]+\/[a-z0-9.+-]+$/.test(type) ? `${type} ` : '';
  return `${/^[aeiou]/.test(named) ? 'an' : 'a'} ${named}body of ${bytes} bytes`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

class HttpStatusError extends Error {
  /** Whether the message is the server's own (from a Status object). */
  readonly fromStatus: boolean;
  readonly status: number;
  constructor(res: KubeResponse) {
    const message = statusText(parseJson(res.text));
    super(
      message ?? `HTTP ${res.status} (${describeBody(res.contentType, res.bytes)}, not a Kubernetes Status)`,
    );
    this.status = res.status;
    this.fromStatus = message !== undefined;
  }
}

export class KubeLeaseStore implements LeaseStore {
  readonly description: string;
  private readonly collection: string;
  private readonly path: string;
  /**
   * The last Lease object seen (GET, create, update or watch). An update sends it back with only the spec
   * changed, as client-go does: a PUT replaces the whole object, so sending just the fields kvip knows would
   * drop the labels, annotations and newer spec fields someone else put there.
   */
  private last: LeaseObject | null = null;

  constructor(
    private readonly http: KubeHttp,
    private readonly namespace: string,
    private readonly name: string,
    private readonly opts: { watchIdleMs?: number; watchOpenTimeoutMs?: number } = {},
  ) {
    this.description = `${namespace}/${name}`;
    this.collection = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
    this.path = `${this.collection}/${encodeURIComponent(name)}`;
  }

  /** The Lease's uid as last seen (what an Event about the Lease names it by); undefined before any answer. */
  get uid(): string | undefined {
    const uid = this.last?.metadata?.uid;
    return typeof uid === 'string' && uid !== '' ? uid : undefined;
  }

  async get(signal: AbortSignal): Promise<StoredLease | null> {
    const res = await this.call('get', 'GET', this.path, undefined, signal, [200, 404]);
    return res === null ? null : res;
  }

  async create(record: LeaseRecord, signal: AbortSignal): Promise<StoredLease> {
    return (await this.call('create', 'POST', this.collection, this.toLease(record), signal, [200, 201]))!;
  }

  async update(record: LeaseRecord, version: string, signal: AbortSignal): Promise<StoredLease> {
    // Without a resourceVersion a PUT is unconditional: the one check that keeps two writers apart is gone.
    if (!version) throw new LeaseInvalidError('update lease: no resourceVersion to update from');
    return (await this.call('update', 'PUT', this.path, this.toLease(record, version), signal, [200]))!;
  }

  watch(fromVersion: string | null, handlers: WatchHandlers): LeaseWatch {
    const controller = new AbortController();
    let response: IncomingMessage | undefined;
    let stopped = false;
    let closed = false;
    let idle: NodeJS.Timeout | undefined;
    // Once the response is in, end it by destroying it: aborting a finished request emits an error that
    // nobody is left to handle.
    const end = () => {
      clearTimeout(opening);
      clearTimeout(idle);
      if (response) response.destroy();
      else controller.abort(new Error('watch closed'));
    };
    const close = (reason: { error?: Error; expired?: boolean }) => {
      if (closed) return;
      closed = true;
      end();
      if (!stopped) handlers.onClose(reason);
    };
    // An unreachable API server may never answer a watch; ending it lets the caller re-open it (with
    // backoff) rather than wait on it for ever after the network heals.
    const openMs = this.opts.watchOpenTimeoutMs ?? WATCH_OPEN_TIMEOUT_MS;
    const opening = setTimeout(() => {
      close({
        error: new LeaseUnavailableError(`watch: no response within ${openMs} ms (watchOpenTimeoutMs)`),
      });
    }, openMs);
    // Silence ends the watch cleanly, as the server's own timeout would: the elector re-opens it.
    const alive = () => idle?.refresh();
    const query = new URLSearchParams({
      watch: '1',
      fieldSelector: `metadata.name=${this.name}`,
      allowWatchBookmarks: 'true',
      timeoutSeconds: String(WATCH_TIMEOUT_SECONDS),
    });
    if (fromVersion) query.set('resourceVersion', fromVersion);
    this.http
      .open('GET', `${this.collection}?${query.toString()}`, controller.signal)
      .then(async (res) => {
        response = res;
        if (closed) return void res.destroy();
        if (res.statusCode !== 200) {
          // Still under the open timeout: an error body that never ends must not hang the watch either.
          const answer = await readResponse(res);
          const err = this.mapError(new HttpStatusError(answer), 'watch');
          return close({ error: err, expired: answer.status === 410 });
        }
        clearTimeout(opening);
        idle = setTimeout(() => close({}), this.opts.watchIdleMs ?? WATCH_IDLE_MS);
        handlers.onOpen?.();
        const lines = new LineReader(MAX_EVENT_BYTES);
        res.on('data', (chunk: Buffer) => {
          alive();
          const complete = lines.push(chunk);
          if (complete === null)
            return close({
              error: new LeaseUnavailableError(`watch: an event larger than ${MAX_EVENT_BYTES} bytes`),
            });
          for (const line of complete) if (!closed) this.dispatch(line, handlers, close);
        });
        res.on('end', () => close({}));
        res.on('error', (err) => close({ error: this.mapError(err, 'watch') }));
        res.on('close', () => close({ error: new LeaseUnavailableError('watch: connection closed') }));
      })
      .catch((err: unknown) => close({ error: this.mapError(err, 'watch') }));
    return {
      stop: () => {
        stopped = true;
        closed = true;
        end();
      },
    };
  }

  private dispatch(
    line: Buffer,
    handlers: WatchHandlers,
    close: (reason: { error?: Error; expired?: boolean }) => void,
  ): void {
    const text = line.toString('utf8').trim();
    if (!text) return;
    // Described, never quoted: whatever sent a line that is no event may have put anything in it.
    const event = parseJson(text) as {
      type?: unknown;
      object?: LeaseObject & { code?: unknown; message?: unknown };
    } | null;
    if (typeof event !== 'object' || event === null || Array.isArray(event)) {
      const what = event === undefined ? 'not JSON' : 'not a watch event';
      return close({
        error: new LeaseUnavailableError(`watch: a line of ${line.length} bytes that is ${what}`),
      });
    }
    const obj = typeof event.object === 'object' && event.object !== null ? event.object : {};
    const version = obj.metadata?.resourceVersion ?? '';
    if (event.type === 'ADDED' || event.type === 'MODIFIED')
      handlers.onEvent({ type: 'upsert', lease: this.seen(obj) });
    else if (event.type === 'DELETED') handlers.onEvent({ type: 'deleted', version });
    else if (event.type === 'BOOKMARK') handlers.onEvent({ type: 'bookmark', version });
    else if (event.type === 'ERROR') {
      const message = statusText(obj) ?? 'an ERROR event without a Kubernetes Status';
      close({ expired: obj.code === 410, error: new LeaseUnavailableError(`watch: ${message}`) });
    }
  }

  /** One request; `ok` statuses return the lease (404 returns null), anything else throws a LeaseError. */
  private async call(
    verb: string,
    method: string,
    path: string,
    body: unknown,
    signal: AbortSignal,
    ok: number[],
  ): Promise<StoredLease | null> {
    let res;
    try {
      res = await this.http.request(method, path, body, signal);
    } catch (err) {
      throw this.mapError(err, verb);
    }
    if (!ok.includes(res.status)) throw this.mapError(new HttpStatusError(res), verb);
    if (res.status === 404) {
      // Only the API server's own NotFound says the Lease does not exist; a proxy's 404 page says nothing
      // about it, and creating on it would be acting on a guess.
      const notFound = new HttpStatusError(res);
      if (!notFound.fromStatus) throw this.mapError(notFound, verb);
      this.last = null;
      return null;
    }
    const lease = parseJson(res.text);
    if (typeof lease !== 'object' || lease === null || Array.isArray(lease))
      throw new LeaseUnavailableError(
        `${verb} lease: HTTP ${res.status} with ${describeBody(res.contentType, res.bytes)}, not a Lease`,
      );
    return this.seen(lease as LeaseObject);
  }

  private seen(lease: LeaseObject): StoredLease {
    this.last = lease;
    return leaseToStored(lease);
  }

  private toLease(record: LeaseRecord, version?: string): object {
    // The object this update is based on, if it is the one last seen; managedFields left out (the server
    // keeps them when they are absent) to keep every renewal small.
    const base = version && this.last?.metadata?.resourceVersion === version ? this.last : undefined;
    const { managedFields: _managed, ...metadata } = base?.metadata ?? {};
    return {
      ...base,
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        ...metadata,
        name: this.name,
        namespace: this.namespace,
        ...(version ? { resourceVersion: version } : {}),
      },
      spec: {
        ...base?.spec,
        holderIdentity: record.holderIdentity,
        leaseDurationSeconds: record.leaseDurationSeconds,
        acquireTime: microTime(record.acquireTime),
        renewTime: microTime(record.renewTime),
        leaseTransitions: record.leaseTransitions,
      },
    };
  }

  private mapError(err: unknown, verb: string): LeaseError {
    if (err instanceof LeaseError) return err;
    const code = err instanceof HttpStatusError ? err.status : undefined;
    // Duck-typed: node:http's errors may come from another realm (a test's VM context), where instanceof fails.
    const e = err as { name?: unknown; message?: unknown; cause?: { message?: unknown } } | null;
    let detail = typeof e?.message === 'string' ? e.message : String(err);
    // An aborted request: say why (the caller's abort reason), not just that it was aborted.
    if (e?.name === 'AbortError' && typeof e.cause?.message === 'string') detail = e.cause.message;
    if (code === 409) return new LeaseConflictError(detail);
    if (code === 401)
      return new LeaseForbiddenError(
        `the API server rejected kvip's credentials (401 Unauthorized): ${detail}`,
        verb,
        401,
      );
    if (code === 403)
      return new LeaseForbiddenError(
        `RBAC forbids "${verb}" on leases.coordination.k8s.io in namespace ${this.namespace}; ` +
          `kvip needs get, create, update and watch on leases (see \`kvip manifest rbac\`): ${detail}`,
        verb,
        403,
      );
    const tls = (err as { code?: unknown } | null)?.code;
    if (typeof tls === 'string' && UNTRUSTED_SERVER.has(tls))
      return new LeaseForbiddenError(
        `the API server's certificate cannot be verified (${tls}): check certificate-authority(-data) ` +
          `and tls-server-name in the kubeconfig`,
        verb,
        0,
      );
    if (code === 400 || code === 422) return new LeaseInvalidError(`${verb} lease: ${detail}`);
    const http = err instanceof HttpStatusError && err.fromStatus ? `HTTP ${code}: ` : '';
    return new LeaseUnavailableError(`${verb} lease: ${http}${detail}`);
  }
}
