// kvip's BGP speaker against each real daemon (gobgpd, BIRD 2, FRR), one node and one router in a namespace
// pair, without leader election (the node holds the VIP from the start): eBGP and iBGP, 2- and 4-byte ASNs,
// with and without TCP MD5, IPv4 and IPv6. Checked at the router: the path it learned (next hop, AS path,
// LOCAL_PREF), that it goes on SIGTERM; and what kvip logs when the peer AS or the password is wrong.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createNamespace,
  createVeth,
  deleteNamespacesWithPrefix,
  describeNetns,
  sh,
  uniqueTag,
} from '../helpers/netns.js';
import { startRouter, type Router, type RouterKind } from './routers/index.js';

const BIN = fileURLToPath(new URL('../../dist/cli/bin.js', import.meta.url));
const BOUND_MS = 20000;
/** waitLog waits up to twice BOUND_MS, plus the pair's start: a hang guard above that, not jest's 30 s. */
const LOG_CASE_TIMEOUT_MS = 3 * BOUND_MS;

interface Case {
  name: string;
  kind: RouterKind;
  family: 4 | 6;
  nodeAs: number;
  routerAs: number;
  password?: string;
}

const CASES: Case[] = [
  { name: 'gobgp eBGP IPv4, 2-byte ASNs', kind: 'gobgp', family: 4, nodeAs: 64513, routerAs: 64512 },
  {
    name: 'gobgp eBGP IPv6, 4-byte ASN, MD5',
    kind: 'gobgp',
    family: 6,
    nodeAs: 4200000001,
    routerAs: 64512,
    password: 'gobgp-md5-key',
  },
  { name: 'gobgp iBGP IPv4, 4-byte ASN', kind: 'gobgp', family: 4, nodeAs: 4200000001, routerAs: 4200000001 },
  {
    name: 'bird iBGP IPv4, MD5',
    kind: 'bird',
    family: 4,
    nodeAs: 64512,
    routerAs: 64512,
    password: 'bird-md5-key',
  },
  { name: 'bird eBGP IPv6, 2-byte ASNs', kind: 'bird', family: 6, nodeAs: 64513, routerAs: 64512 },
  { name: 'bird eBGP IPv4, 4-byte ASNs', kind: 'bird', family: 4, nodeAs: 4200000001, routerAs: 4200000002 },
  {
    name: 'frr eBGP IPv4, 4-byte ASN, MD5',
    kind: 'frr',
    family: 4,
    nodeAs: 4200000001,
    routerAs: 64512,
    password: 'frr-md5-key',
  },
  { name: 'frr iBGP IPv6', kind: 'frr', family: 6, nodeAs: 64512, routerAs: 64512 },
];

const ADDR = {
  4: {
    router: '198.51.100.1',
    node: '198.51.100.2',
    len: 24,
    vip: '203.0.113.100',
    prefix: '203.0.113.100/32',
  },
  6: {
    router: '2001:db8:1::1',
    node: '2001:db8:1::2',
    len: 64,
    vip: '2001:db8:ff::100',
    prefix: '2001:db8:ff::100/128',
  },
};

describeNetns('the BGP speaker against gobgpd, BIRD 2 and FRR (netns)', () => {
  const tag = uniqueTag('bp');
  const rns = `${tag}r`;
  const nns = `${tag}n`;
  const dir = mkdtempSync(join(tmpdir(), 'kvip-bgp-peers-'));
  let router: Router | undefined;
  let kvip: ChildProcess | undefined;
  let run = 0;
  let logFile = '';

  beforeAll(() => {
    createNamespace(rns);
    createNamespace(nns);
    createVeth({ ns: rns, name: `${tag}a` }, { ns: nns, name: `${tag}b` });
    for (const f of [4, 6] as const) {
      const a = ADDR[f];
      const nodad = f === 6 ? ' nodad' : '';
      sh(`ip -n ${rns} addr add ${a.router}/${a.len} dev ${tag}a${nodad}`);
      sh(`ip -n ${nns} addr add ${a.node}/${a.len} dev ${tag}b${nodad}`);
    }
  });

  afterEach(async () => {
    kvip?.kill('SIGKILL');
    kvip = undefined;
    await router?.stop();
    router = undefined;
  });

  afterAll(() => {
    deleteNamespacesWithPrefix(tag);
    rmSync(dir, { recursive: true, force: true });
  });

  async function startPair(
    c: Case,
    kvipOver: { peerAs?: number; password?: string } = {},
    routerOver: { as?: number } = {},
  ) {
    const a = ADDR[c.family];
    router = await startRouter(c.kind, {
      ns: rns,
      routerId: '198.51.100.1',
      localAs: c.routerAs,
      listen: [a.router],
      neighbours: [
        {
          address: a.node,
          as: routerOver.as ?? c.nodeAs,
          holdTime: 9,
          ...(c.password ? { password: c.password } : {}),
        },
      ],
      fastReconnect: true,
    });
    const password = kvipOver.password ?? c.password;
    const args = [
      BIN,
      'start',
      '--vip',
      a.vip,
      '--bgp',
      '--peerAddress',
      a.router,
      '--peerAS',
      String(kvipOver.peerAs ?? c.routerAs),
      '--localAS',
      String(c.nodeAs),
      '--bgpRouterID',
      '198.51.100.2',
      '--holdTime',
      '9',
      '--logLevel',
      'debug',
      ...(password ? ['--peerPass', password] : []),
    ];
    logFile = join(dir, `kvip-${++run}.log`);
    const out = openSync(logFile, 'a');
    kvip = spawn('ip', ['netns', 'exec', nns, process.execPath, ...args], {
      stdio: ['ignore', out, out],
      env: { PATH: process.env.PATH },
    });
  }

  const log = () => readFileSync(logFile, 'utf8');
  const exited = (p: ChildProcess) =>
    new Promise<number | null>((r) =>
      p.exitCode !== null ? r(p.exitCode) : p.once('exit', (code) => r(code)),
    );

  it.each(CASES)(
    '$name: the path is at the router with the right attributes, and goes on SIGTERM',
    async (c) => {
      await startPair(c);
      const a = ADDR[c.family];
      const r = router as Router;
      const route = await r.waitForRoute(a.prefix, true, BOUND_MS);
      expect(route).toMatchObject({ prefix: a.prefix, asPath: c.nodeAs === c.routerAs ? [] : [c.nodeAs] });
      expect(route?.nextHop).toBe(a.node);
      if (c.nodeAs === c.routerAs) expect(route?.localPref).toBe(100);
      expect(sh(`ip -n ${nns} addr show dev lo`)).toContain(a.vip);
      const p = kvip as ChildProcess;
      p.kill('SIGTERM');
      expect(await exited(p)).toBe(0);
      await r.waitForRoute(a.prefix, false, BOUND_MS);
      expect(log()).toContain('BGP withdraw written to 1 of 1 established session(s)');
      expect(sh(`ip -n ${nns} addr show dev lo`)).not.toContain(a.vip);
    },
  );

  it(
    'a peer that is not the AS kvip was told: the log names both ASNs, nothing is announced',
    async () => {
      const c = CASES[3] as Case;
      await startPair(c, { peerAs: 64999 });
      await waitLog(/the peer is AS 64512, but it is configured as AS 64999/);
      expect(await (router as Router).routes(4)).toEqual([]);
    },
    LOG_CASE_TIMEOUT_MS,
  );

  it(
    'a router that expects another AS: its Bad Peer AS NOTIFICATION is logged by name',
    async () => {
      const c = CASES[6] as Case;
      await startPair(c, {}, { as: 64999 });
      await waitLog(/Bad Peer AS \(2\/2\)/);
      expect(await (router as Router).routes(4)).toEqual([]);
    },
    LOG_CASE_TIMEOUT_MS,
  );

  it(
    'a wrong TCP MD5 password: the log says the connection gets no answer and to check the password',
    async () => {
      const c = CASES[0] as Case;
      await startPair({ ...c, password: 'the-right-key' }, { password: 'a-wrong-key' });
      await waitLog(/no TCP connection to 198\.51\.100\.1:179: with a TCP MD5 password set/);
      expect(await (router as Router).routes(4)).toEqual([]);
      expect(log()).not.toContain('a-wrong-key');
    },
    LOG_CASE_TIMEOUT_MS,
  );

  async function waitLog(re: RegExp): Promise<void> {
    const end = Date.now() + BOUND_MS;
    while (!re.test(log())) {
      if (Date.now() > end) throw new Error(`kvip never logged ${re}:\n${log()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // logged once per state change, not once per attempt: the next attempts fail the same way at debug level
    while (!/\(again\)/.test(log())) {
      if (Date.now() > end + BOUND_MS) throw new Error(`kvip never tried again:\n${log()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const warned = log()
      .split('\n')
      .filter((l) => re.test(l) && l.includes('"level":40'));
    expect(warned).toHaveLength(1);
  }
});
