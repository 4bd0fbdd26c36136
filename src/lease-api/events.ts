// core/v1 Events in the fake kube-apiserver: create, get, list (field and label selectors) and patch under
// /api/v1, with kube-apiserver's order of checks and its status codes. What kvip's EventRecorder posts, and
// what a test reads back. Pure request -> {code, body}; server.ts does auth, RBAC and faults for them as for
// Leases. Not served: update (PUT), delete and watch of Events (405), namespaces (every one exists).
// Events count their own resourceVersion (kube-apiserver shares one across all objects; nothing kvip does
// compares the two).
import { randomUUID } from 'node:crypto';
import { decodePatch, fail, merge, namespaceMismatch, type Reply, suffix } from './handlers.js';
import { labelsMatch, resourcePath, selector } from './routes.js';
import {
  alreadyExists,
  badRequest,
  conflict,
  failure,
  invalid,
  methodNotAllowed,
  notFound,
  type Resource,
  tooLarge,
  unsupportedMediaType,
} from './status.js';
import type { Verb } from './types.js';
import { type CoreEvent, decodeEvent, validateEvent, validateEventName } from './event-decode.js';

export type { CoreEvent, ObjectReference } from './event-decode.js';

export const EVENTS: Resource = { plural: 'events', kind: 'Event', group: '' };

const CORE = '/api/v1';

export interface EventRoute {
  kind: 'events';
  verb: Verb;
  namespace?: string;
  name?: string;
}

/**
 * The Events route of a request, or null when the path is not under /api/v1 (a Lease route, or nothing).
 * Under /api/v1 anything but events is 404, like a resource kube-apiserver does not have.
 */
export function eventRoute(
  method: string,
  url: URL,
): EventRoute | { kind: 'notFound' } | { kind: 'methodNotAllowed' } | null {
  const path = url.pathname.replace(/\/+$/, '');
  if (path !== CORE && !path.startsWith(CORE + '/')) return null;
  const target = resourcePath(
    path
      .slice(CORE.length + 1)
      .split('/')
      .map(decodeURIComponent),
    'events',
  );
  if (!target) return { kind: 'notFound' };
  const { namespace, name } = target;
  const watch = url.searchParams.get('watch');
  if (watch && watch !== 'false' && watch !== '0') return { kind: 'methodNotAllowed' };
  const verbs: Record<string, Verb | undefined> = name
    ? { GET: 'get', PATCH: 'patch' }
    : { GET: 'list', POST: namespace ? 'create' : undefined };
  const verb = verbs[method];
  return verb ? { kind: 'events', verb, namespace, name } : { kind: 'methodNotAllowed' };
}

const key = (ns: string, name: string): string => `${ns}/${name}`;

export class EventStore {
  private rv = 0;
  private readonly events = new Map<string, CoreEvent>();

  get resourceVersion(): number {
    return this.rv;
  }

  get(ns: string, name: string): CoreEvent | undefined {
    const e = this.events.get(key(ns, name));
    return e && structuredClone(e);
  }

  /** In key order (namespace/name), as kube lists. */
  list(ns?: string): CoreEvent[] {
    return [...this.events.entries()]
      .filter(([, e]) => ns === undefined || e.metadata.namespace === ns)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([, e]) => structuredClone(e));
  }

  /** Stores a new Event (the caller checked it does not exist): uid, creationTimestamp, resourceVersion. */
  create(e: CoreEvent): CoreEvent {
    const { metadata } = e;
    e.metadata = {
      name: metadata.name,
      namespace: metadata.namespace,
      uid: randomUUID(),
      resourceVersion: '',
      creationTimestamp: new Date().toISOString().slice(0, 19) + 'Z',
      ...(metadata.labels ? { labels: metadata.labels } : {}),
      ...(metadata.annotations ? { annotations: metadata.annotations } : {}),
    };
    return this.commit(e);
  }

  /** Replaces an existing Event, keeping its uid and creationTimestamp. */
  update(e: CoreEvent, old: CoreEvent): CoreEvent {
    e.metadata = {
      ...e.metadata,
      uid: old.metadata.uid,
      creationTimestamp: old.metadata.creationTimestamp,
    };
    return this.commit(e);
  }

  private commit(e: CoreEvent): CoreEvent {
    this.rv += 1;
    e.metadata.resourceVersion = String(this.rv);
    this.events.set(key(e.metadata.namespace, e.metadata.name), structuredClone(e));
    return e;
  }
}

/** Fields kube lets a fieldSelector on Events name (EventToSelectableFields). */
const FIELDS: Record<string, (e: CoreEvent) => string> = {
  'metadata.name': (e) => e.metadata.name,
  'metadata.namespace': (e) => e.metadata.namespace,
  'involvedObject.kind': (e) => e.involvedObject.kind ?? '',
  'involvedObject.namespace': (e) => e.involvedObject.namespace ?? '',
  'involvedObject.name': (e) => e.involvedObject.name ?? '',
  'involvedObject.uid': (e) => e.involvedObject.uid ?? '',
  'involvedObject.apiVersion': (e) => e.involvedObject.apiVersion ?? '',
  'involvedObject.resourceVersion': (e) => e.involvedObject.resourceVersion ?? '',
  'involvedObject.fieldPath': (e) => e.involvedObject.fieldPath ?? '',
  reason: (e) => e.reason ?? '',
  reportingComponent: (e) => e.reportingComponent,
  source: (e) => e.source.component ?? '',
  type: (e) => e.type ?? '',
};

type FieldTerm = { get: (e: CoreEvent) => string; equal: boolean; value: string };

function fieldTerms(q: string): FieldTerm[] | { error: string } {
  const terms: FieldTerm[] = [];
  for (const term of q.split(',').filter(Boolean)) {
    const m = /^([^=!]+)(!=|==|=)(.*)$/.exec(term);
    const get = m ? FIELDS[m[1]!] : undefined;
    if (!m || !get) return { error: `field label not supported: ${m ? m[1] : term}` };
    terms.push({ get, equal: m[2] !== '!=', value: m[3]! });
  }
  return terms;
}

export function listEvents(store: EventStore, ns: string | undefined, q: URLSearchParams): Reply {
  const terms = fieldTerms(q.get('fieldSelector') ?? '');
  if ('error' in terms) return fail(badRequest(terms.error));
  const labels = selector(new URLSearchParams({ labelSelector: q.get('labelSelector') ?? '' }));
  if ('error' in labels) return fail(badRequest(labels.error));
  const items = store
    .list(ns)
    .filter((e) => terms.every((t) => (t.get(e) === t.value) === t.equal))
    .filter((e) => labelsMatch(labels, e.metadata.labels))
    // kube omits kind and apiVersion on the items of a typed list.
    .map(({ kind: _k, apiVersion: _a, ...rest }) => rest);
  return {
    code: 200,
    body: {
      kind: 'EventList',
      apiVersion: 'v1',
      metadata: { resourceVersion: String(store.resourceVersion) },
      items,
    },
  };
}

export function createEvent(store: EventStore, ns: string, raw: string): Reply {
  const d = decodeEvent(raw);
  if (!d.ok) return fail(d.status);
  const { event } = d;
  const nsBad = namespaceMismatch(event.metadata, ns);
  if (nsBad) return nsBad;
  if (!event.metadata.name && d.generateName) event.metadata.name = d.generateName + suffix();
  const name = event.metadata.name;
  // kube runs the Event's own rules first, then the common name rule, each a 422 of its own.
  for (const causes of [validateEvent(event), validateEventName(name)])
    if (causes.length) return fail(invalid(name, causes, EVENTS));
  if (event.metadata.resourceVersion)
    return fail(failure(500, undefined, 'resourceVersion should not be set on objects to be created'));
  if (store.get(ns, name)) return fail(alreadyExists(name, EVENTS));
  return { code: 201, body: store.create(event) };
}

export function getEvent(store: EventStore, ns: string, name: string): Reply {
  const e = store.get(ns, name);
  return e ? { code: 200, body: e } : fail(notFound(name, EVENTS));
}

/** Merge patch of an Event: how client-go's recorder counts a repeat (count, lastTimestamp). */
export function patchEvent(store: EventStore, ns: string, name: string, raw: string, type: string): Reply {
  const decoded = decodePatch(raw, type);
  if (!decoded.ok) return decoded.reply;
  const existing = store.get(ns, name);
  if (!existing) return fail(notFound(name, EVENTS));
  const patch = decoded.patch as { metadata?: { resourceVersion?: unknown } } | null;
  const rv = typeof patch === 'object' && patch !== null ? patch.metadata?.resourceVersion : undefined;
  if (rv !== undefined && rv !== existing.metadata.resourceVersion)
    return fail(conflict(name, undefined, EVENTS));
  const patched = merge(existing, patch) as { metadata?: { resourceVersion?: unknown } };
  if (patched.metadata) delete patched.metadata.resourceVersion;
  const d = decodeEvent(JSON.stringify(patched));
  if (!d.ok) return fail(d.status);
  if (d.event.metadata.name !== name || d.event.metadata.namespace !== ns)
    return fail(badRequest('metadata.name and metadata.namespace cannot be changed by a patch'));
  const causes = validateEvent(d.event);
  if (causes.length) return fail(invalid(name, causes, EVENTS));
  return { code: 200, body: store.update(d.event, existing) };
}

/** One Events request, after auth and RBAC: its reply. */
export async function serveEvent(
  store: EventStore,
  r: EventRoute,
  query: URLSearchParams,
  contentType: string,
  body: Promise<string | null>,
): Promise<Reply> {
  const { verb, namespace: ns, name } = r;
  if (verb === 'list') return listEvents(store, ns, query);
  if (verb === 'get') return getEvent(store, ns!, name!);
  if (verb === 'create' && contentType !== 'application/json') return fail(unsupportedMediaType());
  const raw = await body;
  if (raw === null) return fail(tooLarge());
  if (verb === 'create') return createEvent(store, ns!, raw);
  if (verb === 'patch') return patchEvent(store, ns!, name!, raw, contentType);
  return fail(methodNotAllowed());
}
