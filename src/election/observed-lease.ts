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
  record: LeaseRecord | null = null;
  /** The resourceVersion last seen; null when unknown (deleted, or the watch's history expired). */
  version: string | null = null;
  /** Local monotonic time at which `record` last changed. */
  time = 0;
  /** `time` of the record before `record` (null: there was none): what a takeover replaced. */
  previousTime: number | null = null;

  /** Note what the store holds at `now`; the time moves only when the record itself changed. Returns that. */
  see(stored: StoredLease, now: number): boolean {
    this.version = stored.version;
    if (this.record && sameRecord(this.record, stored.record)) return false;
    this.previousTime = this.record ? this.time : null;
    this.record = stored.record;
    this.time = now;
    return true;
  }

  /** The lease was deleted. */
  forget(): void {
    this.record = null;
    this.version = null;
  }

  /** The record is held (by whoever it names) until observed time + its own leaseDuration. */
  validAt(now: number): boolean {
    return this.record !== null && this.time + this.record.leaseDurationSeconds * 1000 > now;
  }

  /** When the observed record expires as seen here (0 with none). */
  expiresAt(): number {
    return this.record ? this.time + this.record.leaseDurationSeconds * 1000 : 0;
  }

  /**
   * A watch event with this version is stale: resourceVersions are opaque, but etcd-backed ones are increasing
   * integers, so an event at or below the version already seen is dropped.
   */
  isStale(version: string): boolean {
    const current = this.version;
    if (current === null || !/^\d+$/.test(version) || !/^\d+$/.test(current)) return false;
    return BigInt(version) <= BigInt(current);
  }
}
