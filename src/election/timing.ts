// The lease-timing rules, in one place: the config loader reports them with the option names a user typed,
// the elector enforces them on whatever it is given.
//
// - LeaseDuration > RenewDeadline: a leader that cannot renew gives up before followers may take over.
// - RenewDeadline > 1.2 x RetryPeriod: room for at least one retry (with client-go's jitter) in the deadline.
// - RenewDeadline + RetryPeriod < LeaseDuration: what actually keeps two leaders apart. The leader's
//   leadership ends RetryPeriod + RenewDeadline after it sent its last successful renewal; followers wait
//   LeaseDuration from when they saw that renewal, which is later than it was sent.

/** client-go's JitterFactor for the acquire loop. */
export const JITTER_FACTOR = 1.2;

export interface LeaseTiming {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

type TimingKey = 'leaseDuration' | 'renewDeadline' | 'retryPeriod';

/** The first rule `t` breaks, worded with `name(key)` for each setting, or undefined when all hold. */
export function leaseTimingProblem(
  t: LeaseTiming,
  name: (key: TimingKey) => string = (key) => key,
): string | undefined {
  const { leaseDurationMs: ld, renewDeadlineMs: rd, retryPeriodMs: rp } = t;
  if (!(rp > 0)) return `${name('retryPeriod')} must be greater than zero`;
  if (!(ld > rd)) return `${name('leaseDuration')} must be greater than ${name('renewDeadline')}`;
  if (!(rd > JITTER_FACTOR * rp))
    return `${name('renewDeadline')} must be greater than ${JITTER_FACTOR} x ${name('retryPeriod')}`;
  if (!(rd + rp < ld))
    return (
      `${name('renewDeadline')} + ${name('retryPeriod')} must be less than ${name('leaseDuration')}, ` +
      'or a leader that lost the API could still hold the VIP when another node takes it'
    );
  return undefined;
}
