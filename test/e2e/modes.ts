// One way to run kvip per mode (ARP, Packet EIP, BGP with BIRD) on the namespace rigs, for tests and benches
// that do the same thing in every mode: start a node, and ask the world which node gets the VIP's traffic.
import type { ChildProcess } from 'node:child_process';
import { BgpRig } from './bgp-rig.js';
import { MetalRig } from './metal-rig.js';
import { Rig } from './rig.js';

export type ModeName = 'arp' | 'packet' | 'bgp';

export interface Lease {
  ld: number;
  rd: number;
  rp: number;
}

export interface ModeRig {
  name: ModeName;
  rig: Rig;
  /** The node the world sends the VIP's traffic to ('' for none). */
  servedBy(): Promise<string>;
  start(node: string, lease: Lease, extra?: string[]): ChildProcess;
  close(): Promise<void>;
}

export async function createModeRig(name: ModeName): Promise<ModeRig> {
  if (name === 'arp') {
    const rig = await Rig.create({ family: 4 });
    return {
      name,
      rig,
      // The address on eth0 of exactly one node.
      servedBy: async () => rig.soleHolder() ?? '',
      start: (n, lease, extra = []) => rig.startKvip(n, lease, extra),
      close: () => rig.destroy(),
    };
  }
  if (name === 'packet') {
    const m = await MetalRig.create();
    return {
      name,
      rig: m.rig,
      // The Elastic IP assigned to a node in the Metal fake, and the router's route pointing there.
      servedBy: async () => {
        const holder = await m.holder();
        return holder !== '' && m.rig.routeVia() === m.rig.nodeAddress(holder) ? holder : '';
      },
      start: (n, lease, extra = []) => m.startKvip(n, lease, extra),
      close: () => m.destroy(),
    };
  }
  const b = await BgpRig.create({ router: 'bird', holdTime: 3 });
  return {
    name,
    rig: b.rig,
    // One BGP path at the router, and its kernel route, to the same node.
    servedBy: async () => {
      const paths = await b.announcers();
      const kernel = b.kernelHolder();
      return paths.length === 1 && paths[0] === kernel ? kernel : '';
    },
    start: (n, lease, extra = []) => b.startKvip(n, lease, extra),
    close: () => b.destroy(),
  };
}

/** kvip's log lines on `node` (latest run), as their messages. */
export function messages(rig: Rig, node: string): string[] {
  return rig
    .kvipLog(node)
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      try {
        return (JSON.parse(l) as { msg: string }).msg;
      } catch {
        return l;
      }
    });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` every 50 ms until it returns a value; throws naming `what` after `ms`. */
export async function until<T>(what: string, fn: () => Promise<T | undefined>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}
