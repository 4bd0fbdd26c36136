// Raw HTTP helpers for the fake Metal API tests (metal*.test.ts): one request per connection, so a reset or a
// hang affects only its own request, and an optional local address for the metadata service's source matching.
import { request } from 'node:http';
import type { MetalFake } from './metal/server.js';

export const TOKEN = 'metal-test-token';

export interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

export interface CallOpts {
  /** X-Auth-Token; default TOKEN, null: none. */
  token?: string | null;
  localAddress?: string;
  /** A socket path instead of host:port (the standalone fake's control socket). */
  socketPath?: string;
}

export function http(url: string, method: string, body?: unknown, opts: CallOpts = {}): Promise<Res> {
  const u = new URL(url);
  const text = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string> = { Accept: 'application/json' };
  const token = opts.token === undefined ? TOKEN : opts.token;
  if (token !== null) headers['X-Auth-Token'] = token;
  if (text !== undefined) headers['Content-Type'] = 'application/json';
  return new Promise((resolve, reject) => {
    const req = request(
      {
        ...(opts.socketPath ? { socketPath: opts.socketPath } : { host: u.hostname, port: u.port }),
        path: u.pathname + u.search,
        method,
        headers,
        agent: false,
        ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const t = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = t ? JSON.parse(t) : undefined;
          } catch {
            parsed = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: t, body: parsed });
        });
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

/** A request to the fake's API; `path` is relative to /metal/v1. */
export function api(
  fake: MetalFake,
  method: string,
  path: string,
  body?: unknown,
  opts?: CallOpts,
): Promise<Res> {
  return http(fake.apiUrl + path, method, body, opts);
}

/** One project "kvip" in metro da with three control-plane devices and one EIP /32. */
export function seed(fake: MetalFake): {
  projectId: string;
  devices: Array<{ id: string; hostname: string }>;
  eip: string;
  eipReservationId: string;
} {
  const p = fake.addProject({ name: 'kvip' });
  const devices = [1, 2, 3].map((i) =>
    fake.addDevice(p.id, {
      hostname: `cp-${i}`,
      metro: 'da',
      privateIpv4: `10.70.0.${2 * i + 1}`,
      publicIpv4: `147.28.0.${2 * i + 1}`,
    }),
  );
  const r = fake.addReservation(p.id, { address: '147.28.100.7', cidr: 32, metro: 'da' });
  return { projectId: p.id, devices, eip: '147.28.100.7', eipReservationId: r.id };
}
