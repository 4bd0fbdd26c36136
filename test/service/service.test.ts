// The service on fake timers: a recording provider that models whether the VIP is on the interface, and an
// elector stand-in that keeps the real one's contract (stop releases the lease only if onStoppedLeading
// resolved). Every test stops the service in afterEach, also when an assertion fails.
import { jest } from '@jest/globals';
import { VipService, type LeaderCallbacks, type ServiceOptions } from '../../src/service/service.js';
import { NotLeadingError, VipLostError, type VipProvider } from '../../src/vip/provider.js';

const log = { debug() {}, info() {}, warn() {}, error() {} };

class RecordingProvider implements VipProvider {
  readonly name = 'recording';
  calls: string[] = [];
  /** What the world would see: the VIP on the interface. */
  present = false;
  failAcquire = 0;
  /** The add happens, then acquire fails (e.g. the announcement). */
  halfAcquire = false;
  failRelease = 0;
  leadingNow: () => boolean = () => true;
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
    if (!this.leadingNow()) throw new NotLeadingError('test');
    if (this.halfAcquire) this.present = true;
    if (this.failAcquire > 0) {
      this.failAcquire--;
      throw new Error('EPERM');
    }
    this.present = true;
  }
  async release() {
    this.calls.push('release');
    if (this.failRelease > 0) {
      this.failRelease--;
      throw new Error('EBUSY');
    }
    this.present = false;
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

const services: VipService[] = [];

function setup(opts: Partial<ServiceOptions> = {}) {
  const provider = new RecordingProvider();
  let callbacks!: LeaderCallbacks;
  const elector = {
    started: false,
    valid: true,
    resigned: [] as string[],
    start() {
      this.started = true;
    },
    isLeader() {
      return this.valid;
    },
    async resign(reason: string) {
      this.resigned.push(reason);
      await callbacks.onStoppedLeading('lost');
    },
    async stop() {
      provider.calls.push('elector.stop');
      try {
        await callbacks.onStoppedLeading('lost');
        provider.calls.push('lease released');
      } catch {
        provider.calls.push('lease kept');
      }
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
    stopStepTimeoutMs: 500,
    ...opts,
  });
  provider.leadingNow = service.leadingNow;
  services.push(service);
  return { provider, service, elector, cb: () => callbacks };
}

const worldCalls = (p: RecordingProvider) => p.calls.filter((c) => !c.startsWith('reconcile'));

beforeEach(() => jest.useFakeTimers());
afterEach(async () => {
  const pending = services.splice(0).map((s) => s.stop());
  await jest.runAllTimersAsync();
  await Promise.all(pending);
  jest.useRealTimers();
});

describe('VipService', () => {
  it('prepares before the elector starts, and holds only while leading', async () => {
    const { provider, service, elector, cb } = setup();
    await service.start();
    expect(provider.calls).toEqual(['prepare']);
    expect(elector.started).toBe(true);
    await cb().onStartedLeading();
    expect(provider.present).toBe(true);
    await cb().onStoppedLeading('lost');
    expect(provider.present).toBe(false);
    expect(worldCalls(provider)).toEqual(['prepare', 'acquire', 'release']);
  });

  it('tells its observers what happened, in order, and a throwing observer changes nothing', async () => {
    const seen: string[] = [];
    const recorder = {
      startedLeading: () => seen.push('started'),
      leaseTakenOver: (ms: number) => seen.push(`taken over a record ${ms} ms old`),
      stoppedLeading: (reason: string) => seen.push(`stopped: ${reason}`),
      newLeader: (id: string) => seen.push(`leader ${id}`),
      vipHeld: (held: boolean) => seen.push(`held ${held}`),
      providerFailed: (step: string, msg: string) => seen.push(`${step} failed: ${msg}`),
      leaseRenewed: (ms: number) => seen.push(`renewed ${ms}`),
    };
    const thrower = {
      startedLeading: () => {
        throw new Error('boom');
      },
      vipHeld: () => {
        throw new Error('boom');
      },
    };
    const { provider, service, cb } = setup({ observers: [thrower, recorder] });
    await service.start();
    cb().onNewLeader('node-a');
    provider.failAcquire = 1;
    await cb().onStartedLeading(1234);
    expect(provider.present).toBe(false);
    await jest.advanceTimersByTimeAsync(15); // the tick retries the add
    expect(provider.present).toBe(true);
    cb().onRenewed(12);
    await cb().onStoppedLeading('the lease is held by node-b');
    expect(provider.present).toBe(false);
    expect(seen).toEqual([
      'leader node-a',
      'started',
      'taken over a record 1234 ms old',
      'acquire failed: EPERM',
      'held true',
      'renewed 12',
      'stopped: the lease is held by node-b',
      'held false',
    ]);
  });

  it('gives up the lease when the provider says the VIP is lost and cannot be restored', async () => {
    const { provider, service, elector, cb } = setup();
    await service.start();
    await cb().onStartedLeading();
    provider.reconcile = async () => {
      throw new VipLostError('moved elsewhere and cannot be moved back');
    };
    await jest.advanceTimersByTimeAsync(20);
    expect(elector.resigned).toEqual(['moved elsewhere and cannot be moved back']);
  });

  it('shuts down in order: drop the VIP, release the lease, close', async () => {
    const { provider, service, cb } = setup();
    await service.start();
    await cb().onStartedLeading();
    provider.calls = [];
    const result = await service.stop();
    expect(worldCalls(provider)).toEqual(['release', 'elector.stop', 'lease released', 'close']);
    expect(result.vipDropped).toBe(true);
  });

  it('never overlaps acquire and release when leadership flaps', async () => {
    const { provider, service, cb } = setup();
    await service.start();
    let open!: () => void;
    provider.slow(new Promise((r) => (open = r)));
    const first = cb().onStartedLeading();
    void cb().onStoppedLeading('lost');
    void cb().onStartedLeading();
    const last = cb().onStoppedLeading('lost');
    expect(provider.calls).toEqual(['prepare', 'acquire']);
    open();
    await first;
    await last;
    expect(worldCalls(provider)).toEqual(['prepare', 'acquire', 'release']);
    expect(provider.present).toBe(false);
  });

  it('retries a failed acquire on the next tick, and reconciles while holding', async () => {
    const { provider, service, cb, elector } = setup();
    await service.start();
    provider.failAcquire = 1;
    await cb().onStartedLeading(1234);
    expect(provider.present).toBe(false);
    await jest.advanceTimersByTimeAsync(10);
    expect(provider.present).toBe(true);
    expect(provider.calls.filter((c) => c === 'acquire')).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(10);
    expect(provider.calls).toContain('reconcile');
    expect(elector.resigned).toEqual([]);
  });

  it('gives the lease up after three failed acquires in a row', async () => {
    const { provider, service, cb, elector } = setup();
    await service.start();
    provider.failAcquire = 100;
    await cb().onStartedLeading();
    await jest.advanceTimersByTimeAsync(25);
    expect(provider.calls.filter((c) => c === 'acquire')).toHaveLength(3);
    expect(elector.resigned).toHaveLength(1);
    expect(provider.present).toBe(false);
  });

  it('undoes a half-done acquire before giving the lease up; if the undo fails, keeps the lease', async () => {
    const { provider, service, cb, elector } = setup();
    await service.start();
    provider.halfAcquire = true;
    provider.failAcquire = 3;
    await cb().onStartedLeading();
    expect(provider.present).toBe(false); // undone at once
    await jest.advanceTimersByTimeAsync(25);
    expect(elector.resigned).toHaveLength(1);
    expect(provider.present).toBe(false);

    const second = setup();
    await second.service.start();
    second.provider.halfAcquire = true;
    second.provider.failAcquire = 100;
    second.provider.failRelease = 1_000_000;
    await second.cb().onStartedLeading();
    await jest.advanceTimersByTimeAsync(50);
    expect(second.provider.present).toBe(true);
    expect(second.elector.resigned).toEqual([]);
    await expect(second.cb().onStoppedLeading('lost')).rejects.toThrow(/still on this node/);
  });

  it('drops the VIP on the next tick when leadership is no longer valid, and takes it back when it is', async () => {
    const { provider, service, cb, elector } = setup();
    await service.start();
    await cb().onStartedLeading();
    expect(provider.present).toBe(true);
    elector.valid = false; // e.g. resumed after a pause, before the elector's deadline timer ran
    await jest.advanceTimersByTimeAsync(10);
    expect(provider.present).toBe(false);
    elector.valid = true;
    await jest.advanceTimersByTimeAsync(10);
    expect(provider.present).toBe(true);
  });

  it('releases only after a reconcile in flight has finished (it could re-add the VIP otherwise)', async () => {
    const { provider, service, cb } = setup();
    await service.start();
    await cb().onStartedLeading();
    let finish!: () => void;
    provider.slowReconcile(new Promise<void>((r) => (finish = r)));
    await jest.advanceTimersByTimeAsync(10);
    expect(provider.calls).toContain('reconcile');
    const stopped = cb().onStoppedLeading('lost');
    await jest.advanceTimersByTimeAsync(30);
    expect(provider.calls).not.toContain('release');
    finish();
    await stopped;
    const calls = provider.calls;
    expect(calls.indexOf('release')).toBeGreaterThan(calls.indexOf('reconcile done'));
    expect(provider.present).toBe(false);
  });

  it('keeps the lease when the VIP cannot be dropped on shutdown, and says the VIP is still up', async () => {
    const { provider, service, cb } = setup();
    await service.start();
    await cb().onStartedLeading();
    provider.failRelease = 1_000_000;
    const stopping = service.stop();
    await jest.advanceTimersByTimeAsync(2000);
    const result = await stopping;
    expect(provider.present).toBe(true);
    expect(provider.calls).toContain('lease kept');
    expect(provider.calls).not.toContain('lease released');
    expect(result.vipDropped).toBe(false);
  });

  it('retries a failed drop on shutdown within the bound, then releases the lease', async () => {
    const { provider, service, cb } = setup();
    await service.start();
    await cb().onStartedLeading();
    provider.failRelease = 2;
    const stopping = service.stop();
    await jest.advanceTimersByTimeAsync(1000);
    const result = await stopping;
    expect(provider.present).toBe(false);
    expect(worldCalls(provider).slice(-3)).toEqual(['elector.stop', 'lease released', 'close']);
    expect(result.vipDropped).toBe(true);
  });

  it('reports a fatal error when dropping the VIP keeps failing at run time', async () => {
    const fatal: unknown[] = [];
    const { provider, service, cb } = setup({ dropFailureLimitMs: 100, onFatal: (e) => fatal.push(e) });
    await service.start();
    await cb().onStartedLeading();
    provider.failRelease = 1_000_000;
    await expect(cb().onStoppedLeading('lost')).rejects.toThrow(/still on this node/);
    expect(fatal).toEqual([]);
    await jest.advanceTimersByTimeAsync(150);
    expect(fatal).toHaveLength(1);
    expect(String(fatal[0])).toMatch(/removing the virtual IP kept failing/);
  });

  it('after halt() (a fatal error) nothing adds the VIP again, not even a new leadership', async () => {
    const { provider, service, cb } = setup();
    await service.start();
    await cb().onStartedLeading();
    service.halt();
    await provider.release(); // what the fatal path does next
    await cb().onStartedLeading();
    await jest.advanceTimersByTimeAsync(50);
    expect(provider.present).toBe(false);
    expect(provider.calls.filter((c) => c === 'acquire')).toHaveLength(1);
  });

  it('holds at once without leader election', async () => {
    const provider = new RecordingProvider();
    const service = new VipService({ provider, log, reconcileIntervalMs: 1000, stopStepTimeoutMs: 100 });
    services.push(service);
    await service.start();
    expect(provider.present).toBe(true);
    await service.stop();
    expect(provider.calls).toEqual(['prepare', 'acquire', 'release', 'close']);
  });

  it('bounds a shutdown step that hangs', async () => {
    const provider = new RecordingProvider();
    provider.release = () => new Promise(() => undefined);
    const service = new VipService({ provider, log, reconcileIntervalMs: 1000, stopStepTimeoutMs: 50 });
    services.push(service);
    await service.start();
    const stopping = service.stop();
    await jest.advanceTimersByTimeAsync(200);
    const result = await stopping;
    expect(provider.calls).toEqual(['prepare', 'acquire', 'close']);
    expect(result.vipDropped).toBe(false);
  });
});
