// What the health gate checks: this node's own API server. Three kinds, from --healthCheck:
//   local       GET https://127.0.0.1:<port>/readyz with the kubeconfig's CA and credentials, the certificate
//               verified as "kubernetes" (the same endpoint and trust the elector uses by default)
//   https://... GET that URL with the kubeconfig's CA and credentials (verified as the URL's host);
//   http://...  GET that URL, no credentials
//   tcp://h:p   a TCP connect, nothing sent
// A probe passes on HTTP 200 (or an accepted connection) within its signal's deadline; anything else is a
// one-line reason, never with a credential in it.
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { chooseEndpoint } from '../election/endpoint.js';
import { KubeHttp } from '../election/kube-http.js';
import type { KubeConnection } from '../election/kubeconfig.js';

export interface HealthProbe {
  /** What is checked, for logs: "https://127.0.0.1:6443/readyz (…)". */
  readonly description: string;
  /** Resolves when healthy; rejects with a one-line reason. Bounded by `signal`. */
  check(signal: AbortSignal): Promise<void>;
  close(): void;
}

export class HealthCheckError extends Error {
  override name = 'HealthCheckError';
}

/** The body's first line, short: readyz lists failed checks one per line ("[-]etcd failed: ..."). */
function firstLines(text: string): string {
  const failed = text
    .split('\n')
    .filter((l) => l.startsWith('[-]'))
    .map((l) => l.slice(3).trim());
  const line = (failed.length > 0 ? failed.join('; ') : (text.split('\n')[0] ?? '')).trim();
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}

function failure(err: unknown, signal: AbortSignal): HealthCheckError {
  if (signal.aborted) {
    const reason = signal.reason instanceof Error ? signal.reason.message : 'aborted';
    return new HealthCheckError(reason);
  }
  const e = err as NodeJS.ErrnoException;
  return new HealthCheckError(
    e.code ? `${e.code}${e.message ? `: ${e.message}` : ''}` : String(e.message ?? e),
  );
}

/** GET `path` over `target` (an endpoint built from `conn`): 200 passes. */
function kubeProbe(
  conn: KubeConnection,
  target: KubeConnection,
  path: string,
  description: string,
): HealthProbe {
  // Its own agent and a short connect bound: a dead API server fails the check at the timeout, and no
  // connection is shared with the elector's.
  const http = new KubeHttp(target, 'kvip-health', { connectTimeoutMs: 1000, idleSocketMs: 5000 });
  return {
    description,
    async check(signal) {
      let res;
      try {
        res = await http.request('GET', path, undefined, signal);
      } catch (err) {
        throw failure(err, signal);
      }
      if (res.status === 401) conn.invalidate();
      if (res.status !== 200) throw new HealthCheckError(`HTTP ${res.status}: ${firstLines(res.text)}`);
    },
    close: () => http.close(),
  };
}

/** An https:// URL, checked with the kubeconfig's trust and credentials (verified as the URL's host). */
export function apiServerProbe(conn: KubeConnection, url: URL): HealthProbe {
  const target = chooseEndpoint(conn, url.origin, 0).connection;
  return kubeProbe(conn, target, url.pathname + url.search, `${url.href} (the kubeconfig's credentials)`);
}

/** This node's API server on loopback, as `kvip start` talks to it by default. */
export function localReadyzProbe(conn: KubeConnection, port: number): HealthProbe {
  const target = chooseEndpoint(conn, 'local', port).connection;
  const description = `${target.server.origin}/readyz (this node's API server, verified as "kubernetes")`;
  return kubeProbe(conn, target, '/readyz', description);
}

/** A plain http:// URL, no credentials. */
export function plainHttpProbe(url: URL): HealthProbe {
  return {
    description: url.href,
    check: (signal) =>
      new Promise<void>((resolve, reject) => {
        const req = httpRequest(url, { method: 'GET', signal, agent: false }, (res) => {
          res.resume();
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (status === 200) resolve();
            else reject(new HealthCheckError(`HTTP ${status}`));
          });
          res.on('error', (err) => reject(failure(err, signal)));
        });
        req.on('error', (err) => reject(failure(err, signal)));
        req.end();
      }),
    close: () => undefined,
  };
}

/** A TCP connect to host:port; the connection is closed at once. */
export function tcpProbe(host: string, port: number): HealthProbe {
  return {
    description: `tcp://${host.includes(':') ? `[${host}]` : host}:${port}`,
    check: (signal) =>
      new Promise<void>((resolve, reject) => {
        const socket = connect({ host, port, signal });
        socket.once('connect', () => {
          socket.destroy();
          resolve();
        });
        socket.once('error', (err) => {
          socket.destroy();
          reject(failure(err, signal));
        });
      }),
    close: () => undefined,
  };
}

/** The probe `--healthCheck` names; undefined for "off". */
export function healthProbeFor(
  choice: string,
  conn: KubeConnection | undefined,
  port: number,
): HealthProbe | undefined {
  if (choice === 'off') return undefined;
  const needConn = (): KubeConnection => {
    if (!conn) throw new HealthCheckError(`--healthCheck ${choice} needs a kubeconfig (leader election)`);
    return conn;
  };
  if (choice === 'local') return localReadyzProbe(needConn(), port);
  const url = new URL(choice);
  if (url.protocol === 'tcp:') return tcpProbe(url.hostname.replace(/^\[|\]$/g, ''), Number(url.port));
  if (url.protocol === 'http:') return plainHttpProbe(url);
  return apiServerProbe(needConn(), url);
}
