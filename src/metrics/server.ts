// The HTTP server on --prometheusHTTPServer: GET /metrics (Prometheus text format), /healthz and /readyz
// (200 or 503 with one line saying why), 404 for anything else. It is opened before `kvip start` changes
// anything on the host, so that an address it cannot listen on is a one-line error (exit 2) and nothing else.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import { ConfigError } from '../config/index.js';
import type { Verdict } from './health.js';

export interface StatusSources {
  scrape(): Promise<{ contentType: string; text: string }>;
  live(): Verdict;
  ready(): Verdict;
}

export interface ListenAddress {
  /** undefined: every address of the host (IPv6 and IPv4). */
  host: string | undefined;
  port: number;
}

/** As the option is written: ':2112', 'host:2112', '[::1]:2112'. */
export function formatAddress(where: ListenAddress): string {
  const host = where.host === undefined ? '' : isIP(where.host) === 6 ? `[${where.host}]` : where.host;
  return `${host}:${where.port}`;
}

function listenProblem(err: NodeJS.ErrnoException, where: ListenAddress): string {
  switch (err.code) {
    case 'EADDRINUSE':
      return `port ${where.port} is already in use on this host (another kvip, or another program); choose another port, or '' to turn the metrics server off`;
    case 'EADDRNOTAVAIL':
      return `${where.host ?? ''} is not an address of this host`;
    case 'EACCES':
      return `not allowed to listen on port ${where.port}`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve ${where.host ?? ''}`;
    default:
      return `cannot listen there (${err.code ?? err.message})`;
  }
}

export class StatusServer {
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /**
   * Listens on `where`; rejects with a ConfigError naming `label` (the option as the user gave it) and the
   * address when it cannot.
   */
  static async open(where: ListenAddress, label: string, sources: StatusSources): Promise<StatusServer> {
    const server = createServer((req, res) => void answer(req, res, sources).catch(() => res.destroy()));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(where.port, where.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      server.close();
      const problem = listenProblem(err as NodeJS.ErrnoException, where);
      throw new ConfigError(`${label} ${formatAddress(where)}: ${problem}`);
    }
    // Once listening, an error (a failed accept) must not reach the process as an uncaught one: that is a
    // fatal error, which drops the VIP. The scrape that failed is retried by Prometheus.
    server.on('error', () => undefined);
    return new StatusServer(server, (server.address() as AddressInfo).port);
  }

  /** Stops listening and ends every connection; resolves within `timeoutMs` whatever happens. */
  close(timeoutMs = 1000): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.server.close(() => {
        clearTimeout(timer);
        resolve();
      });
      this.server.closeAllConnections();
    });
  }
}

async function answer(req: IncomingMessage, res: ServerResponse, sources: StatusSources): Promise<void> {
  const path = (req.url ?? '/').split('?', 1)[0];
  const known = path === '/metrics' || path === '/healthz' || path === '/readyz';
  if (!known) return text(res, 404, 'not found: kvip serves /metrics, /healthz and /readyz');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return text(res, 405, 'method not allowed');
  }
  if (path === '/healthz') return verdict(res, sources.live());
  if (path === '/readyz') return verdict(res, sources.ready());
  try {
    const { contentType, text: body } = await sources.scrape();
    res.writeHead(200, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  } catch (err) {
    text(res, 500, `collecting the metrics failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function verdict(res: ServerResponse, v: Verdict): void {
  text(res, v.ok ? 200 : 503, v.line);
}

function text(res: ServerResponse, status: number, line: string): void {
  const body = `${line}\n`;
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
