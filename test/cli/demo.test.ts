// `kvip demo` refusing to run: one line on stderr naming what is wrong, exit 2, nothing made. The built
// binary, so that root, PATH and the mode are checked as a user meets them; none of these cases gets as far
// as creating a namespace.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../dist/cli/bin.js', import.meta.url));

function demo(args: string[], o: { env?: NodeJS.ProcessEnv; asNobody?: boolean } = {}) {
  const argv = [process.execPath, BIN, 'demo', ...args];
  // As root, drop to nobody for the non-root case (util-linux's setpriv); as anyone else, just run it.
  const [cmd, ...rest] =
    o.asNobody && process.getuid?.() === 0
      ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', ...argv]
      : argv;
  const r = spawnSync(cmd as string, rest, {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, ...o.env },
    timeout: 20000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('kvip demo: refusals', () => {
  it.each([
    [
      'an unknown mode',
      ['--mode', 'vrrp'],
      /^kvip demo: --mode must be one of arp, bgp, packet, not 'vrrp'\n$/,
    ],
    [
      'packet',
      ['--mode', 'packet'],
      /^kvip demo: --mode packet is not available in this build: .*Metal API fake/,
    ],
  ])('%s: exit 2 naming --mode', (_title, args, expected) => {
    const r = demo(args);
    expect(r.err).toMatch(expected);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
  });

  it('not root: exit 2, says so in one line', () => {
    if (process.platform !== 'linux') return;
    const r = demo([], { asNobody: true });
    expect(r.err).toBe(
      'kvip demo: the demo must run as root (it creates network namespaces): sudo ./dist/cli/bin.js demo\n',
    );
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
  });

  it('no `ip` on the PATH: exit 2, names iproute2', () => {
    if (process.getuid?.() !== 0) return; // the root check comes first
    const r = demo([], { env: { PATH: '/nonexistent' } });
    expect(r.err).toBe('kvip demo: the demo needs `ip` (iproute2): apt-get install iproute2\n');
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
  });

  it('--mode bgp without BIRD on the PATH: exit 2, names bird2', () => {
    if (process.getuid?.() !== 0) return; // the root check comes first
    // A PATH with `ip` on it and no `bird`.
    const bin = mkdtempSync(join(tmpdir(), 'kvip-demo-path-'));
    try {
      symlinkSync(execFileSync('sh', ['-c', 'command -v ip'], { encoding: 'utf8' }).trim(), join(bin, 'ip'));
      const r = demo(['--mode', 'bgp'], { env: { PATH: bin } });
      expect(r.err).toBe(
        'kvip demo: --mode bgp needs BIRD 2 as the router (`bird` on the PATH): apt-get install bird2\n',
      );
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it('lists demo in the help with its options', () => {
    const r = spawnSync(process.execPath, [BIN, 'demo', '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/--mode <mode>/);
    expect(r.stdout).toMatch(/--keep/);
  });
});
