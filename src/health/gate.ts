// The health gate: runs a probe every period and says whether this node may lead. It is the elector's
// LeadershipGate; what it checks (the local API server) the elector never learns.
//
// Hysteresis, so a wavering check does not flap leadership:
// - it closes after `failureThreshold` failures in a row (one pass resets the count);
// - once closed, it opens again only after `successThreshold` passes in a row (one failure resets that);
// - at start it is closed until the first pass (a node does not lead before its API server answered once),
//   and that first pass opens it: there was no failure to recover from.
// Checks never overlap: the next one starts a period after the last one started, or when it ended if it
// took longer (its timeout is the bound).
import type { LeadershipGate } from '../election/types.js';
import type { Logger } from '../log.js';
import type { HealthProbe } from './probe.js';

export interface HealthGateOptions {
  probe: HealthProbe;
  periodMs: number;
  timeoutMs: number;
  failureThreshold: number;
  successThreshold: number;
  log: Logger;
}

type State = 'starting' | 'open' | 'closed';

export class HealthGate implements LeadershipGate {
  private state: State = 'starting';
  private failures = 0;
  private passes = 0;
  private lastError = 'no check has passed yet';
  private readonly listeners = new Set<(open: boolean) => void>();
  private timer: NodeJS.Timeout | null = null;
  private inFlight: AbortController | null = null;
  private running = false;
  private firstRound: Promise<void> | null = null;

  constructor(private readonly opts: HealthGateOptions) {}

  get description(): string {
    return this.opts.probe.description;
  }

  isOpen(): boolean {
    return this.state === 'open';
  }

  closedReason(): string {
    if (this.state === 'open') return '';
    return `the health check of ${this.opts.probe.description} is failing: ${this.lastError}`;
  }

  subscribe(listener: (open: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** Checks at once, then every period, until close(). Resolves when the first check has its verdict. */
  start(): Promise<void> {
    if (this.firstRound) return this.firstRound;
    this.running = true;
    this.opts.log.info(
      { healthCheck: this.opts.probe.description },
      `checking ${this.opts.probe.description} every ${this.opts.periodMs} ms before leading`,
    );
    this.firstRound = this.round();
    return this.firstRound;
  }

  close(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.inFlight?.abort(new Error('the health gate is closing'));
    this.listeners.clear();
    this.opts.probe.close();
  }

  private async round(): Promise<void> {
    if (!this.running) return;
    const started = Date.now();
    const controller = new AbortController();
    this.inFlight = controller;
    const timeout = setTimeout(
      () => controller.abort(new Error(`no answer within ${this.opts.timeoutMs} ms`)),
      this.opts.timeoutMs,
    );
    let error: string | null = null;
    try {
      await this.opts.probe.check(controller.signal);
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    } finally {
      clearTimeout(timeout);
      this.inFlight = null;
    }
    if (!this.running) return;
    if (error === null) this.passed();
    else this.failed(error);
    const wait = Math.max(0, started + this.opts.periodMs - Date.now());
    this.timer = setTimeout(() => void this.round(), wait);
  }

  private passed(): void {
    this.failures = 0;
    if (this.state === 'open') return;
    this.passes++;
    if (this.state === 'closed' && this.passes < this.opts.successThreshold) return;
    const after = this.state === 'closed' ? ` (${this.passes} passes in a row)` : '';
    this.passes = 0;
    this.opts.log.info(
      { healthCheck: this.opts.probe.description },
      `the health check passes${after}: this node may lead`,
    );
    this.change('open');
  }

  private failed(error: string): void {
    this.passes = 0;
    this.lastError = error;
    this.failures++;
    if (this.state === 'closed') return;
    if (this.failures === 1 && this.state === 'starting')
      this.opts.log.warn(
        { healthCheck: this.opts.probe.description, err: error },
        'the health check does not pass yet: not leading until it does',
      );
    if (this.failures < this.opts.failureThreshold) {
      if (this.state === 'open')
        this.opts.log.warn(
          { healthCheck: this.opts.probe.description, err: error, failures: this.failures },
          'the health check failed',
        );
      return;
    }
    this.opts.log.error(
      { healthCheck: this.opts.probe.description, err: error, failures: this.failures },
      `the health check failed ${this.failures} times in a row: this node gives up leadership until it passes ` +
        `${this.opts.successThreshold} times in a row`,
    );
    this.change('closed');
  }

  private change(to: State): void {
    const wasOpen = this.isOpen();
    this.state = to;
    if (wasOpen === this.isOpen()) return;
    for (const l of [...this.listeners]) l(this.isOpen());
  }
}
