// kube `Status` bodies for every error (and the delete success) the fake kube-apiserver returns, with
// kube-apiserver's reasons and message wording.
import { GROUP } from './types.js';

export interface StatusCause {
  reason: string;
  message: string;
  field: string;
}

export interface KubeStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: string;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    uid?: string;
    causes?: StatusCause[];
    retryAfterSeconds?: number;
  };
  code: number;
}

const RESOURCE = `leases.${GROUP}`;

export function failure(
  code: number,
  reason: string | undefined,
  message: string,
  details?: KubeStatus['details'],
): KubeStatus {
  // Key order as kube-apiserver writes it.
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    ...(reason ? { reason } : {}),
    ...(details ? { details } : {}),
    code,
  };
}

function leaseDetails(name: string | undefined): KubeStatus['details'] {
  return name ? { name, group: GROUP, kind: 'leases' } : { group: GROUP, kind: 'leases' };
}

export function notFound(name: string): KubeStatus {
  return failure(404, 'NotFound', `${RESOURCE} "${name}" not found`, leaseDetails(name));
}

export function alreadyExists(name: string): KubeStatus {
  return failure(409, 'AlreadyExists', `${RESOURCE} "${name}" already exists`, leaseDetails(name));
}

/** 409 for a stale resourceVersion (or a failed delete precondition when `why` is given). */
export function conflict(name: string, why?: string): KubeStatus {
  const tail =
    why ?? 'the object has been modified; please apply your changes to the latest version and try again';
  return failure(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${RESOURCE} "${name}": ${tail}`,
    leaseDetails(name),
  );
}

/** 422: `Lease.coordination.k8s.io "x" is invalid: field: Invalid value: v: detail` (kind, not resource, in details). */
export function invalid(name: string, causes: StatusCause[]): KubeStatus {
  const parts = causes.map((c) => `${c.field}: ${c.message}`);
  const joined = parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`;
  return failure(422, 'Invalid', `Lease.${GROUP} "${name}" is invalid: ${joined}`, {
    name,
    group: GROUP,
    kind: 'Lease',
    causes,
  });
}

export function badRequest(message: string): KubeStatus {
  return failure(400, 'BadRequest', message);
}

/** The body could not be decoded as a Lease (kube's decoder error, wrapped like kube-apiserver does). */
export function cannotHandle(detail: string): KubeStatus {
  return badRequest(`Lease in version "v1" cannot be handled as a Lease: ${detail}`);
}

export function unauthorized(): KubeStatus {
  return failure(401, 'Unauthorized', 'Unauthorized');
}

export function forbidden(
  user: string,
  verb: string,
  ns: string | undefined,
  name: string | undefined,
): KubeStatus {
  const what = name ? `${RESOURCE} "${name}"` : RESOURCE;
  const where = ns ? ` in the namespace "${ns}"` : ' at the cluster scope';
  return failure(
    403,
    'Forbidden',
    `${what} is forbidden: User "${user}" cannot ${verb} resource "leases" in API group "${GROUP}"${where}`,
    leaseDetails(name),
  );
}

export function pathNotFound(): KubeStatus {
  return failure(404, 'NotFound', 'the server could not find the requested resource', {});
}

export function methodNotAllowed(): KubeStatus {
  return failure(
    405,
    'MethodNotAllowed',
    'the server does not allow this method on the requested resource',
    {},
  );
}

export function expired(requested: number, oldest: number): KubeStatus {
  return failure(410, 'Expired', `too old resource version: ${requested} (${oldest})`);
}

const FAULT_REASONS: Record<number, string> = {
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

/** An injected 5xx/429 answer. */
export function injected(code: number): KubeStatus {
  const details = code === 429 ? { retryAfterSeconds: 1 } : undefined;
  return failure(code, FAULT_REASONS[code], `fake apiserver: injected ${code} fault`, details);
}

export function deleted(name: string, uid: string | undefined): KubeStatus {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    details: { name, group: GROUP, kind: 'leases', ...(uid ? { uid } : {}) },
    code: 200,
  };
}
