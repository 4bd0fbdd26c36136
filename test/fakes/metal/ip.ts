// Address arithmetic for the fake Metal API: blocks, containment, netmasks. BigInt so IPv4 and IPv6 share it.
import { isIPv4, isIPv6 } from 'node:net';

export interface Block {
  family: 4 | 6;
  /** The network address as a number. */
  net: bigint;
  cidr: number;
}

const bits = (family: 4 | 6): number => (family === 4 ? 32 : 128);

export function toBig(ip: string): bigint {
  if (isIPv4(ip)) return ip.split('.').reduce((n, o) => (n << 8n) | BigInt(o), 0n);
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n);
}

export function fromBig(n: bigint, family: 4 | 6): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 255n)).join('.');
  const groups = [...Array(8).keys()].map((i) => ((n >> BigInt(112 - 16 * i)) & 0xffffn).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

/** 'a.b.c.d', 'a.b.c.d/N' or IPv6 likewise; the default prefix is a single address. */
export function parseBlock(s: string, cidr?: number): Block | null {
  const [ip, len] = s.trim().split('/') as [string, string | undefined];
  const family = isIPv4(ip) ? 4 : isIPv6(ip) ? 6 : null;
  if (family === null) return null;
  const c = len !== undefined ? Number(len) : (cidr ?? bits(family));
  if (!Number.isInteger(c) || c < 0 || c > bits(family)) return null;
  if (len !== undefined && !/^\d+$/.test(len)) return null;
  return { family, net: toBig(ip) & mask(family, c), cidr: c };
}

function mask(family: 4 | 6, cidr: number): bigint {
  const b = BigInt(bits(family));
  return ((1n << b) - 1n) ^ ((1n << (b - BigInt(cidr))) - 1n);
}

/** Whether `inner` lies within `outer`. */
export function contains(outer: Block, inner: Block): boolean {
  return (
    outer.family === inner.family &&
    inner.cidr >= outer.cidr &&
    (inner.net & mask(outer.family, outer.cidr)) === outer.net
  );
}

export function overlaps(a: Block, b: Block): boolean {
  return contains(a, b) || contains(b, a);
}

export function network(b: Block): string {
  return fromBig(b.net, b.family);
}

/** The n-th address of the block (wrapping inside it). */
export function nth(b: Block, n: number): string {
  const size = 1n << BigInt(bits(b.family) - b.cidr);
  return fromBig(b.net + (BigInt(n) % size), b.family);
}

export function netmask(b: Block): string {
  return b.family === 4 ? fromBig(mask(4, b.cidr), 4) : fromBig(mask(6, b.cidr), 6);
}
