// The rtnetlink port: the handful of kernel calls that VIP address management needs, through kvip's own addon
// (native/src/rtnl.c, which says why it is not an npm package). Every call is synchronous in the kernel and
// acts on the network namespace of the calling process; the port keeps promises so a fake can stand in for
// it in unit tests. The addon is loaded on first use, so commands that never touch an address load anywhere.
import { loadNative, type NativeAddon } from '../native/index.js';

/** A kernel (or socket) error, with its errno name: 'EEXIST', 'ENODEV', 'EPERM', 'ETIMEDOUT', ... */
export class NetlinkErrno extends Error {
  override name = 'NetlinkErrno';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export type Family = 4 | 6;

export interface RtLink {
  index: number;
  name: string;
  /** Hardware address, raw (empty for links without one, e.g. a tun device). */
  mac: Buffer;
  /** IFF_UP: administratively up. */
  up: boolean;
  /** IFF_LOWER_UP: the driver reports carrier. */
  lowerUp: boolean;
  mtu?: number;
}

export interface RtAddress {
  index: number;
  family: Family;
  prefix: number;
  /** The local address: 4 or 16 bytes. */
  address: Buffer;
  label?: string;
  tentative: boolean;
  dadfailed: boolean;
  nodad: boolean;
}

export interface AddressRequest {
  index: number;
  family: Family;
  prefix: number;
  address: Buffer;
  /** IPv4 only (IFA_LABEL). */
  label?: string;
  /** IFA_F_NODAD (IPv6). */
  nodad?: boolean;
  /** 'host': never chosen as the source address for other hosts (an Elastic IP on lo). Default universe. */
  scope?: 'universe' | 'host';
}

/** What AddressManager needs from rtnetlink; a fake implements it in unit tests. */
export interface RtnlPort {
  /** RTM_GETLINK by name; rejects with NetlinkErrno 'ENODEV' when there is no such link. */
  link(name: string): Promise<RtLink>;
  /** The interface index only, without an event-loop turn (the failover path); 'ENODEV' as link(). */
  linkIndex(name: string): Promise<number>;
  links(): Promise<RtLink[]>;
  /** One interface's addresses (the kernel filters by index), or every interface's. */
  addresses(family: Family, index?: number): Promise<RtAddress[]>;
  /**
   * RTM_NEWADDR with NLM_F_CREATE | NLM_F_EXCL: rejects with 'EEXIST' if the address is there already.
   * Done before the returned promise settles (no event-loop turn), as is deleteAddress.
   */
  addAddress(req: AddressRequest): Promise<void>;
  /** RTM_DELADDR: rejects with 'EADDRNOTAVAIL' if there is no such address. */
  deleteAddress(req: AddressRequest): Promise<void>;
  close(): void;
}

// linux/if.h and linux/if_addr.h
const IFF_UP = 0x1;
const IFF_LOWER_UP = 0x10000;
const IFA_F_NODAD = 0x02;
const RT_SCOPE_HOST = 254; // linux/rtnetlink.h
const IFA_F_DADFAILED = 0x08;
const IFA_F_TENTATIVE = 0x40;

/** Whatever the addon threw, as a NetlinkErrno with the errno name the kernel gave. */
export function toNetlinkErrno(err: unknown): NetlinkErrno {
  if (err instanceof NetlinkErrno) return err;
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ERR_INVALID_ARG_TYPE') return new NetlinkErrno('EINVAL', message); // the addon's TypeErrors
  return new NetlinkErrno(typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? code : 'EIO', message);
}

interface NativeLink {
  index: number;
  name?: string;
  mac: Buffer;
  flags: number;
  mtu?: number;
}

interface NativeAddress {
  index: number;
  family: Family;
  prefix: number;
  address: Buffer;
  label?: string;
  flags: number;
}

function fromLink(l: NativeLink): RtLink {
  return {
    index: l.index,
    name: l.name ?? '',
    mac: l.mac,
    up: (l.flags & IFF_UP) !== 0,
    lowerUp: (l.flags & IFF_LOWER_UP) !== 0,
    ...(l.mtu !== undefined ? { mtu: l.mtu } : {}),
  };
}

function fromAddress(a: NativeAddress): RtAddress {
  return {
    index: a.index,
    family: a.family,
    prefix: a.prefix,
    address: a.address,
    ...(a.label !== undefined ? { label: a.label } : {}),
    tentative: (a.flags & IFA_F_TENTATIVE) !== 0,
    dadfailed: (a.flags & IFA_F_DADFAILED) !== 0,
    nodad: (a.flags & IFA_F_NODAD) !== 0,
  };
}

class NativeRtnlPort implements RtnlPort {
  private closed = false;

  constructor(private readonly native: NativeAddon) {}

  async link(name: string): Promise<RtLink> {
    const index = this.sync(() => this.native.linkIndex(name));
    const l = this.sync(() => this.native.links(index) as NativeLink[])[0];
    // Deleted between the two calls.
    if (l === undefined) throw new NetlinkErrno('ENODEV', `no link named ${name}`);
    return fromLink(l);
  }

  async linkIndex(name: string): Promise<number> {
    return this.sync(() => this.native.linkIndex(name));
  }

  async links(): Promise<RtLink[]> {
    return this.sync(() => this.native.links() as NativeLink[]).map(fromLink);
  }

  async addresses(family: Family, index?: number): Promise<RtAddress[]> {
    return this.sync(() => this.native.addresses(family, index) as NativeAddress[]).map(fromAddress);
  }

  async addAddress(req: AddressRequest): Promise<void> {
    // As iproute2 does without a peer: IFA_LOCAL and IFA_ADDRESS both the address (rtnl.c).
    this.sync(() =>
      this.native.addressAdd(
        req.index,
        req.family,
        req.address,
        req.prefix,
        req.label ?? null,
        req.nodad === true,
        req.scope === 'host' ? RT_SCOPE_HOST : undefined,
      ),
    );
  }

  async deleteAddress(req: AddressRequest): Promise<void> {
    this.sync(() => this.native.addressDelete(req.index, req.family, req.address, req.prefix));
  }

  close(): void {
    this.closed = true;
  }

  private sync<T>(fn: () => T): T {
    if (this.closed) throw new NetlinkErrno('ECLOSED', 'the rtnetlink port is closed');
    try {
      return fn();
    } catch (err) {
      throw toNetlinkErrno(err);
    }
  }
}

/**
 * The rtnetlink port for the calling process's network namespace. Rejects with NetlinkErrno 'ENOTSUP' when
 * the addon is not built (or does not load here).
 */
export async function openRtnl(): Promise<RtnlPort> {
  try {
    return new NativeRtnlPort(loadNative());
  } catch (err) {
    throw new NetlinkErrno('ENOTSUP', err instanceof Error ? err.message : String(err));
  }
}
