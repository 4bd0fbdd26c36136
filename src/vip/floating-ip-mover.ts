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
  type CloudCall,
  type FloatingIpCloud,
  type FloatingIpHolder,
  type FloatingIpReservation,
} from './floating-ip.js';
import { performance } from 'node:perf_hooks';
import { NotLeadingError, VipLostError, type ReleaseReason, type VipProvider } from './provider.js';

export interface FloatingIpMoverOptions {
  cloud: FloatingIpCloud;
  address: string;
  /** This server's id in the cloud. */
  deviceId: string;
  /** This node's identity in the Lease: a new-leader event about itself needs no refresh. */
  identity: string;
  leadingNow: () => boolean;
  /**
   * The lease is still this node's (the elector's view, true also while the service is stopping): the one
   * guard for the unassign on shutdown, which runs after the service stopped wanting the VIP.
   */
  leaseValid?: () => boolean;
  log: Logger;
  /** The reservation as start-up found it: saves listing the project's IPs again. */
  reservation?: FloatingIpReservation;
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
  /** Give up one move (and let the service count a failed acquire) after this long. */
  maxMoveMs?: number;
}

export const VERIFY_INTERVAL_MS = 10_000;
export const FOLLOWER_REFRESH_MS = 60_000;
const NEW_LEADER_REFRESH_MS = 3_000;
const WATCHDOG_MS = 20;
/** Reads of the holder while the address stays taken: every this many refused assigns. */
const REREAD_EVERY = 2;
const MAX_MOVE_MS = 120_000;
const MAX_REPAIR_FAILURES = 3;

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class FloatingIpMover implements VipProvider {
  readonly name = 'floating-ip';
  private reservationId = '';
  /** Who the cloud routes the address to, as last read or changed by this node; null: unknown. */
  private view: FloatingIpHolder[] | null = null;
  private holding = false;
  private acquiring = false;
  /** Bumped whenever the view may have changed: a read started before that is stale when it returns. */
  private generation = 0;
  private lastVerified = 0;
  private refreshTimer: NodeJS.Timeout | null = null;
  private leaderTimer: NodeJS.Timeout | null = null;
  private refreshing: Promise<void> | null = null;
  private refreshAgain = false;
  private repairFailures = 0;
  private readonly closing = new AbortController();
  private closed = false;
  private readonly verifyMs: number;
  private readonly followerMs: number;

  constructor(private readonly o: FloatingIpMoverOptions) {
    this.verifyMs = o.verifyIntervalMs ?? VERIFY_INTERVAL_MS;
    this.followerMs = o.followerRefreshMs ?? FOLLOWER_REFRESH_MS;
  }

  /** Find the reservation (the caller has checked it exists) and read who holds it. */
  async prepare(): Promise<void> {
    const r = this.o.reservation ?? (await this.o.cloud.findReservation(this.o.address));
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
    const started = performance.now();
    let calls = 0;
    let firstCallAt = NaN;
    let firstCallWall = 0;
    this.acquiring = true;
    this.generation++;
    try {
      await this.whileLeading(async (call) => {
        const counted = {
          ...call,
          guard: () => {
            if (!call.guard()) return false;
            if (++calls === 1) {
              firstCallAt = performance.now();
              firstCallWall = Date.now();
            }
            return true;
          },
        };
        await this.move(counted, call.signal);
      });
    } finally {
      this.acquiring = false;
    }
    this.holding = true;
    this.lastVerified = performance.now();
    this.o.log.info(
      {
        vip: this.o.address,
        device: this.o.deviceId,
        calls,
        firstCallMs: Number((firstCallAt - started).toFixed(2)),
        firstCallAt: firstCallWall,
        ms: Math.round(performance.now() - started),
      },
      'the Elastic IP is assigned to this node',
    );
  }

  /**
   * Runs `fn` with a guard (leading now) and a signal a watchdog aborts once leadership ends, so that no
   * call is sent, and none waits, after that. Ending that way is a NotLeadingError.
   */
  private async whileLeading(
    fn: (call: { guard: () => boolean; signal: AbortSignal }) => Promise<void>,
  ): Promise<void> {
    const watchdog = new AbortController();
    const timer = setInterval(() => {
      if (!this.o.leadingNow()) watchdog.abort();
    }, WATCHDOG_MS);
    const stop = () => watchdog.abort();
    this.closing.signal.addEventListener('abort', stop, { once: true });
    if (this.closing.signal.aborted) watchdog.abort();
    try {
      await fn({ guard: () => this.o.leadingNow() && !watchdog.signal.aborted, signal: watchdog.signal });
    } catch (err) {
      if (err instanceof CloudCallAbortedError || watchdog.signal.aborted)
        throw new NotLeadingError('moving the Elastic IP');
      throw err;
    } finally {
      clearInterval(timer);
      this.closing.signal.removeEventListener('abort', stop);
    }
  }

  async release(reason: ReleaseReason = 'lost'): Promise<void> {
    const was = this.holding;
    this.holding = false;
    this.generation++;
    if (!was || reason !== 'shutdown' || this.o.unassignOnShutdownMs === undefined) return;
    const mine = (this.view ?? []).filter((h) => h.deviceId === this.o.deviceId);
    const signal = AbortSignal.timeout(this.o.unassignOnShutdownMs);
    for (const h of mine) {
      try {
        await this.o.cloud.unassign(h.assignmentId, {
          guard: this.o.leaseValid ?? this.o.leadingNow,
          signal,
        });
        this.forget(h.assignmentId);
      } catch (err) {
        // Left assigned: the next leader moves it (two calls instead of one).
        this.o.log.warn(
          { err: message(err) },
          'could not unassign the Elastic IP on shutdown; the next leader moves it',
        );
      }
    }
  }

  /**
   * Leader: at most one read per verify interval (no retries: the next interval is the retry), aborted
   * when leadership ends; repair when the address is not (only) here. A failed repair is tried again at
   * the next interval.
   */
  async reconcile(): Promise<void> {
    if (!this.holding || performance.now() - this.lastVerified < this.verifyMs) return;
    this.lastVerified = performance.now();
    let holders: FloatingIpHolder[] = [];
    try {
      await this.whileLeading(async (call) => {
        holders = await this.o.cloud.holders(this.reservationId, { ...call, retries: 0 });
      });
    } catch (err) {
      if (err instanceof NotLeadingError) return; // the service drops the VIP next
      throw err;
    }
    this.view = holders;
    if (holders.length === 1 && holders[0]?.deviceId === this.o.deviceId) return;
    this.o.log.warn(
      { vip: this.o.address, holders: holders.map((h) => h.deviceId) },
      'the Elastic IP is not assigned to this node (changed outside kvip): moving it back',
    );
    this.holding = false;
    try {
      await this.acquire();
      this.repairFailures = 0;
    } catch (err) {
      if (err instanceof NotLeadingError) {
        this.lastVerified = 0; // leading again later: check at once
        return; // the service drops the VIP next
      }
      // Not served, and not repairable so far: after a few tries, say so, and the service gives up the lease.
      if (++this.repairFailures >= MAX_REPAIR_FAILURES)
        throw new VipLostError(
          `the Elastic IP could not be moved back ${this.repairFailures} times: ${message(err)}`,
        );
      throw err;
    } finally {
      // Still the holder as far as the service knows; the next interval tries again if this failed.
      this.holding = true;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.closing.abort();
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    if (this.leaderTimer) clearTimeout(this.leaderTimer);
    await this.refreshing?.catch(() => undefined);
  }

  leaderChanged(identity: string): void {
    this.generation++;
    if (identity === this.o.identity || this.closed) return;
    if (this.leaderTimer) clearTimeout(this.leaderTimer);
    this.leaderTimer = setTimeout(
      () => void this.refresh(),
      this.o.newLeaderRefreshMs ?? NEW_LEADER_REFRESH_MS,
    );
  }

  private async move(call: CloudCall, signal: AbortSignal): Promise<void> {
    const { cloud, deviceId, address } = this.o;
    const deadline = performance.now() + (this.o.maxMoveMs ?? MAX_MOVE_MS);
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
            this.forget(h.assignmentId);
          }
        if (mine.length > 0) {
          this.view = mine;
          return;
        }
        this.view = [await cloud.assign(address, deviceId, call)];
        return;
      } catch (err) {
        if (err instanceof CloudCallAbortedError || signal.aborted) throw err;
        if (performance.now() > deadline)
          throw new Error(
            `the Elastic IP could not be moved within ${this.o.maxMoveMs ?? MAX_MOVE_MS} ms: ${message(err)}`,
          );
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
        // A rate limit says how long to wait: not less than that, but a wait past the move's deadline is
        // not waited out (the service counts the failure).
        const asked = (err as { retryAfterMs?: number }).retryAfterMs ?? 0;
        if (performance.now() + asked > deadline)
          throw new Error(`the cloud asks to wait ${asked} ms, past the move's deadline: ${message(err)}`);
        await this.backoff(failures, signal, asked);
      }
    }
  }

  /** An assignment this node removed is no longer in its view. */
  private forget(assignmentId: string): void {
    this.view = (this.view ?? []).filter((v) => v.assignmentId !== assignmentId);
  }

  private backoff(attempt: number, signal: AbortSignal, atLeastMs = 0): Promise<void> {
    const min = this.o.backoffMinMs ?? 100;
    const max = this.o.backoffMaxMs ?? 5000;
    const ms = Math.max(atLeastMs, Math.random() * Math.min(max, min * 2 ** (attempt - 1)));
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

  /**
   * Follower only (the leader reads in reconcile, and acquire reads what it needs): one read. A read that
   * started before the view may have changed (a new leader, an acquire, a release) is dropped. Failures only
   * log; the next refresh is the retry.
   */
  private refresh(): Promise<void> {
    if (this.holding || this.acquiring || this.closed) return Promise.resolve();
    if (this.refreshing) {
      this.refreshAgain = true; // the read in flight may predate what made this one necessary
      return this.refreshing;
    }
    const generation = this.generation;
    this.refreshing = this.o.cloud
      .holders(this.reservationId, { signal: this.closing.signal })
      .then((holders) => {
        if (generation === this.generation && !this.holding && !this.acquiring) this.view = holders;
      })
      .catch((err: unknown) => {
        if (!this.closed) this.o.log.warn({ err: message(err) }, 'could not read the Elastic IP assignment');
      })
      .finally(() => {
        this.refreshing = null;
        if (this.refreshAgain) {
          this.refreshAgain = false;
          void this.refresh();
        }
      });
    return this.refreshing;
  }
}
