// One frame out of an interface and a bounded wait for the frames that answer it (native/src/packet_probe.c):
// what `kvip check` uses to ask the segment whether anyone already answers for the VIP.
import { loadNative } from './index.js';

export interface PacketProbeOptions {
  ifname: string;
  /** A whole Ethernet frame, 14-1514 bytes, destination MAC first, no FCS. */
  frame: Uint8Array;
  /** How long to wait for an answer, counted from the call: 1-10000 ms. */
  timeoutMs: number;
  /** Send the frame again every this many ms while waiting (0 or absent: once). */
  resendMs?: number;
  /** The ethertype listened to (0x0806 ARP, 0x86dd IPv6). */
  ethertype: number;
  /** An answer is a received frame whose bytes at `offset` equal `bytes` (where `mask` has bits set). */
  offset: number;
  /** 1-64 bytes, ending within the frame's first 256. */
  bytes: Uint8Array;
  /** As long as `bytes`; absent: every bit counts. */
  mask?: Uint8Array;
}

/** With `maxAnswers`, 1-16: how many answers to wait for before the deadline. */
export interface PacketProbeAllOptions extends PacketProbeOptions {
  maxAnswers: number;
}

/**
 * Resolves with the first matching frame received on `ifname` (up to 256 bytes of it; frames this host sends
 * never match), or null when none came within timeoutMs. Runs on libuv's threadpool, never on the event loop;
 * the socket is closed on every path. Rejects with a NativeError: ENODEV (no such interface), EPERM (no
 * CAP_NET_RAW), ENETDOWN (the link is down), ...; options of the wrong type or range throw a TypeError.
 */
export function packetProbe(opts: PacketProbeOptions): Promise<Buffer | null> {
  return loadNative()
    .packetProbe({ ...opts, maxAnswers: 1 })
    .then(([first]) => first ?? null);
}

/**
 * As packetProbe, but listens until `maxAnswers` matching frames came or timeoutMs passed, and resolves with
 * every one received (none: an empty array), in the order they arrived.
 */
export function packetProbeAll(opts: PacketProbeAllOptions): Promise<Buffer[]> {
  return loadNative().packetProbe(opts);
}
