// tcpConnect (native/src/tcp_connect.c) against the real kernel: the client (fixtures/native-ops.ts) runs in
// namespace A, a listener that can hold TCP MD5 keys (fixtures/md5-listener.py) in namespace B, and tcpdump
// on B's end of the veth shows what reaches the wire: the TTL / hop limit, and whether the MD5 option is
// signed with the key (tcpdump -M). Needs root, `ip`, tcpdump and python3 (a failure when CI=true).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Capture } from '../helpers/capture.js';
import { LineChild, type Reply } from '../helpers/line-child.js';
import {
  createNamespace,
  createVeth,
  deleteNamespacesWithPrefix,
  describeNetns,
  sh,
  uniqueTag,
  waitFor,
} from '../helpers/netns.js';

const here = dirname(fileURLToPath(import.meta.url));
const clientFixture = join(here, 'fixtures', 'native-ops.ts');
const listenerFixture = join(here, 'fixtures', 'md5-listener.py');

const tag = uniqueTag('t');
const nsA = `${tag}a`; // the client
const nsB = `${tag}b`; // the listeners and tcpdump
const ifB = `${tag}b0`;
const A4 = '198.51.100.1';
const A4_OTHER = '198.51.100.3'; // a second address of A, to bind to
const B4 = '198.51.100.2';
const A6 = '2001:db8::1';
const A6_OTHER = '2001:db8::3';
const B6 = '2001:db8::2';
const KEY = `kvip-test-\u00e9-${tag}`; // a string key is UTF-8: the listener gets these bytes
const SENTINEL = 'SENTINEL-d41d8cd98f00b204';

const KEY_BYTES = Buffer.concat([Buffer.from(`kvip-bytes-${tag}`), Buffer.from([0x01, 0x7f])]).toString(
  'hex',
);

const hex = (s: string): string => Buffer.from(s, 'utf8').toString('hex');
const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
let nextPort = 20000 + (process.pid % 20000);
const port = (): number => nextPort++;

describeNetns(
  'native tcpConnect: MD5 keys, TTL and source address, as the peer and the wire see them',
  () => {
    let client: LineChild | undefined;
    let baselineFds = 0;
    const opened: { kill?: () => void; stop?: () => void }[] = [];

    /** A listener in B on address:port holding keys ([peer, key bytes as hex]), once it listens. */
    async function listen(address: string, p: number, keys: [string, string][] = []): Promise<LineChild> {
      const argv = ['python3', listenerFixture, address, String(p), ...keys.flat()];
      const [listener, first] = await LineChild.startArgv(nsB, argv, 'md5-listener');
      opened.push(listener);
      expect(first).toEqual({ listening: p });
      return listener;
    }

    async function capture(filter: string, extra: string[]): Promise<Capture> {
      const c = await Capture.start(nsB, ifB, filter, 10_000, extra);
      opened.push(c);
      return c;
    }

    const connect = (req: Record<string, unknown>): Promise<Reply> => {
      if (!client) throw new Error('no client');
      return client.request({ op: 'connect', ...req });
    };

    beforeAll(async () => {
      createNamespace(nsA);
      createNamespace(nsB);
      createVeth({ ns: nsA, name: `${tag}a0` }, { ns: nsB, name: ifB });
      // A4 and A6 are the sources the kernel picks: A4 is the primary address; A6_OTHER is deprecated
      // (preferred_lft 0), which source selection avoids (RFC 6724 rule 3) but bind() still takes.
      for (const ip of [`${A4}/24`, `${A4_OTHER}/24`, `${A6}/64`])
        sh(`ip -n ${nsA} addr add ${ip} dev ${tag}a0 nodad`);
      sh(`ip -n ${nsA} addr add ${A6_OTHER}/64 dev ${tag}a0 nodad preferred_lft 0`);
      for (const ip of [`${B4}/24`, `${B6}/64`]) sh(`ip -n ${nsB} addr add ${ip} dev ${ifB} nodad`);
      const [child, first] = await LineChild.start(nsA, clientFixture, []);
      client = child;
      expect(first).toMatchObject({ ready: expect.any(Number) });
      // One refused connect first, so that whatever Node opens on first use is open for every later count.
      await connect({ opts: { address: B4, port: port(), timeoutMs: 5000 } });
      baselineFds = Number((await client.request({ op: 'call', fn: 'links', args: [1] })).openFds);
    });
    afterEach(() => {
      for (const o of opened.splice(0)) (o.kill ?? o.stop)?.call(o);
    });
    afterAll(() => {
      client?.kill();
      deleteNamespacesWithPrefix(tag);
    });

    it.each([
      ['IPv4, a string key', A4, B4, { md5Key: KEY }],
      ['IPv6, a Uint8Array key', A6, B6, { md5KeyHex: KEY_BYTES }],
    ])(
      '%s: the listener holding the key accepts; data both ways through net.Socket({fd}); the fd closed',
      async (_, local, peer, key) => {
        const p = port();
        const keyHex = 'md5KeyHex' in key ? key.md5KeyHex : hex(key.md5Key);
        const listener = await listen(peer, p, [[local, keyHex]]);
        // tcpdump -M <secret> checks each segment's signature with that key (argv: the bytes as UTF-8).
        const wire = await capture(`tcp dst port ${p}`, ['-M', Buffer.from(keyHex, 'hex').toString('utf8')]);
        const got = await connect({
          opts: { address: peer, port: p, timeoutMs: 5000, ...key },
          send: 'hello',
        });
        expect(got).toEqual({
          local: { address: local, port: expect.any(Number) },
          remote: { address: peer, port: p },
          received: 'echo:hello\n',
          events: ['end', 'close'],
          fdClosed: true,
          openFds: baselineFds,
        });
        const { port: localPort } = got.local as { port: number };
        expect(await listener.next()).toEqual({
          peer: local,
          peerPort: localPort,
          local: peer,
          got: 'hello',
        });
        const syn = await wire.waitFor('the SYN', (l) => l.includes('Flags [S]'));
        expect(syn).toContain('md5 valid'); // signed, with this key, from the first segment on
      },
    );

    it('with a key, a peer with another key, a peer without one, or no listener: ETIMEDOUT; fds closed', async () => {
      const [p1, p2, p3] = [port(), port(), port()];
      const other = hex(`other-${tag}`);
      const keyed = await listen(B4, p1, [[A4, other]]);
      const unkeyed = await listen(B4, p2);
      const wire = await capture(`tcp dst port ${p1}`, ['-M', `other-${tag}`]);
      const timedOut = (p: number) => ({
        error: {
          code: 'ETIMEDOUT',
          syscall: 'connect',
          name: 'Error',
          message:
            `tcpConnect(${B4}:${p}): ETIMEDOUT (not connected within 1000 ms; with a TCP MD5 key a refused ` +
            'connect or a key mismatch also ends so)',
          inspected: expect.any(String),
        },
        openFds: baselineFds,
      });
      for (const p of [p1, p2, p3])
        expect(await connect({ opts: { address: B4, port: p, md5Key: KEY, timeoutMs: 1000 } })).toEqual(
          timedOut(p),
        );
      // ... and a peer with a key refuses a connect without one, silently too.
      expect(await connect({ opts: { address: B4, port: p1, timeoutMs: 1000 } })).toMatchObject({
        error: {
          code: 'ETIMEDOUT',
          message: `tcpConnect(${B4}:${p1}): ETIMEDOUT (not connected within 1000 ms)`,
        },
      });
      expect(await wire.waitFor('the SYN', (l) => l.includes('Flags [S]'))).toMatch(/md5 +\(invalid\)/);
      // Neither listener accepted anything: the first connection each one reports is the matching one below.
      await connect({
        opts: { address: B4, port: p1, md5KeyHex: other, timeoutMs: 5000 },
        send: 'right key',
      });
      await connect({ opts: { address: B4, port: p2, timeoutMs: 5000 }, send: 'no key' });
      expect(await keyed.next()).toMatchObject({ got: 'right key' });
      expect(await unkeyed.next()).toMatchObject({ got: 'no key' });
    });

    it.each([
      [B4, `tcpConnect(${B4}:PORT): ECONNREFUSED (Connection refused)`],
      [B6, `tcpConnect([${B6}]:PORT): ECONNREFUSED (Connection refused)`],
    ])('without a key, nothing listening at %s is ECONNREFUSED', async (peer, message) => {
      const p = port();
      expect(await connect({ opts: { address: peer, port: p, timeoutMs: 5000 } })).toEqual({
        error: {
          code: 'ECONNREFUSED',
          syscall: 'connect',
          name: 'Error',
          message: message.replace('PORT', String(p)),
          inspected: expect.any(String),
        },
        openFds: baselineFds,
      });
    });

    it('puts the asked TTL / hop limit on the wire (1, 255; the default 64 without one)', async () => {
      const first = nextPort;
      const cases = [
        [B4, A4, 1],
        [B4, A4, 255],
        [B4, A4, undefined],
        [B6, A6, 1],
        [B6, A6, 255],
        [B6, A6, undefined],
      ] as const;
      const wire = await capture(`tcp dst portrange ${first}-${first + cases.length - 1}`, ['-v']);
      for (const [peer, local, ttl] of cases) {
        const p = port();
        expect(await connect({ opts: { address: peer, port: p, ttl, timeoutMs: 5000 } })).toMatchObject({
          error: { code: 'ECONNREFUSED' },
        });
        // tcpdump -v -e: "... (tos 0x0, ttl 1, ...)\n    <src>.<port> > <dst>.<p>: Flags [S]" (IPv4, two lines);
        // "... (flowlabel ..., hlim 1, ...) <src>.<port> > <dst>.<p>: Flags [S]" (IPv6, one line).
        const syn = new RegExp(
          `(?:ttl|hlim) (\\d+),[^\\n]*\\n?\\s*${escape(local)}\\.\\d+ > ${escape(peer)}\\.${p}: Flags \\[S\\]`,
        );
        const seen = await waitFor(`the SYN to port ${p}`, () => {
          const m = syn.exec(wire.frames.join('\n'));
          return m ? Number(m[1]) : undefined;
        });
        expect(seen).toBe(ttl ?? 64);
      }
    });

    it.each([
      [B4, A4_OTHER],
      [B6, A6_OTHER],
    ])(
      'binds localAddress / localPort: the listener at %s sees the connection come from %s',
      async (peer, local) => {
        const p = port();
        const listener = await listen(peer, p);
        const localPort = p + 10_000;
        const got = await connect({
          opts: { address: peer, port: p, localAddress: local, localPort, timeoutMs: 5000 },
          send: 'src',
        });
        expect(got).toMatchObject({ local: { address: local, port: localPort }, received: 'echo:src\n' });
        expect(await listener.next()).toEqual({ peer: local, peerPort: localPort, local: peer, got: 'src' });
        // A port alone binds the wildcard address: the kernel still picks the source address.
        await connect({
          opts: { address: peer, port: p, localPort: localPort + 1, timeoutMs: 5000 },
          send: 'port',
        });
        expect(await listener.next()).toEqual({
          peer: peer === B4 ? A4 : A6,
          peerPort: localPort + 1,
          local: peer,
          got: 'port',
        });
      },
    );

    it('refuses a key of 0 or more than 80 bytes with EINVAL before opening anything; no key in any error', async () => {
      const p = port();
      const listener = await listen(B4, p);
      const long = SENTINEL.padEnd(81, 'x'); // 81 bytes
      const wide = '\u00e9'.repeat(41); // 41 characters, 82 bytes: bytes are what count
      for (const [md5Key, bytes] of [
        [long, 81],
        [wide, 82],
        ['', 0],
      ] as const) {
        const got = await connect({ opts: { address: B4, port: p, md5Key, timeoutMs: 5000 } });
        expect(got).toMatchObject({
          error: {
            code: 'EINVAL',
            syscall: 'setsockopt',
            message: `tcpConnect(${B4}:${p}): EINVAL (the TCP MD5 key is ${bytes} bytes; it must be 1-80)`,
          },
          openFds: baselineFds,
        });
        expect(JSON.stringify(got)).not.toContain(SENTINEL);
      }
      // An 80-byte key is taken, and appears in no error either (as a string or as bytes).
      const longest = SENTINEL.padEnd(80, 'y');
      for (const opts of [{ md5Key: longest }, { md5KeyHex: hex(longest) }]) {
        const got = await connect({ opts: { address: B4, port: port(), ...opts, timeoutMs: 500 } });
        expect(got).toMatchObject({ error: { code: 'ETIMEDOUT' }, openFds: baselineFds });
        expect(JSON.stringify(got)).not.toContain(SENTINEL);
        expect(JSON.stringify(got)).not.toContain(hex(SENTINEL));
      }
      // Nothing reached the listener: the first connection it reports is this one.
      await connect({ opts: { address: B4, port: p, timeoutMs: 5000 }, send: 'after' });
      expect(await listener.next()).toMatchObject({ got: 'after' });
    });

    it('fails bind and connect with their errno, and bad options with a TypeError; no fd left open', async () => {
      const p = port();
      const cases: [Record<string, unknown>, Record<string, unknown>][] = [
        [
          { localAddress: '198.51.100.99' },
          {
            code: 'EADDRNOTAVAIL',
            syscall: 'bind',
            message: `tcpConnect(${B4}:${p} from 198.51.100.99): EADDRNOTAVAIL (Cannot assign requested address)`,
          },
        ],
        [{ address: '203.0.113.1' }, { code: 'ENETUNREACH', syscall: 'connect' }],
        [{ port: 0 }, { name: 'TypeError', message: 'tcpConnect: port must be an integer 1-65535' }],
        [
          { address: 'peer.example' },
          { name: 'TypeError', message: 'tcpConnect: address must be an IPv4 or IPv6 address' },
        ],
        [
          { localAddress: A6 },
          { name: 'TypeError', message: "tcpConnect: localAddress must be of the address's family" },
        ],
        [{ ttl: 0 }, { name: 'TypeError', message: 'tcpConnect: ttl must be an integer 1-255' }],
        [{ ttl: 256 }, { name: 'TypeError' }],
        [
          { timeoutMs: 0 },
          { name: 'TypeError', message: 'tcpConnect: timeoutMs must be an integer 1-2147483647' },
        ],
        [{ timeoutMs: 1.5 }, { name: 'TypeError' }],
        [
          { md5Key: 42 },
          { name: 'TypeError', message: 'tcpConnect: md5Key must be a Uint8Array or a string' },
        ],
      ];
      for (const [opts, error] of cases) {
        const got = await connect({ opts: { address: B4, port: p, timeoutMs: 5000, ...opts } });
        expect({ opts, ...got }).toMatchObject({ opts, error, openFds: baselineFds });
      }
    });

    it('waits off the event loop and off the threadpool: a timer and a file read finish while connects hang', async () => {
      // Six connects that can only time out (a key, nothing listening): more than libuv's four pool threads.
      const silent = { address: B4, port: port(), md5Key: KEY, timeoutMs: 3000 };
      const got = await client?.request({ op: 'pending', connects: Array(6).fill(silent) });
      expect(got?.order).toHaveLength(8);
      expect(new Set((got?.order as string[]).slice(0, 2))).toEqual(new Set(['timer', 'readFile']));
      expect((got?.order as string[]).slice(2)).toEqual(Array(6).fill('connect:ETIMEDOUT'));
      expect(got?.openFds).toBe(baselineFds);
    });

    it('a worker terminated with connects pending stops their threads and closes their fds', async () => {
      const silent = { address: B4, port: port(), md5Key: KEY, timeoutMs: 30_000 };
      const got = await client?.request({ op: 'worker', connects: Array(3).fill(silent) });
      const [before = 0, pending, after] = got?.threads as number[];
      expect(pending).toBeGreaterThanOrEqual(before + 1 + 3); // the worker's own thread, one per connect
      expect(after).toBe(before);
      expect(got?.openFds).toBe(baselineFds);
    });

    it('destroy() closes the fd', async () => {
      const p = port();
      await listen(B4, p);
      expect(await connect({ opts: { address: B4, port: p, timeoutMs: 5000 }, destroy: true })).toMatchObject(
        {
          fdClosed: true,
          openFds: baselineFds,
        },
      );
    });
  },
);
