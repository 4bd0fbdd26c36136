// What the static pod and the DaemonSet share: the container, and the volumes its options need.
import { posix } from 'node:path';
import type { V1Container, V1Volume } from '@kubernetes/client-node';
import type { Config } from '../config/index.js';
import { containerEnv, type EnvVar } from './env.js';
import { probedContainer } from './probes.js';

export const APP_NAME = 'kvip';
export const APP_LABELS = { 'app.kubernetes.io/name': APP_NAME };

/** A YAML comment written above the node at `path` inside one object. */
export interface YamlComment {
  path: (string | number)[];
  text: string;
}

export interface ManifestResult<T> {
  objects: T[];
  /** Printed on stderr by the CLI, never into the manifest. */
  warnings: string[];
  comments?: Map<T, YamlComment[]>;
}

export interface ContainerParts {
  container: V1Container;
  volumes: V1Volume[];
  warnings: string[];
  /** Comments inside the container (paths from it), for the object's YAML. */
  comments: YamlComment[];
}

/** The user kvip's image runs as (docker/Dockerfile `USER`): not root. */
export const IMAGE_UID = 65532;

const AS_ROOT =
  " kubeadm's admin.conf (and a Metal token file) can be read by root only. This root has no\n" +
  ' capability but the two added below: drop ALL takes the rest.';
const AS_IMAGE_USER =
  " The image's user. A non-root process gets the capabilities below only as file capabilities\n" +
  " (the image's node carries them): allowPrivilegeEscalation: false would take them away.";

/**
 * The Pod's own name, namespace and uid from the downward API: the object kvip's Kubernetes Events are about.
 * The kubelet resolves these for a static pod too (its name then ends in the node name, and its uid is the
 * one `kubectl describe` looks for on the mirror pod).
 */
const POD_ENV: EnvVar[] = [
  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
  { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
  { name: 'POD_UID', valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } },
];

/**
 * The kvip container: `start` with the options as env, host-network capabilities only (NET_ADMIN to add
 * addresses, NET_RAW for gratuitous ARP/NA), everything else dropped. It runs as the image's non-root user
 * unless it reads files from the host, which kubeadm (and the README's token file) make root's only. The
 * kubelet probes it on the metrics server.
 */
export function kvipContainer(config: Config, extraEnv: EnvVar[], mountKubeconfig: boolean): ContainerParts {
  const { env, literalSecrets } = containerEnv(config);
  const warnings = literalSecrets.map(
    (flag) =>
      `warning: ${flag} is written into the manifest in clear text; anyone who can read it has the secret`,
  );
  const volumes: V1Volume[] = [];
  const mounts: { name: string; mountPath: string; readOnly: boolean }[] = [];
  if (mountKubeconfig) {
    // kubeadm's admin.conf: its directory, read-only, so that super-admin.conf beside it is there when it
    // exists (the first node of kubeadm >= 1.29, while admin.conf has no rights yet) and absent elsewhere. A
    // mount of super-admin.conf itself would need it on every node: the kubelet creates what is missing.
    const kubeadm = posix.basename(config.k8sConfigPath) === 'admin.conf';
    const path = kubeadm ? posix.dirname(config.k8sConfigPath) : config.k8sConfigPath;
    volumes.push({ name: 'kubeconfig', hostPath: { path, type: kubeadm ? 'Directory' : 'File' } });
    mounts.push({ name: 'kubeconfig', mountPath: path, readOnly: true });
  }
  if (config.packet && config.packetKeyFile !== '') {
    volumes.push({ name: 'metal-token', hostPath: { path: config.packetKeyFile, type: 'File' } });
    mounts.push({ name: 'metal-token', mountPath: config.packetKeyFile, readOnly: true });
  }
  const asRoot = mounts.length > 0;
  const container: V1Container = {
    name: APP_NAME,
    image: config.image,
    imagePullPolicy: 'IfNotPresent',
    args: ['start'],
    // Events are posted only with leader election (there is no API server connection otherwise).
    env: [...env, ...extraEnv, ...(config.leaderElection ? POD_ENV : [])],
    ...probedContainer(config),
    securityContext: {
      ...(asRoot ? { runAsUser: 0 } : { runAsNonRoot: true, runAsUser: IMAGE_UID, runAsGroup: IMAGE_UID }),
      capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] },
    },
    ...(mounts.length > 0 ? { volumeMounts: mounts } : {}),
  };
  const comments = [{ path: ['securityContext'], text: asRoot ? AS_ROOT : AS_IMAGE_USER }];
  return { container, volumes, warnings, comments };
}
