// What a failed Metal API call looks like to its caller: one error type carrying only plain data (never the
// HTTP library's error, whose config holds the request headers and so the API token), safe to log whole.

export interface MetalApiErrorInit {
  operation: string;
  method: string;
  path: string;
  status?: number;
  code?: string;
  messages: string[];
  retryAfterMs?: number;
}

/** Failures where the request may not have reached the API, or the API may answer differently next time. */
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTDOWN',
]);

export class MetalApiError extends Error {
  override name = 'MetalApiError';
  /** kvip's name for the call, e.g. 'assignIp'. */
  readonly operation: string;
  readonly method: string;
  /** The request path below the base URL, without host or query string. */
  readonly path: string;
  /** The HTTP status; absent when no response came back. */
  readonly status?: number;
  /** The network error code (ECONNRESET, ETIMEDOUT, ...) or a code of kvip's own (EBADRESPONSE, ...). */
  readonly code?: string;
  /** The API's own error messages, or a short description when it sent none. */
  readonly messages: string[];
  /** How long the API asked us to wait (Retry-After or X-RateLimit-Reset), uncapped. */
  readonly retryAfterMs?: number;

  constructor(init: MetalApiErrorInit) {
    const what = init.status !== undefined ? String(init.status) : (init.code ?? 'error');
    super(
      `Metal API ${init.operation} (${init.method} ${init.path}): ${what} ${init.messages.join('; ')}`.trim(),
    );
    this.operation = init.operation;
    this.method = init.method;
    this.path = init.path;
    this.status = init.status;
    this.code = init.code;
    this.messages = init.messages;
    this.retryAfterMs = init.retryAfterMs;
  }

  /**
   * Whether sending the same request again may succeed: 429, a 5xx other than 501/505, a timeout or a dropped
   * connection. Whether sending it again is *safe* (the first may have been acted on) is the caller's call.
   */
  get retryable(): boolean {
    if (this.status !== undefined) {
      return this.status === 429 || (this.status >= 500 && this.status !== 501 && this.status !== 505);
    }
    return this.code !== undefined && TRANSIENT_CODES.has(this.code);
  }
}

/**
 * The caller's guard refused an attempt, so that attempt was not sent. Earlier attempts of the same call (if
 * any; see `attempt` and `lastError`) were, and may have been acted on.
 */
export class MetalCallAbortedError extends Error {
  override name = 'MetalCallAbortedError';

  constructor(
    readonly operation: string,
    readonly method: string,
    readonly path: string,
    /** The attempt that was not sent (1 = the first: nothing at all was sent). */
    readonly attempt: number,
    /** Why the previous attempt failed, when there was one. */
    readonly lastError?: MetalApiError,
  ) {
    super(`Metal API ${operation} (${method} ${path}): not sent, the guard refused attempt ${attempt}`);
  }
}
