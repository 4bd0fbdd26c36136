// What the running service reports as it goes, for whoever watches it: Prometheus metrics, Kubernetes Events.
// The calls are made on the VIP path, synchronously, so an observer must return at once: anything slow (an
// HTTP post) it queues and does later. fanOut() keeps one observer's exception from reaching the service or
// the next observer.
import type { Logger } from '../log.js';

export type ProviderStep = 'acquire' | 'release' | 'reconcile';

export interface ServiceObserver {
  /** The elector says this node leads; the VIP is about to be taken. */
  startedLeading?(): void;
  /**
   * Right after startedLeading, when the lease had a record before: it was last seen to change (its holder's
   * last renewal, or its release) `previousRecordAgeMs` ago, as this node saw it. Not called for a new lease.
   */
  leaseTakenOver?(previousRecordAgeMs: number): void;
  /** This node no longer leads; `reason` is one line (the elector's, or "shutdown"). */
  stoppedLeading?(reason: string): void;
  /** The lease was seen held by `identity` (this node or another). */
  newLeader?(identity: string): void;
  /** The provider now holds the VIP (added, announced, assigned) or no longer does. */
  vipHeld?(held: boolean): void;
  /** A provider step failed; the service retries or gives the lease up. */
  providerFailed?(step: ProviderStep, message: string): void;
  /** A lease renewal succeeded, `latencyMs` after it was sent. */
  leaseRenewed?(latencyMs: number): void;
  /** The leadership gate (the local API server's health check) opened or closed. */
  gateChanged?(open: boolean, detail: string): void;
}

type Calls = { [K in keyof ServiceObserver]-?: NonNullable<ServiceObserver[K]> };

/** One observer that calls each of `observers` in turn, each guarded. */
export function fanOut(observers: ServiceObserver[], log: Logger): Calls {
  const call =
    <K extends keyof ServiceObserver>(name: K) =>
    (...args: Parameters<Calls[K]>): void => {
      for (const o of observers) {
        const fn = o[name] as ((...a: Parameters<Calls[K]>) => void) | undefined;
        if (!fn) continue;
        try {
          fn.apply(o, args);
        } catch (err) {
          log.warn({ err: err instanceof Error ? err.message : String(err) }, `observer ${name} failed`);
        }
      }
    };
  return {
    startedLeading: call('startedLeading'),
    leaseTakenOver: call('leaseTakenOver'),
    stoppedLeading: call('stoppedLeading'),
    newLeader: call('newLeader'),
    vipHeld: call('vipHeld'),
    providerFailed: call('providerFailed'),
    leaseRenewed: call('leaseRenewed'),
    gateChanged: call('gateChanged'),
  };
}
