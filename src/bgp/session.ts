// One BGP session to one peer: the RFC 4271 finite state machine for an active-only speaker that announces
// and never learns. All its timing rules live here:
//   - Connect: the dial is bounded (connectTimeoutMs); with a TCP MD5 key a refused connect is silence.
//   - OpenSent: our OPEN goes first; the peer's must come within openHoldMs (RFC 4271 suggests 4 minutes).
//   - Hold time: min(ours, the peer's); 0 means no keepalives and no hold timer. The receive hold timer is
//     enforced: no message from the peer within it is a Hold Timer Expired NOTIFICATION and a reconnect.
//   - Keepalives: every min(keepaliveS, hold / 3) once OpenConfirm is reached.
//   - Reconnect: exponential backoff from backoffInitialMs, doubling, with jitter, capped at backoffMaxMs
//     (30 s). The count resets once a session stayed Established for ESTABLISHED_RESET_MS, so a peer that
//     takes the session and drops it at once is not hammered.
// Logging is per state change, not per attempt: a failure already seen since the last Established is a debug
// line (a router that alternates between refusing and rejecting us is two warnings, not one per attempt).
import { isIP } from 'node:net';
import type net from 'node:net';
import type { Logger } from '../log.js';
import type { PeerConfig } from './config.js';
import type { Dialer } from './dial.js';
import { BgpError, CeaseSubcode, ErrorCode, OpenSubcode, describeNotification } from './errors.js';
import { MessageReader, parseMessage } from './parse.js';
import {
  AS_TRANS,
  encodeAnnounce,
  encodeCease,
  encodeKeepalive,
  encodeNotification,
  encodeOpen,
  encodeWithdraw,
  prefixBytes,
  type Message,
  type OpenMessage,
  type Prefix,
} from './wire.js';

export type SessionState = 'idle' | 'connect' | 'open-sent' | 'open-confirm' | 'established';

export interface SessionOptions {
  peer: PeerConfig;
  localAs: number;
  /** BGP identifier; absent: sharedRouterId, else this session's local IPv4 address (then kept there). */
  routerId?: string;
  /** The router id the speaker's sessions agreed on when none was configured. */
  sharedRouterId?: { value?: string };
  dial: Dialer;
  log: Logger;
  /** Read right before every announcement is written: false means nothing is announced now. */
  mayAnnounce: () => boolean;
  communities?: number[];
  localPref?: number;
  connectTimeoutMs?: number;
  openHoldMs?: number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  random?: () => number;
  onStateChange?: (state: SessionState, session: Session) => void;
}

const ESTABLISHED_RESET_MS = 10_000;

export class Session {
  state: SessionState = 'idle';
  private socket: net.Socket | undefined;
  private reader = new MessageReader();
  private wanted = new Set<Prefix>();
  private advertised = new Set<Prefix>();
  private lastWrite: Promise<void> = Promise.resolve();
  private holdTimer: NodeJS.Timeout | undefined;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private holdMs = 0;
  private fourOctetAs = false;
  private failures = 0;
  private establishedAt = 0;
  /** Failures logged since the session was last Established: each is a warning once, then debug. */
  private problems = new Set<string>();
  private stopped = false;
  private generation = 0;
  /** The peer's OPEN of the current session. */
  peerOpen: OpenMessage | undefined;
  private warnedFamily = false;

  constructor(private readonly o: SessionOptions) {}

  get peer(): string {
    return isIP(this.o.peer.address) === 6 ? `[${this.o.peer.address}]` : this.o.peer.address;
  }

  get ibgp(): boolean {
    return this.o.peer.peerAs === this.o.localAs;
  }

  start(): void {
    if (this.stopped || this.state !== 'idle' || this.retryTimer) return;
    void this.connect();
  }

  /** What this node wants the peer to have from it; sent now if Established, else after it gets there. */
  setRoutes(prefixes: Iterable<Prefix>): void {
    this.wanted = new Set(prefixes);
    if (this.state === 'established') this.sync();
  }

  /** Resolves once everything written so far is in the kernel's send buffer (or the socket is gone). */
  flushed(): Promise<void> {
    return this.lastWrite;
  }

  /**
   * Bytes written but not yet handed to the kernel. libuv tries the write at once, so this is 0 right after a
   * write unless the socket's send buffer was full: the UPDATE is then in the kernel before write() returns.
   */
  unsentBytes(): number {
    return this.socket?.writableLength ?? 0;
  }

  /** Cease to the peer (if a session is open), then close; no reconnect. Bounded by timeoutMs. */
  async close(timeoutMs = 1000, reason = 'kvip is shutting down'): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const socket = this.socket;
    if (!socket) return;
    if (this.state !== 'connect') this.write(encodeCease(CeaseSubcode.AdministrativeShutdown, reason));
    const written = this.lastWrite;
    socket.end();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([written, new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    this.teardown();
  }

  private async connect(): Promise<void> {
    const generation = ++this.generation;
    this.setState('connect');
    const p = this.o.peer;
    const ttl = p.ttl;
    let socket: net.Socket;
    try {
      socket = await this.o.dial({
        address: p.address,
        port: p.port,
        timeoutMs: this.o.connectTimeoutMs ?? 5000,
        ...(p.localAddress ? { localAddress: p.localAddress } : {}),
        ...(ttl !== undefined ? { ttl } : {}),
        ...(p.password ? { password: p.password } : {}),
      });
    } catch (err) {
      if (generation !== this.generation || this.stopped) return;
      this.fail(this.dialProblem(err as Error & { code?: string }));
      return;
    }
    if (generation !== this.generation || this.stopped) {
      socket.destroy();
      return;
    }
    this.socket = socket;
    this.reader = new MessageReader();
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (err: Error & { code?: string }) => {
      if (this.socket === socket) this.fail(`the connection failed: ${err.code ?? err.message}`);
    });
    socket.on('close', () => {
      if (this.socket === socket) this.fail('the peer closed the connection');
    });
    // Without --bgpRouterID: the local address of the first IPv4 session, then the same on every session.
    const shared = this.o.sharedRouterId ?? {};
    let routerId = this.o.routerId ?? shared.value;
    if (!routerId) {
      if (isIP(socket.localAddress ?? '') !== 4)
        return this.fail('no router id: set --bgpRouterID (the session is not IPv4)');
      routerId = shared.value = socket.localAddress as string;
    }
    this.write(encodeOpen({ localAs: this.o.localAs, holdTime: p.holdTimeS, routerId }));
    this.setState('open-sent');
    this.armHold(this.o.openHoldMs ?? 240_000);
  }

  private dialProblem(err: Error & { code?: string }): string {
    const where = `${this.peer}:${this.o.peer.port}`;
    if (err.code === 'ETIMEDOUT')
      return this.o.peer.password
        ? `no TCP connection to ${where}: with a TCP MD5 password set, a wrong password (or a peer without one) looks exactly like this; check the peer's password`
        : `no TCP connection to ${where} (timed out: the peer is unreachable or drops the connection)`;
    if (err.code === 'ECONNREFUSED')
      return `${where} refused the connection (no BGP speaker there takes us as a neighbour)`;
    return `cannot connect to ${where}: ${err.code ?? err.message}`;
  }

  private receive(chunk: Buffer): void {
    try {
      for (const raw of this.reader.push(chunk)) {
        if (this.socket === undefined) return;
        this.handle(parseMessage(raw, { fourOctetAs: this.fourOctetAs }));
      }
    } catch (err) {
      if (err instanceof BgpError) return this.abort(err);
      throw err;
    }
  }

  private handle(m: Message): void {
    // Every message from the peer restarts the receive hold timer (OPEN sets it in opened()).
    if (this.holdMs > 0 && this.state !== 'open-sent') this.armHold(this.holdMs);
    if (m.type === 'notification') {
      const what = describeNotification(m.code, m.subcode);
      const hint =
        m.code === ErrorCode.Open && m.subcode === OpenSubcode.BadPeerAs
          ? `: it does not take AS ${this.o.localAs} from us (check --localAS and the peer's neighbour config)`
          : m.code === ErrorCode.Open && m.subcode === 5
            ? ': check the TCP MD5 password'
            : '';
      return this.fail(`the peer sent NOTIFICATION ${what}${hint}`);
    }
    switch (this.state) {
      case 'open-sent':
        if (m.type !== 'open') throw new BgpError(ErrorCode.Fsm, 1, `${m.type} before OPEN`);
        return this.opened(m);
      case 'open-confirm':
        if (m.type !== 'keepalive') throw new BgpError(ErrorCode.Fsm, 2, `${m.type} in OpenConfirm`);
        return this.established();
      case 'established':
        if (m.type === 'open') throw new BgpError(ErrorCode.Fsm, 3, 'OPEN in Established');
        // UPDATEs, End-of-RIB and KEEPALIVEs are parsed (checked) and discarded; a ROUTE-REFRESH asks for
        // what we announce again.
        if (m.type === 'route-refresh') this.resend();
        return;
      default:
        return;
    }
  }

  private opened(open: OpenMessage): void {
    const p = this.o.peer;
    const peerAs = open.as4 ?? open.myAs;
    if (open.as4 === undefined && open.myAs === AS_TRANS)
      throw new BgpError(ErrorCode.Open, OpenSubcode.BadPeerAs, 'AS_TRANS without the 4-octet AS capability');
    if (peerAs !== p.peerAs) {
      const data = Buffer.alloc(2);
      data.writeUInt16BE(open.myAs, 0);
      throw new BgpError(
        ErrorCode.Open,
        OpenSubcode.BadPeerAs,
        `the peer is AS ${peerAs}, but it is configured as AS ${p.peerAs}`,
        data,
      );
    }
    this.peerOpen = open;
    this.fourOctetAs = open.as4 !== undefined;
    const hold = Math.min(open.holdTime, p.holdTimeS);
    this.holdMs = hold * 1000;
    this.write(encodeKeepalive());
    this.setState('open-confirm');
    // Hold time 0 means no hold timer once Established; until then the OPEN wait still bounds OpenConfirm.
    this.armHold(this.holdMs > 0 ? this.holdMs : (this.o.openHoldMs ?? 240_000));
    if (this.holdMs > 0) {
      const every = Math.max(1000, Math.min(p.keepaliveS * 1000, Math.floor(this.holdMs / 3)));
      this.keepaliveTimer = setInterval(() => this.write(encodeKeepalive()), every);
    }
  }

  private established(): void {
    this.establishedAt = Date.now();
    if (this.holdMs === 0) clearTimeout(this.holdTimer);
    this.advertised.clear();
    this.setState('established');
    const families = this.peerOpen?.families ?? [];
    this.o.log.info(
      {
        peer: this.o.peer.address,
        peerAs: this.o.peer.peerAs,
        holdTime: this.holdMs / 1000,
        families: families.map((f) => `${f.afi}/${f.safi}`),
      },
      `BGP session with ${this.peer} established`,
    );
    this.problems.clear();
    this.sync();
  }

  /**
   * A ROUTE-REFRESH: send what is announced again. Only while announcing is allowed: otherwise what the peer
   * has from us stays recorded, so the withdraw that follows the end of leadership still goes out.
   */
  private resend(): void {
    if (!this.o.mayAnnounce()) return;
    this.advertised.clear();
    this.sync();
  }

  /** Announce what is wanted and not yet sent (if announcing is allowed now); withdraw what is no longer wanted. */
  private sync(): void {
    const add = [...this.wanted].filter((p) => !this.advertised.has(p));
    const remove = [...this.advertised].filter((p) => !this.wanted.has(p));
    for (const group of byFamily(remove)) {
      this.write(encodeWithdraw(group));
      group.forEach((p) => this.advertised.delete(p));
    }
    if (add.length === 0 || !this.o.mayAnnounce()) return;
    const nextHop = this.socket?.localAddress;
    if (!nextHop) return;
    for (const group of byFamily(add)) {
      if (!this.peerTakes(prefixBytes(group[0] as Prefix).family)) continue;
      this.write(
        encodeAnnounce(group, {
          localAs: this.o.localAs,
          ibgp: this.ibgp,
          fourOctetAs: this.fourOctetAs,
          nextHop,
          ...(this.o.localPref !== undefined ? { localPref: this.o.localPref } : {}),
          ...(this.o.communities ? { communities: this.o.communities } : {}),
        }),
      );
      group.forEach((p) => this.advertised.add(p));
    }
  }

  /**
   * Whether the peer's OPEN offered unicast for this family (no multiprotocol capability at all means IPv4
   * only, RFC 4760). A route of a family the peer did not offer is not sent: it would be ignored or reset
   * the session. Warned once per session, naming the fix.
   */
  private peerTakes(family: 4 | 6): boolean {
    const families = this.peerOpen?.families ?? [];
    const afi = family === 4 ? 1 : 2;
    const ok = families.length === 0 ? family === 4 : families.some((f) => f.afi === afi && f.safi === 1);
    if (!ok && !this.warnedFamily) {
      this.warnedFamily = true;
      this.o.log.warn(
        { peer: this.o.peer.address },
        `BGP session with ${this.peer}: the peer did not offer IPv${family} unicast in its OPEN, so the virtual IP is not announced to it; activate that address family for this neighbour on the router`,
      );
    }
    return ok;
  }

  private write(bytes: Buffer): void {
    const socket = this.socket;
    if (!socket || socket.destroyed) return;
    this.lastWrite = new Promise((resolve) => socket.write(bytes, () => resolve()));
  }

  private armHold(ms: number): void {
    clearTimeout(this.holdTimer);
    this.holdTimer = setTimeout(() => {
      this.abort(new BgpError(ErrorCode.HoldTimerExpired, 0, `nothing from the peer for ${ms / 1000} s`));
    }, ms);
  }

  /** An error we detected: tell the peer with a NOTIFICATION, then drop the connection and retry later. */
  private abort(err: BgpError): void {
    this.write(encodeNotification(err.code, err.subcode, err.data));
    this.socket?.end();
    this.fail(`sent NOTIFICATION ${err.message}`);
  }

  private fail(problem: string): void {
    if (this.stopped) return;
    const wasEstablished = this.state === 'established';
    this.teardown();
    if (wasEstablished && Date.now() - this.establishedAt >= ESTABLISHED_RESET_MS) this.failures = 0;
    const delay = this.backoff();
    this.failures++;
    const fields = { peer: this.o.peer.address, retryInMs: Math.round(delay) };
    if (wasEstablished) this.o.log.warn(fields, `BGP session with ${this.peer} down: ${problem}`);
    else if (!this.problems.has(problem))
      this.o.log.warn(fields, `BGP session with ${this.peer}: ${problem}`);
    else this.o.log.debug(fields, `BGP session with ${this.peer}: ${problem} (again)`);
    this.problems.add(problem);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, delay);
  }

  private backoff(): number {
    const initial = this.o.backoffInitialMs ?? 1000;
    const max = this.o.backoffMaxMs ?? 30_000;
    const ceiling = Math.min(max, initial * 2 ** Math.min(this.failures, 20));
    return ceiling / 2 + ((this.o.random ?? Math.random)() * ceiling) / 2;
  }

  private teardown(): void {
    clearTimeout(this.holdTimer);
    clearInterval(this.keepaliveTimer);
    this.holdTimer = this.keepaliveTimer = undefined;
    const socket = this.socket;
    this.socket = undefined;
    this.generation++;
    if (socket) {
      socket.removeAllListeners('data');
      socket.on('error', () => undefined);
      // end() above let a NOTIFICATION go out; destroy once it is written.
      void this.lastWrite.then(() => socket.destroy());
      setTimeout(() => socket.destroy(), 1000).unref();
    }
    this.advertised.clear();
    this.peerOpen = undefined;
    this.warnedFamily = false;
    this.holdMs = 0;
    this.lastWrite = Promise.resolve();
    if (this.state !== 'idle') this.setState('idle');
  }

  private setState(state: SessionState): void {
    this.state = state;
    this.o.onStateChange?.(state, this);
  }
}

function byFamily(prefixes: Prefix[]): Prefix[][] {
  const v4 = prefixes.filter((p) => prefixBytes(p).family === 4);
  const v6 = prefixes.filter((p) => prefixBytes(p).family === 6);
  return [v4, v6].filter((g) => g.length > 0);
}
