// What an Elector is given: its timings and identity (validated here, before anything starts), the callbacks
// it reports to, and its ports.
import { leaseTimingProblem } from './timing.js';
import type { Clock, LeadershipGate, LeaseStore } from './types.js';
import type { Logger } from '../log.js';

export interface ElectorConfig {
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  /** Watch the lease as a follower (when the store can). */
  watch: boolean;
}

export interface ElectorCallbacks {
  /**
   * `previousRecordAgeMs`: how long ago (local monotonic time) the record this node replaced was last seen to
   * change, i.e. the previous holder's last renewal or its release as observed here; undefined when there was
   * no record (the lease was created). What a failover took, as this node saw it, starts there.
   */
  onStartedLeading(previousRecordAgeMs?: number): void | Promise<void>;
  /**
   * Awaited on stop() before the lease is released, so whatever the leader held is let go first. `reason`
   * is one line: "shutdown", the resignation's reason, or why leadership was lost.
   */
  onStoppedLeading(reason: string): void | Promise<void>;
  onNewLeader(identity: string): void;
  /** The election loop itself failed (a bug): nothing will be elected any more; the caller should exit. */
  onFatal?(err: unknown): void;
  /** A renewal by the leader succeeded, `latencyMs` after it was sent (for metrics; must return at once). */
  onRenewed?(latencyMs: number): void;
}

export interface ElectorDeps {
  store: LeaseStore;
  clock: Clock;
  callbacks: ElectorCallbacks;
  random?: () => number;
  log?: Logger;
  /** No attempt to lead while it is closed (see LeadershipGate). */
  gate?: LeadershipGate;
}

export class ElectionConfigError extends Error {
  override name = 'ElectionConfigError';
}

export function validateElectorConfig(c: ElectorConfig): void {
  if (c.identity.trim() === '')
    throw new ElectionConfigError('the lease identity (node name) must not be empty');
  if (!(c.leaseDurationMs >= 1000) || c.leaseDurationMs % 1000 !== 0)
    throw new ElectionConfigError('leaseDuration must be whole seconds >= 1 (it is written to the Lease)');
  const problem = leaseTimingProblem(c);
  if (problem) throw new ElectionConfigError(problem);
}
