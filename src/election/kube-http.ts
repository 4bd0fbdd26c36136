// JSON over HTTP(S) to the API server, for the calls kvip makes (get, create, update and watch one Lease;
// create and patch Events). Written by hand on node:https because client-node's generated API costs about
// 75 MB of RSS and builds a new TLS connection per request; here one keep-alive agent carries every request,
// and each request is bounded by the caller's AbortSignal (client-node has no default timeout).
import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { KubeConnection } from './kubeconfig.js';

export interface KubeResponse {
  status: number;
  /** The Content-Type header, '' when absent. */
  contentType: string;
  text: string;
  /** The body's length in bytes, as received. */
  bytes: number;
}

export interface KubeHttpOptions {
  /**
   * Bound on TCP connect plus TLS handshake of a new connection (default 1000 ms). The first byte of a
   * response is bounded only by the caller's signal: a slow but alive API server must still get a renewal in.
   */
  connectTimeoutMs?: number;
  /** A kept-alive connection idle longer than this is closed, not reused (default 1500 ms). */
  idleSocketMs?: number;
}

/** Lease objects are a few hundred bytes; anything this large is not one. */
const MAX_BODY_BYTES = 1 << 20;

export class KubeHttp {
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;
  private readonly secure: boolean;
  private readonly connectTimeoutMs: number;

  constructor(
    private readonly conn: KubeConnection,
    private readonly userAgent = 'kvip',
    opts: KubeHttpOptions = {},
  ) {
    this.secure = conn.server.protocol === 'https:';
    this.transport = this.secure ? https : http;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 1000;
    // LIFO reuses the most recently used socket, the one least likely to have been closed by the server.
    // `timeout` makes the agent destroy a free socket idle that long: one to a peer that died since would
    // hang the next request until the caller's deadline.
    this.agent = new (this.secure ? https.Agent : http.Agent)({
      keepAlive: true,
      scheduling: 'lifo',
      timeout: opts.idleSocketMs ?? 1500,
    });
  }

  /**
   * One request; resolves with any HTTP status, rejects on network errors and abort. `contentType` is the body's
   * (a PATCH names its patch type).
   */
  async request(
    method: string,
    path: string,
    body: unknown,
    signal: AbortSignal,
    contentType = 'application/json',
  ): Promise<KubeResponse> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return readResponse(await this.open(method, path, signal, payload, contentType));
  }

  /** Sends a request and resolves once the response headers are in (the body is the caller's to read). */
  async open(
    method: string,
    path: string,
    signal: AbortSignal,
    payload?: string,
    contentType = 'application/json',
  ): Promise<IncomingMessage> {
    signal.throwIfAborted();
    const opts = await this.conn.requestOptions(signal);
    const headers: Record<string, string | number> = {
      ...(opts.headers as Record<string, string>),
      Accept: 'application/json',
      'User-Agent': this.userAgent,
    };
    if (payload !== undefined) {
      headers['Content-Type'] = contentType;
      headers['Content-Length'] = Buffer.byteLength(payload);
    }
    const send = (retry: boolean) =>
      new Promise<IncomingMessage>((resolve, reject) => {
        // Whether any byte of a response came back: from then on the server has seen the request.
        let answered = false;
        const req = this.transport.request(
          this.conn.server,
          {
            ...opts,
            method,
            path: this.conn.server.pathname.replace(/\/$/, '') + path,
            headers,
            agent: this.agent,
            signal,
          },
          (res) => {
            // Rejected credentials: a token or exec credential may have rotated, so fetch it afresh next time.
            if (res.statusCode === 401) this.conn.invalidate();
            resolve(res);
          },
        );
        req.once('socket', (socket: Socket) => {
          const seen = () => (answered = true);
          socket.once('data', seen);
          req.once('close', () => socket.off('data', seen));
          if (!req.reusedSocket) this.boundConnect(req, socket);
        });
        req.on('error', (err: NodeJS.ErrnoException) => {
          // A kept-alive connection the server closed while it sat idle fails at once on reuse; the request
          // never reached the server, so it is sent again on a new connection (once). Never once a response
          // has begun: the server acted on the request, and a second PUT or watch would be a duplicate.
          if (retry && !answered && req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE'))
            resolve(send(false));
          else reject(err);
        });
        req.end(payload);
      });
    return send(true);
  }

  /** Closes idle and open connections. */
  close(): void {
    this.agent.destroy();
  }

  /** Fails a new connection whose TCP connect and TLS handshake take longer than connectTimeoutMs. */
  private boundConnect(req: http.ClientRequest, socket: Socket): void {
    const ms = this.connectTimeoutMs;
    const timer = setTimeout(() => {
      const err: NodeJS.ErrnoException = new Error(
        `no connection to ${this.conn.server.host} within ${ms} ms (connectTimeoutMs)`,
      );
      err.code = 'ETIMEDOUT';
      req.destroy(err);
    }, ms);
    socket.once(this.secure ? 'secureConnect' : 'connect', () => clearTimeout(timer));
    req.once('close', () => clearTimeout(timer));
  }
}

/** Reads a whole response (at most MAX_BODY_BYTES). */
export async function readResponse(res: IncomingMessage): Promise<KubeResponse> {
  const body = await readBody(res);
  return {
    status: res.statusCode ?? 0,
    contentType: res.headers['content-type'] ?? '',
    text: body.toString('utf8'),
    bytes: body.length,
  };
}

function readBody(res: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) res.destroy(new Error(`response larger than ${MAX_BODY_BYTES} bytes`));
      else chunks.push(c);
    });
    res.on('end', () => resolve(Buffer.concat(chunks)));
    res.on('error', reject);
    res.on('aborted', () => reject(new Error('response aborted')));
  });
}

/**
 * Splits a byte stream into lines of bytes, for the caller to decode whole: a chunk may end anywhere, inside a
 * UTF-8 sequence too. Lengths are counted in bytes.
 */
export class LineReader {
  private parts: Buffer[] = [];
  private size = 0;

  constructor(private readonly maxBytes: number) {}

  /** The lines `chunk` completes (without their newline); null once a line is longer than maxBytes. */
  push(chunk: Buffer): Buffer[] | null {
    const lines: Buffer[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, start)) {
      if (this.size + nl - start > this.maxBytes) return null;
      this.parts.push(chunk.subarray(start, nl));
      lines.push(this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts));
      this.parts = [];
      this.size = 0;
      start = nl + 1;
    }
    this.size += chunk.length - start;
    if (this.size > this.maxBytes) return null;
    if (start < chunk.length) this.parts.push(chunk.subarray(start));
    return lines;
  }
}
