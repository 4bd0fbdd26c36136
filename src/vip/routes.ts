// The kernel's routing table as the Packet BGP setup needs it (peer-routes.ts's RoutePort): what route
// reaches an address, and adding a host route via a gateway. Synchronous rtnetlink through the addon.
import { loadNative } from '../native/index.js';
import type { RoutePort } from '../packet/peer-routes.js';
import { ipBytes } from './frames.js';

function bytes(address: string): { family: 4 | 6; b: Buffer } {
  const ip = ipBytes(address);
  if (!ip) throw new TypeError(`invalid IP address ${JSON.stringify(address)}`);
  return { family: ip.family, b: ip.bytes };
}

export function kernelRoutes(): RoutePort {
  const native = loadNative();
  const nameOf = (index: number | undefined): string | undefined => {
    if (index === undefined) return undefined;
    const [link] = native.links(index) as Array<{ name?: string }>;
    return link?.name;
  };
  return {
    async lookup(address) {
      const { family, b } = bytes(address);
      const r = native.routeGet(family, b);
      if (!r) return undefined;
      const ifname = nameOf(r.ifindex);
      return { ...(r.gateway ? { gateway: r.gateway } : {}), ...(ifname ? { ifname } : {}) };
    },
    async add(destination, gateway) {
      const [address = '', length = ''] = destination.split('/');
      const { family, b } = bytes(address);
      native.routeAdd(family, b, Number(length), bytes(gateway).b, null);
    },
  };
}
