// `kvip manifest daemonset`: kvip on every control-plane node of an existing cluster or k3s, with in-cluster
// auth through its ServiceAccount and the Metal token from a Secret. `--k3s` adds the RBAC in the same file.
import type { V1DaemonSet } from '@kubernetes/client-node';
import type { Config } from '../config/index.js';
import { APP_LABELS, APP_NAME, kvipContainer, type ManifestResult, type YamlComment } from './common.js';
import { rbacManifest, type RbacObject } from './rbac.js';
import type { EnvVar } from './env.js';

const CONTROL_PLANE_ROLES = ['node-role.kubernetes.io/control-plane', 'node-role.kubernetes.io/master'];

export function daemonSetManifest(config: Config): ManifestResult<V1DaemonSet | RbacObject> {
  const extraEnv: EnvVar[] = [];
  // The Lease identity is the node name, not the pod's host name guess.
  if (config.sources.nodeName.kind === 'default')
    extraEnv.push({ name: 'vip_nodename', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } });
  if (config.sources.inCluster.kind === 'default') extraEnv.push({ name: 'vip_incluster', value: 'true' });
  const warnings: string[] = [];
  if (config.packet) {
    extraEnv.push({
      name: 'PACKET_AUTH_TOKEN',
      valueFrom: { secretKeyRef: { name: config.packetSecret, key: 'token' } },
    });
  }
  // A DaemonSet takes its token from the Secret only; a literal would sit in the cluster for all to read.
  const forDaemonSet: Config = { ...config, packetKey: '', packetKeyFile: '', inCluster: true };
  const { container, volumes, comments } = kvipContainer(forDaemonSet, extraEnv, false);
  if (config.packet && config.packetKey !== '')
    warnings.push(
      `warning: the DaemonSet reads the Metal token from Secret ${config.namespace}/${config.packetSecret} (key "token"), ` +
        `not from ${config.sources.packetKey.kind === 'flag' ? config.sources.packetKey.name : '--packetKey'}; create the Secret`,
    );
  const daemonSet: V1DaemonSet = {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: APP_NAME, namespace: config.namespace, labels: APP_LABELS },
    spec: {
      selector: { matchLabels: APP_LABELS },
      template: {
        metadata: { labels: APP_LABELS },
        spec: {
          serviceAccountName: APP_NAME,
          hostNetwork: true,
          priorityClassName: 'system-node-critical',
          affinity: {
            nodeAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: {
                nodeSelectorTerms: CONTROL_PLANE_ROLES.map((key) => ({
                  matchExpressions: [{ key, operator: 'Exists' }],
                })),
              },
            },
          },
          tolerations: [
            { effect: 'NoSchedule', operator: 'Exists' },
            { effect: 'NoExecute', operator: 'Exists' },
          ],
          containers: [container],
          ...(volumes.length > 0 ? { volumes } : {}),
        },
      },
    },
  };
  const inContainer = ['spec', 'template', 'spec', 'containers', 0];
  const own: [V1DaemonSet, YamlComment[]] = [
    daemonSet,
    comments.map((c) => ({ ...c, path: [...inContainer, ...c.path] })),
  ];
  if (!config.k3s) return { objects: [daemonSet], warnings, comments: new Map([own]) };
  const rbac = rbacManifest(config);
  return {
    objects: [...rbac.objects, daemonSet],
    warnings,
    comments: new Map<V1DaemonSet | RbacObject, YamlComment[]>([...(rbac.comments ?? []), own]),
  };
}
