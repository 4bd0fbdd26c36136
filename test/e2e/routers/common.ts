// What the three router harnesses share: the option and result types, running a daemon's processes inside a
// namespace (log files, bounded stop, kill at exit), bounded CLI calls and polling, and the kernel table.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

export type RouterKind = 'gobgp' | 'bird' | 'frr';

export interface Neighbour {
  /** The speaker's address, IPv4 or IPv6: the session's remote end. */
  address: string;
  /** The speaker's AS; equal to localAs makes the session iBGP. */
  as: number;
  /** TCP MD5 (RFC 2385) key. */
  password?: string;
  /** Wait for the speaker to connect (default true: the speaker is the active side). */
  passive?: boolean;
  /** Seconds; default 9. */
  holdTime?: number;
  /** Seconds; default a third of holdTime. */
  keepalive?: number;
  /** eBGP multihop: true (TTL 255) or a TTL. Default: directly connected. */
  multihop?: boolean | number;
}

export interface RouterOptions {
  /** An existing namespace; the daemon runs in it (`ip netns exec`). */
  ns: string;
  routerId: string;
  localAs: number;
  /** The router's own addresses to listen on / source sessions from (IPv4 and/or IPv6). Default: all. */
  listen?: string[];
  neighbours: Neighbour[];
  /**
   * Install learned routes into the namespace's kernel table (BIRD: protocol kernel exporting the BGP
   * routes; FRR: zebra). GoBGP cannot (it would need zebra's FIB integration): asking for it throws, so use gobgp for
   * session and route tests and bird/frr where probes must follow the route.
   */
  installKernel?: boolean;
  /** Prefixes the router itself originates and announces to every neighbour (static routes). */
  originate?: string[];
  /**
   * Shorten the router's hold-down after a session drop, so that the speaker's next connection is accepted
   * sooner. BIRD: `error wait time 1, 2` (after an error, e.g. a NOTIFICATION it sent, it refuses
   * connections for 60 s by default, doubling up to 300 s on repeated errors; a FIN or a Cease from the
   * peer has no wait), plus `connect delay time 1` and `connect retry time 1` for an active neighbour. FRR:
   * `timers connect 1` (active side only; a passive FRR accepts again as soon as the old session is
   * cleared). GoBGP: `idle-hold-time-after-reset = 1`, which only counts after `gobgp neighbor X reset`:
   * after any other drop gobgpd stays Idle for a fixed 5 s (closing every connection it accepts), which no
   * setting changes. Default false: each daemon's own defaults.
   */
  fastReconnect?: boolean;
}

export interface LearnedRoute {
  prefix: string;
  nextHop: string;
  asPath: number[];
  localPref?: number;
  med?: number;
  /** "65000:100" */
  communities?: string[];
  /** 'igp' | 'egp' | 'incomplete' */
  origin?: string;
  /** The neighbour the route was learned from. */
  peer?: string;
  /** The daemon chose it as best. */
  best?: boolean;
}

export interface Session {
  peer: string;
  /** Lower-case FSM state: 'established', or 'idle', 'connect', 'active', 'opensent', 'openconfirm', ... */
  state: string;
  /** The daemon's account of why the last session ended, when it gives one. */
  lastError?: string;
}

export interface KernelRoute {
  prefix: string;
  via?: string;
  dev?: string;
  proto?: string;
}

export interface Router {
  readonly kind: RouterKind;
  readonly ns: string;
  /** The per-run directory of config, sockets, pid and log files (removed by stop()). */
  readonly dir: string;
  /** The routes the daemon has learned from its neighbours (not the ones it originates). */
  routes(family: 4 | 6): Promise<LearnedRoute[]>;
  sessions(): Promise<Session[]>;
  /** Polls probe until it returns a value other than undefined/false; throws (with the logs' tail) after timeoutMs. */
  waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs?: number): Promise<T>;
  /** Until the session with `peer` is in `state` (default 'established'). */
  waitForSession(peer: string, state?: string, timeoutMs?: number): Promise<Session>;
  /** Until `prefix` is learned (present) or gone (present=false). */
  waitForRoute(prefix: string, present?: boolean, timeoutMs?: number): Promise<LearnedRoute | null>;
  /** The namespace's kernel routes that this daemon installed. */
  kernelRoutes(family: 4 | 6): KernelRoute[];
  /**
   * The namespace's kernel counters of TCP MD5 drops: a wrong key or none is dropped by the kernel before
   * the daemon sees a connection, so it is in no daemon's log. notFound: segments without a signature
   * where one was expected; failure: with a wrong one; unexpected: signed where none was expected.
   */
  md5Drops(): { notFound: number; failure: number; unexpected: number };
  /** Everything the daemon wrote: its stdout, stderr and log files. */
  logs(): string;
  /** SIGTERM, then SIGKILL after timeoutMs; removes the directory. Idempotent. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<void>;
  /** Stops the daemon (SIGTERM, bounded) and starts it again with the same config; waits until it answers. */
  restart(): Promise<void>;
  /**
   * One command of the daemon's own CLI, its output: gobgp (arguments split on spaces, e.g. `neighbor
   * 198.51.100.2 disable`), birdc (`disable n0`), vtysh to bgpd (lines joined with newlines are one -c each,
   * e.g. `configure terminal\nrouter bgp 64512\nneighbor 198.51.100.2 shutdown`).
   */
  command(line: string): Promise<string>;
  /** The daemon's name for neighbour i's session where its CLI wants one (BIRD: n<i>; others: the address). */
  sessionName(i: number): string;
}

const DEFAULT_WAIT_MS = 15_000;

const living = new Set<ChildProcess>();
const dirs = new Set<string>();
// A test process that ends without stop() (a crash, a timeout) still takes its daemons and files down.
process.on('exit', () => {
  for (const c of living) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs a program (no shell) with a bound; resolves stdout, rejects with stderr. */
export function run(cmd: string, args: string[], timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${err.message} ${stderr}`.trim()));
      else resolve(stdout);
    });
  });
}

export function mkRunDir(kind: RouterKind): string {
  const dir = mkdtempSync(join(tmpdir(), `kvip-${kind}-`));
  dirs.add(dir);
  return dir;
}

export function kernelRoutes(ns: string, family: 4 | 6, protos: string[]): KernelRoute[] {
  const out = execFileSync('ip', [`-${family}`, '-n', ns, '-j', 'route', 'show'], { encoding: 'utf8' });
  const rows = JSON.parse(out || '[]') as {
    dst: string;
    gateway?: string;
    dev?: string;
    protocol?: string;
  }[];
  return rows
    .filter((r) => protos.includes(r.protocol ?? ''))
    .map((r) => ({
      prefix: r.dst.includes('/') ? r.dst : `${r.dst}/${family === 4 ? 32 : 128}`,
      ...(r.gateway ? { via: r.gateway } : {}),
      ...(r.dev ? { dev: r.dev } : {}),
      ...(r.protocol ? { proto: r.protocol } : {}),
    }));
}

/** TcpExt MD5 counters of a namespace, from its /proc/net/netstat (header line, then values line). */
export function md5Drops(ns: string): { notFound: number; failure: number; unexpected: number } {
  const text = execFileSync('ip', ['netns', 'exec', ns, 'cat', '/proc/net/netstat'], { encoding: 'utf8' });
  const [names = '', values = ''] = text.split('\n').filter((l) => l.startsWith('TcpExt:'));
  const row = new Map(names.split(/\s+/).map((n, i) => [n, Number(values.split(/\s+/)[i] ?? 0)]));
  return {
    notFound: row.get('TCPMD5NotFound') ?? 0,
    failure: row.get('TCPMD5Failure') ?? 0,
    unexpected: row.get('TCPMD5Unexpected') ?? 0,
  };
}

export interface Unit {
  name: string;
  argv: string[];
}

/**
 * The processes of one daemon (FRR: zebra and bgpd; the others one), each run as `ip netns exec <ns> argv`
 * (which execs, so the child's pid is the daemon's), stdout and stderr appended to <dir>/<name>.out.
 */
export class Processes {
  private children: ChildProcess[] = [];
  private savedLogs: string | undefined;
  private stopped = false;

  constructor(
    readonly ns: string,
    readonly dir: string,
    /** Files beside the .out files that the daemon logs to (included in logs()). */
    private readonly logFiles: string[] = [],
  ) {}

  /** Starts one unit; `ready` is polled (bounded) before returning; a unit that exits first fails the start. */
  async start(unit: Unit, ready: () => Promise<boolean>, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    const out = openSync(join(this.dir, `${unit.name}.out`), 'a');
    const child = spawn('ip', ['netns', 'exec', this.ns, ...unit.argv], {
      cwd: this.dir,
      stdio: ['ignore', out, out],
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
    });
    closeSync(out);
    this.children.push(child);
    living.add(child);
    child.once('exit', () => living.delete(child));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`${unit.name} exited (${child.exitCode ?? child.signalCode}):\n${this.tail()}`);
      if (await ready().catch(() => false)) return;
      if (Date.now() > deadline)
        throw new Error(`${unit.name} did not become ready in ${timeoutMs} ms:\n${this.tail()}`);
      await sleep(50);
    }
  }

  /** Signals every unit, last started first; SIGKILL for any still alive after timeoutMs. */
  async kill(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 5000): Promise<void> {
    for (const child of [...this.children].reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await gone;
      clearTimeout(timer);
    }
    this.children = [];
  }

  /** Final stop: kill, keep the logs in memory, remove the directory. */
  async stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    try {
      await this.kill(signal, timeoutMs);
    } finally {
      this.savedLogs = this.logs();
      rmSync(this.dir, { recursive: true, force: true });
      dirs.delete(this.dir);
    }
  }

  logs(): string {
    if (this.savedLogs !== undefined) return this.savedLogs;
    const files = [...this.logFiles, ...this.unitNames().map((n) => `${n}.out`)].map((f) =>
      join(this.dir, f),
    );
    return files
      .filter((f) => existsSync(f))
      .map((f) => `==> ${f.slice(this.dir.length + 1)} <==\n${readFileSync(f, 'utf8')}`)
      .join('\n');
  }

  private unitNames(): string[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .filter((f) => f.endsWith('.out'))
      .map((f) => f.slice(0, -4));
  }

  tail(lines = 40): string {
    return this.logs().split('\n').slice(-lines).join('\n');
  }
}

/** The parts of Router that do not depend on the daemon. */
export abstract class BaseRouter implements Router {
  abstract readonly kind: RouterKind;
  protected readonly procs: Processes;

  constructor(
    protected readonly opts: RouterOptions,
    readonly dir: string,
    logFiles: string[],
  ) {
    this.procs = new Processes(opts.ns, dir, logFiles);
  }

  get ns(): string {
    return this.opts.ns;
  }

  abstract routes(family: 4 | 6): Promise<LearnedRoute[]>;
  abstract sessions(): Promise<Session[]>;
  abstract command(line: string): Promise<string>;
  /** Starts the daemon's processes and waits until its control interface answers. */
  abstract launch(): Promise<void>;
  protected abstract readonly kernelProtos: string[];

  async waitFor<T>(
    what: string,
    probe: () => Promise<T | undefined | false>,
    timeoutMs = DEFAULT_WAIT_MS,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
      try {
        const v = await probe();
        if (v !== undefined && v !== false) return v;
      } catch (err) {
        last = err;
      }
      if (Date.now() > deadline) {
        const why = last ? ` (last error: ${String(last)})` : '';
        throw new Error(
          `${this.kind}: timed out after ${timeoutMs} ms waiting for ${what}${why}\n${this.procs.tail()}`,
        );
      }
      await sleep(100);
    }
  }

  waitForSession(peer: string, state = 'established', timeoutMs?: number): Promise<Session> {
    return this.waitFor(
      `session with ${peer} ${state}`,
      async () => (await this.sessions()).find((s) => s.peer === peer && s.state === state),
      timeoutMs,
    );
  }

  async waitForRoute(prefix: string, present = true, timeoutMs?: number): Promise<LearnedRoute | null> {
    const family = prefix.includes(':') ? 6 : 4;
    return this.waitFor(
      `${prefix} ${present ? 'learned' : 'gone'}`,
      async () => {
        const r = (await this.routes(family)).find((x) => x.prefix === prefix);
        if (present) return r;
        return r ? undefined : null;
      },
      timeoutMs,
    );
  }

  sessionName(i: number): string {
    const n = this.opts.neighbours[i];
    if (!n) throw new Error(`no neighbour ${i}`);
    return n.address;
  }

  kernelRoutes(family: 4 | 6): KernelRoute[] {
    return kernelRoutes(this.ns, family, this.kernelProtos);
  }

  md5Drops(): { notFound: number; failure: number; unexpected: number } {
    return md5Drops(this.ns);
  }

  logs(): string {
    return this.procs.logs();
  }

  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<void> {
    return this.procs.stop(signal, timeoutMs);
  }

  async restart(): Promise<void> {
    await this.procs.kill('SIGTERM');
    await this.launch();
  }
}

export const holdOf = (n: Neighbour): number => n.holdTime ?? 9;
export const keepaliveOf = (n: Neighbour): number => n.keepalive ?? Math.max(1, Math.floor(holdOf(n) / 3));
export const isV6 = (a: string): boolean => a.includes(':');
export const ttlOf = (n: Neighbour): number | undefined =>
  n.multihop === true ? 255 : typeof n.multihop === 'number' ? n.multihop : undefined;
