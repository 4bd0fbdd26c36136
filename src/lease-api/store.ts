// The fake kube-apiserver's state: Leases by namespace/name, one global resourceVersion counter bumped on every
// write, a bounded event history for watch resumption (410 Expired once an event has been dropped), and the
// fan-out of events to open watches.
import { randomUUID } from 'node:crypto';
import { API_VERSION, type Lease, type LeaseInput, type WatchEvent } from './types.js';

type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

interface HistoryEntry {
  rv: number;
  type: ChangeType;
  lease: Lease;
}

export interface WatchFilter {
  namespace?: string;
  name?: string;
}

export type WatchStart = { ok: true; cancel: () => void } | { ok: false; requested: number; oldest: number };

interface Subscriber {
  filter: WatchFilter;
  send: (ev: WatchEvent) => void;
}

const key = (ns: string, name: string): string => `${ns}/${name}`;

function matches(f: WatchFilter, l: Lease): boolean {
  return (
    (f.namespace === undefined || f.namespace === l.metadata.namespace) &&
    (f.name === undefined || f.name === l.metadata.name)
  );
}

/** kube serialises Leases as kind, apiVersion, metadata, spec (spec always present). */
function canonical(input: LeaseInput): Lease {
  const m = input.metadata;
  const metadata: Lease['metadata'] = { name: m.name, namespace: m.namespace };
  if (m.uid) metadata.uid = m.uid;
  if (m.resourceVersion) metadata.resourceVersion = m.resourceVersion;
  if (m.creationTimestamp) metadata.creationTimestamp = m.creationTimestamp;
  if (m.labels && Object.keys(m.labels).length) metadata.labels = { ...m.labels };
  if (m.annotations && Object.keys(m.annotations).length) metadata.annotations = { ...m.annotations };
  return { kind: 'Lease', apiVersion: API_VERSION, metadata, spec: structuredClone(input.spec ?? {}) };
}

export class LeaseStore {
  private rv = 0;
  private readonly leases = new Map<string, Lease>();
  private history: HistoryEntry[] = [];
  /** Every event with rv > historyStart is in `history`. */
  private historyStart = 0;
  private readonly subscribers = new Set<Subscriber>();

  constructor(private readonly historyLimit = 1000) {}

  get resourceVersion(): number {
    return this.rv;
  }

  get(ns: string, name: string): Lease | undefined {
    const l = this.leases.get(key(ns, name));
    return l && structuredClone(l);
  }

  list(filter: WatchFilter): Lease[] {
    return [...this.leases.values()]
      .filter((l) => matches(filter, l))
      .sort((a, b) =>
        key(a.metadata.namespace, a.metadata.name).localeCompare(key(b.metadata.namespace, b.metadata.name)),
      )
      .map((l) => structuredClone(l));
  }

  /** Stores a new Lease (caller checked it does not exist): uid, creationTimestamp and resourceVersion set here. */
  create(input: LeaseInput): Lease {
    const lease = canonical(input);
    lease.metadata.uid = randomUUID();
    lease.metadata.creationTimestamp = new Date().toISOString().slice(0, 19) + 'Z';
    return this.commit('ADDED', lease);
  }

  /**
   * Replaces an existing Lease's spec, labels and annotations (uid and creationTimestamp kept). Like kube, an
   * update that changes nothing is not a write: same resourceVersion, no event.
   */
  update(input: LeaseInput): Lease {
    const old = this.leases.get(key(input.metadata.namespace, input.metadata.name));
    if (!old) throw new Error(`update of missing lease ${input.metadata.name}`);
    const next = canonical({
      ...input,
      metadata: {
        ...input.metadata,
        uid: old.metadata.uid,
        creationTimestamp: old.metadata.creationTimestamp,
        resourceVersion: old.metadata.resourceVersion,
      },
    });
    if (JSON.stringify(next) === JSON.stringify(old)) return structuredClone(old);
    return this.commit('MODIFIED', next);
  }

  delete(ns: string, name: string): Lease | undefined {
    const old = this.leases.get(key(ns, name));
    if (!old) return undefined;
    return this.commit('DELETED', structuredClone(old));
  }

  /** Out-of-band upsert for tests: no validation, always a write. */
  put(input: LeaseInput): Lease {
    const old = this.leases.get(key(input.metadata.namespace, input.metadata.name));
    const lease = canonical(input);
    lease.metadata.uid = old?.metadata.uid ?? input.metadata.uid ?? randomUUID();
    lease.metadata.creationTimestamp =
      old?.metadata.creationTimestamp ??
      input.metadata.creationTimestamp ??
      new Date().toISOString().slice(0, 19) + 'Z';
    return this.commit(old ? 'MODIFIED' : 'ADDED', lease);
  }

  /** Forgets all history: a watch from any resourceVersion older than the current one gets 410 Expired. */
  compact(): void {
    this.history = [];
    this.historyStart = this.rv;
  }

  /**
   * Starts a watch. Without `fromRv` the current matching objects are sent as ADDED first; with it, every
   * matching event after it is replayed from history (or the watch is refused when history no longer reaches
   * back that far). Later events follow as they happen. All synchronous: no event can slip in between.
   */
  watch(filter: WatchFilter, fromRv: number | undefined, send: (ev: WatchEvent) => void): WatchStart {
    if (fromRv === undefined) {
      for (const l of this.list(filter)) send({ type: 'ADDED', object: l });
    } else {
      if (fromRv < this.historyStart) {
        return { ok: false, requested: fromRv, oldest: this.history[0]?.rv ?? this.rv + 1 };
      }
      for (const e of this.history) {
        if (e.rv > fromRv && matches(filter, e.lease))
          send({ type: e.type, object: structuredClone(e.lease) });
      }
    }
    const sub: Subscriber = { filter, send };
    this.subscribers.add(sub);
    return { ok: true, cancel: () => this.subscribers.delete(sub) };
  }

  private commit(type: ChangeType, lease: Lease): Lease {
    this.rv += 1;
    lease.metadata.resourceVersion = String(this.rv);
    const k = key(lease.metadata.namespace, lease.metadata.name);
    if (type === 'DELETED') this.leases.delete(k);
    else this.leases.set(k, structuredClone(lease));
    this.history.push({ rv: this.rv, type, lease: structuredClone(lease) });
    while (this.history.length > this.historyLimit) this.historyStart = this.history.shift()!.rv;
    for (const s of [...this.subscribers]) {
      if (this.subscribers.has(s) && matches(s.filter, lease))
        s.send({ type, object: structuredClone(lease) });
    }
    return lease;
  }
}
