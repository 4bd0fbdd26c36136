// Does anyone on the segment already answer for the VIP? IPv4: an RFC 5227 ARP probe, and any ARP packet whose
// sender IP is the VIP is an answer (RFC 5227 2.1.1). IPv6: a DAD neighbour solicitation (RFC 4862 5.4.3), and
// a neighbour advertisement for the VIP is an answer. Neither question makes a receiver cache anything, and
// this host's own kernel never sees them: a VIP this node holds is not answered by it.
import { isIP } from 'node:net';
import { packetProbeAll, type PacketProbeOptions } from '../native/probe.js';
import { ETHERTYPE_ARP, ETHERTYPE_IPV6, arpProbe, dadSolicitation, formatMac, ipBytes } from './frames.js';

/** RFC 5227's three probes, about PROBE_MAX apart, and the wait after the last one: 1.2 s in all. */
const WAIT_MS = 1200;
const RESEND_MS = 400;
/** Answers kept: every holder answers the first probe, so up to this many holders are told apart. */
const MAX_ANSWERS = 16;

type Filter = Pick<PacketProbeOptions, 'ethertype' | 'offset' | 'bytes' | 'mask'>;

/** Any ARP packet (request or reply) for Ethernet/IPv4 whose sender IP is the VIP. */
function arpFilter(vip: Buffer): Filter {
  // From offset 14: htype 1, ptype 0x0800, hlen 6, plen 4, op (any), sender MAC (any), sender IP.
  const bytes = Buffer.concat([Buffer.from([0, 1, 8, 0, 6, 4, 0, 0]), Buffer.alloc(6), vip]);
  const mask = Buffer.concat([Buffer.alloc(6, 0xff), Buffer.alloc(8), Buffer.alloc(4, 0xff)]);
  return { ethertype: ETHERTYPE_ARP, offset: 14, bytes, mask };
}

/** An ICMPv6 neighbour advertisement (hop limit 255, no extension header) whose target is the VIP. */
function naFilter(vip: Buffer): Filter {
  // From offset 20: next header 58, hop limit 255, source and destination (any), type 136, code 0, checksum
  // and flags (any), target.
  const bytes = Buffer.alloc(58);
  const mask = Buffer.alloc(58);
  bytes[0] = 58;
  bytes[1] = 255;
  bytes[34] = 136;
  mask.fill(0xff, 0, 2);
  mask.fill(0xff, 34, 36);
  vip.copy(bytes, 42);
  mask.fill(0xff, 42, 58);
  return { ethertype: ETHERTYPE_IPV6, offset: 20, bytes, mask };
}

/** Who answered: the ARP sender MAC; for an NA its target link-layer option, else the Ethernet source. */
function answerer(family: 4 | 6, frame: Buffer): string {
  if (family === 4) return formatMac(frame.subarray(22, 28));
  const option = frame.length >= 86 && frame[78] === 2 && frame[79] === 1;
  return formatMac(option ? frame.subarray(80, 86) : frame.subarray(6, 12));
}

/**
 * The MACs of the hosts on `ifname`'s segment that answer for `vip` within 1.2 s, each once, in the order they
 * first answered (none: an empty array); more than one is more than one holder. `mac` is this interface's. Rejects with
 * the addon's errors (EPERM without CAP_NET_RAW, ENETDOWN, ENODEV).
 */
export async function whoAnswers(ifname: string, mac: string, vip: string): Promise<string[]> {
  const ip = ipBytes(vip);
  if (!ip) throw new TypeError(`invalid IP address ${JSON.stringify(vip)}`);
  const v4 = isIP(vip) === 4;
  const frames = await packetProbeAll({
    ifname,
    frame: v4 ? arpProbe(mac, vip) : dadSolicitation(mac, vip),
    timeoutMs: WAIT_MS,
    resendMs: RESEND_MS,
    maxAnswers: MAX_ANSWERS,
    ...(v4 ? arpFilter(ip.bytes) : naFilter(ip.bytes)),
  });
  return [...new Set(frames.map((f) => answerer(ip.family, f)))];
}
