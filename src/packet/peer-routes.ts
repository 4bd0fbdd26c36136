// Host routes to Metal's BGP peers. Metal's IPv4 peers are 169.254.255.1 and .2, multihop, behind the
// device's PRIVATE gateway; the host's default route goes out through the public gateway, where they do not
// answer. So each one gets `<peer>/32 via <private gateway>` unless the kernel already routes it that way.
//
// Only IPv4 peers in 169.254.0.0/16 are routed here. Metal's IPv6 peers sit behind the public IPv6 gateway,
// which is the host's default IPv6 route, and an IPv4 gateway cannot carry them anyway; any other IPv4 peer
// (a non-multihop session's peer is the private gateway itself) is reached by the routes the host has.
import { BlockList, isIPv4 } from 'node:net';
import { ConfigError } from '../config/index.js';
import type { Logger } from '../log.js';
import type { PeerConfig } from '../bgp/config.js';
import type { MetalMetadataAddress } from './types.js';

/**
 * The kernel's routing table, as much of it as this needs. Failures reject with an Error whose `code` is
 * the errno name, as the native addon's do (EEXIST: that destination has a route already, EPERM: no
 * CAP_NET_ADMIN).
 */
export interface RoutePort {
  /** The route the kernel would use to reach `address` (`ip route get`); undefined when there is none. */
  lookup(address: string): Promise<{ gateway?: string; ifname?: string } | undefined>;
  /** Adds `destination` (a.b.c.d/32) via `gateway`, exclusively: EEXIST when that destination has a route. */
  add(destination: string, gateway: string): Promise<void>;
}

/**
 * What a peer needs: `present` (routed via the gateway), `connected` (on a connected network, no gateway),
 * `missing` (no route, or one via another gateway), `unmanaged` (not a peer this module routes).
 */
export type PeerRouteState = 'present' | 'connected' | 'missing' | 'unmanaged';

export interface PeerRoute {
  peer: string;
  state: PeerRouteState;
  /** The gateway the kernel uses now, when it uses one. */
  via?: string;
}

const METAL_PEERS = new BlockList();
METAL_PEERS.addSubnet('169.254.0.0', 16, 'ipv4');

/** Whether kvip routes this peer itself: an IPv4 address in 169.254.0.0/16 (see the top of the file). */
export function routedPeer(address: string): boolean {
  return isIPv4(address) && METAL_PEERS.check(address, 'ipv4');
}

/** The command that adds the route by hand, as the errors print it. */
export function routeCommand(peer: string, gateway: string): string {
  return `ip route add ${peer}/32 via ${gateway}`;
}

/**
 * The device's private IPv4 address and its gateway, from the metadata document's network.addresses (or a
 * device's ip_addresses, which carry the same fields): the entry with public=false and address_family 4.
 */
export function privateIpv4(
  addresses: readonly Partial<MetalMetadataAddress>[] | undefined,
): { address: string; gateway: string } | undefined {
  const a = (addresses ?? []).find(
    (x) =>
      x.public === false &&
      x.address_family === 4 &&
      typeof x.address === 'string' &&
      isIPv4(x.address) &&
      typeof x.gateway === 'string' &&
      isIPv4(x.gateway),
  );
  return a ? { address: a.address as string, gateway: a.gateway as string } : undefined;
}

function errnoOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'error';
}

/** The kernel's route to `peer`; an unreachable network (route get's ENETUNREACH) counts as no route. */
async function lookup(routes: RoutePort, peer: string): Promise<{ gateway?: string } | undefined> {
  try {
    return await routes.lookup(peer);
  } catch (err) {
    if (errnoOf(err) === 'ENETUNREACH' || errnoOf(err) === 'EHOSTUNREACH') return undefined;
    throw err;
  }
}

/**
 * Where each peer stands, only reading the table (for `kvip check` too). A multihop peer (ttl 255) is never
 * taken as connected: some distributions put a 169.254.0.0/16 link-scope route on the main interface, which
 * looks connected but does not reach Metal's peers.
 */
export async function planPeerRoutes(
  peers: readonly Pick<PeerConfig, 'address' | 'ttl'>[],
  gateway: string,
  routes: RoutePort,
): Promise<PeerRoute[]> {
  const out: PeerRoute[] = [];
  for (const peer of new Set(peers.map((p) => p.address))) {
    if (!routedPeer(peer)) {
      out.push({ peer, state: 'unmanaged' });
      continue;
    }
    const multihop = peers.some((p) => p.address === peer && p.ttl === 255);
    const r = await lookup(routes, peer);
    const via = r?.gateway;
    const state: PeerRouteState =
      via === gateway
        ? 'present'
        : r !== undefined && via === undefined && !multihop
          ? 'connected'
          : 'missing';
    out.push(via === undefined ? { peer, state } : { peer, state, via });
  }
  return out;
}

/**
 * Adds `<peer>/32 via <gateway>` for every peer whose route is missing, and logs each one added. When a
 * route cannot be added (EPERM: kvip lacks CAP_NET_ADMIN; EEXIST: a /32 via another gateway is in the way;
 * anything else), tries the others and then throws one ConfigError naming the commands that are needed.
 */
export async function ensurePeerRoutes(
  peers: readonly Pick<PeerConfig, 'address' | 'ttl'>[],
  gateway: string,
  routes: RoutePort,
  log: Logger,
): Promise<PeerRoute[]> {
  if (!isIPv4(gateway))
    throw new ConfigError(`the private gateway ${JSON.stringify(gateway)} is not an IPv4 address`);
  const plan = await planPeerRoutes(peers, gateway, routes);
  const failed: Array<{ peer: string; why: string; command: string }> = [];
  for (const p of plan) {
    if (p.state !== 'missing') continue;
    const route = `${p.peer}/32`;
    try {
      await routes.add(route, gateway);
    } catch (err) {
      const code = errnoOf(err);
      // EEXIST: someone added it between the lookup and now (fine if it goes via the gateway), or there is a
      // /32 through another gateway, which only the admin may replace.
      const now = code === 'EEXIST' ? await lookup(routes, p.peer) : undefined;
      if (now?.gateway === gateway) {
        p.state = 'present';
        p.via = gateway;
        continue;
      }
      failed.push(
        code === 'EEXIST'
          ? {
              peer: p.peer,
              why: `a route to ${route} exists via ${now?.gateway ?? 'another path'}`,
              command: `ip route replace ${route} via ${gateway}`,
            }
          : {
              peer: p.peer,
              why:
                code === 'EPERM' || code === 'EACCES'
                  ? `kvip may not add routes (${code}: it needs CAP_NET_ADMIN)`
                  : `adding ${route} via ${gateway} failed (${code})`,
              command: routeCommand(p.peer, gateway),
            },
      );
      continue;
    }
    p.state = 'present';
    p.via = gateway;
    log.info({ route, gateway }, `added route ${route} via ${gateway} to the Metal BGP peer ${p.peer}`);
  }
  if (failed.length > 0) {
    const why = [...new Set(failed.map((f) => f.why))].join('; ');
    throw new ConfigError(
      `the Metal BGP peers need a route via the private gateway ${gateway}: ${why}; run: ${failed.map((f) => f.command).join(' && ')}`,
    );
  }
  return plan;
}
