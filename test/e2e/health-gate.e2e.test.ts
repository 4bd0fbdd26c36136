// The health gate end to end, in each mode: three real `kvip start` nodes renew the lease straight at the
// fake (as a DaemonSet does through the kubernetes Service), while each checks its own API server on
// 127.0.0.1:6443 (a forwarder in its namespace) with the default check. Stopping the leader's own API server
// moves the VIP to a healthy node; starting it again does not bring the VIP back. Checked by what the world
// sees: the address on eth0 (ARP), the Elastic IP's assignment in the Metal fake and the router's route
// (Packet), the router's BGP path and kernel route (BGP), and the Lease in the API server.
import { describeNetns } from '../helpers/netns.js';
import { createModeRig, messages, until, type ModeName, type ModeRig } from './modes.js';

const LEASE = { ld: 3, rd: 2, rp: 0.5 };
const BOUND_MS = 20000; // functional deadline only; bench/ measures the times
/** A hang guard above the case's own bounded waits (three of BOUND_MS, three lease durations of sleep). */
const CASE_TIMEOUT_MS = 4 * BOUND_MS + 3 * LEASE.ld * 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(['arp', 'packet', 'bgp'] as ModeName[])('the health gate in %s mode', (name) => {
  describeNetns(`${name}: the leader's own API server stops`, () => {
    let mode: ModeRig;
    beforeAll(async () => {
      mode = await createModeRig(name);
    }, 90000);
    afterAll(async () => {
      if (!mode) return;
      await Promise.all(mode.rig.nodes.map((n) => mode.rig.stopKvip(n, 'SIGKILL')));
      await mode.close();
    });

    it(
      'moves the VIP to a healthy node, and does not bring it back when that API server returns',
      async () => {
        const { rig } = mode;
        for (const n of rig.nodes) mode.start(n, LEASE, ['--apiServer', rig.apiServerUrl]);
        const leader = await until(
          'one leader serving the VIP',
          async () => {
            const holder = await rig.leaseHolder();
            return holder !== '' && (await mode.servedBy()) === holder ? holder : undefined;
          },
          BOUND_MS,
        );

        await rig.stopLocalApiServer(leader);
        const next = await until(
          `the VIP served by a node other than ${leader}`,
          async () => {
            const served = await mode.servedBy();
            return served !== '' && served !== leader && (await rig.leaseHolder()) === served
              ? served
              : undefined;
          },
          BOUND_MS,
        );
        // What the old leader logged (its log file may trail what the world already shows).
        const said = [
          /^the health check failed 3 times in a row: this node gives up leadership/,
          /^giving up the lease$/,
          /^released the lease$/,
          /^not trying to acquire the lease: the leadership gate is closed$/,
        ];
        await until(
          `${leader} to log why it gave up`,
          async () => (said.every((re) => messages(rig, leader).some((m) => re.test(m))) ? true : undefined),
          BOUND_MS,
        );

        await rig.startLocalApiServer(leader);
        await until(
          `${leader}'s health check passing again`,
          async () =>
            messages(rig, leader).some((m) => /^the health check passes \(3 passes in a row\)/.test(m))
              ? true
              : undefined,
          BOUND_MS,
        );
        // A few renewals of the new leader later, it still serves the VIP, and the old one never led again.
        await sleep(3 * LEASE.ld * 1000);
        expect(await mode.servedBy()).toBe(next);
        expect(await rig.leaseHolder()).toBe(next);
        expect(messages(rig, leader).filter((m) => m === 'successfully acquired lease')).toHaveLength(1);
      },
      CASE_TIMEOUT_MS,
    );
  });
});
