// The built binary, as a user runs it: exit codes and streams through a real process.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../dist/cli/bin.js', import.meta.url));

function kvip(args: string[], env: NodeJS.ProcessEnv = {}) {
  // As in helpers/cli.ts: `start` here runs in the host namespace, so only on interfaces that do not exist.
  if (args[0] === 'start' && !args.includes('kvnope0'))
    throw new Error('refusing to run start on a real interface');
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    // Nor on the host's port 2112: the metrics server is off (see helpers/cli.ts).
    env: { PATH: process.env.PATH, ...(args[0] === 'start' ? { prometheus_server: '' } : {}), ...env },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('kvip binary', () => {
  it('prints the version', () => {
    const r = kvip(['version']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^kvip \d+\.\d+\.\d+\n$/);
  });

  it('prints the reference pod manifest', () => {
    const r = kvip([
      'manifest',
      'pod',
      '--interface',
      'ens192',
      '--vip',
      '192.168.0.75',
      '--arp',
      '--leaderElection',
    ]);
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    expect(r.out).toContain('name: vip_address\n          value: 192.168.0.75');
  });

  it('exits 2 with one line on stderr for bad input', () => {
    const r = kvip(['manifest', 'pod', '--interface', 'ens192', '--vip', '192.168.0.750']);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toBe('kvip: --vip must be an IPv4 or IPv6 address (got "192.168.0.750")\n');
  });

  it('check on an interface that does not exist: ✗ on that row, the count, exit 2', () => {
    const r = kvip(['check', '--vip', '198.51.100.10', '--interface', 'kvnope0']);
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/^✗ interface +interface kvnope0 does not exist/m);
    expect(r.out).toMatch(/^\d of \d checks passed$/m);
  });

  // Never a real interface here: `start` would change the host's networking.
  it('start on an interface that does not exist is exit 2, one line, before anything changes', () => {
    const r = kvip(['start', '--vip', '198.51.100.10', '--interface', 'kvnope0']);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/^kvip: interface kvnope0 does not exist .*--interface/);
    expect(r.err.trimEnd().split('\n')).toHaveLength(1);
  });

  it('lists env names and defaults in --help', () => {
    const r = kvip(['manifest', 'pod', '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/--leaseDuration <seconds>[\s\S]*env: vip_leaseduration; default: 5/);
    expect(r.out).toMatch(/--vip <address>[\s\S]*env:\s+vip_address,\s+address/);
  });
});
