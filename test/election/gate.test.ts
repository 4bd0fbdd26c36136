// The leadership gate on simulated time: the elector does not try while its gate is closed, a leader whose gate
// closes gives the lease up (and another node takes it), a lease won while the gate closed is released
// unannounced, and a node whose gate reopens does not take the lease back from a valid leader.
import type { LeadershipGate } from '../../src/election/index.js';
import { PRESETS, Sim, type SimNode } from './harness.js';

const { leaseDurationMs: LD, retryPeriodMs: RP } = PRESETS.reference;
const count = (n: SimNode, event: string) => n.events.filter((e) => e.event === event).length;

class SwitchGate implements LeadershipGate {
  private listeners = new Set<(open: boolean) => void>();
  constructor(private open: boolean) {}
  isOpen() {
    return this.open;
  }
  closedReason() {
    return 'the test closed it';
  }
  subscribe(listener: (open: boolean) => void) {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }
  set(open: boolean) {
    if (open === this.open) return;
    this.open = open;
    for (const l of this.listeners) l(open);
  }
  get subscribers() {
    return this.listeners.size;
  }
}

describe('the leadership gate', () => {
  it('keeps a candidate from writing while closed, and lets it acquire as soon as it opens', async () => {
    const sim = new Sim(PRESETS.reference);
    const gate = new SwitchGate(false);
    const a = sim.add('a', sim.link(1), undefined, gate);
    a.elector.start();
    await sim.clock.advance(3 * LD);
    expect(sim.server.writes).toHaveLength(0);
    expect(sim.server.current()).toBeNull();
    expect(sim.logged).toContain('a: not trying to acquire the lease: the leadership gate is closed');
    gate.set(true);
    await sim.clock.advance(10);
    expect(sim.server.current()?.record.holderIdentity).toBe('a');
    expect(a.elector.isLeader()).toBe(true);
    const stopping = a.elector.stop();
    await sim.clock.advance(10);
    await stopping;
    expect(gate.subscribers).toBe(0);
  });

  it('a leader whose gate closes releases the lease at once, and a healthy follower takes it', async () => {
    const sim = new Sim(PRESETS.reference);
    const gateA = new SwitchGate(true);
    const a = sim.add('a', sim.link(1), undefined, gateA);
    const b = sim.add('b', sim.link(1), undefined, new SwitchGate(true));
    a.elector.start();
    await sim.clock.advance(RP);
    b.elector.start();
    await sim.clock.advance(2 * RP);
    expect(a.elector.isLeader()).toBe(true);
    gateA.set(false);
    expect(a.elector.isLeader()).toBe(false); // at that instant, before any I/O
    await sim.clock.advance(10);
    expect(count(a, 'stopped')).toBe(1);
    // The release is a write by a with an empty holder, and b (watching) takes the lease right after it,
    // well before a LeaseDuration.
    const release = sim.server.writes.findIndex((w) => w.client === 'a' && w.holder === '');
    expect(release).toBeGreaterThan(-1);
    await sim.clock.advanceUntil(() => b.elector.isLeader(), LD / 2);
    expect(sim.server.current()?.record.holderIdentity).toBe('b');
    // a's gate reopens: b's lease is valid, so a stays a follower.
    gateA.set(true);
    await sim.clock.advance(3 * LD);
    expect(sim.server.current()?.record.holderIdentity).toBe('b');
    expect(count(a, 'started')).toBe(1);
    expect(sim.leaders().map((n) => n.name)).toEqual(['b']);
  });

  it('a lease won while the gate closed is released without starting to lead', async () => {
    const sim = new Sim(PRESETS.reference);
    const gate = new SwitchGate(true);
    // 50 ms each way: the gate closes while the create is on the wire.
    const a = sim.add('a', sim.link(50), undefined, gate);
    a.elector.start();
    await sim.clock.advance(20);
    gate.set(false);
    await sim.clock.advance(500);
    expect(count(a, 'started')).toBe(0);
    expect(sim.server.writes.map((w) => w.holder)).toEqual(['a', '']);
    expect(sim.server.current()?.record.holderIdentity).toBe('');
    expect(a.elector.isLeader()).toBe(false);
  });

  it('a gate that wavers open and closed never makes two leaders', async () => {
    const sim = new Sim(PRESETS.fast);
    const gates = ['a', 'b', 'c'].map(() => new SwitchGate(true));
    const nodes = ['a', 'b', 'c'].map((name, i) => sim.add(name, sim.link(2), undefined, gates[i]));
    sim.startAll();
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let step = 0; step < 400; step++) {
      gates[Math.floor(rand() * 3)]!.set(rand() > 0.4);
      await sim.clock.advance(10 + Math.floor(rand() * 80));
      expect(sim.leaders().length).toBeLessThanOrEqual(1);
    }
    for (const g of gates) g.set(true);
    await sim.clock.advance(5 * PRESETS.fast.leaseDurationMs);
    expect(sim.leaders()).toHaveLength(1);
    expect(nodes.some((n) => count(n, 'started') > 1)).toBe(true);
  });
});
