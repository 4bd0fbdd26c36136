// `kvip start`. For now: everything that can be wrong before the election starts, checked in order, each
// as one line and exit 2 (options, identity, kubeconfig, lease timing, RBAC). Holding the VIP arrives with
// the providers; until then the command stops after the preflight with exit 3.
import { hostname } from 'node:os';
import { ConfigError, type Config } from '../config/index.js';
import {
  checkLeaseAccess,
  KubeLeaseStore,
  loadKubeConfig,
  validateElectorConfig,
} from '../election/index.js';

export interface StartIo {
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

export function leaseIdentity(config: Config): string {
  const identity = config.nodeName !== '' ? config.nodeName : hostname().toLowerCase();
  if (identity.trim() === '')
    throw new ConfigError(
      '--nodeName (vip_nodename) is empty and the host name is unknown: set the node name',
    );
  return identity;
}

/** Returns the exit code. Throws ConfigError / KubeConfigError / LeaseForbiddenError for bad input. */
export async function start(config: Config, io: StartIo): Promise<number> {
  if (config.leaderElection) {
    const identity = leaseIdentity(config);
    validateElectorConfig({
      identity,
      leaseDurationMs: config.leaseDuration * 1000,
      renewDeadlineMs: config.renewDeadline * 1000,
      retryPeriodMs: config.retryPeriod * 1000,
      watch: true,
    });
    const kc = loadKubeConfig({ inCluster: config.inCluster, path: config.k8sConfigPath }, io.env);
    const store = new KubeLeaseStore(kc, config.namespace, config.leaseName);
    const result = await checkLeaseAccess(store, config.renewDeadline * 1000);
    if (!result.ok)
      io.err(
        `kvip: warning: lease ${store.description} not reachable yet (${result.transient}); will retry\n`,
      );
  }
  io.err('kvip start: preflight passed; holding the VIP is not implemented yet\n');
  return 3;
}
