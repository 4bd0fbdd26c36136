// Leader election for `kvip start`: identity, timing, which API server and which credentials, and a check
// that the lease can be reached at all, before anything is elected.
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Config } from '../config/index.js';
import {
  Elector,
  KubeHttp,
  KubeLeaseStore,
  checkLeaseAccess,
  loadKubeConfig,
  systemClock,
  validateElectorConfig,
  type KubeConnection,
  type LeaseStore,
} from '../election/index.js';
import { leaseEndpoint } from '../election/endpoint.js';
import { FallbackLeaseStore } from '../election/fallback-store.js';
import type { Logger } from '../log.js';
import type { ServiceOptions } from './service.js';
import { leaseIdentity } from './identity.js';
import { VERSION } from '../version.js';
import type { RunIo } from './run.js';
import { HealthGate, healthProbeFor } from '../health/index.js';
import type { KubeLink } from '../events/index.js';

type ElectorFactory = NonNullable<ServiceOptions['elector']>;

export interface PreparedElection {
  elector: ElectorFactory;
  /** The local API server's health check, already running; absent with --healthCheck off. */
  gate?: HealthGate;
  /** The elector's connection as it is now (admin.conf or, while that is refused, super-admin.conf): Events. */
  kube: KubeLink;
  close: () => void;
}

/** kubeadm's bootstrap pair: while admin.conf is refused, super-admin.conf beside it may be used. */
function superAdminBeside(path: string): string | undefined {
  return basename(path) === 'admin.conf' ? join(dirname(path), 'super-admin.conf') : undefined;
}

export async function prepareElection(config: Config, io: RunIo, log: Logger): Promise<PreparedElection> {
  const identity = leaseIdentity(config);
  const timing = {
    identity,
    leaseDurationMs: config.leaseDuration * 1000,
    renewDeadlineMs: config.renewDeadline * 1000,
    retryPeriodMs: config.retryPeriod * 1000,
    watch: true,
  };
  validateElectorConfig(timing);
  const conns = new Map<string, { http: KubeHttp; store: KubeLeaseStore }>();
  const storeFor = (path: string): { store: KubeLeaseStore; where: string; conn: KubeConnection } => {
    const conn = loadKubeConfig({ inCluster: config.inCluster, path }, io.env);
    const endpoint = leaseEndpoint(conn, config);
    // A dead API server must not cost a renew deadline: connect and TLS are bounded well below the retry
    // period, and a connection idle longer than a renewal interval is not reused. The first byte of an answer
    // is left to the round's deadline, so a slow but alive API server can still renew.
    const http = new KubeHttp(endpoint.connection, `kvip/${VERSION}`, {
      connectTimeoutMs: Math.max(100, timing.retryPeriodMs / 2),
      idleSocketMs: 1.5 * timing.retryPeriodMs,
    });
    // A watch opened while the API server is unreachable is given up after a renew deadline and re-opened.
    const store = new KubeLeaseStore(http, config.namespace, config.leaseName, {
      watchOpenTimeoutMs: timing.renewDeadlineMs,
    });
    conns.set(path, { http, store });
    return { store, where: endpoint.description, conn };
  };
  const primary = storeFor(config.k8sConfigPath);
  const superAdmin = config.inCluster ? undefined : superAdminBeside(config.k8sConfigPath);
  // Opened at a 403, when it is needed: the file need not exist when kvip starts, nor on any other node.
  const openFallback = (path: string) => () => {
    if (!existsSync(path)) return undefined;
    try {
      return storeFor(path).store;
    } catch (err) {
      log.warn({ kubeconfig: path, err: err instanceof Error ? err.message : String(err) }, 'cannot use it');
      return undefined;
    }
  };
  const fallback = superAdmin
    ? new FallbackLeaseStore({
        primary: primary.store,
        openFallback: openFallback(superAdmin),
        primaryName: config.k8sConfigPath,
        fallbackName: superAdmin,
        log,
      })
    : undefined;
  const store: LeaseStore = fallback ?? primary.store;
  const probe = healthProbeFor(config.healthCheck, primary.conn, config.port);
  const gate = probe
    ? new HealthGate({
        probe,
        periodMs: config.healthCheckPeriod * 1000,
        timeoutMs: config.healthCheckTimeout * 1000,
        failureThreshold: config.healthCheckFailures,
        successThreshold: config.healthCheckSuccesses,
        log,
      })
    : undefined;
  const close = () => {
    for (const c of conns.values()) c.http.close();
    fallback?.close();
    gate?.close();
  };
  const active = () =>
    conns.get(fallback?.active ?? config.k8sConfigPath) ?? conns.get(config.k8sConfigPath)!;
  const kube: KubeLink = {
    http: () => active().http,
    // The same Lease through either kubeconfig: whichever has seen it.
    leaseUid: () => [...conns.values()].map((c) => c.store.uid).find((uid) => uid !== undefined),
  };
  log.info({ apiServer: primary.where }, `talking to the API server at ${primary.where}`);
  let pre;
  try {
    pre = await checkLeaseAccess(store, timing.renewDeadlineMs);
  } catch (err) {
    close();
    throw err;
  }
  if (!pre.ok)
    log.warn({ lease: store.description, err: pre.transient }, 'lease not reachable yet; will retry');
  // The first verdict (within the check's timeout) is in before the elector first tries: a node whose API
  // server is healthy leads at once, one whose API server is not says why.
  await gate?.start();
  log.info(
    { namespace: config.namespace, lease: config.leaseName, identity },
    `Beginning cluster membership, namespace [${config.namespace}], lock name [${config.leaseName}], id [${identity}]`,
  );
  return {
    elector: (callbacks) =>
      new Elector(timing, { store, clock: systemClock, callbacks, log, ...(gate ? { gate } : {}) }),
    ...(gate ? { gate } : {}),
    kube,
    close,
  };
}
