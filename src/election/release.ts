// Giving the lease up on shutdown or resignation: holder "" and a 1 s duration, so a follower takes over at
// once, but only while the lease is still this holder's.
import { LeaseConflictError } from './errors.js';
import type { ObservedLease } from './observed-lease.js';
import type { Clock, LeaseRecord, LeaseStore } from './types.js';
import type { Logger } from '../log.js';

function releasedRecord(record: LeaseRecord, now: Date): LeaseRecord {
  return {
    holderIdentity: '',
    leaseDurationSeconds: 1,
    acquireTime: now,
    renewTime: now,
    leaseTransitions: record.leaseTransitions,
  };
}

export interface ReleaseOptions {
  store: LeaseStore;
  clock: Clock;
  log: Logger;
  /** Who may release: the lease is given up only while it names this identity. */
  identity: string;
  /** What the elector last observed (normally its own last write), tried first without a GET. */
  last: Pick<ObservedLease, 'record' | 'version'>;
}

/**
 * Release the lease if the holder *fetched now* is `identity` (client-go's rule). The update from `last`
 * only succeeds if the lease is unchanged since, i.e. still ours; anything else (409) is fetched and
 * checked. Never throws: a failure is logged, and the lease then expires on its own.
 */
export async function releaseLease(o: ReleaseOptions, signal: AbortSignal): Promise<void> {
  const { store, clock, log, identity, last } = o;
  try {
    if (last.record?.holderIdentity === identity && last.version) {
      try {
        await store.update(releasedRecord(last.record, clock.date()), last.version, signal);
        log.info({ lease: store.description }, 'released the lease');
        return;
      } catch (err) {
        if (!(err instanceof LeaseConflictError)) throw err;
      }
    }
    const current = await store.get(signal);
    if (!current || current.record.holderIdentity !== identity) return;
    await store.update(releasedRecord(current.record, clock.date()), current.version, signal);
    log.info({ lease: store.description }, 'released the lease');
  } catch (err) {
    log.warn({ err: String(err) }, 'failed to release the lease; followers take it when it expires');
  }
}
