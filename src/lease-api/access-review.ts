// SelfSubjectAccessReview (authorization.k8s.io/v1) on the fake kube-apiserver: "may I do this?", answered for
// the caller's own token from the fake's RBAC rules (`denied`), as `kvip check` asks it. Modelled on
// kube-apiserver: 401 without a valid token, POST only (405), JSON only (415), the body decoded (400)
// and validated (422: exactly one of resourceAttributes and nonResourceAttributes, empty metadata), then 201
// with the review and its status. The fake's rules play RBAC, which never denies outright but has no opinion,
// so a matching rule gives allowed: false without denied: true; every other request is allowed.
import type { IncomingMessage } from 'node:http';
import {
  badRequest,
  failure,
  methodNotAllowed,
  unauthorized,
  type KubeStatus,
  type StatusCause,
} from './status.js';

export const ACCESS_REVIEW_PATH = '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews';

const GROUP = 'authorization.k8s.io';
const KIND = 'SelfSubjectAccessReview';
const API_VERSION = `${GROUP}/v1`;
const MAX_BODY_NOTE = 'request body too large';

/** The part of the fake's RBAC rules a review reads: a rule names a verb on a resource (default leases). */
export interface AccessRule {
  client?: string;
  verb: string;
  resource?: string;
}

/** Which API group the fake serves each resource of its rules in. */
const RESOURCE_GROUP: Record<string, string> = { leases: 'coordination.k8s.io', events: '' };

const RESOURCE_FIELDS = ['namespace', 'verb', 'group', 'version', 'resource', 'subresource', 'name'] as const;
const NON_RESOURCE_FIELDS = ['path', 'verb'] as const;

interface Reply {
  code: number;
  body: unknown;
}

class DecodeError extends Error {}

const fail = (s: KubeStatus): Reply => ({ code: s.code, body: s });

export function isAccessReviewPath(pathname: string): boolean {
  return pathname.replace(/\/+$/, '') === ACCESS_REVIEW_PATH;
}

function invalid(causes: StatusCause[]): KubeStatus {
  const parts = causes.map((c) => `${c.field}: ${c.message}`);
  const joined = parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`;
  return failure(422, 'Invalid', `${KIND}.${GROUP} "" is invalid: ${joined}`, {
    group: GROUP,
    kind: KIND,
    causes,
  });
}

/** An object of string fields (Go's typed decoding: unknown fields dropped, a wrong type is an error). */
function strings(v: unknown, field: string, names: readonly string[]): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  const goType = `v1.${field.endsWith('nonResourceAttributes') ? 'NonResourceAttributes' : 'ResourceAttributes'}`;
  if (typeof v !== 'object' || Array.isArray(v))
    throw new DecodeError(
      `json: cannot unmarshal ${typeof v} into Go struct field ${field} of type ${goType}`,
    );
  const out: Record<string, string> = {};
  for (const name of names) {
    const x = (v as Record<string, unknown>)[name];
    if (x === undefined || x === null) continue;
    if (typeof x !== 'string')
      throw new DecodeError(
        `json: cannot unmarshal ${typeof x} into Go struct field ${field}.${name} of type string`,
      );
    if (x !== '') out[name] = x;
  }
  return out;
}

interface Review {
  metadata: Record<string, unknown>;
  resourceAttributes?: Record<string, string>;
  nonResourceAttributes?: Record<string, string>;
}

function decode(raw: string): Review | KubeStatus {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (e) {
    return badRequest(`couldn't get version/kind; json parse error: ${(e as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return badRequest("couldn't get version/kind; json parse error: not an object");
  const body = parsed as Record<string, unknown>;
  if (
    (body.kind !== undefined && body.kind !== KIND) ||
    (body.apiVersion !== undefined && body.apiVersion !== API_VERSION)
  )
    return badRequest(
      `${KIND} in version "v1" cannot be handled as a ${KIND}: the body is ${String(body.apiVersion)}, kind=${String(body.kind)}`,
    );
  try {
    const spec = body.spec ?? {};
    if (typeof spec !== 'object' || spec === null || Array.isArray(spec))
      throw new DecodeError(`json: cannot unmarshal ${typeof spec} into Go struct field ${KIND}.spec`);
    const s = spec as Record<string, unknown>;
    const metadata = body.metadata;
    const resourceAttributes = strings(
      s.resourceAttributes,
      `${KIND}.spec.resourceAttributes`,
      RESOURCE_FIELDS,
    );
    const nonResourceAttributes = strings(
      s.nonResourceAttributes,
      `${KIND}.spec.nonResourceAttributes`,
      NON_RESOURCE_FIELDS,
    );
    return {
      metadata:
        typeof metadata === 'object' && metadata !== null ? (metadata as Record<string, unknown>) : {},
      ...(resourceAttributes ? { resourceAttributes } : {}),
      ...(nonResourceAttributes ? { nonResourceAttributes } : {}),
    };
  } catch (e) {
    if (e instanceof DecodeError)
      return badRequest(`${KIND} in version "v1" cannot be handled as a ${KIND}: ${e.message}`);
    throw e;
  }
}

/** kube's ValidateSelfSubjectAccessReview. */
function validate(r: Review): StatusCause[] {
  const causes: StatusCause[] = [];
  const cause = (field: string, value: string, detail: string) =>
    causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${value}: ${detail}`, field });
  if (r.resourceAttributes && r.nonResourceAttributes)
    cause(
      'spec.nonResourceAttributes',
      JSON.stringify(r.nonResourceAttributes),
      'cannot be specified in combination with resourceAttributes',
    );
  if (!r.resourceAttributes && !r.nonResourceAttributes)
    cause(
      'spec.resourceAttributes',
      '"null"',
      'exactly one of nonResourceAttributes or resourceAttributes must be specified',
    );
  const meta = Object.keys(r.metadata).filter((k) => k !== 'creationTimestamp' && k !== 'managedFields');
  if (meta.length > 0) cause('metadata', JSON.stringify(r.metadata), 'must be empty');
  return causes;
}

/** The decision: a matching rule leaves the request without permission (allowed false, as RBAC). */
function decide(
  client: string,
  r: Review,
  rules: readonly AccessRule[],
): { allowed: boolean; reason: string } {
  const a = r.resourceAttributes;
  if (!a) return { allowed: true, reason: 'the fake allows every non-resource request' };
  const rule = rules.find((d) => {
    const resource = d.resource ?? 'leases';
    return (
      d.verb === a.verb &&
      (d.client ?? client) === client &&
      resource === a.resource &&
      (a.group ?? '') === RESOURCE_GROUP[resource] &&
      a.subresource === undefined
    );
  });
  return rule
    ? { allowed: false, reason: `the fake's RBAC rules give ${client} no ${a.verb} on ${a.resource}` }
    : {
        allowed: true,
        reason: `no rule of the fake denies ${a.verb ?? ''} on ${a.resource ?? ''} to ${client}`,
      };
}

/** Serves one request to ACCESS_REVIEW_PATH; client is the token's (null: no valid token). */
export async function accessReview(
  req: Pick<IncomingMessage, 'method' | 'headers'>,
  client: string | null,
  rules: readonly AccessRule[],
  body: Promise<string | null>,
): Promise<Reply> {
  if (client === null) return fail(unauthorized());
  if (req.method !== 'POST') return fail(methodNotAllowed());
  const type = (req.headers['content-type'] ?? 'application/json').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json')
    return fail(
      failure(
        415,
        'UnsupportedMediaType',
        'the body of the request was in an unknown format - accepted media types include: application/json',
      ),
    );
  const raw = await body;
  if (raw === null) return fail(failure(413, 'RequestEntityTooLarge', MAX_BODY_NOTE));
  const review = decode(raw);
  if ('code' in review) return fail(review);
  const causes = validate(review);
  if (causes.length > 0) return fail(invalid(causes));
  const { allowed, reason } = decide(client, review, rules);
  return {
    code: 201,
    body: {
      kind: KIND,
      apiVersion: API_VERSION,
      metadata: { creationTimestamp: null },
      spec: {
        ...(review.resourceAttributes ? { resourceAttributes: review.resourceAttributes } : {}),
        ...(review.nonResourceAttributes ? { nonResourceAttributes: review.nonResourceAttributes } : {}),
      },
      status: { allowed, reason },
    },
  };
}
