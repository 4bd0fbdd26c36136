// The speaker's configuration from kvip's options: --localAS, --bgpRouterID, and one peer per
// --peerAddress / --bgppeers entry, with the hold time and keepalive interval every peer shares.
import type { Config } from '../config/index.js';
import { parseCommunity } from '../config/formats.js';
import type { PeerConfig, SpeakerConfig } from './config.js';

export const BGP_PORT = 179;

/**
 * The TTL routers use: 1 for a directly connected eBGP peer (so a session can never be made from further
 * away), 255 for eBGP multihop, the system default for iBGP (peers inside the AS are often several hops away).
 */
export function sessionTtl(localAs: number, peerAs: number, multihop: boolean): number | undefined {
  if (multihop) return 255;
  return peerAs === localAs ? undefined : 1;
}

export function speakerConfigFromFlags(config: Config): SpeakerConfig {
  const peers: PeerConfig[] = config.bgpPeers.map((p) => {
    const ttl = sessionTtl(config.localAS, p.as, p.multihop);
    return {
      address: p.address,
      port: BGP_PORT,
      peerAs: p.as,
      holdTimeS: config.holdTime,
      keepaliveS: config.keepaliveInterval,
      ...(p.password !== '' ? { password: p.password } : {}),
      ...(ttl !== undefined ? { ttl } : {}),
    };
  });
  return { localAs: config.localAS, routerId: config.bgpRouterID, peers };
}

export function communitiesOf(config: Config): number[] {
  return config.bgpCommunities.map(parseCommunity);
}
