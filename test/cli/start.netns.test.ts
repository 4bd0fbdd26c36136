// `kvip start` refusals that need a real interface: the built binary in a namespace of its own. Each case is
// one line on stderr and exit 2, and the namespace's addresses are exactly what they were before.
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  createNamespace,
  deleteNamespacesWithPrefix,
  describeNetns,
  sh,
  trySh,
  uniqueTag,
} from '../helpers/netns.js';

const BIN = fileURLToPath(new URL('../../dist/cli/bin.js', import.meta.url));

describeNetns('kvip start refuses before changing anything (netns)', () => {
  const ns = uniqueTag('s');
  const IF = `${ns}d0`;
  const addrs = () => sh(`ip -n ${ns} -br addr show`);
  let before = '';

  /** The built CLI in `ns`, under `wrapper` (e.g. setpriv), without leader election: it would hold at once. */
  function start(vip: string, wrapper: string[] = [], extra: string[] = []) {
    const argv = [...wrapper, process.execPath, BIN, 'start', '--vip', vip, '--interface', IF, ...extra];
    const r = spawnSync('ip', ['netns', 'exec', ns, ...argv], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH },
      timeout: 20_000,
    });
    return { code: r.status, out: r.stdout, err: r.stderr };
  }

  beforeAll(() => {
    createNamespace(ns);
    // veth, not dummy: the dummy module is not in every kernel (it is not on this CI machine's).
    sh(`ip -n ${ns} link add ${IF} type veth peer name ${ns}d1`);
    sh(`ip -n ${ns} addr add 198.51.100.5/24 dev ${IF}`);
    sh(`ip -n ${ns} link set ${IF} up`);
    before = addrs();
  });
  afterAll(() => deleteNamespacesWithPrefix(ns));
  afterEach(() => expect(addrs()).toBe(before));

  it('without NET_ADMIN and NET_RAW: names both capabilities and the fix', () => {
    const drop = ['setpriv', '--inh-caps=-net_admin,-net_raw', '--bounding-set=-net_admin,-net_raw'];
    const r = start('198.51.100.10', drop);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(
      /^kvip: missing capabilities NET_ADMIN, NET_RAW: run as root or add them to the pod/,
    );
    expect(r.err.trimEnd().split('\n')).toHaveLength(1);
  });

  it('an IPv6 VIP on an interface with IPv6 disabled: names the interface', () => {
    sh(`ip netns exec ${ns} sysctl -qw net.ipv6.conf.${IF}.disable_ipv6=1`);
    try {
      const r = start('2001:db8::10');
      expect(r.code).toBe(2);
      expect(r.err).toMatch(
        new RegExp(
          `^kvip: --vip 2001:db8::10 is IPv6 but IPv6 is disabled on ${IF}: ` +
            `enable it \\(sysctl net.ipv6.conf.${IF}.disable_ipv6=0\\) or use an IPv4 --vip$`,
          'm',
        ),
      );
      expect(r.err.trimEnd().split('\n')).toHaveLength(1);
    } finally {
      sh(`ip netns exec ${ns} sysctl -qw net.ipv6.conf.${IF}.disable_ipv6=0`);
    }
  });

  it('a stale VIP from an earlier run is removed first, even when the kubeconfig check then exits 2', () => {
    sh(`ip -n ${ns} addr add 198.51.100.10/32 dev ${IF}`); // what a SIGKILLed run left behind
    const r = start('198.51.100.10', [], ['--leaderElection', '--k8sConfigPath', '/nonexistent/admin.conf']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^kvip: --k8sConfigPath \/nonexistent\/admin.conf: cannot read the kubeconfig/m);
    // afterEach: the addresses are what they were before the stale VIP was added.
  });

  it('the metrics port in use: exit 2 naming --prometheusHTTPServer, and even a stale VIP is left alone', async () => {
    // Something else on :2112 in the namespace, as another exporter on the node would be.
    const other = spawn(
      'ip',
      [
        'netns',
        'exec',
        ns,
        process.execPath,
        '-e',
        "require('net').createServer().listen(2112, () => console.log('up'))",
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the listener on 2112 did not start')), 10_000);
        other.stdout.once('data', () => (clearTimeout(timer), resolve()));
        other.once('exit', (code) => reject(new Error(`the listener on 2112 exited with ${code}`)));
      });
      sh(`ip -n ${ns} addr add 198.51.100.10/32 dev ${IF}`);
      const withStale = addrs();
      const r = start(
        '198.51.100.10',
        [],
        ['--leaderElection', '--k8sConfigPath', '/nonexistent/admin.conf'],
      );
      expect(r.code).toBe(2);
      expect(r.err).toBe(
        "kvip: --prometheusHTTPServer (prometheus_server) :2112: port 2112 is already in use on this host (another kvip, or another program); choose another port, or '' to turn the metrics server off\n",
      );
      expect(addrs()).toBe(withStale); // refused before anything on the host was touched
    } finally {
      other.kill('SIGKILL');
      trySh(`ip -n ${ns} addr del 198.51.100.10/32 dev ${IF}`);
    }
  });

  it('a VIP that is not an address: names --vip', () => {
    const r = start('198.51.100.300');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^kvip: .*--vip/);
    expect(r.err.trimEnd().split('\n')).toHaveLength(1);
  });
});
