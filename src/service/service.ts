// The service: leadership in, VIP out. It turns the elector's callbacks into one desired state ("hold the
// VIP" or not) and converges the provider to it one step at a time, so acquire and release never overlap
// however fast leadership flaps. Shutdown is ordered and bounded: drop the VIP, release the lease, close.
import type { Logger } from '../log.js';
import type { VipProvider } from '../vip/provider.js';

export interface LeaderCallbacks {
  onStartedLeading(): void | Promise<void>;
  onStoppedLeading(): void | Promise<void>;
  onNewLeader(identity: string): void;
}

export interface ElectorHandle {
  start(): void;
  stop(): Promise<void>;
}

export interface ServiceOptions {
  provider: VipProvider;
  /** Builds the elector with the service's callbacks; absent without --leaderElection. */
  elector?: (callbacks: LeaderCallbacks) => ElectorHandle;
  log: Logger;
  /** How often a holder repairs drift (address removed, link bounced). */
  reconcileIntervalMs: number;
  /** Upper bound for each shutdown step. */
  stopStepTimeoutMs: number;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export class VipService {
  private wantHold = false;
  private holding = false;
  private converging: Promise<void> | null = null;
  /** A reconcile in flight: release waits for it, or it could add back the VIP release just removed. */
  private reconciling: Promise<void> | null = null;
  private reconcileTimer: NodeJS.Timeout | null = null;
  private elector: ElectorHandle | null = null;
  private stopped = false;

  constructor(private readonly opts: ServiceOptions) {}

  /** True while the provider holds the VIP. */
  isHolding(): boolean {
    return this.holding;
  }

  async start(): Promise<void> {
    const { provider, log } = this.opts;
    await provider.prepare();
    if (this.opts.elector) {
      this.elector = this.opts.elector({
        onStartedLeading: () => {
          log.info({ provider: provider.name }, 'this node is leader and is adopting the virtual IP');
          return this.setWanted(true);
        },
        onStoppedLeading: () => {
          log.info(
            { provider: provider.name },
            'this node is no longer leader and is dropping the virtual IP',
          );
          return this.setWanted(false);
        },
        onNewLeader: (identity) => log.info({ leader: identity }, `new leader elected: ${identity}`),
      });
      this.elector.start();
    } else {
      log.info({ provider: provider.name }, 'leader election is off: this node holds the virtual IP');
      await this.setWanted(true);
    }
    this.reconcileTimer = setInterval(() => void this.tick(), this.opts.reconcileIntervalMs);
  }

  /** Drop the VIP, then release the lease, then close the provider; each step bounded. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const { log, stopStepTimeoutMs: bound } = this.opts;
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
    const step = async (what: string, fn: () => Promise<void>) => {
      try {
        await withTimeout(fn(), bound, what);
      } catch (err) {
        log.error({ err: err instanceof Error ? err.message : String(err) }, `shutdown: ${what} failed`);
      }
    };
    await step('dropping the virtual IP', () => this.setWanted(false));
    if (this.elector) await step('releasing the lease', () => (this.elector as ElectorHandle).stop());
    await step('closing the provider', () => this.opts.provider.close());
    log.info({}, 'stopped');
  }

  private setWanted(hold: boolean): Promise<void> {
    this.wantHold = hold;
    return this.converge();
  }

  /** One converging loop at a time; a change of mind while it runs is picked up before it returns. */
  private converge(): Promise<void> {
    this.converging ??= (async () => {
      try {
        while (this.holding !== this.wantHold) {
          if (this.reconciling) await this.reconciling;
          if (this.wantHold) {
            await this.opts.provider.acquire();
            this.holding = true;
          } else {
            await this.opts.provider.release();
            this.holding = false;
          }
        }
      } catch (err) {
        // The next reconcile tick tries again.
        this.opts.log.error(
          { err: err instanceof Error ? err.message : String(err) },
          'failed to converge the virtual IP',
        );
      } finally {
        this.converging = null;
      }
    })();
    return this.converging;
  }

  private async tick(): Promise<void> {
    if (this.stopped || this.converging) return;
    if (this.holding !== this.wantHold) return this.converge();
    if (!this.holding || this.reconciling) return;
    this.reconciling = this.opts.provider
      .reconcile()
      .catch((err: unknown) => {
        this.opts.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'reconcile failed');
      })
      .finally(() => {
        this.reconciling = null;
      });
    return this.reconciling;
  }
}
