// Waiting in tests without sleeping for a fixed time: poll a condition, or bound a promise. The limits are
// generous, only there so that a broken build fails its test instead of hanging the suite.
import { setTimeout as sleep } from 'node:timers/promises';

export async function until(cond: () => boolean, what = 'the condition', ms = 5000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** `p`, or a failure naming `what` after `ms`. */
export async function within<T>(p: Promise<T>, what: string, ms = 5000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([p, bound]);
  } finally {
    clearTimeout(timer);
  }
}
