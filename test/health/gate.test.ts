// The health gate on fake timers with a scripted probe: when it opens and closes (thresholds, hysteresis,
// the first pass), that checks never overlap, and that close() stops everything.
import { jest } from '@jest/globals';
import { HealthGate } from '../../src/health/index.js';
import type { HealthProbe } from '../../src/health/index.js';

const log = { debug() {}, info() {}, warn() {}, error() {} };

/** Answers each check from `script` ('p' pass, 'f' fail, 'h' hang until aborted), then keeps the last. */
class ScriptedProbe implements HealthProbe {
  readonly description = 'scripted';
  calls = 0;
  inFlight = 0;
  maxInFlight = 0;
  closed = false;
  constructor(public script: string) {}
  check(signal: AbortSignal): Promise<void> {
    const step = this.script[Math.min(this.calls, this.script.length - 1)];
    this.calls++;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const done = () => void this.inFlight--;
    if (step === 'p') return Promise.resolve().finally(done);
    if (step === 'f') return Promise.reject(new Error('HTTP 500: etcd failed')).finally(done);
    return new Promise<void>((_, reject) => {
      signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
    }).finally(done);
  }
  close() {
    this.closed = true;
  }
}

const gates: HealthGate[] = [];
function gate(script: string, failures = 3, successes = 2, periodMs = 100, timeoutMs = 50) {
  const probe = new ScriptedProbe(script);
  const g = new HealthGate({
    probe,
    periodMs,
    timeoutMs,
    failureThreshold: failures,
    successThreshold: successes,
    log,
  });
  const changes: boolean[] = [];
  g.subscribe((open) => changes.push(open));
  gates.push(g);
  void g.start();
  return { g, probe, changes };
}
/** Lets `n` check rounds run (the first is at start). */
const rounds = (n: number, periodMs = 100) => jest.advanceTimersByTimeAsync(n * periodMs - 1);

beforeEach(() => jest.useFakeTimers());
afterEach(() => {
  for (const g of gates.splice(0)) g.close();
  jest.useRealTimers();
});

describe('HealthGate', () => {
  it('is closed until the first pass, which opens it at once', async () => {
    const { g, changes } = gate('ffp');
    await rounds(2);
    expect(g.isOpen()).toBe(false);
    expect(g.closedReason()).toBe('the health check of scripted is failing: HTTP 500: etcd failed');
    await rounds(1);
    expect(g.isOpen()).toBe(true);
    expect(changes).toEqual([true]);
  });

  it('closes after the failure threshold in a row; fewer failures between passes never close it', async () => {
    const { g, changes } = gate('pffpffpfffp');
    await rounds(7);
    expect(g.isOpen()).toBe(true);
    await rounds(3); // f f f
    expect(g.isOpen()).toBe(false);
    expect(changes).toEqual([true, false]);
  });

  it('reopens only after the success threshold in a row: a wavering check keeps it closed', async () => {
    const { g, changes } = gate('pfffpfpfpfppp', 3, 3);
    await rounds(4);
    expect(g.isOpen()).toBe(false);
    await rounds(6); // p f p f p f
    expect(g.isOpen()).toBe(false);
    await rounds(2); // p p
    expect(g.isOpen()).toBe(false);
    await rounds(1); // the third pass in a row
    expect(g.isOpen()).toBe(true);
    expect(changes).toEqual([true, false, true]);
  });

  it('a hung check counts as a failure at its timeout, and checks never overlap', async () => {
    const { g, probe } = gate('phhh', 3, 1, 100, 250);
    await jest.advanceTimersByTimeAsync(1);
    expect(g.isOpen()).toBe(true);
    // Each hung check takes its 250 ms timeout; the next starts when it ended (later than the period).
    await jest.advanceTimersByTimeAsync(100 + 3 * 250 + 20);
    expect(g.isOpen()).toBe(false);
    expect(g.closedReason()).toMatch(/no answer within 250 ms$/);
    expect(probe.maxInFlight).toBe(1);
  });

  it('close() aborts the check in flight, stops checking and closes the probe', async () => {
    const { g, probe } = gate('h');
    await jest.advanceTimersByTimeAsync(10);
    expect(probe.inFlight).toBe(1);
    g.close();
    await jest.advanceTimersByTimeAsync(1000);
    expect(probe.inFlight).toBe(0);
    expect(probe.calls).toBe(1);
    expect(probe.closed).toBe(true);
  });
});
