// What the elector has seen of the lease: the observed time moves only when the record changes, and stale
// watch events are recognised by their resourceVersion.
import { ObservedLease } from '../../src/election/observed-lease.js';
import type { LeaseRecord } from '../../src/election/types.js';

const record = (holder: string, renewMs: number, ld = 10): LeaseRecord => ({
  holderIdentity: holder,
  leaseDurationSeconds: ld,
  acquireTime: new Date(1000),
  renewTime: new Date(renewMs),
  leaseTransitions: 0,
});

describe('ObservedLease', () => {
  it('moves the observed time only when the record changes, keeping the time of the one before', () => {
    const seen = new ObservedLease();
    expect(seen.see({ record: record('a', 1), version: '5' }, 100)).toBe(true);
    expect(seen.previousTime).toBeNull();
    // The same record again under a newer version (a no-op write, a re-list): the version moves, the time not.
    expect(seen.see({ record: record('a', 1), version: '6' }, 900)).toBe(false);
    expect([seen.time, seen.version]).toEqual([100, '6']);
    expect(seen.see({ record: record('a', 2), version: '7' }, 1500)).toBe(true);
    expect([seen.time, seen.previousTime]).toEqual([1500, 100]);
  });

  it('is valid until the observed time plus the record’s own duration, by the local clock only', () => {
    const seen = new ObservedLease();
    expect(seen.validAt(0)).toBe(false);
    seen.see({ record: record('a', 99_999_999, 10), version: '1' }, 500);
    expect(seen.expiresAt()).toBe(10_500);
    expect(seen.validAt(10_499)).toBe(true);
    expect(seen.validAt(10_500)).toBe(false);
    seen.forget();
    expect([seen.record, seen.version, seen.validAt(600)]).toEqual([null, null, false]);
  });

  it('drops watch events at or below the version seen when both are integers, and only then', () => {
    const seen = new ObservedLease();
    expect(seen.isStale('1')).toBe(false); // nothing seen yet
    seen.see({ record: record('a', 1), version: '100' }, 0);
    expect(seen.isStale('99')).toBe(true);
    expect(seen.isStale('100')).toBe(true);
    expect(seen.isStale('101')).toBe(false);
    // Compared as numbers, not strings, and beyond 2^53.
    expect(seen.isStale('20')).toBe(true);
    // 2^53 and 2^53 + 1 are one and the same as Numbers.
    seen.see({ record: record('a', 1), version: '9007199254740992' }, 0);
    expect(seen.isStale('9007199254740993')).toBe(false);
    expect(seen.isStale('9007199254740991')).toBe(true);
    // Opaque versions (not etcd's integers) are never judged stale.
    expect(seen.isStale('abc')).toBe(false);
    seen.see({ record: record('a', 1), version: 'xyz' }, 0);
    expect(seen.isStale('1')).toBe(false);
  });
});
