// The ARP provider's order of operations against recording ports (the kernel side is tested in netns).
import { jest } from '@jest/globals';
import { ArpProvider, type AddressPort, type PacketPort } from '../../src/vip/arp.js';

const log = { debug() {}, info() {}, warn() {}, error() {} };

function ports() {
  const calls: string[] = [];
  const state = {
    addrs: new Set<string>(),
    carrier: true,
    mac: '02:00:00:00:00:01',
    index: 2,
    /** The interface is deleted: link() fails. */
    gone: false,
    /** Sockets bound to an interface that was deleted: send fails with ENXIO. */
    dead: new Set<number>(),
    stale: [] as { ifname: string; prefix: number }[],
  };
  const addresses: AddressPort = {
    link: async () => {
      if (state.gone) throw Object.assign(new Error('interface eth0 does not exist'), { code: 'ENODEV' });
      return { index: state.index, mac: state.mac, carrier: state.carrier };
    },
    has: async (i, ip, p) => state.addrs.has(`${i} ${ip}/${p}`),
    add: async (i, ip, p, o) => {
      calls.push(`add ${i} ${ip}/${p} ${o.label ?? '-'}`);
      state.addrs.add(`${i} ${ip}/${p}`);
    },
    remove: async (i, ip, p) => {
      calls.push(`remove ${i} ${ip}/${p}`);
      state.addrs.delete(`${i} ${ip}/${p}`);
    },
    find: async () => state.stale,
  };
  let nextFd = 7;
  const packets: PacketPort = {
    open: (i) => {
      calls.push(`open ${i}`);
      return nextFd++;
    },
    send: (fd, frame) => {
      if (state.dead.has(fd)) {
        calls.push(`send ${fd} failed`);
        throw Object.assign(new Error(`sendPacket(fd ${fd}, interface deleted): ENXIO`), { code: 'ENXIO' });
      }
      calls.push(`send ${fd} ${frame.toString()}`);
    },
    close: (fd) => void calls.push(`close ${fd}`),
  };
  return { calls, state, addresses, packets };
}

function provider(
  p: ReturnType<typeof ports>,
  vip = '198.51.100.10',
  announce = true,
  leadingNow?: () => boolean,
) {
  return new ArpProvider({
    ...(leadingNow ? { leadingNow } : {}),
    ifname: 'eth0',
    vip,
    prefix: vip.includes(':') ? 128 : 32,
    announce,
    arpRateMs: 3000,
    addresses: p.addresses,
    packets: p.packets,
    frame: (mac, ip) => Buffer.from(`${mac}>${ip}`),
    log,
    burstMs: [50],
  });
}

describe('ArpProvider', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('removes a stale VIP before opening the socket, then adds the VIP and announces at once', async () => {
    const p = ports();
    p.state.stale = [{ ifname: 'eth1', prefix: 24 }];
    const arp = provider(p);
    await arp.prepare();
    await arp.acquire();
    expect(p.calls).toEqual([
      'remove eth1 198.51.100.10/24',
      'open eth0',
      'add eth0 198.51.100.10/32 eth0:kvip',
      'send 7 02:00:00:00:00:01>198.51.100.10',
    ]);
  });

  it('repeats the announcement in a burst and then every arpRate while holding, and stops on release', async () => {
    const p = ports();
    const arp = provider(p);
    await arp.prepare();
    await arp.acquire();
    jest.advanceTimersByTime(50);
    jest.advanceTimersByTime(3000 * 2);
    expect(p.calls.filter((c) => c.startsWith('send'))).toHaveLength(1 + 1 + 2);
    await arp.release();
    jest.advanceTimersByTime(30000);
    expect(p.calls.filter((c) => c.startsWith('send'))).toHaveLength(4);
    expect(p.calls.at(-1)).toBe('remove eth0 198.51.100.10/32');
  });

  it('repairs a removed VIP, and announces again (with a new MAC) when carrier comes back', async () => {
    const p = ports();
    const arp = provider(p);
    await arp.prepare();
    await arp.acquire();
    p.state.addrs.clear();
    await arp.reconcile();
    expect(p.calls.slice(-2)).toEqual([
      'add eth0 198.51.100.10/32 eth0:kvip',
      'send 7 02:00:00:00:00:01>198.51.100.10',
    ]);
    p.state.carrier = false; // a cable pulled: IFF_UP stays, IFF_LOWER_UP goes
    await arp.reconcile();
    const sent = p.calls.length;
    p.state.carrier = true;
    p.state.mac = '02:00:00:00:00:02';
    await arp.reconcile();
    expect(p.calls.slice(sent)).toEqual(['send 7 02:00:00:00:00:02>198.51.100.10']);
    await arp.reconcile(); // once per return of carrier
    expect(p.calls.slice(sent)).toHaveLength(1);
  });

  /** The interface deleted and created again under its name: a new index and MAC, without the VIP. */
  function recreate(p: ReturnType<typeof ports>): void {
    p.state.index = 3;
    p.state.mac = '02:00:00:00:00:03';
    p.state.addrs.clear();
    p.state.dead.add(7);
  }

  it('reopens its socket when the interface has a new ifindex, and announces from it with the new MAC', async () => {
    const p = ports();
    const arp = provider(p);
    await arp.prepare();
    await arp.acquire();
    recreate(p);
    const from = p.calls.length;
    await arp.reconcile();
    expect(p.calls.slice(from)).toEqual([
      'open eth0',
      'add eth0 198.51.100.10/32 eth0:kvip',
      'send 8 02:00:00:00:00:03>198.51.100.10',
      'close 7', // after the frame: a close blocks for milliseconds
    ]);
    jest.advanceTimersByTime(3000);
    expect(p.calls.at(-1)).toBe('send 8 02:00:00:00:00:03>198.51.100.10'); // the repeats too
    await arp.close();
    expect(p.calls.at(-1)).toBe('close 8');
  });

  it('a send that finds the interface gone (ENXIO) reopens the socket and announces at once', async () => {
    const p = ports();
    const arp = provider(p);
    await arp.prepare();
    recreate(p); // while it followed: no reconcile looked
    const from = p.calls.length;
    await arp.acquire();
    expect(p.calls.slice(from)).toEqual([
      'add eth0 198.51.100.10/32 eth0:kvip',
      'send 7 failed',
      'open eth0',
      'send 8 02:00:00:00:00:03>198.51.100.10',
      'close 7',
    ]);
  });

  it('while the interface is gone it keeps trying; once it is back the reconcile reopens', async () => {
    const p = ports();
    const arp = provider(p);
    await arp.prepare();
    await arp.acquire();
    p.state.gone = true;
    p.state.dead.add(7);
    jest.advanceTimersByTime(50); // the burst fails; the interface is not there to reopen
    await expect(arp.reconcile()).rejects.toMatchObject({ code: 'ENODEV' });
    p.state.gone = false;
    recreate(p);
    await arp.reconcile();
    expect(p.calls.filter((c) => c.startsWith('open') || c.startsWith('send'))).toEqual([
      'open eth0',
      'send 7 02:00:00:00:00:01>198.51.100.10',
      'send 7 failed',
      'open eth0',
      'send 8 02:00:00:00:00:03>198.51.100.10',
    ]);
  });

  it('a reopened socket announces only while leading, and close() during a reopen opens nothing', async () => {
    const p = ports();
    let leading = true;
    const arp = provider(p, '198.51.100.10', true, () => leading);
    await arp.prepare();
    await arp.acquire();
    leading = false;
    recreate(p);
    jest.advanceTimersByTime(3000); // not leading: the repeat is not even tried
    p.state.addrs.add('eth0 198.51.100.10/32');
    await arp.reconcile();
    expect(p.calls.filter((c) => c.startsWith('send 8'))).toEqual([]);

    const q = ports();
    const other = provider(q);
    await other.prepare();
    await other.acquire();
    q.state.dead.add(7);
    jest.advanceTimersByTime(3000); // fails, and starts a reopen that close() overtakes
    await other.close();
    expect(q.calls.slice(-2)).toEqual(['send 7 failed', 'close 7']);
  });

  it('a reconcile that finds the VIP gone does not put it back if release ran meanwhile', async () => {
    const p = ports();
    const arp = provider(p);
    await arp.prepare();
    await arp.acquire();
    let answer!: (v: boolean) => void;
    p.addresses.has = () => new Promise<boolean>((r) => (answer = r));
    const reconciling = arp.reconcile();
    await arp.release();
    answer(false); // the check saw the VIP absent: release had already removed it
    await reconciling;
    expect(p.calls.filter((c) => c.startsWith('add') || c.startsWith('remove'))).toEqual([
      'add eth0 198.51.100.10/32 eth0:kvip',
      'remove eth0 198.51.100.10/32',
    ]);
    expect(p.state.addrs.size).toBe(0);
  });

  it('does nothing on reconcile when it does not hold the VIP', async () => {
    const p = ports();
    const arp = provider(p);
    await arp.prepare();
    await arp.reconcile();
    expect(p.calls).toEqual(['open eth0']);
  });

  it('IPv6 VIPs get no label; address-only mode never opens a socket', async () => {
    const p = ports();
    const v6 = provider(p, '2001:db8::10');
    await v6.prepare();
    await v6.acquire();
    expect(p.calls).toContain('add eth0 2001:db8::10/128 -');
    const q = ports();
    const quiet = provider(q, '198.51.100.10', false);
    await quiet.prepare();
    await quiet.acquire();
    await quiet.release();
    await quiet.close();
    expect(q.calls).toEqual(['add eth0 198.51.100.10/32 eth0:kvip', 'remove eth0 198.51.100.10/32']);
  });

  it('closes the socket on close', async () => {
    const p = ports();
    const arp = provider(p);
    await arp.prepare();
    await arp.close();
    expect(p.calls).toEqual(['open eth0', 'close 7']);
  });
});
