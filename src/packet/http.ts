// The transport under the Metal API client and the metadata fetch: one bounded HTTP attempt mapped to data or
// a MetalApiError, and the retry loop around attempts. Kept apart from the client so the metadata fetch
// (which has no token) shares the same error mapping and backoff.
import http from 'node:http';
import https from 'node:https';
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import pRetry, { AbortError } from 'p-retry';
import type { Logger } from '../log.js';
import { MetalApiError, MetalCallAbortedError } from './errors.js';

/** The largest response read: a 1000-entry page of IP reservations is well below this. */
const MAX_BODY_BYTES = 32 << 20;
/** How much of a message (from the API or the network stack) an error keeps. */
const MAX_MESSAGE_CHARS = 300;
const MAX_MESSAGES = 10;

export interface TransportOptions {
  baseUrl: string;
  /** Headers sent with every request; `secret` names a value that must be scrubbed from any message. */
  headers: Record<string, string>;
  secret?: string;
  timeoutMs: number;
  onResponse?: (e: { operation: string; method: string; status: number | 'error'; ms: number }) => void;
}

export interface Attempt {
  operation: string;
  method: string;
  /** Below the base URL, no query string: what errors and logs name. */
  path: string;
  /** Already encoded, without the leading '?'. */
  query?: string;
  body?: unknown;
}

export interface Answer {
  status: number;
  /** The parsed JSON body; undefined for an empty body (204). */
  data: unknown;
}

export class Transport {
  // Private fields so that inspecting the client never prints the headers (and the token) they hold.
  readonly #axios: AxiosInstance;
  readonly #headers: Record<string, string>;
  readonly #secret: string | undefined;
  readonly #timeoutMs: number;
  readonly #onResponse: TransportOptions['onResponse'];
  readonly #agents: (http.Agent | https.Agent)[];

  constructor(opts: TransportOptions) {
    const base = new URL(opts.baseUrl);
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new TypeError(`Metal API base URL must be http(s), not ${base.protocol}`);
    }
    this.#headers = opts.headers;
    this.#secret = opts.secret;
    this.#timeoutMs = opts.timeoutMs;
    this.#onResponse = opts.onResponse;
    // A short idle limit on kept-alive sockets: a socket the far end closed while idle fails on reuse, and a
    // failed POST cannot safely be sent again.
    const agentOpts = { keepAlive: true, scheduling: 'lifo' as const, timeout: 2000 };
    const httpAgent = new http.Agent(agentOpts);
    const httpsAgent = new https.Agent(agentOpts);
    this.#agents = [httpAgent, httpsAgent];
    this.#axios = axios.create({
      adapter: 'http',
      baseURL: `${base.origin}${base.pathname.replace(/\/+$/, '')}`,
      // Never leave the configured host: no absolute request URLs, no redirects, no proxy from the environment.
      allowAbsoluteUrls: false,
      maxRedirects: 0,
      proxy: false,
      httpAgent,
      httpsAgent,
      // Socket inactivity; the whole attempt is bounded separately below.
      timeout: opts.timeoutMs,
      transitional: { clarifyTimeoutError: true },
      validateStatus: () => true,
      responseType: 'text',
      transformResponse: [(data: unknown) => data],
      maxContentLength: MAX_BODY_BYTES,
      maxBodyLength: MAX_BODY_BYTES,
    });
  }

  /** One attempt, bounded by timeoutMs from start to the last byte. Rejects only with MetalApiError. */
  async send(a: Attempt, signal?: AbortSignal): Promise<Answer> {
    if (!a.path.startsWith('/') || a.path.startsWith('//')) {
      throw new TypeError(`Metal API path must start with a single '/': ${a.path.slice(0, 100)}`);
    }
    const started = performance.now();
    const deadline = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      deadline.abort();
    }, this.#timeoutMs);
    const onAbort = () => deadline.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) deadline.abort();
    const headers: Record<string, string> = { Accept: 'application/json', ...this.#headers };
    if (a.body !== undefined) headers['Content-Type'] = 'application/json';
    let res: AxiosResponse<string>;
    try {
      res = await this.#axios.request<string>({
        method: a.method,
        url: a.query ? `${a.path}?${a.query}` : a.path,
        headers,
        data: a.body === undefined ? undefined : JSON.stringify(a.body),
        signal: deadline.signal,
      });
    } catch (err) {
      this.report(a, 'error', started);
      // Only the code and message of the library's error are kept; the error itself holds the headers.
      const e = err as { code?: unknown; message?: unknown };
      let code = typeof e.code === 'string' ? e.code : 'ENETWORK';
      let message = typeof e.message === 'string' ? e.message : 'request failed';
      if (timedOut) {
        code = 'ETIMEDOUT';
        message = `no complete response within ${this.#timeoutMs} ms`;
      } else if (signal?.aborted) {
        code = 'EABORTED';
        message = 'aborted by the caller';
      }
      throw this.error(a, { code, messages: [message] });
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
    this.report(a, res.status, started);
    return this.answer(a, res);
  }

  /** Closes kept-alive connections. */
  close(): void {
    for (const agent of this.#agents) agent.destroy();
  }

  /** A MetalApiError whose messages are shortened and hold no trace of the secret. */
  error(a: Attempt, init: { status?: number; code?: string; messages: string[]; retryAfterMs?: number }) {
    const messages = init.messages
      .slice(0, MAX_MESSAGES)
      .map((m) => this.scrub(m).slice(0, MAX_MESSAGE_CHARS));
    return new MetalApiError({ operation: a.operation, method: a.method, path: a.path, ...init, messages });
  }

  private scrub(text: string): string {
    const secret = this.#secret;
    return secret ? text.split(secret).join('[redacted]') : text;
  }

  private report(a: Attempt, status: number | 'error', started: number): void {
    if (!this.#onResponse) return;
    try {
      this.#onResponse({ operation: a.operation, method: a.method, status, ms: performance.now() - started });
    } catch {
      // a metrics hook must not turn a good response into a failure
    }
  }

  private answer(a: Attempt, res: AxiosResponse<string>): Answer {
    const text = typeof res.data === 'string' ? res.data : '';
    const contentType =
      String(res.headers['content-type'] ?? '')
        .split(';', 1)[0]!
        .trim() || 'no content type';
    const parsed = parseJson(text);
    if (res.status >= 200 && res.status < 300) {
      if (text.trim() === '') return { status: res.status, data: undefined };
      if (parsed.ok) return { status: res.status, data: parsed.value };
      throw this.error(a, {
        status: res.status,
        code: 'EBADRESPONSE',
        messages: [`non-JSON body (${contentType})`],
      });
    }
    const statusText = res.statusText || http.STATUS_CODES[res.status] || 'HTTP error';
    let messages = parsed.ok ? apiMessages(parsed.value) : [];
    if (messages.length === 0) {
      messages =
        parsed.ok || text.trim() === ''
          ? [statusText]
          : [statusText, nonJsonNote(contentType, this.scrub(text))];
    }
    const retryAfterMs = waitRequested(res.headers as Record<string, unknown>, Date.now());
    throw this.error(a, { status: res.status, messages, retryAfterMs });
  }
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** The messages of the API's two error shapes, `{"error": "x"}` and `{"errors": ["x", ...]}`. */
function apiMessages(body: unknown): string[] {
  if (typeof body !== 'object' || body === null) return [];
  const { error, errors } = body as { error?: unknown; errors?: unknown };
  const out: string[] = [];
  if (typeof error === 'string' && error !== '') out.push(error);
  if (Array.isArray(errors)) for (const e of errors) if (typeof e === 'string' && e !== '') out.push(e);
  return out;
}

/** An error page from a proxy or load balancer: its type and a printable glimpse, never the whole body. */
function nonJsonNote(contentType: string, text: string): string {
  const glimpse = text
    .replace(/<[^>]*>/g, ' ')
    .replace(/[^\x20-\x7e]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 100);
  return glimpse ? `non-JSON body (${contentType}): ${glimpse}` : `non-JSON body (${contentType})`;
}

/**
 * The wait a response asks for, in ms: Retry-After (seconds or an HTTP date), else X-RateLimit-Reset (Unix
 * seconds; a small number is taken as seconds from now). Undefined when neither is usable.
 */
export function waitRequested(headers: Record<string, unknown>, now: number): number | undefined {
  const retryAfter = headerValue(headers['retry-after']);
  if (retryAfter !== undefined) {
    if (/^\d+$/.test(retryAfter)) return Number(retryAfter) * 1000;
    const at = Date.parse(retryAfter);
    if (Number.isFinite(at)) return Math.max(0, at - now);
  }
  const reset = headerValue(headers['x-ratelimit-reset']);
  if (reset !== undefined && /^\d+$/.test(reset)) {
    const n = Number(reset);
    return n < 1e9 ? n * 1000 : Math.max(0, n * 1000 - now);
  }
  return undefined;
}

function headerValue(v: unknown): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  return typeof s === 'string' && s.trim() !== '' ? s.trim() : undefined;
}

export interface RetryPolicy {
  operation: string;
  method: string;
  path: string;
  retries: number;
  minDelayMs: number;
  maxDelayMs: number;
  /** Whether this failure is worth another attempt (the budget and the signal are checked separately). */
  shouldRetry: (err: MetalApiError) => boolean;
  guard?: () => boolean;
  signal?: AbortSignal;
  log?: Logger;
  /** Replaceable for tests; must reject with the signal's reason on abort. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/**
 * Runs `attempt` until it succeeds, a failure is not worth retrying, or the budget is spent. Backoff is
 * exponential with full jitter; a wait the server asked for replaces it, both capped at maxDelayMs. The guard
 * is asked before every attempt. On abort, rejects with the signal's reason.
 */
export async function withRetries<T>(attempt: () => Promise<T>, p: RetryPolicy): Promise<T> {
  let lastError: MetalApiError | undefined;
  const sleep = p.sleep ?? abortableSleep;
  try {
    return await pRetry(
      async (n: number) => {
        if (p.guard && !p.guard()) {
          throw new AbortError(new MetalCallAbortedError(p.operation, p.method, p.path, n, lastError));
        }
        try {
          return await attempt();
        } catch (err) {
          if (err instanceof MetalApiError) lastError = err;
          throw err;
        }
      },
      {
        retries: p.retries,
        // p-retry's own delay is off: the wait is computed (and slept, abortably) in shouldRetry.
        minTimeout: 0,
        maxTimeout: 0,
        signal: p.signal,
        shouldRetry: async ({ error, attemptNumber, retriesLeft }) => {
          if (!(error instanceof MetalApiError) || p.signal?.aborted || !p.shouldRetry(error)) return false;
          const requested = error.retryAfterMs;
          const ceiling = Math.min(p.maxDelayMs, p.minDelayMs * 2 ** (attemptNumber - 1));
          const waitMs = Math.round(
            requested !== undefined ? Math.min(requested, p.maxDelayMs) : Math.random() * ceiling,
          );
          p.log?.debug(
            {
              operation: p.operation,
              method: p.method,
              path: p.path,
              attempt: attemptNumber,
              ...(error.status !== undefined ? { status: error.status } : { code: error.code }),
              waitMs,
              waitSource: requested !== undefined ? 'server' : 'backoff',
              retriesLeft,
            },
            'Metal API call failed; retrying',
          );
          await sleep(waitMs, p.signal);
          return true;
        },
      },
    );
  } catch (err) {
    if (p.signal?.aborted) throw p.signal.reason;
    throw err;
  }
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
