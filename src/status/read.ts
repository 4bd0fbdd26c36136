// `kvip status`: reads the Lease once, through the same kubeconfig, endpoint choice and client as `kvip
// start`, and prints who leads. Exit codes: 0 the Lease was read (whatever its state), 1 the API server could
// not be reached or failed, 2 bad input (options, kubeconfig, 401/403, an untrusted certificate: thrown for
// the CLI to report), 4 no such Lease.
import type { Config } from '../config/index.js';
import { KubeHttp, KubeLeaseStore, loadKubeConfig, type StoredLease } from '../election/index.js';
import { leaseEndpoint } from '../election/endpoint.js';
import { LeaseForbiddenError } from '../election/errors.js';
import { EXIT_FAILED, EXIT_NOT_FOUND, EXIT_OK } from '../exit-codes.js';
import { VERSION } from '../version.js';
import { formatStatusTable, leaseStatus } from './status.js';

/** One GET, bounded: connect + TLS within CONNECT_MS, the whole answer within READ_MS. */
const CONNECT_MS = 2000;
const READ_MS = 5000;

export type StatusFormat = 'table' | 'json';

export interface StatusIo {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

export async function runStatus(config: Config, format: StatusFormat, io: StatusIo): Promise<number> {
  const conn = loadKubeConfig({ inCluster: config.inCluster, path: config.k8sConfigPath }, io.env);
  const endpoint = leaseEndpoint(conn, config);
  const http = new KubeHttp(endpoint.connection, `kvip/${VERSION}`, { connectTimeoutMs: CONNECT_MS });
  const store = new KubeLeaseStore(http, config.namespace, config.leaseName);
  let lease: StoredLease | null;
  try {
    lease = await store.get(AbortSignal.timeout(READ_MS));
  } catch (err) {
    if (err instanceof LeaseForbiddenError) throw err;
    io.err(
      `kvip: cannot read the lease ${store.description} from ${endpoint.description}: ${err instanceof Error ? err.message : String(err)}\n`,
    );
    return EXIT_FAILED;
  } finally {
    http.close();
  }
  if (lease === null) {
    io.err(
      `kvip: no lease ${store.description} at ${endpoint.connection.server.origin}: no kvip has led with this --namespace and --leaseName yet\n`,
    );
    return EXIT_NOT_FOUND;
  }
  const now = new Date();
  const status = leaseStatus(
    { namespace: config.namespace, name: config.leaseName, apiServer: endpoint.description },
    lease.record,
    now,
  );
  io.out(format === 'json' ? `${JSON.stringify(status)}\n` : formatStatusTable(status, now));
  return EXIT_OK;
}
