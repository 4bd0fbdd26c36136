// The leader's warning that its API server is slow: a renewal that takes more than a third of the renew
// deadline leaves little room for a retry before leadership ends.
import type { Logger } from '../log.js';

export class SlowRenewalWarning {
  private warned = false;

  constructor(
    private readonly renewDeadlineMs: number,
    private readonly leaseDescription: string,
    private readonly log: Logger,
  ) {}

  /** A renewal took `ms`: say so once (until it recovers), with what to raise. */
  note(ms: number): void {
    const slow = ms > this.renewDeadlineMs / 3;
    // Warned again only after renewals were well under the threshold (a sixth of RD), not at every crossing.
    if (ms < this.renewDeadlineMs / 6) this.warned = false;
    if (slow && !this.warned)
      this.log.warn(
        { lease: this.leaseDescription, latencyMs: Math.round(ms), renewDeadlineMs: this.renewDeadlineMs },
        `renewing the lease took ${Math.round(ms)} ms, more than a third of the renew deadline: the API ` +
          'server is slow; raise --leaseRenewDuration (vip_renewdeadline) and --leaseDuration (vip_leaseduration)',
      );
    if (slow) this.warned = true;
  }
}
