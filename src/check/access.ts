// What kvip must be allowed to do on the API server, and asking the API server whether it is, one
// SelfSubjectAccessReview per verb (authorization.k8s.io/v1: "may I?", answered for the caller's own
// credentials, changing nothing). The list is the Role `kvip manifest rbac` writes, so a rule added there
// (another verb, another resource) is checked here too, and what check asks for is what that manifest grants.
import type { V1Role } from '@kubernetes/client-node';
import type { Config } from '../config/index.js';
import type { KubeHttp } from '../election/kube-http.js';
import { rbacManifest } from '../manifest/rbac.js';

export const ACCESS_REVIEW_PATH = '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews';

/** One verb on one kind of object (one named object, when `name` is set), in one namespace. */
export interface AccessNeed {
  verb: string;
  /** The API group ('' for the core group). */
  group: string;
  resource: string;
  namespace: string;
  name?: string;
}

export interface AccessAnswer {
  allowed: boolean;
  /** An authorizer said no outright (RBAC only ever has no opinion). */
  denied: boolean;
  reason: string;
}

/** The API server refused the credentials themselves (401). */
export class CredentialsRefusedError extends Error {
  override name = 'CredentialsRefusedError';
}

export function requiredAccess(config: Config): AccessNeed[] {
  const role = rbacManifest(config).objects.find((o) => o.kind === 'Role') as V1Role;
  return (role.rules ?? []).flatMap((rule) =>
    (rule.apiGroups ?? ['']).flatMap((group) =>
      (rule.resources ?? []).flatMap((resource) =>
        (rule.resourceNames?.length ? rule.resourceNames : [undefined]).flatMap((name) =>
          rule.verbs.map((verb) => ({
            verb,
            group,
            resource,
            namespace: config.namespace,
            ...(name !== undefined ? { name } : {}),
          })),
        ),
      ),
    ),
  );
}

/** "get, update, watch on leases/plndr-cp-lock and create on leases": verbs grouped by what they are on. */
export function describeNeeds(needs: AccessNeed[]): string {
  const byObject = new Map<string, string[]>();
  for (const n of needs) {
    const what = n.name !== undefined ? `${n.resource}/${n.name}` : n.resource;
    byObject.set(what, [...(byObject.get(what) ?? []), n.verb]);
  }
  const parts = [...byObject].map(([what, verbs]) => `${verbs.join(', ')} on ${what}`);
  return parts.length > 1 ? `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}` : (parts[0] ?? '');
}

function statusMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { message?: unknown };
    if (typeof body.message === 'string') return body.message;
  } catch {
    // not a kube Status
  }
  return text.split('\n')[0]?.slice(0, 160) ?? '';
}

/** Asks the API server whether the caller may do `need`. */
export async function reviewAccess(
  http: KubeHttp,
  need: AccessNeed,
  signal: AbortSignal,
): Promise<AccessAnswer> {
  const body = {
    kind: 'SelfSubjectAccessReview',
    apiVersion: 'authorization.k8s.io/v1',
    spec: {
      resourceAttributes: {
        namespace: need.namespace,
        verb: need.verb,
        group: need.group,
        resource: need.resource,
        ...(need.name !== undefined ? { name: need.name } : {}),
      },
    },
  };
  const res = await http.request('POST', ACCESS_REVIEW_PATH, body, signal);
  if (res.status === 401)
    throw new CredentialsRefusedError(
      `the API server refused the credentials (401 ${statusMessage(res.text)})`,
    );
  if (res.status !== 201 && res.status !== 200)
    throw new Error(`SelfSubjectAccessReview answered HTTP ${res.status}: ${statusMessage(res.text)}`);
  let status: { allowed?: unknown; denied?: unknown; reason?: unknown } | undefined;
  try {
    status = (JSON.parse(res.text) as { status?: typeof status }).status;
  } catch {
    // handled below
  }
  if (typeof status?.allowed !== 'boolean')
    throw new Error('SelfSubjectAccessReview: the answer has no status.allowed');
  return {
    allowed: status.allowed,
    denied: status.denied === true,
    reason: typeof status.reason === 'string' ? status.reason : '',
  };
}
