// The metadata service's document about this device: no token (the service goes by the caller's source
// address), so it tells kvip its own device id and hostname before any API call.
import { VERSION } from '../version.js';
import type { Logger } from '../log.js';
import { Transport, withRetries, type Attempt } from './http.js';
import type { MetalMetadata } from './types.js';

export interface FetchMetadataOptions {
  /** Bound on each attempt (default 5000). */
  timeoutMs?: number;
  /** Retries after the first attempt, for network errors, 429 and 5xx (default 3). */
  retries?: number;
  signal?: AbortSignal;
  /** Default `kvip/<version>`. */
  userAgent?: string;
  /** First backoff ceiling (default 250), doubled per retry, full jitter. */
  minDelayMs?: number;
  /** Backoff cap (default 2000). */
  maxDelayMs?: number;
  log?: Logger;
}

/** GETs `url` (e.g. https://metadata.platformequinix.com/metadata) and checks it names a device. */
export async function fetchMetadata(url: string, opts: FetchMetadataOptions = {}): Promise<MetalMetadata> {
  const target = new URL(url);
  const transport = new Transport({
    baseUrl: target.origin,
    headers: { 'User-Agent': opts.userAgent ?? `kvip/${VERSION}` },
    timeoutMs: opts.timeoutMs ?? 5000,
  });
  const attempt: Attempt = {
    operation: 'fetchMetadata',
    method: 'GET',
    path: target.pathname,
    query: target.search.replace(/^\?/, '') || undefined,
  };
  try {
    const answer = await withRetries(() => transport.send(attempt, opts.signal), {
      operation: attempt.operation,
      method: attempt.method,
      path: attempt.path,
      retries: opts.retries ?? 3,
      minDelayMs: opts.minDelayMs ?? 250,
      maxDelayMs: opts.maxDelayMs ?? 2000,
      shouldRetry: (err) => err.retryable,
      signal: opts.signal,
      log: opts.log,
    });
    const doc = answer.data as Record<string, unknown> | undefined;
    const missing = (field: string) =>
      transport.error(attempt, {
        status: answer.status,
        code: 'EBADRESPONSE',
        messages: [`metadata has no "${field}" (a non-empty string)`],
      });
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw missing('id');
    if (typeof doc.id !== 'string' || doc.id === '') throw missing('id');
    if (typeof doc.hostname !== 'string' || doc.hostname === '') throw missing('hostname');
    return doc as unknown as MetalMetadata;
  } finally {
    transport.close();
  }
}
