// packetProbe (native/src/packet_probe.c) against the real kernel: the caller (fixtures/native-ops.ts) in
// namespace A, a host in B on the same veth, tcpdump in B for what reaches the wire. An ARP probe B answers
// resolves with B's reply; nobody answering resolves null at the timeout while the event loop keeps running;
// with maxAnswers every answer to the deadline, so two holders show as two MACs; this host's own frame never
// counts; failures reject with the errno; no path leaves a socket open.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { arpProbe, ipv4ToBytes } from '../../src/vip/frames.js';
import { Capture } from '../helpers/capture.js';
import { LineChild, type Reply } from '../helpers/line-child.js';
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

const fixture = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'native-ops.ts');
const tag = uniqueTag('q');
const A = `${tag}a`;
const B = `${tag}b`;
const IFA = `${tag}a0`;
const IFB = `${tag}b0`;
const A4 = '198.51.100.1';
const B4 = '198.51.100.2';
const NOBODY = '198.51.100.99';

const hex = (b: Uint8Array) => ({ hex: Buffer.from(b).toString('hex') });

describeNetns('native packetProbe: one frame out, a bounded wait for its answer', () => {
  let client: LineChild | undefined;
  let macA = '';
  let macB = '';
  let baselineFds = 0;
  const captures: Capture[] = [];

  /** The ARP probe for `ip` from A, matched by any ARP whose sender IP is `ip` (as kvip check asks it). */
  function arpQuestion(ip: string, extra: Record<string, unknown> = {}) {
    return {
      ifname: IFA,
      frame: hex(arpProbe(macA, ip)),
      timeoutMs: 500,
      ethertype: 0x0806,
      offset: 28,
      bytes: hex(ipv4ToBytes(ip)),
      ...extra,
    };
  }

  const probe = (p: Record<string, unknown>): Promise<Reply> => {
    if (!client) throw new Error('no client');
    return client.request({ op: 'probe', probe: p });
  };

  beforeAll(async () => {
    createNamespace(A);
    createNamespace(B);
    createVeth({ ns: A, name: IFA }, { ns: B, name: IFB });
    sh(`ip -n ${A} addr add ${A4}/24 dev ${IFA} && ip -n ${B} addr add ${B4}/24 dev ${IFB}`);
    macA = linkMac(A, IFA);
    macB = linkMac(B, IFB);
    const [child, first] = await LineChild.start(A, fixture, []);
    client = child;
    expect(first).toMatchObject({ ready: expect.any(Number) });
    // One probe first, so that whatever Node opens on first use is open for every later count.
    baselineFds = Number((await probe(arpQuestion(NOBODY, { timeoutMs: 50 }))).openFds);
  });
  afterEach(() => {
    for (const c of captures.splice(0)) c.stop();
  });
  afterAll(() => {
    client?.kill();
    deleteNamespacesWithPrefix(tag);
  });

  async function capture(filter: string): Promise<Capture> {
    const c = await Capture.start(B, IFB, filter);
    captures.push(c);
    return c;
  }

  it("an address B holds: resolves with B's ARP reply (its MAC, to A's); the socket closed", async () => {
    const r = await probe(arpQuestion(B4));
    const frame = Buffer.from(String(r.frame), 'hex');
    expect(frame.readUInt16BE(12)).toBe(0x0806);
    expect(frame.readUInt16BE(20)).toBe(2); // a reply
    expect(frame.subarray(22, 28).toString('hex')).toBe(macB.replace(/:/g, ''));
    expect(frame.subarray(32, 38).toString('hex')).toBe(macA.replace(/:/g, '')); // to the prober
    expect(r.openFds).toBe(baselineFds);
  });

  it('nobody answers: null at the timeout, the event loop running all along, the socket closed', async () => {
    const r = await probe(arpQuestion(NOBODY));
    expect(r).toEqual({ frame: null, turns: expect.any(Number), openFds: baselineFds });
    expect(r.turns).toBeGreaterThan(0);
  });

  it("this host's frames never count: not its own probe, nor what another socket here sends meanwhile", async () => {
    // Offset 38: the target IP, which only the outgoing probe carries (B's reply targets 0.0.0.0).
    expect((await probe(arpQuestion(B4, { offset: 38 }))).frame).toBeNull();
    // Gratuitous ARPs from A for A's own address while the probe for it listens (as a running kvip leader on
    // this node announces its VIP): they match the filter, and are A's, so they are no answer.
    const wire = await capture(`arp and arp[14:4] = 0x${ipv4ToBytes(A4).toString('hex')}`);
    const garp = spawn('ip', ['netns', 'exec', A, 'arping', '-U', '-c', '30', '-i', '1', '-I', IFA, A4]);
    try {
      await wire.waitFor('a gratuitous ARP from A', () => true);
      expect((await probe(arpQuestion(A4, { timeoutMs: 1500 }))).frame).toBeNull(); // one GARP a second
    } finally {
      garp.kill('SIGKILL');
    }
  });

  it('sends once, or again every resendMs while it waits', async () => {
    const wire = await capture(`arp and arp[24:4] = 0x${ipv4ToBytes(NOBODY).toString('hex')}`);
    await probe(arpQuestion(NOBODY, { timeoutMs: 1000 }));
    await wire.waitFor('the probe', () => true);
    expect(wire.frames).toHaveLength(1);
    await probe(arpQuestion(NOBODY, { timeoutMs: 1000, resendMs: 100 }));
    await wire.waitFor('the repeats', () => wire.frames.length > 2);
  });

  it("maxAnswers: every answer until the deadline, two hosts' among them; none is an empty array", async () => {
    // A second interface in B with a MAC of its own, and an address on both: two holders on one segment.
    const MV = `${tag}m0`;
    const TWICE = '198.51.100.50';
    sh(`ip -n ${B} link add ${MV} link ${IFB} type macvlan mode bridge`);
    try {
      sh(`ip -n ${B} link set ${MV} up`);
      sh(`ip -n ${B} addr add ${TWICE}/32 dev ${IFB} && ip -n ${B} addr add ${TWICE}/32 dev ${MV}`);
      const macM = linkMac(B, MV);
      const r = await probe(arpQuestion(TWICE, { maxAnswers: 16, resendMs: 100, timeoutMs: 600 }));
      const senders = (r.frames as string[]).map((f) =>
        Buffer.from(f, 'hex').subarray(22, 28).toString('hex'),
      );
      expect([...new Set(senders)].sort()).toEqual([macB, macM].map((m) => m.replace(/:/g, '')).sort());
      // Each answered each of the probes sent while it listened: more than one frame per host.
      expect(senders.length).toBeGreaterThan(2);
      expect(r.openFds).toBe(baselineFds);
      // No more than maxAnswers are kept.
      const two = await probe(arpQuestion(TWICE, { maxAnswers: 2, resendMs: 100, timeoutMs: 600 }));
      expect(two.frames).toHaveLength(2);
      expect(await probe(arpQuestion(NOBODY, { maxAnswers: 4 }))).toMatchObject({ frames: [] });
    } finally {
      trySh(`ip -n ${B} link del ${MV}`);
      trySh(`ip -n ${B} addr del ${TWICE}/32 dev ${IFB}`);
    }
  });

  it.each([
    ['no such interface', { ifname: `${tag}zz` }, 'ENODEV', 'if_nametoindex'],
    ['a name too long for any interface', { ifname: 'x'.repeat(16) }, 'ENODEV', 'if_nametoindex'],
  ])('%s: rejects with the errno, no socket left', async (_what, extra, code, syscall) => {
    const r = await probe(arpQuestion(B4, extra));
    expect(r.error).toMatchObject({ code, syscall });
    expect(r.openFds).toBe(baselineFds);
  });

  it('a link that is down: rejects with ENETDOWN from send, no socket left', async () => {
    sh(`ip -n ${A} link set ${IFA} down`);
    try {
      const r = await probe(arpQuestion(B4));
      expect(r.error).toMatchObject({
        code: 'ENETDOWN',
        syscall: 'send',
        message: expect.stringContaining(IFA),
      });
      expect(r.openFds).toBe(baselineFds);
    } finally {
      sh(`ip -n ${A} link set ${IFA} up`);
    }
  });

  it.each([
    ['a frame shorter than an Ethernet header', { frame: { hex: '00'.repeat(13) } }, /frame/],
    ['a timeout of 0', { timeoutMs: 0 }, /timeoutMs/],
    ['a timeout over 10 s', { timeoutMs: 10_001 }, /timeoutMs/],
    ['a match beyond the first 256 bytes', { offset: 253 }, /bytes/],
    ['a mask not as long as the bytes', { mask: { hex: 'ff' } }, /mask/],
    ['an ethertype that is a length', { ethertype: 0x05dc }, /ethertype/],
    ['no answer to wait for', { maxAnswers: 0 }, /maxAnswers/],
    ['more answers than it keeps', { maxAnswers: 17 }, /maxAnswers/],
  ])('%s: a TypeError thrown at the call, before any socket', async (_what, extra, message) => {
    const r = await probe(arpQuestion(B4, extra));
    expect(r.error).toMatchObject({ name: 'TypeError', message: expect.stringMatching(message) });
    expect(r.thrown).toBe('sync');
    expect(r.openFds).toBe(baselineFds);
  });

  it('without CAP_NET_RAW: rejects with EPERM from socket', async () => {
    const drop = (argv: string[]) => ['setpriv', '--inh-caps=-net_raw', '--bounding-set=-net_raw', ...argv];
    const [child, first] = await LineChild.start(A, fixture, [], drop);
    try {
      expect(first).toMatchObject({ ready: expect.any(Number) });
      const r = await child.request({ op: 'probe', probe: arpQuestion(B4) });
      expect(r.error).toMatchObject({ code: 'EPERM', syscall: 'socket' });
    } finally {
      child.kill();
    }
  });
});
