// The service with the real elector and the EventRecorder on one connection to the fake kube-apiserver, as
// `kvip start` wires them: a hanging Events endpoint does not keep the node from taking the VIP, stopping,
// dropping it and releasing the lease; an answering one ends up with StartedLeading and StoppedLeading.
import { Elector, KubeHttp, KubeLeaseStore, parseKubeConfig, systemClock } from '../../src/election/index.js';
import { involvedObject } from '../../src/events/event.js';
import { EventRecorder, EventSender } from '../../src/events/index.js';
import { startFakeApiServer, type FakeApiServer } from '../../src/lease-api/server.js';
import { VipService } from '../../src/service/service.js';
import type { VipProvider } from '../../src/vip/provider.js';
import { until, within } from '../helpers/wait.js';

const NS = 'kube-system';
const NAME = 'plndr-cp-lock';
const log = { debug() {}, info() {}, warn() {}, error() {} };

/** What the world would see: whether the VIP is up on this node. */
class WorldProvider implements VipProvider {
  readonly name = 'world';
  up = false;
  async prepare() {}
  async acquire() {
    this.up = true;
  }
  async release() {
    this.up = false;
  }
  async reconcile() {}
  async close() {}
}

let fake: FakeApiServer;
let http: KubeHttp;
let service: VipService | undefined;
let recorder: EventRecorder | undefined;

beforeEach(async () => {
  fake = await startFakeApiServer({ tokens: { 'tok-cp1': 'cp1' } });
  http = new KubeHttp(parseKubeConfig(fake.kubeconfig('cp1')));
});
afterEach(async () => {
  await service?.stop();
  await recorder?.close(0);
  service = recorder = undefined;
  http.close();
  await fake.close();
});

function start(requestTimeoutMs: number) {
  const provider = new WorldProvider();
  const store = new KubeLeaseStore(http, NS, NAME);
  const sender = new EventSender({ http: () => http, reporter: { node: 'cp1' }, log, requestTimeoutMs });
  recorder = new EventRecorder({
    sender,
    target: involvedObject({}, { namespace: NS, name: NAME, uid: () => store.uid }),
    identity: 'cp1',
    lease: `${NS}/${NAME}`,
    vip: '198.51.100.10',
    secrets: [],
  });
  const timing = {
    identity: 'cp1',
    leaseDurationMs: 1000,
    renewDeadlineMs: 500,
    retryPeriodMs: 200,
    watch: true,
  };
  service = new VipService({
    provider,
    elector: (callbacks) => new Elector(timing, { store, clock: systemClock, callbacks, log }),
    observers: [recorder],
    log,
    reconcileIntervalMs: 100,
    stopStepTimeoutMs: 2000,
  });
  return { provider, service, recorder };
}

const holder = () => fake.getLease(NS, NAME)?.spec.holderIdentity;
const eventRequests = () => fake.requests.filter((r) => r.path.startsWith('/api/v1/'));

it('an Events endpoint that never answers: the node still takes the VIP, then drops it and releases the lease', async () => {
  fake.setFault('*', { kind: 'hang' }, { resources: ['events'] });
  const { provider, service, recorder } = start(60_000);
  await service.start();
  await until(() => provider.up && holder() === 'cp1', 'the VIP up and the lease held');
  // StartedLeading was posted, and is still unanswered.
  await until(() => eventRequests().length === 1, 'the StartedLeading post');
  expect(eventRequests()[0]).toMatchObject({ verb: 'create', status: 0 });

  expect(await within(service.stop(), 'stop')).toEqual({ vipDropped: true });
  expect(provider.up).toBe(false);
  expect(holder()).toBe('');
  // Shutdown's flush is bounded: with the post still hanging, close ends, and nothing was posted.
  await within(recorder.close(100), 'closing the recorder');
  expect(fake.events()).toEqual([]);
  expect(eventRequests().every((r) => r.status === 0)).toBe(true);
});

it('an answering API server holds StartedLeading and, after shutdown, StoppedLeading about the Lease', async () => {
  const { provider, service, recorder } = start(2000);
  await service.start();
  await until(() => provider.up && holder() === 'cp1', 'the VIP up and the lease held');
  await service.stop();
  await within(recorder.close(1000), 'closing the recorder');
  const uid = fake.getLease(NS, NAME)!.metadata.uid;
  expect(fake.events(NS).map((e) => [e.reason, e.type, e.involvedObject])).toEqual([
    [
      'StartedLeading',
      'Normal',
      { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: NS, name: NAME, uid },
    ],
    [
      'StoppedLeading',
      'Normal',
      { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: NS, name: NAME, uid },
    ],
  ]);
});
