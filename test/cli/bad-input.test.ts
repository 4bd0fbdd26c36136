// Bad input: one line on stderr naming the option (flag or env as given), exit 2, nothing on stdout.
import { runCli } from '../helpers/cli.js';

const POD = ['manifest', 'pod'];
const DS = ['manifest', 'daemonset'];
const OK = ['--vip', '198.51.100.10', '--interface', 'eth0'];
// `start` in-process runs in the host's namespace: only on an interface that does not exist.
const START = ['start', '--vip', '198.51.100.10', '--interface', 'kvnope0'];
const UUID = '0b3f6a2e-1c4d-4e5f-8a9b-0c1d2e3f4a5b';

type Case = [title: string, args: string[], env: NodeJS.ProcessEnv, expected: RegExp];

const CASES: Case[] = [
  [
    'vip not an address',
    [...POD, '--vip', '198.51.100', '--interface', 'eth0'],
    {},
    /^kvip: --vip must be an IPv4 or IPv6/,
  ],
  [
    'vip with a prefix',
    [...POD, '--vip', '198.51.100.10/24', '--interface', 'eth0'],
    {},
    /--vip must be an IPv4/,
  ],
  [
    'vip from env, bad',
    [...POD, '--interface', 'eth0'],
    { vip_address: 'kube.local' },
    /^kvip: vip_address must be/,
  ],
  [
    'vip via alias flag, bad',
    [...POD, '--address', '300.1.1.1', '--interface', 'eth0'],
    {},
    /^kvip: --address must be/,
  ],
  ['missing vip', [...POD, '--interface', 'eth0'], {}, /--vip \(vip_address\) is required/],
  [
    'health check not a URL',
    [...POD, ...OK, '--leaderElection', '--healthCheck', 'readyz'],
    {},
    /^kvip: --healthCheck must be "local", "off", an http\(s\):\/\/ URL or tcp:\/\/host:port/,
  ],
  [
    'health check tcp without a port',
    [...POD, ...OK, '--leaderElection'],
    { vip_healthcheck: 'tcp://127.0.0.1' },
    /^kvip: vip_healthcheck must be/,
  ],
  [
    'health check without leader election',
    [...POD, ...OK, '--healthCheck', 'tcp://127.0.0.1:6443'],
    {},
    /^kvip: --healthCheck gates leadership and needs --leaderElection/,
  ],
  [
    'health check failures zero',
    [...POD, ...OK, '--leaderElection', '--healthCheckFailures', '0'],
    {},
    /^kvip: --healthCheckFailures must be a whole number >= 1/,
  ],
  [
    'health check period not a number',
    [...POD, ...OK, '--leaderElection', '--healthCheckPeriod', 'soon'],
    {},
    /^kvip: --healthCheckPeriod must be a number of seconds > 0/,
  ],
  ['missing interface', [...POD, '--vip', '198.51.100.10'], {}, /--interface \(vip_interface\) is required/],
  [
    'interface too long',
    [...POD, '--vip', '198.51.100.10', '--interface', 'averyveryverylongname'],
    {},
    /--interface must be a network interface name/,
  ],
  [
    'interface with slash',
    [...POD, '--vip', '198.51.100.10', '--interface', 'eth0/1'],
    {},
    /--interface must be a network interface name/,
  ],
  [
    'ARP on lo',
    [...POD, '--vip', '198.51.100.10', '--interface', 'lo'],
    {},
    /--interface lo cannot carry ARP/,
  ],
  ['cidr not a number', [...POD, ...OK, '--cidr', 'abc'], {}, /--cidr must be a prefix length/],
  ['cidr too long for IPv4', [...POD, ...OK, '--cidr', '33'], {}, /--cidr 33 is too long for an IPv4 VIP/],
  [
    'cidr too long for IPv6',
    [...POD, '--vip', '2001:db8::5', '--interface', 'eth0', '--cidr', '129'],
    {},
    /--cidr must be a prefix length/,
  ],
  ['port zero', [...POD, ...OK, '--port', '0'], {}, /--port must be a port 1-65535/],
  ['port too big', [...POD, ...OK], { port: '70000' }, /^kvip: port must be a port 1-65535/],
  ['arp not a boolean', [...POD, ...OK, '--arp=flase'], {}, /--arp must be true or false/],
  [
    'leaderElection env not a boolean',
    [...POD, ...OK],
    { vip_leaderelection: 'maybe' },
    /vip_leaderelection must be true or false/,
  ],
  ['arpRate zero', [...POD, ...OK, '--arpRate', '0'], {}, /--arpRate must be a whole number >= 1/],
  [
    'leaseDuration fractional',
    [...POD, ...OK, '--leaseDuration', '2.5'],
    {},
    /--leaseDuration must be a whole number of seconds/,
  ],
  [
    'leaseDuration not greater than renew',
    [...POD, ...OK, '--leaseDuration', '3'],
    {},
    /--leaseDuration 3 must be greater than --leaseRenewDuration/,
  ],
  [
    'renew not > 1.2 x retry',
    [...POD, ...OK, '--leaseRenewDuration', '1.1', '--leaseRetry', '1'],
    {},
    /--leaseRenewDuration 1.1 must be greater than 1.2 x --leaseRetry/,
  ],
  [
    'renew + retry not < lease',
    [...POD, ...OK, '--leaseDuration', '4', '--leaseRenewDuration', '3', '--leaseRetry', '1'],
    {},
    /\+ --leaseRetry 1 must be less than --leaseDuration 4/,
  ],
  [
    'renew + retry from env',
    [...POD, ...OK],
    { vip_leaseduration: '5', vip_renewdeadline: '4', vip_retryperiod: '1' },
    /^kvip: vip_renewdeadline 4 \+ vip_retryperiod 1 must be less than vip_leaseduration 5/,
  ],
  [
    'retry period negative',
    [...POD, ...OK, '--leaseRetry', '-1'],
    {},
    /--leaseRetry must be a number of seconds > 0/,
  ],
  [
    'lease name with capitals',
    [...POD, ...OK, '--leaseName', 'Plndr_Lock'],
    {},
    /--leaseName must be a lowercase DNS-1123 name/,
  ],
  [
    'namespace with dots',
    [...POD, ...OK, '--namespace', 'kube.system'],
    {},
    /--namespace must be a DNS-1123 label/,
  ],
  ['unknown flag', [...POD, ...OK, '--vipp', '1'], {}, /^kvip: unknown option '--vipp'/],
  ['unknown command', ['frobnicate'], {}, /^kvip: unknown command 'frobnicate'/],
  ['flag value missing', [...POD, '--vip'], {}, /option '--vip <address>' argument missing/],
  [
    '--arp with --packet',
    [
      ...POD,
      '--vip',
      '203.0.113.7',
      '--arp',
      '--packet',
      '--packetProject',
      'p',
      '--packetKeyFile',
      '/etc/metal-token',
    ],
    {},
    /--arp cannot be used with --packet/,
  ],
  [
    '--arp with --bgp',
    [...POD, ...OK, '--arp', '--bgp', '--peerAddress', '198.51.100.1'],
    {},
    /--arp cannot be used with --bgp/,
  ],
  [
    '--packet without project',
    [...POD, '--vip', '203.0.113.7', '--packet', '--packetKeyFile', '/etc/metal-token'],
    {},
    /--packet needs --packetProject \(vip_packetproject\) or --packetProjectID/,
  ],
  [
    '--packet without token file (pod)',
    [...POD, '--vip', '203.0.113.7', '--packet', '--packetProject', 'p'],
    {},
    /--packet needs --packetKeyFile/,
  ],
  [
    '--packet with both token forms',
    [
      ...POD,
      '--vip',
      '203.0.113.7',
      '--packet',
      '--packetProject',
      'p',
      '--packetKey',
      'k',
      '--packetKeyFile',
      '/t',
    ],
    {},
    /--packetKey and --packetKeyFile cannot both be set/,
  ],
  [
    '--packet on a physical interface',
    [
      ...POD,
      '--vip',
      '203.0.113.7',
      '--interface',
      'bond0',
      '--packet',
      '--packetProject',
      'p',
      '--packetKeyFile',
      '/t',
    ],
    {},
    /--interface must be lo with --packet/,
  ],
  [
    'project id not a uuid',
    [...POD, '--vip', '203.0.113.7', '--packet', '--packetProjectID', 'vipTest', '--packetKeyFile', '/t'],
    {},
    /--packetProjectID must be a project UUID/,
  ],
  [
    'token file relative',
    [...POD, '--vip', '203.0.113.7', '--packet', '--packetProjectID', UUID, '--packetKeyFile', 'token.txt'],
    {},
    /--packetKeyFile must be an absolute path/,
  ],
  [
    'metal api url not a url',
    [
      ...POD,
      '--vip',
      '203.0.113.7',
      '--packet',
      '--packetProjectID',
      UUID,
      '--packetKeyFile',
      '/t',
      '--packetAPIURL',
      'ftp://x',
    ],
    {},
    /--packetAPIURL must be an http\(s\) URL/,
  ],
  ['--bgp without peers', [...POD, '--vip', '198.51.100.10', '--bgp'], {}, /--bgp needs a peer/],
  ['local AS text', [...POD, ...OK, '--localAS', 'sixtyfive'], {}, /--localAS must be an AS number/],
  ['local AS zero', [...POD, ...OK, '--localAS', '0'], {}, /--localAS must be an AS number/],
  [
    'peer AS AS_TRANS',
    [...POD, ...OK],
    { bgp_peeras: '23456' },
    /bgp_peeras must be an AS number .*AS_TRANS/,
  ],
  ['peer AS too big', [...POD, ...OK, '--peerAS', '4294967296'], {}, /--peerAS must be an AS number/],
  [
    'router id IPv6',
    [...POD, ...OK, '--bgpRouterID', '2001:db8::1'],
    {},
    /--bgpRouterID must be an IPv4 address/,
  ],
  [
    'peer address bad',
    [...POD, ...OK, '--peerAddress', '198.51.100.300'],
    {},
    /--peerAddress must be an IPv4 or IPv6/,
  ],
  [
    'peers list entry bad',
    [...POD, '--vip', '198.51.100.10', '--bgp', '--bgppeers', '198.51.100.1'],
    {},
    /--bgppeers .*address:as/,
  ],
  [
    'peers list multihop bad',
    [...POD, '--vip', '198.51.100.10', '--bgp'],
    { bgp_peers: '198.51.100.1:64512::sometimes' },
    /bgp_peers .*multihop/,
  ],
  ['hold time 2', [...POD, ...OK, '--holdTime', '2'], {}, /--holdTime must be 0 or 3-65535/],
  [
    'keepalive not below hold',
    [...POD, ...OK, '--holdTime', '9', '--keepaliveInterval', '9'],
    {},
    /--keepaliveInterval 9 must be less than --holdTime 9/,
  ],
  [
    'peer of the other family',
    [...POD, '--vip', '198.51.100.10', '--bgp', '--peerAddress', '2001:db8::1'],
    {},
    /--peerAddress is IPv6 but --vip is IPv4/,
  ],
  [
    'MD5 key over 80 bytes',
    [
      ...POD,
      '--vip',
      '198.51.100.10',
      '--bgp',
      '--peerAddress',
      '198.51.100.1',
      '--peerPass',
      'k'.repeat(81),
    ],
    {},
    /--peerPass is over 80 bytes/,
  ],
  [
    'MD5 key over 80 bytes in a peers entry',
    [...POD, '--vip', '198.51.100.10', '--bgp'],
    { bgp_peers: `198.51.100.1:64512:${'k'.repeat(81)}` },
    /bgp_peers entry 1: the password field is over 80 bytes/,
  ],
  [
    'router id 0.0.0.0',
    [...POD, '--vip', '198.51.100.10', '--bgp', '--peerAddress', '198.51.100.1', '--bgpRouterID', '0.0.0.0'],
    {},
    /--bgpRouterID cannot be 0.0.0.0/,
  ],
  [
    'IPv6 peers only, no router id',
    [...POD, '--vip', '2001:db8::10', '--bgp', '--peerAddress', '2001:db8::1'],
    {},
    /--bgpRouterID \(bgp_routerid\) is required when every peer is IPv6/,
  ],
  [
    'router id 255.255.255.255',
    [
      ...POD,
      '--vip',
      '198.51.100.10',
      '--bgp',
      '--peerAddress',
      '198.51.100.1',
      '--bgpRouterID',
      '255.255.255.255',
    ],
    {},
    /--bgpRouterID cannot be 255.255.255.255/,
  ],
  [
    'a peer listed twice',
    [...POD, '--vip', '198.51.100.10', '--bgp', '--peerAddress', '198.51.100.1'],
    { bgp_peers: '198.51.100.1:64512' },
    /peer 198.51.100.1 is listed twice/,
  ],
  [
    'a link-local peer with a zone',
    [...POD, '--vip', '2001:db8::10', '--bgp', '--bgpRouterID', '198.51.100.2'],
    { bgp_peers: '[fe80::1%eth0]:64512' },
    /bgp_peers entry 1 is not address:as/,
  ],
  [
    'too many communities',
    [...POD, ...OK, '--bgpCommunities', Array.from({ length: 513 }, (_, i) => `1:${i}`).join(',')],
    {},
    /--bgpCommunities must list at most 512/,
  ],
  ['community bad', [...POD, ...OK, '--bgpCommunities', '65536:1'], {}, /--bgpCommunities .*asn:value/],
  [
    'peer password without peer',
    [...POD, ...OK, '--peerPass', 'x'],
    {},
    /--peerPass is set but --peerAddress/,
  ],
  [
    'prometheus address bad',
    [...POD, ...OK, '--prometheusHTTPServer', 'localhost'],
    {},
    /--prometheusHTTPServer must be \[host\]:port/,
  ],
  [
    'kubeconfig relative',
    [...POD, ...OK, '--k8sConfigPath', 'admin.conf'],
    {},
    /--k8sConfigPath must be an absolute path/,
  ],
  ['log level unknown', [...POD, ...OK, '--logLevel', 'loud'], {}, /--logLevel must be one of fatal/],
  ['image with spaces', [...POD, ...OK, '--image', 'my image'], {}, /--image must be an image reference/],
  [
    'start: packet without token',
    ['start', '--vip', '203.0.113.7', '--packet', '--packetProject', 'p'],
    {},
    /--packet needs the Metal API token/,
  ],
  ['manifest-only flag on start', ['start', ...OK, '--image', 'x'], {}, /unknown option '--image'/],
  [
    'unknown flag with a value',
    [...POD, ...OK, '--vipp=198.51.100.1'],
    {},
    /^kvip: unknown option '--vipp'\n$/,
  ],
  [
    'peers entry with text in the AS field',
    [...POD, '--vip', '198.51.100.10', '--bgp'],
    { bgp_peers: '198.51.100.2:65000,198.51.100.1:x:65000' },
    /^kvip: bgp_peers entry 2: the AS field is not a number\n$/,
  ],
  [
    'daemonset without leader election',
    [...DS, ...OK],
    {},
    /^kvip: --leaderElection \(vip_leaderelection\) is required for a DaemonSet: .*each node would add the VIP/,
  ],
  [
    'daemonset with --leaderElection=false',
    [...DS, ...OK, '--leaderElection=false'],
    {},
    /^kvip: --leaderElection is required for a DaemonSet/,
  ],
  [
    'daemonset with vip_leaderelection=false',
    [...DS, ...OK, '--k3s'],
    { vip_leaderelection: 'false' },
    /^kvip: vip_leaderelection is required for a DaemonSet/,
  ],
  [
    'start in-cluster without leader election',
    [...START, '--inCluster'],
    {},
    /^kvip: --leaderElection \(vip_leaderelection\) is required with --inCluster: .*each node would add the VIP/,
  ],
  [
    'start with vip_incluster and no leader election',
    START,
    { vip_incluster: 'true', vip_leaderelection: 'false' },
    /^kvip: vip_leaderelection is required with vip_incluster/,
  ],
  [
    'kube-vip value option without a value',
    [...POD, ...OK, '--lbPort'],
    {},
    /option '--lbPort <value>' argument missing/,
  ],
  [
    'manager (start) with a bad vip',
    ['manager', '--vip', '198.51.100', '--interface', 'kvnope0', '--services'],
    {},
    /^kvip: --vip must be an IPv4/,
  ],
  [
    'check in-cluster without leader election',
    ['check', '--vip', '198.51.100.10', '--interface', 'kvnope0', '--inCluster'],
    {},
    /^kvip: --leaderElection \(vip_leaderelection\) is required with --inCluster/,
  ],
];

describe('bad input', () => {
  it('covers at least 30 cases', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(30);
  });

  it.each(CASES)('%s', async (_title, args, env, expected) => {
    const r = await runCli(args, env);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(expected);
    expect(r.err.trimEnd().split('\n')).toHaveLength(1);
  });

  it('in-cluster start with leader election gets past the rule', async () => {
    const r = await runCli([...START, '--inCluster', '--leaderElection']);
    expect(r.code).toBe(2);
    expect(r.err).not.toMatch(/leaderElection/);
  });
});
