// `--bgp --packet`: the BGP neighbours come from Equinix Metal, and become the speaker's configuration.
//
// Where from: the API (GET /devices/{id}/bgp/neighbors) whenever kvip has a token, because only the API can
// also create the device's session when it has none yet and say why the list is empty (BGP not enabled for
// the project). Without a token the metadata service's `bgp_neighbors` (no token; the same objects) is the
// only source, and an empty list there can only be reported, not fixed.
//
// Every neighbour of the VIP's family is used, with every one of its peer_ips: Metal gives two peers per
// session (its two routers), and using only the first leaves the VIP on one router when that one goes.
// Metal's data is checked before use (AS numbers, addresses, a password when md5_enabled); the password is
// never in a log line or an error.
import { setTimeout as sleep } from 'node:timers/promises';
import { isIP, isIPv4 } from 'node:net';
import type { PeerConfig, SpeakerConfig } from '../bgp/config.js';
import { sessionTtl } from '../bgp/peers.js';
import { isAsn } from '../config/formats.js';
import { ConfigError, type Config } from '../config/index.js';
import type { Logger } from '../log.js';
import type { MetalClient } from './client.js';
import { MetalApiError } from './errors.js';
import type { MetalBgpConfig, MetalBgpNeighbor, MetalMetadata } from './types.js';

export type NeighborSource = 'api' | 'metadata';

/** The API when a token is configured (--packetKey / PACKET_AUTH_TOKEN / --packetKeyFile), else metadata. */
export function neighborSource(config: Pick<Config, 'packetKey' | 'packetKeyFile'>): NeighborSource {
  return config.packetKey !== '' || config.packetKeyFile !== '' ? 'api' : 'metadata';
}

export type NeighborsFrom =
  | { source: 'api'; client: MetalClient; deviceId: string; project: { id: string; name?: string } }
  | { source: 'metadata'; metadata: MetalMetadata };

export interface ResolveNeighborsOptions {
  /** The VIP's family. */
  family: 4 | 6;
  log: Logger;
  /** Neighbour reads after creating the session, while Metal fills them in (default 8). */
  reads?: number;
  /** Wait before the first of those reads (default 500), doubled per read... */
  minDelayMs?: number;
  /** ...up to this (default 5000): under 30 s in all by default. */
  maxDelayMs?: number;
  signal?: AbortSignal;
}

const familyName = (f: 4 | 6): 'ipv4' | 'ipv6' => (f === 4 ? 'ipv4' : 'ipv6');
const ofFamily = (ns: readonly MetalBgpNeighbor[], f: 4 | 6) => ns.filter((n) => n.address_family === f);

/** What is wrong with the project's BGP config, as the line to show; null when BGP is enabled. */
export function bgpNotEnabled(
  project: { id: string; name?: string },
  cfg: MetalBgpConfig | undefined,
): string | null {
  if (cfg?.status === 'enabled' || (cfg !== undefined && cfg.status === undefined)) return null;
  const name = project.name ? `${project.name} (${project.id})` : project.id;
  const how = `enable it in the Metal console (the project's BGP settings) or with POST /projects/${project.id}/bgp-configs {"deployment_type":"local","asn":65000}`;
  if (cfg === undefined) return `BGP is not enabled for project ${name}: ${how}`;
  if (cfg.status === 'requested')
    return `BGP for project ${name} is requested but not enabled yet (global BGP waits for Equinix's approval); start kvip once it is enabled`;
  return `BGP is ${String(cfg.status)} for project ${name}: ${how}`;
}

/**
 * The device's BGP neighbours, of every family, with at least one of `o.family`; throws a ConfigError line
 * when there are none. From the API: when none of the family are listed, checks that BGP is enabled for the
 * project, creates the device's session for the family (one that exists counts) and reads the neighbours
 * again a bounded few times with backoff, as Metal fills them in after the session exists. Only GETs when
 * the neighbours are there already.
 */
export async function resolveBgpNeighbors(
  from: NeighborsFrom,
  o: ResolveNeighborsOptions,
): Promise<MetalBgpNeighbor[]> {
  const fam = familyName(o.family);
  if (from.source === 'metadata') {
    const all = Array.isArray(from.metadata.bgp_neighbors) ? from.metadata.bgp_neighbors : [];
    if (ofFamily(all, o.family).length > 0) return all;
    throw new ConfigError(
      `the metadata service lists no ${fam} BGP neighbours for this server (${from.metadata.id})${otherFamilies(all, o.family)}: enable BGP for the project and create this server's ${fam} BGP session (Metal console, or POST /devices/${from.metadata.id}/bgp/sessions), or give kvip a Metal API token (--packetKey) so it does that itself`,
    );
  }
  const { client, deviceId, project } = from;
  const call = { signal: o.signal };
  let all = await client.getBgpNeighbors(deviceId, call);
  if (ofFamily(all, o.family).length > 0) return all;
  const notEnabled = bgpNotEnabled(project, await client.getBgpConfig(project.id, call));
  if (notEnabled !== null) throw new ConfigError(notEnabled);
  let created;
  try {
    created = await client.createBgpSession(deviceId, fam, call);
  } catch (err) {
    if (err instanceof MetalApiError && err.status === 422)
      throw new ConfigError(
        `Metal refused to create this server's ${fam} BGP session (422: ${err.messages.join('; ')})`,
      );
    throw err;
  }
  o.log.info(
    { device: deviceId, family: fam, session: created.session?.id },
    created.alreadyExists
      ? `this server's ${fam} BGP session exists; waiting for Metal to list its neighbours`
      : `created this server's ${fam} BGP session; waiting for Metal to list its neighbours`,
  );
  const reads = o.reads ?? 8;
  let delay = o.minDelayMs ?? 500;
  for (let i = 0; i < reads; i++) {
    await sleep(delay, undefined, { signal: o.signal });
    delay = Math.min(delay * 2, o.maxDelayMs ?? 5000);
    all = await client.getBgpNeighbors(deviceId, call);
    if (ofFamily(all, o.family).length > 0) return all;
  }
  throw new ConfigError(
    `Metal lists no ${fam} BGP neighbours for this server (${deviceId})${otherFamilies(all, o.family)} after ${reads} reads, though its ${fam} session exists: check the session in the Metal console, then start kvip again`,
  );
}

function otherFamilies(all: readonly MetalBgpNeighbor[], family: 4 | 6): string {
  const other = ofFamily(all, family === 4 ? 6 : 4).length;
  return other > 0 ? ` (only IPv${family === 4 ? 6 : 4} ones, but the VIP is IPv${family})` : '';
}

export interface SpeakerOptions {
  /** The VIP's family: the neighbours of this family become the peers. */
  family: 4 | 6;
  /** config.holdTime and config.keepaliveInterval, passed through. */
  holdTimeS: number;
  keepaliveS: number;
  /** --bgpRouterID when set: it wins over what Metal implies. */
  routerId?: string;
  /** The device's private IPv4 (metadata): the router id of an IPv6 VIP when there is no IPv4 neighbour. */
  privateIpv4?: string;
}

/** A field's value for an error line: short, and never the password (no caller passes it). */
function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function badNeighbor(n: number, family: 4 | 6, what: string): ConfigError {
  return new ConfigError(
    `Metal's IPv${family} BGP neighbour #${n} for this server is unusable: ${what}; check the project's BGP settings in the Metal console`,
  );
}

/** Checks one neighbour of `family` (Metal's data is not trusted blindly) and returns its peers. */
function peersOf(
  nb: MetalBgpNeighbor,
  n: number,
  o: Pick<SpeakerOptions, 'family' | 'holdTimeS' | 'keepaliveS'>,
): { localAs: number; localAddress: string; peers: PeerConfig[] } {
  const bad = (what: string) => badNeighbor(n, o.family, what);
  if (!isAsn(nb.customer_as)) throw bad(`customer_as ${show(nb.customer_as)} is not an AS number`);
  if (!isAsn(nb.peer_as)) throw bad(`peer_as ${show(nb.peer_as)} is not an AS number`);
  if (typeof nb.customer_ip !== 'string' || isIP(nb.customer_ip) !== o.family)
    throw bad(`customer_ip ${show(nb.customer_ip)} is not an IPv${o.family} address`);
  if (!Array.isArray(nb.peer_ips) || nb.peer_ips.length === 0) throw bad('it has no peer_ips');
  for (const ip of nb.peer_ips as unknown[])
    if (typeof ip !== 'string' || isIP(ip) !== o.family)
      throw bad(`peer_ips has ${show(ip)}, not an IPv${o.family} address`);
  let password: string | undefined;
  if (nb.md5_enabled === true) {
    const p: unknown = nb.md5_password;
    if (typeof p !== 'string' || p === '')
      throw bad('md5_enabled is set but Metal gives no md5_password (is the token allowed to read it?)');
    if (Buffer.byteLength(p) > 80) throw bad('its md5_password is longer than TCP MD5 allows (80 bytes)');
    password = p;
  }
  const peers = nb.peer_ips.map((address): PeerConfig => ({
    address,
    port: 179,
    peerAs: nb.peer_as,
    localAddress: nb.customer_ip,
    ...(password !== undefined ? { password } : {}),
    // Metal's multihop peers are behind a gateway (255); a direct one gets what routers use (1 for eBGP).
    ...ttlOf(sessionTtl(nb.customer_as, nb.peer_as, nb.multihop === true)),
    holdTimeS: o.holdTimeS,
    keepaliveS: o.keepaliveS,
  }));
  return { localAs: nb.customer_as, localAddress: nb.customer_ip, peers };
}

/**
 * The peers from Metal's neighbours (checked): one for every peer_ip of every neighbour of the VIP's
 * family, with source = customer_ip, peer AS = peer_as, MD5 when md5_enabled, ttl 255 when multihop; and
 * the local AS, customer_as, which must be one for all of them.
 */
export function neighborPeers(
  neighbors: readonly MetalBgpNeighbor[],
  o: Pick<SpeakerOptions, 'family' | 'holdTimeS' | 'keepaliveS'>,
): { localAs: number; peers: PeerConfig[] } {
  const mine = ofFamily(neighbors, o.family);
  if (mine.length === 0)
    throw new ConfigError(`Metal lists no IPv${o.family} BGP neighbours for this server`);
  const checked = mine.map((nb, i) => peersOf(nb, i + 1, o));
  const localAs = (checked[0] as (typeof checked)[number]).localAs;
  const other = checked.find((c) => c.localAs !== localAs);
  if (other)
    throw new ConfigError(
      `Metal's IPv${o.family} BGP neighbours for this server disagree on its AS (customer_as ${localAs} and ${other.localAs}); check the project's BGP settings in the Metal console`,
    );
  const peers: PeerConfig[] = [];
  const seen = new Set<string>();
  for (const p of checked.flatMap((c) => c.peers)) {
    if (seen.has(p.address)) continue; // two neighbours naming one peer: one session to it
    seen.add(p.address);
    peers.push(p);
  }
  return { localAs, peers };
}

/**
 * The speaker's configuration: neighborPeers, and a router id: --bgpRouterID if set; else the IPv4
 * neighbour's customer_ip (the device's private IPv4); for an IPv6 VIP with no IPv4 neighbour, the device's
 * private IPv4 from metadata; none of those is a ConfigError asking for --bgpRouterID (a BGP identifier is
 * always a dotted IPv4).
 */
export function speakerFromNeighbors(
  neighbors: readonly MetalBgpNeighbor[],
  o: SpeakerOptions,
): SpeakerConfig {
  const { localAs, peers } = neighborPeers(neighbors, o);
  const ipv4Customer = ofFamily(neighbors, 4)
    .map((n) => n.customer_ip)
    .find((ip) => typeof ip === 'string' && isIPv4(ip));
  const routerId = [o.routerId, ipv4Customer, o.privateIpv4].find(
    (id): id is string => typeof id === 'string' && isIPv4(id) && id !== '0.0.0.0',
  );
  if (routerId === undefined)
    throw new ConfigError(
      '--bgpRouterID is needed: the VIP is IPv6, and Metal gives this server neither an IPv4 BGP neighbour nor a private IPv4 address to take the BGP identifier from',
    );
  return { localAs, routerId, peers };
}

/** The speaker as a log line's fields: everything but the passwords (only whether there is one). */
export function describeSpeaker(s: SpeakerConfig): Record<string, unknown> {
  return {
    localAs: s.localAs,
    routerId: s.routerId,
    peers: s.peers.map((p) => ({
      address: p.address,
      peerAs: p.peerAs,
      localAddress: p.localAddress,
      multihop: p.ttl === 255,
      md5: p.password !== undefined,
    })),
  };
}

function ttlOf(ttl: number | undefined): { ttl?: number } {
  return ttl === undefined ? {} : { ttl };
}
