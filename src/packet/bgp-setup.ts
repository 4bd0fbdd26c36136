// `--bgp --packet` at start-up: this server's BGP speaker configuration from Metal, and the host routes its
// peers need. Resolved once; the Metal client is closed before this returns (BGP mode makes no API calls
// after start-up). Whatever will not fix itself is a ConfigError line (exit 2).
import { isIP } from 'node:net';
import type { SpeakerConfig } from '../bgp/config.js';
import { ConfigError, type Config } from '../config/index.js';
import type { Logger } from '../log.js';
import {
  describeSpeaker,
  neighborSource,
  resolveBgpNeighbors,
  speakerFromNeighbors,
  type NeighborSource,
  type NeighborsFrom,
  type ResolveNeighborsOptions,
} from './bgp-source.js';
import type { MetalClient } from './client.js';
import { fetchMetadata } from './metadata.js';
import { ensurePeerRoutes, privateIpv4, routedPeer, type PeerRoute, type RoutePort } from './peer-routes.js';
import {
  explainMetalError,
  metalClient,
  readMetalToken,
  resolveProjectAndDevice,
  type MetalResponseHook,
} from './setup.js';
import type { MetalMetadata, MetalMetadataAddress } from './types.js';

export interface PacketBgpSetup {
  speaker: SpeakerConfig;
  source: NeighborSource;
  deviceId: string;
  /** The private IPv4 gateway the Metal peers are routed through; absent when no peer needs one. */
  gateway?: string;
  /** Each peer's route, when `routes` was given. */
  routes?: PeerRoute[];
}

export interface PacketBgpDeps {
  /** When given, the peers' host routes are ensured through it; otherwise the caller does that. */
  routes?: RoutePort;
  signal?: AbortSignal;
  /** How long to wait for Metal to fill in the neighbours after creating the session (tests shorten it). */
  wait?: Pick<ResolveNeighborsOptions, 'reads' | 'minDelayMs' | 'maxDelayMs'>;
  /** Told of every Metal API attempt (metrics). */
  onResponse?: MetalResponseHook;
}

/** The metadata document, fetched at most once; a failure is remembered as its message. */
export type MetadataAnswer = { doc?: MetalMetadata; error?: string };

export function metadataOnce(config: Config, signal: AbortSignal | undefined): () => Promise<MetadataAnswer> {
  let p: Promise<MetadataAnswer> | undefined;
  return () =>
    (p ??= fetchMetadata(config.packetMetadataURL, { timeoutMs: 2000, retries: 1, signal }).then(
      (doc): MetadataAnswer => ({ doc }),
      (err: unknown): MetadataAnswer => ({ error: err instanceof Error ? err.message : String(err) }),
    ));
}

/**
 * The device's private IPv4 address and gateway (an IPv6 VIP's router id; the Metal peers' gateway): from
 * the metadata document when it is about this device (--packetDeviceID may name another), else from the
 * device's ip_addresses in the API, which carry the same fields.
 */
export async function ownPrivateIpv4(
  deviceId: string,
  metadata: () => Promise<MetadataAnswer>,
  client: MetalClient | undefined,
  signal?: AbortSignal,
): Promise<{ address: string; gateway: string } | undefined> {
  const m = await metadata();
  if (m.doc?.id === deviceId) return privateIpv4(m.doc.network?.addresses);
  if (!client) return undefined;
  const d = await client.getDevice(deviceId, { signal });
  return privateIpv4(d.ip_addresses as Partial<MetalMetadataAddress>[] | undefined);
}

export async function preparePacketBgp(
  config: Config,
  log: Logger,
  deps: PacketBgpDeps = {},
): Promise<PacketBgpSetup> {
  const family = isIP(config.vip) === 6 ? 6 : 4;
  const source = neighborSource(config);
  const metadata = metadataOnce(config, deps.signal);
  let client: MetalClient | undefined;
  try {
    let from: NeighborsFrom;
    if (source === 'api') {
      client = metalClient(config, readMetalToken(config), log, deps.onResponse);
      const { project, device } = await resolveProjectAndDevice(client, config, log);
      from = { source, client, deviceId: device.id, project };
    } else {
      const m = await metadata();
      if (!m.doc)
        throw new ConfigError(
          `--bgp --packet without a Metal API token reads the BGP neighbours from the metadata service, which did not answer (${m.error}): give kvip a token (--packetKey or --packetKeyFile)`,
        );
      from = { source, metadata: m.doc };
    }
    const deviceId = from.source === 'api' ? from.deviceId : from.metadata.id;
    const neighbors = await resolveBgpNeighbors(from, { family, log, signal: deps.signal, ...deps.wait });

    const own4 = () => ownPrivateIpv4(deviceId, metadata, client, deps.signal);
    const needsRouterId =
      family === 6 && config.bgpRouterID === '' && !neighbors.some((n) => n.address_family === 4);
    let own = needsRouterId ? await own4() : undefined;
    const speaker = speakerFromNeighbors(neighbors, {
      family,
      holdTimeS: config.holdTime,
      keepaliveS: config.keepaliveInterval,
      ...(config.bgpRouterID !== '' ? { routerId: config.bgpRouterID } : {}),
      ...(own ? { privateIpv4: own.address } : {}),
    });
    ignoredFlags(config, speaker, log);
    log.info(
      { device: deviceId, from: source, ...describeSpeaker(speaker) },
      `BGP from Metal (${source === 'api' ? 'the API' : 'the metadata service'}): AS ${speaker.localAs}, router id ${speaker.routerId}, peers ${speaker.peers.map((p) => `${p.address} (AS ${p.peerAs})`).join(', ')}`,
    );

    const setup: PacketBgpSetup = { speaker, source, deviceId };
    if (!speaker.peers.some((p) => routedPeer(p.address))) return setup;
    own ??= await own4();
    if (!own) {
      const line = `the Metal BGP peers need a route via this server's private IPv4 gateway, which neither the metadata service nor the API names`;
      if (deps.routes) throw new ConfigError(line);
      log.warn({}, line);
      return setup;
    }
    setup.gateway = own.gateway;
    if (deps.routes) setup.routes = await ensurePeerRoutes(speaker.peers, own.gateway, deps.routes, log);
    return setup;
  } catch (err) {
    const line = explainMetalError(err);
    if (line !== null) throw new ConfigError(line);
    throw err;
  } finally {
    client?.close();
  }
}

/** Flags Metal overrides with --packet: said once, so nobody wonders why they had no effect. */
function ignoredFlags(config: Config, speaker: SpeakerConfig, log: Logger): void {
  if (config.bgpPeers.length > 0)
    log.warn(
      { peers: config.bgpPeers.map((p) => p.address) },
      '--peerAddress / --bgppeers are ignored with --packet: the peers come from Metal',
    );
  if (config.sources.localAS.kind !== 'default' && config.localAS !== speaker.localAs)
    log.warn(
      { localAS: config.localAS, metal: speaker.localAs },
      `--localAS ${config.localAS} is ignored with --packet: Metal gives this server AS ${speaker.localAs}`,
    );
}
