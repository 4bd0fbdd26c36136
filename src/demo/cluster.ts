// The demo's cluster, in network namespaces named <tag>-<host>: a bridge (br), three control-plane nodes
// (n1..n3, eth0 on the bridge), the Lease API in its own namespace (api) and a client (cl), all on
// 198.51.100.0/24, with no route anywhere else. Every node has its "own API server" on 127.0.0.1:6443 (a
// forwarder to the Lease API), a kubeadm-like admin.conf naming the VIP, and a UDP responder; kvip runs on
// each as the built CLI. BGP mode puts a router (rt, running BIRD) between the client and the nodes
// (router.ts): the client's packets to the VIP follow the route the leader announces. destroy() is
// synchronous and idempotent, so signal and exit handlers can call it, and it removes every namespace with
// the tag, also those a crash left half made.
import { closeSync, openSync, rmSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Children, script, stdoutLines } from './children.js';
import {
  addBridge,
  addNamespace,
  deleteNamespace,
  ip,
  namespacesWithPrefix,
  plugIntoBridge,
} from './netns.js';
import {
  forwarderArgs,
  kvipStartArgs,
  leaseApiArgs,
  probeArgs,
  PROBE_READY,
  READY,
  readLease,
  responderArgs,
  writeAdminConf,
  type LeaseState,
  type ProbeEvent,
  type LeaseTimes,
} from './services.js';
import { bgpArgs, buildRouterLinks, ROUTED_VIP, ROUTER_ADDRESS, routeVia, startBird } from './router.js';

export type DemoMode = 'arp' | 'bgp';

const ARP_VIP = '198.51.100.100';
const API_ADDRESS = '198.51.100.2';
const CLIENT_ADDRESS = '198.51.100.3';

/** Thrown by a build step that resumes after destroy() (an interrupt during the build). */
export class ClusterClosedError extends Error {
  constructor() {
    super('the demo cluster was torn down');
  }
}

export class DemoCluster {
  readonly nodes = ['n1', 'n2', 'n3'];
  readonly vip: string;
  private readonly children = new Children();
  private readonly kvips = new Map<string, ChildProcess>();
  private closed = false;

  /** `tag`: the prefix of every namespace; `dir`: kubeconfigs, logs and the control socket. */
  constructor(
    readonly tag: string,
    readonly dir: string,
    readonly mode: DemoMode,
  ) {
    this.vip = mode === 'bgp' ? ROUTED_VIP : ARP_VIP;
  }

  /** Every namespace of the cluster, by its name after the tag. */
  get hosts(): string[] {
    return ['br', 'api', this.mode === 'bgp' ? 'rt' : '', 'cl', ...this.nodes].filter(Boolean);
  }

  ns(host: string): string {
    return `${this.tag}-${host}`;
  }

  nodeAddress(node: string): string {
    return `198.51.100.${10 + Number(node.slice(1))}`;
  }

  kvipLogFile(node: string): string {
    return join(this.dir, `${node}-kvip.log`);
  }

  private check(): void {
    if (this.closed) throw new ClusterClosedError();
  }

  /** Namespaces, links, the Lease API (and BIRD) and every node's forwarder and responder. */
  async build(): Promise<void> {
    const br = this.ns('br');
    const routed = this.mode === 'bgp';
    const onBridge: Array<[string, string]> = [
      ['api', API_ADDRESS],
      routed ? ['rt', ROUTER_ADDRESS] : ['cl', CLIENT_ADDRESS],
      ...this.nodes.map((n): [string, string] => [n, this.nodeAddress(n)]),
    ];
    this.check();
    for (const h of this.hosts) addNamespace(this.ns(h));
    addBridge(br);
    for (const [host, address] of onBridge) plugIntoBridge(br, this.ns(host), `p-${host}`, `${address}/24`);
    if (routed) {
      buildRouterLinks(
        this.ns('rt'),
        this.ns('cl'),
        this.nodes.map((n) => this.ns(n)),
        this.vip,
      );
      const peers = this.nodes.map((name) => ({ name, address: this.nodeAddress(name) }));
      await startBird(this.children, this.ns('rt'), this.dir, peers);
    }
    const api = { host: API_ADDRESS, sans: [this.vip], clients: this.nodes, dir: this.dir };
    // All at once: each is a node process whose start-up is most of the build's time.
    await Promise.all([
      this.ready('api', 'the Lease API', leaseApiArgs(api)),
      ...this.nodes.flatMap((n) => [
        this.ready(n, 'the API server forwarder', forwarderArgs(API_ADDRESS)),
        this.ready(n, 'the probe responder', responderArgs(n)),
      ]),
    ]);
    // The Lease API has written each node's credentials by the time it listens.
    for (const n of this.nodes) writeAdminConf(this.dir, n, this.vip);
  }

  /** Runs node with `args` in `host` until it says it is ready. */
  private async ready(host: string, what: string, args: string[], marker = READY): Promise<ChildProcess> {
    this.check();
    const argv = [process.execPath, ...args];
    const child = await this.children.spawnReady(this.ns(host), argv, marker, `${what} in ${host}`);
    this.check();
    return child;
  }

  /** The client's probe of the VIP: every line it prints, parsed, goes to `onEvent`. */
  async startProbe(intervalMs: number, slotMs: number, onEvent: (e: ProbeEvent) => void): Promise<void> {
    const child = await this.ready('cl', 'the probe', probeArgs(this.vip, intervalMs, slotMs), PROBE_READY);
    stdoutLines(child).on('line', (line) => {
      try {
        onEvent(JSON.parse(line) as ProbeEvent);
      } catch {
        // not a probe line
      }
    });
  }

  /** `kvip start` on `node` in the cluster's mode, its log (JSON lines on stderr) into kvipLogFile(node). */
  startKvip(node: string, lease: LeaseTimes): ChildProcess {
    this.check();
    const routed = this.mode === 'bgp';
    const args = kvipStartArgs({
      node,
      vip: this.vip,
      // BGP: the VIP on lo on every node, the route to it from the leader only.
      interface: routed ? 'lo' : 'eth0',
      kubeconfig: join(this.dir, node, 'admin.conf'),
      lease,
    });
    const modeArgs = routed ? bgpArgs() : ['--arp'];
    const log = openSync(this.kvipLogFile(node), 'a');
    try {
      const argv = [process.execPath, ...script('cli/bin'), ...args, ...modeArgs];
      const child = this.children.spawn(this.ns(node), argv, { stdio: ['ignore', 'ignore', log] });
      this.kvips.set(node, child);
      return child;
    } finally {
      closeSync(log);
    }
  }

  /** Signals the kvip of `node`; resolves with how it ended once it has. */
  stopKvip(node: string, signal: NodeJS.Signals): Promise<string> {
    const child = this.kvips.get(node);
    if (!child || child.exitCode !== null || child.signalCode !== null)
      return Promise.resolve(child ? ended(child.exitCode, child.signalCode) : 'not running');
    const exited = new Promise<string>((r) => child.once('exit', (code, sig) => r(ended(code, sig))));
    child.kill(signal);
    return exited;
  }

  /** Cuts `node` off the network (its eth0 down): with SIGKILL, a host that died. */
  linkDown(node: string): void {
    this.check();
    ip(['-n', this.ns(node), 'link', 'set', 'eth0', 'down']);
  }

  /** BGP: the node the router sends the VIP's traffic to ('' none); ARP: undefined. */
  routedTo(): string | undefined {
    if (this.mode !== 'bgp') return undefined;
    const via = routeVia(this.ns('rt'), this.vip);
    return this.nodes.find((n) => this.nodeAddress(n) === via) ?? '';
  }

  lease(): Promise<LeaseState> {
    return readLease(this.dir);
  }

  /** Leaves everything running when this process exits (--keep). */
  release(): void {
    this.children.release();
  }

  /** Kills what it started, deletes every namespace with its tag and its directory. */
  destroy(): void {
    this.closed = true;
    this.children.killAll();
    try {
      for (const ns of namespacesWithPrefix(`${this.tag}-`)) deleteNamespace(ns);
    } catch {
      // `ip netns list` failed: nothing was made
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function ended(code: number | null, signal: string | null): string {
  return signal ? `killed by ${signal}` : `exit ${code}`;
}
