// Layer-2 provider: the VIP is an address on an interface, announced with gratuitous ARP (IPv4) or an
// unsolicited neighbour advertisement (IPv6) right after it is added — the kernel sends nothing itself, and
// without an announcement a moved VIP stayed unreachable for 41 s on a test bridge. A short burst covers a
// lost first frame; then a repeat every arpRate ms while holding keeps switches and neighbours current.
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../log.js';
import { NotLeadingError, type VipProvider } from './provider.js';
import { removeStaleVip } from './stale.js';

export interface LinkState {
  /** A new index: the interface was deleted and created again under its name. */
  index: number;
  mac: string;
  /** IFF_LOWER_UP. A re-plugged cable drops and regains it while IFF_UP stays set. */
  carrier: boolean;
}

/** What the provider needs of rtnetlink (src/vip/address.ts implements it). */
export interface AddressPort {
  link(ifname: string): Promise<LinkState>;
  has(ifname: string, ip: string, prefix: number): Promise<boolean>;
  add(
    ifname: string,
    ip: string,
    prefix: number,
    opts: { label?: string; scope?: 'universe' | 'host' },
  ): Promise<unknown>;
  remove(ifname: string, ip: string, prefix: number): Promise<unknown>;
  find(ip: string): Promise<{ ifname: string; prefix: number }[]>;
}

/** What it needs of the native addon: a kept-open AF_PACKET socket per interface. */
export interface PacketPort {
  open(ifname: string): number;
  send(fd: number, frame: Buffer): void;
  close(fd: number): void;
}

export interface FrameBuilder {
  (mac: string, vip: string): Buffer;
}

export interface ArpProviderOptions {
  ifname: string;
  vip: string;
  prefix: number;
  /** false: only add/remove the address (--arp=false on an interface). */
  announce: boolean;
  arpRateMs: number;
  addresses: AddressPort;
  packets: PacketPort;
  /** Builds the GARP request (IPv4) or the unsolicited NA (IPv6) for `vip` from `mac`. */
  frame: FrameBuilder;
  log: Logger;
  /**
   * Is this node's leadership valid at this instant (the elector's local view)? Read right before every
   * add and every frame: after a pause, timers run in expiry order, so a repeat could otherwise go out
   * before the elector's own deadline timer has run. Absent: always (no leader election).
   */
  leadingNow?: () => boolean;
  /** Extra announcements after the first, ms after acquiring. */
  burstMs?: number[];
  /** Called after each frame the kernel took (a send that did not fail), for metrics; must return at once. */
  onAnnounced?: () => void;
}

const DEFAULT_BURST_MS = [50, 250, 1000];

export class ArpProvider implements VipProvider {
  readonly name: string;
  private fd: number | null = null;
  private frameBytes: Buffer | null = null;
  private mac = '';
  private carrier = true;
  /** The ifindex the socket is bound to, and whether a send said that interface is gone. */
  private socketIndex = 0;
  private socketGone = false;
  /** Sockets reopen() replaced, closed after the announcement: a close blocks the loop for 8-20 ms. */
  private retired: number[] = [];
  private recovering: Promise<void> | null = null;
  private closed = false;
  private holding = false;
  private timers: NodeJS.Timeout[] = [];
  private readonly label: string | undefined;
  private acquireStartedAt = 0;

  constructor(private readonly o: ArpProviderOptions) {
    this.name = o.announce ? 'arp' : 'address-only';
    const label = `${o.ifname}:kvip`;
    // Linux address labels are at most 15 characters and must start with the interface name.
    this.label = isIP(o.vip) === 4 && label.length <= 15 ? label : undefined;
  }

  async prepare(): Promise<void> {
    const link = await this.o.addresses.link(this.o.ifname);
    this.mac = link.mac;
    this.carrier = link.carrier;
    // A VIP left by an earlier run (SIGKILL, then the kubelet restarted us) goes before anything else.
    await removeStaleVip(this.o.addresses, this.o.vip, this.o.log);
    if (this.o.announce) {
      this.fd = this.o.packets.open(this.o.ifname);
      this.socketIndex = link.index;
      this.frameBytes = this.o.frame(this.mac, this.o.vip);
    }
    // Warm the rtnetlink path now, so the first acquire (a failover) does not pay for it.
    await this.o.addresses.has(this.o.ifname, this.o.vip, this.o.prefix);
  }

  async acquire(): Promise<void> {
    this.acquireStartedAt = performance.now();
    if (!this.leading()) throw new NotLeadingError('adding the virtual IP');
    await this.o.addresses.add(this.o.ifname, this.o.vip, this.o.prefix, { label: this.label });
    this.holding = true;
    // The frame goes out before anything is logged: a log line is a write(2) the failover need not wait for.
    if (this.o.announce) {
      this.announce('first');
      this.schedule();
      // The interface was created again while we followed: the first frame went out on a new socket.
      if (this.recovering) await this.recovering;
    }
    this.o.log.info(
      { vip: `${this.o.vip}/${this.o.prefix}`, interface: this.o.ifname },
      'added the virtual IP',
    );
  }

  async release(): Promise<void> {
    this.holding = false;
    this.clearTimers();
    try {
      await this.o.addresses.remove(this.o.ifname, this.o.vip, this.o.prefix);
    } catch (err) {
      // Still on the interface: drift repair must go on seeing it as held.
      this.holding = true;
      throw err;
    }
    this.o.log.info(
      { vip: `${this.o.vip}/${this.o.prefix}`, interface: this.o.ifname },
      'removed the virtual IP',
    );
  }

  async reconcile(): Promise<void> {
    if (!this.holding) return;
    if (this.recovering) await this.recovering;
    this.closeRetired();
    const link = await this.o.addresses.link(this.o.ifname);
    const carrierBack = link.carrier && !this.carrier;
    this.carrier = link.carrier;
    this.track(link);
    const recreated =
      this.o.announce && (link.index !== this.socketIndex || this.socketGone) && this.reopen(link);
    const present = await this.o.addresses.has(this.o.ifname, this.o.vip, this.o.prefix);
    // Released while this check ran, or leadership lapsed: adding now would put the VIP back on a node
    // that no longer leads.
    if (!this.holding || !this.leading()) return;
    if (!present) {
      await this.o.addresses.add(this.o.ifname, this.o.vip, this.o.prefix, { label: this.label });
      this.o.log.warn(
        { vip: this.o.vip, interface: this.o.ifname },
        'the virtual IP was missing; added it back',
      );
      if (this.o.announce) this.announce('repair');
    } else if ((carrierBack || recreated) && this.o.announce) {
      this.announce(recreated ? 'interface recreated' : 'carrier back');
    }
    this.closeRetired();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.clearTimers();
    if (this.recovering) await this.recovering;
    this.closeRetired();
    if (this.fd !== null) this.o.packets.close(this.fd);
    this.fd = null;
  }

  private track(link: LinkState): void {
    if (link.mac !== this.mac && this.o.announce) {
      this.mac = link.mac;
      this.frameBytes = this.o.frame(this.mac, this.o.vip);
    }
  }

  /**
   * A socket for the interface as it is now. An AF_PACKET socket is bound to an ifindex: once that interface
   * is deleted every send fails (ENXIO), also after one of the same name is back. False if it cannot open.
   */
  private reopen(link: LinkState): boolean {
    if (this.closed) return false;
    let fd: number;
    try {
      fd = this.o.packets.open(this.o.ifname);
    } catch (err) {
      this.socketGone = true; // the next reconcile tries again
      this.o.log.warn(
        { err: errorMessage(err), interface: this.o.ifname },
        'cannot reopen the packet socket',
      );
      return false;
    }
    if (this.fd !== null) this.retired.push(this.fd);
    this.fd = fd;
    this.socketIndex = link.index;
    this.socketGone = false;
    this.track(link);
    this.o.log.info(
      { interface: this.o.ifname, ifindex: link.index },
      'the interface was created again: reopened its packet socket',
    );
    return true;
  }

  /** After a send found the interface gone: a new socket and an announcement as soon as it is back. */
  private recover(): Promise<void> {
    this.recovering ??= (async () => {
      try {
        const link = await this.o.addresses.link(this.o.ifname);
        if (this.reopen(link)) this.announce('interface recreated');
        this.closeRetired();
      } catch (err) {
        this.o.log.warn(
          { err: errorMessage(err), interface: this.o.ifname },
          'the interface is gone; the reconcile tick looks again',
        );
      } finally {
        this.recovering = null;
      }
    })();
    return this.recovering;
  }

  private closeRetired(): void {
    for (const fd of this.retired.splice(0)) {
      try {
        this.o.packets.close(fd);
      } catch {
        // unusable already; the kernel frees it either way
      }
    }
  }

  private schedule(): void {
    this.clearTimers();
    for (const ms of this.o.burstMs ?? DEFAULT_BURST_MS)
      this.timers.push(setTimeout(() => this.announce('burst'), ms));
    this.timers.push(setInterval(() => this.announce('repeat'), this.o.arpRateMs));
  }

  private announce(
    why: 'first' | 'burst' | 'repeat' | 'repair' | 'carrier back' | 'interface recreated',
  ): void {
    if (!this.holding || this.fd === null || !this.frameBytes) return;
    if (!this.leading()) {
      this.o.log.debug({ vip: this.o.vip, why }, 'leadership is not valid now: not announcing');
      return;
    }
    const kind = isIP(this.o.vip) === 6 ? 'unsolicited neighbour advertisement' : 'gratuitous ARP';
    try {
      this.o.packets.send(this.fd, this.frameBytes);
      countAnnouncement(this.o.onAnnounced);
      const fields = {
        vip: this.o.vip,
        mac: this.mac,
        interface: this.o.ifname,
        why,
        // From acquire() to the first frame on the wire: the part of a failover kvip itself adds.
        ...(why === 'first'
          ? { sinceAcquireMs: Number((performance.now() - this.acquireStartedAt).toFixed(3)) }
          : {}),
      };
      if (why === 'repeat' || why === 'burst') this.o.log.debug(fields, `sent ${kind}`);
      else
        this.o.log.info(fields, `Broadcasting ${kind} for ${this.o.vip} (${this.mac}) via ${this.o.ifname}`);
    } catch (err) {
      // ENETDOWN while the link is down: the reconcile tick announces again when carrier is back.
      // ENXIO/ENODEV: the interface the socket is bound to was deleted.
      this.o.log.warn({ err: errorMessage(err), why }, `failed to send ${kind}`);
      const code = (err as { code?: unknown } | null)?.code;
      if (code === 'ENXIO' || code === 'ENODEV') {
        this.socketGone = true;
        void this.recover();
      }
    }
  }

  private leading(): boolean {
    return this.o.leadingNow?.() ?? true;
  }

  private clearTimers(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
  }
}

/** A metrics hook that throws must not turn a sent frame into a failed one. */
function countAnnouncement(hook: (() => void) | undefined): void {
  try {
    hook?.();
  } catch {
    // ignored: counting is not announcing
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
