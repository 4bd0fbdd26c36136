// A BGP peer for the session tests, driven step by step by the test: it listens on loopback, records every
// message it gets, and sends what the test tells it to (its OPEN, KEEPALIVEs, garbage). Real routers are in
// test/e2e; this one exists to make each state-machine rule observable on its own.
import net from 'node:net';
import { MessageReader, parseMessage } from '../../src/bgp/parse.js';
import { encodeKeepalive, encodeOpen, type Message } from '../../src/bgp/wire.js';
import { until } from '../helpers/wait.js';

export class ScriptedPeer {
  readonly received: Message[] = [];
  connections = 0;
  private server!: net.Server;
  private socket: net.Socket | undefined;
  private sockets = new Set<net.Socket>();
  /** Sent as soon as a connection comes in (like a passive router), unless null. */
  autoOpen: { as: number; holdTime: number; families?: Array<4 | 6> } | null = null;
  /** Answer our peer's OPEN with KEEPALIVE (OpenConfirm -> Established). */
  autoKeepalive = true;
  closedByRemote = 0;

  static async start(host = '127.0.0.1'): Promise<ScriptedPeer> {
    const p = new ScriptedPeer();
    p.server = net.createServer((s) => p.accept(s));
    await new Promise<void>((resolve) => p.server.listen(0, host, resolve));
    return p;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  private accept(s: net.Socket): void {
    this.connections++;
    this.sockets.add(s);
    this.socket = s;
    const reader = new MessageReader();
    s.on('data', (chunk: Buffer) => {
      for (const raw of reader.push(chunk)) {
        const m = parseMessage(raw, { fourOctetAs: true });
        this.received.push(m);
        if (m.type === 'open' && this.autoKeepalive) s.write(encodeKeepalive());
      }
    });
    s.on('end', () => {
      this.closedByRemote++;
      s.end();
    });
    s.on('error', () => undefined);
    s.on('close', () => this.sockets.delete(s));
    if (this.autoOpen)
      s.write(
        encodeOpen({
          localAs: this.autoOpen.as,
          holdTime: this.autoOpen.holdTime,
          routerId: '198.51.100.1',
          ...(this.autoOpen.families ? { families: this.autoOpen.families } : {}),
        }),
      );
  }

  send(bytes: Buffer): void {
    this.socket?.write(bytes);
  }

  /** Drops the current connection without a NOTIFICATION (a router crash the kernel reports as RST/FIN). */
  drop(): void {
    this.socket?.destroy();
  }

  of<T extends Message['type']>(type: T): Array<Extract<Message, { type: T }>> {
    return this.received.filter((m): m is Extract<Message, { type: T }> => m.type === type);
  }

  /**
   * Waits for the speaker's next periodic KEEPALIVE: whatever it wrote before it (an UPDATE it was about to
   * send) has arrived by then, so a check that nothing came is not a race.
   */
  async nextKeepalive(ms = 8000): Promise<void> {
    const mark = this.received.length;
    await until(
      () => this.received.slice(mark).some((m) => m.type === 'keepalive'),
      'the next KEEPALIVE',
      ms,
    );
  }

  async waitFor(what: string, cond: () => boolean, ms = 8000): Promise<void> {
    await until(cond, what, ms);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
