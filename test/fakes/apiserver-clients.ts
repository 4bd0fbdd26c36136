// How the fake kube-apiserver's own tests talk to it: Node's fetch for one request, a raw node:http watch (so
// resets show as errors) and @kubernetes/client-node 1.4, the client kvip's adapter is compared with.
import { ApiException, CoordinationV1Api, KubeConfig } from '@kubernetes/client-node';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { createInterface } from 'node:readline';
import type { FakeApiServer, WatchEvent } from '../../src/lease-api/server.js';

export const NS = 'kube-system';
export const LEASES = `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases`;
export const TOKENS = { 'token-a': 'a', 'token-b': 'b' };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export interface Reply {
  status: number;
  body: Json;
  headers: Headers;
}

/** One request with Node's fetch as `client` (null: no Authorization header). */
export async function call(
  fake: FakeApiServer,
  client: string | null,
  method: string,
  path: string,
  body?: unknown,
  signal?: AbortSignal,
): Promise<Reply> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const token = client === null ? undefined : (fake.tokenFor(client) ?? client);
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(fake.url + path, {
    method,
    headers,
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    ...(signal ? { signal } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

export function lease(name: string, spec: Record<string, unknown> = {}, meta: Record<string, unknown> = {}) {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace: NS, ...meta },
    spec: {
      holderIdentity: 'a',
      leaseDurationSeconds: 15,
      renewTime: '2026-11-25T10:00:00.123456Z',
      ...spec,
    },
  };
}

export interface RawWatch {
  res: IncomingMessage;
  events: WatchEvent[];
  /** 'end' for a clean end of stream, else the error code. */
  ended: Promise<string>;
  done: () => boolean;
  close: () => void;
}

/** A watch over node:http (so resets show as errors); resolves once the response headers are in. */
export function rawWatch(
  fake: FakeApiServer,
  client: string,
  query: string,
  path = LEASES,
): Promise<RawWatch> {
  return new Promise((resolve, reject) => {
    const req = httpGet(
      `${fake.url}${path}?${query}`,
      { headers: { Authorization: `Bearer ${fake.tokenFor(client)}` } },
      (res) => {
        const events: WatchEvent[] = [];
        let finished = false;
        const ended = new Promise<string>((done) => {
          const finish = (how: string) => {
            finished = true;
            done(how);
          };
          res.on('error', (e: NodeJS.ErrnoException) => finish(e.code ?? e.message));
          req.on('error', (e: NodeJS.ErrnoException) => finish(e.code ?? e.message));
          res.on('end', () => finish('end'));
          res.on('close', () => finish(res.complete ? 'end' : 'aborted'));
        });
        createInterface({ input: res })
          .on('line', (l) => events.push(JSON.parse(l) as WatchEvent))
          .on('error', () => undefined); // reported through `ended`
        resolve({ res, events, ended, done: () => finished, close: () => req.destroy() });
      },
    );
    req.on('error', reject);
  });
}

export function apiFor(fake: FakeApiServer, client: string): { kc: KubeConfig; api: CoordinationV1Api } {
  const kc = new KubeConfig();
  kc.loadFromString(fake.kubeconfig(client));
  return { kc, api: kc.makeApiClient(CoordinationV1Api) };
}

export async function apiError(p: Promise<unknown>): Promise<{ code: number; body: Json }> {
  try {
    await p;
  } catch (e) {
    if (!(e instanceof ApiException)) throw e;
    const err = e as ApiException<string>;
    expect(typeof err.body).toBe('string');
    return { code: err.code, body: JSON.parse(err.body) };
  }
  throw new Error('expected an ApiException');
}
