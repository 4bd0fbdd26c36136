// Which API server kvip talks to. kubeadm's admin.conf names the control-plane endpoint, i.e. the VIP kvip
// provides: dialled as written, the first node never reaches its API server (nobody holds the VIP yet) and
// after a leader crash followers would dial a dead VIP. So by default a kubeconfig's connection is pointed at
// this node's own API server on loopback, and the certificate is verified as "kubernetes", a name kubeadm
// (and k3s) put in every API server's serving certificate, so TLS still proves who answers.
import type { KubeConnection } from './kubeconfig.js';

/** The name the local API server's certificate is verified against (unless the kubeconfig sets one). */
export const LOCAL_SERVER_NAME = 'kubernetes';

export interface Endpoint {
  connection: KubeConnection;
  /** For the log: where requests go, and why. */
  description: string;
}

/**
 * `choice`: "local" (https://127.0.0.1:<port>, verified as "kubernetes"), "kubeconfig" (as written) or an
 * https:// URL (verified as its host, or the kubeconfig's tls-server-name).
 */
export function chooseEndpoint(conn: KubeConnection, choice: string, port: number): Endpoint {
  const named = conn.server.origin;
  if (choice === 'kubeconfig')
    return { connection: conn, description: `${named} (the server the kubeconfig names)` };
  if (choice === 'local') {
    const server = new URL(`https://127.0.0.1:${port}`);
    return {
      connection: withServer(conn, server, LOCAL_SERVER_NAME),
      description: `${server.origin} (this node's own API server, verified as "${LOCAL_SERVER_NAME}"; the kubeconfig names ${named})`,
    };
  }
  const server = new URL(choice);
  return {
    connection: withServer(conn, server, undefined),
    description: `${server.origin} (--apiServer; the kubeconfig names ${named})`,
  };
}

/** The same credentials and trust, another address; `servername` unless the kubeconfig chose one. */
function withServer(conn: KubeConnection, server: URL, servername: string | undefined): KubeConnection {
  return {
    server,
    async requestOptions(signal) {
      const opts = await conn.requestOptions(signal);
      return servername && !opts.servername ? { ...opts, servername } : opts;
    },
    invalidate: () => conn.invalidate(),
  };
}

/**
 * Where kvip (start and status) sends its Lease requests: in a pod with a ServiceAccount, with `--apiServer
 * local`, the kubernetes Service the pod was given (it reaches the API servers without the VIP); otherwise
 * chooseEndpoint's choice.
 */
export function leaseEndpoint(
  conn: KubeConnection,
  opts: { inCluster: boolean; apiServer: string; port: number },
): Endpoint {
  if (opts.inCluster && opts.apiServer === 'local')
    return { connection: conn, description: `${conn.server.origin} (the in-cluster service)` };
  return chooseEndpoint(conn, opts.apiServer, opts.port);
}
