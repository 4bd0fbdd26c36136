// The ARP provider against the real kernel: it runs in namespace A (test/vip/fixtures/arp-ops.ts) on one
// end of a veth pair, and tcpdump on the other end, in namespace B, shows which announcements reach the
// wire. Needs root, `ip` and tcpdump: skipped with the reason on a developer machine, failed when CI=true.
import { fileURLToPath } from 'node:url';

import { Capture } from '../helpers/capture.js';
import { LineChild, type Reply } from '../helpers/line-child.js';
import {
  createNamespace,
  createVeth,
  deleteNamespacesWithPrefix,
  describeNetns,
  sh,
  trySh,
  uniqueTag,
  waitFor,
} from '../helpers/netns.js';

const fixture = fileURLToPath(new URL('./fixtures/arp-ops.ts', import.meta.url));
const tag = uniqueTag('g');
const nsA = `${tag}a`; // kvip
const nsB = `${tag}b`; // the wire
const ifA = `${tag}a0`;
const ifB = `${tag}b0`;
const VIP = '198.51.100.40';

interface IpLink {
  ifindex: number;
  address: string;
  flags: string[];
  addr_info?: { local: string }[];
}

function ipLink(ns: string, name: string): IpLink {
  const [l] = JSON.parse(sh(`ip -n ${ns} -j addr show dev ${name}`)) as IpLink[];
  if (l === undefined) throw new Error(`no link ${name} in ${ns}`);
  return l;
}

/** A gratuitous ARP request for the VIP from mac, as tcpdump -e prints it. */
const garpFrom = (mac: string) => {
  const vip = VIP.replace(/\./g, '\\.');
  const garp = new RegExp(`Request who-has ${vip} (\\(ff:ff:ff:ff:ff:ff\\) )?tell ${vip},`);
  return (line: string): boolean => line.includes(`${mac} > ff:ff:ff:ff:ff:ff`) && garp.test(line);
};

const tcpdump = trySh('command -v tcpdump');
// In CI a missing tcpdump fails the suite (.ci/run installs it); locally it is skipped with a reason.
if (!tcpdump && process.env.CI !== 'true') console.warn('skipping the ARP provider netns tests: no tcpdump');
(tcpdump || process.env.CI === 'true' ? describeNetns : describe.skip)(
  'ArpProvider in network namespaces (real rtnetlink and AF_PACKET, frames seen by tcpdump)',
  () => {
    const open: { stop(): void }[] = [];

    beforeEach(() => {
      if (!tcpdump) throw new Error('tcpdump is not installed: it shows what reaches the wire');
      createNamespace(nsA);
      createNamespace(nsB);
      createVeth({ ns: nsA, name: ifA }, { ns: nsB, name: ifB });
    });

    afterEach(() => {
      for (const o of open.splice(0)) o.stop();
      deleteNamespacesWithPrefix(tag);
    });

    async function provider(): Promise<(op: string) => Promise<Reply>> {
      const [child, first] = await LineChild.start(nsA, fixture, [ifA, VIP, '32']);
      open.push({ stop: () => child.kill() });
      expect(first).toMatchObject({ ready: true });
      return async (op) => {
        const r = await child.request({ op });
        expect(r).toMatchObject({ ok: true });
        return r;
      };
    }

    async function capture(): Promise<Capture> {
      const c = await Capture.start(nsB, ifB, 'arp');
      open.push(c);
      return c;
    }

    /** Deletes the veth pair and creates it again under the same names: new ifindex, new MAC, no VIP. */
    function recreate(): IpLink {
      const before = ipLink(nsA, ifA);
      sh(`ip -n ${nsA} link del ${ifA}`);
      createVeth({ ns: nsA, name: ifA }, { ns: nsB, name: ifB });
      const after = ipLink(nsA, ifA);
      expect(after.ifindex).not.toBe(before.ifindex);
      expect(after.addr_info?.map((a) => a.local)).not.toContain(VIP);
      return after;
    }

    it('announces again when carrier comes back though IFF_UP never dropped (a cable re-plug)', async () => {
      const kvip = await provider();
      await kvip('prepare');
      await kvip('acquire');
      const carrier = (): boolean => ipLink(nsA, ifA).flags.includes('LOWER_UP');
      sh(`ip -n ${nsB} link set ${ifB} down`);
      await waitFor(`${ifA} to lose carrier`, () => (carrier() ? undefined : true));
      expect(ipLink(nsA, ifA).flags).toContain('UP');
      await kvip('reconcile');
      sh(`ip -n ${nsB} link set ${ifB} up`);
      await waitFor(`${ifA} to have carrier again`, () => (carrier() ? true : undefined));
      const wire = await capture();
      await kvip('reconcile');
      const mac = ipLink(nsA, ifA).address;
      await wire.waitFor(`a gratuitous ARP from ${mac}`, garpFrom(mac));
    });

    it('after the interface is deleted and created again, reopens its socket and announces from it', async () => {
      const kvip = await provider();
      await kvip('prepare');
      await kvip('acquire');
      const now = recreate();
      const wire = await capture();
      await kvip('reconcile');
      expect(ipLink(nsA, ifA).addr_info?.map((a) => a.local)).toContain(VIP);
      await wire.waitFor(`a gratuitous ARP from the new ${ifA} (${now.address})`, garpFrom(now.address));
    });

    it('when the interface was created again while it followed, the first announcement still goes out', async () => {
      const kvip = await provider();
      await kvip('prepare');
      const now = recreate();
      const wire = await capture();
      await kvip('acquire');
      expect(ipLink(nsA, ifA).addr_info?.map((a) => a.local)).toContain(VIP);
      await wire.waitFor(`a gratuitous ARP from the new ${ifA} (${now.address})`, garpFrom(now.address));
    });
  },
);
