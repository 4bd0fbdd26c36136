// BGP-4 messages as bytes (RFC 4271; 4-octet AS numbers RFC 6793; multiprotocol RFC 4760; capabilities
// RFC 5492; communities RFC 1997): the types both the encoder below and the parser (parse.ts) use, and the
// encoder for what this speaker sends. It only ever announces host routes (the VIP), so it encodes just that:
// OPEN, KEEPALIVE, NOTIFICATION and UPDATEs for a few prefixes.
//
// Why hand-written: no BGP library on npm is maintained and strict enough to depend on for the one thing
// kvip needs (a few hundred bytes of well-specified framing); every message here is checked byte for byte
// against messages captured from gobgpd, BIRD 2 and FRR (test/bgp/fixtures).
import { isIP } from 'node:net';
import { ipBytes, ipv4ToBytes, ipv6ToBytes } from '../vip/frames.js';

export const MARKER = Buffer.alloc(16, 0xff);
export const HEADER_LENGTH = 19;
/** RFC 4271's limit; the Extended Message capability (RFC 8654) is not offered, so it holds both ways. */
export const MAX_MESSAGE_LENGTH = 4096;
export const BGP_VERSION = 4;
/** Put in OPEN's 2-byte "My AS" and in 2-byte AS_PATHs by a speaker whose ASN does not fit (RFC 6793). */
export const AS_TRANS = 23456;

export const MessageType = { Open: 1, Update: 2, Notification: 3, Keepalive: 4, RouteRefresh: 5 } as const;

export const Afi = { Ipv4: 1, Ipv6: 2 } as const;
export const Safi = { Unicast: 1 } as const;

export const CapabilityCode = {
  Multiprotocol: 1,
  RouteRefresh: 2,
  FourOctetAs: 65,
} as const;

export const AttrType = {
  Origin: 1,
  AsPath: 2,
  NextHop: 3,
  Med: 4,
  LocalPref: 5,
  AtomicAggregate: 6,
  Aggregator: 7,
  Communities: 8,
  MpReach: 14,
  MpUnreach: 15,
  As4Path: 17,
  As4Aggregator: 18,
} as const;

export const AttrFlag = { Optional: 0x80, Transitive: 0x40, Partial: 0x20, ExtendedLength: 0x10 } as const;
export const AsPathSegment = { Set: 1, Sequence: 2 } as const;
export const ORIGIN_IGP = 0;
export const DEFAULT_LOCAL_PREF = 100;

export interface Capability {
  code: number;
  value: Buffer;
}

export interface OpenMessage {
  type: 'open';
  version: number;
  /** The 2-byte "My AS" field (AS_TRANS when the real ASN is in the 4-octet AS capability). */
  myAs: number;
  holdTime: number;
  /** Dotted IPv4. */
  bgpId: string;
  capabilities: Capability[];
  /** From the 4-octet AS capability, when present. */
  as4?: number;
  /** AFI/SAFI pairs from multiprotocol capabilities. */
  families: Array<{ afi: number; safi: number }>;
}

/** A prefix in text: "203.0.113.100/32", "2001:db8::100/128". */
export type Prefix = string;

export interface UpdateMessage {
  type: 'update';
  /** IPv4 withdrawn routes and MP_UNREACH prefixes together. */
  withdrawn: Prefix[];
  /** IPv4 NLRI and MP_REACH prefixes together. */
  announced: Prefix[];
  /** Attribute type codes present, in order. */
  attributeTypes: number[];
  /** An End-of-RIB marker (RFC 4724): for this AFI/SAFI. */
  endOfRib?: { afi: number; safi: number };
}

export interface NotificationMessage {
  type: 'notification';
  code: number;
  subcode: number;
  data: Buffer;
}

export interface KeepaliveMessage {
  type: 'keepalive';
}

export interface RouteRefreshMessage {
  type: 'route-refresh';
  afi: number;
  safi: number;
}

export type Message =
  OpenMessage | UpdateMessage | NotificationMessage | KeepaliveMessage | RouteRefreshMessage;

function message(type: number, body: Buffer): Buffer {
  const length = HEADER_LENGTH + body.length;
  if (length > MAX_MESSAGE_LENGTH) throw new RangeError(`BGP message of ${length} bytes is over 4096`);
  const header = Buffer.alloc(HEADER_LENGTH);
  MARKER.copy(header, 0);
  header.writeUInt16BE(length, 16);
  header.writeUInt8(type, 18);
  return Buffer.concat([header, body]);
}

export function encodeKeepalive(): Buffer {
  return message(MessageType.Keepalive, Buffer.alloc(0));
}

export function encodeNotification(code: number, subcode: number, data: Buffer = Buffer.alloc(0)): Buffer {
  return message(MessageType.Notification, Buffer.concat([Buffer.from([code, subcode]), data]));
}

/**
 * A Cease with an Administrative Shutdown/Reset communication (RFC 9003): a length byte and at most 255
 * bytes of UTF-8, shown by the peer's operator tools ("kvip: shutting down").
 */
export function encodeCease(subcode: number, reason?: string): Buffer {
  if (reason === undefined) return encodeNotification(6, subcode);
  let text = Buffer.from(reason, 'utf8');
  if (text.length > 255) text = text.subarray(0, 255);
  return encodeNotification(6, subcode, Buffer.concat([Buffer.from([text.length]), text]));
}

export interface OpenOptions {
  localAs: number;
  holdTime: number;
  routerId: string;
  /** AFIs to offer multiprotocol unicast for (default both). */
  families?: Array<4 | 6>;
}

/** OPEN with one Capabilities parameter: multiprotocol unicast per family, then 4-octet AS. */
export function encodeOpen(o: OpenOptions): Buffer {
  const caps: Buffer[] = [];
  for (const family of o.families ?? [4, 6]) {
    caps.push(Buffer.from([CapabilityCode.Multiprotocol, 4, 0, family === 4 ? 1 : 2, 0, Safi.Unicast]));
  }
  const as4 = Buffer.alloc(6);
  as4.writeUInt8(CapabilityCode.FourOctetAs, 0);
  as4.writeUInt8(4, 1);
  as4.writeUInt32BE(o.localAs, 2);
  caps.push(as4);
  const capabilities = Buffer.concat(caps);
  const params = Buffer.concat([Buffer.from([2, capabilities.length]), capabilities]);
  const body = Buffer.alloc(10);
  body.writeUInt8(BGP_VERSION, 0);
  body.writeUInt16BE(o.localAs > 0xffff ? AS_TRANS : o.localAs, 1);
  body.writeUInt16BE(o.holdTime, 3);
  ipv4ToBytes(o.routerId).copy(body, 5);
  body.writeUInt8(params.length, 9);
  return message(MessageType.Open, Buffer.concat([body, params]));
}

/** Splits "a/len" and checks it; the address bytes are masked to the length. */
export function prefixBytes(prefix: Prefix): { family: 4 | 6; length: number; bytes: Buffer } {
  const slash = prefix.lastIndexOf('/');
  const address = slash < 0 ? prefix : prefix.slice(0, slash);
  const ip = ipBytes(address);
  if (!ip) throw new Error(`invalid prefix ${JSON.stringify(prefix)}`);
  const max = ip.family === 4 ? 32 : 128;
  const length = slash < 0 ? max : Number(prefix.slice(slash + 1));
  if (!Number.isInteger(length) || length < 0 || length > max)
    throw new Error(`invalid prefix length in ${JSON.stringify(prefix)}`);
  return { family: ip.family, length, bytes: ip.bytes };
}

/** NLRI encoding: a length byte, then only the bytes the length covers (RFC 4271 4.3). */
function encodePrefix(prefix: Prefix): Buffer {
  const { length, bytes } = prefixBytes(prefix);
  const n = Math.ceil(length / 8);
  const out = Buffer.alloc(1 + n);
  out.writeUInt8(length, 0);
  bytes.copy(out, 1, 0, n);
  if (length % 8 !== 0) out[n] = (out[n] as number) & (0xff << (8 - (length % 8)));
  return out;
}

function attribute(flags: number, type: number, value: Buffer): Buffer {
  if (value.length > 255 || (flags & AttrFlag.ExtendedLength) !== 0) {
    const head = Buffer.from([flags | AttrFlag.ExtendedLength, type, 0, 0]);
    head.writeUInt16BE(value.length, 2);
    return Buffer.concat([head, value]);
  }
  return Buffer.concat([Buffer.from([flags, type, value.length]), value]);
}

function asPathValue(asns: number[], fourOctet: boolean): Buffer {
  if (asns.length === 0) return Buffer.alloc(0);
  const width = fourOctet ? 4 : 2;
  const out = Buffer.alloc(2 + width * asns.length);
  out.writeUInt8(AsPathSegment.Sequence, 0);
  out.writeUInt8(asns.length, 1);
  asns.forEach((as, i) => {
    if (fourOctet) out.writeUInt32BE(as, 2 + 4 * i);
    else out.writeUInt16BE(as > 0xffff ? AS_TRANS : as, 2 + 2 * i);
  });
  return out;
}

export interface RouteAttributes {
  /** This speaker's AS, prepended for eBGP; nothing for iBGP. */
  localAs: number;
  ibgp: boolean;
  /** Both sides sent the 4-octet AS capability. */
  fourOctetAs: boolean;
  /** The session's local address: NEXT_HOP for IPv4, MP_REACH next hop for IPv6. */
  nextHop: string;
  /** iBGP only; default 100. */
  localPref?: number;
  /** RFC 1997 communities as 32-bit numbers (asn << 16 | value). */
  communities?: number[];
}

/**
 * Announces prefixes of one family in one UPDATE: IPv4 in the NLRI field with NEXT_HOP, IPv6 in MP_REACH_NLRI.
 * Attributes in type order: ORIGIN IGP, AS_PATH, NEXT_HOP, LOCAL_PREF (iBGP), COMMUNITIES, MP_REACH_NLRI,
 * and AS4_PATH when a 4-byte ASN has to travel through a 2-byte session.
 */
export function encodeAnnounce(prefixes: Prefix[], a: RouteAttributes): Buffer {
  const family = familyOf(prefixes);
  const path = a.ibgp ? [] : [a.localAs];
  const wk = AttrFlag.Transitive;
  const attrs: Buffer[] = [
    attribute(wk, AttrType.Origin, Buffer.from([ORIGIN_IGP])),
    attribute(wk, AttrType.AsPath, asPathValue(path, a.fourOctetAs)),
  ];
  if (family === 4) attrs.push(attribute(wk, AttrType.NextHop, ipv4ToBytes(a.nextHop)));
  if (a.ibgp) {
    const lp = Buffer.alloc(4);
    lp.writeUInt32BE(a.localPref ?? DEFAULT_LOCAL_PREF, 0);
    attrs.push(attribute(wk, AttrType.LocalPref, lp));
  }
  if (a.communities && a.communities.length > 0) {
    const c = Buffer.alloc(4 * a.communities.length);
    a.communities.forEach((v, i) => c.writeUInt32BE(v >>> 0, 4 * i));
    attrs.push(attribute(AttrFlag.Optional | AttrFlag.Transitive, AttrType.Communities, c));
  }
  const nlri = Buffer.concat(prefixes.map(encodePrefix));
  if (family === 6) {
    const nh = isIP(a.nextHop) === 6 ? ipv6ToBytes(a.nextHop) : ipv6ToBytes(`::ffff:${a.nextHop}`);
    const head = Buffer.from([0, Afi.Ipv6, Safi.Unicast, nh.length]);
    const reach = Buffer.concat([head, nh, Buffer.from([0]), nlri]);
    attrs.push(attribute(AttrFlag.Optional, AttrType.MpReach, reach));
  }
  if (!a.fourOctetAs && path.some((as) => as > 0xffff))
    attrs.push(attribute(AttrFlag.Optional | AttrFlag.Transitive, AttrType.As4Path, asPathValue(path, true)));
  return update(Buffer.alloc(0), Buffer.concat(attrs), family === 4 ? nlri : Buffer.alloc(0));
}

/** Withdraws prefixes of one family: IPv4 in Withdrawn Routes, IPv6 in MP_UNREACH_NLRI. */
export function encodeWithdraw(prefixes: Prefix[]): Buffer {
  const family = familyOf(prefixes);
  const routes = Buffer.concat(prefixes.map(encodePrefix));
  if (family === 4) return update(routes, Buffer.alloc(0), Buffer.alloc(0));
  const unreach = Buffer.concat([Buffer.from([0, Afi.Ipv6, Safi.Unicast]), routes]);
  return update(Buffer.alloc(0), attribute(AttrFlag.Optional, AttrType.MpUnreach, unreach), Buffer.alloc(0));
}

function update(withdrawn: Buffer, attrs: Buffer, nlri: Buffer): Buffer {
  const w = Buffer.alloc(2);
  w.writeUInt16BE(withdrawn.length, 0);
  const p = Buffer.alloc(2);
  p.writeUInt16BE(attrs.length, 0);
  return message(MessageType.Update, Buffer.concat([w, withdrawn, p, attrs, nlri]));
}

function familyOf(prefixes: Prefix[]): 4 | 6 {
  if (prefixes.length === 0) throw new Error('an UPDATE needs at least one prefix');
  const families = new Set(prefixes.map((p) => prefixBytes(p).family));
  if (families.size !== 1) throw new Error('one UPDATE carries prefixes of one family');
  return [...families][0] as 4 | 6;
}
