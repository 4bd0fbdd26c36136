// The test's side of the hand-scripted BGP peer (test/e2e/fixtures/bgp-peer.ts running in a namespace):
// connect, send, receive raw messages, and `establish` (OPEN, KEEPALIVE both ways). Used by the routers'
// smoke test and by the fixture capture (test/bgp/fixtures/capture.ts).
import { join } from 'node:path';

import { LineChild, type Reply } from '../../helpers/line-child.js';
import { decode, keepalive, MSG, open, type Decoded, type OpenOptions } from '../fixtures/bgp-wire.js';
import { ROOT } from './common.js';

const FIXTURE = join(ROOT, 'test/e2e/fixtures/bgp-peer.ts');

export type Received =
  | { kind: 'message'; raw: Buffer; decoded: Decoded; t: number }
  | { kind: 'closed'; error?: string; t: number }
  | { kind: 'timeout' };

export interface Established {
  /** The router's OPEN and first KEEPALIVE, byte-exact. */
  open: Buffer;
  keepalive: Buffer;
  /** Anything else received before the KEEPALIVE (none expected). */
  other: Buffer[];
  /** Milliseconds from the connect request to the router's KEEPALIVE. */
  ms: number;
}

export class ScriptedPeer {
  private constructor(private readonly child: LineChild) {}

  /** Starts the peer process in `ns`. Always `exit()` it (afterAll). */
  static async start(ns: string): Promise<ScriptedPeer> {
    const [child, first] = await LineChild.start(ns, FIXTURE, []);
    if (!first.ready) {
      child.kill();
      throw new Error(`bgp-peer did not start: ${JSON.stringify(first)}`);
    }
    return new ScriptedPeer(child);
  }

  private async call(req: Record<string, unknown>, timeoutMs = 15_000): Promise<Reply> {
    this.child.proc.stdin.write(`${JSON.stringify(req)}\n`);
    const r = await this.child.next(timeoutMs);
    if (r.error) throw new Error(`bgp-peer ${String(req.op)}: ${r.error.message}`);
    return r;
  }

  async connect(host: string, localAddress?: string, timeoutMs = 3000): Promise<void> {
    await this.call({ op: 'connect', host, localAddress, timeoutMs }, timeoutMs + 5000);
  }

  async send(...msgs: Buffer[]): Promise<void> {
    for (const m of msgs) await this.call({ op: 'send', hex: m.toString('hex') });
  }

  async recv(timeoutMs = 5000): Promise<Received> {
    const r = await this.call({ op: 'recv', timeoutMs }, timeoutMs + 5000);
    if (r.timeout) return { kind: 'timeout' };
    if (r.closed) return { kind: 'closed', t: r.t as number, ...(r.error ? { error: String(r.error) } : {}) };
    const raw = Buffer.from(r.hex as string, 'hex');
    return { kind: 'message', raw, decoded: decode(raw), t: r.t as number };
  }

  /** Receives until a message of `type` (MSG.*), returning it and what came before; throws on close/timeout. */
  async recvType(type: number, timeoutMs = 5000): Promise<{ msg: Buffer; before: Buffer[] }> {
    const deadline = Date.now() + timeoutMs;
    const before: Buffer[] = [];
    for (;;) {
      const left = deadline - Date.now();
      const r = left > 0 ? await this.recv(left) : ({ kind: 'timeout' } as const);
      if (r.kind === 'timeout') throw new Error(`no ${type} message in ${timeoutMs} ms`);
      if (r.kind === 'closed') {
        const seen = before.map((b) => decode(b).type).join(', ');
        throw new Error(`closed waiting for type ${type} (after: ${seen}) ${r.error ?? ''}`);
      }
      if (r.raw.readUInt8(18) === type) return { msg: r.raw, before };
      before.push(r.raw);
    }
  }

  /** Connects and runs the OPEN/KEEPALIVE exchange; the session is then Established at the router. */
  async establish(
    host: string,
    o: OpenOptions & { localAddress?: string },
    timeoutMs = 5000,
  ): Promise<Established> {
    const t0 = performance.now();
    await this.connect(host, o.localAddress);
    await this.send(open(o));
    const theirs = await this.recvType(MSG.OPEN, timeoutMs);
    await this.send(keepalive());
    const ka = await this.recvType(MSG.KEEPALIVE, timeoutMs);
    return {
      open: theirs.msg,
      keepalive: ka.msg,
      other: [...theirs.before, ...ka.before],
      ms: performance.now() - t0,
    };
  }

  /**
   * `establish`, retried every retryMs while the router refuses (closes, resets, times out) until timeoutMs:
   * a passive router accepts again only after its hold-down. Returns the attempts made too.
   */
  async establishWithin(
    host: string,
    o: OpenOptions & { localAddress?: string },
    timeoutMs = 20_000,
    retryMs = 200,
  ): Promise<Established & { attempts: number }> {
    const deadline = Date.now() + timeoutMs;
    for (let attempts = 1; ; attempts++) {
      try {
        return {
          ...(await this.establish(host, o, Math.min(3000, Math.max(500, deadline - Date.now())))),
          attempts,
        };
      } catch (err) {
        await this.close(true).catch(() => undefined);
        if (Date.now() + retryMs > deadline)
          throw new Error(`no session with ${host} after ${attempts} attempts: ${String(err)}`);
        await new Promise((r) => setTimeout(r, retryMs));
      }
    }
  }

  /** Sends a KEEPALIVE every intervalMs (0: stop), so the session outlives a long test. */
  async keepalives(intervalMs: number): Promise<void> {
    await this.call({ op: 'keepalives', intervalMs });
  }

  /** Closes the TCP connection: FIN, or RST with reset. */
  async close(reset = false): Promise<void> {
    await this.call({ op: 'close', reset });
  }

  /** Ends the process (bounded; SIGKILL if it does not answer). */
  async exit(): Promise<void> {
    try {
      await this.call({ op: 'exit' }, 2000);
    } catch {
      // already gone or stuck
    } finally {
      this.child.kill();
    }
  }
}
