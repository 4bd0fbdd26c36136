// The Elastic IP mover: the leader makes the cloud route the floating IP to its own server, in as few calls
// as the cloud allows. The address itself is on every node (binding.ts); what moves is the assignment.
//
// Calls on the failover path, with a fresh view of the current assignment:
//   free                      -> assign                       (1 call)
//   assigned to another node  -> unassign that one, assign    (2 calls; one where `assignMoves`)
//   assigned to this node     -> confirm with one read        (1 call)
// The view stays fresh off the failover path: read once at start, once a while after every new leader is
// seen (by then that leader has moved the address), and on a slow timer (followers: about one read a
// minute). A stale view costs extra calls, never a wrong move: a refused assign leads to a fresh read.
//
// Never from a stale leader: every call that changes an assignment carries the "leading now?" predicate,
// which the cloud checks right before each attempt (the first and every retry), and a watchdog aborts the
// calls in flight once leadership ends. Losing leadership makes no call: the next leader moves the address.
import type { Logger } from '../log.js';
import {
  CloudCallAbortedError,
  FloatingIpTakenError,
  isTransientCloudError,
  type FloatingIpCloud,
  type FloatingIpHolder,
} from './floating-ip.js';
import { NotLeadingError, type ReleaseReason, type VipProvider } from './provider.js';

export interface FloatingIpMoverOptions {
  cloud: FloatingIpCloud;
  address: string;
  /** This server's id in the cloud. */
  deviceId: string;
  /** This node's identity in the Lease: a new-leader event about itself needs no refresh. */
  identity: string;
  leadingNow: () => boolean;
  log: Logger;
  /** Leader: how often reconcile reads the assignment to repair drift (one read each time). */
  verifyIntervalMs?: number;
  /** Follower: how often the view is refreshed (plus up to 25 % jitter). */
  followerRefreshMs?: number;
  /** After another node becomes leader, one refresh this much later (it has moved the address by then). */
  newLeaderRefreshMs?: number;
  /** Backoff between attempts while the address is still taken or the cloud fails: first, cap. */
  backoffMinMs?: number;
  backoffMaxMs?: number;
  /** On shutdown, unassign before the lease is released (bounded by this many ms) instead of leaving it. */
  unassignOnShutdownMs?: number;
}

export const VERIFY_INTERVAL_MS = 10_000;
export const FOLLOWER_REFRESH_MS = 60_000;
const NEW_LEADER_REFRESH_MS = 3_000;
const WATCHDOG_MS = 20;
/** Reads of the holder while the address stays taken: every this many refused assigns. */
const REREAD_EVERY = 3;

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class FloatingIpMover implements VipProvider {
  readonly name = 'floating-ip';
  private reservationId = '';
  /** Who the cloud routes the address to, as last read or changed by this node; null: unknown. */
  private view: FloatingIpHolder[] | null = null;
  private holding = false;
  private lastVerified = 0;
  private refreshTimer: NodeJS.Timeout | null = null;
  private leaderTimer: NodeJS.Timeout | null = null;
  private refreshing: Promise<void> | null = null;
  private closed = false;
  private readonly verifyMs: number;
  private readonly followerMs: number;

  constructor(private readonly o: FloatingIpMoverOptions) {
    this.verifyMs = o.verifyIntervalMs ?? VERIFY_INTERVAL_MS;
    this.followerMs = o.followerRefreshMs ?? FOLLOWER_REFRESH_MS;
  }

  /** Find the reservation (the caller has checked it exists) and read who holds it. */
  async prepare(): Promise<void> {
    const r = await this.o.cloud.findReservation(this.o.address);
    this.reservationId = r.id;
    this.view = r.holders;
    this.o.log.info(
      {
        vip: this.o.address,
        cloud: this.o.cloud.name,
        holders: r.holders.map((h) => h.deviceId),
        device: this.o.deviceId,
      },
      r.holders.length
        ? `the Elastic IP is assigned to ${r.holders.map((h) => h.deviceId).join(', ')}`
        : 'the Elastic IP is not assigned',
    );
    this.scheduleRefresh();
  }

  async acquire(): Promise<void> {
    if (!this.o.leadingNow()) throw new NotLeadingError('moving the Elastic IP');
    const watchdog = new AbortController();
    const timer = setInterval(() => {
      if (!this.o.leadingNow()) watchdog.abort();
    }, WATCHDOG_MS);
    const started = Date.now();
    let calls = 0;
    const call = {
      guard: () => {
        const ok = this.o.leadingNow() && !watchdog.signal.aborted;
        if (ok) calls++;
        return ok;
      },
      signal: watchdog.signal,
    };
    try {
      await this.move(call, watchdog.signal);
    } catch (err) {
      if (err instanceof CloudCallAbortedError || watchdog.signal.aborted)
        throw new NotLeadingError('moving the Elastic IP');
      throw err;
    } finally {
      clearInterval(timer);
    }
    this.holding = true;
    this.lastVerified = Date.now();
    this.o.log.info(
      { vip: this.o.address, device: this.o.deviceId, calls, ms: Date.now() - started },
      'the Elastic IP is assigned to this node',
    );
  }

  async release(reason: ReleaseReason = 'lost'): Promise<void> {
    const was = this.holding;
    this.holding = false;
    if (!was || reason !== 'shutdown' || this.o.unassignOnShutdownMs === undefined) return;
    const mine = (this.view ?? []).filter((h) => h.deviceId === this.o.deviceId);
    const signal = AbortSignal.timeout(this.o.unassignOnShutdownMs);
    for (const h of mine) {
      try {
        await this.o.cloud.unassign(h.assignmentId, { guard: this.o.leadingNow, signal });
        this.view = (this.view ?? []).filter((v) => v.assignmentId !== h.assignmentId);
      } catch (err) {
        // Left assigned: the next leader moves it (two calls instead of one).
        this.o.log.warn(
          { err: message(err) },
          'could not unassign the Elastic IP on shutdown; the next leader moves it',
        );
      }
    }
  }

  /** Leader: at most one read per verify interval; repair when the address is not (only) here. */
  async reconcile(): Promise<void> {
    if (!this.holding || Date.now() - this.lastVerified < this.verifyMs) return;
    this.lastVerified = Date.now();
    const holders = await this.o.cloud.holders(this.reservationId);
    this.view = holders;
    if (holders.length === 1 && holders[0]?.deviceId === this.o.deviceId) return;
    this.o.log.warn(
      { vip: this.o.address, holders: holders.map((h) => h.deviceId) },
      'the Elastic IP is not assigned to this node (changed outside kvip): moving it back',
    );
    this.holding = false;
    await this.acquire();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    if (this.leaderTimer) clearTimeout(this.leaderTimer);
    await this.refreshing?.catch(() => undefined);
  }

  leaderChanged(identity: string): void {
    if (identity === this.o.identity || this.closed) return;
    if (this.leaderTimer) clearTimeout(this.leaderTimer);
    this.leaderTimer = setTimeout(
      () => void this.refresh(),
      this.o.newLeaderRefreshMs ?? NEW_LEADER_REFRESH_MS,
    );
  }

  private async move(
    call: { guard: () => boolean; signal: AbortSignal },
    signal: AbortSignal,
  ): Promise<void> {
    const { cloud, deviceId, address } = this.o;
    let holders = this.view;
    let fresh = false;
    let refused = 0;
    let failures = 0;
    let unassigned = false;
    for (;;) {
      try {
        if (holders === null) {
          holders = await cloud.holders(this.reservationId, call);
          fresh = true;
        }
        const mine = holders.filter((h) => h.deviceId === deviceId);
        const others = holders.filter((h) => h.deviceId !== deviceId);
        if (mine.length > 0 && !fresh && others.length === 0) {
          holders = null; // the view says "here": confirm it with one read
          continue;
        }
        if (!cloud.assignMoves)
          for (const h of others) {
            await cloud.unassign(h.assignmentId, call);
            unassigned = true;
            this.view = (this.view ?? []).filter((v) => v.assignmentId !== h.assignmentId);
          }
        if (mine.length > 0) {
          this.view = mine;
          return;
        }
        this.view = [await cloud.assign(address, deviceId, call)];
        return;
      } catch (err) {
        if (err instanceof CloudCallAbortedError || signal.aborted) throw err;
        if (err instanceof FloatingIpTakenError) {
          // Just unassigned, the address can stay taken for a while: assign again after a backoff, and
          // every few refusals read who holds it (a stale view, or someone else assigned it).
          refused++;
          holders = unassigned && refused % REREAD_EVERY !== 0 ? [] : null;
          fresh = false;
          await this.backoff(refused, signal);
          continue;
        }
        if (!isTransientCloudError(err)) throw err;
        failures++;
        this.o.log.warn({ err: message(err), failures }, 'the cloud API failed; trying again');
        holders = null;
        await this.backoff(failures, signal);
      }
    }
  }

  private backoff(attempt: number, signal: AbortSignal): Promise<void> {
    const min = this.o.backoffMinMs ?? 100;
    const max = this.o.backoffMaxMs ?? 5000;
    const ms = Math.random() * Math.min(max, min * 2 ** (attempt - 1));
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(t);
        reject(new CloudCallAbortedError('leadership ended while waiting to retry'));
      };
      const t = setTimeout(() => {
        signal.removeEventListener('abort', done);
        resolve();
      }, ms);
      if (signal.aborted) done();
      else signal.addEventListener('abort', done, { once: true });
    });
  }

  private scheduleRefresh(): void {
    if (this.closed) return;
    const ms = this.followerMs * (1 + Math.random() / 4);
    this.refreshTimer = setTimeout(() => {
      void this.refresh().finally(() => this.scheduleRefresh());
    }, ms);
  }

  /** Follower only (the leader reads in reconcile): one read. Failures only log; the next one retries. */
  private refresh(): Promise<void> {
    if (this.holding || this.closed || this.refreshing) return this.refreshing ?? Promise.resolve();
    this.refreshing = this.o.cloud
      .holders(this.reservationId)
      .then((holders) => {
        if (!this.holding) this.view = holders;
      })
      .catch((err: unknown) =>
        this.o.log.warn({ err: message(err) }, 'could not read the Elastic IP assignment'),
      )
      .finally(() => {
        this.refreshing = null;
      });
    return this.refreshing;
  }
}
