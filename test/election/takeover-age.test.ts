// What onStartedLeading says about the record it replaced (previousRecordAgeMs): how long before this node
// led it last saw that record change, on simulated time. It is where a failover starts as this node sees it.
// After a crash and after a release: elector.test.ts ('watch-driven takeover').
import { PRESETS, Sim } from './harness.js';

const LD = PRESETS.reference.leaseDurationMs;

describe('previousRecordAgeMs', () => {
  it('is absent for a lease this node created', async () => {
    const sim = new Sim(PRESETS.reference);
    const a = sim.add('a');
    a.elector.start();
    await sim.clock.advance(10);
    expect(a.elector.isLeader()).toBe(true);
    expect(a.takeovers).toEqual([undefined]);
  });

  it('a leader that lost the lease and takes it back is told of the record it took back', async () => {
    const sim = new Sim(PRESETS.reference, false);
    const a = sim.add('a', sim.link(0));
    a.elector.start();
    await sim.clock.advance(10);
    // Someone writes another holder out of band, once, then goes away: a loses, then takes it after LD.
    const foreign = sim.server.put({
      holderIdentity: 'x',
      leaseDurationSeconds: 5,
      acquireTime: sim.clock.date(),
      renewTime: sim.clock.date(),
      leaseTransitions: 1,
    });
    expect(foreign.record.holderIdentity).toBe('x');
    const writtenAt = sim.clock.now();
    await sim.clock.advanceUntil(() => a.events.filter((e) => e.event === 'started').length === 2, 30000);
    const restartedAt = a.events.filter((e) => e.event === 'started')[1]!.at;
    expect(a.takeovers).toHaveLength(2);
    // a saw x's record at its next renewal attempt, after the write: the age is at most since the write.
    expect(a.takeovers[1]).toBeLessThanOrEqual(restartedAt - writtenAt);
    expect(a.takeovers[1]).toBeGreaterThanOrEqual(LD);
  });
});
