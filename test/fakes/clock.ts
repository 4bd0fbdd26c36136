// A simulated clock for the elector: time moves only when a test advances it, timers fire in order, and
// the promise chains each timer starts are run to completion before the next one fires.
import type { Clock, TimerHandle } from '../../src/election/index.js';

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** Lets every pending promise callback run (they all drain before the next macrotask). */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class FakeClock implements Clock {
  private t = 0;
  private seq = 0;
  private timers: Timer[] = [];
  /** Called after every fired timer and its promise chains, e.g. to check an invariant at that instant. */
  afterEvent: (() => void) | null = null;

  constructor(private readonly wallEpochMs = Date.UTC(2026, 10, 25, 10, 0, 0)) {}

  now(): number {
    return this.t;
  }

  date(): Date {
    return new Date(this.wallEpochMs + Math.floor(this.t));
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const timer: Timer = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    // Keep sorted by (at, seq): binary search for the insertion point.
    let lo = 0;
    let hi = this.timers.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const m = this.timers[mid] as Timer;
      if (m.at < timer.at || (m.at === timer.at && m.seq < timer.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.timers.splice(lo, 0, timer);
    return { cancel: () => void (timer.cancelled = true) };
  }

  pending(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /** Move time forward by `ms`, firing every timer that comes due, in order. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await flush();
    for (;;) {
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      if (next.cancelled) continue;
      this.t = Math.max(this.t, next.at);
      next.fn();
      await flush();
      this.afterEvent?.();
    }
    this.t = end;
    await flush();
  }

  /** Advance in small steps until `done()` or `maxMs` passed; returns whether done() became true. */
  async advanceUntil(done: () => boolean, maxMs: number, stepMs = 1): Promise<boolean> {
    const end = this.t + maxMs;
    while (!done() && this.t < end) await this.advance(Math.min(stepMs, end - this.t));
    return done();
  }
}

/**
 * One process's view of the clock: it can be paused (SIGSTOP, a long GC) — timers that come due wait and
 * fire, in order, the moment it resumes — or killed, after which none of its timers fire again.
 */
export class ProcessClock implements Clock {
  paused = false;
  dead = false;
  private deferred: (() => void)[] = [];

  constructor(private readonly base: FakeClock) {}

  now(): number {
    return this.base.now();
  }

  date(): Date {
    return this.base.date();
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    let cancelled = false;
    const handle = this.base.setTimer(ms, () => {
      if (cancelled || this.dead) return;
      if (this.paused) this.deferred.push(() => !cancelled && !this.dead && fn());
      else fn();
    });
    return {
      cancel: () => {
        cancelled = true;
        handle.cancel();
      },
    };
  }

  pause(): void {
    this.paused = true;
  }

  /** Fire what came due while paused, in order, before anything else happens at this instant. */
  resume(): void {
    this.paused = false;
    const due = this.deferred;
    this.deferred = [];
    for (const fn of due) fn();
  }

  kill(): void {
    this.dead = true;
    this.deferred = [];
  }
}
