// The kubeadm bootstrap pair against the fake kube-apiserver: admin.conf refused (403) while super-admin.conf
// works, then admin.conf allowed. What counts is who wrote the Lease (the fake's request log by client).
import { FallbackLeaseStore } from '../../src/election/fallback-store.js';
import { KubeHttp, KubeLeaseStore, parseKubeConfig, LeaseForbiddenError } from '../../src/election/index.js';
import { startFakeApiServer, type FakeApiServer } from '../../src/lease-api/server.js';

const record = (holder: string) => ({
  holderIdentity: holder,
  leaseDurationSeconds: 5,
  acquireTime: new Date(),
  renewTime: new Date(),
  leaseTransitions: 0,
});

describe('FallbackLeaseStore', () => {
  let fake: FakeApiServer;
  const https: KubeHttp[] = [];
  const lines: string[] = [];
  const log = {
    debug() {},
    info: (_o: object, m: string) => void lines.push(m),
    warn: (_o: object, m: string) => void lines.push(m),
    error() {},
  };
  const store = (client: string) => {
    const http = new KubeHttp(parseKubeConfig(fake.kubeconfig(client)));
    https.push(http);
    return new KubeLeaseStore(http, 'kube-system', 'plndr-cp-lock');
  };
  let fallback: FallbackLeaseStore;

  beforeEach(async () => {
    fake = await startFakeApiServer({ tokens: { 'tok-admin': 'admin', 'tok-super': 'super' } });
    for (const verb of ['get', 'create', 'update', 'watch'] as const)
      fake.denied.push({ client: 'admin', verb });
    lines.length = 0;
    fallback = new FallbackLeaseStore({
      primary: store('admin'),
      openFallback: () => store('super'),
      primaryName: '/etc/kubernetes/admin.conf',
      fallbackName: '/etc/kubernetes/super-admin.conf',
      log,
    });
  });
  afterEach(async () => {
    fallback.close();
    for (const h of https.splice(0)) h.close();
    await fake.close();
  });

  const writers = () => fake.requests.filter((r) => r.verb === 'create' || r.verb === 'update');

  it('uses super-admin.conf while admin.conf is refused, and switches back once it is allowed', async () => {
    const created = await fallback.create(record('n1'), AbortSignal.timeout(2000));
    expect(writers().map((r) => [r.client, r.status])).toEqual([
      ['admin', 403],
      ['super', 201],
    ]);
    expect(fallback.active).toBe('/etc/kubernetes/super-admin.conf');
    expect(lines.some((l) => /admin\.conf is refused \(403/.test(l))).toBe(true);

    await fallback.recheck(); // still refused: stays
    expect(fallback.active).toBe('/etc/kubernetes/super-admin.conf');

    fake.denied.length = 0; // kubeadm init has bound admin.conf's group
    await fallback.recheck();
    expect(fallback.active).toBe('/etc/kubernetes/admin.conf');
    expect(lines.some((l) => /switched back from \/etc\/kubernetes\/super-admin\.conf/.test(l))).toBe(true);
    await fallback.update(record('n1'), created.version, AbortSignal.timeout(2000));
    expect(writers().at(-1)?.client).toBe('admin');
  });

  it('does not switch on a 401 (wrong credentials are not the bootstrap case)', async () => {
    fake.denied.length = 0;
    const bad = new KubeHttp(parseKubeConfig(fake.kubeconfig('admin').replace('tok-admin', 'tok-wrong')));
    https.push(bad);
    const wrong = new FallbackLeaseStore({
      primary: new KubeLeaseStore(bad, 'kube-system', 'plndr-cp-lock'),
      openFallback: () => store('super'),
      primaryName: 'admin.conf',
      fallbackName: 'super-admin.conf',
      log,
    });
    try {
      await expect(wrong.get(AbortSignal.timeout(2000))).rejects.toBeInstanceOf(LeaseForbiddenError);
      expect(wrong.active).toBe('admin.conf');
      expect(fake.requests.filter((r) => r.client === 'super')).toEqual([]);
    } finally {
      wrong.close();
    }
  });

  it('without super-admin.conf the 403 stands; once it appears, the next 403 switches', async () => {
    let present = false;
    const late = new FallbackLeaseStore({
      primary: store('admin'),
      openFallback: () => (present ? store('super') : undefined),
      primaryName: 'admin.conf',
      fallbackName: 'super-admin.conf',
      log,
    });
    try {
      await expect(late.get(AbortSignal.timeout(2000))).rejects.toBeInstanceOf(LeaseForbiddenError);
      expect(late.active).toBe('admin.conf');
      present = true; // kubeadm init wrote it
      expect(await late.get(AbortSignal.timeout(2000))).toBeNull();
      expect(late.active).toBe('super-admin.conf');
    } finally {
      late.close();
    }
  });
});
