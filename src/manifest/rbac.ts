// `kvip manifest rbac`: the ServiceAccount and a Role in the Lease's namespace with what the elector needs:
// get, update and watch on the one Lease, and create; and create and patch on Events, which kvip posts about
// its Pod (patch counts a repeat of one it posted).
import type { V1Role, V1RoleBinding, V1ServiceAccount } from '@kubernetes/client-node';
import type { Config } from '../config/index.js';
import { APP_LABELS, APP_NAME, type ManifestResult } from './common.js';

export type RbacObject = V1ServiceAccount | V1Role | V1RoleBinding;

const CREATE_COMMENT =
  ' create cannot be limited by resourceNames: the API server authorizes it before it reads the name.\n' +
  ' It still only reaches Leases in this namespace.';

const EVENTS_COMMENT =
  " Kubernetes Events about kvip's Pod (StartedLeading, StoppedLeading, ...): create, and patch to count\n" +
  ' repeats. Without them kvip works the same and logs one warning.';

export function rbacManifest(config: Config): ManifestResult<RbacObject> {
  const metadata = () => ({ name: APP_NAME, namespace: config.namespace, labels: APP_LABELS });
  const serviceAccount: V1ServiceAccount = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: metadata() };
  // A watch that carries fieldSelector=metadata.name=<name> is authorized as a request for that name, so
  // resourceNames covers kvip's watch as well as its GET and PUT. No list: kvip never lists.
  const role: V1Role = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: metadata(),
    rules: [
      {
        apiGroups: ['coordination.k8s.io'],
        resources: ['leases'],
        resourceNames: [config.leaseName],
        verbs: ['get', 'update', 'watch'],
      },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
      { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
    ],
  };
  const binding: V1RoleBinding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: metadata(),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: APP_NAME },
    subjects: [{ kind: 'ServiceAccount', name: APP_NAME, namespace: config.namespace }],
  };
  return {
    objects: [serviceAccount, role, binding],
    warnings: [],
    comments: new Map([
      [
        role,
        [
          { path: ['rules', 1], text: CREATE_COMMENT },
          { path: ['rules', 2], text: EVENTS_COMMENT },
        ],
      ],
    ]),
  };
}
