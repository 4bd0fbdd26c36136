export { Elector } from './elector.js';
export {
  ElectionConfigError,
  validateElectorConfig,
  type ElectorConfig,
  type ElectorCallbacks,
  type ElectorDeps,
} from './elector-options.js';
export { JITTER_FACTOR, leaseTimingProblem, type LeaseTiming } from './timing.js';
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
