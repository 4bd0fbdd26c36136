// Where kvip's Kubernetes credentials come from: the pod's ServiceAccount (DaemonSet) or a kubeconfig file
// (static pod). Failures are KubeConfigErrors with one line saying which file or setting and why.
import { readFileSync } from 'node:fs';
import type { Agent } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';

export class KubeConfigError extends Error {
  override name = 'KubeConfigError';
}

export interface KubeConfigSource {
  inCluster: boolean;
  path: string;
}

/**
 * client-node 1.4 builds a new https.Agent for every request, so every renewal paid a TCP and TLS handshake
 * (milliseconds of CPU and latency on the failover path). Reuse one keep-alive agent for the whole process.
 */
export function reuseConnections(kc: KubeConfig): KubeConfig {
  type AgentFactory = (cluster: unknown, options: Record<string, unknown>) => Agent;
  const target = kc as unknown as { createAgent: AgentFactory };
  const original = target.createAgent.bind(kc);
  let agent: Agent | undefined;
  target.createAgent = (cluster, options) => (agent ??= original(cluster, { ...options, keepAlive: true }));
  return kc;
}

export function loadKubeConfig(source: KubeConfigSource, env: NodeJS.ProcessEnv = process.env): KubeConfig {
  return reuseConnections(readKubeConfig(source, env));
}

function readKubeConfig(source: KubeConfigSource, env: NodeJS.ProcessEnv): KubeConfig {
  const kc = new KubeConfig();
  if (source.inCluster) {
    if (!env.KUBERNETES_SERVICE_HOST || !env.KUBERNETES_SERVICE_PORT)
      throw new KubeConfigError(
        '--inCluster (vip_incluster): KUBERNETES_SERVICE_HOST/PORT are not set; this is not a pod (use --k8sConfigPath)',
      );
    kc.loadFromCluster();
    return kc;
  }
  if (source.path === '')
    throw new KubeConfigError('--k8sConfigPath (k8s_config_file) is empty: name a kubeconfig file');
  let text: string;
  try {
    text = readFileSync(source.path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new KubeConfigError(`--k8sConfigPath ${source.path}: cannot read the kubeconfig (${code})`);
  }
  try {
    kc.loadFromString(text);
  } catch (err) {
    throw new KubeConfigError(
      `--k8sConfigPath ${source.path}: not a valid kubeconfig (${(err as Error).message.split('\n')[0]})`,
    );
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster || !cluster.server)
    throw new KubeConfigError(
      `--k8sConfigPath ${source.path}: the current context names no cluster with a server`,
    );
  return kc;
}
