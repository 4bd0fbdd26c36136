// The e2e rig for BGP mode: the router rig (rig.ts with `router`) whose router namespace runs a real BGP
// daemon (BIRD 2 or FRR; gobgpd cannot install routes into the kernel), passive, with every node as a
// neighbour. The daemon installs what it learns into rt's kernel table, so the client's probes of the VIP
// follow the BGP route to whichever node announces it. Optionally the Metal fake serves the neighbours
// instead of flags (--bgp --packet).
import type { ChildProcess } from 'node:child_process';
import { Rig } from './rig.js';
import { startRouter, type Router, type RouterKind } from './routers/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const ROUTER_ADDRESS = '198.51.100.1';
export const ROUTER_AS = 64512;
export const NODE_AS = 64513;

export interface BgpRigOptions {
  router: Exclude<RouterKind, 'gobgp'>;
  /** Hold time both sides offer, seconds (default 3). */
  holdTime?: number;
  /** TCP MD5 key on every session. */
  password?: string;
  nodes?: number;
  /** Default ROUTER_AS / NODE_AS. */
  routerAs?: number;
  nodeAs?: number;
}

export class BgpRig {
  private constructor(
    readonly rig: Rig,
    readonly router: Router,
    readonly o: BgpRigOptions,
    private readonly ownsRig: boolean,
  ) {}

  static async create(o: BgpRigOptions): Promise<BgpRig> {
    const rig = await Rig.create({ family: 4, router: true, ...(o.nodes ? { nodes: o.nodes } : {}) });
    try {
      return await BgpRig.attach(rig, o, true);
    } catch (err) {
      await rig.destroy();
      throw err;
    }
  }

  /** The daemon on the router of an existing router rig (the Metal rig's); destroy() then only stops it. */
  static async attach(rig: Rig, o: BgpRigOptions, ownsRig = false): Promise<BgpRig> {
    const router = await startRouter(o.router, {
      ns: rig.ns('rt'),
      routerId: ROUTER_ADDRESS,
      localAs: o.routerAs ?? ROUTER_AS,
      listen: [ROUTER_ADDRESS],
      neighbours: rig.nodes.map((n) => ({
        address: rig.nodeAddress(n),
        as: o.nodeAs ?? NODE_AS,
        holdTime: o.holdTime ?? 3,
        ...(o.password ? { password: o.password } : {}),
      })),
      installKernel: true,
      fastReconnect: true,
    });
    return new BgpRig(rig, router, o, ownsRig);
  }

  get prefix(): string {
    return `${this.rig.vip}/32`;
  }

  get holdTime(): number {
    return this.o.holdTime ?? 3;
  }

  /** kube-vip's BGP flags for a node of this rig. */
  bgpArgs(): string[] {
    return [
      '--bgp',
      '--peerAddress',
      ROUTER_ADDRESS,
      '--peerAS',
      String(this.o.routerAs ?? ROUTER_AS),
      '--localAS',
      String(this.o.nodeAs ?? NODE_AS),
      '--holdTime',
      String(this.holdTime),
      ...(this.o.password ? ['--peerPass', this.o.password] : []),
    ];
  }

  startKvip(...[node, lease, extra = [], env = {}]: Parameters<Rig['startKvip']>): ChildProcess {
    return this.rig.startKvip(node, lease, [...this.bgpArgs(), ...extra], env);
  }

  /** The nodes the daemon has a path to the VIP from (by next hop), best first. */
  async announcers(): Promise<string[]> {
    const routes = (await this.router.routes(4)).filter((r) => r.prefix === this.prefix);
    routes.sort((a, b) => Number(b.best === true) - Number(a.best === true));
    return routes.map((r) => this.nodeOf(r.nextHop));
  }

  /** The node rt's kernel routes the VIP to ('' when it has no route). */
  kernelHolder(): string {
    const via = this.rig.routeVia();
    return via === '' ? '' : this.nodeOf(via);
  }

  /**
   * Until the one leader in the Lease is the one path the router has and its kernel route, with every node's
   * session up; returns the leader. Throws what it saw after ms.
   */
  async settled(ms: number, pollMs = 50): Promise<string> {
    const end = Date.now() + ms;
    for (;;) {
      const leader = await this.rig.leaseHolder();
      const paths = await this.announcers();
      const sessions = await this.router.sessions();
      const up = sessions.filter((s) => s.state === 'established').length;
      const kernel = this.kernelHolder();
      if (leader !== '' && up === this.rig.nodes.length && paths.length === 1 && paths[0] === leader)
        if (kernel === leader) return leader;
      if (Date.now() > end)
        throw new Error(
          `not settled: lease ${leader}, paths ${paths.join(',')}, kernel ${kernel}, sessions ${JSON.stringify(sessions)}`,
        );
      await sleep(pollMs);
    }
  }

  /** Until a leader other than `old` is the router's one path; returns it. */
  async movedFrom(old: string, ms: number): Promise<string> {
    const end = Date.now() + ms;
    for (;;) {
      const leader = await this.rig.leaseHolder();
      const paths = await this.announcers();
      if (leader !== '' && leader !== old && paths.length === 1 && paths[0] === leader) return leader;
      if (Date.now() > end)
        throw new Error(`the route did not move: lease ${leader}, paths ${paths.join(',')}`);
      await sleep(50);
    }
  }

  nodeOf(address: string): string {
    return this.rig.nodes.find((n) => this.rig.nodeAddress(n) === address) ?? `?${address}`;
  }

  async destroy(): Promise<void> {
    await this.router.stop();
    if (this.ownsRig) await this.rig.destroy();
  }
}
