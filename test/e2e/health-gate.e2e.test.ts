// The health gate end to end, in each mode: three real `kvip start` nodes renew the lease straight at the
// fake (as a DaemonSet does through the kubernetes Service), while each checks its own API server on
// 127.0.0.1:6443 (a forwarder in its namespace) with the default check. Stopping the leader's own API server
// moves the VIP to a healthy node; starting it again does not bring the VIP back. Checked by what the world
// sees: the address on eth0 (ARP), the Elastic IP's assignment in the Metal fake and the router's route
// (Packet), the router's BGP path and kernel route (BGP), and the Lease in the API server.
import type { ChildProcess } from 'node:child_process';
import { describeNetns } from '../helpers/netns.js';
import { BgpRig } from './bgp-rig.js';
import { MetalRig } from './metal-rig.js';
import type { Rig } from './rig.js';
import { Rig as ArpRig } from './rig.js';

const LEASE = { ld: 3, rd: 2, rp: 0.5 };
const BOUND_MS = 20000; // functional deadline only; bench/ measures the times
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Mode {
  rig: Rig;
  /** The node the world sends the VIP's traffic to ('' for none). */
  servedBy(): Promise<string>;
  start(node: string): ChildProcess;
  close(): Promise<void>;
}

function messages(rig: Rig, node: string): string[] {
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

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = BOUND_MS): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

const MODES: Array<[string, () => Promise<Mode>]> = [
  [
    'ARP',
    async () => {
      const rig = await ArpRig.create({ family: 4 });
      return {
        rig,
        servedBy: async () => rig.soleHolder() ?? '',
        start: (n) => rig.startKvip(n, LEASE, ['--apiServer', rig.apiServerUrl]),
        close: () => rig.destroy(),
      };
    },
  ],
  [
    'Packet EIP',
    async () => {
      const m = await MetalRig.create();
      return {
        rig: m.rig,
        servedBy: async () => {
          const holder = await m.holder();
          return holder !== '' && m.rig.routeVia() === m.rig.nodeAddress(holder) ? holder : '';
        },
        start: (n) => m.startKvip(n, LEASE, ['--apiServer', m.rig.apiServerUrl]),
        close: () => m.destroy(),
      };
    },
  ],
  [
    'BGP',
    async () => {
      const b = await BgpRig.create({ router: 'bird', holdTime: 3 });
      return {
        rig: b.rig,
        servedBy: async () => {
          const paths = await b.announcers();
          const kernel = b.kernelHolder();
          return paths.length === 1 && paths[0] === kernel ? kernel : '';
        },
        start: (n) => b.startKvip(n, LEASE, ['--apiServer', b.rig.apiServerUrl]),
        close: () => b.destroy(),
      };
    },
  ],
];

describe.each(MODES)('the health gate in %s mode', (name, create) => {
  describeNetns(`${name}: the leader's own API server stops`, () => {
    let mode: Mode;
    beforeAll(async () => {
      mode = await create();
    }, 90000);
    afterAll(async () => {
      if (!mode) return;
      await Promise.all(mode.rig.nodes.map((n) => mode.rig.stopKvip(n, 'SIGKILL')));
      await mode.close();
    });

    it('moves the VIP to a healthy node, and does not bring it back when that API server returns', async () => {
      const { rig } = mode;
      for (const n of rig.nodes) mode.start(n);
      const leader = await until('one leader serving the VIP', async () => {
        const holder = await rig.leaseHolder();
        return holder !== '' && (await mode.servedBy()) === holder ? holder : undefined;
      });

      await rig.stopLocalApiServer(leader);
      const next = await until(`the VIP served by a node other than ${leader}`, async () => {
        const served = await mode.servedBy();
        return served !== '' && served !== leader && (await rig.leaseHolder()) === served
          ? served
          : undefined;
      });
      expect(messages(rig, leader)).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^the health check failed 3 times in a row: this node gives up leadership/),
          'giving up the lease',
          'released the lease',
          'not trying to acquire the lease: the leadership gate is closed',
        ]),
      );

      await rig.startLocalApiServer(leader);
      await until(`${leader}'s health check passing again`, async () =>
        messages(rig, leader).some((m) => /^the health check passes \(3 passes in a row\)/.test(m))
          ? true
          : undefined,
      );
      // A few renewals of the new leader later, it still serves the VIP, and the old one never led again.
      await sleep(3 * LEASE.ld * 1000);
      expect(await mode.servedBy()).toBe(next);
      expect(await rig.leaseHolder()).toBe(next);
      expect(messages(rig, leader).filter((m) => m === 'successfully acquired lease')).toHaveLength(1);
    });
  });
});
