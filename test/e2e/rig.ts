// A control-plane cluster on one machine, in network namespaces: a bridge, N nodes (eth0 on the bridge), the
// fake kube-apiserver and a client; what runs there, and how, is shared with `kvip demo` (src/demo). Laid
// out like kubeadm: every node has its own API server on 127.0.0.1:6443 (a forwarder to the fake), its
// kubeconfig (<node>/admin.conf) names the VIP as the server, and the serving certificate carries the
// kubernetes names and the VIP but no loopback address. Each node runs the real built CLI (`kvip start`) or
// keepalived, and a UDP responder; the client probes the VIP every 2 ms; `ip monitor` on every node records
// each VIP add/delete. Everything is named with a per-run tag and torn down in destroy() (and at process
// exit).
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  createWriteStream,
  mkdtempSync,
  rmSync,
  openSync,
  closeSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { lineMatching, stdoutLines } from '../../src/demo/children.js';
import { addBridge, addNamespace, ip, plugIntoBridge } from '../../src/demo/netns.js';
import { addRouteToClient, buildRouterLinks, routeVia } from '../../src/demo/router.js';
import {
  controlSocket,
  forwarderArgs,
  kvipStartArgs,
  leaseApiArgs,
  leaseHolder,
  probeArgs,
  PROBE_READY,
  READY,
  responderArgs,
  writeAdminConf,
  type ProbeEvent,
} from '../../src/demo/services.js';
import { unixRequest } from '../../src/demo/unix-request.js';

export { ip } from '../../src/demo/netns.js';
export { PROBE_PORT, type ProbeEvent } from '../../src/demo/services.js';
export { unixRequest } from '../../src/demo/unix-request.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'dist/cli/bin.js');

const alive = new Set<string>(); // namespaces to delete at exit if a test dies first
const running = new Set<ChildProcess>(); // and processes to kill
function cleanupAtExit(): void {
  for (const child of running) child.kill('SIGKILL');
  for (const ns of alive) {
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
}
process.on('exit', cleanupAtExit);
// A benchmark stopped with ^C or a timeout still takes its namespaces down.
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(sig, () => {
    cleanupAtExit();
    process.exit(130);
  });

export interface VipEvent {
  t: number;
  node: string;
  op: 'add' | 'del';
}

export interface RigOptions {
  family: 4 | 6;
  nodes?: number;
  /**
   * A router namespace `rt` between the client and the nodes (IPv4 only): the client sits on its own link
   * (203.0.113.0/28) and reaches the VIP (203.0.113.100, an Elastic IP) only through the router's route for
   * it, which whoever plays the cloud re-points (metal-rig.ts). The nodes route the client's link via rt.
   */
  router?: boolean;
}

function wallMs(stamp: string): number {
  // `ip -ts` prints local time with microseconds; the rig runs with TZ unset (UTC on these machines).
  return Date.parse(stamp.replace(/(\.\d{3})\d*/, '$1') + 'Z');
}

export class Rig {
  readonly tag = `kv${process.pid % 100000}${Math.floor(Math.random() * 36 ** 2).toString(36)}`;
  readonly dir = mkdtempSync(join(tmpdir(), 'kvip-e2e-'));
  readonly nodes: string[];
  readonly vip: string;
  readonly apiAddress: string;
  readonly vipEvents: VipEvent[] = [];
  readonly probeEvents: ProbeEvent[] = [];
  /** Router rig: every change of rt's kernel route for the VIP (via '' = deleted), from `ip monitor route`. */
  readonly routeEvents: Array<{ t: number; via: string }> = [];
  private readonly children = new Set<ChildProcess>();
  private readonly kvips = new Map<string, ChildProcess>();
  private readonly localApiServers = new Map<string, ChildProcess>();
  /** Runs of kvip per node: each run logs to its own file. */
  private readonly runs = new Map<string, number>();
  private readonly family: 4 | 6;
  readonly router: boolean;

  private constructor(o: RigOptions) {
    this.family = o.family;
    this.router = o.router === true;
    if (this.router && o.family !== 4) throw new Error('the router rig is IPv4 only');
    this.nodes = Array.from({ length: o.nodes ?? 3 }, (_, i) => `n${i + 1}`);
    this.vip = this.router ? '203.0.113.100' : o.family === 6 ? '2001:db8::100' : '198.51.100.100';
    this.apiAddress = o.family === 6 ? '2001:db8::2' : '198.51.100.2';
  }

  ns(name: string): string {
    return `${this.tag}-${name}`;
  }

  private addr(i: number): string {
    return this.family === 6 ? `2001:db8::${i}/64` : `198.51.100.${i}/24`;
  }

  static async create(o: RigOptions): Promise<Rig> {
    const rig = new Rig(o);
    try {
      rig.build();
      await rig.startApiServer();
      for (const n of rig.nodes) {
        writeAdminConf(rig.dir, n, rig.vip);
        await rig.startLocalApiServer(n);
      }
      for (const n of rig.nodes) await rig.spawnReady(n, 'responder', responderArgs(n));
      await rig.startMonitors();
    } catch (err) {
      await rig.destroy();
      throw err;
    }
    return rig;
  }

  /** `node`'s own API server on 127.0.0.1:6443: a forwarder to the fake. */
  async startLocalApiServer(node: string): Promise<void> {
    const proxy = await this.spawnReady(node, 'apiserver-proxy', forwarderArgs(this.apiAddress));
    this.localApiServers.set(node, proxy);
  }

  /** Stops `node`'s own API server (the forwarder): connections to 127.0.0.1:6443 are refused there. */
  async stopLocalApiServer(node: string): Promise<void> {
    const proxy = this.localApiServers.get(node);
    this.localApiServers.delete(node);
    if (!proxy || proxy.exitCode !== null || proxy.signalCode !== null) return;
    const exited = new Promise((r) => proxy.once('exit', r));
    proxy.kill('SIGKILL');
    await exited;
  }

  /** The fake itself, bypassing the nodes' own API servers (as a DaemonSet reaches it through a Service). */
  get apiServerUrl(): string {
    return `https://${this.family === 6 ? `[${this.apiAddress}]` : this.apiAddress}:6443`;
  }

  /** Every namespace of the rig but the bridge. */
  private hosts(): string[] {
    return [...this.nodes, 'api', 'cl', ...(this.router ? ['rt'] : [])];
  }

  private build(): void {
    const br = this.ns('br');
    const hosts = this.hosts().filter((h) => !(this.router && h === 'cl'));
    for (const h of [br, ...this.hosts().map((h) => this.ns(h))]) {
      alive.add(h);
      addNamespace(h);
    }
    addBridge(br);
    hosts.forEach((h, i) => {
      const hostIndex = h === 'rt' ? 1 : h === 'api' ? 2 : h === 'cl' ? 3 : 10 + Number(h.slice(1));
      plugIntoBridge(br, this.ns(h), `${this.tag}o${i}`, this.addr(hostIndex));
    });
    if (this.router) this.buildRouter();
  }

  /** rt: eth0 on the bridge (198.51.100.1), eth1 to the client (203.0.113.1/28); forwarding, no rp_filter. */
  private buildRouter(): void {
    buildRouterLinks(
      this.ns('rt'),
      this.ns('cl'),
      this.nodes.map((n) => this.ns(n)),
      this.vip,
    );
  }

  /** The router's next hop for the VIP ('' when it has no route: nobody gets the traffic). */
  routeVia(): string {
    return routeVia(this.ns('rt'), this.vip);
  }

  /** Point the router's route for the VIP at `gateway`, or remove it (''). */
  setRoute(gateway: string): void {
    if (gateway === '') {
      try {
        ip(['-n', this.ns('rt'), 'route', 'del', `${this.vip}/32`]);
      } catch {
        // no route
      }
    } else ip(['-n', this.ns('rt'), 'route', 'replace', `${this.vip}/32`, 'via', gateway]);
  }

  /** The address of `node` on the bridge. */
  nodeAddress(node: string): string {
    return this.addr(10 + Number(node.slice(1))).split('/')[0] as string;
  }

  private spawnIn(
    host: string,
    logName: string,
    args: string[],
    cmd = process.execPath,
    env: Record<string, string> = {},
  ): ChildProcess {
    const out = openSync(join(this.dir, `${logName}.log`), 'a');
    const child = spawn('ip', ['netns', 'exec', this.ns(host), cmd, ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', out],
      env: { PATH: process.env.PATH, NODE_OPTIONS: '', ...env },
    });
    closeSync(out);
    this.children.add(child);
    running.add(child);
    child.once('exit', () => {
      this.children.delete(child);
      running.delete(child);
    });
    return child;
  }

  async spawnReady(host: string, logName: string, args: string[], marker = READY): Promise<ChildProcess> {
    const child = this.spawnIn(host, `${host}-${logName}`, args);
    await lineMatching(child, marker, `${logName} on ${host}`);
    return child;
  }

  private async startApiServer(): Promise<void> {
    const args = leaseApiArgs({
      host: this.apiAddress,
      sans: [this.vip],
      clients: this.nodes,
      dir: this.dir,
    });
    await this.spawnReady('api', 'apiserver', args, /^listening/);
  }

  private async startMonitors(): Promise<void> {
    for (const n of this.nodes) {
      const child = spawn('ip', ['-ts', '-o', '-n', this.ns(n), 'monitor', 'address'], {
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      this.children.add(child);
      running.add(child);
      createInterface({ input: child.stdout }).on('line', (line) => {
        const m = /^\[([^\]]+)\]\s*(Deleted )?\d+:\s+\S+\s+inet6? (\S+)\//.exec(line);
        if (!m || m[3] !== this.vip) return;
        this.vipEvents.push({ t: wallMs(m[1] as string), node: n, op: m[2] ? 'del' : 'add' });
      });
    }
    if (this.router) {
      const child = spawn('ip', ['-ts', '-o', '-n', this.ns('rt'), 'monitor', 'route'], {
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      this.children.add(child);
      running.add(child);
      createInterface({ input: child.stdout }).on('line', (line) => {
        // "[time] [Deleted ]203.0.113.100 [nhid 12 ]via 198.51.100.12 dev eth0 proto bird ..."
        const m = /^\[([^\]]+)\]\s*(Deleted )?(\S+?)(?:\/32)? /.exec(line);
        if (!m || m[3] !== this.vip) return;
        const via = / via (\S+)/.exec(line)?.[1] ?? '';
        this.routeEvents.push({ t: wallMs(m[1] as string), via: m[2] ? '' : via });
      });
    }
    await new Promise((r) => setTimeout(r, 200)); // let `ip monitor` subscribe
  }

  /** kubeadm's admin.conf for `node`: its client credentials, the VIP as the server. */
  kubeconfig(node: string): string {
    return join(this.dir, node, 'admin.conf');
  }

  /** Starts `kvip start` on `node` (the built CLI, as the static pod runs it). */
  startKvip(
    node: string,
    lease: { ld: number; rd: number; rp: number },
    extra: string[] = [],
    env: Record<string, string> = {},
  ): ChildProcess {
    const args = [
      BIN,
      ...kvipStartArgs({
        node,
        vip: this.vip,
        interface: this.router ? 'lo' : 'eth0',
        kubeconfig: this.kubeconfig(node),
        lease,
      }),
      ...extra,
    ];
    const run = (this.runs.get(node) ?? 0) + 1;
    this.runs.set(node, run);
    const child = this.spawnIn(node, `${node}-kvip-${run}`, args, process.execPath, env);
    child.stdout?.resume();
    this.kvips.set(node, child);
    return child;
  }

  /**
   * keepalived on `node` (the layer-2 yardstick): VRRPv2 or v3, all BACKUP with nopreempt, the same VIP.
   * Tracked like kvip, so stopKvip() signals it too.
   */
  startKeepalived(node: string, version: 2 | 3, advertInt: number): ChildProcess {
    const i = this.nodes.indexOf(node);
    const conf = join(this.dir, `${node}-keepalived.conf`);
    writeFileSync(
      conf,
      [
        'global_defs {',
        `  router_id ${node}`,
        `  vrrp_version ${version}`,
        '}',
        'vrrp_instance VI_1 {',
        '  state BACKUP',
        '  interface eth0',
        '  virtual_router_id 51',
        `  priority ${100 + i}`,
        `  advert_int ${advertInt}`,
        '  nopreempt',
        '  virtual_ipaddress {',
        `    ${this.vip}/${this.family === 6 ? 128 : 32} dev eth0`,
        '  }',
        '}',
        '',
      ].join('\n'),
    );
    const run = (this.runs.get(node) ?? 0) + 1;
    this.runs.set(node, run);
    const pid = (what: string) => join(this.dir, `${node}-${run}-${what}.pid`);
    const child = this.spawnIn(
      node,
      `${node}-kvip-${run}`,
      [
        '--dont-fork',
        '--log-console',
        '--vrrp',
        '-f',
        conf,
        '-p',
        pid('main'),
        '-r',
        pid('vrrp'),
        '-c',
        pid('checkers'),
      ],
      'keepalived',
    );
    // keepalived logs to stdout with --log-console: into the same file as its stderr.
    child.stdout?.pipe(createWriteStream(join(this.dir, `${node}-kvip-${run}.log`), { flags: 'a' }));
    this.kvips.set(node, child);
    return child;
  }

  /** pid of the kvip (or keepalived) process on `node`: `ip netns exec` execs it, so it is the child's. */
  pidOf(node: string): number | undefined {
    return this.kvips.get(node)?.pid;
  }

  /** The log of the latest run of kvip on `node`. */
  kvipLog(node: string): string {
    return this.readLog(node, this.runs.get(node) ?? 0);
  }

  /** The logs of every run of kvip on `node`, oldest first. */
  kvipLogs(node: string): string[] {
    return Array.from({ length: (this.runs.get(node) ?? 0) + 1 }, (_v, run) => this.readLog(node, run));
  }

  private readLog(node: string, run: number): string {
    try {
      return readFileSync(join(this.dir, `${node}-kvip-${run}.log`), 'utf8');
    } catch {
      return '';
    }
  }

  /** Signals the kvip of `node` and waits for it to exit; returns the exit code. */
  async stopKvip(node: string, signal: NodeJS.Signals): Promise<number | null> {
    const child = this.kvips.get(node);
    if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    // `ip netns exec` execs the command, so the child pid is kvip itself.
    child.kill(signal);
    return exited;
  }

  async startProbe(intervalMs = 2): Promise<void> {
    const child = await this.spawnReady('cl', 'probe', probeArgs(this.vip, intervalMs), PROBE_READY);
    stdoutLines(child).on('line', (line) => {
      try {
        this.probeEvents.push(JSON.parse(line) as ProbeEvent);
      } catch {
        // not a probe line
      }
    });
  }

  /**
   * One GET to 127.0.0.1:`port` inside `node`'s namespace (kvip's metrics server by default), by a node
   * process run there; bounded.
   */
  httpGet(node: string, path: string, port = 2112): Promise<{ status: number; body: string }> {
    const script =
      'fetch(process.argv[1], { signal: AbortSignal.timeout(4000) }).then(async (r) => ' +
      'process.stdout.write(JSON.stringify({ status: r.status, body: await r.text() })))' +
      '.catch((e) => { console.error(e.message); process.exit(1); })';
    const url = `http://127.0.0.1:${port}${path}`;
    return new Promise((resolve, reject) => {
      execFile(
        'ip',
        ['netns', 'exec', this.ns(node), process.execPath, '-e', script, url],
        { encoding: 'utf8', timeout: 10000, env: { PATH: process.env.PATH, NODE_OPTIONS: '' } },
        (err, stdout, stderr) =>
          err
            ? reject(new Error(`GET ${url} on ${node}: ${stderr.trim() || err.message}`))
            : resolve(JSON.parse(stdout) as { status: number; body: string }),
      );
    });
  }

  /** Which nodes have the VIP on eth0 (lo in the router rig) right now. */
  holders(): string[] {
    const dev = this.router ? 'lo' : 'eth0';
    return this.nodes.filter((n) =>
      ip(['-n', this.ns(n), '-j', 'addr', 'show', 'dev', dev]).includes(`"${this.vip}"`),
    );
  }

  /** The one node holding the VIP, or undefined when none or several do (one read per node). */
  soleHolder(): string | undefined {
    const h = this.holders();
    return h.length === 1 ? h[0] : undefined;
  }

  /** eth0's MAC address on `host`. */
  mac(host: string): string {
    const [link] = JSON.parse(ip(['-n', this.ns(host), '-j', 'link', 'show', 'dev', 'eth0'])) as {
      address: string;
    }[];
    return link?.address ?? '';
  }

  /** SIGSTOP / SIGCONT the kvip of `node` (a paused process; its kernel still runs). */
  pause(node: string): void {
    this.kvips.get(node)?.kill('SIGSTOP');
  }

  resume(node: string): void {
    this.kvips.get(node)?.kill('SIGCONT');
  }

  /**
   * tcpdump on `host`'s eth0 with `filter`, written to a file; stop() ends it and returns the frames as
   * `tcpdump -e -n -tt` prints them (epoch seconds first, then the link-layer header).
   */
  async capture(host: string, filter: string): Promise<{ stop: () => Promise<string[]> }> {
    const file = join(this.dir, `${host}-${Date.now()}.pcap`);
    const child = spawn(
      'ip',
      ['netns', 'exec', this.ns(host), 'tcpdump', '-i', 'eth0', '-U', '-n', '-w', file, filter],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    this.children.add(child);
    running.add(child);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('tcpdump did not start')), 10000);
      createInterface({ input: child.stderr! }).on('line', (line) => {
        if (/listening on/.test(line)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => reject(new Error(`tcpdump exited with ${code}`)));
    });
    const exited = new Promise((r) => child.once('exit', r));
    let frames: Promise<string[]> | undefined;
    return {
      // Idempotent: a test's finally may call it again after a failed assertion.
      stop: () => (frames ??= this.readCapture(child, exited, file)),
    };
  }

  private async readCapture(child: ChildProcess, exited: Promise<unknown>, file: string): Promise<string[]> {
    child.kill('SIGINT');
    await exited;
    this.children.delete(child);
    running.delete(child);
    return execFileSync('tcpdump', ['-r', file, '-e', '-n', '-tt'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .split('\n')
      .filter(Boolean);
  }

  /** The Lease as the fake API server holds it (holderIdentity), or '' if there is none. */
  leaseHolder(): Promise<string> {
    return leaseHolder(this.dir);
  }

  linkDown(node: string): void {
    ip(['-n', this.ns(node), 'link', 'set', 'eth0', 'down']);
  }

  linkUp(node: string): void {
    ip(['-n', this.ns(node), 'link', 'set', 'eth0', 'up']);
    // A link that went down took its routes with it: the way back to the client, in the router rig.
    if (this.router) addRouteToClient(this.ns(node));
  }

  deleteVip(node: string): void {
    ip(['-n', this.ns(node), 'addr', 'del', `${this.vip}/${this.family === 6 ? 128 : 32}`, 'dev', 'eth0']);
  }

  /** The fake apiserver's control API, over its unix socket. */
  control(method: string, path: string, body?: unknown): Promise<{ status: number; body: string }> {
    return unixRequest(controlSocket(this.dir), method, path, body);
  }

  /** The client's first switch, after `since`, to a node other than `from`: who answers now and the outage. */
  async switchedFrom(from: string, since: number, ms: number): Promise<ProbeEvent> {
    let found: ProbeEvent | undefined;
    const switched = (e: ProbeEvent) => e.type === 'switch' && e.t > since && e.to !== from;
    await this.waitFor(
      () => (found = this.probeEvents.find(switched)) !== undefined,
      ms,
      'another node to answer',
    );
    return found!;
  }

  async waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /**
   * Total ms after `since` during which two or more live nodes held the VIP, from the `ip monitor` events.
   * A node in `deadNodes` (host cut off at that time) stops counting as a holder from then on.
   */
  dualHolderMs(since = 0, deadNodes: Map<string, number> = new Map()): number {
    const timeline = [
      ...this.vipEvents,
      ...[...deadNodes].map(([node, t]) => ({ t, node, op: 'del' as const })),
    ].sort((a, b) => a.t - b.t);
    const holding = new Set<string>();
    let dual = 0;
    let last = since;
    for (const e of timeline) {
      if (holding.size > 1 && e.t > last) dual += e.t - Math.max(last, since);
      last = Math.max(last, e.t);
      const deadAt = deadNodes.get(e.node);
      if (e.op === 'add' && !(deadAt !== undefined && e.t >= deadAt)) holding.add(e.node);
      else if (e.op === 'del') holding.delete(e.node);
    }
    return dual;
  }

  async destroy(): Promise<void> {
    for (const child of this.children) child.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 50));
    for (const h of [this.ns('br'), ...this.hosts().map((x) => this.ns(x))]) {
      try {
        ip(['netns', 'del', h]);
      } catch {
        // not created
      }
      alive.delete(h);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
