// The rtnetlink port: the handful of kernel calls that VIP address management needs, over the `netlink` npm
// package (pinned exactly: its README says the API is not stable, so nothing of it leaks past this file).
// Requests act on the network namespace of the calling process. The package reports a kernel refusal only as
// `Error('Request rejected: EEXIST')`; this file turns that into a NetlinkErrno with the errno name in `code`.
// The package loads its prebuilt N-API binary when imported, so it is imported only when a socket is opened:
// commands that never touch an address (manifest, config) load on any platform.
import type { RtNetlinkSocket, rt, ifla } from 'netlink';

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
}

/** What AddressManager needs from rtnetlink; a fake implements it in unit tests. */
export interface RtnlPort {
  /** RTM_GETLINK by name; rejects with NetlinkErrno 'ENODEV' when there is no such link. */
  link(name: string): Promise<RtLink>;
  links(): Promise<RtLink[]>;
  addresses(family: Family): Promise<RtAddress[]>;
  /** RTM_NEWADDR with NLM_F_CREATE | NLM_F_EXCL: rejects with 'EEXIST' if the address is there already. */
  addAddress(req: AddressRequest): Promise<void>;
  /** RTM_DELADDR: rejects with 'EADDRNOTAVAIL' if there is no such address. */
  deleteAddress(req: AddressRequest): Promise<void>;
  close(): void;
}

const AF_INET = 2;
const AF_INET6 = 10;
const NLM_F_EXCL = 0x200;
const NLM_F_CREATE = 0x400;
/** The kernel always answers; this only bounds a reply lost to a full socket buffer. */
const REQUEST_TIMEOUT_MS = 5000;

/** Whatever the package threw, as a NetlinkErrno with the errno name the kernel gave. */
export function toNetlinkErrno(err: unknown): NetlinkErrno {
  if (err instanceof NetlinkErrno) return err;
  const message = err instanceof Error ? err.message : String(err);
  const rejected = /^Request rejected: (\w+)/.exec(message);
  if (rejected?.[1] !== undefined) return new NetlinkErrno(rejected[1], message);
  if (message === 'Timeout has been reached')
    return new NetlinkErrno('ETIMEDOUT', 'no answer from rtnetlink');
  const code = (err as { code?: unknown } | null)?.code;
  return new NetlinkErrno(typeof code === 'string' ? code : 'EIO', message);
}

function fromLink(m: rt.LinkMessage): RtLink {
  const attrs: ifla.LinkAttrs = m.attrs;
  return {
    index: m.data.index ?? 0,
    name: attrs.ifname ?? '',
    mac: attrs.address ?? Buffer.alloc(0),
    up: m.data.flags?.up === true,
    lowerUp: m.data.flags?.lowerUp === true,
    ...(attrs.mtu !== undefined ? { mtu: attrs.mtu } : {}),
  };
}

function fromAddress(m: rt.AddressMessage): RtAddress | undefined {
  const family = m.data.family === AF_INET ? 4 : m.data.family === AF_INET6 ? 6 : undefined;
  // IFA_LOCAL is the local address; IFA_ADDRESS is the peer on point-to-point links (and the only one for
  // an IPv6 address without a peer).
  const address = m.attrs.local ?? m.attrs.address;
  if (family === undefined || address === undefined) return undefined;
  // IFA_FLAGS (u32), when present, supersedes the u8 ifa_flags.
  const flags = m.attrs.flags ?? m.data.flags ?? {};
  return {
    index: m.data.index ?? 0,
    family,
    prefix: m.data.prefixlen ?? 0,
    address,
    ...(m.attrs.label !== undefined ? { label: m.attrs.label } : {}),
    tentative: flags.tentative === true,
    dadfailed: flags.dadfailed === true,
    nodad: flags.nodad === true,
  };
}

function addressMessage(req: AddressRequest): [rt.Address, rt.AddressAttrs] {
  const flags: rt.AddressFlags = req.nodad ? { nodad: true } : {};
  const data: rt.Address = {
    family: req.family === 4 ? AF_INET : AF_INET6,
    prefixlen: req.prefix,
    index: req.index,
    flags,
    scope: 0, // RT_SCOPE_UNIVERSE, as `ip addr add` without `scope`
  };
  // As iproute2 does without a peer: IFA_LOCAL and IFA_ADDRESS both the address (the kernel then also
  // matches the prefix length on delete).
  const attrs: rt.AddressAttrs = { local: req.address, address: req.address };
  if (req.label !== undefined) attrs.label = req.label;
  if (req.nodad) attrs.flags = flags;
  return [data, attrs];
}

class RtnlSocketPort implements RtnlPort {
  constructor(private readonly socket: RtNetlinkSocket) {}

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toNetlinkErrno(err);
    }
  }

  async link(name: string): Promise<RtLink> {
    const msgs = await this.call(() =>
      this.socket.getLink({}, { ifname: name }, { timeout: REQUEST_TIMEOUT_MS }),
    );
    const m = msgs[0];
    if (m === undefined) throw new NetlinkErrno('ENODEV', `no link named ${name}`);
    return fromLink(m);
  }

  async links(): Promise<RtLink[]> {
    const msgs = await this.call(() => this.socket.getLinks({}, {}, { timeout: REQUEST_TIMEOUT_MS }));
    return msgs.map(fromLink);
  }

  async addresses(family: Family): Promise<RtAddress[]> {
    const msgs = await this.call(() =>
      this.socket.getAddresses(
        { family: family === 4 ? AF_INET : AF_INET6 },
        {},
        { timeout: REQUEST_TIMEOUT_MS },
      ),
    );
    const out: RtAddress[] = [];
    for (const m of msgs) {
      const a = fromAddress(m);
      if (a !== undefined && a.family === family) out.push(a);
    }
    return out;
  }

  async addAddress(req: AddressRequest): Promise<void> {
    const [data, attrs] = addressMessage(req);
    await this.call(() =>
      this.socket.newAddress(data, attrs, {
        flags: NLM_F_CREATE | NLM_F_EXCL,
        timeout: REQUEST_TIMEOUT_MS,
      }),
    );
  }

  async deleteAddress(req: AddressRequest): Promise<void> {
    const [data, attrs] = addressMessage({ ...req, nodad: false });
    delete attrs.label;
    await this.call(() => this.socket.delAddress(data, attrs, { timeout: REQUEST_TIMEOUT_MS }));
  }

  close(): void {
    this.socket.socket.close();
  }
}

/**
 * Opens an rtnetlink socket in the calling process's network namespace (it does not keep the event loop
 * alive). Rejects with NetlinkErrno 'ENOTSUP' if the native part of the package does not load here.
 */
export async function openRtnl(): Promise<RtnlPort> {
  let createRtNetlink: typeof import('netlink').createRtNetlink;
  try {
    ({ createRtNetlink } = await import('netlink'));
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new NetlinkErrno(
      'ENOTSUP',
      `the netlink package's native binding did not load on ${process.platform}-${process.arch}: ${why}`,
    );
  }
  try {
    return new RtnlSocketPort(createRtNetlink());
  } catch (err) {
    throw toNetlinkErrno(err);
  }
}
