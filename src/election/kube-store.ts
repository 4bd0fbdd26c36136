// The LeaseStore port on a real kube-apiserver, through @kubernetes/client-node 1.4 (2.x does not load on
// Node 20). Every request carries the caller's AbortSignal (client-node has no default timeout, and a hung
// request must not outlive the renew deadline); errors become the typed LeaseErrors the elector acts on.
import {
  ApiException,
  CoordinationV1Api,
  Observable,
  V1MicroTime,
  Watch,
  type ConfigurationOptions,
  type KubeConfig,
  type V1Lease,
} from '@kubernetes/client-node';
import {
  LeaseConflictError,
  LeaseError,
  LeaseForbiddenError,
  LeaseInvalidError,
  LeaseUnavailableError,
} from './errors.js';
import type { LeaseRecord, LeaseStore, LeaseWatch, StoredLease, WatchHandlers } from './types.js';

/** Watches end after this long and are re-opened, so a silently dead connection cannot linger. */
const WATCH_TIMEOUT_SECONDS = 300;

function withSignal(signal: AbortSignal): ConfigurationOptions {
  return {
    middleware: [
      {
        pre: (ctx) => {
          ctx.setSignal(signal);
          return new Observable(Promise.resolve(ctx));
        },
        post: (ctx) => new Observable(Promise.resolve(ctx)),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}

function time(v: unknown): Date {
  const d = v instanceof Date ? v : new Date(typeof v === 'string' ? v : 0);
  return Number.isNaN(d.getTime()) ? new Date(0) : d;
}

export function leaseToStored(lease: V1Lease): StoredLease {
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

function statusMessage(body: unknown): string {
  try {
    const parsed = JSON.parse(String(body)) as { message?: string };
    if (parsed.message) return parsed.message;
  } catch {
    // not a Status object
  }
  return String(body).slice(0, 200);
}

export class KubeLeaseStore implements LeaseStore {
  readonly description: string;
  private readonly api: CoordinationV1Api;

  constructor(
    private readonly kc: KubeConfig,
    private readonly namespace: string,
    private readonly name: string,
  ) {
    this.description = `${namespace}/${name}`;
    this.api = kc.makeApiClient(CoordinationV1Api);
  }

  async get(signal: AbortSignal): Promise<StoredLease | null> {
    try {
      return leaseToStored(
        await this.api.readNamespacedLease(
          { name: this.name, namespace: this.namespace },
          withSignal(signal),
        ),
      );
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) return null;
      throw this.mapError(err, 'get');
    }
  }

  async create(record: LeaseRecord, signal: AbortSignal): Promise<StoredLease> {
    try {
      const body = this.toLease(record);
      return leaseToStored(
        await this.api.createNamespacedLease({ namespace: this.namespace, body }, withSignal(signal)),
      );
    } catch (err) {
      throw this.mapError(err, 'create');
    }
  }

  async update(record: LeaseRecord, version: string, signal: AbortSignal): Promise<StoredLease> {
    try {
      const body = this.toLease(record, version);
      return leaseToStored(
        await this.api.replaceNamespacedLease(
          { name: this.name, namespace: this.namespace, body },
          withSignal(signal),
        ),
      );
    } catch (err) {
      throw this.mapError(err, 'update');
    }
  }

  watch(fromVersion: string | null, handlers: WatchHandlers): LeaseWatch {
    let stopped = false;
    let controller: AbortController | null = null;
    let closed = false;
    const close = (reason: { error?: Error; expired?: boolean }) => {
      if (closed) return;
      closed = true;
      controller?.abort();
      if (!stopped) handlers.onClose(reason);
    };
    const path = `/apis/coordination.k8s.io/v1/namespaces/${this.namespace}/leases`;
    const query: Record<string, string | number | boolean> = {
      fieldSelector: `metadata.name=${this.name}`,
      allowWatchBookmarks: true,
      timeoutSeconds: WATCH_TIMEOUT_SECONDS,
    };
    if (fromVersion) query.resourceVersion = fromVersion;
    new Watch(this.kc)
      .watch(
        path,
        query,
        (type: string, obj: unknown) => {
          if (stopped || closed) return;
          const lease = obj as V1Lease & { code?: number; reason?: string };
          if (type === 'ADDED' || type === 'MODIFIED')
            handlers.onEvent({ type: 'upsert', lease: leaseToStored(lease) });
          else if (type === 'DELETED')
            handlers.onEvent({ type: 'deleted', version: lease.metadata?.resourceVersion ?? '' });
          else if (type === 'BOOKMARK')
            handlers.onEvent({ type: 'bookmark', version: lease.metadata?.resourceVersion ?? '' });
          else if (type === 'ERROR')
            close({
              expired: lease.code === 410,
              error: new LeaseUnavailableError(lease.reason ?? 'watch error'),
            });
        },
        (err: unknown) => close(err ? { error: this.mapError(err, 'watch'), expired: isGone(err) } : {}),
      )
      .then((c) => {
        controller = c;
        if (stopped || closed) c.abort();
        else handlers.onOpen?.();
      })
      .catch((err: unknown) => close({ error: this.mapError(err, 'watch') }));
    return {
      stop: () => {
        stopped = true;
        controller?.abort();
      },
    };
  }

  private toLease(record: LeaseRecord, version?: string): V1Lease {
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: this.name,
        namespace: this.namespace,
        ...(version ? { resourceVersion: version } : {}),
      },
      spec: {
        holderIdentity: record.holderIdentity,
        leaseDurationSeconds: record.leaseDurationSeconds,
        // MicroTime: kube-apiserver rejects anything but exactly six fractional digits.
        acquireTime: new V1MicroTime(record.acquireTime.getTime()),
        renewTime: new V1MicroTime(record.renewTime.getTime()),
        leaseTransitions: record.leaseTransitions,
      },
    };
  }

  private mapError(err: unknown, verb: string): LeaseError {
    if (err instanceof LeaseError) return err;
    const code = err instanceof ApiException ? err.code : (err as { statusCode?: number }).statusCode;
    const detail =
      err instanceof ApiException
        ? statusMessage(err.body)
        : err instanceof Error
          ? err.message
          : String(err);
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
          'kvip needs get, create, update, list and watch on leases (see `kvip manifest rbac`)',
        verb,
        403,
      );
    if (code === 400 || code === 422) return new LeaseInvalidError(`${verb} lease: ${detail}`);
    return new LeaseUnavailableError(
      code ? `${verb} lease: HTTP ${code}: ${detail}` : `${verb} lease: ${detail}`,
    );
  }
}

function isGone(err: unknown): boolean {
  return (err as { statusCode?: number }).statusCode === 410;
}
