// kvip as its image runs it, without Docker: a non-root user (65534 here; the image's is 65532), a bounding set
// of NET_ADMIN and NET_RAW only (a pod's drop ALL + add), and a node carrying the two as *permitted* file
// capabilities (setcap +p, as docker/Dockerfile does). `kvip start` must raise them and hold the VIP; without
// the file capabilities, or under no_new_privs (allowPrivilegeEscalation: false), it must name what is
// missing; and such a node must still start where the two are not in the bounding set (`docker run`),
// where one with +ep cannot even be executed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createNamespace,
  deleteNamespacesWithPrefix,
  describeNetns,
  sh,
  trySh,
  uniqueTag,
  waitFor,
} from '../helpers/netns.js';

const BIN = fileURLToPath(new URL('../../dist/cli/bin.js', import.meta.url));
const VIP = '198.51.100.10';
const USER = ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all'];
// setpriv keeps its own capabilities across the uid change, so node is exec'd by a shell in between: like a
// container's process, it starts with none (under no_new_privs node could otherwise keep setpriv's).
const EXEC = ['/bin/sh', '-c', 'exec "$@"', 'sh'];
/** What a pod with `drop: [ALL]` and `add: [NET_ADMIN, NET_RAW]` leaves in the bounding set. */
const POD = ['setpriv', ...USER, '--bounding-set=-all,+net_admin,+net_raw', ...EXEC];
/** Docker's default set: NET_RAW but no NET_ADMIN. */
const DOCKER_RUN = ['setpriv', ...USER, '--bounding-set=-all,+net_raw', ...EXEC];
const CAP_BITS = 0x3000n; // NET_ADMIN (12) | NET_RAW (13)

describeNetns('kvip start as a non-root user with file capabilities on node (netns)', () => {
  const ns = uniqueTag('nr');
  const IF = `${ns}d0`;
  let dir = '';
  let capNode = '';
  let child: ChildProcess | undefined;
  const vipShown = () => sh(`ip -n ${ns} -br addr show ${IF}`).includes(`${VIP}/32`);

  beforeAll(() => {
    if (!trySh('command -v setcap') || !trySh('command -v setpriv'))
      throw new Error(
        'setcap (libcap2-bin) and setpriv (util-linux) are needed: apt-get install libcap2-bin util-linux',
      );
    dir = mkdtempSync(join(tmpdir(), 'kvip-nonroot-'));
    chmodSync(dir, 0o755); // the non-root user must reach the node inside
    capNode = join(dir, 'node');
    copyFileSync(process.execPath, capNode);
    chmodSync(capNode, 0o755);
    sh(`setcap cap_net_admin,cap_net_raw+p ${capNode}`);
    createNamespace(ns);
    sh(`ip -n ${ns} link add ${IF} type veth peer name ${ns}d1`);
    sh(`ip -n ${ns} addr add 198.51.100.5/24 dev ${IF}`);
    sh(`ip -n ${ns} link set ${IF} up`);
  });
  afterEach(() => {
    child?.kill('SIGKILL');
    child = undefined;
  });
  afterAll(() => {
    deleteNamespacesWithPrefix(ns);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function startArgv(wrapper: string[], node: string): string[] {
    return ['netns', 'exec', ns, ...wrapper, node, BIN, 'start', '--vip', VIP, '--interface', IF, '--arp'];
  }

  function refused(wrapper: string[], node: string) {
    const r = spawnSync('ip', startArgv(wrapper, node), {
      encoding: 'utf8',
      env: { PATH: process.env.PATH },
      timeout: 20_000,
    });
    return { code: r.status, err: r.stderr };
  }

  it('raises them from permitted to effective and holds the VIP, then drops it on SIGTERM', async () => {
    let err = '';
    const c = spawn('ip', startArgv(POD, capNode), {
      env: { PATH: process.env.PATH },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child = c;
    c.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => c.on('exit', (code) => resolve(code)));
    await waitFor(
      `the VIP on ${IF} (kvip's stderr: ${err})`,
      () => (vipShown() ? true : undefined),
      15_000,
      50,
    );
    // ip netns exec and setpriv exec in place: the pid is node's. The kernel's view of it:
    const status = readFileSync(`/proc/${c.pid}/status`, 'utf8');
    expect(/^Uid:\s+(\d+)/m.exec(status)?.[1]).toBe('65534');
    const eff = BigInt(`0x${/^CapEff:\s+([0-9a-f]+)/m.exec(status)![1]}`);
    expect(eff).toBe(CAP_BITS);
    c.kill('SIGTERM');
    const timeout = new Promise<string>((resolve) =>
      setTimeout(() => resolve('still running after 10 s'), 10_000),
    );
    expect(await Promise.race([exited, timeout])).toBe(0);
    expect(vipShown()).toBe(false);
  });

  it('without the file capabilities (a plain node): exit 2 naming both', () => {
    const r = refused(POD, process.execPath);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /^kvip: missing capabilities NET_ADMIN, NET_RAW: run as root or add them to the pod's securityContext/,
    );
    expect(vipShown()).toBe(false);
  });

  it('under no_new_privs (allowPrivilegeEscalation: false): exit 2, the file capabilities are off', () => {
    const r = refused(['setpriv', '--no-new-privs', ...POD.slice(1)], capNode);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /^kvip: missing capabilities NET_ADMIN, NET_RAW: .*allowPrivilegeEscalation: false/,
    );
    expect(vipShown()).toBe(false);
  });

  it('where NET_ADMIN is not in the bounding set, node +p still runs kvip; node +ep could not start', () => {
    const version = spawnSync(DOCKER_RUN[0]!, [...DOCKER_RUN.slice(1), capNode, BIN, 'version'], {
      encoding: 'utf8',
    });
    expect([version.status, version.stdout]).toEqual([0, expect.stringMatching(/^kvip \d/)]);
    sh(`setcap cap_net_admin,cap_net_raw+ep ${capNode}`);
    try {
      const ep = spawnSync(DOCKER_RUN[0]!, [...DOCKER_RUN.slice(1), capNode, BIN, 'version'], {
        encoding: 'utf8',
      });
      expect(ep.status).not.toBe(0);
      expect(ep.stderr).toMatch(/Operation not permitted/);
    } finally {
      sh(`setcap cap_net_admin,cap_net_raw+p ${capNode}`);
    }
  });
});
