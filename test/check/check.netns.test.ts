// `kvip check` against real kernels: the built CLI in namespace A ("this node"), another host in namespace B on
// the same veth. The interface rows, the capabilities, the ARP probe / DAD solicitation (B holding the VIP is ✗
// naming B's MAC, nobody is ✓, this node holding it is said so; on a follower, B answering is ✓ only while the
// Lease names another node that renews it, and two hosts answering is ✗), and a BGP peer in B (listening,
// closed, with a TCP MD5 key). Every run is checked to change nothing: A's and B's addresses, routes and
// links (and, without BGP, both neighbour tables) are the same after it as before.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Children } from '../../src/demo/children.js';
import { controlSocket, leaseApiArgs, READY } from '../../src/demo/services.js';
import { unixRequest } from '../../src/demo/unix-request.js';
import { microTime } from '../../src/lease-api/server.js';
import { LineChild } from '../helpers/line-child.js';
import {
  createNamespace,
  createVeth,
  deleteNamespacesWithPrefix,
  describeNetns,
  linkMac,
  sh,
  trySh,
  uniqueTag,
} from '../helpers/netns.js';

const here = dirname(fileURLToPath(import.meta.url));
const BIN = join(here, '..', '..', 'dist', 'cli', 'bin.js');
const LISTENER = join(here, '..', 'native', 'fixtures', 'md5-listener.py');

const tag = uniqueTag('c');
const A = `${tag}a`;
const B = `${tag}b`;
const IF = `${tag}a0`; // "kv12345ca0": with ":kvip", kvip's label still fits in 15 characters
const IFB = `${tag}b0`;
const A4 = '198.51.100.5';
const B4 = '198.51.100.6';
const VIP4 = '198.51.100.100';
const VIP6 = '2001:db8::100';

interface Run {
  code: number | null;
  out: string;
  err: string;
}

/** The neighbour entries (address and MAC, not their state, which ages by itself) of both families. */
function neighbourEntries(ns: string): string {
  const entries = JSON.parse(sh(`ip -j -n ${ns} neigh show`)) as { dst: string; lladdr?: string }[];
  return entries.map((e) => `${e.dst} ${e.lladdr ?? ''}`).join('\n');
}

/** What a check must leave as it found it. */
function snapshot(neighbours: boolean): string {
  const parts = [A, B].flatMap((ns) => [
    sh(`ip -n ${ns} -br addr show`),
    sh(`ip -n ${ns} route show table all`),
    sh(`ip -n ${ns} -6 route show table all`),
    sh(`ip -n ${ns} -br link show`),
    ...(neighbours ? [neighbourEntries(ns)] : []),
  ]);
  return parts.join('\n---\n');
}

/** The snapshot once it has stayed the same for 300 ms (a link just set down or up is still changing). */
async function settled(neighbours: boolean): Promise<string> {
  let last = snapshot(neighbours);
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 300));
    const now = snapshot(neighbours);
    if (now === last) return now;
    last = now;
  }
  throw new Error('the namespaces did not settle within 6 s');
}

/** The built CLI in A (under `wrapper`, e.g. setpriv); asserts that the namespaces are unchanged by it. */
async function check(args: string[], opts: { wrapper?: string[]; bgp?: boolean } = {}): Promise<Run> {
  const before = await settled(!opts.bgp);
  const argv = ['netns', 'exec', A, ...(opts.wrapper ?? []), process.execPath, BIN, 'check', ...args];
  const child = spawn('ip', argv, { env: { PATH: process.env.PATH } });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(timer);
  expect(snapshot(!opts.bgp)).toBe(before);
  return { code, out, err };
}

const arp = (vip: string, extra: string[] = []) => ['--vip', vip, '--interface', IF, ...extra];

/** The row of one check, as printed: "✓ name  detail" (undefined when there is none). */
function row(out: string, name: string): string | undefined {
  return out
    .split('\n')
    .find((l) => new RegExp(`^[✓✗] ${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}  `).test(l));
}

describeNetns('kvip check on real interfaces (netns)', () => {
  let macB = '';
  const children: LineChild[] = [];

  beforeAll(() => {
    createNamespace(A);
    createNamespace(B);
    // No DAD on the test links: their link-local addresses are there at once, not a second later.
    for (const ns of [A, B]) sh(`ip netns exec ${ns} sysctl -qw net.ipv6.conf.default.accept_dad=0`);
    createVeth({ ns: A, name: IF }, { ns: B, name: IFB });
    sh(`ip -n ${A} addr add ${A4}/24 dev ${IF} && ip -n ${A} addr add 2001:db8::5/64 dev ${IF} nodad`);
    sh(`ip -n ${B} addr add ${B4}/24 dev ${IFB} && ip -n ${B} addr add 2001:db8::6/64 dev ${IFB} nodad`);
    macB = linkMac(B, IFB);
  });
  afterAll(() => deleteNamespacesWithPrefix(tag));
  afterEach(() => {
    for (const c of children.splice(0)) c.kill();
  });

  describe('ARP mode, IPv4', () => {
    it('nobody answers for the VIP: every row ✓, exit 0', async () => {
      const r = await check(arp(VIP4));
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      expect(row(r.out, 'interface')).toMatch(new RegExp(`✓ interface +${IF}: up, MAC `));
      expect(row(r.out, 'VIP on this node')).toMatch(/✓ .*not on this node: kvip adds it/);
      expect(row(r.out, 'capabilities')).toMatch(/✓ .*NET_ADMIN, NET_RAW effective$/);
      expect(row(r.out, 'VIP on the segment')).toMatch(
        new RegExp(`✓ .*nobody on ${IF}'s segment answers for ${VIP4} \\(ARP probe\\)$`),
      );
      expect(r.out.trimEnd().split('\n').at(-1)).toBe('5 of 5 checks passed');
    });

    it('another host holds the VIP: ✗ naming its MAC, exit 2', async () => {
      sh(`ip -n ${B} addr add ${VIP4}/32 dev ${IFB}`);
      try {
        const r = await check(arp(VIP4));
        expect(r.code).toBe(2);
        expect(row(r.out, 'VIP on the segment')).toBe(
          `✗ VIP on the segment  ${VIP4} is already answered by ${macB}: another node or device holds it; ` +
            'if it is kube-vip/keepalived, stop it first',
        );
      } finally {
        sh(`ip -n ${B} addr del ${VIP4}/32 dev ${IFB}`);
      }
    });

    it("this node holds it with kvip's label: said so, not ✗; and both holding it is ✗", async () => {
      sh(`ip -n ${A} addr add ${VIP4}/32 dev ${IF} label ${IF}:kvip`);
      try {
        const r = await check(arp(VIP4));
        expect(r.code).toBe(0);
        expect(row(r.out, 'VIP on this node')).toMatch(
          new RegExp(`✓ .*on ${IF} with kvip's label ${IF}:kvip: this node holds it`),
        );
        expect(row(r.out, 'VIP on the segment')).toMatch(/✓ .*this node holds .* nobody else answers for it/);
        sh(`ip -n ${B} addr add ${VIP4}/32 dev ${IFB}`);
        const both = await check(arp(VIP4));
        expect(both.code).toBe(2);
        expect(row(both.out, 'VIP on the segment')).toMatch(
          new RegExp(`✗ .*answered by ${macB} while this node holds it too: more than one holder`),
        );
      } finally {
        sh(`ip -n ${A} addr del ${VIP4}/32 dev ${IF}`);
        sh(`ip -n ${B} addr flush dev ${IFB} to ${VIP4}/32`);
      }
    });

    it("the VIP on this node without kvip's label, or on another interface: ✗ saying what to do", async () => {
      sh(`ip -n ${A} addr add ${VIP4}/32 dev ${IF}`);
      try {
        const r = await check(arp(VIP4));
        expect(r.code).toBe(2);
        expect(row(r.out, 'VIP on this node')).toMatch(/✗ .*without kvip's label .*stop that program/);
      } finally {
        sh(`ip -n ${A} addr del ${VIP4}/32 dev ${IF}`);
      }
      sh(`ip -n ${A} addr add ${VIP4}/32 dev lo`);
      try {
        const r = await check(arp(VIP4));
        expect(row(r.out, 'VIP on this node')).toMatch(
          new RegExp(`✗ .*${VIP4}/32 on lo, where kvip does not put it: kvip start removes it`),
        );
      } finally {
        sh(`ip -n ${A} addr del ${VIP4}/32 dev lo`);
      }
    });
  });

  describe('ARP mode, on a follower of a running cluster', () => {
    // The Lease API in A (as this node's API server on 127.0.0.1:6443), its Lease written out of band over
    // the control socket, renewed by "b" as a leader renews it; B answers for the VIP as that leader would.
    const leaseApi = new Children();
    let dir = '';
    const putLease = async (holder: string) => {
      const at = microTime(new Date());
      const res = await unixRequest(controlSocket(dir), 'PUT', '/_fake/leases', {
        metadata: { name: 'plndr-cp-lock', namespace: 'kube-system' },
        spec: { holderIdentity: holder, leaseDurationSeconds: 5, acquireTime: at, renewTime: at },
      });
      expect(res.status).toBe(200);
    };
    /** `holder` renews the Lease every 300 ms after its last renewal, until stop() (which waits for it). */
    const renewing = (holder: string) => {
      let stopped = false;
      let timer: NodeJS.Timeout | undefined;
      let last: Promise<void> = Promise.resolve();
      const tick = () => {
        last = putLease(holder)
          .catch(() => undefined)
          .finally(() => {
            if (!stopped) timer = setTimeout(tick, 300);
          });
      };
      tick();
      return {
        stop: async () => {
          stopped = true;
          clearTimeout(timer);
          await last;
        },
      };
    };
    /** kvip check as this node: by default under the host name, as kvip start names it without --nodeName. */
    const follower = (extra: string[] = []) =>
      arp(VIP4, [
        '--leaderElection',
        '--k8sConfigPath',
        join(dir, 'a.kubeconfig'),
        '--healthCheck',
        'off',
        ...extra,
      ]);
    const segment = (r: Run) => row(r.out, 'VIP on the segment');

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'kvip-check-follower-'));
      const args = leaseApiArgs({ host: '127.0.0.1', sans: [], clients: ['a', 'b'], dir });
      await leaseApi.spawnReady(A, [process.execPath, ...args], READY, 'the Lease API in A');
    }, 30_000);
    afterAll(() => {
      leaseApi.killAll();
      rmSync(dir, { recursive: true, force: true });
    });

    it('B answers and the Lease names b, which renews it: ✓; once b stops renewing: ✗ saying so', async () => {
      sh(`ip -n ${B} addr add ${VIP4}/32 dev ${IFB}`);
      const b = renewing('b');
      try {
        const r = await check(follower());
        expect(segment(r)).toBe(
          `✓ VIP on the segment  ${VIP4} is answered by ${macB} alone, and the Lease names b, which renewed it ` +
            `during this check: as expected on a follower (${macB} should be b's)`,
        );
        expect(r.code).toBe(0);
        await b.stop();
        const stale = await check(follower());
        expect(segment(stale)).toMatch(
          new RegExp(
            `^✗ VIP on the segment  ${VIP4} is already answered by ${macB}: another node or device holds it; ` +
              'if it is kube-vip/keepalived, stop it first; the Lease kube-system/plndr-cp-lock names b, which ' +
              'did not renew it within [\\d.]+ s: no kvip leader is answering',
          ),
        );
        expect(stale.code).toBe(2);
      } finally {
        await b.stop();
        trySh(`ip -n ${B} addr del ${VIP4}/32 dev ${IFB}`);
      }
    }, 90_000);

    it('the Lease names this node (its host name, no --nodeName) while B answers: ✗', async () => {
      const me = hostname().toLowerCase();
      sh(`ip -n ${B} addr add ${VIP4}/32 dev ${IFB}`);
      const self = renewing(me);
      try {
        const r = await check(follower());
        expect(segment(r)).toMatch(
          `; the Lease kube-system/plndr-cp-lock names this node (${me}) as leader, yet the VIP is not here`,
        );
        expect(r.code).toBe(2);
      } finally {
        await self.stop();
        trySh(`ip -n ${B} addr del ${VIP4}/32 dev ${IFB}`);
      }
    }, 60_000);

    it('two hosts answer (B and a second interface there) while b renews: ✗ naming both', async () => {
      // A macvlan in B with its own MAC and the VIP: two holders on one segment.
      const MV = `${tag}m0`;
      sh(`ip -n ${B} link add ${MV} link ${IFB} type macvlan mode bridge`);
      let b: { stop: () => Promise<void> } | undefined;
      try {
        sh(`ip -n ${B} link set ${MV} up`);
        const macM = linkMac(B, MV);
        sh(`ip -n ${B} addr add ${VIP4}/32 dev ${IFB} && ip -n ${B} addr add ${VIP4}/32 dev ${MV}`);
        b = renewing('b');
        const r = await check(follower());
        expect(segment(r)).toMatch(/^✗ VIP on the segment .* more than one host holds it/);
        for (const mac of [macB, macM]) expect(segment(r)).toContain(mac);
        expect(r.code).toBe(2);
      } finally {
        await b?.stop();
        trySh(`ip -n ${B} link del ${MV}`);
        trySh(`ip -n ${B} addr del ${VIP4}/32 dev ${IFB}`);
      }
    }, 60_000);
  });

  describe('ARP mode, IPv6', () => {
    it('nobody answers: ✓; another host holds the VIP: ✗ naming its MAC', async () => {
      const free = await check(arp(VIP6));
      expect(free.code).toBe(0);
      expect(row(free.out, `IPv6 on ${IF}`)).toMatch(/✓ .*enabled$/);
      expect(row(free.out, 'VIP on the segment')).toMatch(/✓ .*nobody .* \(DAD neighbour solicitation\)$/);
      sh(`ip -n ${B} addr add ${VIP6}/128 dev ${IFB} nodad`);
      try {
        const r = await check(arp(VIP6));
        expect(r.code).toBe(2);
        expect(row(r.out, 'VIP on the segment')).toMatch(
          new RegExp(`✗ VIP on the segment  ${VIP6} is already answered by ${macB}: another node`),
        );
      } finally {
        sh(`ip -n ${B} addr del ${VIP6}/128 dev ${IFB}`);
      }
    });

    it('IPv6 disabled on the interface: ✗ with the sysctl', async () => {
      sh(`ip netns exec ${A} sysctl -qw net.ipv6.conf.${IF}.disable_ipv6=1`);
      try {
        const r = await check(arp(VIP6));
        expect(r.code).toBe(2);
        expect(row(r.out, `IPv6 on ${IF}`)).toMatch(
          new RegExp(`✗ .*disabled: sysctl -w net.ipv6.conf.${IF}.disable_ipv6=0, or use an IPv4 --vip`),
        );
      } finally {
        sh(`ip netns exec ${A} sysctl -qw net.ipv6.conf.${IF}.disable_ipv6=0`);
        sh(`ip -n ${A} addr add 2001:db8::5/64 dev ${IF} nodad`); // disabling IPv6 removed it
      }
    });
  });

  describe('the interface and the capabilities', () => {
    it('an interface that does not exist: ✗, and the probe not sent', async () => {
      const r = await check(arp(VIP4).map((a) => (a === IF ? `${tag}zz` : a)));
      expect(r.code).toBe(2);
      expect(row(r.out, 'interface')).toMatch(new RegExp(`✗ interface +interface ${tag}zz does not exist`));
      expect(row(r.out, 'VIP on the segment')).toMatch(/✗ .*not checked: /);
    });

    it('down, then up without carrier: ✗ saying which', async () => {
      // A link going down loses its IPv6 addresses: put them back whatever happened.
      const restore = () => {
        sh(`ip -n ${A} link set ${IF} up && ip -n ${B} link set ${IFB} up`);
        sh(`ip -n ${A} addr replace 2001:db8::5/64 dev ${IF} nodad`);
        sh(`ip -n ${B} addr replace 2001:db8::6/64 dev ${IFB} nodad`);
      };
      try {
        sh(`ip -n ${A} link set ${IF} down`);
        const down = await check(arp(VIP4));
        expect(down.code).toBe(2);
        expect(row(down.out, 'interface')).toMatch(new RegExp(`✗ .*${IF} is down: ip link set ${IF} up`));
        restore();
        sh(`ip -n ${B} link set ${IFB} down`);
        const r = await check(arp(VIP4));
        expect(r.code).toBe(2);
        expect(row(r.out, 'interface')).toMatch(new RegExp(`✗ .*${IF} is up but has no carrier`));
        expect(row(r.out, 'VIP on the segment')).toMatch(/✗ .*not checked: /);
      } finally {
        restore();
      }
    });

    it('without NET_ADMIN and NET_RAW: ✗ naming both and how to add them; no probe without NET_RAW', async () => {
      const drop = ['setpriv', '--inh-caps=-net_admin,-net_raw', '--bounding-set=-net_admin,-net_raw'];
      const r = await check(arp(VIP4), { wrapper: drop });
      expect(r.code).toBe(2);
      expect(row(r.out, 'capabilities')).toMatch(
        /✗ capabilities +missing NET_ADMIN, NET_RAW: run as root, or add NET_ADMIN, NET_RAW to the container's securityContext/,
      );
      expect(row(r.out, 'VIP on the segment')).toMatch(/✗ .*not checked: the probe needs NET_RAW$/);
    });
  });

  describe('BGP mode: the peers', () => {
    const bgp = (peer: string, extra: string[] = []) => [
      ...['--vip', VIP4, '--bgp', '--localAS', '65001', '--peerAS', '65002', '--peerAddress', peer],
      ...extra,
    ];

    async function listen(keys: string[] = []): Promise<LineChild> {
      const [listener, first] = await LineChild.startArgv(
        B,
        ['python3', LISTENER, B4, '179', ...keys],
        'listener',
      );
      children.push(listener);
      expect(first).toEqual({ listening: 179 });
      return listener;
    }

    it('a peer that listens: ✓ with the route; the peer got a connection and no byte of it', async () => {
      const listener = await listen();
      const r = await check(bgp(B4), { bgp: true });
      expect(r.code).toBe(0);
      expect(row(r.out, `BGP peer ${B4}`)).toBe(
        `✓ BGP peer ${B4}  port 179 accepts a connection from ${A4} on ${IF} (TTL 1); no OPEN sent`,
      );
      expect(await listener.next()).toEqual({ peer: A4, peerPort: expect.any(Number), local: B4, got: '' });
    });

    it('a closed port: ✗ ECONNREFUSED, with the route', async () => {
      const r = await check(bgp(B4), { bgp: true });
      expect(r.code).toBe(2);
      expect(row(r.out, `BGP peer ${B4}`)).toMatch(
        new RegExp(
          `✗ .*refused \\(ECONNREFUSED\\): nothing listens on ${B4}:179.*; route: from ${A4} on ${IF}$`,
        ),
      );
    });

    it('with a password: ✓ when the peer has the key, ETIMEDOUT naming the password when not', async () => {
      const key = `kvip-sentinel-${tag}`;
      await listen([A4, Buffer.from(key).toString('hex')]);
      const good = await check(bgp(B4, ['--peerPass', key]), { bgp: true });
      expect(row(good.out, `BGP peer ${B4}`)).toMatch(/✓ .*\(MD5, TTL 1\); no OPEN sent$/);
      const bad = await check(bgp(B4, ['--peerPass', `${key}-wrong`]), { bgp: true });
      expect(bad.code).toBe(2);
      expect(row(bad.out, `BGP peer ${B4}`)).toMatch(
        /✗ .*\(ETIMEDOUT\): check the peer's password or that it accepts this address/,
      );
      expect(good.out + good.err + bad.out + bad.err).not.toContain('kvip-sentinel');
    });

    it('a peer without a route: ✗ saying so, nothing sent', async () => {
      const r = await check(bgp('203.0.113.9'), { bgp: true });
      expect(row(r.out, 'BGP peer 203.0.113.9')).toMatch(/✗ .*no route to it/);
    });
  });
});
