import { isIP } from 'node:net';

// The two announcement frames the ARP provider sends when it takes the VIP, and the two questions `kvip check`
// asks (an ARP probe, a DAD solicitation), built byte by byte. They are tiny, fixed layouts (60 to 86 bytes,
// one checksum), so a packet library would add a dependency and nothing else. The netns tests
// (test/vip/packet.netns.test.ts, test/check/check.netns.test.ts) prove against real kernels that Linux
// accepts and answers these forms. Sent by src/native (sendPacket, packetProbe) on an AF_PACKET socket.

export const BROADCAST_MAC = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
/** 33:33 + the low 32 bits of ff02::1 (all-nodes), RFC 2464 section 7. */
export const ALL_NODES_MAC = Buffer.from([0x33, 0x33, 0x00, 0x00, 0x00, 0x01]);
export const ALL_NODES_IPV6 = 'ff02::1';

export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_IPV6 = 0x86dd;
/** Ethernet minimum without the FCS (the NIC appends it): shorter frames are padded with zeros. */
export const ETHERNET_MIN_FRAME = 60;
/** Ethernet 14 + IPv6 40 + ICMPv6 NA 24 + target link-layer option 8. */
export const NA_FRAME_LENGTH = 86;

/** "02:00:5e:10:00:01" (or with '-') -> 6 bytes. Throws on anything else. */
export function parseMac(s: string): Buffer {
  const m =
    /^([0-9a-f]{2})([:-])([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})$/i.exec(s);
  if (!m) {
    throw new Error(`invalid MAC address ${JSON.stringify(s)} (expected six hex pairs: aa:bb:cc:dd:ee:ff)`);
  }
  return Buffer.from([m[1], m[3], m[4], m[5], m[6], m[7]].map((h) => parseInt(h as string, 16)));
}

/** Text of 6 bytes: "02:00:5e:10:00:01". */
export function formatMac(mac: Uint8Array): string {
  return [...mac].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** A dotted-quad IPv4 address -> 4 bytes (node:net isIP decides what is valid). Throws otherwise. */
export function ipv4ToBytes(ip: string): Buffer {
  if (isIP(ip) !== 4) throw new Error(`invalid IPv4 address ${JSON.stringify(ip)}`);
  return Buffer.from(ip.split('.').map((p) => Number(p)));
}

/**
 * An IPv6 address in any RFC 4291 text form -> 16 bytes: full, `::`-compressed (at the start, middle or end)
 * and with an embedded dotted IPv4 tail (`::ffff:198.51.100.1`). A zone (`%eth0`) is refused: a VIP has none.
 */
export function ipv6ToBytes(ip: string): Buffer {
  if (isIP(ip) !== 6 || ip.includes('%')) throw new Error(`invalid IPv6 address ${JSON.stringify(ip)}`);
  // An embedded IPv4 tail becomes two hex groups, so what follows only deals with 16-bit groups.
  let text = ip;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = ipv4ToBytes(tail);
    text = `${text.slice(0, lastColon + 1)}${v4.readUInt16BE(0).toString(16)}:${v4.readUInt16BE(2).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) throw new Error(`invalid IPv6 address ${JSON.stringify(ip)}`);
  const groups = (part: string | undefined): string[] => (part ? part.split(':') : []);
  const head = groups(halves[0]);
  const rest = groups(halves[1]);
  const missing = 8 - head.length - rest.length;
  // Without '::' there must be exactly 8 groups; with it, '::' stands for at least one zero group.
  if (halves.length === 1 ? missing !== 0 : missing < 1) {
    throw new Error(`invalid IPv6 address ${JSON.stringify(ip)}`);
  }
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => {
    if (!/^[0-9a-f]{1,4}$/i.test(g)) throw new Error(`invalid IPv6 address ${JSON.stringify(ip)}`);
    out.writeUInt16BE(parseInt(g, 16), i * 2);
  });
  return out;
}

export interface IpBytes {
  family: 4 | 6;
  bytes: Buffer;
}

/** Either family's address -> its family and bytes; undefined for what is no address (or has a %zone). */
export function ipBytes(ip: string): IpBytes | undefined {
  const family = isIP(ip);
  if (family === 4) return { family, bytes: ipv4ToBytes(ip) };
  if (family === 6 && !ip.includes('%')) return { family, bytes: ipv6ToBytes(ip) };
  return undefined;
}

/** A sender MAC as bytes: 6 bytes (a copy) or text; must be unicast and not all zeros (lo has 00:00:...). */
function senderMacBytes(senderMac: Uint8Array | string): Buffer {
  const mac = typeof senderMac === 'string' ? parseMac(senderMac) : Buffer.from(senderMac);
  if (mac.length !== 6) throw new Error(`invalid MAC address: ${mac.length} bytes, expected 6`);
  if ((mac[0] as number) & 0x01) throw new Error(`sender MAC ${formatMac(mac)} is multicast/broadcast`);
  if (mac.every((b) => b === 0)) throw new Error('sender MAC 00:00:00:00:00:00 cannot announce an address');
  return mac;
}

/** An ARP request (op 1) from senderMac to the Ethernet broadcast, padded to 60 bytes. */
function arpRequest(senderMac: Buffer, senderIp: Buffer, targetMac: Buffer, targetIp: Buffer): Buffer {
  const f = Buffer.alloc(ETHERNET_MIN_FRAME); // zeros: the padding after the 42 bytes used
  BROADCAST_MAC.copy(f, 0); // Ethernet destination
  senderMac.copy(f, 6); // Ethernet source
  f.writeUInt16BE(ETHERTYPE_ARP, 12);
  f.writeUInt16BE(1, 14); // htype: Ethernet
  f.writeUInt16BE(0x0800, 16); // ptype: IPv4
  f[18] = 6; // hlen
  f[19] = 4; // plen
  f.writeUInt16BE(1, 20); // op: request
  senderMac.copy(f, 22); // sender hardware address
  senderIp.copy(f, 28); // sender protocol address
  targetMac.copy(f, 32); // target hardware address
  targetIp.copy(f, 38); // target protocol address
  return f;
}

/**
 * Gratuitous ARP for an IPv4 VIP, in the form Linux always accepts (measured in test/vip/packet.netns.test.ts): an ARP *request*
 * (op 1) with sender IP = target IP = VIP and target MAC ff:ff:ff:ff:ff:ff, to the Ethernet broadcast. (A
 * reply with a broadcast target MAC is ignored for 1 s after the neighbour entry last changed.) 60 bytes.
 */
export function gratuitousArp(senderMac: Uint8Array | string, vip: string): Buffer {
  const ip = ipv4ToBytes(vip);
  return arpRequest(senderMacBytes(senderMac), ip, BROADCAST_MAC, ip);
}

/**
 * An RFC 5227 ARP probe for `vip`: a request with sender IP 0.0.0.0 (so no receiver puts it in its cache) and
 * target MAC zero, to the broadcast. A host holding the VIP answers it with a reply to senderMac. 60 bytes.
 */
export function arpProbe(senderMac: Uint8Array | string, vip: string): Buffer {
  return arpRequest(senderMacBytes(senderMac), Buffer.alloc(4), Buffer.alloc(6), ipv4ToBytes(vip));
}

/** RFC 1071 one's complement sum of 16-bit big-endian words (odd length: pad with a zero byte), not inverted. */
function onesComplementSum(parts: Uint8Array[]): number {
  let sum = 0;
  for (const p of parts) {
    for (let i = 0; i < p.length; i += 2) sum += ((p[i] as number) << 8) | (p[i + 1] ?? 0);
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/**
 * Unsolicited Neighbour Advertisement for an IPv6 VIP (RFC 4861 section 7.2.6): from the VIP to all-nodes
 * ff02::1 (Ethernet 33:33:00:00:00:01), hop limit 255, flags R=0 S=0 O=1 (override the cached MAC), target =
 * VIP, with the target link-layer address option = senderMac. 86 bytes.
 */
export function unsolicitedNa(senderMac: Uint8Array | string, vip6: string): Buffer {
  const mac = senderMacBytes(senderMac);
  const src = ipv6ToBytes(vip6);
  const dst = ipv6ToBytes(ALL_NODES_IPV6);
  const icmpLength = NA_FRAME_LENGTH - 54;
  const f = Buffer.alloc(NA_FRAME_LENGTH);
  // Ethernet
  ALL_NODES_MAC.copy(f, 0);
  mac.copy(f, 6);
  f.writeUInt16BE(ETHERTYPE_IPV6, 12);
  // IPv6 header (offset 14)
  f.writeUInt32BE(0x60000000, 14); // version 6, traffic class 0, flow label 0
  f.writeUInt16BE(icmpLength, 18); // payload length
  f[20] = 58; // next header: ICMPv6
  f[21] = 255; // hop limit: receivers drop an NA with any other (RFC 4861 7.1.2)
  src.copy(f, 22);
  dst.copy(f, 38);
  // ICMPv6 neighbour advertisement (offset 54)
  f[54] = 136; // type
  f[55] = 0; // code
  // 56-57: checksum, filled in below
  f[58] = 0x20; // R=0 (0x80) S=0 (0x40) O=1 (0x20); the other 29 bits reserved
  src.copy(f, 62); // target address: the VIP
  f[78] = 2; // option: target link-layer address
  f[79] = 1; // length in units of 8 bytes
  mac.copy(f, 80);
  setIcmp6Checksum(f);
  return f;
}

/** Fills in the ICMPv6 checksum of a frame (Ethernet, IPv6 without extension headers, ICMPv6 at 54). */
function setIcmp6Checksum(f: Buffer): void {
  // Over the pseudo-header (src, dst, upper-layer length, 3 zeros + next header) and the message.
  const pseudo = Buffer.alloc(8);
  pseudo.writeUInt32BE(f.length - 54, 0);
  pseudo[7] = 58;
  const sum = onesComplementSum([f.subarray(22, 38), f.subarray(38, 54), pseudo, f.subarray(54)]);
  f.writeUInt16BE(~sum & 0xffff, 56);
}

/** The solicited-node multicast group of an IPv6 address (ff02::1:ff + its low 24 bits, RFC 4291 2.7.1). */
export function solicitedNode(ip6: Uint8Array): Buffer {
  const group = ipv6ToBytes('ff02::1:ff00:0');
  Buffer.from(ip6.subarray(13, 16)).copy(group, 13);
  return group;
}

/** Ethernet 14 + IPv6 40 + ICMPv6 NS 24 (no option: none is allowed from ::). */
export const DAD_NS_FRAME_LENGTH = 78;

/**
 * Duplicate address detection's neighbour solicitation for `vip6` (RFC 4862 5.4.2): from :: to the VIP's
 * solicited-node group (Ethernet 33:33 + its low 32 bits), hop limit 255, target the VIP. A node holding the
 * VIP answers with an NA to all-nodes; nobody caches anything from it. 78 bytes.
 */
export function dadSolicitation(senderMac: Uint8Array | string, vip6: string): Buffer {
  const mac = senderMacBytes(senderMac);
  const target = ipv6ToBytes(vip6);
  const group = solicitedNode(target);
  const f = Buffer.alloc(DAD_NS_FRAME_LENGTH);
  f[0] = 0x33;
  f[1] = 0x33;
  group.copy(f, 2, 12, 16);
  mac.copy(f, 6);
  f.writeUInt16BE(ETHERTYPE_IPV6, 12);
  f.writeUInt32BE(0x60000000, 14);
  f.writeUInt16BE(DAD_NS_FRAME_LENGTH - 54, 18); // payload length
  f[20] = 58; // next header: ICMPv6
  f[21] = 255; // hop limit (RFC 4861 7.1.1)
  // 22-37: source ::, already zeros
  group.copy(f, 38);
  f[54] = 135; // type: neighbour solicitation; 55 code 0, 56-57 checksum, 58-61 reserved
  target.copy(f, 62);
  setIcmp6Checksum(f);
  return f;
}
