// Time for the elector: the real clock, and the waits and deadlines it measures on whichever clock it is
// given (a fake one in tests), with the abort-signal plumbing they need.
import { performance } from 'node:perf_hooks';
import type { Clock, TimerHandle } from './types.js';

/** The real clock: performance.now() for durations (monotonic, immune to NTP steps), Date for stamps. */
export const systemClock: Clock = {
  now: () => performance.now(),
  date: () => new Date(),
  setTimer(ms: number, fn: () => void): TimerHandle {
    const t = setTimeout(fn, Math.max(0, ms));
    return { cancel: () => clearTimeout(t) };
  },
};

/** Resolves after `ms` on `clock`, or at once when `signal` aborts. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = () => {
      timer.cancel();
      resolve();
    };
    const timer = clock.setTimer(ms, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * An AbortController that also aborts when `parent` does. Unlike AbortSignal.any, the link is removed by
 * dispose(): AbortSignal.any on a process-long signal leaks a little memory every call on Node 20.
 */
export function linkedController(parent: AbortSignal): { controller: AbortController; dispose: () => void } {
  const controller = new AbortController();
  const onAbort = () => controller.abort(parent.reason);
  if (parent.aborted) onAbort();
  else parent.addEventListener('abort', onAbort, { once: true });
  return { controller, dispose: () => parent.removeEventListener('abort', onAbort) };
}

/**
 * Runs `fn` with a signal that aborts after `ms` on `clock`, and with `parent` when one is given. The reason
 * names the deadline: it is what a log line shows instead of "This operation was aborted".
 */
export async function withDeadline<T>(
  clock: Clock,
  ms: number,
  parent: AbortSignal | null,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const { controller, dispose } = parent
    ? linkedController(parent)
    : { controller: new AbortController(), dispose: () => undefined };
  const timer = clock.setTimer(ms, () => controller.abort(new Error(`no answer within ${ms} ms`)));
  try {
    return await fn(controller.signal);
  } finally {
    timer.cancel();
    dispose();
  }
}
