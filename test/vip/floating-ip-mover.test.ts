// The Elastic IP mover against an in-memory cloud with Metal's semantics. What is checked is what the cloud
// ends up routing to (holder) and which calls reached it, never what the mover believes.
import { FloatingIpMover, type FloatingIpMoverOptions } from '../../src/vip/floating-ip-mover.js';
import { NotLeadingError, VipLostError } from '../../src/vip/provider.js';
import { MemoryCloud } from './memory-cloud.js';

const log = { debug() {}, info() {}, warn() {}, error() {} };
const ME = 'dev-me';
const movers: FloatingIpMover[] = [];

function mover(cloud: MemoryCloud, over: Partial<FloatingIpMoverOptions> = {}, leading = { now: true }) {
  const m = new FloatingIpMover({
    cloud,
    address: cloud.address,
    deviceId: ME,
    identity: 'n1',
    leadingNow: () => leading.now,
    log,
    backoffMinMs: 1,
    backoffMaxMs: 2,
    followerRefreshMs: 3_600_000,
    newLeaderRefreshMs: 3_600_000,
    ...over,
  });
  movers.push(m);
  return m;
}

/** Polls `cond`; a bounded wait, so a broken mover fails the test instead of hanging it. */
async function until(cond: () => boolean, what = 'the condition'): Promise<void> {
  for (let i = 0; i < 5000 && !cond(); i++) await new Promise((r) => setTimeout(r, 1));
  if (!cond()) throw new Error(`never saw ${what}`);
}

/** A leader that verifies at every reconcile, whose Elastic IP someone has just assigned elsewhere. */
async function leaderWhoseEipWasMoved() {
  const cloud = new MemoryCloud('203.0.113.100');
  const m = mover(cloud, { verifyIntervalMs: 0 });
  await m.prepare();
  await m.acquire();
  cloud.assignments.clear();
  cloud.assignOutOfBand('dev-other');
  return { cloud, m };
}

afterEach(async () => {
  await Promise.all(movers.splice(0).map((m) => m.close()));
});

describe('FloatingIpMover', () => {
  test('a free address: one assign', async () => {
    const cloud = new MemoryCloud('203.0.113.100');
    const m = mover(cloud);
    await m.prepare();
    cloud.calls = [];
    await m.acquire();
    expect(cloud.holder()).toBe(ME);
    expect(cloud.calls).toEqual([{ op: 'assign', arg: ME }]);
  });

  test('assigned to another device: unassign that assignment (never the reservation), then assign', async () => {
    const cloud = new MemoryCloud('203.0.113.100');
    const other = cloud.assignOutOfBand('dev-other');
    const m = mover(cloud);
    await m.prepare();
    cloud.calls = [];
    await m.acquire();
    expect(cloud.holder()).toBe(ME);
    expect(cloud.calls).toEqual([
      { op: 'unassign', arg: other },
      { op: 'assign', arg: ME },
    ]);
  });

  test('already assigned to this device: one read, nothing changed', async () => {
    const cloud = new MemoryCloud('203.0.113.100');
    const mine = cloud.assignOutOfBand(ME);
    const m = mover(cloud);
    await m.prepare();
    cloud.calls = [];
    await m.acquire();
    expect(cloud.calls).toEqual([{ op: 'holders', arg: cloud.reservationId }]);
    expect([...cloud.assignments]).toEqual([[mine, ME]]);
  });

  test('a stale view (free, but another device took it): the refused assign leads to a read and the move', async () => {
    const cloud = new MemoryCloud('203.0.113.100');
    const m = mover(cloud);
    await m.prepare();
    const other = cloud.assignOutOfBand('dev-other');
    cloud.calls = [];
    await m.acquire();
    expect(cloud.holder()).toBe(ME);
    expect(cloud.calls.map((c) => c.op)).toEqual(['assign', 'holders', 'unassign', 'assign']);
    expect(cloud.calls[2]).toEqual({ op: 'unassign', arg: other });
  });

  test('still "taken" for a while after the unassign: the assign is retried until it lands', async () => {
    const cloud = new MemoryCloud('203.0.113.100');
    cloud.assignOutOfBand('dev-other');
    const m = mover(cloud);
    await m.prepare();
    cloud.lagAssigns = 2;
    cloud.calls = [];
    await m.acquire();
    expect(cloud.holder()).toBe(ME);
    // One blind retry, then a read of who holds it (a lost answer to our own assign looks the same).
    expect(cloud.calls.map((c) => c.op)).toEqual(['unassign', 'assign', 'assign', 'holders', 'assign']);
  });

  test('not leading: acquire refuses and makes no call at all', async () => {
    const cloud = new MemoryCloud('203.0.113.100');
    const leading = { now: true };
    const m = mover(cloud, {}, leading);
    await m.prepare();
    cloud.calls = [];
    leading.now = false;
    await expect(m.acquire()).rejects.toBeInstanceOf(NotLeadingError);
    expect(cloud.calls).toEqual([]);
  });

  test('leadership ends while the address stays taken: no changing call after that, and acquire gives up', async () => {
    const cloud = new MemoryCloud('203.0.113.100');
    cloud.assignOutOfBand('dev-other');
    const leading = { now: true };
    const m = mover(cloud, {}, leading);
    await m.prepare();
    cloud.lagAssigns = 1_000_000;
    let changingWhileNotLeading = 0;
    cloud.onCall = (c) => {
      if ((c.op === 'assign' || c.op === 'unassign') && !leading.now) changingWhileNotLeading++;
      if (cloud.changing().length === 4) leading.now = false;
    };
    await expect(m.acquire()).rejects.toBeInstanceOf(NotLeadingError);
    expect(changingWhileNotLeading).toBe(0);
    const made = cloud.changing().length;
    await new Promise((r) => setTimeout(r, 20));
    expect(cloud.changing().length).toBe(made);
    expect(cloud.holder()).toBeUndefined();
  });

  test('transient cloud failures are retried; the address ends here', async () => {
    const cloud = new MemoryCloud('203.0.113.100');
    cloud.assignOutOfBand('dev-other');
    const m = mover(cloud);
    await m.prepare();
    cloud.transientFailures = 3;
    await m.acquire();
    expect(cloud.holder()).toBe(ME);
  });

  test('a permanent failure is reported to the caller', async () => {
    const cloud = new MemoryCloud('203.0.113.100');
    const m = mover(cloud);
    await m.prepare();
    cloud.permanentFailure = true;
    await expect(m.acquire()).rejects.toThrow('403');
    expect(cloud.holder()).toBeUndefined();
  });

  test('losing leadership makes no call; the assignment stays for the next leader to move', async () => {
    const cloud = new MemoryCloud('203.0.113.100');
    const m = mover(cloud);
    await m.prepare();
    await m.acquire();
    cloud.calls = [];
    await m.release('lost');
    await m.release('shutdown');
    expect(cloud.calls).toEqual([]);
    expect(cloud.holder()).toBe(ME);
  });

  test("with unassign-on-shutdown, a shutdown removes this node's own assignment only", async () => {
    const cloud = new MemoryCloud('203.0.113.100');
    const m = mover(cloud, { unassignOnShutdownMs: 1000 });
    await m.prepare();
    await m.acquire();
    const mine = [...cloud.assignments.keys()][0];
    cloud.calls = [];
    await m.release('shutdown');
    expect(cloud.calls).toEqual([{ op: 'unassign', arg: mine }]);
    expect(cloud.holder()).toBeUndefined();
  });

  test('reconcile reads at most once per verify interval and repairs a moved assignment', async () => {
    const cloud = new MemoryCloud('203.0.113.100');
    const slow = mover(cloud, { verifyIntervalMs: 3_600_000 });
    await slow.prepare();
    await slow.acquire();
    cloud.calls = [];
    await slow.reconcile();
    await slow.reconcile();
    expect(cloud.calls).toEqual([]);
    await slow.close();

    const cloud2 = new MemoryCloud('203.0.113.100');
    const m = mover(cloud2, { verifyIntervalMs: 0 });
    await m.prepare();
    await m.acquire();
    cloud2.assignments.clear();
    const other = cloud2.assignOutOfBand('dev-other');
    cloud2.calls = [];
    await m.reconcile();
    expect(cloud2.holder()).toBe(ME);
    expect(cloud2.calls.map((c) => c.op)).toEqual(['holders', 'unassign', 'assign']);
    expect(cloud2.calls[1]).toEqual({ op: 'unassign', arg: other });
  });

  test('a follower refreshes its view after a new leader, so its own failover costs two calls', async () => {
    const cloud = new MemoryCloud('203.0.113.100');
    const m = mover(cloud, { newLeaderRefreshMs: 1 });
    await m.prepare();
    const other = cloud.assignOutOfBand('dev-other'); // the new leader moved it
    m.leaderChanged('n1'); // itself: nothing to refresh
    m.leaderChanged('n2');
    await until(() => cloud.calls.some((c) => c.op === 'holders'));
    expect(cloud.calls.filter((c) => c.op === 'holders')).toHaveLength(1);
    cloud.calls = [];
    await m.acquire();
    expect(cloud.calls).toEqual([
      { op: 'unassign', arg: other },
      { op: 'assign', arg: ME },
    ]);
  });

  test('a follower refreshes on its slow timer; a holder does not', async () => {
    const cloud = new MemoryCloud('203.0.113.100');
    const m = mover(cloud, { followerRefreshMs: 2 });
    await m.prepare();
    await until(() => cloud.calls.filter((c) => c.op === 'holders').length >= 2);
    await m.acquire();
    await new Promise((r) => setTimeout(r, 5)); // a refresh in flight when acquire finished settles
    const reads = cloud.calls.filter((c) => c.op === 'holders').length;
    await new Promise((r) => setTimeout(r, 30));
    expect(cloud.calls.filter((c) => c.op === 'holders').length).toBe(reads);
  });

  test('a failed repair is tried again at the next verify interval', async () => {
    const { cloud, m } = await leaderWhoseEipWasMoved();
    cloud.calls = [];
    cloud.onCall = (c) => {
      if (c.op === 'unassign') {
        cloud.permanentFailure = true; // the repair's unassign fails for good
        cloud.onCall = () => undefined;
      }
    };
    await expect(m.reconcile()).rejects.toThrow('403');
    expect(cloud.holder()).toBe('dev-other');
    await m.reconcile();
    expect(cloud.holder()).toBe(ME);
  });

  test('a follower read that started before a new leader was seen is not taken as the view; it is read again', async () => {
    const cloud = new MemoryCloud('203.0.113.100');
    const m = mover(cloud, { newLeaderRefreshMs: 1 });
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const holders = cloud.holders.bind(cloud);
    let reads = 0;
    cloud.holders = async (id, call) => {
      const before = await holders(id, call); // what the cloud said when the read was made
      if (++reads === 1) await gate;
      return before;
    };
    await m.prepare();
    m.leaderChanged('n2');
    await until(() => reads === 1, 'the refresh after n2');
    const other = cloud.assignOutOfBand('dev-other'); // n3 moves it while that read is still out
    m.leaderChanged('n3');
    await new Promise((r) => setTimeout(r, 5)); // n3's refresh falls due while the old read is out
    release();
    await until(() => reads === 2, 'a second read');
    await new Promise((r) => setTimeout(r, 5));
    cloud.calls = [];
    await m.acquire();
    expect(cloud.calls).toEqual([
      { op: 'unassign', arg: other },
      { op: 'assign', arg: ME },
    ]);
  });

  test('a reconcile read that hangs is aborted once leadership ends; nothing changes', async () => {
    const cloud = new MemoryCloud('203.0.113.100');
    const leading = { now: true };
    const m = mover(cloud, { verifyIntervalMs: 0 }, leading);
    await m.prepare();
    await m.acquire();
    cloud.hangReads = true;
    cloud.calls = [];
    const done = m.reconcile();
    await until(() => cloud.calls.length === 1, 'the read');
    leading.now = false;
    await expect(done).resolves.toBeUndefined();
    expect(cloud.changing()).toEqual([]);
  });

  test('a repair that keeps failing is reported as a lost VIP on the third try', async () => {
    const { cloud, m } = await leaderWhoseEipWasMoved();
    cloud.onCall = (c) => {
      if (c.op === 'unassign') cloud.permanentFailure = true;
    };
    await expect(m.reconcile()).rejects.toThrow('403');
    await expect(m.reconcile()).rejects.toThrow('403');
    await expect(m.reconcile()).rejects.toBeInstanceOf(VipLostError);
  });

  test('a rate limit asking to wait past the move deadline ends the move instead of waiting', async () => {
    const cloud = new MemoryCloud('203.0.113.100');
    const m = mover(cloud, { maxMoveMs: 1000 });
    await m.prepare();
    cloud.transientFailures = 1;
    cloud.retryAfterMs = 3_600_000;
    await expect(m.acquire()).rejects.toThrow(/past the move's deadline/);
    expect(cloud.holder()).toBeUndefined();
  });
});
