import { VipService, type LeaderCallbacks } from '../../src/service/service.js';
import type { VipProvider } from '../../src/vip/provider.js';

const log = { debug() {}, info() {}, warn() {}, error() {} };

class RecordingProvider implements VipProvider {
  readonly name = 'recording';
  calls: string[] = [];
  failAcquire = 0;
  private gate: Promise<void> = Promise.resolve();
  private reconcileGate: Promise<void> = Promise.resolve();
  slow(p: Promise<void>) {
    this.gate = p;
  }
  slowReconcile(p: Promise<void>) {
    this.reconcileGate = p;
  }
  async prepare() {
    this.calls.push('prepare');
  }
  async acquire() {
    this.calls.push('acquire');
    await this.gate;
    if (this.failAcquire > 0) {
      this.failAcquire--;
      throw new Error('EPERM');
    }
  }
  async release() {
    this.calls.push('release');
  }
  async reconcile() {
    this.calls.push('reconcile');
    await this.reconcileGate;
    this.calls.push('reconcile done');
  }
  async close() {
    this.calls.push('close');
  }
}

function setup() {
  const provider = new RecordingProvider();
  let callbacks!: LeaderCallbacks;
  const elector = {
    started: false,
    start() {
      this.started = true;
    },
    async stop() {
      provider.calls.push('elector.stop');
      await callbacks.onStoppedLeading();
      provider.calls.push('lease released');
    },
  };
  const service = new VipService({
    provider,
    elector: (cb) => {
      callbacks = cb;
      return elector;
    },
    log,
    reconcileIntervalMs: 10,
    stopStepTimeoutMs: 200,
  });
  return { provider, service, elector, cb: () => callbacks };
}

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

describe('VipService', () => {
  it('prepares before the elector starts, and holds only while leading', async () => {
    const { provider, service, elector, cb } = setup();
    await service.start();
    expect(provider.calls).toEqual(['prepare']);
    expect(elector.started).toBe(true);
    await cb().onStartedLeading();
    expect(service.isHolding()).toBe(true);
    await cb().onStoppedLeading();
    expect(service.isHolding()).toBe(false);
    expect(provider.calls.slice(0, 3)).toEqual(['prepare', 'acquire', 'release']);
    await service.stop();
  });

  it('shuts down in order: drop the VIP, release the lease, close', async () => {
    const { provider, service, cb } = setup();
    await service.start();
    await cb().onStartedLeading();
    provider.calls = [];
    await service.stop();
    expect(provider.calls.filter((c) => !c.startsWith('reconcile'))).toEqual([
      'release',
      'elector.stop',
      'lease released',
      'close',
    ]);
  });

  it('never overlaps acquire and release when leadership flaps', async () => {
    const { provider, service, cb } = setup();
    await service.start();
    let open!: () => void;
    provider.slow(new Promise((r) => (open = r)));
    const first = cb().onStartedLeading();
    void cb().onStoppedLeading();
    void cb().onStartedLeading();
    const last = cb().onStoppedLeading();
    expect(provider.calls).toEqual(['prepare', 'acquire']);
    open();
    await first;
    await last;
    expect(provider.calls.filter((c) => !c.startsWith('reconcile'))).toEqual([
      'prepare',
      'acquire',
      'release',
    ]);
    expect(service.isHolding()).toBe(false);
    await service.stop();
  });

  it('retries a failed acquire on the reconcile tick, and reconciles while holding', async () => {
    const { provider, service, cb } = setup();
    await service.start();
    provider.failAcquire = 1;
    await cb().onStartedLeading();
    expect(service.isHolding()).toBe(false);
    await tick(50);
    expect(service.isHolding()).toBe(true);
    expect(provider.calls.filter((c) => c === 'acquire')).toHaveLength(2);
    expect(provider.calls).toContain('reconcile');
    await service.stop();
  });

  it('releases only after a reconcile in flight has finished (it could re-add the VIP otherwise)', async () => {
    const { provider, service, cb } = setup();
    await service.start();
    await cb().onStartedLeading();
    let finish!: () => void;
    provider.slowReconcile(new Promise<void>((r) => (finish = r)));
    while (!provider.calls.includes('reconcile')) await tick(5);
    const stopped = cb().onStoppedLeading();
    await tick(30);
    expect(provider.calls).not.toContain('release');
    finish();
    await stopped;
    const calls = provider.calls;
    expect(calls.indexOf('release')).toBeGreaterThan(calls.indexOf('reconcile done'));
    expect(service.isHolding()).toBe(false);
    await service.stop();
  });

  it('holds at once without leader election', async () => {
    const provider = new RecordingProvider();
    const service = new VipService({ provider, log, reconcileIntervalMs: 1000, stopStepTimeoutMs: 100 });
    await service.start();
    expect(service.isHolding()).toBe(true);
    await service.stop();
    expect(provider.calls).toEqual(['prepare', 'acquire', 'release', 'close']);
  });

  it('bounds a shutdown step that hangs', async () => {
    const provider = new RecordingProvider();
    provider.release = () => new Promise(() => undefined);
    const service = new VipService({ provider, log, reconcileIntervalMs: 1000, stopStepTimeoutMs: 50 });
    await service.start();
    await service.stop();
    expect(provider.calls).toEqual(['prepare', 'acquire', 'close']);
  });
});
