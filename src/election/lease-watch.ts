// A follower's watch on the Lease, kept open: re-opened at once after a clean end (the server's watch
// timeout), with backoff after a failure — RetryPeriod, doubling, at most LeaseDuration — and with backoff too
// after a clean end that came within a RetryPeriod of opening (a proxy cutting every stream short would
// otherwise make this a busy loop). It only reports what it sees; the elector decides what that means.
import type { Logger } from '../log.js';
import type { Clock, LeaseStore, LeaseWatch, TimerHandle, WatchEvent } from './types.js';

export interface KeptWatchHandlers {
  /** The version to watch from (null: the current state first). */
  fromVersion(): string | null;
  /** The stream is up, or went down: silence means something else now; recompute. */
  onHealthChange(): void;
  onEvent(event: WatchEvent): void;
  /** The version asked for is gone (410): the next watch starts from the current state. */
  onExpired(): void;
}

export class KeptWatch {
  private handle: LeaseWatch | null = null;
  private rewatch: TimerHandle | null = null;
  private failures = 0;
  private up = false;
  private running = false;

  constructor(
    private readonly store: Required<Pick<LeaseStore, 'watch'>>,
    private readonly clock: Clock,
    private readonly timing: { retryPeriodMs: number; leaseDurationMs: number },
    private readonly handlers: KeptWatchHandlers,
    private readonly log: Logger,
  ) {}

  /** Open and established: from now on, silence means nothing changed. */
  get healthy(): boolean {
    return this.up;
  }

  start(): void {
    this.running = true;
    this.open();
  }

  stop(): void {
    this.running = false;
    this.rewatch?.cancel();
    this.rewatch = null;
    this.handle?.stop();
    this.handle = null;
    this.up = false;
  }

  private open(): void {
    if (!this.running || this.handle) return;
    let openedAt = 0;
    this.handle = this.store.watch(this.handlers.fromVersion(), {
      onOpen: () => {
        openedAt = this.clock.now();
        this.up = true;
        this.handlers.onHealthChange();
      },
      onEvent: (event) => {
        if (!this.running) return;
        this.up = true;
        this.failures = 0;
        this.handlers.onEvent(event);
      },
      onClose: ({ error, expired }) => {
        const wasOpen = this.up;
        this.handle = null;
        this.up = false;
        if (!this.running) return;
        if (expired) this.handlers.onExpired();
        const lived = this.clock.now() - openedAt;
        if (!error && !expired && wasOpen && lived >= this.timing.retryPeriodMs) return this.open();
        // Failures count from the last watch that stayed up (or delivered an event): opening alone is not
        // proof of health.
        if (wasOpen && lived >= this.timing.leaseDurationMs) this.failures = 0;
        this.failures++;
        this.log.debug(
          { err: error ? String(error) : undefined },
          'lease watch closed; polling until it is back',
        );
        this.handlers.onHealthChange(); // without a watch, fall back to polling
        const backoff = Math.min(
          this.timing.leaseDurationMs,
          this.timing.retryPeriodMs * 2 ** Math.min(this.failures - 1, 10),
        );
        this.rewatch = this.clock.setTimer(backoff, () => {
          this.rewatch = null;
          this.open();
        });
      },
    });
  }
}
