// Which of the capabilities kvip needs this process lacks, read from /proc/self/status (CapEff), so a pod
// without NET_ADMIN / NET_RAW gets one clear line at start instead of an EPERM at its first failover.
import { readFileSync } from 'node:fs';
import { loadNative } from '../native/index.js';

export const CAP_NET_ADMIN = 12;
export const CAP_NET_RAW = 13;

export interface Capability {
  name: string;
  bit: number;
}

/** What `kvip start` needs: NET_ADMIN for addresses and routes, and NET_RAW for gratuitous ARP / NA. */
export function neededCapabilities(config: { arp: boolean }): Capability[] {
  return [
    { name: 'NET_ADMIN', bit: CAP_NET_ADMIN },
    ...(config.arp ? [{ name: 'NET_RAW', bit: CAP_NET_RAW }] : []),
  ];
}

export function missingCapabilities(needed: Capability[], status?: string): string[] {
  let text = status;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/status', 'utf8');
    } catch {
      return []; // not Linux /proc: let the first system call tell
    }
  }
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(text);
  if (!m) return [];
  const eff = BigInt(`0x${m[1]}`);
  return needed.filter((c) => ((eff >> BigInt(c.bit)) & 1n) === 0n).map((c) => c.name);
}

/**
 * Makes the needed capabilities effective where they are only permitted: kvip's image runs as a non-root user
 * and its node carries NET_ADMIN and NET_RAW as permitted file capabilities (docker/Dockerfile says why not
 * effective). As root, or without them, nothing changes; missingCapabilities then tells what is missing.
 */
export function raiseCapabilities(needed: { bit: number }[]): void {
  let native;
  try {
    native = loadNative();
  } catch {
    return; // no addon: the first step that needs it says so
  }
  native.raiseCapabilities(needed.map((c) => c.bit));
}
