// The service: leadership in, VIP out. It turns the elector's callbacks into one desired state and converges
// the provider to it one step at a time, so acquire and release never overlap however fast leadership flaps.
//
// The desired state is "hold the VIP" only while the elector said it leads AND its leadership is valid at
// this instant (the elector's local view): after a pause, timers run in expiry order, so the tick below can
// run before the elector's deadline timer; it then drops the VIP itself.
//
// Failures are bounded, never ignored:
// - adding the VIP fails `maxAcquireFailures` times in a row: the lease is given up (resign), so another
//   node serves instead of this one holding a lease that serves nothing;
// - dropping the VIP fails: it is retried every tick, the lease is never released while the VIP is up, and
//   after `dropFailureLimitMs` the service reports a fatal error (exit non-zero; the next start removes it).
import type { Logger } from '../log.js';
import { NotLeadingError, VipLostError, type VipProvider } from '../vip/provider.js';
import { fanOut, type ServiceObserver } from './observer.js';

export interface LeaderCallbacks {
  /** `previousRecordAgeMs`: see ElectorCallbacks (how long ago the record taken over last changed). */
  onStartedLeading(previousRecordAgeMs?: number): void | Promise<void>;
  /** Rejects when the VIP could not be dropped: the elector must not release the lease then. */
  onStoppedLeading(reason: string): void | Promise<void>;
  onNewLeader(identity: string): void;
  onFatal(err: unknown): void;
  onRenewed(latencyMs: number): void;
}

export interface ElectorHandle {
  start(): void;
  stop(): Promise<void>;
  /** Leadership valid at this instant (the elector's local view). */
  isLeader(): boolean;
  resign(reason: string): Promise<void>;
}

export interface ServiceOptions {
  provider: VipProvider;
  /** Builds the elector with the service's callbacks; absent without --leaderElection. */
  elector?: (callbacks: LeaderCallbacks) => ElectorHandle;
  log: Logger;
  /** How often a holder repairs drift (address removed, link bounced) and a failed step is retried. */
  reconcileIntervalMs: number;
  /** Upper bound for each shutdown step. */
  stopStepTimeoutMs: number;
  /** Consecutive failures to add the VIP before the lease is given up. */
  maxAcquireFailures?: number;
  /** How long dropping the VIP may keep failing at run time before it is fatal. */
  dropFailureLimitMs?: number;
  /** Something went wrong that only a restart fixes; the caller exits non-zero. */
  onFatal?: (err: unknown) => void;
  /** Told what happens (leadership, the VIP, failures): metrics and Events. */
  observers?: ServiceObserver[];
}

/** What the service did when it stopped. */
export interface StopResult {
  /** The VIP is gone from this node (and the lease was released, if leading). */
  vipDropped: boolean;
}

const RETRY_STEP_MS = 100;

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export class VipService {
  private elected = false;
  private holding = false;
  private stopping = false;
  private stopped: Promise<StopResult> | null = null;
  private converging: Promise<void> | null = null;
  /** A reconcile in flight: release waits for it, or it could add back the VIP release just removed. */
  private reconciling: Promise<void> | null = null;
  private reconcileTimer: NodeJS.Timeout | null = null;
  private elector: ElectorHandle | null = null;
  private acquireFailures = 0;
  private dropFailingSince: number | null = null;
  private fatalReported = false;

  private readonly observe: ReturnType<typeof fanOut>;

  constructor(private readonly opts: ServiceOptions) {
    this.observe = fanOut(opts.observers ?? [], opts.log);
  }

  /** Leadership valid right now; true without leader election. Providers read it before every change. */
  readonly leadingNow = (): boolean => !this.stopping && this.leaseValid();

  /**
   * The lease is still this node's, stopping or not: what a provider checks before the last change it
   * makes on shutdown (an unassign), before the lease is released.
   */
  readonly leaseValid = (): boolean => (this.elector ? this.elector.isLeader() : true);

  async start(): Promise<void> {
    const { provider, log } = this.opts;
    await provider.prepare();
    if (this.opts.elector) {
      this.elector = this.opts.elector({
        onStartedLeading: (previousRecordAgeMs) => {
          log.info({ provider: provider.name }, 'this node is leader and is adopting the virtual IP');
          this.elected = true;
          this.observe.startedLeading();
          if (previousRecordAgeMs !== undefined) this.observe.leaseTakenOver(previousRecordAgeMs);
          return this.converge();
        },
        onStoppedLeading: async (reason) => {
          if (this.elected) {
            log.info(
              { provider: provider.name },
              'this node is no longer leader and is dropping the virtual IP',
            );
            this.observe.stoppedLeading(reason);
          }
          this.elected = false;
          await this.converge();
          if (this.holding) throw new Error('the virtual IP is still on this node');
        },
        onNewLeader: (identity) => {
          log.info({ leader: identity }, `new leader elected: ${identity}`);
          provider.leaderChanged?.(identity);
          this.observe.newLeader(identity);
        },
        onFatal: (err) => this.opts.onFatal?.(err),
        onRenewed: (latencyMs) => this.observe.leaseRenewed(latencyMs),
      });
      this.elector.start();
    } else {
      log.info({ provider: provider.name }, 'leader election is off: this node holds the virtual IP');
      this.elected = true;
      await this.converge();
    }
    this.reconcileTimer = setInterval(() => void this.tick(), this.opts.reconcileIntervalMs);
  }

  /**
   * Drop the VIP (retrying within the bound), then stop the elector, which releases the lease only if the
   * VIP is gone, then close the provider. Each step is bounded; a second call returns the first's result.
   */
  stop(): Promise<StopResult> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  /**
   * At once, for a fatal error: nothing may add or announce the VIP from now on (leadingNow() is false, no
   * more ticks); a converge in flight drops it. The caller removes the VIP and exits.
   */
  halt(): void {
    this.stopping = true;
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
  }

  private async shutdown(): Promise<StopResult> {
    const { log, stopStepTimeoutMs: bound } = this.opts;
    this.stopping = true;
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
    const step = async (what: string, fn: () => Promise<unknown>) => {
      try {
        await withTimeout(fn(), bound, what);
      } catch (err) {
        log.error({ err: message(err) }, `shutdown: ${what} failed`);
      }
    };
    await step('dropping the virtual IP', () => this.dropWithin(bound));
    if (this.elector) await step('stopping the election', () => (this.elector as ElectorHandle).stop());
    await step('closing the provider', () => this.opts.provider.close());
    const vipDropped = !this.holding;
    if (vipDropped) log.info({}, 'stopped');
    else log.error({}, 'stopped with the virtual IP still on this node: the next start removes it');
    return { vipDropped };
  }

  /** Converge to "not holding", trying again every RETRY_STEP_MS until it works or `ms` have passed. */
  private async dropWithin(ms: number): Promise<void> {
    const end = Date.now() + ms - RETRY_STEP_MS;
    for (;;) {
      await this.converge();
      if (!this.holding || Date.now() >= end) return;
      await new Promise((r) => setTimeout(r, RETRY_STEP_MS));
    }
  }

  private wanted(): boolean {
    return this.elected && this.leadingNow();
  }

  /** One converging loop at a time; a change of mind while it runs is picked up before it returns. */
  private converge(): Promise<void> {
    this.converging ??= this.convergeOnce().finally(() => {
      this.converging = null;
    });
    return this.converging;
  }

  private async convergeOnce(): Promise<void> {
    const { provider } = this.opts;
    while (this.holding !== this.wanted()) {
      if (this.reconciling) await this.reconciling;
      if (this.wanted()) {
        try {
          await provider.acquire();
          this.setHolding(true);
          this.acquireFailures = 0;
        } catch (err) {
          if (err instanceof NotLeadingError) continue; // wanted() is false now: drop instead
          // A failed add may have half happened (the address is there, the announcement failed): undo it
          // before counting the failure, and if that fails too, treat the VIP as held so that the lease is
          // never released over it.
          try {
            await provider.release();
          } catch (undo) {
            this.setHolding(true);
            this.dropFailed(undo);
            return;
          }
          this.acquireFailed(err);
          return;
        }
      } else {
        try {
          await provider.release(this.stopping ? 'shutdown' : 'lost');
          this.setHolding(false);
          this.dropFailingSince = null;
        } catch (err) {
          this.dropFailed(err);
          return;
        }
      }
    }
  }

  private setHolding(held: boolean): void {
    if (held === this.holding) return;
    this.holding = held;
    this.observe.vipHeld(held);
  }

  private acquireFailed(err: unknown): void {
    this.observe.providerFailed('acquire', message(err));
    const limit = this.opts.maxAcquireFailures ?? 3;
    this.acquireFailures++;
    this.opts.log.error(
      { err: message(err), failures: this.acquireFailures },
      'failed to add the virtual IP',
    );
    if (this.acquireFailures < limit || !this.elector) return;
    this.acquireFailures = 0;
    void this.elector.resign(`adding the virtual IP failed ${limit} times`);
  }

  private dropFailed(err: unknown): void {
    const now = Date.now();
    this.dropFailingSince ??= now;
    this.observe.providerFailed('release', message(err));
    this.opts.log.error({ err: message(err) }, 'failed to remove the virtual IP; trying again');
    const limit = this.opts.dropFailureLimitMs;
    if (limit === undefined || this.stopping || this.fatalReported || now - this.dropFailingSince < limit)
      return;
    this.fatalReported = true;
    this.opts.onFatal?.(new Error(`removing the virtual IP kept failing for ${limit} ms: ${message(err)}`));
  }

  private async tick(): Promise<void> {
    if (this.stopping || this.converging) return;
    if (this.holding !== this.wanted()) return this.converge();
    if (!this.holding || this.reconciling) return;
    this.reconciling = this.opts.provider
      .reconcile()
      .catch((err: unknown) => {
        this.opts.log.warn({ err: message(err) }, 'reconcile failed');
        this.observe.providerFailed('reconcile', message(err));
        // The VIP is not served and the provider cannot restore it: another node should serve.
        if (err instanceof VipLostError && this.elector) void this.elector.resign(message(err));
      })
      .finally(() => {
        this.reconciling = null;
      });
    return this.reconciling;
  }
}
