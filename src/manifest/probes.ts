// The kubelet's probes of the kvip container, on the metrics server: liveness on /healthz, readiness on
// /readyz. With hostNetwork the kubelet probes the pod IP, which is the node's own address: that reaches a
// server listening on every address (":2112"). A server bound to one address is probed there instead (the
// kubelet runs in the host's network namespace, which is the pod's, so 127.0.0.1 works too). No metrics
// server, no probes.
import type { V1Container, V1Probe } from '@kubernetes/client-node';
import type { Config } from '../config/index.js';
import { splitListenAddress } from '../config/formats.js';

const PORT_NAME = 'metrics';
const EVERY_ADDRESS = new Set(['0.0.0.0', '::']);

export function probedContainer(
  config: Config,
): Pick<V1Container, 'ports' | 'livenessProbe' | 'readinessProbe'> {
  const listen = config.prometheusServer === '' ? undefined : splitListenAddress(config.prometheusServer);
  if (!listen) return {};
  const host = listen.host !== undefined && !EVERY_ADDRESS.has(listen.host) ? { host: listen.host } : {};
  const get = (path: string) => ({ httpGet: { path, port: PORT_NAME, ...host } });
  // /healthz fails only after a fatal error, which ends the process anyway: the probe is for a process that
  // stopped answering at all. Generous (a minute of silence) so a loaded node never restarts a working kvip;
  // nothing outside the process, an API server outage included, makes /healthz fail.
  const livenessProbe: V1Probe = {
    ...get('/healthz'),
    initialDelaySeconds: 10,
    periodSeconds: 10,
    timeoutSeconds: 5,
    failureThreshold: 6,
  };
  // /readyz: started and the health gate open. Quick both ways; readiness never restarts anything.
  const readinessProbe: V1Probe = {
    ...get('/readyz'),
    periodSeconds: 5,
    timeoutSeconds: 2,
    failureThreshold: 2,
    successThreshold: 1,
  };
  return {
    ports: [{ name: PORT_NAME, containerPort: listen.port, protocol: 'TCP' }],
    livenessProbe,
    readinessProbe,
  };
}
