// `kvip check --bgp` (peers from the flags): for each peer, the route the kernel would take to it (source
// address, interface, gateway) and a TCP connection to its port 179 made as the session makes it (the native
// connect: the MD5 key and the TTL on the socket before the SYN), closed at once without a byte sent, so the
// peer sees no OPEN and no session.
import { closeSync } from 'node:fs';
import type { Config } from '../config/index.js';
import type { PeerConfig } from '../bgp/config.js';
import { speakerConfigFromFlags } from '../bgp/peers.js';
import { loadNative, type NativeError, type RouteLookup } from '../native/index.js';
import { tcpConnect } from '../native/tcp.js';
import { ipBytes } from '../vip/frames.js';
import type { CheckRow } from './row.js';

/** Long enough for a peer a few hops away, short enough for a check. */
const CONNECT_MS = 3000;
const RTN_LOCAL = 2;

interface Route {
  source?: string;
  ifname?: string;
  gateway?: string;
}

/** The kernel's answer to `ip route get <peer>`: a Route, or why there is none. */
function routeTo(address: string): Route | string {
  const native = loadNative();
  const ip = ipBytes(address);
  if (!ip) return 'not an IP address';
  let r: RouteLookup | undefined;
  try {
    r = native.routeGet(ip.family, ip.bytes);
  } catch (err) {
    return `the route to it refuses traffic (${(err as NativeError).code ?? String(err)})`;
  }
  if (!r) return `no route to it: add one (ip route get ${address} finds none)`;
  if (r.type === RTN_LOCAL) return 'it is an address of this node';
  const [link] = r.ifindex !== undefined ? (native.links(r.ifindex) as { name?: string }[]) : [];
  return {
    ...(r.source ? { source: r.source } : {}),
    ...(link?.name ? { ifname: link.name } : {}),
    ...(r.gateway ? { gateway: r.gateway } : {}),
  };
}

function describeRoute(r: Route): string {
  const parts = [r.source ? `from ${r.source}` : '', r.ifname ? `on ${r.ifname}` : ''];
  if (r.gateway) parts.push(`via ${r.gateway}`);
  return parts.filter(Boolean).join(' ');
}

function failure(code: string, peer: PeerConfig, route: Route): string {
  const from = route.source ?? 'this node';
  switch (code) {
    case 'ECONNREFUSED':
      return `refused (ECONNREFUSED): nothing listens on ${peer.address}:179, or it refuses ${from}`;
    case 'ETIMEDOUT':
      return peer.password !== undefined
        ? `no connection within ${CONNECT_MS / 1000} s (ETIMEDOUT): check the peer's password or that it accepts this address (${from})`
        : `no answer within ${CONNECT_MS / 1000} s (ETIMEDOUT): the peer is down or unreachable, a firewall drops the SYN, or it does not accept ${from}`;
    case 'EHOSTUNREACH':
      return `unreachable (EHOSTUNREACH): nothing answers ARP / neighbour discovery for ${route.gateway ?? peer.address}${route.ifname ? ` on ${route.ifname}` : ''}`;
    case 'ENETUNREACH':
      return 'no route (ENETUNREACH)';
    default:
      return `cannot connect (${code})`;
  }
}

async function peerRow(peer: PeerConfig): Promise<CheckRow> {
  const check = `BGP peer ${peer.address}`;
  const route = routeTo(peer.address);
  if (typeof route === 'string') return { check, ok: false, detail: route };
  const how = [peer.password !== undefined ? 'MD5' : '', peer.ttl !== undefined ? `TTL ${peer.ttl}` : '']
    .filter(Boolean)
    .join(', ');
  try {
    const fd = await tcpConnect({
      address: peer.address,
      port: peer.port,
      timeoutMs: CONNECT_MS,
      ...(peer.localAddress ? { localAddress: peer.localAddress } : {}),
      ...(peer.ttl !== undefined ? { ttl: peer.ttl } : {}),
      ...(peer.password !== undefined ? { md5Key: peer.password } : {}),
    });
    closeSync(fd);
  } catch (err) {
    const code = (err as NativeError).code ?? 'error';
    return { check, ok: false, detail: `${failure(code, peer, route)}; route: ${describeRoute(route)}` };
  }
  return {
    check,
    ok: true,
    detail: `port ${peer.port} accepts a connection ${describeRoute(route)}${how ? ` (${how})` : ''}; no OPEN sent`,
  };
}

export async function bgpPeerRows(config: Config): Promise<CheckRow[]> {
  const { peers } = speakerConfigFromFlags(config);
  return Promise.all(
    peers.map((p) =>
      peerRow(p).catch((err: unknown) => ({
        check: `BGP peer ${p.address}`,
        ok: false,
        detail: err instanceof Error ? err.message : String(err),
      })),
    ),
  );
}
