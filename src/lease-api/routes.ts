// Maps an HTTP request (method, path, query) of the fake kube-apiserver to a kube verb and the Lease it targets,
// plus the list/watch selectors it understands.
import type { Verb } from './types.js';

const PREFIX = '/apis/coordination.k8s.io/v1';

export type Route =
  | { kind: 'lease'; verb: Verb; namespace?: string; name?: string }
  | { kind: 'info'; path: string }
  | { kind: 'notFound' }
  | { kind: 'methodNotAllowed' };

const TRUE = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);

export function isTrue(v: string | null): boolean {
  return v !== null && TRUE.has(v);
}

const INFO = new Set(['/version', '/healthz', '/livez', '/readyz', '/apis/coordination.k8s.io/v1']);

/** The body of a discovery or health route. */
export function infoBody(path: string): unknown {
  if (path === '/version') {
    return {
      major: '1',
      minor: '31',
      gitVersion: 'v1.31.0-kvip-fake',
      gitCommit: '0000000000000000000000000000000000000000',
      gitTreeState: 'clean',
      buildDate: '2026-01-01T00:00:00Z',
      goVersion: 'go1.22.0',
      compiler: 'gc',
      platform: 'linux/amd64',
    };
  }
  if (path === '/apis/coordination.k8s.io/v1') {
    return {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: 'coordination.k8s.io/v1',
      resources: [
        {
          name: 'leases',
          singularName: 'lease',
          namespaced: true,
          kind: 'Lease',
          verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
        },
      ],
    };
  }
  return 'ok';
}

/**
 * The namespace and name of a path's segments below its API prefix, `[namespaces/NS/]PLURAL[/NAME]`; null when
 * they are not such a path (another resource, or a name without a namespace).
 */
export function resourcePath(
  segments: string[],
  plural: string,
): { namespace: string | undefined; name: string | undefined } | null {
  let rest = segments;
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3 && rest[1]) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  if (rest[0] !== plural || rest.length > 2) return null;
  const name = rest[1] || undefined;
  if (name !== undefined && namespace === undefined) return null;
  return { namespace, name };
}

export function route(method: string, url: URL): Route {
  const path = url.pathname.replace(/\/+$/, '') || '/';
  if (INFO.has(path)) return method === 'GET' ? { kind: 'info', path } : { kind: 'methodNotAllowed' };
  if (!path.startsWith(PREFIX + '/')) return { kind: 'notFound' };
  let rest = path
    .slice(PREFIX.length + 1)
    .split('/')
    .map(decodeURIComponent);
  let watch = isTrue(url.searchParams.get('watch'));
  if (rest[0] === 'watch') {
    // Deprecated /watch/ prefix form.
    watch = true;
    rest = rest.slice(1);
  }
  const target = resourcePath(rest, 'leases');
  if (!target) return { kind: 'notFound' };
  const { namespace, name } = target;
  if (watch)
    return method === 'GET' ? { kind: 'lease', verb: 'watch', ...target } : { kind: 'methodNotAllowed' };
  const verbs: Record<string, Verb | undefined> = name
    ? { GET: 'get', PUT: 'update', PATCH: 'patch', DELETE: 'delete' }
    : {
        GET: 'list',
        POST: namespace ? 'create' : undefined,
        DELETE: namespace ? 'deletecollection' : undefined,
      };
  const verb = verbs[method];
  return verb ? { kind: 'lease', verb, ...target } : { kind: 'methodNotAllowed' };
}

export interface Selector {
  name?: string;
  namespace?: string;
  labels: { key: string; op: '=' | '!='; value: string }[];
}

/** Parses fieldSelector (metadata.name / metadata.namespace, = or ==) and an equality-only labelSelector. */
export function selector(q: URLSearchParams): Selector | { error: string } {
  const sel: Selector = { labels: [] };
  for (const term of (q.get('fieldSelector') ?? '').split(',').filter(Boolean)) {
    const m = /^([^=!]+)(==|=)(.*)$/.exec(term);
    if (!m || (m[1] !== 'metadata.name' && m[1] !== 'metadata.namespace')) {
      return { error: `field label not supported: ${m ? m[1] : term}` };
    }
    if (m[1] === 'metadata.name') sel.name = m[3]!;
    else sel.namespace = m[3]!;
  }
  for (const term of (q.get('labelSelector') ?? '').split(',').filter(Boolean)) {
    const m = /^([^=!]+)(!=|==|=)(.*)$/.exec(term);
    if (!m) return { error: `unable to parse requirement: ${term} (the fake supports =, == and != only)` };
    sel.labels.push({ key: m[1]!, op: m[2] === '!=' ? '!=' : '=', value: m[3]! });
  }
  return sel;
}

export function labelsMatch(sel: Selector, labels: Record<string, string> | undefined): boolean {
  return sel.labels.every((r) => (r.op === '=' ? labels?.[r.key] === r.value : labels?.[r.key] !== r.value));
}
