// routeGet / routeAdd / routeDelete / routes (native/src/rtnl_route.c) against the real kernel, in namespace
// A (fixtures/native-ops.ts runs the calls there): each change shows in `ip route`, and in where A's packets
// go: B holds 203.0.113.7 on lo, so a connect from A to it is refused by B (ECONNREFUSED) exactly while A
// has a route to it via B, and fails in A (ENETUNREACH: no default route) otherwise.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ipv4ToBytes, ipv6ToBytes } from '../../src/vip/frames.js';
import { LineChild, type Reply } from '../helpers/line-child.js';
import {
  createNamespace,
  createVeth,
  deleteNamespacesWithPrefix,
  describeNetns,
  sh,
  uniqueTag,
} from '../helpers/netns.js';

const fixture = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'native-ops.ts');

const tag = uniqueTag('o');
const nsA = `${tag}a`;
const nsB = `${tag}b`;
const ifA = `${tag}a0`;

/** An address as the fixture's {hex} argument (decoded into a Buffer there). */
function bytes(ip: string): { hex: string } {
  return { hex: (ip.includes(':') ? ipv6ToBytes(ip) : ipv4ToBytes(ip)).toString('hex') };
}

interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  scope?: string;
  type?: string;
}

/** `ip -j route show <dst>` in A: what the kernel's table holds for exactly that destination. */
function shown(family: 4 | 6, dst: string): IpRoute[] {
  return JSON.parse(sh(`ip -n ${nsA} -${family} -j route show ${dst}`) || '[]') as IpRoute[];
}

describeNetns('native routes: routeGet / routeAdd / routeDelete / routes in a namespace', () => {
  let child: LineChild | undefined;
  let ifindex = 0;

  const call = (fn: string, ...args: unknown[]): Promise<Reply> => {
    if (!child) throw new Error('no fixture');
    return child.request({ op: 'call', fn, args });
  };
  /** Where a connect from A to address goes: ECONNREFUSED (B answered) or ENETUNREACH (no route in A). */
  const reach = async (address: string): Promise<unknown> =>
    (await child?.request({ op: 'connect', opts: { address, port: 9, timeoutMs: 5000 } }))?.error;

  beforeAll(async () => {
    createNamespace(nsA);
    createNamespace(nsB);
    createVeth({ ns: nsA, name: ifA }, { ns: nsB, name: `${tag}b0` });
    sh(
      `ip -n ${nsA} addr add 198.51.100.1/24 dev ${ifA} && ip -n ${nsA} addr add 2001:db8::1/64 dev ${ifA} nodad`,
    );
    sh(
      `ip -n ${nsB} addr add 198.51.100.2/24 dev ${tag}b0 && ip -n ${nsB} addr add 2001:db8::2/64 dev ${tag}b0 nodad`,
    );
    sh(`ip -n ${nsB} addr add 203.0.113.7/32 dev lo && ip -n ${nsB} addr add 2001:db8:2::7/128 dev lo nodad`);
    const [started, first] = await LineChild.start(nsA, fixture, []);
    child = started;
    expect(first).toMatchObject({ ready: expect.any(Number) });
    ifindex = Number((await call('linkIndex', ifA)).value);
  });
  // What a failed test leaves: every static route (only the tests make them here).
  afterEach(() => sh(`ip -n ${nsA} route flush proto static; ip -n ${nsA} -6 route flush proto static`));
  afterAll(() => {
    child?.kill();
    deleteNamespacesWithPrefix(tag);
  });

  it.each([
    [4, '203.0.113.7', 32, '198.51.100.2', '198.51.100.1'],
    [6, '2001:db8:2::7', 128, '2001:db8::2', '2001:db8::1'],
  ] as const)(
    'IPv%s: a route via a gateway is in the table and used, EEXIST twice, gone when deleted',
    async (family, dst, prefix, gateway, source) => {
      expect(await call('routeGet', family, bytes(dst))).toMatchObject({ value: null }); // unreachable: undefined
      expect(await reach(dst)).toMatchObject({ code: 'ENETUNREACH' });

      expect(await call('routeAdd', family, bytes(dst), prefix, bytes(gateway), null)).toMatchObject({
        value: null,
      });
      expect(shown(family, `${dst}/${prefix}`)).toEqual([
        expect.objectContaining({ dst, gateway, dev: ifA, protocol: 'static' }),
      ]);
      expect((await call('routeGet', family, bytes(dst))).value).toEqual({
        gateway,
        ifindex,
        source,
        prefix,
        table: 254,
        type: 1,
      });
      expect((await call('routes', family)).value).toContainEqual({
        dst,
        prefix,
        gateway,
        ifindex,
        table: 254,
        type: 1,
        protocol: 4,
      });
      expect(await reach(dst)).toMatchObject({ code: 'ECONNREFUSED' }); // B answered: the packet went there

      expect(await call('routeAdd', family, bytes(dst), prefix, bytes(gateway), null)).toMatchObject({
        error: {
          code: 'EEXIST',
          syscall: 'rtnetlink',
          message: `routeAdd(${dst}/${prefix} via ${gateway}): EEXIST (File exists)`,
        },
      });

      expect(await call('routeDelete', family, bytes(dst), prefix, bytes(gateway), null)).toMatchObject({
        value: null,
      });
      expect(shown(family, `${dst}/${prefix}`)).toEqual([]);
      expect(await call('routeGet', family, bytes(dst))).toMatchObject({ value: null });
      expect(await reach(dst)).toMatchObject({ code: 'ENETUNREACH' });
      expect(await call('routeDelete', family, bytes(dst), prefix, bytes(gateway), null)).toMatchObject({
        error: { code: 'ESRCH' },
      });
    },
  );

  it('a route without a gateway is on the link (scope link); routeGet gives the matching prefix', async () => {
    expect(await call('routeAdd', 4, bytes('203.0.113.0'), 24, null, ifindex)).toMatchObject({ value: null });
    try {
      expect(shown(4, '203.0.113.0/24')).toEqual([
        expect.objectContaining({ dst: '203.0.113.0/24', dev: ifA, protocol: 'static', scope: 'link' }),
      ]);
      expect((await call('routeGet', 4, bytes('203.0.113.9'))).value).toEqual({
        ifindex,
        source: '198.51.100.1',
        prefix: 24,
        table: 254,
        type: 1,
      });
    } finally {
      await call('routeDelete', 4, bytes('203.0.113.0'), 24, null, null);
    }
    expect(shown(4, '203.0.113.0/24')).toEqual([]);
  });

  it("routeDelete leaves another protocol's route alone; routeGet reports local, unreachable, prohibit", async () => {
    sh(`ip -n ${nsA} route add 203.0.113.64/26 via 198.51.100.2`); // proto boot, as an administrator's
    sh(
      `ip -n ${nsA} route add unreachable 203.0.113.128/26 && ip -n ${nsA} route add prohibit 203.0.113.192/26`,
    );
    try {
      expect(await call('routeDelete', 4, bytes('203.0.113.64'), 26, null, null)).toMatchObject({
        error: { code: 'ESRCH' },
      });
      expect(shown(4, '203.0.113.64/26')).toEqual([expect.objectContaining({ gateway: '198.51.100.2' })]);
      expect(await call('routeGet', 4, bytes('203.0.113.130'))).toMatchObject({ value: null });
      expect(await call('routeGet', 4, bytes('203.0.113.200'))).toMatchObject({ error: { code: 'EACCES' } });
      expect((await call('routeGet', 4, bytes('198.51.100.1'))).value).toMatchObject({
        ifindex: Number((await call('linkIndex', 'lo')).value),
        type: 2, // RTN_LOCAL
        prefix: 32,
      });
    } finally {
      sh(`ip -n ${nsA} route flush root 203.0.113.0/24`); // the /26s too
    }
  });

  it('refuses bad arguments with a TypeError and changes nothing', async () => {
    const before = sh(`ip -n ${nsA} route show; ip -n ${nsA} -6 route show`);
    const calls: [string, ...unknown[]][] = [
      ['routeGet', 5, bytes('203.0.113.7')],
      ['routeGet', 4, bytes('2001:db8::7')],
      ['routeAdd', 4, bytes('203.0.113.7'), 33, bytes('198.51.100.2'), null],
      ['routeAdd', 4, bytes('203.0.113.7'), 32, null, null], // neither gateway nor interface
      ['routeAdd', 4, bytes('203.0.113.7'), 32, bytes('2001:db8::2'), null],
      ['routeAdd', 6, bytes('2001:db8:2::7'), 128, null, 0],
      ['routeDelete', 4, bytes('203.0.113.7'), 32.5, null, null],
      ['routes', 0],
    ];
    for (const [fn, ...args] of calls) {
      expect({ fn, args, ...(await call(fn, ...args)) }).toMatchObject({
        fn,
        args,
        error: { name: 'TypeError' },
      });
    }
    expect(sh(`ip -n ${nsA} route show; ip -n ${nsA} -6 route show`)).toBe(before);
  });
});
