// The BGP speaker: one Session per configured peer, all announcing the same set of prefixes. Sessions are
// opened at start and kept up whatever leadership does, so taking over costs one UPDATE per peer; what is
// announced is decided by the caller (the BGP provider) and by the mayAnnounce predicate read right before
// each announcement is written.
import type { Logger } from '../log.js';
import type { SpeakerConfig } from './config.js';
import type { Dialer } from './dial.js';
import { Session, type SessionState } from './session.js';
import type { Prefix } from './wire.js';

export interface SpeakerOptions {
  config: SpeakerConfig;
  dial: Dialer;
  log: Logger;
  mayAnnounce: () => boolean;
  communities?: number[];
  connectTimeoutMs?: number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  onStateChange?: (peer: string, state: SessionState) => void;
}

export interface FlushResult {
  /** Peers whose session was Established and took every byte written to it within the bound. */
  written: string[];
  /** Peers that were Established but did not take it all within the bound. */
  pending: string[];
  /** Peers without an Established session (nothing to write to). */
  down: string[];
  /** Some session's writes were still queued in Node, so this waited for them. */
  waited: boolean;
}

export class BgpSpeaker {
  private readonly sessions: Session[];
  private routes: Prefix[] = [];
  private readonly routerId: { value?: string } = {};

  constructor(private readonly o: SpeakerOptions) {
    this.sessions = o.config.peers.map(
      (peer) =>
        new Session({
          peer,
          localAs: o.config.localAs,
          ...(o.config.routerId ? { routerId: o.config.routerId } : { sharedRouterId: this.routerId }),
          dial: o.dial,
          log: o.log,
          mayAnnounce: o.mayAnnounce,
          ...(o.communities ? { communities: o.communities } : {}),
          ...(o.connectTimeoutMs !== undefined ? { connectTimeoutMs: o.connectTimeoutMs } : {}),
          ...(o.backoffInitialMs !== undefined ? { backoffInitialMs: o.backoffInitialMs } : {}),
          ...(o.backoffMaxMs !== undefined ? { backoffMaxMs: o.backoffMaxMs } : {}),
          onStateChange: (state, s) => o.onStateChange?.(s.peer, state),
        }),
    );
  }

  /** Opens every session (in the background: each one retries on its own). */
  start(): void {
    for (const s of this.sessions) s.start();
  }

  /** Announce exactly these prefixes (and withdraw any other this speaker announced) on every session. */
  setRoutes(prefixes: Prefix[]): void {
    this.routes = [...prefixes];
    for (const s of this.sessions) s.setRoutes(this.routes);
  }

  announced(): readonly Prefix[] {
    return this.routes;
  }

  states(): Array<{ peer: string; state: SessionState }> {
    return this.sessions.map((s) => ({ peer: s.peer, state: s.state }));
  }

  /**
   * Waits (at most timeoutMs) until what was written to each Established session is in the kernel's hands;
   * no wait at all for a session whose writes already went out within write().
   */
  async flushed(timeoutMs: number): Promise<FlushResult> {
    const result: FlushResult = { written: [], pending: [], down: [], waited: false };
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)));
    await Promise.all(
      this.sessions.map(async (s) => {
        if (s.state !== 'established') return result.down.push(s.peer);
        if (s.unsentBytes() === 0) return result.written.push(s.peer);
        result.waited = true;
        const outcome = await Promise.race([s.flushed().then(() => 'written' as const), bound]);
        (outcome === 'written' ? result.written : result.pending).push(s.peer);
      }),
    );
    clearTimeout(timer);
    return result;
  }

  /** Cease on every open session, then close them all (bounded). No reconnects after this. */
  async close(timeoutMs = 1000): Promise<void> {
    await Promise.all(this.sessions.map((s) => s.close(timeoutMs)));
  }
}
