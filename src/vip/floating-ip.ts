// The floating-IP port: what the Elastic IP mover needs of a cloud, and nothing more. Equinix Metal
// (src/packet/floating-ip.ts) is the first implementation. A second cloud implements these four calls and
// the mover does not change: one whose "assign" moves an address in one step (Hetzner Cloud's floating IPs)
// says so with `assignMoves`, and the mover then skips the unassign.

/** One assignment of the address to one server. */
export interface FloatingIpHolder {
  /** The assignment's own id: the only id an unassign may be given (never the reservation's). */
  assignmentId: string;
  /** The server the cloud routes the address to. */
  deviceId: string;
}

/** The address as the project owns it. */
export interface FloatingIpReservation {
  id: string;
  address: string;
  holders: FloatingIpHolder[];
}

/** Every call that changes an assignment carries these; the cloud checks `guard` right before each attempt. */
export interface CloudCall {
  /** This node's leadership is valid now. False: reject with CloudCallAbortedError, nothing sent. */
  guard?: () => boolean;
  signal?: AbortSignal;
  /** Attempts after the first on a transient failure (the cloud's default when absent). */
  retries?: number;
}

export interface FloatingIpCloud {
  /** For logs: "metal". */
  readonly name: string;
  /** true: assign() moves an address that is assigned elsewhere; false: it must be unassigned first. */
  readonly assignMoves: boolean;
  /** The reservation of `address` (/32 or /128); rejects with FloatingIpConfigError if there is none. */
  findReservation(address: string): Promise<FloatingIpReservation>;
  /** Who holds the reservation now: one request. */
  holders(reservationId: string, call?: CloudCall): Promise<FloatingIpHolder[]>;
  /** Assign the address to `deviceId`; rejects with FloatingIpTakenError while it is assigned (anywhere). */
  assign(address: string, deviceId: string, call: CloudCall): Promise<FloatingIpHolder>;
  /** Remove one assignment; an assignment that is already gone counts as removed. */
  unassign(assignmentId: string, call: CloudCall): Promise<void>;
}

/** The address is assigned (or, just after an unassign, still counted as assigned by the cloud). */
export class FloatingIpTakenError extends Error {
  override name = 'FloatingIpTakenError';
}

/** The configuration names an address that is no floating IP this node may use. Not retried: exit 2. */
export class FloatingIpConfigError extends Error {
  override name = 'FloatingIpConfigError';
}

/** The guard said no before an attempt: nothing was sent. */
export class CloudCallAbortedError extends Error {
  override name = 'CloudCallAbortedError';
}

/** A failure that may pass by itself (5xx, 429, timeout, reset): worth another try later. */
export function isTransientCloudError(err: unknown): boolean {
  return (err as { retryable?: unknown } | null)?.retryable === true;
}
