// `kvip start` preflight: what cannot fix itself is one line and exit 2; a down API server is not fatal.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeApiServer, type FakeApiServer } from '../../src/lease-api/server.js';
import { runCli } from '../helpers/cli.js';

// An interface that does not exist: these tests run in the host's namespace and must never change it.
const ARGS = [
  'start',
  '--vip',
  '198.51.100.10',
  '--interface',
  'kvnope0',
  '--leaderElection',
  '--nodeName',
  'cp1',
  // The fake listens on a random port of its own, not on this host's 6443.
  '--apiServer',
  'kubeconfig',
];

/** A TCP server listening on 127.0.0.1 (an ephemeral port unless given). */
async function listening(port = 0): Promise<Server> {
  const s = createServer();
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(port, '127.0.0.1', resolve);
  });
  return s;
}

describe('kvip start preflight', () => {
  let server: FakeApiServer;
  let dir: string;
  let kubeconfig: string;
  beforeAll(async () => {
    server = await startFakeApiServer({ tokens: { 'tok-cp1': 'cp1' } });
    dir = mkdtempSync(join(tmpdir(), 'kvip-start-'));
    kubeconfig = join(dir, 'admin.conf');
    writeFileSync(kubeconfig, server.kubeconfig('cp1'));
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(() => {
    server.clearFaults();
    server.denied.length = 0;
  });

  it('an unreadable kubeconfig is exit 2 naming the file', async () => {
    const r = await runCli([...ARGS, '--k8sConfigPath', join(dir, 'nope.conf')]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      `kvip: --k8sConfigPath ${join(dir, 'nope.conf')}: cannot read the kubeconfig (ENOENT)\n`,
    );
  });

  it('RBAC that forbids reading the lease is exit 2 naming verb and resource', async () => {
    server.denied.push({ client: 'cp1', verb: 'get' });
    const r = await runCli([...ARGS, '--k8sConfigPath', kubeconfig]);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(
      /^kvip: RBAC forbids "get" on leases.coordination.k8s.io in namespace kube-system; .*kvip manifest rbac/,
    );
    expect(r.err.trimEnd().split('\n')).toHaveLength(1);
  });

  it('a server certificate the kubeconfig does not trust is exit 2 saying what to check', async () => {
    const tlsServer = await startFakeApiServer({ tls: true, tokens: { 'tok-cp1': 'cp1' } });
    try {
      const untrusted = join(dir, 'untrusted.conf');
      const text = tlsServer
        .kubeconfig('cp1')
        .replace(/(\n\s*)server: /, '$1tls-server-name: not-this.invalid$1server: ');
      writeFileSync(untrusted, text);
      const r = await runCli([...ARGS, '--k8sConfigPath', untrusted]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(
        /^kvip: the API server's certificate cannot be verified \(ERR_TLS_CERT_ALTNAME_INVALID\)/,
      );
      expect(r.err.trimEnd().split('\n')).toHaveLength(1);
    } finally {
      await tlsServer.close();
    }
  });

  it('an API server answering 503 is a warning, not a failure: start goes on to the interface', async () => {
    server.setFault('cp1', { kind: 'status', code: 503 });
    const r = await runCli([...ARGS, '--k8sConfigPath', kubeconfig, '--logLevel', 'warn']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^kvip: interface kvnope0 does not exist/m);
  });

  it('a missing interface is exit 2 after the lease preflight, before anything changes', async () => {
    const r = await runCli([...ARGS, '--k8sConfigPath', kubeconfig]);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/^kvip: interface kvnope0 does not exist/m);
  });

  const startWithMetricsOn = (port: number) =>
    runCli([...ARGS, '--k8sConfigPath', kubeconfig, '--prometheusHTTPServer', `127.0.0.1:${port}`]);

  it('a metrics port already in use is exit 2 naming --prometheusHTTPServer, before anything else', async () => {
    const blocker = await listening();
    const port = (blocker.address() as AddressInfo).port;
    try {
      const before = server.requests.length;
      const r = await startWithMetricsOn(port);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toBe(
        `kvip: --prometheusHTTPServer 127.0.0.1:${port}: port ${port} is already in use on this host (another kvip, or another program); choose another port, or '' to turn the metrics server off\n`,
      );
      // Refused before the lease preflight: the API server was never asked.
      expect(server.requests.length).toBe(before);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });

  it('the metrics server is closed again when the preflight fails', async () => {
    const free = await listening();
    const port = (free.address() as AddressInfo).port;
    await new Promise((r) => free.close(r));
    const r = await startWithMetricsOn(port);
    expect(r.err).toMatch(/^kvip: interface kvnope0 does not exist/m);
    // Closed again: the port is free for the next run.
    const again = await listening(port);
    await new Promise((r) => again.close(r));
  });
});
