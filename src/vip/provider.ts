// The one interface every way of holding the VIP implements (ARP on an interface, a Metal Elastic IP, a
// BGP announcement). The service drives it from leadership; a provider never talks to the elector, but it
// reads a "leading now?" predicate right before every change the world can see (add, announce, assign,
// advertise) and does nothing when it says no.

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
  /**
   * Let the VIP go: leadership ended ('lost'), or the process is stopping ('shutdown', before the lease is
   * released). Idempotent.
   */
  release(reason?: ReleaseReason): Promise<void>;
  /** While holding: repair drift (address removed by someone, link down/up). Cheap when nothing drifted. */
  reconcile(): Promise<void>;
  /** Free what prepare/acquire opened (sockets). After release on shutdown. */
  close(): Promise<void>;
  /** The elector saw a new leader (this node or another); a provider may refresh what it knows. */
  leaderChanged?(identity: string): void;
}

export type ReleaseReason = 'lost' | 'shutdown';

/** A provider refused to take the VIP because this node's leadership was not valid at that instant. */
export class NotLeadingError extends Error {
  override name = 'NotLeadingError';
  constructor(what: string) {
    super(`${what}: this node's leadership is not valid now`);
  }
}

/**
 * A provider that was holding no longer serves the VIP and could not restore it (for example the cloud
 * keeps refusing to move the Elastic IP back). The service gives up the lease so another node can serve.
 */
export class VipLostError extends Error {
  override name = 'VipLostError';
}
