// Lease leader election with client-go's semantics (tools/leaderelection/leaderelection.go): the algorithm,
// in one place. Its parts that are not timing rules sit beside it: what has been observed of the lease
// (observed-lease.ts), the stamps of this process's own writes (sent-stamps.ts), the release (release.ts).
//
// A candidate tries to acquire the lease now, then every RetryPeriod x (1 + rand x 1.2). A leader renews
// every RetryPeriod; each renew round has one deadline, and when it passes the leader stops believing it
// leads at that instant (aborting whatever request is in flight). Validity is judged only by local
// monotonic time: a record "expires" LeaseDuration after the moment *this process first saw it*, never by
// comparing the remote renewTime with the local clock. Optimistic concurrency (resourceVersion) decides
// races: 409 means someone else wrote first.
//
// Two things go beyond client-go, both on the safe side:
// - The renew deadline is anchored at the send time of the last successful renewal (client-go anchors it
//   at the start of the round, which a slow response pushes later). Followers wait LeaseDuration from when
//   they saw that renewal, which is after it was sent, so RenewDeadline + RetryPeriod < LeaseDuration keeps
//   two leaders apart however slow the responses are.
// - Followers (not the leader) watch the lease. A release (empty holder) or deletion wakes them at once, and
//   while the watch is healthy they sleep until exactly observedTime + LeaseDuration instead of polling. The
//   watch only changes what is observed; taking the lease still goes through GET + UPDATE with the same
//   validity rule.
//
// Three rules keep a node from leading on a record it cannot vouch for:
// - Identity: a record naming this identity counts as this process's own only if this process wrote it (its
//   renewTime is one this process sent). Another process renewing under the same name (cloned VMs, the same
//   host name) is logged as an error and treated as another holder, so the two never both lead.
// - Standing down: a leader that lost at its deadline (a slow or unreachable API server) does not renew or
//   retake its own record until that record has expired in its own view. Its aborted requests may still land
//   at the server; writing on would keep followers, whose API servers may answer faster, from taking over.
// - Resigning: the caller may give the lease up (e.g. the VIP cannot be added here); the elector then sits
//   out for a LeaseDuration so another node takes over.
//
// A leadership gate, when given, is the caller's "may I lead at all" (a health check): while it is closed no
// attempt is made, a leader whose gate closes resigns at once (release, no sit-out: the closed gate keeps it
// out), and a lease acquired while the gate closed is released before anyone is told of it.
//
// The elector knows nothing of VIPs: it reports started leading, stopped leading and new leader.
import { LeaseConflictError, LeaseForbiddenError } from './errors.js';
import { linkedController, sleep, withDeadline } from './clock.js';
import { JITTER_FACTOR } from './timing.js';
import { KeptWatch } from './lease-watch.js';
import {
  validateElectorConfig,
  type ElectorCallbacks,
  type ElectorConfig,
  type ElectorDeps,
} from './elector-options.js';
import { ObservedLease } from './observed-lease.js';
import { SentStamps } from './sent-stamps.js';
import { SlowRenewalWarning } from './slow-renewal.js';
import { releaseLease } from './release.js';
import type {
  Clock,
  LeadershipGate,
  LeaseRecord,
  LeaseStore,
  StoredLease,
  TimerHandle,
  WatchEvent,
} from './types.js';
import type { Logger } from '../log.js';

type Attempt = 'acquired' | 'held' | 'failed';

const NO_LOG: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export class Elector {
  private readonly cfg: ElectorConfig;
  private readonly store: LeaseStore;
  private readonly clock: Clock;
  private readonly callbacks: ElectorCallbacks;
  private readonly random: () => number;
  private readonly log: Logger;
  private readonly gate: LeadershipGate | undefined;
  private unsubscribeGate: (() => void) | null = null;
  /** Wakes a candidate waiting for the gate to open (set only while it waits). */
  private wakeGate: (() => void) | null = null;

  private readonly observed = new ObservedLease();
  private reportedLeader = '';
  private leading = false;
  /** Monotonic time the last successful acquire/renew request was sent: the leader's own deadline anchor. */
  private lastRenewSentAt = 0;
  private leaderDeadline: TimerHandle | null = null;
  private roundAbort: AbortController | null = null;

  private readonly stopController = new AbortController();
  private loop: Promise<void> | null = null;
  private stopping: Promise<void> | null = null;
  /** A resignation still letting go (dropping what was held, then releasing). */
  private resigning: Promise<void> | null = null;

  private watch: KeptWatch | null = null;
  /** Wakes a waiting follower so it recomputes when to try (set only while it waits). */
  private wakeFollower: ((free: boolean) => void) | null = null;
  private lastFailure = '';

  /** What makes a record naming this identity this process's own. */
  private readonly stamps = new SentStamps();
  /** Lost at the deadline: the own record counts as someone else's until it expires as observed here. */
  private standingDown = false;
  /** Resigned: no attempt before this monotonic time. */
  private sitOutUntil = 0;
  /** When a renewal by another process under this identity was last logged. */
  private clashLoggedAt = -Infinity;
  /** Records naming this identity that this process did not write, seen so far. */
  private foreignSeen = 0;
  private renewLatency = 0;
  private readonly slowRenewal: SlowRenewalWarning;

  constructor(config: ElectorConfig, deps: ElectorDeps) {
    validateElectorConfig(config);
    this.cfg = config;
    this.store = deps.store;
    this.clock = deps.clock;
    this.callbacks = deps.callbacks;
    this.random = deps.random ?? Math.random;
    this.log = deps.log ?? NO_LOG;
    this.gate = deps.gate;
    this.slowRenewal = new SlowRenewalWarning(config.renewDeadlineMs, deps.store.description, this.log);
  }

  isLeader(): boolean {
    return this.leading && this.clock.now() < this.leadershipEndsAt();
  }

  /** How long the last successful renewal took, ms (0 before the first). */
  renewLatencyMs(): number {
    return this.renewLatency;
  }

  /** The holder this elector last observed ('' if none). */
  leader(): string {
    return this.observed.record?.holderIdentity ?? '';
  }

  start(): void {
    if (this.loop || this.stopped) return;
    this.log.info(
      { lease: this.store.description, identity: this.cfg.identity },
      'attempting to acquire leader lease',
    );
    this.unsubscribeGate = this.gate?.subscribe((open) => this.onGate(open)) ?? null;
    this.loop = this.run().catch((err: unknown) => {
      this.log.error({ err: String(err) }, 'leader election loop failed');
      this.leading = false;
      this.callbacks.onFatal?.(err);
    });
  }

  /**
   * Stop: abort in-flight requests, and if leading, first await onStoppedLeading (the caller drops what it
   * held), then release the lease (holder "" and a 1 s duration) so a follower takes over at once.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private get stopped(): boolean {
    return this.stopController.signal.aborted;
  }

  private async shutdown(): Promise<void> {
    this.stopController.abort(new Error('the elector is stopping'));
    this.stopWatch();
    this.unsubscribeGate?.();
    this.wakeFollower?.(false);
    this.wakeGate?.();
    await this.loop;
    await this.resigning;
    if (!this.leading) return;
    this.leading = false;
    this.leaderDeadline?.cancel();
    this.log.info({ lease: this.store.description }, 'stopped leading (shutdown)');
    try {
      await this.callbacks.onStoppedLeading('shutdown');
    } catch (err) {
      // Whatever the leader held is still there: releasing now would let a follower take it while this
      // node still has it. The lease expires on its own instead.
      this.log.error(
        { err: err instanceof Error ? err.message : String(err) },
        'not releasing the lease: what this node held could not be let go; it expires in LeaseDuration',
      );
      return;
    }
    await this.release();
  }

  /**
   * Give leadership up now (the caller cannot serve what it leads for): stopped leading, release the lease
   * if what was held is let go, then make no attempt for `sitOutMs`, so that another candidate takes over.
   */
  async resign(reason: string, sitOutMs = this.cfg.leaseDurationMs): Promise<void> {
    if (!this.leading || this.stopped) return;
    this.sitOutUntil = this.clock.now() + sitOutMs;
    this.roundAbort?.abort(new Error(`resigned: ${reason}`));
    this.leading = false;
    this.leaderDeadline?.cancel();
    this.log.warn({ lease: this.store.description, reason }, 'giving up the lease');
    // Until the release is done no attempt is made (acquire waits for it), or a quick retake could be released
    // by it; shutdown waits for it too.
    this.resigning = this.letGo(`gave the lease up: ${reason}`).finally(() => {
      this.resigning = null;
    });
    return this.resigning;
  }

  private async letGo(reason: string): Promise<void> {
    try {
      await this.callbacks.onStoppedLeading(reason);
    } catch (err) {
      this.log.error({ err: String(err) }, 'not releasing the lease: it expires in LeaseDuration');
      return;
    }
    await this.release();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      this.ensureWatch();
      if (!(await this.acquire())) return;
      if (this.gateClosed()) {
        // The gate closed while the winning request was in flight: onStartedLeading was never called.
        this.log.info({ lease: this.store.description }, 'the leadership gate closed: releasing the lease');
        await this.release();
        continue;
      }
      // A leader learns what it needs from its own renewals (as in client-go); watching its own writes
      // would only cost a parsed event per renewal. The watch comes back when leadership ends.
      this.stopWatch();
      this.becomeLeader();
      await this.renewUntilLost();
    }
  }

  // ---- acquire ------------------------------------------------------------------------------------

  /** Returns true once this elector holds the lease, false when stopped. */
  private async acquire(): Promise<boolean> {
    while (!this.stopped) {
      if (this.resigning) {
        await this.resigning;
        continue;
      }
      const sitOut = this.sitOutUntil - this.clock.now();
      if (sitOut > 0) {
        await sleep(this.clock, sitOut, this.stopController.signal);
        continue;
      }
      if (this.gateClosed()) {
        await this.gateOpened();
        continue;
      }
      const sentAt = this.clock.now();
      // client-go's acquire has no per-attempt timeout; a hung request must not stall a candidate
      // forever, so each attempt gets RenewDeadline.
      const result = await withDeadline(
        this.clock,
        this.cfg.renewDeadlineMs,
        this.stopController.signal,
        (signal) => this.tryAcquireOrRenew(signal),
      );
      this.reportTransition();
      if (result === 'acquired' && !this.stopped) {
        // Answered so late (a pause, a stalled loop) that the leadership it bought has already ended:
        // followers may have taken over meanwhile. Not reported as leading; stand down as after a deadline.
        if (this.clock.now() >= sentAt + this.cfg.retryPeriodMs + this.cfg.renewDeadlineMs) {
          this.standingDown = true;
          this.log.warn({ lease: this.store.description }, 'acquired the lease too late to lead on it');
          continue;
        }
        this.renewed(sentAt);
        return true;
      }
      if (this.stopped) return false;
      await this.followerWait(result);
    }
    return false;
  }

  /**
   * When to try next. Polling: RetryPeriod x (1 + rand x 1.2) after this attempt (client-go's JitterUntil,
   * sliding). Watching a held lease: exactly when it expires as observed here, or at once when the watch
   * shows it released; every observed change recomputes the time.
   */
  private async followerWait(result: Attempt): Promise<void> {
    const pollAt = this.clock.now() + this.cfg.retryPeriodMs * (1 + this.random() * JITTER_FACTOR);
    for (;;) {
      if (this.stopped) return;
      const held = this.observedHeldByOther();
      let target: number;
      if (!held && result === 'held')
        target = this.clock.now(); // released or expired since: go now
      else if (this.watch?.healthy && result === 'held' && this.observed.record)
        target = this.observed.expiresAt();
      else target = pollAt;
      const delay = target - this.clock.now();
      if (delay <= 0) return;
      const woke = await new Promise<'timer' | 'free' | 'changed'>((resolve) => {
        const timer = this.clock.setTimer(delay, () => resolve('timer'));
        this.wakeFollower = (free) => {
          timer.cancel();
          resolve(free ? 'free' : 'changed');
        };
      });
      this.wakeFollower = null;
      if (woke !== 'changed') return;
    }
  }

  private observedHeldByOther(): boolean {
    const o = this.observed.record;
    return o !== null && o.holderIdentity !== '' && !this.mayTakeAsOwn(o);
  }

  /**
   * A record this elector may renew as its own: it names this identity, this process wrote it, and this
   * elector is not standing down after a lost deadline.
   */
  private mayTakeAsOwn(record: LeaseRecord): boolean {
    return record.holderIdentity === this.cfg.identity && this.stamps.wrote(record) && !this.standingDown;
  }

  // ---- the leadership gate ------------------------------------------------------------------------

  private gateClosed(): boolean {
    return this.gate !== undefined && !this.gate.isOpen();
  }

  /** Resolves when the gate opens or the elector stops; says once why it does not try meanwhile. */
  private async gateOpened(): Promise<void> {
    this.log.warn(
      { lease: this.store.description, reason: this.gate?.closedReason() ?? '' },
      'not trying to acquire the lease: the leadership gate is closed',
    );
    await new Promise<void>((resolve) => {
      this.wakeGate = resolve;
      if (!this.gateClosed() || this.stopped) resolve();
    });
    this.wakeGate = null;
    if (!this.stopped) this.log.info({ lease: this.store.description }, 'the leadership gate opened');
  }

  private onGate(open: boolean): void {
    if (open) {
      this.wakeGate?.();
      return;
    }
    // No sit-out: the closed gate is what keeps this candidate from trying again.
    if (this.leading) void this.resign(`the leadership gate closed: ${this.gate?.closedReason() ?? ''}`, 0);
  }

  // ---- renew --------------------------------------------------------------------------------------

  private becomeLeader(): void {
    this.leading = true;
    // Whatever was stood down from is over: this node holds a record it just wrote (a released, deleted or
    // expired lease taken over), and its renewals must count as its own.
    this.standingDown = false;
    this.log.info(
      { lease: this.store.description, identity: this.cfg.identity },
      'successfully acquired lease',
    );
    // The last record observed is the one this node just wrote; the one before is what it took over.
    const previous = this.observed.previousTime;
    const age = previous === null ? undefined : this.clock.now() - previous;
    this.invoke('onStartedLeading', () => this.callbacks.onStartedLeading(age));
  }

  private loseLeadership(reason: string, standDown = false): void {
    if (!this.leading) return;
    this.leading = false;
    this.standingDown ||= standDown;
    this.leaderDeadline?.cancel();
    this.log.warn({ lease: this.store.description, reason }, 'stopped leading');
    this.invoke('onStoppedLeading', () => this.callbacks.onStoppedLeading(reason));
  }

  private async renewUntilLost(): Promise<void> {
    while (this.leading && !this.stopped) {
      // wait.Until(..., RetryPeriod): the next round starts RetryPeriod after the last one ended.
      await sleep(this.clock, this.cfg.retryPeriodMs, this.stopController.signal);
      if (this.stopped || !this.leading) return;
      const { controller: round, dispose } = linkedController(this.stopController.signal);
      this.roundAbort = round;
      const signal = round.signal;
      try {
        // wait.PollImmediateUntil(RetryPeriod, tryAcquireOrRenew, deadline): the deadline timer armed in
        // renewed() aborts this round and ends leadership.
        while (!signal.aborted && this.leading) {
          const sentAt = this.clock.now();
          const result = await this.tryAcquireOrRenew(signal);
          this.reportTransition();
          if (signal.aborted || !this.leading) break;
          if (result === 'acquired') {
            this.noteLatency(this.clock.now() - sentAt);
            this.renewed(sentAt);
            break;
          }
          if (result === 'held') {
            this.loseLeadership(`the lease is held by ${this.leader()}`);
            break;
          }
          await sleep(this.clock, this.cfg.retryPeriodMs, signal);
        }
      } finally {
        dispose();
        this.roundAbort = null;
      }
    }
  }

  /** A renewal took `ms`: kept for metrics (onRenewed), and warned about when the API server is slow. */
  private noteLatency(ms: number): void {
    this.renewLatency = ms;
    if (this.callbacks.onRenewed) this.invoke('onRenewed', () => this.callbacks.onRenewed?.(ms));
    this.slowRenewal.note(ms);
  }

  /**
   * A renewal sent at `sentAt` succeeded. Leadership now lasts until sentAt + RetryPeriod + RenewDeadline
   * and not an instant longer: the timer below ends it then, whatever is in flight, and isLeader() says
   * false from that instant even if this process was paused and the timer has not run yet. Followers wait
   * LeaseDuration from when they saw the renewal (after it was sent), and RD + RP < LD.
   */
  private renewed(sentAt: number): void {
    this.lastRenewSentAt = sentAt;
    this.leaderDeadline?.cancel();
    this.leaderDeadline = this.clock.setTimer(this.leadershipEndsAt() - this.clock.now(), () => {
      this.roundAbort?.abort(new Error('the renew deadline passed'));
      this.loseLeadership('failed to renew the lease before the renew deadline', true);
    });
  }

  private leadershipEndsAt(): number {
    return this.lastRenewSentAt + this.cfg.retryPeriodMs + this.cfg.renewDeadlineMs;
  }

  // ---- one attempt --------------------------------------------------------------------------------

  private async tryAcquireOrRenew(signal: AbortSignal): Promise<Attempt> {
    const now = this.clock.date();
    const desired: LeaseRecord = {
      holderIdentity: this.cfg.identity,
      leaseDurationSeconds: this.cfg.leaseDurationMs / 1000,
      acquireTime: now,
      renewTime: now,
      leaseTransitions: 0,
    };

    // Fast paths, without a GET, updating the version last seen (optimistic concurrency makes them exactly as
    // safe as GET + UPDATE; on failure fall through to the GET):
    // - a leader whose lease is still valid, if what it last saw is its own record (a watch may have shown
    //   it someone else's);
    // - a follower that saw the lease released (holder ""), e.g. through the watch.
    const last = this.observed.record;
    const renewing = this.leading && last !== null && this.mayTakeAsOwn(last) && this.isLeaseValid();
    const takingReleased = !this.leading && last?.holderIdentity === '';
    const lastVersion = this.observed.version;
    if (last && lastVersion && (renewing || takingReleased)) {
      if (renewing) desired.acquireTime = last.acquireTime;
      desired.leaseTransitions = last.leaseTransitions + (renewing ? 0 : 1);
      try {
        this.observe(await this.store.update(this.stamps.stamp(desired), lastVersion, signal));
        return 'acquired';
      } catch (err) {
        const what = renewing ? 'optimistic renew failed' : 'taking the released lease failed';
        this.noteFailure(`${what}, falling back to GET`, err);
        if (signal.aborted) return 'failed';
      }
    }

    let current: StoredLease | null;
    try {
      current = await this.store.get(signal);
    } catch (err) {
      this.noteFailure('error retrieving the lease', err);
      return 'failed';
    }
    if (current === null) {
      try {
        this.observe(await this.store.create(this.stamps.stamp(desired), signal));
        return 'acquired';
      } catch (err) {
        this.noteFailure('error creating the lease', err);
        return 'failed';
      }
    }

    this.observe(current);
    const holder = current.record.holderIdentity;
    if (this.standingDown && !this.isLeaseValid()) this.standingDown = false;
    const own = this.mayTakeAsOwn(current.record);
    // Held by someone else while the observed time + their leaseDuration is still ahead of local now.
    if (holder !== '' && !own && this.isLeaseValid()) return 'held';

    if (own) {
      desired.acquireTime = current.record.acquireTime;
      desired.leaseTransitions = current.record.leaseTransitions;
    } else {
      desired.leaseTransitions = current.record.leaseTransitions + 1;
    }
    try {
      this.observe(await this.store.update(this.stamps.stamp(desired), current.version, signal));
      return 'acquired';
    } catch (err) {
      this.noteFailure(
        err instanceof LeaseConflictError ? 'lost the race to update the lease' : 'error updating the lease',
        err,
      );
      return 'failed';
    }
  }

  /** Held, by whoever the observed record names, as judged by local monotonic time. */
  private isLeaseValid(): boolean {
    return this.observed.validAt(this.clock.now());
  }

  /** Record what the store holds (the observed time moves only when the record itself changed). */
  private observe(stored: StoredLease): void {
    if (!this.observed.see(stored, this.clock.now())) return;
    const r = stored.record;
    if (r.holderIdentity === this.cfg.identity && !this.stamps.wrote(r)) this.foreignRenewal();
  }

  /**
   * A record under this identity that this process did not write: a restart of this node finds its previous
   * run's record (harmless: it expires), but a renewal seen while that runs, or while leading, is a second
   * process with the same name. Never lead on it; say how to fix it (at most once a LeaseDuration).
   */
  private foreignRenewal(): void {
    this.foreignSeen++;
    if (this.leading) this.loseLeadership('another process renewed the lease under this identity');
    const clash = this.stamps.hasSent() || this.foreignSeen > 1;
    const now = this.clock.now();
    if (!clash) {
      this.log.info(
        { lease: this.store.description, identity: this.cfg.identity },
        'the lease names this node from an earlier run: taking it once it has expired',
      );
      return;
    }
    if (now - this.clashLoggedAt < this.cfg.leaseDurationMs) return;
    this.clashLoggedAt = now;
    this.log.error(
      { lease: this.store.description, identity: this.cfg.identity },
      `another process renews the lease as "${this.cfg.identity}": give every node a unique name ` +
        '(--nodeName / vip_nodename); this node will not lead while that goes on',
    );
  }

  private reportTransition(): void {
    const holder = this.observed.record?.holderIdentity ?? '';
    if (holder === '' || holder === this.reportedLeader) return;
    this.reportedLeader = holder;
    this.log.debug({ leader: holder }, 'new leader elected');
    try {
      this.callbacks.onNewLeader(holder);
    } catch (err) {
      this.log.error({ err }, 'onNewLeader failed');
    }
  }

  // ---- release ------------------------------------------------------------------------------------

  /** Give the lease up, but only if the holder *fetched now* is this elector; bounded by RenewDeadline. */
  private async release(): Promise<void> {
    // Not tied to the stop signal: on shutdown that has already fired, and the release must still go out.
    await withDeadline(this.clock, this.cfg.renewDeadlineMs, null, (signal) =>
      releaseLease(
        {
          store: this.store,
          clock: this.clock,
          log: this.log,
          identity: this.cfg.identity,
          last: this.observed,
        },
        signal,
      ),
    );
  }

  // ---- watch --------------------------------------------------------------------------------------

  private ensureWatch(): void {
    if (!this.cfg.watch || !this.store.watch || this.stopped) return;
    this.watch ??= new KeptWatch(
      { watch: this.store.watch.bind(this.store) },
      this.clock,
      this.cfg,
      {
        fromVersion: () => this.observed.version,
        onHealthChange: () => this.wakeFollower?.(false),
        onEvent: (event) => this.onWatchEvent(event),
        onExpired: () => {
          this.observed.versionExpired();
        },
      },
      this.log,
    );
    this.watch.start();
  }

  private onWatchEvent(event: WatchEvent): void {
    if (this.stopped) return;
    if (event.type === 'bookmark') return;
    if (event.type === 'deleted') {
      this.observed.forget();
      if (!this.leading) this.wakeFollower?.(true);
      return;
    }
    if (this.observed.isStale(event.lease.version)) return;
    this.observe(event.lease);
    this.reportTransition();
    if (!this.leading) this.wakeFollower?.(!this.observedHeldByOther());
  }

  private stopWatch(): void {
    this.watch?.stop();
  }

  // ---- helpers ------------------------------------------------------------------------------------

  private noteFailure(what: string, err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    const key = `${what}: ${message}`;
    // Transient errors repeat every retry period: log a change, not every repetition.
    const level = err instanceof LeaseForbiddenError ? 'error' : key === this.lastFailure ? 'debug' : 'warn';
    this.lastFailure = key;
    this.log[level]({ lease: this.store.description, err: message }, what);
  }

  private invoke(name: string, fn: () => void | Promise<void>): void {
    try {
      Promise.resolve(fn()).catch((err: unknown) => this.log.error({ err }, `${name} failed`));
    } catch (err) {
      this.log.error({ err }, `${name} failed`);
    }
  }
}
