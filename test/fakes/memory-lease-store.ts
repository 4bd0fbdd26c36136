// An in-memory lease "API server" for the elector's simulated-time tests: the semantics of kube-apiserver
// for one Lease (resourceVersion, 409 on a stale update or an existing create, watch events) and a network
// per client with latency, aborts that may land after the server applied the write, and partitions.
import {
  LeaseConflictError,
  LeaseUnavailableError,
  type Clock,
  type LeaseRecord,
  type LeaseStore,
  type StoredLease,
  type WatchHandlers,
} from '../../src/election/index.js';
import type { FakeClock } from './clock.js';

export interface Link {
  /** Client -> server and server -> client delays, ms (called per message). */
  up: () => number;
  down: () => number;
  partitioned: boolean;
}

interface Watcher {
  client: string;
  link: Link;
  clock: Clock;
  handlers: WatchHandlers;
  lastDeliverAt: number;
  closed: boolean;
}

function clone(s: StoredLease): StoredLease {
  return {
    version: s.version,
    record: {
      ...s.record,
      acquireTime: new Date(s.record.acquireTime),
      renewTime: new Date(s.record.renewTime),
    },
  };
}

export class MemoryLeaseServer {
  private lease: StoredLease | null = null;
  private rv = 0;
  private readonly watchers = new Set<Watcher>();
  /** Every successful write: server time, writer, holder written. */
  readonly writes: { at: number; client: string; holder: string }[] = [];
  readonly requestCount = new Map<string, number>();
  /** 409s answered, by client (a stale update or a create of an existing lease). */
  readonly conflicts = new Map<string, number>();
  /** Watches opened from now on end cleanly right after they open. */
  endWatchesAtOnce = false;
  /** How many watches each client has opened. */
  readonly watchCount = new Map<string, number>();

  constructor(private readonly clock: FakeClock) {}

  private conflict(client: string, message: string): LeaseConflictError {
    this.conflicts.set(client, (this.conflicts.get(client) ?? 0) + 1);
    return new LeaseConflictError(message);
  }

  current(): StoredLease | null {
    return this.lease ? clone(this.lease) : null;
  }

  /** Out-of-band write, as another controller or a person would do. */
  put(record: LeaseRecord, client = 'test'): StoredLease {
    return this.write(record, client);
  }

  client(name: string, clock: Clock, link: Link): LeaseStore {
    return {
      description: 'kube-system/test-lease',
      get: (signal) => this.request(name, link, clock, signal, () => (this.lease ? clone(this.lease) : null)),
      create: (record, signal) =>
        this.request(name, link, clock, signal, () => {
          if (this.lease) throw this.conflict(name, 'leases "test-lease" already exists');
          return this.write(record, name);
        }),
      update: (record, version, signal) =>
        this.request(name, link, clock, signal, () => {
          if (!this.lease || this.lease.version !== version)
            throw this.conflict(
              name,
              'the object has been modified; please apply your changes to the latest version',
            );
          return this.write(record, name);
        }),
      watch: (fromVersion, handlers) => {
        const w: Watcher = { client: name, link, clock, handlers, lastDeliverAt: 0, closed: false };
        this.watchCount.set(name, (this.watchCount.get(name) ?? 0) + 1);
        this.watchers.add(w);
        if (!link.partitioned) this.deliver(w, () => handlers.onOpen?.());
        if (!link.partitioned && this.endWatchesAtOnce) {
          // a proxy that cuts every stream short: opened, then ended cleanly
          this.deliver(w, () => {
            this.watchers.delete(w);
            if (!w.closed) handlers.onClose({});
            w.closed = true;
          });
        }
        if (!link.partitioned && this.lease && this.lease.version !== fromVersion) {
          const snapshot = clone(this.lease);
          this.deliver(w, () => handlers.onEvent({ type: 'upsert', lease: snapshot }));
        }
        return {
          stop: () => {
            w.closed = true;
            this.watchers.delete(w);
          },
        };
      },
    };
  }

  /** The clients with a watch open now, sorted. */
  watching(): string[] {
    return [...this.watchers].map((w) => w.client).sort();
  }

  /** A healed partition leaves the client's old watch streams dead: they close with an error. */
  heal(client: string, link: Link): void {
    link.partitioned = false;
    for (const w of [...this.watchers]) {
      if (w.client !== client) continue;
      this.watchers.delete(w);
      w.closed = true;
      w.handlers.onClose({ error: new Error('watch stream broken by a partition') });
    }
  }

  private write(record: LeaseRecord, client: string): StoredLease {
    this.rv++;
    this.lease = clone({ record, version: String(this.rv) });
    this.writes.push({ at: this.clock.now(), client, holder: record.holderIdentity });
    const snapshot = this.lease;
    for (const w of this.watchers) {
      if (w.link.partitioned) continue; // silent: a partitioned stream just stops delivering
      this.deliver(w, () => w.handlers.onEvent({ type: 'upsert', lease: clone(snapshot) }));
    }
    return clone(this.lease);
  }

  /** In-order delivery to one watcher after its link's delay. */
  private deliver(w: Watcher, fn: () => void): void {
    const at = Math.max(w.lastDeliverAt, this.clock.now() + w.link.down());
    w.lastDeliverAt = at;
    w.clock.setTimer(at - this.clock.now(), () => {
      if (!w.closed && !w.link.partitioned) fn();
    });
  }

  private request<T>(client: string, link: Link, clock: Clock, signal: AbortSignal, op: () => T): Promise<T> {
    this.requestCount.set(client, (this.requestCount.get(client) ?? 0) + 1);
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const onAbort = () => {
        if (done) return;
        done = true;
        reject(new LeaseUnavailableError('request aborted'));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      if (link.partitioned) return; // hangs until aborted
      this.clock.setTimer(link.up(), () => {
        if (done || link.partitioned) return; // never reached the server
        let result: T | undefined;
        let error: unknown;
        try {
          result = op(); // applied now, whatever happens to the response
        } catch (err) {
          error = err;
        }
        clock.setTimer(link.down(), () => {
          if (done || link.partitioned) return; // response lost
          done = true;
          signal.removeEventListener('abort', onAbort);
          if (error !== undefined) reject(error);
          else resolve(result as T);
        });
      });
    });
  }
}
