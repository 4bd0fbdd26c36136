// The routed layout, for BGP: a router namespace between the client and the nodes. The router (rt) is on the
// nodes' bridge as 198.51.100.1 and on a link of its own to the client (203.0.113.0/28); the client reaches the
// VIP, and only the VIP, through the router's route for it, which whoever holds the VIP makes point at itself
// (BGP: BIRD, fed by the nodes, installs it). Shared by `kvip demo --mode bgp` and the e2e rig.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Children } from './children.js';
import { ip } from './netns.js';

export const ROUTER_ADDRESS = '198.51.100.1';
export const ROUTED_VIP = '203.0.113.100';
const CLIENT_LINK = '203.0.113.0/28';
const ROUTER_CLIENT_SIDE = '203.0.113.1';
const CLIENT_ADDRESS = '203.0.113.3';

function sysctl(ns: string, key: string): void {
  execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', key], { stdio: 'ignore' });
}

/**
 * With rt already on the bridge: rt's eth1 to the client's eth0, the client's route for the VIP via rt, each
 * node's route back to the client via rt; forwarding on rt, no reverse-path filter where the paths differ.
 */
export function buildRouterLinks(rt: string, cl: string, nodes: string[], vip: string): void {
  ip(['link', 'add', 'eth1', 'netns', rt, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', cl]);
  ip(['-n', rt, 'addr', 'add', `${ROUTER_CLIENT_SIDE}/28`, 'dev', 'eth1']);
  ip(['-n', cl, 'addr', 'add', `${CLIENT_ADDRESS}/28`, 'dev', 'eth0']);
  ip(['-n', rt, 'link', 'set', 'eth1', 'up']);
  ip(['-n', cl, 'link', 'set', 'eth0', 'up']);
  ip(['-n', cl, 'route', 'add', `${vip}/32`, 'via', ROUTER_CLIENT_SIDE]);
  for (const n of nodes) addRouteToClient(n);
  for (const h of [rt, ...nodes])
    for (const key of ['net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0']) sysctl(h, key);
  sysctl(rt, 'net.ipv4.ip_forward=1');
}

/** A node's way back to the client (again after its link was down: the route went with it). */
export function addRouteToClient(node: string): void {
  ip(['-n', node, 'route', 'replace', CLIENT_LINK, 'via', ROUTER_ADDRESS]);
}

/** The router's next hop for the VIP ('' when it has no route: nobody gets the traffic). */
export function routeVia(rt: string, vip: string): string {
  const out = ip(['-n', rt, '-j', 'route', 'show', `${vip}/32`]);
  const [r] = JSON.parse(out || '[]') as { gateway?: string }[];
  return r?.gateway ?? '';
}

// ---- BIRD on the router --------------------------------------------------------------------------------

export const ROUTER_AS = 64512;
export const NODE_AS = 64513;
/** The BGP hold time both sides use (seconds): how long the router keeps a dead node's route. */
export const HOLD_TIME = 3;

export function hasBird(): boolean {
  try {
    execFileSync('bird', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * BIRD 2 as the demo's router: a passive session per node (eBGP, directly connected), everything learned
 * installed into rt's kernel table, and short waits after a session drops so a restarted node is taken back.
 */
export function birdDemoConfig(nodes: Array<{ name: string; address: string }>, logFile: string): string {
  const sessions = nodes.map(
    (n) => `protocol bgp ${n.name} {
  local ${ROUTER_ADDRESS} as ${ROUTER_AS};
  neighbor ${n.address} as ${NODE_AS};
  passive on; direct;
  hold time ${HOLD_TIME}; keepalive time 1;
  error wait time 1, 2;
  ipv4 { import all; export none; };
}`,
  );
  return [
    `log ${JSON.stringify(logFile)} all;`,
    `router id ${ROUTER_ADDRESS};`,
    'protocol device { scan time 10; }',
    'protocol kernel k4 { ipv4 { import none; export where source = RTS_BGP; }; }',
    ...sessions,
    '',
  ].join('\n');
}

/** kube-vip's BGP flags for a node talking to this router. */
export function bgpArgs(): string[] {
  return [
    '--bgp',
    '--peerAddress',
    ROUTER_ADDRESS,
    '--peerAS',
    String(ROUTER_AS),
    '--localAS',
    String(NODE_AS),
    '--holdTime',
    String(HOLD_TIME),
  ];
}

/** Starts BIRD in `rt` with birdDemoConfig; resolves once it answers on its control socket. */
export async function startBird(
  children: Children,
  rt: string,
  dir: string,
  nodes: Array<{ name: string; address: string }>,
): Promise<void> {
  const conf = join(dir, 'bird.conf');
  const sock = join(dir, 'bird.ctl');
  writeFileSync(conf, birdDemoConfig(nodes, join(dir, 'bird.log')));
  const bird = children.spawn(rt, ['bird', '-f', '-c', conf, '-s', sock, '-P', join(dir, 'bird.pid')], {
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  const end = Date.now() + 10000;
  for (;;) {
    if (bird.exitCode !== null)
      throw new Error(`bird exited (${bird.exitCode}): see ${join(dir, 'bird.log')}`);
    try {
      const out = execFileSync('birdc', ['-s', sock, 'show', 'status'], { encoding: 'utf8', stdio: 'pipe' });
      if (/Daemon is up and running/.test(out)) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > end) throw new Error('bird did not start within 10 s');
    await new Promise((r) => setTimeout(r, 50));
  }
}
