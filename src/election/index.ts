export { Elector, ElectionConfigError, validateElectorConfig, JITTER_FACTOR } from './elector.js';
export type { ElectorConfig, ElectorCallbacks, ElectorDeps } from './elector.js';
export { systemClock, sleep } from './clock.js';
export * from './errors.js';
export type * from './types.js';
export { KubeLeaseStore, leaseToStored } from './kube-store.js';
export { loadKubeConfig, KubeConfigError, type KubeConfigSource } from './kubeconfig.js';
export { checkLeaseAccess, type PreflightResult } from './preflight.js';
export { reuseConnections } from './kubeconfig.js';
