// Secrets (Metal token, BGP passwords) never appear in help, errors or manifests unless the user put them
// there with an explicit flag.
import { runCli } from '../helpers/cli.js';

const SENTINEL = 'SENTINELkvip7f3e9a';
const SECRET_ENV = {
  PACKET_AUTH_TOKEN: SENTINEL,
  bgp_peeraddress: '198.51.100.1',
  bgp_peerpass: SENTINEL,
  bgp_peers: `198.51.100.2:64512:${SENTINEL}:true`,
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
    [
      [
        'manifest',
        'daemonset',
        '--vip',
        '203.0.113.7',
        '--leaderElection',
        '--packet',
        '--packetProject',
        'p',
      ],
    ],
    [['manifest', 'pod', '--vip', '198.51.100.10', '--bgp', '--peerAddress', '198.51.100.1']],
    [['manifest', 'daemonset', '--k3s', '--vip', '198.51.100.10', '--leaderElection', '--bgp']],
  ])('is not written into a manifest from the environment: %j', async (args) => {
    const r = await runCli(args, SECRET_ENV);
    expect(r.code).toBe(0);
    expect(r.out).toContain('kind:');
    expect(r.out + r.err).not.toContain(SENTINEL);
  });
});

// A password typed into the wrong field of a peers entry: every error names the entry and the field only.
describe('bgp peers password sentinel', () => {
  const S = 'PWsentinel3c1d8b';
  const ENTRIES = [
    `198.51.100.1:${S}:65000`,
    `${S}:65000`,
    `${S}`,
    `198.51.100.1:${S}`,
    `[${S}]:65000`,
    `[2001:db8::1]:${S}:65000`,
    `198.51.100.1:65000:${S}:${S}`,
    `198.51.100.1:65000:pw:true:${S}`,
    `198.51.100.1:65000::${S}`,
    `198.51.100.1:65000:${S},${S}`,
    `198.51.100.1:65000:${S}, :65000`,
    `198.51.100.1:0:${S}`,
    `198.51.100.1:23456:${S}`,
    `198.51.100.1:${S}\n:65000`,
  ];
  const POD = ['manifest', 'pod', '--vip', '198.51.100.10', '--bgp'];
  const START = ['start', '--vip', '198.51.100.10', '--interface', 'kvnope0', '--bgp'];
  const CASES: [string, string[], NodeJS.ProcessEnv][] = ENTRIES.flatMap((e) => [
    [`--bgppeers ${JSON.stringify(e)}`, [...POD, '--bgppeers', e], {}],
    [`--peers=${JSON.stringify(e)}`, [...POD, `--peers=${e}`], {}],
    [`bgp_peers=${JSON.stringify(e)} (start)`, START, { bgp_peers: e }],
    [
      `bgp_peers=${JSON.stringify(e)} (daemonset)`,
      ['manifest', 'daemonset', '--vip', '198.51.100.10'],
      { bgp_peers: e },
    ],
  ]);
  CASES.push(['a mistyped flag with a value', [...POD, `--bgppeer=198.51.100.1:65000:${S}`], {}]);

  it.each(CASES)('%s', async (_title, args, env) => {
    const r = await runCli(args, env);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err.trimEnd().split('\n')).toHaveLength(1);
    expect(r.err).not.toContain(S);
    expect(r.err).not.toContain(S.slice(0, 8));
  });

  it('names the entry by index and the field', async () => {
    const r = await runCli(START, { bgp_peers: `198.51.100.2:65000,198.51.100.1:${S}:65000` });
    expect(r.err).toBe('kvip: bgp_peers entry 2: the AS field is not a number\n');
  });
});
