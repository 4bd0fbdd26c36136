// The health probes against real servers: the Lease API fake over TLS (the kubeconfig's CA and token, the
// certificate verified as "kubernetes" on 127.0.0.1), a plain HTTP server and a TCP listener. Every server is
// closed in afterEach.
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { parseKubeConfig } from '../../src/election/kubeconfig.js';
import {
  apiServerProbe,
  healthProbeFor,
  localReadyzProbe,
  plainHttpProbe,
  tcpProbe,
  type HealthProbe,
} from '../../src/health/index.js';
import { startFakeApiServer, type FakeApiServer } from '../../src/lease-api/server.js';

const TOKEN = 'sentinel-health-token-5b1e';
let api: FakeApiServer;
const probes: HealthProbe[] = [];
const servers: { close(cb: () => void): void }[] = [];

beforeAll(async () => {
  api = await startFakeApiServer({ tls: true, sans: [], tokens: { [TOKEN]: 'cp1' } });
});
afterAll(() => api.close());
afterEach(async () => {
  api.clearFaults();
  for (const p of probes.splice(0)) p.close();
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
});

const port = () => Number(new URL(api.url).port);
const keep = <T extends HealthProbe>(p: T): T => (probes.push(p), p);
const within = (ms: number) => AbortSignal.timeout(ms);
async function reason(p: Promise<void>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('the check passed');
}

describe('the local readyz probe', () => {
  it('passes when the API server answers /readyz 200 over TLS verified as "kubernetes"', async () => {
    const probe = keep(localReadyzProbe(parseKubeConfig(api.kubeconfig('cp1')), port()));
    expect(probe.description).toBe(
      `https://127.0.0.1:${port()}/readyz (this node's API server, verified as "kubernetes")`,
    );
    await probe.check(within(5000));
    const seen = api.requests.filter((r) => r.path === '/readyz');
    expect(seen.at(-1)).toMatchObject({ client: 'cp1', status: 200 });
  });

  it('fails with the status, and without the token, when the API server answers 500', async () => {
    const probe = keep(localReadyzProbe(parseKubeConfig(api.kubeconfig('cp1')), port()));
    api.setFault('cp1', { kind: 'status', code: 500 });
    const why = await reason(probe.check(within(5000)));
    expect(why).toMatch(/^HTTP 500: /);
    expect(why).not.toContain(TOKEN);
  });

  it('fails at its deadline when the API server hangs, naming the deadline', async () => {
    const probe = keep(localReadyzProbe(parseKubeConfig(api.kubeconfig('cp1')), port()));
    api.setFault('cp1', { kind: 'hang' });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('no answer within 200 ms')), 200);
    expect(await reason(probe.check(controller.signal))).toBe('no answer within 200 ms');
  });

  it('fails when the certificate is not one the kubeconfig trusts', async () => {
    const other = await startFakeApiServer({ tls: true, sans: [], tokens: { [TOKEN]: 'cp1' } });
    try {
      // The other fake's CA, this fake's address.
      const probe = keep(localReadyzProbe(parseKubeConfig(other.kubeconfig('cp1')), port()));
      expect(await reason(probe.check(within(5000)))).toMatch(/certificate|self.signed|CERT/i);
    } finally {
      await other.close();
    }
  });

  it('an https URL uses the same credentials, verified as the URL host', async () => {
    const probe = keep(apiServerProbe(parseKubeConfig(api.kubeconfig('cp1')), new URL(`${api.url}/livez`)));
    await probe.check(within(5000));
    expect(api.requests.filter((r) => r.path === '/livez').at(-1)).toMatchObject({
      client: 'cp1',
      status: 200,
    });
  });
});

describe('plain probes', () => {
  it('http: 200 passes, anything else fails with its status', async () => {
    let status = 200;
    const server: Server = createServer((_req, res) => {
      res.statusCode = status;
      res.end('x');
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/healthz`);
    const probe = keep(plainHttpProbe(url));
    await probe.check(within(5000));
    status = 503;
    expect(await reason(probe.check(within(5000)))).toBe('HTTP 503');
  });

  it('tcp: a listener passes; a closed port fails with ECONNREFUSED', async () => {
    const server = createTcpServer((s) => s.destroy());
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const open = (server.address() as AddressInfo).port;
    await keep(tcpProbe('127.0.0.1', open)).check(within(5000));
    await new Promise<void>((r) => server.close(() => r()));
    servers.pop();
    expect(await reason(keep(tcpProbe('127.0.0.1', open)).check(within(5000)))).toMatch(/^ECONNREFUSED/);
  });

  it('healthProbeFor picks the probe --healthCheck names', () => {
    const conn = parseKubeConfig(api.kubeconfig('cp1'));
    expect(healthProbeFor('off', conn, 6443)).toBeUndefined();
    expect(keep(healthProbeFor('local', conn, 6443)!).description).toMatch(
      /^https:\/\/127\.0\.0\.1:6443\/readyz /,
    );
    expect(keep(healthProbeFor('tcp://[2001:db8::1]:6443', conn, 6443)!).description).toBe(
      'tcp://[2001:db8::1]:6443',
    );
    expect(keep(healthProbeFor('http://198.51.100.1:8080/ok', conn, 6443)!).description).toBe(
      'http://198.51.100.1:8080/ok',
    );
    expect(() => healthProbeFor('local', undefined, 6443)).toThrow(/needs a kubeconfig/);
  });
});
