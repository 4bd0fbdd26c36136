// One deadline for a request `kvip check` makes: aborted after `ms`, and then reported by a reason that names
// the option setting the bound, not as "This operation was aborted".

/** A request that got no answer in the time it was given. */
export class NoAnswer extends Error {
  override name = 'NoAnswer';
}

/** Runs fn with a signal that aborts after `ms`; that abort rejects with a NoAnswer naming `option`. */
export async function bounded<T>(
  ms: number,
  option: string,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new NoAnswer(`no answer within ${Math.round(ms)} ms (${option})`)),
    ms,
  );
  try {
    return await fn(controller.signal);
  } catch (err) {
    throw controller.signal.aborted ? controller.signal.reason : err;
  } finally {
    clearTimeout(timer);
  }
}
