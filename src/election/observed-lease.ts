// What this process has seen of the lease, and when by its own monotonic clock: the only basis on which the
// elector judges a record valid (client-go's observedRecord and observedTime). Remote stamps are never
// compared with the local clock.
import type { LeaseRecord, StoredLease } from './types.js';

function sameRecord(a: LeaseRecord, b: LeaseRecord): boolean {
  return (
    a.holderIdentity === b.holderIdentity &&
    a.leaseDurationSeconds === b.leaseDurationSeconds &&
    a.acquireTime.getTime() === b.acquireTime.getTime() &&
    a.renewTime.getTime() === b.renewTime.getTime() &&
    a.leaseTransitions === b.leaseTransitions
  );
}

export class ObservedLease {
  private current: LeaseRecord | null = null;
  private currentVersion: string | null = null;
  private changedAt = 0;
  private changedBefore: number | null = null;

  /** The record last seen; null before the first, or after the lease was deleted. */
  get record(): LeaseRecord | null {
    return this.current;
  }

  /** The resourceVersion last seen; null when unknown (deleted, or the watch's history expired). */
  get version(): string | null {
    return this.currentVersion;
  }

  /** Local monotonic time at which `record` last changed. */
  get time(): number {
    return this.changedAt;
  }

  /** `time` of the record before `record` (null: there was none): what a takeover replaced. */
  get previousTime(): number | null {
    return this.changedBefore;
  }

  /** Note what the store holds at `now`; the time moves only when the record itself changed. Returns that. */
  see(stored: StoredLease, now: number): boolean {
    this.currentVersion = stored.version;
    if (this.current && sameRecord(this.current, stored.record)) return false;
    this.changedBefore = this.current ? this.changedAt : null;
    this.current = stored.record;
    this.changedAt = now;
    return true;
  }

  /** The lease was deleted. */
  forget(): void {
    this.current = null;
    this.currentVersion = null;
  }

  /** The version seen is gone from the server's history: the next watch starts from the current state. */
  versionExpired(): void {
    this.currentVersion = null;
  }

  /** When the observed record expires as seen here: its observed time plus its own leaseDuration (0: none). */
  expiresAt(): number {
    return this.current ? this.changedAt + this.current.leaseDurationSeconds * 1000 : 0;
  }

  /** The record is held, by whoever it names, until it expires as seen here. */
  validAt(now: number): boolean {
    return this.current !== null && this.expiresAt() > now;
  }

  /**
   * A watch event with this version is stale: resourceVersions are opaque, but etcd-backed ones are increasing
   * integers, so an event at or below the version already seen is dropped.
   */
  isStale(version: string): boolean {
    const seen = this.currentVersion;
    if (seen === null || !/^\d+$/.test(version) || !/^\d+$/.test(seen)) return false;
    return BigInt(version) <= BigInt(seen);
  }
}
