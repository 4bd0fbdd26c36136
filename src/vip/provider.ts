// The one interface every way of holding the VIP implements (ARP on an interface, a Metal Elastic IP, a
// BGP announcement). The service drives it from leadership; a provider never talks to the elector.

export interface VipProvider {
  /** For logs: "arp", "packet-eip", "bgp". */
  readonly name: string;
  /**
   * Called once at start, before anything else: undo what an earlier run of this node left behind (a VIP
   * still on the interface after a SIGKILL), so a follower never answers for the VIP.
   */
  prepare(): Promise<void>;
  /** Take the VIP: this node leads (or runs without election). Idempotent. */
  acquire(): Promise<void>;
  /** Let the VIP go: leadership ended, or shutdown (before the lease is released). Idempotent. */
  release(): Promise<void>;
  /** While holding: repair drift (address removed by someone, link down/up). Cheap when nothing drifted. */
  reconcile(): Promise<void>;
  /** Free what prepare/acquire opened (sockets). After release on shutdown. */
  close(): Promise<void>;
}
