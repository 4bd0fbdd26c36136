// Decoding (400) and validation (422) of Lease bodies, as kube-apiserver does them: typed JSON decoding with
// unknown fields dropped, MicroTime with exactly 6 fractional digits, and the coordination/v1 validation rules.
import { badRequest, cannotHandle, type KubeStatus, type StatusCause } from './status.js';
import { API_VERSION, type LeaseInput, type LeaseMeta, type LeaseSpec } from './types.js';

export type Decoded =
  { ok: true; lease: LeaseInput; generateName?: string } | { ok: false; status: KubeStatus };

export class DecodeError extends Error {}

const MICRO_LAYOUT = '2006-01-02T15:04:05.000000Z07:00';
const MICRO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{6})(Z|[+-]\d{2}:\d{2})$/;

/** Parses a MicroTime the way Go's time.Parse(RFC3339Micro) does; returns it normalised to UTC (`...Z`). */
export function parseMicroTime(value: string): string | { error: string } {
  const m = MICRO.exec(value);
  if (!m) {
    const frac = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(.*)$/.exec(value);
    const rest = frac ? frac[1]! : value;
    const want = frac ? '.000000' : MICRO_LAYOUT;
    return { error: `parsing time "${value}" as "${MICRO_LAYOUT}": cannot parse "${rest}" as "${want}"` };
  }
  const [, y, mo, d, h, mi, s, us, zone] = m as unknown as string[];
  const ms = Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +s!);
  const check = new Date(ms);
  if (
    check.getUTCMonth() !== +mo! - 1 ||
    check.getUTCDate() !== +d! ||
    check.getUTCHours() !== +h! ||
    check.getUTCMinutes() !== +mi! ||
    check.getUTCSeconds() !== +s!
  ) {
    return { error: `parsing time "${value}": value out of range` };
  }
  let shifted = ms;
  if (zone !== 'Z') {
    const sign = zone!.startsWith('-') ? -1 : 1;
    shifted -= sign * (+zone!.slice(1, 3) * 60 + +zone!.slice(4, 6)) * 60_000;
  }
  return new Date(shifted).toISOString().slice(0, 19) + '.' + us + 'Z';
}

/** kube's MicroTime format for a Date (microseconds are zero: JS has milliseconds). */
export function microTime(d: Date): string {
  return d.toISOString().slice(0, -1) + '000Z';
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v === 'object' ? 'object' : typeof v;
}

export function wrongType(v: unknown, field: string, goType: string): DecodeError {
  return new DecodeError(
    `json: cannot unmarshal ${typeName(v)} into Go struct field ${field} of type ${goType}`,
  );
}

export function str(v: unknown, field: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw wrongType(v, field, 'string');
  return v;
}

export function int32(v: unknown, field: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) {
    throw wrongType(v, field, 'int32');
  }
  return v;
}

export function strMap(v: unknown, field: string): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw wrongType(v, field, 'map[string]string');
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (typeof x !== 'string') throw wrongType(x, field, 'string');
    out[k] = x;
  }
  return out;
}

export function micro(v: unknown, field: string): string | undefined {
  const s = str(v, field);
  if (s === undefined) return undefined;
  const parsed = parseMicroTime(s);
  if (typeof parsed !== 'string') throw new DecodeError(parsed.error);
  return parsed;
}

export function obj(v: unknown, field: string, goType: string): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw wrongType(v, field, goType);
  return v as Record<string, unknown>;
}

/** A JSON body that is an object of `kind` in `apiVersion` (both may be left out), or the 400 kube answers. */
export function parseBody(
  raw: string,
  kind: string,
  apiVersion: string,
): { ok: true; body: Record<string, unknown> } | { ok: false; status: KubeStatus } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (e) {
    return {
      ok: false,
      status: badRequest(`couldn't get version/kind; json parse error: ${(e as Error).message}`),
    };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { ok: false, status: badRequest(`couldn't get version/kind; json parse error: not an object`) };
  }
  const body = parsed as Record<string, unknown>;
  if (body.kind !== undefined && body.kind !== kind) {
    return {
      ok: false,
      status: cannotHandle(`the body's kind is ${JSON.stringify(body.kind)}, not "${kind}"`, kind),
    };
  }
  if (body.apiVersion !== undefined && body.apiVersion !== apiVersion) {
    return {
      ok: false,
      status: badRequest(
        `the API version in the data (${String(body.apiVersion)}) does not match the expected API version (${apiVersion})`,
      ),
    };
  }
  return { ok: true, body };
}

/** The ObjectMeta fields the fake keeps, decoded from `v` (the body's metadata) of an object of `kind`. */
export function decodeMeta(v: unknown, kind: string): { metadata: LeaseMeta; generateName?: string } {
  const m = obj(v, `${kind}.metadata`, 'v1.ObjectMeta');
  const metadata: LeaseMeta = {
    name: str(m.name, 'ObjectMeta.metadata.name') ?? '',
    namespace: str(m.namespace, 'ObjectMeta.metadata.namespace') ?? '',
  };
  const uid = str(m.uid, 'ObjectMeta.metadata.uid');
  const rv = str(m.resourceVersion, 'ObjectMeta.metadata.resourceVersion');
  const labels = strMap(m.labels, 'ObjectMeta.metadata.labels');
  const annotations = strMap(m.annotations, 'ObjectMeta.metadata.annotations');
  const generateName = str(m.generateName, 'ObjectMeta.metadata.generateName');
  if (uid) metadata.uid = uid;
  if (rv) metadata.resourceVersion = rv;
  if (labels) metadata.labels = labels;
  if (annotations) metadata.annotations = annotations;
  return generateName ? { metadata, generateName } : { metadata };
}

/** Decodes a request body into a Lease (400 on malformed JSON, wrong kind or wrongly typed fields). */
export function decodeLease(raw: string): Decoded {
  const parsed = parseBody(raw, 'Lease', API_VERSION);
  if (!parsed.ok) return parsed;
  const { body } = parsed;
  try {
    const { metadata, generateName } = decodeMeta(body.metadata, 'Lease');
    const s = obj(body.spec, 'Lease.spec', 'v1.LeaseSpec');
    const spec: LeaseSpec = {};
    const fields: [keyof LeaseSpec, string | number | undefined][] = [
      ['holderIdentity', str(s.holderIdentity, 'LeaseSpec.spec.holderIdentity')],
      ['leaseDurationSeconds', int32(s.leaseDurationSeconds, 'LeaseSpec.spec.leaseDurationSeconds')],
      ['acquireTime', micro(s.acquireTime, 'LeaseSpec.spec.acquireTime')],
      ['renewTime', micro(s.renewTime, 'LeaseSpec.spec.renewTime')],
      ['leaseTransitions', int32(s.leaseTransitions, 'LeaseSpec.spec.leaseTransitions')],
      // strategy and preferredHolder are decoded, then dropped as kube does with the
      // CoordinatedLeaderElection feature gate off (its default).
      ['strategy', str(s.strategy, 'LeaseSpec.spec.strategy')],
      ['preferredHolder', str(s.preferredHolder, 'LeaseSpec.spec.preferredHolder')],
    ];
    for (const [k, v] of fields) {
      if (v !== undefined && k !== 'strategy' && k !== 'preferredHolder')
        (spec as Record<string, unknown>)[k] = v;
    }
    const lease: LeaseInput = { kind: 'Lease', apiVersion: API_VERSION, metadata, spec };
    return generateName ? { ok: true, lease, generateName } : { ok: true, lease };
  } catch (e) {
    if (e instanceof DecodeError) return { ok: false, status: cannotHandle(e.message) };
    throw e;
  }
}

export const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export const DNS1123_DETAIL =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

export function cause(field: string, value: string, detail: string): StatusCause {
  return { reason: 'FieldValueInvalid', message: `Invalid value: ${value}: ${detail}`, field };
}

/** kube's Lease validation (ValidateObjectMeta name rule + ValidateLeaseSpec); [] when valid. */
export function validateLease(lease: LeaseInput): StatusCause[] {
  const causes: StatusCause[] = [];
  const name = lease.metadata.name;
  if (!name) {
    causes.push({
      reason: 'FieldValueRequired',
      message: 'Required value: name or generateName is required',
      field: 'metadata.name',
    });
  } else if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    causes.push(cause('metadata.name', JSON.stringify(name), DNS1123_DETAIL));
  }
  const spec = lease.spec ?? {};
  if (spec.leaseDurationSeconds !== undefined && spec.leaseDurationSeconds <= 0) {
    causes.push(
      cause('spec.leaseDurationSeconds', String(spec.leaseDurationSeconds), 'must be greater than 0'),
    );
  }
  if (spec.leaseTransitions !== undefined && spec.leaseTransitions < 0) {
    causes.push(
      cause('spec.leaseTransitions', String(spec.leaseTransitions), 'must be greater than or equal to 0'),
    );
  }
  return causes;
}
