// Shared setup of the MetalClient tests: a fresh scripted server and client per test, both closed after it
// whatever the outcome, plus the checks for rejections and for the token's absence.
import { inspect } from 'node:util';
import { loadConfig, type Config } from '../../src/config/index.js';
import { MetalApiError, MetalClient, type MetalClientOptions } from '../../src/packet/index.js';
import { fakeHttp, type FakeHttp, type Handler, type Seen } from './fake-http.js';

/** Sent as the token; it must never show up in an error or a log line. */
export const TOKEN = 'sentinel-TOKEN-7f3a9c1e';

export interface ClientHarness {
  /** Starts a server answering with `handler` and a client on it (tiny backoff unless overridden). */
  setup(handler: Handler, opts?: Partial<MetalClientOptions>): Promise<MetalClient>;
  /** The requests the current server got. */
  seen(): Seen[];
  serverUrl(): string;
  /** Closes `c` after the test too. */
  track(c: MetalClient): MetalClient;
}

/** Registers the afterEach that closes what the test opened; call at the top of a test file. */
export function useClient(): ClientHarness {
  let server: FakeHttp | undefined;
  const clients: MetalClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await server?.close();
    server = undefined;
  });
  const track = (c: MetalClient) => (clients.push(c), c);
  return {
    track,
    async setup(handler, opts = {}) {
      server = await fakeHttp(handler);
      const base = { baseUrl: `${server.url}/metal/v1`, token: TOKEN, minDelayMs: 1, maxDelayMs: 20 };
      return track(new MetalClient({ ...base, ...opts }));
    },
    seen: () => server!.seen,
    serverUrl: () => server!.url,
  };
}

/** The rejection of `p`, failing the test if it resolves. */
export async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

export async function apiError(p: Promise<unknown>): Promise<MetalApiError> {
  const err = await rejection(p);
  expect(err).toBeInstanceOf(MetalApiError);
  return err as MetalApiError;
}

/** Every way an error could end up in a log: inspected deeply, serialized, its stack, its message. */
export function expectNoToken(err: unknown): void {
  expect(inspect(err, { depth: 20, showHidden: true })).not.toContain(TOKEN);
  expect(JSON.stringify(err)).not.toContain(TOKEN);
  expect(String((err as Error).stack)).not.toContain(TOKEN);
  expect(String((err as Error).message)).not.toContain(TOKEN);
}

/** A start-up Config from option values as flags (`--<key>`); an empty string leaves that option out. */
export function startConfig(values: Record<string, string | boolean>): Config {
  const flags = Object.fromEntries(
    Object.entries(values)
      .filter(([, v]) => v !== '')
      .map(([k, v]) => [k, { value: v, name: `--${k}` }]),
  );
  return loadConfig({ flags, env: {} }, 'start');
}

/** Packet mode's start-up Config against a Metal fake: VIP 203.0.113.100 in project vipTest. */
export function packetStartConfig(
  fake: { apiUrl: string; metadataUrl: string },
  token: string,
  over: Record<string, string> = {},
): Config {
  return startConfig({
    packet: true,
    vip: '203.0.113.100',
    packetProject: 'vipTest',
    packetKey: token,
    packetAPIURL: fake.apiUrl,
    packetMetadataURL: fake.metadataUrl,
    ...over,
  });
}
