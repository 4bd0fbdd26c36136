// The renewTime of the last records this process sent. A record naming this identity is this process's own
// only if its renewTime is one of these: another process renewing under the same name (cloned VMs, the same
// host name) is then seen for what it is.
import type { LeaseRecord } from './types.js';

/** Enough for every request that can be in flight at once. */
const KEPT = 16;

export class SentStamps {
  private readonly stamps: number[] = [];

  /** Remembers the record's renewTime as one this process sent (before sending: it may land unanswered). */
  stamp(record: LeaseRecord): LeaseRecord {
    // Two writes within the same millisecond would share a stamp: move on by one.
    let ms = record.renewTime.getTime();
    while (this.stamps.includes(ms)) ms++;
    this.stamps.push(ms);
    if (this.stamps.length > KEPT) this.stamps.shift();
    return { ...record, renewTime: new Date(ms) };
  }

  /** This process sent a record with this renewTime. */
  wrote(record: LeaseRecord): boolean {
    return this.stamps.includes(record.renewTime.getTime());
  }

  /** This process has written at least once. */
  hasSent(): boolean {
    return this.stamps.length > 0;
  }
}
