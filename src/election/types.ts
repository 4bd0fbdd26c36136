// Ports of the elector: what a lease looks like to it, where leases are stored, and what time it is.
// Everything that touches the outside sits behind these, so the algorithm is tested on a fake clock.

/** The election record of a coordination.k8s.io/v1 Lease (its spec). */
export interface LeaseRecord {
  holderIdentity: string;
  leaseDurationSeconds: number;
  /** Wall-clock stamps, informative only: the algorithm never compares them with the local clock. */
  acquireTime: Date;
  renewTime: Date;
  leaseTransitions: number;
}

/** A record as stored, with the version an update must name (resourceVersion). */
export interface StoredLease {
  record: LeaseRecord;
  version: string;
}

export type WatchEvent =
  | { type: 'upsert'; lease: StoredLease }
  | { type: 'deleted'; version: string }
  | { type: 'bookmark'; version: string };

export interface WatchHandlers {
  /** The stream is established: from now on, silence means nothing changed. */
  onOpen?(): void;
  onEvent(event: WatchEvent): void;
  /** The stream ended; `expired` when the version asked for is gone (re-watch from scratch). */
  onClose(reason: { error?: Error; expired?: boolean }): void;
}

export interface LeaseWatch {
  stop(): void;
}

export interface LeaseStore {
  /** "namespace/name", for logs. */
  readonly description: string;
  /** null when the lease does not exist. Throws LeaseError subclasses. */
  get(signal: AbortSignal): Promise<StoredLease | null>;
  /** Throws LeaseConflictError if it already exists. */
  create(record: LeaseRecord, signal: AbortSignal): Promise<StoredLease>;
  /** Throws LeaseConflictError if `version` is no longer current. */
  update(record: LeaseRecord, version: string, signal: AbortSignal): Promise<StoredLease>;
  /** Optional: stream changes after `fromVersion` (null: current state first). */
  watch?(fromVersion: string | null, handlers: WatchHandlers): LeaseWatch;
}

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Monotonic milliseconds: every duration the elector enforces is measured with this. */
  now(): number;
  /** Wall time, only to stamp records. */
  date(): Date;
  setTimer(ms: number, fn: () => void): TimerHandle;
}

/**
 * Whether this candidate may lead now, as the caller judges it (for kvip: the local API server's health
 * check). The elector does not know what is checked: it does not try to acquire while the gate is closed, and
 * a leader whose gate closes gives the lease up.
 */
export interface LeadershipGate {
  isOpen(): boolean;
  /** One line: why the gate is closed (for the log and the stopped-leading reason). */
  closedReason(): string;
  /** Called on every change; returns the unsubscribe. */
  subscribe(listener: (open: boolean) => void): () => void;
}
