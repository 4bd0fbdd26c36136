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

/** A resource kube-apiserver serves: its plural, kind and API group ('' for the core group). */
export interface Resource {
  plural: string;
  kind: string;
  group: string;
}

export const LEASES: Resource = { plural: 'leases', kind: 'Lease', group: GROUP };

/** "leases.coordination.k8s.io", "events": how kube names a resource in a message. */
const qualified = (r: Resource): string => (r.group ? `${r.plural}.${r.group}` : r.plural);

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

/** Status details naming an object of `r` (the group left out for the core group, as kube does). */
function details(name: string | undefined, r: Resource, kind = r.plural): KubeStatus['details'] {
  return { ...(name ? { name } : {}), ...(r.group ? { group: r.group } : {}), kind };
}

export function notFound(name: string, r: Resource = LEASES): KubeStatus {
  return failure(404, 'NotFound', `${qualified(r)} "${name}" not found`, details(name, r));
}

export function alreadyExists(name: string, r: Resource = LEASES): KubeStatus {
  return failure(409, 'AlreadyExists', `${qualified(r)} "${name}" already exists`, details(name, r));
}

/** 409 for a stale resourceVersion (or a failed delete precondition when `why` is given). */
export function conflict(name: string, why?: string, r: Resource = LEASES): KubeStatus {
  const tail =
    why ?? 'the object has been modified; please apply your changes to the latest version and try again';
  return failure(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualified(r)} "${name}": ${tail}`,
    details(name, r),
  );
}

/** 422: `Lease.coordination.k8s.io "x" is invalid: field: Invalid value: v: detail` (kind, not resource, in details). */
export function invalid(name: string, causes: StatusCause[], r: Resource = LEASES): KubeStatus {
  const parts = causes.map((c) => `${c.field}: ${c.message}`);
  const joined = parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`;
  const kind = r.group ? `${r.kind}.${r.group}` : r.kind;
  return failure(422, 'Invalid', `${kind} "${name}" is invalid: ${joined}`, {
    ...details(name, r, r.kind),
    causes,
  });
}

export function badRequest(message: string): KubeStatus {
  return failure(400, 'BadRequest', message);
}

/** The body could not be decoded as a `kind` (kube's decoder error, wrapped like kube-apiserver does). */
export function cannotHandle(detail: string, kind = 'Lease'): KubeStatus {
  return badRequest(`${kind} in version "v1" cannot be handled as a ${kind}: ${detail}`);
}

export function unauthorized(): KubeStatus {
  return failure(401, 'Unauthorized', 'Unauthorized');
}

export function forbidden(
  user: string,
  verb: string,
  ns: string | undefined,
  name: string | undefined,
  resource: Resource = LEASES,
): KubeStatus {
  const what = name ? `${qualified(resource)} "${name}"` : qualified(resource);
  const where = ns ? ` in the namespace "${ns}"` : ' at the cluster scope';
  return failure(
    403,
    'Forbidden',
    `${what} is forbidden: User "${user}" cannot ${verb} resource "${resource.plural}" in API group "${resource.group}"${where}`,
    details(name, resource),
  );
}

/** A body that is not JSON where kube-apiserver takes JSON only (kvip's fake: every write but patch, delete). */
export function unsupportedMediaType(): KubeStatus {
  return failure(
    415,
    'UnsupportedMediaType',
    'the body of the request was in an unknown format - accepted media types include: application/json',
  );
}

export function tooLarge(): KubeStatus {
  return failure(413, 'RequestEntityTooLarge', 'request body too large');
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
    details: { ...details(name, LEASES), ...(uid ? { uid } : {}) },
    code: 200,
  };
}
