import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { TcpConnectOptions } from './tcp.js';
import type { PacketProbeOptions } from './probe.js';

// kvip's N-API addon (native/, plain C): raw AF_PACKET frames, synchronous rtnetlink (the VIP's address,
// links, routes) and the TCP connection of a BGP session (TCP_MD5SIG, TTL and source address set before the
// SYN: ./tcp.ts). It is built by `npm ci` (the package's install script) into
// native/build/Release/kvip_native.node and loaded on first use, so commands that never send a frame
// (manifest, --help) work without it.

/** What the kernel would use to reach one address (routeGet). Addresses are strings. */
export interface RouteLookup {
  /** The next hop; absent when the address is on a link (or local). */
  gateway?: string;
  /** The outgoing interface (lo for a local address). */
  ifindex?: number;
  /** The source address the kernel would pick. */
  source?: string;
  /** The length of the route that matched (RTM_F_FIB_MATCH; absent on a kernel before 4.13). */
  prefix?: number;
  /** The table the route was found in (254 main; a local address also shows 254 while no rules are set). */
  table: number;
  /** RTN_*: 1 unicast, 2 local, ... */
  type: number;
}

/** routeAdd / routeDelete: a route to dst/prefix via gateway and/or out of ifindex (4- or 16-byte addresses). */
export type RouteChange = (
  family: 4 | 6,
  dst: Uint8Array,
  prefix: number,
  gateway: Uint8Array | null,
  ifindex: number | null,
) => void;

/** One route of the main table (routes()). */
export interface Route {
  /** The destination network ("0.0.0.0" / "::" for a default route). */
  dst: string;
  prefix: number;
  gateway?: string;
  ifindex?: number;
  table: number;
  /** RTN_*: 1 unicast, ... */
  type: number;
  /** RTPROT_*: 2 kernel, 3 boot, 4 static (routeAdd's), 186 bgp, ... */
  protocol: number;
}

/**
 * The functions the addon exports (native/src/*.c). Failures throw an Error with `.code` = errno name
 * (tcpConnect rejects with one); an rtnetlink call the kernel does not answer within 1 s throws ETIMEDOUT.
 */
export interface NativeAddon {
  openPacket(ifname: string): number;
  sendPacket(fd: number, frame: Uint8Array): number;
  closePacket(fd: number): void;
  /** if_nametoindex; ENODEV when there is no such interface. */
  linkIndex(ifname: string): number;
  /** Synchronous RTM_NEWADDR (create, exclusive): EEXIST when present. address: 4 or 16 bytes. */
  addressAdd(
    ifindex: number,
    family: 4 | 6,
    address: Uint8Array,
    prefix: number,
    label: string | null,
    nodad: boolean,
    /** 0 universe (default), 254 host. */
    scope?: number,
  ): void;
  /** Synchronous RTM_DELADDR: EADDRNOTAVAIL when absent. */
  addressDelete(ifindex: number, family: 4 | 6, address: Uint8Array, prefix: number): void;
  /** One link by index ([] when there is none), or every link: { index, name, mac, flags, mtu }. */
  links(index?: number): unknown[];
  /**
   * The addresses of one family on the interface with that index ([] when there is none), or on every
   * interface: { index, family, prefix, address, label?, flags (IFA_F_*) }.
   */
  addresses(family: 4 | 6, index?: number): unknown[];
  /** See tcpConnect in ./tcp.ts: a connected socket fd, or a rejection with the errno. */
  tcpConnect(opts: TcpConnectOptions): Promise<number>;
  /**
   * What the kernel would use to reach address (4 or 16 bytes): RTM_GETROUTE, as `ip route get`. undefined
   * when it cannot be reached (ENETUNREACH: no route; EHOSTUNREACH: an unreachable route); a prohibit route
   * throws EACCES, a blackhole EINVAL.
   */
  routeGet(family: 4 | 6, address: Uint8Array): RouteLookup | undefined;
  /**
   * Adds a unicast route to the main table, protocol static (`ip route add <dst>/<prefix> [via <gateway>]
   * [dev <ifindex>] proto static`; scope link without a gateway): EEXIST when it is there. Needs a gateway
   * or an ifindex; addresses are 4 or 16 bytes.
   */
  routeAdd: RouteChange;
  /** Removes a static route of the main table (gateway / ifindex: only that one when given): ESRCH if absent. */
  routeDelete: RouteChange;
  /** The main table's routes of one family (a dump). */
  routes(family: 4 | 6): Route[];
  /**
   * Makes those of the capabilities (CAP_* numbers) that this thread has permitted also effective; returns
   * the ones effective afterwards. For a non-root kvip whose node has them as file capabilities (+p).
   */
  raiseCapabilities(bits: number[]): number[];
  /** See ./probe.ts: the answering frames, up to maxAnswers (default 1), within timeoutMs. */
  packetProbe(opts: PacketProbeOptions & { maxAnswers?: number }): Promise<Buffer[]>;
}

/** An error thrown by the addon: `.code` is the errno name (EPERM, ENODEV, ...), `.syscall` the C call. */
export interface NativeError extends Error {
  code: string;
  syscall?: string;
}

export const NOT_BUILT_MESSAGE = 'kvip native addon not built: run `npm ci` (or `npm run build:native`)';

// package.json (name "kvip") sits above src/native (sources, tests) and dist/native (the build): walk up to it.
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'kvip') return dir;
    } catch {
      // not here; try the parent
    }
    dir = dirname(dir);
  }
  throw new Error(
    `kvip native addon: cannot find kvip's package.json above ${fileURLToPath(import.meta.url)}`,
  );
}

/** Where the addon is expected: <package root>/native/build/Release/kvip_native.node. */
export function nativeAddonPath(): string {
  return join(packageRoot(), 'native', 'build', 'Release', 'kvip_native.node');
}

/** Loads the addon from path (uncached); throws NOT_BUILT_MESSAGE when the file is missing. */
export function loadAddon(path: string): NativeAddon {
  if (!existsSync(path)) throw new Error(`${NOT_BUILT_MESSAGE} (${path} is missing)`);
  const require = createRequire(import.meta.url);
  try {
    return require(path) as NativeAddon;
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new Error(`kvip native addon at ${path} does not load (npm run build:native): ${why}`, {
      cause: err,
    });
  }
}

let addon: NativeAddon | undefined;

/** The addon, loaded on first use from nativeAddonPath() and kept. */
export function loadNative(): NativeAddon {
  addon ??= loadAddon(nativeAddonPath());
  return addon;
}

/**
 * Opens an AF_PACKET raw socket bound to `ifname` (it receives nothing) and returns its fd. Keep it open for as
 * long as frames may be sent: closing one blocks the event loop for 8-20 ms, a send takes microseconds.
 * Throws ENODEV for an unknown interface, EPERM without CAP_NET_RAW.
 */
export function openPacket(ifname: string): number {
  return loadNative().openPacket(ifname);
}

/**
 * Sends one whole Ethernet frame (destination MAC first, >= 14 bytes, no FCS) out of the socket's interface;
 * returns the bytes sent. Never blocks: a full device queue throws EAGAIN/ENOBUFS; a down link ENETDOWN; a
 * removed interface ENXIO/ENODEV; an fd that is not an open AF_PACKET socket EBADF/ENOTSOCK.
 */
export function sendPacket(fd: number, frame: Uint8Array): number {
  return loadNative().sendPacket(fd, frame);
}

/** Closes a socket from openPacket (blocks 8-20 ms: the kernel waits for an RCU grace period). */
export function closePacket(fd: number): void {
  loadNative().closePacket(fd);
}
