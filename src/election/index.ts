export { Elector, ElectionConfigError, validateElectorConfig } from './elector.js';
export { JITTER_FACTOR, leaseTimingProblem, type LeaseTiming } from './timing.js';
export type { ElectorConfig, ElectorCallbacks, ElectorDeps } from './elector.js';
export { systemClock, sleep } from './clock.js';
export * from './errors.js';
export type * from './types.js';
export { KubeLeaseStore, leaseToStored, microTime } from './kube-store.js';
export {
  loadKubeConfig,
  parseKubeConfig,
  KubeConfigError,
  type KubeConfigSource,
  type KubeConnection,
} from './kubeconfig.js';
export { KubeHttp } from './kube-http.js';
export { checkLeaseAccess, type PreflightResult } from './preflight.js';
