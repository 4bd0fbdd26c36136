// The Kubernetes adapter (KubeHttp + KubeLeaseStore) against the fake kube-apiserver over real HTTP(S).
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Elector,
  KubeConfigError,
  KubeHttp,
  KubeLeaseStore,
  LeaseConflictError,
  LeaseForbiddenError,
  LeaseInvalidError,
  LeaseUnavailableError,
  loadKubeConfig,
  parseKubeConfig,
  systemClock,
  type LeaseRecord,
  type WatchEvent,
} from '../../src/election/index.js';
import { startFakeApiServer, type FakeApiServer } from '../../src/lease-api/server.js';
import { until } from '../helpers/wait.js';

const NS = 'kube-system';
const NAME = 'plndr-cp-lock';

const clients: KubeHttp[] = [];
afterEach(() => clients.splice(0).forEach((c) => c.close()));

function httpFor(kubeconfig: string): KubeHttp {
  const http = new KubeHttp(parseKubeConfig(kubeconfig));
  clients.push(http);
  return http;
}

function store(server: FakeApiServer, client: string): KubeLeaseStore {
  return new KubeLeaseStore(httpFor(server.kubeconfig(client)), NS, NAME);
}

const never = () => new AbortController().signal;

function rec(holder: string, transitions = 0): LeaseRecord {
  const now = new Date('2026-11-25T10:00:00.123Z');
  return {
    holderIdentity: holder,
    leaseDurationSeconds: 5,
    acquireTime: now,
    renewTime: now,
    leaseTransitions: transitions,
  };
}

describe.each([false, true])('KubeLeaseStore (tls: %s)', (tls) => {
  let server: FakeApiServer;
  beforeEach(async () => {
    server = await startFakeApiServer({
      tls,
      tokens: { 'tok-a': 'a', 'tok-b': 'b' },
      bookmarkIntervalMs: 100,
    });
  });
  afterEach(() => server.close());

  it('get of a missing lease is null; create, then get, round-trips the record with 6-digit MicroTime', async () => {
    const s = store(server, 'a');
    expect(await s.get(never())).toBeNull();
    const created = await s.create(rec('a'), never());
    expect(created.record).toEqual(rec('a'));
    const raw = server.getLease(NS, NAME)!;
    expect(raw.spec.renewTime).toBe('2026-11-25T10:00:00.123000Z');
    const got = await s.get(never());
    expect(got).toEqual(created);
  });

  it('maps AlreadyExists and a stale update to LeaseConflictError, and bumps resourceVersion', async () => {
    const a = store(server, 'a');
    const b = store(server, 'b');
    const first = await a.create(rec('a'), never());
    await expect(b.create(rec('b'), never())).rejects.toThrow(LeaseConflictError);
    const second = await a.update(rec('a', 1), first.version, never());
    expect(BigInt(second.version)).toBeGreaterThan(BigInt(first.version));
    await expect(b.update(rec('b', 2), first.version, never())).rejects.toThrow(LeaseConflictError);
    // The server said 409 both times, and b's writes never landed.
    expect(server.requests.map((r) => [r.client, r.verb, r.status])).toEqual([
      ['a', 'create', 201],
      ['b', 'create', 409],
      ['a', 'update', 200],
      ['b', 'update', 409],
    ]);
    expect(server.getLease(NS, NAME)!.spec).toMatchObject({ holderIdentity: 'a', leaseTransitions: 1 });
  });

  it('maps 403 to LeaseForbiddenError naming the verb and resource', async () => {
    server.denied.push({ client: 'a', verb: 'update' });
    const a = store(server, 'a');
    const created = await a.create(rec('a'), never());
    const err = await a.update(rec('a'), created.version, never()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LeaseForbiddenError);
    expect((err as Error).message).toMatch(
      /RBAC forbids "update" on leases.coordination.k8s.io in namespace kube-system/,
    );
    // the server's own reason is kept: it names the user, or an admission webhook that said no
    expect((err as Error).message).toMatch(/User "system:serviceaccount:kube-system:a" cannot update/);
  });

  it('maps a bad token to 401 LeaseForbiddenError', async () => {
    const kc = server.kubeconfig('a').replace(server.tokenFor('a')!, 'wrong-token');
    const err = await new KubeLeaseStore(httpFor(kc), NS, NAME).get(never()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LeaseForbiddenError);
    expect((err as LeaseForbiddenError).status).toBe(401);
  });

  it.each([
    ['5xx', { kind: 'status', code: 503 }, 'get lease: HTTP 503: fake apiserver: injected 503 fault'],
    ['reset', { kind: 'reset' }, /^get lease: (read ECONNRESET|socket hang up)$/],
  ] as const)('maps %s to LeaseUnavailableError', async (_t, fault, message) => {
    server.setFault('a', fault);
    const err = await store(server, 'a')
      .get(never())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LeaseUnavailableError);
    expect((err as Error).message).toMatch(message);
  });

  it('aborts a hung request when the signal fires', async () => {
    server.setFault('a', { kind: 'hang' });
    const ctl = new AbortController();
    const pending = store(server, 'a')
      .get(ctl.signal)
      .catch((e: unknown) => e);
    await until(() => server.requests.some((r) => r.verb === 'get'), 'the request to reach the server');
    ctl.abort(new Error('no answer within 100 ms'));
    const err = await pending;
    expect(err).toBeInstanceOf(LeaseUnavailableError);
    expect((err as Error).message).toBe('get lease: no answer within 100 ms'); // why, not just "aborted"
  });

  it('an update keeps the labels and annotations someone else put on the lease', async () => {
    const a = store(server, 'a');
    await a.create(rec('a'), never());
    const raw = server.getLease(NS, NAME)!;
    server.putLease({
      ...raw,
      metadata: { ...raw.metadata, labels: { team: 'platform' }, annotations: { note: 'kept' } },
    });
    const seen = await a.get(never());
    await a.update(rec('a', 1), seen!.version, never());
    const after = server.getLease(NS, NAME)!;
    expect(after.metadata.labels).toEqual({ team: 'platform' });
    expect(after.metadata.annotations).toEqual({ note: 'kept' });
    expect(after.spec.leaseTransitions).toBe(1);
  });

  it('refuses an update without a resourceVersion, before sending anything', async () => {
    const a = store(server, 'a');
    await expect(a.update(rec('a'), '', never())).rejects.toThrow(LeaseInvalidError);
    expect(server.requests).toEqual([]);
  });

  it('sends a request again on a new connection when a kept-alive one was reset', async () => {
    const a = store(server, 'a');
    await a.create(rec('a'), never()); // leaves a kept-alive connection behind
    server.setFault('a', { kind: 'reset' }, { count: 1 });
    expect(await a.get(never())).not.toBeNull();
    // The first get was reset (no status), the second answered.
    expect(server.requests.map((r) => [r.verb, r.status])).toEqual([
      ['create', 201],
      ['get', 0],
      ['get', 200],
    ]);
  });

  it('watches: open, upsert on create and update, deleted, resume from a version', async () => {
    const a = store(server, 'a');
    const events: WatchEvent[] = [];
    let opened = false;
    const w = a.watch(null, {
      onOpen: () => (opened = true),
      onEvent: (e) => events.push(e),
      onClose: () => undefined,
    });
    await until(() => opened);
    const created = await a.create(rec('a'), never());
    await a.update(rec('a', 1), created.version, never());
    server.deleteLease(NS, NAME);
    await until(() => events.filter((e) => e.type !== 'bookmark').length >= 3);
    w.stop();
    const kinds = events.filter((e) => e.type !== 'bookmark').map((e) => e.type);
    expect(kinds).toEqual(['upsert', 'upsert', 'deleted']);
    // resume after the create: only what came later
    const later: WatchEvent[] = [];
    const w2 = a.watch(created.version, { onEvent: (e) => later.push(e), onClose: () => undefined });
    await until(() => later.filter((e) => e.type !== 'bookmark').length >= 2);
    w2.stop();
    expect(later.filter((e) => e.type !== 'bookmark').map((e) => e.type)).toEqual(['upsert', 'deleted']);
  });

  it('reports an expired resourceVersion so the watcher starts over', async () => {
    const a = store(server, 'a');
    const created = await a.create(rec('a'), never());
    await a.update(rec('a', 1), created.version, never());
    server.compact();
    let reason: { expired?: boolean } | null = null;
    a.watch(created.version, { onEvent: () => undefined, onClose: (r) => (reason = r) });
    await until(() => reason !== null);
    expect(reason).toMatchObject({ expired: true });
  });

  it('a partition closes the open watch with an error', async () => {
    const a = store(server, 'a');
    let opened = false;
    let reason: { error?: Error } | null = null;
    a.watch(null, { onOpen: () => (opened = true), onEvent: () => undefined, onClose: (r) => (reason = r) });
    await until(() => opened);
    server.setFault('a', { kind: 'partition' });
    await until(() => reason !== null);
    expect(reason!.error).toBeInstanceOf(LeaseUnavailableError);
  });
});

describe('KubeLeaseStore without bookmarks', () => {
  let server: FakeApiServer;
  beforeEach(async () => {
    server = await startFakeApiServer({ tls: true, tokens: { 'tok-a': 'a' } });
  });
  afterEach(() => server.close());

  it('ends a watch that has been silent for the idle time, cleanly, so the elector re-opens it', async () => {
    const a = new KubeLeaseStore(httpFor(server.kubeconfig('a')), NS, NAME, { watchIdleMs: 300 });
    let opened = false;
    let reason: { error?: Error; expired?: boolean } | null = null;
    a.watch(null, { onOpen: () => (opened = true), onEvent: () => undefined, onClose: (r) => (reason = r) });
    await until(() => opened);
    await until(() => reason !== null);
    expect(reason).toEqual({});
  });

  it('ends a watch whose response never comes after watchOpenTimeoutMs, so it is opened again once healed', async () => {
    const a = new KubeLeaseStore(httpFor(server.kubeconfig('a')), NS, NAME, { watchOpenTimeoutMs: 200 });
    server.setFault('a', { kind: 'partition' });
    let reason: { error?: Error } | null = null;
    a.watch(null, { onEvent: () => undefined, onClose: (r) => (reason = r) });
    await until(() => reason !== null);
    expect(reason!.error).toBeInstanceOf(LeaseUnavailableError);
    expect(reason!.error!.message).toBe('watch: no response within 200 ms (watchOpenTimeoutMs)');
    server.setFault('a', null);
    let opened = false;
    const w = a.watch(null, {
      onOpen: () => (opened = true),
      onEvent: () => undefined,
      onClose: () => undefined,
    });
    await until(() => opened);
    w.stop();
  });

  it('a server certificate the kubeconfig does not trust is a LeaseForbiddenError naming what to check', async () => {
    const kc = server
      .kubeconfig('a')
      .replace(/(\n\s*)server: /, '$1tls-server-name: not-this.invalid$1server: ');
    expect(kc).toContain('tls-server-name: not-this.invalid');
    const err = await new KubeLeaseStore(httpFor(kc), NS, NAME).get(never()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LeaseForbiddenError);
    expect((err as Error).message).toMatch(
      /certificate cannot be verified \(ERR_TLS_CERT_ALTNAME_INVALID\): check certificate-authority/,
    );
  });
});

describe('electors over HTTP', () => {
  it('three electors agree on one leader; a release hands over through the watch', async () => {
    const server = await startFakeApiServer({ tokens: { ta: 'a', tb: 'b', tc: 'c' } });
    const leading = new Set<string>();
    let most = 0; // the most leaders at any one time
    const electors = ['a', 'b', 'c'].map(
      (id) =>
        new Elector(
          { identity: id, leaseDurationMs: 1000, renewDeadlineMs: 500, retryPeriodMs: 200, watch: true },
          {
            store: store(server, id),
            clock: systemClock,
            callbacks: {
              onStartedLeading: () => {
                leading.add(id);
                most = Math.max(most, leading.size);
              },
              onStoppedLeading: () => void leading.delete(id),
              onNewLeader: () => undefined,
            },
          },
        ),
    );
    try {
      for (const e of electors) e.start();
      await until(() => leading.size === 1);
      const first = [...leading][0]!;
      // Several renewals while the other two keep trying: still one leader.
      const renewals = () =>
        server.requests.filter((r) => r.client === first && r.verb === 'update' && r.status === 200).length;
      await until(() => renewals() >= 3, 'three renewals');
      expect([...leading]).toEqual([first]);
      await electors.find((_e, i) => ['a', 'b', 'c'][i] === first)!.stop();
      await until(() => leading.size === 1 && !leading.has(first), 'a new leader', 3000);
      expect(server.getLease(NS, NAME)!.spec.leaseTransitions).toBe(1);
      expect(most).toBe(1);
    } finally {
      await Promise.all(electors.map((e) => e.stop()));
      await server.close();
    }
  });
});

describe('loadKubeConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kvip-kc-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names the file and the reason when it cannot be read', () => {
    expect(() => loadKubeConfig({ inCluster: false, path: join(dir, 'missing.conf') })).toThrow(
      /--k8sConfigPath .*missing.conf: cannot read the kubeconfig \(ENOENT\)/,
    );
  });

  it('rejects a file that is not a kubeconfig', () => {
    const p = join(dir, 'bad.conf');
    writeFileSync(p, 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\n');
    expect(() => loadKubeConfig({ inCluster: false, path: p })).toThrow(KubeConfigError);
  });

  it('says when --inCluster is used outside a pod', () => {
    expect(() => loadKubeConfig({ inCluster: true, path: '' }, {})).toThrow(/KUBERNETES_SERVICE_HOST/);
  });

  it('loads a kubeconfig written by the fake', async () => {
    const server = await startFakeApiServer({ tls: true, tokens: { t: 'a' } });
    try {
      const p = join(dir, 'ok.conf');
      writeFileSync(p, server.kubeconfig('a'));
      const conn = loadKubeConfig({ inCluster: false, path: p });
      expect(conn.server.origin).toBe(new URL(server.url).origin);
      const http = new KubeHttp(conn);
      clients.push(http);
      expect(await new KubeLeaseStore(http, NS, NAME).get(never())).toBeNull();
    } finally {
      await server.close();
    }
  });
});
