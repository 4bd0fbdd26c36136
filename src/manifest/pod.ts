// `kvip manifest pod`: the static pod for kubeadm control-plane nodes (/etc/kubernetes/manifests/).
import type { V1Pod } from '@kubernetes/client-node';
import type { Config } from '../config/index.js';
import { APP_NAME, kvipContainer, type ManifestResult } from './common.js';

export function podManifest(config: Config): ManifestResult<V1Pod> {
  const { container, volumes, warnings, comments } = kvipContainer(config, [], !config.inCluster);
  const pod: V1Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: APP_NAME, namespace: config.namespace },
    spec: {
      containers: [container],
      hostNetwork: true,
      // The kubeconfig kubeadm writes points at the control-plane endpoint, i.e. the VIP this pod provides.
      // Resolving "kubernetes" to the local API server breaks that loop; kube-vip documents the same alias.
      hostAliases: [{ ip: '127.0.0.1', hostnames: ['kubernetes'] }],
      ...(volumes.length > 0 ? { volumes } : {}),
    },
  };
  const inContainer = ['spec', 'containers', 0];
  return {
    objects: [pod],
    warnings,
    comments: new Map([[pod, comments.map((c) => ({ ...c, path: [...inContainer, ...c.path] }))]]),
  };
}
