// Secrets (Metal token, BGP passwords) never appear in help, errors or manifests unless the user put them
// there with an explicit flag.
import { runCli } from '../helpers/cli.js';

const SENTINEL = 'SENTINELkvip7f3e9a';
const SECRET_ENV = {
  PACKET_AUTH_TOKEN: SENTINEL,
  bgp_peeraddress: '198.51.100.1',
  bgp_peerpass: SENTINEL,
  bgp_peers: `198.51.100.1:64512:${SENTINEL}:true`,
};

describe('secret sentinel', () => {
  it.each([
    [['--help']],
    [['start', '--help']],
    [['check', '--help']],
    [['manifest', 'pod', '--help']],
    [['manifest', 'daemonset', '--help']],
    [['manifest', 'rbac', '--help']],
  ])('is not in help: %j', async (args) => {
    const r = await runCli(args, SECRET_ENV);
    expect(r.code).toBe(0);
    expect(r.out.length).toBeGreaterThan(100);
    expect(r.out + r.err).not.toContain(SENTINEL);
  });

  it.each([
    [
      'token with a space',
      [
        'manifest',
        'pod',
        '--vip',
        '203.0.113.7',
        '--packet',
        '--packetProject',
        'p',
        '--packetKey',
        `${SENTINEL} x`,
      ],
    ],
    [
      'peer password with a space',
      [
        'manifest',
        'pod',
        '--vip',
        '198.51.100.10',
        '--interface',
        'eth0',
        '--peerAddress',
        '198.51.100.1',
        '--peerPass',
        `${SENTINEL} x`,
      ],
    ],
    [
      'peers list with a bad entry',
      ['manifest', 'pod', '--vip', '198.51.100.10', '--bgp', '--bgppeers', `198.51.100.1:x:${SENTINEL}`],
    ],
    [
      'peers list with a bad multihop',
      [
        'manifest',
        'pod',
        '--vip',
        '198.51.100.10',
        '--bgp',
        '--bgppeers',
        `198.51.100.1:64512:${SENTINEL}:sometimes`,
      ],
    ],
  ])('is not in the error for %s', async (_title, args) => {
    const r = await runCli(args, {});
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^kvip: --(packetKey|peerPass|bgppeers) /);
    expect(r.err).not.toContain(SENTINEL);
  });

  it('is not in errors caused by other options while secrets are set', async () => {
    const r = await runCli(['manifest', 'pod', '--vip', 'nope'], SECRET_ENV);
    expect(r.code).toBe(2);
    expect(r.err).not.toContain(SENTINEL);
  });

  it.each([
    [
      [
        'manifest',
        'pod',
        '--vip',
        '203.0.113.7',
        '--packet',
        '--packetProject',
        'p',
        '--packetKeyFile',
        '/t',
      ],
    ],
    [['manifest', 'daemonset', '--vip', '203.0.113.7', '--packet', '--packetProject', 'p']],
    [['manifest', 'pod', '--vip', '198.51.100.10', '--bgp', '--peerAddress', '198.51.100.1']],
    [['manifest', 'daemonset', '--k3s', '--vip', '198.51.100.10', '--bgp']],
  ])('is not written into a manifest from the environment: %j', async (args) => {
    const r = await runCli(args, SECRET_ENV);
    expect(r.code).toBe(0);
    expect(r.out).toContain('kind:');
    expect(r.out + r.err).not.toContain(SENTINEL);
  });
});
