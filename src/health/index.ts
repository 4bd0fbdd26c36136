export { HealthGate, type HealthGateOptions } from './gate.js';
export {
  HealthCheckError,
  healthProbeFor,
  localReadyzProbe,
  apiServerProbe,
  plainHttpProbe,
  tcpProbe,
  type HealthProbe,
} from './probe.js';
