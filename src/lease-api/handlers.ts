// The fake kube-apiserver's Lease verbs (get, list, create, update, patch, delete) over the store, with
// kube-apiserver's order of checks and its status codes. Pure request -> {code, body}; no HTTP here.
import { randomBytes } from 'node:crypto';
import { labelsMatch, type Selector } from './routes.js';
import {
  alreadyExists,
  badRequest,
  conflict,
  deleted,
  failure,
  invalid,
  type KubeStatus,
  notFound,
} from './status.js';
import type { LeaseStore } from './store.js';
import { API_VERSION, type Lease, type LeaseInput } from './types.js';
import { decodeLease, validateLease } from './validate.js';

export interface Reply {
  code: number;
  body: unknown;
}

export const fail = (s: KubeStatus): Reply => ({ code: s.code, body: s });

const NAME_CHARS = 'bcdfghjklmnpqrstvwxz2456789';

/** The random suffix of a name made from generateName. */
export function suffix(): string {
  return [...randomBytes(5)].map((b) => NAME_CHARS[b % NAME_CHARS.length]).join('');
}

function rvInvalid(name: string, value: string): Reply {
  return fail(
    invalid(name, [
      {
        reason: 'FieldValueInvalid',
        message:
          value === ''
            ? 'Invalid value: 0x0: must be specified for an update'
            : `Invalid value: ${JSON.stringify(value)}: must be a non-negative integer`,
        field: 'metadata.resourceVersion',
      },
    ]),
  );
}

/** A 400 when the body names another namespace than the URL; else the body's namespace is set from the URL. */
export function namespaceMismatch(metadata: { namespace: string }, ns: string): Reply | null {
  if (metadata.namespace && metadata.namespace !== ns) {
    return fail(
      badRequest('the namespace of the provided object does not match the namespace sent on the request'),
    );
  }
  metadata.namespace = ns;
  return null;
}

export function getLease(store: LeaseStore, ns: string, name: string): Reply {
  const l = store.get(ns, name);
  return l ? { code: 200, body: l } : fail(notFound(name));
}

export function listLeases(store: LeaseStore, ns: string | undefined, sel: Selector): Reply {
  if (sel.namespace !== undefined && ns !== undefined && sel.namespace !== ns) {
    sel = { ...sel, name: '\u0000' }; // contradictory selectors: nothing matches
  }
  const items = store
    .list({ namespace: ns ?? sel.namespace, name: sel.name })
    .filter((l) => labelsMatch(sel, l.metadata.labels))
    // kube omits kind and apiVersion on the items of a typed list.
    .map(({ metadata, spec }) => ({ metadata, spec }));
  return {
    code: 200,
    body: {
      kind: 'LeaseList',
      apiVersion: API_VERSION,
      metadata: { resourceVersion: String(store.resourceVersion) },
      items,
    },
  };
}

export function createLease(store: LeaseStore, ns: string, raw: string): Reply {
  const d = decodeLease(raw);
  if (!d.ok) return fail(d.status);
  const input = d.lease;
  const nsBad = namespaceMismatch(input.metadata, ns);
  if (nsBad) return nsBad;
  if (!input.metadata.name && d.generateName) input.metadata.name = d.generateName + suffix();
  const causes = validateLease(input);
  if (causes.length) return fail(invalid(input.metadata.name, causes));
  if (input.metadata.resourceVersion) {
    // kube's storage layer returns a plain error here, which becomes a 500 with no reason.
    return fail(failure(500, undefined, 'resourceVersion should not be set on objects to be created'));
  }
  if (store.get(ns, input.metadata.name)) return fail(alreadyExists(input.metadata.name));
  delete input.metadata.uid;
  return { code: 201, body: store.create(input) };
}

/** Checks after decoding shared by update and patch: preconditions, resourceVersion, validation. */
function commitUpdate(store: LeaseStore, input: LeaseInput, existing: Lease): Reply {
  const name = existing.metadata.name;
  if (input.metadata.uid && input.metadata.uid !== existing.metadata.uid) {
    return fail(
      conflict(
        name,
        `Precondition failed: UID in precondition: ${input.metadata.uid}, UID in object meta: ${existing.metadata.uid}`,
      ),
    );
  }
  const rv = input.metadata.resourceVersion ?? '';
  if (!/^[0-9]+$/.test(rv) || rv === '0') return rvInvalid(name, rv === '0' ? '' : rv);
  if (rv !== existing.metadata.resourceVersion) return fail(conflict(name));
  const causes = validateLease(input);
  if (causes.length) return fail(invalid(name, causes));
  return { code: 200, body: store.update(input) };
}

export function updateLease(store: LeaseStore, ns: string, name: string, raw: string): Reply {
  const d = decodeLease(raw);
  if (!d.ok) return fail(d.status);
  const input = d.lease;
  const nsBad = namespaceMismatch(input.metadata, ns);
  if (nsBad) return nsBad;
  if (input.metadata.name !== name) {
    return fail(
      badRequest(
        `the name of the object (${input.metadata.name}) does not match the name on the URL (${name})`,
      ),
    );
  }
  const existing = store.get(ns, name);
  if (!existing) return fail(notFound(name));
  return commitUpdate(store, input, existing);
}

/** RFC 7386 JSON merge patch. */
export function merge(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = merge(out[k], v);
  }
  return out;
}

const MERGE_TYPES = new Set(['application/merge-patch+json', 'application/strategic-merge-patch+json']);

/**
 * The body of a merge or strategic-merge patch (identical for the objects the fake serves, which have no lists
 * that merge by key); JSON patch and server-side apply are not implemented (415).
 */
export function decodePatch(
  raw: string,
  type: string,
): { ok: true; patch: unknown } | { ok: false; reply: Reply } {
  if (!MERGE_TYPES.has(type)) {
    return {
      ok: false,
      reply: fail(
        failure(
          415,
          'UnsupportedMediaType',
          `the fake apiserver does not support patch type ${JSON.stringify(type)}; use application/merge-patch+json`,
        ),
      ),
    };
  }
  try {
    return { ok: true, patch: JSON.parse(raw) };
  } catch (e) {
    return { ok: false, reply: fail(badRequest(`error decoding patch: ${(e as Error).message}`)) };
  }
}

/** Merge and strategic-merge patches; unconditional unless the patch carries a resourceVersion. */
export function patchLease(store: LeaseStore, ns: string, name: string, raw: string, type: string): Reply {
  const decoded = decodePatch(raw, type);
  if (!decoded.ok) return decoded.reply;
  const { patch } = decoded;
  const existing = store.get(ns, name);
  if (!existing) return fail(notFound(name));
  const patched = merge(existing, patch) as { metadata?: { resourceVersion?: unknown } };
  const rvGiven =
    typeof patch === 'object' && patch !== null && 'metadata' in patch
      ? (patch as { metadata?: { resourceVersion?: unknown } }).metadata?.resourceVersion
      : undefined;
  if (rvGiven === undefined && patched.metadata)
    patched.metadata.resourceVersion = existing.metadata.resourceVersion;
  const d = decodeLease(JSON.stringify(patched));
  if (!d.ok) return fail(d.status);
  if (d.lease.metadata.name !== name || d.lease.metadata.namespace !== ns) {
    return fail(badRequest('metadata.name and metadata.namespace cannot be changed by a patch'));
  }
  return commitUpdate(store, d.lease, existing);
}

export function deleteLease(store: LeaseStore, ns: string, name: string, raw: string): Reply {
  let opts: { preconditions?: { uid?: string; resourceVersion?: string } } = {};
  if (raw.trim()) {
    try {
      opts = JSON.parse(raw) as typeof opts;
    } catch (e) {
      return fail(badRequest(`couldn't get version/kind; json parse error: ${(e as Error).message}`));
    }
  }
  const existing = store.get(ns, name);
  if (!existing) return fail(notFound(name));
  const pre = opts.preconditions ?? {};
  if (pre.uid && pre.uid !== existing.metadata.uid) {
    return fail(
      conflict(
        name,
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${existing.metadata.uid}`,
      ),
    );
  }
  if (pre.resourceVersion && pre.resourceVersion !== existing.metadata.resourceVersion) {
    return fail(
      conflict(
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${existing.metadata.resourceVersion}`,
      ),
    );
  }
  store.delete(ns, name);
  return { code: 200, body: deleted(name, existing.metadata.uid) };
}
