// AddressManager's own logic against an in-memory rtnetlink port: labels, IP parsing, idempotency and the
// error messages. The real kernel is exercised in address-netns.test.ts.
import { AddressManager, VipAddressError, ipv4Label } from '../../src/vip/address.js';
import {
  NetlinkErrno,
  toNetlinkErrno,
  type AddressRequest,
  type Family,
  type RtAddress,
  type RtLink,
  type RtnlPort,
} from '../../src/vip/netlink.js';

class FakePort implements RtnlPort {
  links_: RtLink[] = [
    { index: 1, name: 'lo', mac: Buffer.alloc(6), up: true, lowerUp: true, mtu: 65536 },
    { index: 2, name: 'eth0', mac: Buffer.from([2, 0, 0, 0, 0, 0xab]), up: true, lowerUp: false, mtu: 1500 },
  ];
  addrs: RtAddress[] = [];
  requests: { op: string; req: AddressRequest }[] = [];
  fail: Partial<Record<'add' | 'delete' | 'dump', string>> = {};
  closed = 0;

  async link(name: string): Promise<RtLink> {
    const l = this.links_.find((x) => x.name === name);
    if (!l) throw new NetlinkErrno('ENODEV', 'Request rejected: ENODEV');
    return l;
  }
  async linkIndex(name: string): Promise<number> {
    return (await this.link(name)).index;
  }
  async links(): Promise<RtLink[]> {
    return this.links_;
  }
  /** Each addresses() call: [family, index or undefined]. */
  dumps: [Family, number | undefined][] = [];
  async addresses(family: Family, index?: number): Promise<RtAddress[]> {
    this.dumps.push([family, index]);
    if (this.fail.dump) throw new NetlinkErrno(this.fail.dump, `Request rejected: ${this.fail.dump}`);
    return this.addrs.filter((a) => a.family === family && (index === undefined || a.index === index));
  }
  private same(a: RtAddress, r: AddressRequest): boolean {
    return a.index === r.index && a.address.equals(r.address);
  }
  async addAddress(req: AddressRequest): Promise<void> {
    this.requests.push({ op: 'add', req });
    if (this.fail.add) throw new NetlinkErrno(this.fail.add, `Request rejected: ${this.fail.add}`);
    const clash = this.addrs.find((a) => this.same(a, req) && (req.family === 6 || a.prefix === req.prefix));
    if (clash) throw new NetlinkErrno('EEXIST', 'Request rejected: EEXIST');
    this.addrs.push({
      index: req.index,
      family: req.family,
      prefix: req.prefix,
      address: req.address,
      ...(req.label !== undefined ? { label: req.label } : {}),
      tentative: false,
      dadfailed: false,
      nodad: req.nodad === true,
    });
  }
  async deleteAddress(req: AddressRequest): Promise<void> {
    this.requests.push({ op: 'delete', req });
    if (this.fail.delete) throw new NetlinkErrno(this.fail.delete, `Request rejected: ${this.fail.delete}`);
    const i = this.addrs.findIndex((a) => this.same(a, req) && a.prefix === req.prefix);
    if (i < 0) throw new NetlinkErrno('EADDRNOTAVAIL', 'Request rejected: EADDRNOTAVAIL');
    this.addrs.splice(i, 1);
  }
  close(): void {
    this.closed++;
  }
}

async function rejection(p: Promise<unknown>): Promise<VipAddressError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof VipAddressError) return err;
    throw err;
  }
  throw new Error('expected a VipAddressError, got success');
}

describe('ipv4Label', () => {
  it('prefixes a bare label with the interface name and keeps a full one', () => {
    expect(ipv4Label('eth0', 'kvip')).toBe('eth0:kvip');
    expect(ipv4Label('eth0', 'eth0:vip')).toBe('eth0:vip');
    expect(ipv4Label('eth0', 'eth0')).toBe('eth0');
    expect(ipv4Label('eth0', undefined)).toBeUndefined();
    expect(ipv4Label('eth0', '')).toBeUndefined();
  });
  it('drops a label longer than 15 bytes', () => {
    expect(ipv4Label('enp0s31f6', 'kvip')).toBe('enp0s31f6:kvip'); // 14
    expect(ipv4Label('enp0s31f6', 'kvip1')).toBe('enp0s31f6:kvip1'); // 15
    expect(ipv4Label('enp0s31f6', 'kvip12')).toBeUndefined(); // 16
    expect(ipv4Label('enp0s31f6', 'kvipé')).toBeUndefined(); // 15 characters, 16 bytes
  });
});

describe('AddressManager (fake rtnetlink)', () => {
  let port: FakePort;
  let am: AddressManager;
  beforeEach(() => {
    port = new FakePort();
    am = new AddressManager(port);
  });

  it('link() formats the MAC and reports up and carrier', async () => {
    await expect(am.link('eth0')).resolves.toEqual({
      index: 2,
      name: 'eth0',
      mac: '02:00:00:00:00:ab',
      up: true,
      carrier: false,
      mtu: 1500,
    });
  });

  it('a missing interface is ENODEV with a one-line fix', async () => {
    const e = await rejection(am.link('eth9'));
    expect(e.code).toBe('ENODEV');
    expect(e.message).toMatch(/^interface eth9 does not exist \(ip link show/);
    expect(e.message).not.toContain('\n');
    await expect(am.add('eth9', '198.51.100.10', 32)).rejects.toMatchObject({ code: 'ENODEV' });
    await expect(am.remove('eth9', '198.51.100.10', 32)).rejects.toMatchObject({ code: 'ENODEV' });
    await expect(am.has('eth9', '198.51.100.10', 32)).rejects.toMatchObject({ code: 'ENODEV' });
  });

  it('add and remove are idempotent; IPv4 carries the label, IPv6 nodad and no label', async () => {
    await expect(am.add('eth0', '198.51.100.10', 32, { label: 'kvip' })).resolves.toBe('added');
    await expect(am.add('eth0', '198.51.100.10', 32, { label: 'kvip' })).resolves.toBe('present');
    await expect(am.has('eth0', '198.51.100.10', 32)).resolves.toBe(true);
    await expect(am.has('eth0', '198.51.100.10', 24)).resolves.toBe(false);
    await expect(am.add('eth0', '2001:db8::10', 128, { label: 'kvip' })).resolves.toBe('added');
    expect(port.requests.map((r) => [r.req.family, r.req.label, r.req.nodad])).toEqual([
      [4, 'eth0:kvip', false],
      [4, 'eth0:kvip', false],
      [6, undefined, true],
    ]);
    await expect(am.remove('eth0', '198.51.100.10', 32)).resolves.toBe('removed');
    await expect(am.remove('eth0', '198.51.100.10', 32)).resolves.toBe('absent');
    await expect(am.remove('eth0', '2001:db8::10', 128)).resolves.toBe('removed');
    await expect(am.remove('eth0', '2001:db8::10', 128)).resolves.toBe('absent');
  });

  it('IPv6 textual forms are compared as addresses', async () => {
    await am.add('eth0', '2001:db8::a', 128);
    await expect(am.has('eth0', '2001:0db8:0:0:0:0:0:000A', 128)).resolves.toBe(true);
    await expect(am.add('eth0', '2001:DB8:0::A', 128)).resolves.toBe('present');
    await am.add('eth0', '::ffff:198.51.100.1', 128);
    await expect(am.find('::ffff:c633:6401')).resolves.toEqual([{ ifname: 'eth0', prefix: 128 }]);
  });

  it('an IPv6 address already there with another prefix is an EEXIST error, not "present"', async () => {
    await am.add('eth0', '2001:db8::10', 64);
    const e = await rejection(am.add('eth0', '2001:db8::10', 128));
    expect(e.code).toBe('EEXIST');
    expect(e.message).toBe(
      '2001:db8::10 is already on eth0 as /64, not /128: remove it first (ip addr del 2001:db8::10/64 dev eth0)',
    );
  });

  it('find() returns every interface holding the address, with its prefix', async () => {
    await am.add('eth0', '203.0.113.7', 24);
    await am.add('lo', '203.0.113.7', 32);
    await am.add('eth0', '203.0.113.8', 32);
    await expect(am.find('203.0.113.7')).resolves.toEqual([
      { ifname: 'eth0', prefix: 24 },
      { ifname: 'lo', prefix: 32 },
    ]);
    await expect(am.find('203.0.113.9')).resolves.toEqual([]);
  });

  it("has() and add()'s EEXIST check read one interface's addresses; find() reads every interface's", async () => {
    await am.add('lo', '198.51.100.10', 32);
    await am.add('eth0', '2001:db8::10', 128);
    port.dumps = [];
    await expect(am.has('eth0', '198.51.100.10', 32)).resolves.toBe(false);
    await expect(am.add('eth0', '2001:db8::10', 128)).resolves.toBe('present');
    await expect(am.find('198.51.100.10')).resolves.toEqual([{ ifname: 'lo', prefix: 32 }]);
    expect(port.dumps).toEqual([
      [4, 2],
      [6, 2],
      [4, undefined],
    ]);
  });

  it('EPERM names CAP_NET_ADMIN and the fix, for add and remove', async () => {
    port.fail = { add: 'EPERM', delete: 'EPERM' };
    const add = await rejection(am.add('eth0', '198.51.100.10', 32));
    expect(add.code).toBe('EPERM');
    expect(add.message).toBe(
      'adding 198.51.100.10/32 to eth0 needs CAP_NET_ADMIN (EPERM): run as root or add NET_ADMIN to the pod',
    );
    const del = await rejection(am.remove('eth0', '198.51.100.10', 32));
    expect(del.message).toBe(
      'removing 198.51.100.10/32 from eth0 needs CAP_NET_ADMIN (EPERM): run as root or add NET_ADMIN to the pod',
    );
  });

  it.each(['EACCES', 'EAFNOSUPPORT', 'EOPNOTSUPP'])(
    'IPv6 refused with %s: "IPv6 is disabled"',
    async (errno) => {
      port.fail = { add: errno };
      const e = await rejection(am.add('eth0', '2001:db8::10', 128));
      expect(e.code).toBe('EAFNOSUPPORT');
      expect(e.errno).toBe(errno);
      expect(e.message).toMatch(/^IPv6 is disabled on eth0 .*disable_ipv6=0/);
    },
  );

  it('with IPv6 off in the kernel, find() and has() see no IPv6 address instead of failing', async () => {
    port.fail = { dump: 'EAFNOSUPPORT' };
    await expect(am.find('2001:db8::10')).resolves.toEqual([]);
    await expect(am.has('eth0', '2001:db8::10', 128)).resolves.toBe(false);
    await expect(am.find('198.51.100.10')).rejects.toMatchObject({ code: 'EAFNOSUPPORT' });
  });

  it('other kernel errors keep their errno and say what was being done', async () => {
    port.fail = { add: 'EADDRNOTAVAIL' };
    await expect(am.add('eth0', '198.51.100.10', 32)).rejects.toMatchObject({
      code: 'EADDRNOTAVAIL',
      message: expect.stringMatching(/^adding 198\.51\.100\.10\/32 to eth0 failed: .*\(EADDRNOTAVAIL\)$/),
    });
    port.fail = { add: 'ENOBUFS' };
    await expect(am.add('eth0', '198.51.100.10', 32)).rejects.toMatchObject({
      code: 'ENOBUFS',
      message: 'adding 198.51.100.10/32 to eth0 failed (ENOBUFS): Request rejected: ENOBUFS',
    });
  });

  it('rejects bad input before any kernel call', async () => {
    await expect(am.add('eth0', '198.51.100.300', 32)).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(am.add('eth0', 'fe80::1%eth0', 128)).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(am.add('eth0', '198.51.100.10', 33)).rejects.toMatchObject({
      code: 'EINVAL',
      message: 'prefix length 33 is not valid for 198.51.100.10 (1-32)',
    });
    await expect(am.add('eth0', '2001:db8::1', 0)).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(am.link('a-very-long-ifname')).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(am.find('nope')).rejects.toMatchObject({ code: 'EINVAL' });
    expect(port.requests).toEqual([]);
  });

  it('close() closes the socket once; calls after it fail with ECLOSED', async () => {
    am.close();
    am.close();
    expect(port.closed).toBe(1);
    await expect(am.link('eth0')).rejects.toMatchObject({ code: 'ECLOSED' });
    await expect(am.find('198.51.100.10')).rejects.toMatchObject({ code: 'ECLOSED' });
  });
});

describe('toNetlinkErrno', () => {
  it("keeps the addon's errno code and maps anything else to EIO", () => {
    const fromAddon = Object.assign(new Error('RTM_NEWADDR: File exists'), { code: 'EEXIST' });
    expect(toNetlinkErrno(fromAddon)).toMatchObject({ code: 'EEXIST', message: 'RTM_NEWADDR: File exists' });
    expect(toNetlinkErrno(Object.assign(new Error('send failed'), { code: 'ENOBUFS' })).code).toBe('ENOBUFS');
    expect(toNetlinkErrno(Object.assign(new Error('odd'), { code: 'ERR_SOMETHING' })).code).toBe('EIO');
    const typeError = Object.assign(new TypeError('addressAdd: bad'), { code: 'ERR_INVALID_ARG_TYPE' });
    expect(toNetlinkErrno(typeError).code).toBe('EINVAL');
    expect(toNetlinkErrno('weird').code).toBe('EIO');
  });
});
