// The addon's synchronous rtnetlink calls (native/src/rtnl.c) against the real kernel, in a namespace of
// their own: the address appears as `ip` shows it (label, nodad), and each kernel refusal comes back as an
// Error whose .code is the errno. A script runs the addon inside the namespace and prints JSON.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nativeAddonPath } from '../../src/native/index.js';
import {
  createNamespace,
  createVeth,
  deleteNamespacesWithPrefix,
  describeNetns,
  sh,
  uniqueTag,
} from '../helpers/netns.js';

const tag = uniqueTag('r');
const ns = `${tag}a`;
const peer = `${tag}b`;
const ifname = `${tag}a0`;

/**
 * Runs `body` (JS, with `a` = the addon and `out(x)` to report) in the namespace; returns what it reported.
 * `env`: extra environment for node alone (not for `ip`), e.g. LD_PRELOAD.
 */
function inNs(body: string, env: Record<string, string> = {}): unknown[] {
  const script = `
    const a = require(${JSON.stringify(nativeAddonPath())});
    const got = [];
    const out = (x) => got.push(x);
    const err = (f) => { try { f(); return 'ok'; } catch (e) { return { code: e.code, message: e.message, type: e.name }; } };
    ${body}
    console.log(JSON.stringify(got));`;
  const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const stdout = execFileSync('ip', ['netns', 'exec', ns, 'env', ...vars, process.execPath, '-e', script], {
    encoding: 'utf8',
    timeout: 10_000, // a hang is a failure, not a stuck suite
  });
  return JSON.parse(stdout) as unknown[];
}

describeNetns('native rtnetlink: addressAdd / addressDelete / linkIndex', () => {
  beforeAll(() => {
    createNamespace(ns);
    createNamespace(peer);
    createVeth({ ns, name: ifname }, { ns: peer, name: `${tag}b0` });
  });
  afterAll(() => deleteNamespacesWithPrefix(tag));

  it('adds an IPv4 /32 with its label and an IPv6 /128 with nodad, then removes both', () => {
    const [index] = inNs(`
      const i = a.linkIndex(${JSON.stringify(ifname)});
      out(i);
      a.addressAdd(i, 4, Buffer.from([198, 51, 100, 7]), 32, ${JSON.stringify(`${ifname}:kv`)}, false);
      a.addressAdd(i, 6, Buffer.from('20010db8000000000000000000000007', 'hex'), 128, null, true);`);
    expect(Number(index)).toBeGreaterThan(0);
    const shown = sh(`ip -n ${ns} -o addr show dev ${ifname}`);
    expect(shown).toMatch(new RegExp(`inet 198\\.51\\.100\\.7/32 .*${ifname}:kv`));
    expect(shown).toMatch(/inet6 2001:db8::7\/128 .*nodad/);
    inNs(`
      const i = a.linkIndex(${JSON.stringify(ifname)});
      a.addressDelete(i, 4, Buffer.from([198, 51, 100, 7]), 32);
      a.addressDelete(i, 6, Buffer.from('20010db8000000000000000000000007', 'hex'), 128);`);
    expect(sh(`ip -n ${ns} -o addr show dev ${ifname}`)).not.toMatch(/198\.51\.100\.7|2001:db8::7/);
  });

  it('returns the kernel errno: EEXIST, EADDRNOTAVAIL, ENODEV; TypeError for bad arguments', () => {
    const got = inNs(`
      const i = a.linkIndex(${JSON.stringify(ifname)});
      const v = Buffer.from([203, 0, 113, 9]);
      a.addressAdd(i, 4, v, 32, null, false);
      out(err(() => a.addressAdd(i, 4, v, 32, null, false)));
      a.addressDelete(i, 4, v, 32);
      out(err(() => a.addressDelete(i, 4, v, 32)));
      out(err(() => a.linkIndex('nosuch0')));
      out(err(() => a.addressAdd(99999, 4, v, 32, null, false)));
      out(err(() => a.addressAdd(i, 4, Buffer.alloc(16), 32, null, false)));
      out(err(() => a.addressAdd(i, 6, Buffer.alloc(16), 129, null, false)));
      out(err(() => a.addressAdd(i, 4, v, 32, 'a-label-far-too-long', false)));
      // 15 characters, 17 bytes in UTF-8: must not be cut at a character boundary and accepted
      out(err(() => a.addressAdd(i, 4, v, 32, 'abcdefghijklm\u00e9\u00e9', false)));
      out(err(() => a.addressAdd(i, 4, v, 24.7, null, false)));
      out(err(() => a.addressAdd(-1, 4, v, 32, null, false)));
      out(err(() => a.links(-1)));
      out(err(() => a.linkIndex('kvnop' + '\u00e9'.repeat(6))));
      out(a.addresses(4).some((x) => x.address.equals(v)));`);
    expect(got[0]).toMatchObject({
      code: 'EEXIST',
      message: expect.stringContaining(`203.0.113.9/32 dev ${ifname}`),
    });
    expect(got[1]).toMatchObject({ code: 'EADDRNOTAVAIL' });
    expect(got[2]).toMatchObject({ code: 'ENODEV', message: expect.stringContaining('nosuch0') });
    expect(got[3]).toMatchObject({ code: 'ENODEV' });
    const typeErrors = got.slice(4, -1);
    expect(typeErrors).toHaveLength(8);
    for (const bad of typeErrors) expect(bad).toMatchObject({ type: 'TypeError' });
    expect(got.at(-1)).toBe(false); // none of the refused calls added the address
  });

  it('linkIndex refuses a name with an embedded NUL as openPacket does, not as the name before it', () => {
    // if_nametoindex reads a C string: "<ifname>\0x" would resolve to <ifname>.
    const got = inNs(`
      out(err(() => a.linkIndex(${JSON.stringify(`${ifname}\0x`)})));
      out(err(() => a.openPacket(${JSON.stringify(`${ifname}\0x`)})));`);
    const refused = (op: string) => ({
      code: 'ENODEV',
      message: `${op}(${ifname}): ENODEV (No such device)`,
    });
    expect(got).toEqual([
      { ...refused('linkIndex'), type: 'Error' },
      { ...refused('openPacket'), type: 'Error' },
    ]);
  });

  it("addresses(family, index) lists that interface's addresses only; addresses(family) every one", () => {
    const other = `${tag}d0`; // another interface, with addresses of its own
    sh(`ip -n ${ns} link add ${other} type veth peer name ${tag}d1 && ip -n ${ns} link set ${other} up`);
    try {
      sh(`ip -n ${ns} addr add 198.51.100.21/32 dev ${ifname}`);
      sh(`ip -n ${ns} addr add 2001:db8::21/128 dev ${ifname} nodad`);
      for (const ip of ['198.51.100.22/32', '203.0.113.22/24', '2001:db8::22/128'])
        sh(`ip -n ${ns} addr add ${ip} dev ${other} nodad`);
      const [i, d, ...lists] = inNs(`
        const i = a.linkIndex(${JSON.stringify(ifname)});
        const d = a.linkIndex(${JSON.stringify(other)});
        const show = (list) => list.map((x) => [x.index, x.address.toString('hex') + '/' + x.prefix]).sort();
        out(i);
        out(d);
        out(show(a.addresses(4, i)));
        out(show(a.addresses(6, i)).filter(([, x]) => !x.startsWith('fe80')));
        out(show(a.addresses(6, i)).every(([index]) => index === i));
        out(show(a.addresses(4)).filter(([index]) => index === i || index === d));
        out(show(a.addresses(4, 99999)));
        out(err(() => a.addresses(4, 1.5)));`);
      expect(lists).toEqual([
        [[i, 'c6336415/32']],
        [[i, '20010db8000000000000000000000021/128']],
        true,
        [
          [i, 'c6336415/32'],
          [d, 'c6336416/32'],
          [d, 'cb007116/24'],
        ],
        [],
        expect.objectContaining({ type: 'TypeError' }),
      ]);
    } finally {
      sh(`ip -n ${ns} link del ${other}; ip -n ${ns} addr flush dev ${ifname} scope global`);
    }
  });

  describe('when the kernel does not answer', () => {
    let dir = '';
    let shim = '';
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), `${tag}-`));
      shim = join(dir, 'rtnl-silent.so');
      const source = fileURLToPath(new URL('./fixtures/rtnl-silent.c', import.meta.url));
      execFileSync('cc', ['-shared', '-fPIC', '-o', shim, source]); // cc: as the addon's build needs
    });
    afterAll(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it.each(['drop', 'eintr'])(
      'fails with ETIMEDOUT after 1 s instead of blocking (KVIP_RTNL_SILENT=%s)',
      (mode) => {
        const got = inNs(
          `
          const i = a.linkIndex(${JSON.stringify(ifname)});
          out(err(() => a.addressAdd(i, 4, Buffer.from([198, 51, 100, 8]), 32, null, false)));
          out(err(() => a.addresses(4)));`,
          { LD_PRELOAD: shim, KVIP_RTNL_SILENT: mode },
        );
        const timedOut = (what: string) => ({
          code: 'ETIMEDOUT',
          type: 'Error',
          message: `${what}: ETIMEDOUT (no answer from the kernel within 1000 ms)`,
        });
        expect(got).toEqual([
          timedOut(`addressAdd(198.51.100.8/32 dev ${ifname})`),
          timedOut('addresses(IPv4)'),
        ]);
        expect(sh(`ip -n ${ns} -o addr show dev ${ifname}`)).not.toMatch(/198\.51\.100\.8/);
      },
    );
  });
});
