// `kvip status` through the CLI against the Lease API fake: who leads, since when, the last renewal, whether the
// Lease is valid, expired or released, as a table or one JSON object; and one line with its exit code when the
// Lease cannot be read.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { microTime, startFakeApiServer, type FakeApiServer } from '../../src/lease-api/server.js';
import { runCli } from '../helpers/cli.js';

const NS = 'kube-system';
const LEASE = 'plndr-cp-lock';

function putLease(
  server: FakeApiServer,
  spec: { holder: string; acquiredAgoS: number; renewedAgoS: number; duration: number; transitions: number },
  where = { namespace: NS, name: LEASE },
): void {
  const now = Date.now();
  server.putLease({
    metadata: where,
    spec: {
      holderIdentity: spec.holder,
      leaseDurationSeconds: spec.duration,
      acquireTime: microTime(new Date(now - spec.acquiredAgoS * 1000)),
      renewTime: microTime(new Date(now - spec.renewedAgoS * 1000)),
      leaseTransitions: spec.transitions,
    },
  });
}

/** The table's rows as key -> value. */
function rows(out: string): Record<string, string> {
  return Object.fromEntries(
    out
      .trimEnd()
      .split('\n')
      .map((line) => {
        const m = /^(\S+(?: \S+)?)\s{2,}(.*)$/.exec(line);
        if (!m) throw new Error(`not a table row: ${line}`);
        return [m[1], m[2]];
      }),
  ) as Record<string, string>;
}

describe('kvip status', () => {
  let server: FakeApiServer;
  let dir: string;
  let kubeconfig: string;
  let args: string[];
  beforeAll(async () => {
    server = await startFakeApiServer({ tokens: { 'tok-admin': 'admin' } });
    dir = mkdtempSync(join(tmpdir(), 'kvip-status-'));
    kubeconfig = join(dir, 'admin.conf');
    writeFileSync(kubeconfig, server.kubeconfig('admin'));
    // The fake listens on a port of its own: dial the server the kubeconfig names.
    args = ['status', '--k8sConfigPath', kubeconfig, '--apiServer', 'kubeconfig'];
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(() => {
    server.deleteLease(NS, LEASE);
    server.denied.length = 0;
  });

  it('prints the leader, when it acquired and last renewed, the duration and transitions, and that it is valid', async () => {
    putLease(server, { holder: 'cp2', acquiredAgoS: 303, renewedAgoS: 1, duration: 5, transitions: 3 });
    const r = await runCli(args);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const t = rows(r.out);
    const lease = server.getLease(NS, LEASE)!;
    expect(t).toEqual({
      lease: `${NS}/${LEASE}`,
      'read from': `${server.url} (the server the kubeconfig names)`,
      leader: 'cp2',
      state: expect.stringMatching(/^valid, expires in [34]\.\d s unless renewed$/) as string,
      acquired: expect.stringMatching(/^\S+ \(5m [34]s ago\)$/) as string,
      renewed: expect.stringMatching(/^\S+ \([12]\.\d s ago\)$/) as string,
      'lease duration': '5 s',
      transitions: '3',
    });
    // The stamps are the Lease's own (millisecond precision of its MicroTime).
    expect(new Date(t.acquired!.split(' ')[0]!).getTime()).toBe(new Date(lease.spec.acquireTime!).getTime());
    expect(new Date(t.renewed!.split(' ')[0]!).getTime()).toBe(new Date(lease.spec.renewTime!).getTime());
  });

  it('-o json and --output json print one JSON object with the same facts', async () => {
    putLease(server, { holder: 'cp1', acquiredAgoS: 60, renewedAgoS: 2, duration: 15, transitions: 7 });
    const lease = server.getLease(NS, LEASE)!;
    for (const flag of ['-o', '--output']) {
      const r = await runCli([...args, flag, 'json']);
      expect(r.code).toBe(0);
      expect(r.out.trimEnd().split('\n')).toHaveLength(1);
      const s = JSON.parse(r.out) as Record<string, unknown>;
      expect(s).toEqual({
        namespace: NS,
        name: LEASE,
        apiServer: `${server.url} (the server the kubeconfig names)`,
        holder: 'cp1',
        state: 'valid',
        acquireTime: new Date(lease.spec.acquireTime!).toISOString(),
        renewTime: new Date(lease.spec.renewTime!).toISOString(),
        renewedSecondsAgo: expect.any(Number) as number,
        leaseDurationSeconds: 15,
        expiresInSeconds: expect.any(Number) as number,
        leaseTransitions: 7,
      });
      expect(s.renewedSecondsAgo).toBeGreaterThanOrEqual(2);
      expect(s.renewedSecondsAgo).toBeLessThan(10);
      expect((s.expiresInSeconds as number) + (s.renewedSecondsAgo as number)).toBeCloseTo(15, 0);
    }
  });

  it('a holder that stopped renewing: expired, with how long ago', async () => {
    putLease(server, { holder: 'cp3', acquiredAgoS: 600, renewedAgoS: 65, duration: 5, transitions: 1 });
    const r = await runCli(args);
    expect(r.code).toBe(0);
    expect(rows(r.out).leader).toBe('cp3');
    expect(rows(r.out).state).toMatch(/^expired 1m 0s ago \(not renewed in time\)$/);
    const json = JSON.parse((await runCli([...args, '-o', 'json'])).out) as { state: string; holder: string };
    expect(json).toMatchObject({ state: 'expired', holder: 'cp3' });
  });

  it('a released lease (kvip stopped gracefully): no leader', async () => {
    putLease(server, { holder: '', acquiredAgoS: 30, renewedAgoS: 1, duration: 1, transitions: 4 });
    const r = await runCli(args);
    expect(r.code).toBe(0);
    expect(rows(r.out)).toMatchObject({ leader: '(none)', state: expect.stringMatching(/^released/) });
    const json = JSON.parse((await runCli([...args, '-o', 'json'])).out) as Record<string, unknown>;
    expect(json).toMatchObject({ state: 'released', holder: null, expiresInSeconds: null });
  });

  it('reads the Lease named by the same flags and env as start', async () => {
    putLease(
      server,
      { holder: 'cp9', acquiredAgoS: 10, renewedAgoS: 1, duration: 5, transitions: 0 },
      { namespace: 'kvip', name: 'my-lock' },
    );
    try {
      const byFlags = await runCli([...args, '--namespace', 'kvip', '--leaseName', 'my-lock']);
      expect(rows(byFlags.out)).toMatchObject({ lease: 'kvip/my-lock', leader: 'cp9' });
      const byEnv = await runCli(['status', '--apiServer', 'kubeconfig', '-o', 'json'], {
        cp_namespace: 'kvip',
        vip_leasename: 'my-lock',
        k8s_config_file: kubeconfig,
      });
      expect(JSON.parse(byEnv.out)).toMatchObject({ namespace: 'kvip', name: 'my-lock', holder: 'cp9' });
    } finally {
      server.deleteLease('kvip', 'my-lock');
    }
  });

  it("by default dials this node's own API server, verified as kubernetes, like start", async () => {
    const tls = await startFakeApiServer({ tls: true, sans: [], tokens: { 'tok-admin': 'admin' } });
    try {
      const conf = join(dir, 'tls.conf');
      // The kubeconfig names an address nobody answers on (the VIP, before anyone holds it).
      writeFileSync(conf, tls.kubeconfig('admin').replace(tls.url, 'https://198.51.100.10:6443'));
      putLease(tls, { holder: 'cp1', acquiredAgoS: 10, renewedAgoS: 1, duration: 5, transitions: 0 });
      const port = new URL(tls.url).port;
      const r = await runCli(['status', '--k8sConfigPath', conf, '--port', port]);
      expect(r.err).toBe('');
      expect(rows(r.out)).toMatchObject({
        leader: 'cp1',
        'read from': `https://127.0.0.1:${port} (this node's own API server, verified as "kubernetes"; the kubeconfig names https://198.51.100.10:6443)`,
      });
    } finally {
      await tls.close();
    }
  });

  it('no such lease: one line, exit 4, nothing on stdout', async () => {
    const r = await runCli(args);
    expect(r.code).toBe(4);
    expect(r.out).toBe('');
    expect(r.err).toBe(
      `kvip: no lease ${NS}/${LEASE} at ${server.url}: no kvip has led with this --namespace and --leaseName yet\n`,
    );
  });

  it('RBAC refusing get: one line naming verb and resource, exit 2', async () => {
    putLease(server, { holder: 'cp1', acquiredAgoS: 10, renewedAgoS: 1, duration: 5, transitions: 0 });
    server.denied.push({ client: 'admin', verb: 'get' });
    const r = await runCli(args);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(
      /^kvip: RBAC forbids "get" on leases.coordination.k8s.io in namespace kube-system; /,
    );
    expect(r.err.trimEnd().split('\n')).toHaveLength(1);
  });

  it('an API server that is not there: one line naming where it dialled, exit 1', async () => {
    const gone = await startFakeApiServer({ tokens: { 'tok-admin': 'admin' } });
    const conf = join(dir, 'gone.conf');
    writeFileSync(conf, gone.kubeconfig('admin'));
    await gone.close();
    const r = await runCli(['status', '--k8sConfigPath', conf, '--apiServer', 'kubeconfig']);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toMatch(
      new RegExp(
        `^kvip: cannot read the lease ${NS}/${LEASE} from ${gone.url} \\(the server the kubeconfig names\\): get lease: .*ECONNREFUSED`,
      ),
    );
    expect(r.err.trimEnd().split('\n')).toHaveLength(1);
  });

  it('bad input is exit 2 with one line: an unknown output format, an unreadable kubeconfig', async () => {
    const format = await runCli([...args, '-o', 'yaml']);
    expect([format.code, format.out, format.err]).toEqual([2, '', 'kvip: --output yaml: table or json\n']);
    const missing = join(dir, 'nope.conf');
    const conf = await runCli(['status', '--k8sConfigPath', missing]);
    expect([conf.code, conf.out, conf.err]).toEqual([
      2,
      '',
      `kvip: --k8sConfigPath ${missing}: cannot read the kubeconfig (ENOENT)\n`,
    ]);
  });
});
