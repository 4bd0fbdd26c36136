// VIP address management: add, remove and find the VIP on a network interface through rtnetlink (the port
// in ./netlink.ts), in the calling process's network namespace. Idempotent (add of a present address is
// 'present', remove of an absent one is 'absent'), IPv6 always with IFA_F_NODAD so the VIP is usable at once,
// and every failure is a VipAddressError whose message names the cause and the fix in one line.
import {
  NetlinkErrno,
  openRtnl,
  type Family,
  type RtAddress,
  type RtLink,
  type RtnlPort,
} from './netlink.js';
import { formatMac, ipBytes, type IpBytes } from './frames.js';

/** Linux interface names and IPv4 address labels: at most IFNAMSIZ - 1 characters. */
const IFNAMSIZ_MAX = 15;

export interface LinkInfo {
  index: number;
  name: string;
  /** Hardware address as aa:bb:cc:dd:ee:ff ('' for a link without one). */
  mac: string;
  /** Administratively up (IFF_UP). */
  up: boolean;
  /** The driver reports carrier (IFF_LOWER_UP); a veth whose peer is down has none. */
  carrier: boolean;
  mtu?: number;
}

export interface AddOptions {
  /**
   * IPv4 address label: either the part after the colon ('kvip' -> 'eth0:kvip') or a full label that starts
   * with the interface name. Dropped (no label) if the result would be longer than 15 characters; ignored for
   * IPv6, which has no labels.
   */
  label?: string;
  /** 'host' for an address on lo that must never become the source of outgoing traffic. */
  scope?: 'universe' | 'host';
}

export type VipAddressErrorCode =
  | 'ENODEV'
  | 'EPERM'
  | 'EAFNOSUPPORT'
  | 'EADDRNOTAVAIL'
  | 'EEXIST'
  | 'EINVAL'
  | 'ECLOSED'
  | 'ENOTSUP'
  | (string & {});

export class VipAddressError extends Error {
  override name = 'VipAddressError';
  constructor(
    readonly code: VipAddressErrorCode,
    message: string,
    /** The errno the kernel returned, when `code` is a translation of it (EACCES -> EAFNOSUPPORT). */
    readonly errno?: string,
  ) {
    super(message);
  }
}

/** The IPv4 label to use, or undefined for none. */
export function ipv4Label(ifname: string, label: string | undefined): string | undefined {
  if (label === undefined || label === '') return undefined;
  const full = label === ifname || label.startsWith(`${ifname}:`) ? label : `${ifname}:${label}`;
  // The kernel's limit is in bytes: 'eth0:é' is 7 characters but 8 bytes.
  return Buffer.byteLength(full) <= IFNAMSIZ_MAX ? full : undefined;
}

const CAP_FIX = 'run as root or add NET_ADMIN to the pod';

export class AddressManager {
  private closed = false;

  /** Use AddressManager.open(); the port is injectable for tests. */
  constructor(private readonly port: RtnlPort) {}

  /** Opens an rtnetlink socket in this process's network namespace. */
  static async open(): Promise<AddressManager> {
    try {
      return new AddressManager(await openRtnl());
    } catch (err) {
      const e = err instanceof NetlinkErrno ? err : new NetlinkErrno('EIO', String(err));
      throw new VipAddressError(e.code, `cannot open an rtnetlink socket (${e.code}): ${e.message}`);
    }
  }

  async link(ifname: string): Promise<LinkInfo> {
    const l = await this.resolve(ifname);
    return {
      index: l.index,
      name: l.name,
      mac: formatMac(l.mac),
      up: l.up,
      carrier: l.lowerUp,
      ...(l.mtu !== undefined ? { mtu: l.mtu } : {}),
    };
  }

  /** Whether ifname has exactly ip/prefix. */
  async has(ifname: string, ip: string, prefix: number): Promise<boolean> {
    const addr = checkAddress(ip, prefix);
    const index = await this.resolveIndex(ifname);
    return (await this.onLink(index, addr)).some((a) => a.prefix === prefix);
  }

  async add(ifname: string, ip: string, prefix: number, opts: AddOptions = {}): Promise<'added' | 'present'> {
    const addr = checkAddress(ip, prefix);
    const index = await this.resolveIndex(ifname);
    const label = addr.family === 4 ? ipv4Label(ifname, opts.label) : undefined;
    try {
      await this.port.addAddress({
        index,
        family: addr.family,
        prefix,
        address: addr.bytes,
        ...(label !== undefined ? { label } : {}),
        ...(opts.scope === 'host' ? { scope: 'host' as const } : {}),
        nodad: addr.family === 6,
      });
      return 'added';
    } catch (err) {
      const e = err instanceof NetlinkErrno ? err : new NetlinkErrno('EIO', String(err));
      if (e.code === 'EEXIST') {
        const there = await this.onLink(index, addr);
        if (there.some((a) => a.prefix === prefix)) return 'present';
        const other = there[0];
        if (other !== undefined) {
          throw new VipAddressError(
            'EEXIST',
            `${ip} is already on ${ifname} as /${other.prefix}, not /${prefix}: remove it first ` +
              `(ip addr del ${ip}/${other.prefix} dev ${ifname})`,
          );
        }
      }
      throw this.failure(e, `adding ${ip}/${prefix} to ${ifname}`, ifname, addr.family);
    }
  }

  async remove(ifname: string, ip: string, prefix: number): Promise<'removed' | 'absent'> {
    const addr = checkAddress(ip, prefix);
    const index = await this.resolveIndex(ifname);
    try {
      await this.port.deleteAddress({ index, family: addr.family, prefix, address: addr.bytes });
      return 'removed';
    } catch (err) {
      const e = err instanceof NetlinkErrno ? err : new NetlinkErrno('EIO', String(err));
      if (e.code === 'EADDRNOTAVAIL' || e.code === 'ENOENT' || e.code === 'ESRCH') return 'absent';
      throw this.failure(e, `removing ${ip}/${prefix} from ${ifname}`, ifname, addr.family);
    }
  }

  /** Every interface's addresses equal to ip (any prefix): used at start to remove a stale VIP left by an earlier run. */
  async find(ip: string): Promise<{ ifname: string; prefix: number }[]> {
    const addr = ipBytes(ip);
    if (addr === undefined) throw new VipAddressError('EINVAL', `${JSON.stringify(ip)} is not an IP address`);
    const matches = (await this.addresses(addr.family)).filter((a) => a.address.equals(addr.bytes));
    if (matches.length === 0) return [];
    const names = new Map((await this.call(() => this.port.links())).map((l) => [l.index, l.name]));
    return matches.map((a) => ({ ifname: names.get(a.index) ?? `if${a.index}`, prefix: a.prefix }));
  }

  /** The labels ip has on ifname (IPv4 only: kvip labels its VIP "<ifname>:kvip", the kernel others "<ifname>"). */
  async labels(ifname: string, ip: string): Promise<string[]> {
    const addr = ipBytes(ip);
    if (addr === undefined) throw new VipAddressError('EINVAL', `${JSON.stringify(ip)} is not an IP address`);
    const there = await this.onLink(await this.resolveIndex(ifname), addr);
    return there.flatMap((a) => (a.label !== undefined ? [a.label] : []));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.port.close();
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new VipAddressError('ECLOSED', 'the AddressManager is closed');
    try {
      return await fn();
    } catch (err) {
      if (err instanceof VipAddressError) throw err;
      const e = err instanceof NetlinkErrno ? err : new NetlinkErrno('EIO', String(err));
      throw new VipAddressError(e.code, `rtnetlink request failed (${e.code}): ${e.message}`);
    }
  }

  private async resolve(ifname: string): Promise<RtLink> {
    return this.lookup(ifname, () => this.port.link(ifname));
  }

  /** Like resolve(), the index only: add and remove, on the failover path, take no event-loop turn. */
  private async resolveIndex(ifname: string): Promise<number> {
    return this.lookup(ifname, () => this.port.linkIndex(ifname));
  }

  private async lookup<T>(ifname: string, fn: () => Promise<T>): Promise<T> {
    if (ifname === '' || Buffer.byteLength(ifname) > IFNAMSIZ_MAX || /[\s/:]/.test(ifname)) {
      throw new VipAddressError(
        'EINVAL',
        `${JSON.stringify(ifname)} is not a valid interface name (1-15 characters, no '/', ':' or spaces)`,
      );
    }
    if (this.closed) throw new VipAddressError('ECLOSED', 'the AddressManager is closed');
    try {
      return await fn();
    } catch (err) {
      const e = err instanceof NetlinkErrno ? err : new NetlinkErrno('EIO', String(err));
      if (e.code === 'ENODEV') throw missingInterface(ifname);
      throw new VipAddressError(e.code, `looking up interface ${ifname} failed (${e.code}): ${e.message}`);
    }
  }

  /** Addresses of one family (on one interface); none when the kernel has that family disabled altogether. */
  private async addresses(family: Family, index?: number): Promise<RtAddress[]> {
    try {
      return await this.call(() => this.port.addresses(family, index));
    } catch (err) {
      if (family === 6 && err instanceof VipAddressError && /^(EAFNOSUPPORT|EOPNOTSUPP)$/.test(err.code)) {
        return [];
      }
      throw err;
    }
  }

  /** Only that interface's addresses are read: a drift check every second costs what it holds, not the node's. */
  private async onLink(index: number, addr: IpBytes): Promise<RtAddress[]> {
    return (await this.addresses(addr.family, index)).filter(
      (a) => a.index === index && a.address.equals(addr.bytes),
    );
  }

  private failure(e: NetlinkErrno, what: string, ifname: string, family: Family): VipAddressError {
    switch (e.code) {
      case 'EPERM':
        return new VipAddressError('EPERM', `${what} needs CAP_NET_ADMIN (EPERM): ${CAP_FIX}`);
      case 'ENODEV':
        return missingInterface(ifname);
      case 'EACCES':
      case 'EAFNOSUPPORT':
      case 'EOPNOTSUPP':
        if (family === 6) {
          return new VipAddressError(
            'EAFNOSUPPORT',
            `IPv6 is disabled on ${ifname} (${e.code}): set net.ipv6.conf.${ifname}.disable_ipv6=0 ` +
              '(and no ipv6.disable=1 on the kernel command line), or use an IPv4 VIP',
            e.code,
          );
        }
        if (e.code === 'EACCES') {
          return new VipAddressError('EPERM', `${what} was refused (EACCES): ${CAP_FIX}`, e.code);
        }
        break;
      case 'EADDRNOTAVAIL':
        return new VipAddressError(
          'EADDRNOTAVAIL',
          `${what} failed: the kernel does not accept this address there (EADDRNOTAVAIL)`,
        );
    }
    return new VipAddressError(e.code, `${what} failed (${e.code}): ${e.message}`);
  }
}

function missingInterface(ifname: string): VipAddressError {
  return new VipAddressError(
    'ENODEV',
    `interface ${ifname} does not exist (ip link show lists them): check --interface / vip_interface`,
  );
}

function checkAddress(ip: string, prefix: number): IpBytes {
  const addr = ipBytes(ip);
  if (addr === undefined) throw new VipAddressError('EINVAL', `${JSON.stringify(ip)} is not an IP address`);
  const max = addr.family === 4 ? 32 : 128;
  if (!Number.isInteger(prefix) || prefix < 1 || prefix > max) {
    throw new VipAddressError('EINVAL', `prefix length ${prefix} is not valid for ${ip} (1-${max})`);
  }
  return addr;
}
