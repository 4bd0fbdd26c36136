// What a BGP session is configured with: the speaker's own identity, and one entry per peer. Built from
// the flags (--peerAddress, --bgppeers, ...) or, with --packet, from the Metal API's BGP neighbours.

export interface PeerConfig {
  /** The peer's address, IPv4 or IPv6. */
  address: string;
  /** TCP port at the peer; 179. */
  port: number;
  /** The AS the peer must announce in its OPEN (else Bad Peer AS). */
  peerAs: number;
  /** Source address of the session (bind before connect); the kernel picks one when absent. */
  localAddress?: string;
  /** TCP MD5 signature key (RFC 2385), 1-80 bytes; none when absent or empty. */
  password?: string;
  /**
   * IP TTL / hop limit of the session's packets; the system default when absent. peersFromConfig() sets 1
   * for a directly connected eBGP peer and 255 for multihop, as routers do, and leaves iBGP at the default.
   */
  ttl?: number;
  /** Hold time offered in OPEN, seconds: 0 (no keepalives) or >= 3. */
  holdTimeS: number;
  /** Seconds between KEEPALIVEs once Established; capped at a third of the negotiated hold time. */
  keepaliveS: number;
}

export interface SpeakerConfig {
  /** This speaker's AS (1-4294967295, not 23456). */
  localAs: number;
  /** BGP identifier, a dotted IPv4 address (non-zero). */
  routerId: string;
  peers: PeerConfig[];
}
