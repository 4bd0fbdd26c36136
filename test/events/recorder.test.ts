// The EventRecorder and its sender against the fake kube-apiserver over real HTTP: what Events the API server
// ends up holding (reason, type, involved object, message), and what it does not get when it refuses, fails
// or hangs. Nothing here measures time: a hanging API server is shown harmless by what still happens.
import { KubeHttp, parseKubeConfig } from '../../src/election/index.js';
import { involvedObject } from '../../src/events/event.js';
import { EventRecorder, EventSender } from '../../src/events/index.js';
import { startFakeApiServer, type CoreEvent, type FakeApiServer } from '../../src/lease-api/server.js';
import type { Logger } from '../../src/log.js';
import { until, within } from '../helpers/wait.js';

const NS = 'kube-system';
const SECRET = 'SENTINELkvip7f3e9a';
const POD_ENV = { POD_NAME: 'kvip-cp1', POD_NAMESPACE: NS, POD_UID: '0c9d8e7f-uid' };

interface Line {
  level: string;
  msg: string;
  obj: object;
}

function recordingLog(): Logger & { lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: string) => (obj: object, msg: string) => void lines.push({ level, obj, msg });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

let fake: FakeApiServer;
let http: KubeHttp;
let log: ReturnType<typeof recordingLog>;
const open: EventRecorder[] = [];

beforeEach(async () => {
  fake = await startFakeApiServer({ tokens: { 'tok-cp1': 'cp1' } });
  http = new KubeHttp(parseKubeConfig(fake.kubeconfig('cp1')));
  log = recordingLog();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((r) => r.close(0)));
  http.close();
  await fake.close();
});

function recorder(
  opts: { env?: NodeJS.ProcessEnv; leaseUid?: () => string | undefined } & Partial<
    ConstructorParameters<typeof EventSender>[0]
  > = {},
) {
  const { env = POD_ENV, leaseUid = () => undefined, ...senderOpts } = opts;
  const sender = new EventSender({
    http: () => http,
    reporter: { node: 'cp1' },
    log,
    backoffMs: 5,
    requestTimeoutMs: 300,
    ...senderOpts,
  });
  const r = new EventRecorder({
    sender,
    target: involvedObject(env, { namespace: NS, name: 'plndr-cp-lock', uid: leaseUid }),
    identity: 'cp1',
    lease: `${NS}/plndr-cp-lock`,
    vip: '198.51.100.10',
    secrets: [SECRET],
  });
  open.push(r);
  return { r, sender };
}

const reasons = () => fake.events(NS).map((e) => e.reason);
const eventsPosts = () => fake.requests.filter((q) => q.path.startsWith('/api/v1/'));
const warnings = () => log.lines.filter((l) => l.level === 'warn');

async function eventually(n: number, what = `${n} Events`): Promise<CoreEvent[]> {
  await until(() => fake.events(NS).length >= n, what);
  return fake.events(NS);
}

describe('EventRecorder', () => {
  it('posts StartedLeading and StoppedLeading about its Pod, as a core/v1 Event kvip reports', async () => {
    const { r } = recorder();
    r.startedLeading();
    r.stoppedLeading('shutdown');
    const [started, stopped] = await eventually(2);
    expect(started).toMatchObject({
      involvedObject: { apiVersion: 'v1', kind: 'Pod', namespace: NS, name: 'kvip-cp1', uid: '0c9d8e7f-uid' },
      reason: 'StartedLeading',
      type: 'Normal',
      action: 'Lead',
      message:
        'cp1 became leader of lease kube-system/plndr-cp-lock and is taking the virtual IP 198.51.100.10',
      source: { component: 'kvip', host: 'cp1' },
      count: 1,
      reportingComponent: 'kvip',
      reportingInstance: 'cp1',
    });
    expect(started!.metadata.name).toMatch(/^kvip-cp1\.[0-9a-f]+$/);
    expect(started!.eventTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(started!.firstTimestamp).toBe(started!.lastTimestamp);
    expect(stopped).toMatchObject({ reason: 'StoppedLeading', type: 'Normal' });
    expect(stopped!.message).toContain('(shutdown)');
  });

  it('a lost lease is a Warning with the reason on one line; a provider failure names the step', async () => {
    const { r } = recorder();
    r.stoppedLeading('lost the lease:\n  renew deadline 3000 ms passed\r\n');
    r.providerFailed('acquire', 'EPERM: operation not permitted');
    r.providerFailed('release', 'EBUSY');
    r.providerFailed('reconcile', 'the Elastic IP is assigned elsewhere');
    const events = await eventually(4);
    expect(events.map((e) => [e.reason, e.type, e.action])).toEqual([
      ['StoppedLeading', 'Warning', 'Lead'],
      ['VipAcquireFailed', 'Warning', 'AcquireVip'],
      ['VipReleaseFailed', 'Warning', 'ReleaseVip'],
      ['VipReconcileFailed', 'Warning', 'ReconcileVip'],
    ]);
    expect(events[0]!.message).toBe(
      'cp1 stopped leading lease kube-system/plndr-cp-lock (lost the lease: renew deadline 3000 ms passed) and dropped the virtual IP 198.51.100.10',
    );
    expect(events[1]!.message).toBe(
      'adding the virtual IP 198.51.100.10 failed: EPERM: operation not permitted',
    );
  });

  it('never puts a secret in a message, and bounds a long one to 1024 bytes', async () => {
    const { r } = recorder();
    r.providerFailed('acquire', `401 from https://api.example/?token=${SECRET} (${SECRET})`);
    r.providerFailed('reconcile', 'ü'.repeat(2000));
    const [secret, long] = await eventually(2);
    expect(secret!.message).toBe(
      'adding the virtual IP 198.51.100.10 failed: 401 from https://api.example/?token=[redacted] ([redacted])',
    );
    expect(Buffer.byteLength(long!.message!)).toBeLessThanOrEqual(1024);
    expect(long!.message).toMatch(/^repairing the virtual IP 198\.51\.100\.10 failed: ü+…$/);
    expect(JSON.stringify(log.lines)).not.toContain(SECRET);
  });

  it('the health gate: HealthCheckFailed when it closes, HealthCheckPassed only when it opens after that', async () => {
    const { r } = recorder();
    r.gateChanged(true, 'readyz ok');
    r.gateChanged(false, 'GET https://127.0.0.1:6443/readyz: connection refused');
    r.gateChanged(true, 'readyz ok');
    r.gateChanged(true, 'readyz ok');
    const events = await eventually(2);
    await until(() => eventsPosts().length >= 2 && eventsPosts().every((q) => q.status !== 0), 'answers');
    expect(events.map((e) => [e.reason, e.type])).toEqual([
      ['HealthCheckFailed', 'Warning'],
      ['HealthCheckPassed', 'Normal'],
    ]);
    expect(events[0]!.message).toContain('connection refused');
    expect(eventsPosts()).toHaveLength(2);
  });

  it('without the downward API, the Events are about the Lease, with its uid once known', async () => {
    const lease: { uid?: string } = {};
    const { r } = recorder({ env: {}, leaseUid: () => lease.uid });
    r.startedLeading();
    const [first] = await eventually(1);
    expect(first!.involvedObject).toEqual({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      namespace: NS,
      name: 'plndr-cp-lock',
    });
    expect(first!.metadata.name).toMatch(/^plndr-cp-lock\./);
    lease.uid = 'lease-uid-1';
    r.stoppedLeading('shutdown');
    const [, second] = await eventually(2);
    expect(second!.involvedObject.uid).toBe('lease-uid-1');
  });

  it('counts repeats: one queued bumps its count, one posted is patched; a patch of a vanished Event creates anew', async () => {
    fake.setFault('*', { kind: 'hang' }, { resources: ['events'], count: 1 });
    const { r } = recorder();
    r.providerFailed('reconcile', 'link down');
    await until(() => eventsPosts().length === 1, 'the first post, which hangs');
    // While it hangs (then times out and is sent again), three more repeats wait in the queue: one entry.
    for (let i = 0; i < 3; i++) r.providerFailed('reconcile', 'link down');
    // The retry of the first post created it; the queued three were one PATCH.
    await until(() => fake.events(NS)[0]?.count === 4, 'a count of 4');
    expect(fake.events(NS)).toHaveLength(1);
    expect(fake.events(NS)[0]!.reason).toBe('VipReconcileFailed');
    expect(eventsPosts().map((q) => q.verb)).toEqual(['create', 'create', 'patch']);

    r.providerFailed('reconcile', 'link down');
    await until(() => fake.events(NS)[0]?.count === 5, 'a count of 5');
    const notFound = JSON.stringify({
      kind: 'Status',
      apiVersion: 'v1',
      code: 404,
      reason: 'NotFound',
      message: 'gone',
    });
    fake.setFault(
      '*',
      { kind: 'proxy', code: 404, contentType: 'application/json', body: notFound },
      {
        resources: ['events'],
        verbs: ['patch'],
        count: 1,
      },
    );
    r.providerFailed('reconcile', 'link down');
    await until(() => fake.events(NS).length === 2, 'a new Event');
    expect(fake.events(NS).map((e) => e.count)).toEqual([5, 1]);
  });

  it('RBAC that forbids Events: logged once, naming the permission; later Events are still tried', async () => {
    fake.denied.push({ client: 'cp1', verb: 'create', resource: 'events' });
    const { r } = recorder();
    r.startedLeading();
    r.providerFailed('acquire', 'EPERM');
    r.stoppedLeading('shutdown');
    await until(() => eventsPosts().filter((q) => q.status === 403).length === 3, 'three refusals');
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]!.msg).toMatch(
      /^RBAC forbids "create" on events \(core API group\) in namespace kube-system; kvip needs create and patch on events .*kvip manifest rbac.*: events is forbidden: User "system:serviceaccount:kube-system:cp1" cannot create resource "events"/,
    );
    expect(fake.events(NS)).toEqual([]);
    fake.denied.length = 0;
    r.startedLeading();
    await eventually(1);
    expect(warnings()).toHaveLength(1);
  });

  it('tries a 5xx again with backoff, and gives up after the attempts with one warning per outage', async () => {
    fake.setFault('*', { kind: 'status', code: 503 }, { resources: ['events'], count: 2 });
    const { r } = recorder({ attempts: 3 });
    r.startedLeading();
    await eventually(1);
    expect(eventsPosts().map((q) => q.status)).toEqual([503, 503, 201]);
    expect(warnings()).toEqual([]);

    fake.setFault('*', { kind: 'status', code: 500 }, { resources: ['events'] });
    r.providerFailed('acquire', 'a');
    r.providerFailed('acquire', 'b');
    await until(() => eventsPosts().length === 3 + 6, 'two Events, three attempts each');
    await until(() => warnings().length >= 1, 'the warning');
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]!.msg).toMatch(
      /^a Kubernetes Event was not posted \(create, 3 attempts\): HTTP 500: /,
    );
    expect(fake.events(NS)).toHaveLength(1);
  });

  it('a hanging API server: the queue keeps the newest, drops the oldest with a counted warning', async () => {
    fake.setFault('*', { kind: 'hang' }, { resources: ['events'] });
    const { r, sender } = recorder({ queueLimit: 3, requestTimeoutMs: 60_000 });
    r.providerFailed('acquire', 'first');
    await until(() => eventsPosts().length === 1, 'the first post, in flight');
    for (const m of ['m1', 'm2', 'm3', 'm4', 'm5', 'm6']) r.providerFailed('acquire', m);
    expect(sender.droppedCount).toBe(3);
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]!.msg).toMatch(/^Kubernetes Events queue full \(3\): dropping the oldest/);
    // Nothing got through, and a close with the API server still hanging is bounded.
    await within(r.close(50), 'close while the API server hangs');
    expect(fake.events(NS)).toEqual([]);
    // The one in flight and the three queued.
    expect(warnings().at(-1)!.msg).toMatch(/^shutdown: 4 Kubernetes Event\(s\) not posted within 50 ms/);
    fake.clearFaults();
    r.startedLeading(); // closed: ignored
    const again = recorder({ queueLimit: 3 });
    for (const m of ['m1', 'm2', 'm3', 'm4']) again.r.providerFailed('acquire', m);
    const posted = await eventually(3);
    expect(posted.map((e) => e.message!.split(': ').at(-1))).toEqual(['m2', 'm3', 'm4']);
  });

  it('close() posts what is queued when the API server answers', async () => {
    const { r } = recorder();
    r.startedLeading();
    r.providerFailed('release', 'EBUSY');
    r.stoppedLeading('shutdown');
    await within(r.close(5000), 'close');
    expect(reasons()).toEqual(['StartedLeading', 'VipReleaseFailed', 'StoppedLeading']);
  });
});
