// `kvip manifest rbac`: the ServiceAccount and the least privilege the DaemonSet needs: the election Lease
// (get/create/update, list/watch so followers can watch it) and events.
import type { V1ClusterRole, V1ClusterRoleBinding, V1ServiceAccount } from '@kubernetes/client-node';
import type { Config } from '../config/index.js';
import { APP_LABELS, APP_NAME, type ManifestResult } from './common.js';

export type RbacObject = V1ServiceAccount | V1ClusterRole | V1ClusterRoleBinding;

export const ROLE_NAME = 'system:kvip';

export function rbacManifest(config: Config): ManifestResult<RbacObject> {
  const serviceAccount: V1ServiceAccount = {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: APP_NAME, namespace: config.namespace, labels: APP_LABELS },
  };
  const role: V1ClusterRole = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: ROLE_NAME, labels: APP_LABELS },
    rules: [
      {
        apiGroups: ['coordination.k8s.io'],
        resources: ['leases'],
        verbs: ['get', 'create', 'update', 'list', 'watch'],
      },
      { apiGroups: [''], resources: ['events'], verbs: ['create'] },
    ],
  };
  const binding: V1ClusterRoleBinding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: ROLE_NAME, labels: APP_LABELS },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: ROLE_NAME },
    subjects: [{ kind: 'ServiceAccount', name: APP_NAME, namespace: config.namespace }],
  };
  return { objects: [serviceAccount, role, binding], warnings: [] };
}
