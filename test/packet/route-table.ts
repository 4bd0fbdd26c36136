// An in-memory IPv4 routing table that answers like the kernel, for the peer-route tests: `ip route get` is
// the longest prefix match (undefined when nothing matches), an exclusive add of a destination that has a
// route fails with EEXIST, and with `deny` set every add fails with EPERM (no CAP_NET_ADMIN).
import type { RoutePort } from '../../src/packet/peer-routes.js';

export interface Route {
  /** a.b.c.d/N */
  dst: string;
  gateway?: string;
  ifname: string;
}

function toNum(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

function covers(dst: string, ip: string): { prefix: number } | undefined {
  const [net, len] = dst.split('/') as [string, string];
  const prefix = Number(len);
  const size = 2 ** (32 - prefix);
  return Math.floor(toNum(ip) / size) === Math.floor(toNum(net) / size) ? { prefix } : undefined;
}

export function errno(code: string): Error & { code: string } {
  return Object.assign(new Error(`${code} (fake kernel)`), { code });
}

export class RouteTable implements RoutePort {
  readonly routes: Route[];
  /** Every add attempted, in order, as `dst via gateway`. */
  readonly adds: string[] = [];
  deny = false;
  /** Called right before an add is applied (e.g. to add the same route "concurrently"). */
  beforeAdd?: (dst: string) => void;

  constructor(routes: Route[] = []) {
    this.routes = [...routes];
  }

  lookup(address: string): Promise<{ gateway?: string; ifname?: string } | undefined> {
    let best: { r: Route; prefix: number } | undefined;
    for (const r of this.routes) {
      const m = covers(r.dst, address);
      if (m && (!best || m.prefix > best.prefix)) best = { r, prefix: m.prefix };
    }
    if (!best) return Promise.resolve(undefined);
    const { gateway, ifname } = best.r;
    return Promise.resolve(gateway === undefined ? { ifname } : { gateway, ifname });
  }

  add(destination: string, gateway: string): Promise<void> {
    this.adds.push(`${destination} via ${gateway}`);
    this.beforeAdd?.(destination);
    if (this.deny) return Promise.reject(errno('EPERM'));
    if (this.routes.some((r) => r.dst === destination)) return Promise.reject(errno('EEXIST'));
    this.routes.push({ dst: destination, gateway, ifname: 'bond0' });
    return Promise.resolve();
  }
}

/** A Metal server's table: default via the public gateway, the private /31 on bond0 and 10/8 via its gateway. */
export function metalHostRoutes(): Route[] {
  return [
    { dst: '0.0.0.0/0', gateway: '147.28.0.2', ifname: 'bond0' },
    { dst: '147.28.0.2/31', ifname: 'bond0' },
    { dst: '10.70.0.2/31', ifname: 'bond0' },
    { dst: '10.0.0.0/8', gateway: '10.70.0.2', ifname: 'bond0' },
  ];
}
