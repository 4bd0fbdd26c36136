// The native AF_PACKET addon and the announcement frames against the real kernel: two network namespaces
// joined by a veth pair; the sender (test/vip/fixtures/packet-sender.ts) runs inside namespace A, and
// namespace B's neighbour table shows whether the kernel accepted what it sent. Needs root and `ip`
// (test/helpers/netns.ts: skipped with a reason on a developer machine, a failure when CI=true).
import { closeSync, openSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  closePacket,
  loadAddon,
  nativeAddonPath,
  NOT_BUILT_MESSAGE,
  openPacket,
  sendPacket,
} from '../../src/native/index.js';
import { gratuitousArp, unsolicitedNa } from '../../src/vip/frames.js';
import {
  createNamespace,
  createVeth,
  deleteNamespacesWithPrefix,
  describeNetns,
  linkMac,
  sh,
  trySh,
  uniqueTag,
  waitFor,
} from '../helpers/netns.js';
import { LineChild, type Reply } from '../helpers/line-child.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const fixture = join(root, 'test', 'vip', 'fixtures', 'packet-sender.ts');

const tag = uniqueTag('p');
const nsA = `${tag}a`; // the sender
const nsB = `${tag}b`; // the receiver, whose neighbour table is checked
const ifA = `${tag}a0`;
const ifB = `${tag}b0`;
const ifA1 = `${tag}a1`; // a second pair for the link-down and link-deleted cases
const ifB1 = `${tag}b1`;

const VIP4 = '198.51.100.10';
const VIP6 = '2001:db8::10';
const WRONG_MAC = '02:00:00:00:00:99';

interface Neighbour {
  dst: string;
  lladdr?: string;
  state?: string[];
}

function neighbour(ns: string, ip: string, dev: string): Neighbour | undefined {
  const family = ip.includes(':') ? '-6' : '-4';
  const list = JSON.parse(sh(`ip -n ${ns} ${family} -j neigh show ${ip} dev ${dev}`) || '[]') as Neighbour[];
  return list[0];
}

function setStale(ns: string, ip: string, dev: string, mac: string): void {
  const family = ip.includes(':') ? '-6' : '-4';
  sh(`ip -n ${ns} ${family} neigh replace ${ip} lladdr ${mac} dev ${dev} nud stale`);
  expect(neighbour(ns, ip, dev)?.lladdr).toBe(mac);
}

/** Sends one GARP / NA through the fixture and checks the whole frame went out (60 / 86 bytes). */
async function announce(sender: LineChild, kind: 'garp' | 'na', mac: string, vip: string): Promise<void> {
  expect(await sender.request({ op: 'send', kind, mac, vip })).toMatchObject({
    bytes: kind === 'garp' ? 60 : 86,
  });
}

/** Waits until B's entry for ip has mac (the kernel took the announcement), or fails after 2 s. */
function expectLladdr(ip: string, mac: string): Promise<Neighbour> {
  return waitFor(
    `${nsB}'s neighbour ${ip} to be ${mac} (now ${JSON.stringify(neighbour(nsB, ip, ifB))})`,
    () => {
      const n = neighbour(nsB, ip, ifB);
      return n?.lladdr === mac ? n : undefined;
    },
    2000,
  );
}

describe('native addon without a namespace', () => {
  it('is found under the package root, and a missing build says how to make it', () => {
    expect(nativeAddonPath()).toBe(join(root, 'native', 'build', 'Release', 'kvip_native.node'));
    const missing = join(root, 'native', 'build', 'Release', 'missing.node');
    expect(() => loadAddon(missing)).toThrow(`${NOT_BUILT_MESSAGE} (${missing} is missing)`);
    expect(NOT_BUILT_MESSAGE).toBe('kvip native addon not built: run `npm ci` (or `npm run build:native`)');
  });

  it('throws ENODEV, naming the operation and interface, for a missing interface', () => {
    const name = `${tag}none`;
    expect(() => openPacket(name)).toThrow(
      expect.objectContaining({ code: 'ENODEV', message: `openPacket(${name}): ENODEV (No such device)` }),
    );
    expect(() => openPacket('')).toThrow(expect.objectContaining({ code: 'ENODEV' }));
    expect(() => openPacket('x'.repeat(16))).toThrow(expect.objectContaining({ code: 'ENODEV' }));
  });

  it('refuses fds that are not its sockets, without touching them', () => {
    const fd = openSync('/dev/null', 'r');
    try {
      const frame = gratuitousArp('02:00:00:00:00:01', VIP4);
      expect(() => sendPacket(fd, frame)).toThrow(expect.objectContaining({ code: 'ENOTSOCK' }));
      expect(() => closePacket(fd)).toThrow(expect.objectContaining({ code: 'ENOTSOCK' }));
      expect(() => sendPacket(1_000_000, frame)).toThrow(
        expect.objectContaining({
          code: 'EBADF',
          message: 'sendPacket(fd 1000000): EBADF (Bad file descriptor)',
        }),
      );
    } finally {
      closeSync(fd); // still open: closePacket refused it
    }
  });

  it('throws TypeErrors for wrong argument types', () => {
    // TypeError from the addon's realm: jest's vm context has its own TypeError, so match name and code.
    const bad = (f: () => unknown): void =>
      expect(f).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }));
    bad(() => (openPacket as (x: unknown) => number)(3));
    bad(() => sendPacket(-1, Buffer.alloc(60)));
    bad(() => sendPacket(1.5, Buffer.alloc(60)));
    bad(() => (sendPacket as (fd: number, f: unknown) => number)(0, 'frame'));
    bad(() => (closePacket as (fd: unknown) => void)('3'));
  });
});

describeNetns('AF_PACKET announcements in network namespaces', () => {
  let macA = '';
  const senders: LineChild[] = [];

  beforeAll(() => {
    deleteNamespacesWithPrefix(tag); // leftovers of an earlier run with the same pid
    createNamespace(nsA);
    createNamespace(nsB);
    createVeth({ ns: nsA, name: ifA }, { ns: nsB, name: ifB });
    createVeth({ ns: nsA, name: ifA1 }, { ns: nsB, name: ifB1 });
    sh(`ip -n ${nsB} addr add 198.51.100.2/24 dev ${ifB}`);
    sh(`ip -n ${nsB} addr add 2001:db8::2/64 dev ${ifB} nodad`);
    macA = linkMac(nsA, ifA);
  });

  afterAll(() => {
    for (const s of senders) s.kill();
    deleteNamespacesWithPrefix(tag);
    expect(trySh(`ip netns list | grep '^${tag}'`) ?? '').toBe('');
  });

  async function startSender(
    ifname = ifA,
    wrap?: (nodeArgv: string[]) => string[],
  ): Promise<[LineChild, Reply]> {
    const [sender, first] = await LineChild.start(nsA, fixture, [ifname], wrap);
    senders.push(sender);
    return [sender, first];
  }

  it('a gratuitous ARP request overrides the receiver STALE entry, an unsolicited NA the IPv6 one', async () => {
    const [sender, opened] = await startSender();
    expect(opened).toEqual({ opened: expect.any(Number), openMs: expect.any(Number) });

    setStale(nsB, VIP4, ifB, WRONG_MAC);
    await announce(sender, 'garp', macA, VIP4);
    await expectLladdr(VIP4, macA);

    setStale(nsB, VIP6, ifB, WRONG_MAC);
    await announce(sender, 'na', macA, VIP6);
    await expectLladdr(VIP6, macA);

    // Back-to-back takeovers: a second GARP within the 1 s locktime after the entry changed is still taken
    // (the request form; a broadcast reply would be ignored), and the same holds for NA with O=1.
    const other = '02:00:00:00:00:42';
    await announce(sender, 'garp', other, VIP4);
    await expectLladdr(VIP4, other);
    await announce(sender, 'garp', macA, VIP4);
    await expectLladdr(VIP4, macA);
    await announce(sender, 'na', other, VIP6);
    await expectLladdr(VIP6, other);

    // Cost of a send on a kept-open socket, and of the close (printed for the record, loosely bounded).
    const bench = await sender.request({ op: 'send', kind: 'garp', mac: macA, vip: VIP4, repeat: 10_000 });
    expect(bench).toMatchObject({ bytes: 60, count: 10_000 });
    const closed = await sender.request({ op: 'close' });
    expect(closed).toEqual({ closeMs: expect.any(Number) });
    console.log(
      `AF_PACKET on veth: open ${(opened.openMs as number).toFixed(3)} ms, ` +
        `send ${(bench.usPerSend as number).toFixed(2)} us (mean of 10000), close ${(closed.closeMs as number).toFixed(3)} ms`,
    );
    expect(bench.usPerSend as number).toBeLessThan(1000);
  });

  it('negative controls: B keeps its entry for the frames the kernel must refuse', async () => {
    // Shows the check above can fail: the same path, with frames Linux ignores, leaves the wrong MAC in place.
    const [sender] = await startSender();
    const other = '02:00:00:00:00:43';

    // An ARP *reply* with a broadcast target MAC, right after the entry changed: ignored for the 1 s locktime.
    setStale(nsB, VIP4, ifB, WRONG_MAC);
    const reply = gratuitousArp(other, VIP4);
    reply.writeUInt16BE(2, 20); // op: reply
    expect(await sender.request({ op: 'send', hex: reply.toString('hex') })).toMatchObject({ bytes: 60 });

    // An NA with a broken ICMPv6 checksum, and one with hop limit 254: dropped.
    setStale(nsB, VIP6, ifB, WRONG_MAC);
    const badSum = unsolicitedNa(other, VIP6);
    badSum[57] = (badSum[57] as number) ^ 0xff;
    const badHops = unsolicitedNa(other, VIP6);
    badHops[21] = 254;
    for (const frame of [badSum, badHops]) {
      expect(await sender.request({ op: 'send', hex: frame.toString('hex') })).toMatchObject({ bytes: 86 });
    }

    await new Promise((r) => setTimeout(r, 300));
    expect(neighbour(nsB, VIP4, ifB)?.lladdr).toBe(WRONG_MAC);
    expect(neighbour(nsB, VIP6, ifB)?.lladdr).toBe(WRONG_MAC);

    // and the correct frames, sent now on the same socket, are taken
    await announce(sender, 'garp', other, VIP4);
    await announce(sender, 'na', other, VIP6);
    await expectLladdr(VIP4, other);
    await expectLladdr(VIP6, other);
    await sender.request({ op: 'close' });
  });

  it('reports ENETDOWN while the link is down and ENXIO after it is deleted', async () => {
    const [sender, opened] = await startSender(ifA1);
    expect(opened.error).toBeUndefined();
    const mac = linkMac(nsA, ifA1);
    const send = (): Promise<Reply> => sender.request({ op: 'send', kind: 'garp', mac, vip: VIP4 });
    expect(await send()).toMatchObject({ bytes: 60 });

    sh(`ip -n ${nsA} link set ${ifA1} down`);
    expect(await send()).toEqual({
      error: { code: 'ENETDOWN', message: `sendPacket(${ifA1}): ENETDOWN (Network is down)` },
    });
    sh(`ip -n ${nsA} link set ${ifA1} up`);
    expect(await send()).toMatchObject({ bytes: 60 });

    sh(`ip -n ${nsA} link del ${ifA1}`);
    expect(await send()).toEqual({
      error: {
        code: 'ENXIO',
        message: expect.stringMatching(/^sendPacket\(fd \d+, interface deleted\): ENXIO /),
      },
    });
    expect(await sender.request({ op: 'close' })).toEqual({ closeMs: expect.any(Number) });
  });

  it('throws ENODEV inside a namespace for an interface that exists only in another one', async () => {
    const [, first] = await startSender(ifB);
    expect(first).toEqual({
      error: { code: 'ENODEV', message: `openPacket(${ifB}): ENODEV (No such device)` },
    });
  });

  const capsh = trySh('command -v capsh');
  // In CI a missing capsh fails the case (.ci/run installs libcap2-bin); locally it is skipped with a reason.
  (capsh || process.env.CI === 'true' ? it : it.skip)('throws EPERM without CAP_NET_RAW', async () => {
    if (!capsh) throw new Error('capsh (libcap2-bin) is not installed: it is needed to drop CAP_NET_RAW');
    // capsh drops the capability from the bounding set, then runs `bash -c 'exec node ...'` without it.
    const quote = (arg: string): string => `'${arg.replace(/'/g, `'\\''`)}'`;
    const [, first] = await startSender(ifA, (nodeArgv) => [
      capsh as string,
      '--drop=cap_net_raw',
      '--',
      '-c',
      `exec ${nodeArgv.map(quote).join(' ')}`,
    ]);
    expect(first).toEqual({
      error: { code: 'EPERM', message: `openPacket(${ifA}): EPERM (Operation not permitted)` },
    });
  });
  if (!capsh) console.warn('skipping the EPERM case: capsh (libcap2-bin) is not installed');
});
