// The demo's cluster, in network namespaces named <tag>-<host>: a bridge (br), three control-plane nodes
// (n1..n3, eth0 on the bridge), the Lease API in its own namespace (api) and a client (cl), all on
// 198.51.100.0/24, with no route anywhere else. Every node has its "own API server" on 127.0.0.1:6443 (a
// forwarder to the Lease API), a kubeadm-like admin.conf naming the VIP, and a UDP responder; kvip runs on
// each as the built CLI. destroy() is synchronous and idempotent, so signal and exit handlers can call it,
// and it removes every namespace with the tag, also those a crash left half made.
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

export const VIP = '198.51.100.100';
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
  readonly vip = VIP;
  private readonly children = new Children();
  private readonly kvips = new Map<string, ChildProcess>();
  private closed = false;

  /** `tag`: the prefix of every namespace; `dir`: kubeconfigs, logs and the control socket. */
  constructor(
    readonly tag: string,
    readonly dir: string,
  ) {}

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

  /** Namespaces, links, the Lease API and every node's forwarder and responder. */
  async build(): Promise<void> {
    const br = this.ns('br');
    const hosts: Array<[string, string]> = [
      ['api', API_ADDRESS],
      ['cl', CLIENT_ADDRESS],
      ...this.nodes.map((n): [string, string] => [n, this.nodeAddress(n)]),
    ];
    this.check();
    addNamespace(br);
    addBridge(br);
    for (const [host, address] of hosts) {
      addNamespace(this.ns(host));
      plugIntoBridge(br, this.ns(host), `p-${host}`, `${address}/24`);
    }
    await this.ready(
      'api',
      leaseApiArgs({ host: API_ADDRESS, sans: [VIP], clients: this.nodes, dir: this.dir }),
    );
    for (const n of this.nodes) {
      writeAdminConf(this.dir, n, VIP);
      await this.ready(n, forwarderArgs(API_ADDRESS));
      await this.ready(n, responderArgs(n));
    }
  }

  private async ready(host: string, args: string[], marker = READY): Promise<ChildProcess> {
    this.check();
    const child = await this.children.spawnReady(
      this.ns(host),
      [process.execPath, ...args],
      marker,
      `${args.find((a) => /(main|forwarder|responder|probe)\.[jt]s$/.test(a)) ?? args[0]} in ${host}`,
    );
    this.check();
    return child;
  }

  /** The client's probe of the VIP: every line it prints, parsed, goes to `onEvent`. */
  async startProbe(intervalMs: number, slotMs: number, onEvent: (e: ProbeEvent) => void): Promise<void> {
    const child = await this.ready('cl', probeArgs(VIP, intervalMs, slotMs), PROBE_READY);
    stdoutLines(child).on('line', (line) => {
      try {
        onEvent(JSON.parse(line) as ProbeEvent);
      } catch {
        // not a probe line
      }
    });
  }

  /** `kvip start` on `node` in ARP mode, its log (JSON lines on stderr) into kvipLogFile(node). */
  startKvip(node: string, lease: LeaseTimes): ChildProcess {
    this.check();
    const args = kvipStartArgs({
      node,
      vip: VIP,
      interface: 'eth0',
      kubeconfig: join(this.dir, node, 'admin.conf'),
      lease,
    });
    const log = openSync(this.kvipLogFile(node), 'a');
    try {
      const child = this.children.spawn(
        this.ns(node),
        [process.execPath, ...script('cli/bin'), ...args, '--arp'],
        {
          stdio: ['ignore', 'ignore', log],
        },
      );
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

  lease(): Promise<LeaseState> {
    return readLease(this.dir);
  }

  /** Leaves everything running when this process exits (--keep). */
  release(): void {
    this.children.release();
  }

  /** Kills what it started, deletes every namespace with its tag and (unless kept) its directory. */
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
