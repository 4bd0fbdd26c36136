// BGP as a way of holding the VIP: the leader announces the VIP's host route (/32 or /128) to every peer,
// the other nodes announce nothing. The sessions stay up on every node, leader or not, so a takeover costs
// one UPDATE per peer and no TCP or OPEN round trips. The address itself is bound separately (binding.ts),
// so this part only decides what the routers are told.
import type { Logger } from '../log.js';
import { NotLeadingError, type ReleaseReason, type VipProvider } from '../vip/provider.js';
import type { BgpSpeaker } from './speaker.js';
import type { Prefix } from './wire.js';

export interface BgpAnnouncerOptions {
  speaker: BgpSpeaker;
  /** The VIP's host route, "203.0.113.100/32". */
  prefix: Prefix;
  /** Read before every announcement (also the ones re-sent after a reconnect, inside the speaker). */
  leadingNow: () => boolean;
  log: Logger;
  /** How long a shutdown waits for the withdraw to be written to every Established session. */
  shutdownFlushMs?: number;
}

/** The withdraw did not reach every Established session in time: the lease must not be released over it. */
export class WithdrawNotWrittenError extends Error {
  override name = 'WithdrawNotWrittenError';
}

export class BgpAnnouncer implements VipProvider {
  readonly name = 'bgp';
  private started = false;

  constructor(private readonly o: BgpAnnouncerOptions) {}

  /** Opens the sessions (they come up in the background and stay up). Nothing is announced. */
  async prepare(): Promise<void> {
    this.o.speaker.setRoutes([]);
    if (!this.started) this.o.speaker.start();
    this.started = true;
  }

  async acquire(): Promise<void> {
    if (!this.o.leadingNow()) throw new NotLeadingError('announcing the virtual IP over BGP');
    const started = performance.now();
    this.o.speaker.setRoutes([this.o.prefix]);
    const sent = performance.now();
    const sentAt = Date.now();
    // Said once the UPDATEs are in the kernel's hands: within setRoutes unless a send buffer was full (not
    // awaited: taking over does not wait for logging).
    void this.o.speaker.flushed(1000).then((r) => {
      const fields = { prefix: this.o.prefix, written: r.written, pending: r.pending, down: r.down };
      if (r.written.length === 0)
        this.o.log.warn(fields, 'no BGP session is established: the route goes out when one comes up');
      else
        this.o.log.info(
          {
            ...fields,
            writtenMs: Number(((r.waited ? performance.now() : sent) - started).toFixed(3)),
            writtenAt: r.waited ? Date.now() : sentAt,
          },
          `announced the virtual IP over BGP to ${r.written.length} established session(s)`,
        );
    });
  }

  /**
   * Withdraws the route on every session. On shutdown it also waits (bounded) until the withdraw is written
   * to every Established session, and fails if one did not take it: the lease is then left to expire
   * rather than released while a router may still send traffic here.
   */
  async release(reason?: ReleaseReason): Promise<void> {
    this.o.speaker.setRoutes([]);
    if (reason !== 'shutdown') return;
    const r = await this.o.speaker.flushed(this.o.shutdownFlushMs ?? 1000);
    this.o.log.info(
      { written: r.written, pending: r.pending, down: r.down },
      `BGP withdraw written to ${r.written.length} of ${r.written.length + r.pending.length} established session(s)`,
    );
    if (r.pending.length > 0)
      throw new WithdrawNotWrittenError(`the withdraw was not written to ${r.pending.join(', ')} in time`);
  }

  /** While leading: sessions that came back (or were up while announcing was not allowed) get the route. */
  async reconcile(): Promise<void> {
    if (this.o.leadingNow()) this.o.speaker.setRoutes([this.o.prefix]);
  }

  /** Cease on every session; bounded. */
  async close(): Promise<void> {
    await this.o.speaker.close();
  }
}
