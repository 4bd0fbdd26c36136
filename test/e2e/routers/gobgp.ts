// GoBGP (gobgpd 3.x): a TOML config, the gRPC API on a unix socket in the run directory (so nothing listens
// on TCP besides BGP), and the `gobgp` CLI's JSON. It cannot install routes into the kernel (that needs
// zebra), so it is for session and route tests; use bird or frr where probes must follow a route.
import { join } from 'node:path';

import {
  BaseRouter,
  holdOf,
  isV6,
  keepaliveOf,
  mkRunDir,
  run,
  ttlOf,
  type LearnedRoute,
  type RouterOptions,
  type Session,
} from './common.js';
import { writeFileSync } from 'node:fs';

const STATES: Record<string, string> = {
  '0': 'unknown',
  '1': 'idle',
  '2': 'connect',
  '3': 'active',
  '4': 'opensent',
  '5': 'openconfirm',
  '6': 'established',
};
const ORIGINS = ['igp', 'egp', 'incomplete'];

const q = (s: string): string => JSON.stringify(s);

export function gobgpConfig(o: RouterOptions): string {
  const lines = ['[global.config]', `  as = ${o.localAs}`, `  router-id = ${q(o.routerId)}`];
  if (o.listen?.length) lines.push(`  local-address-list = [${o.listen.map(q).join(', ')}]`);
  for (const n of o.neighbours) {
    lines.push('', '[[neighbors]]', '  [neighbors.config]');
    lines.push(`    neighbor-address = ${q(n.address)}`, `    peer-as = ${n.as}`);
    if (n.password) lines.push(`    auth-password = ${q(n.password)}`);
    lines.push('  [neighbors.transport.config]', `    passive-mode = ${n.passive !== false}`);
    const local = o.listen?.find((a) => isV6(a) === isV6(n.address));
    if (local) lines.push(`    local-address = ${q(local)}`);
    lines.push('  [neighbors.timers.config]');
    lines.push(`    hold-time = ${holdOf(n)}`, `    keepalive-interval = ${keepaliveOf(n)}`);
    if (o.fastReconnect) lines.push('    connect-retry = 1', '    idle-hold-time-after-reset = 1');
    const ttl = ttlOf(n);
    if (ttl !== undefined)
      lines.push('  [neighbors.ebgp-multihop.config]', '    enabled = true', `    multihop-ttl = ${ttl}`);
    for (const f of ['ipv4-unicast', 'ipv6-unicast'])
      lines.push(
        '  [[neighbors.afi-safis]]',
        '    [neighbors.afi-safis.config]',
        `      afi-safi-name = ${q(f)}`,
      );
  }
  return `${lines.join('\n')}\n`;
}

interface GobgpPath {
  nlri: { prefix: string };
  best?: boolean;
  'neighbor-ip'?: string;
  'source-id'?: string;
  attrs: {
    type: number;
    value?: number;
    nexthop?: string;
    metric?: number;
    communities?: number[];
    as_paths?: { asns: number[] }[];
  }[];
}

const field = (line: string, key: string): string | undefined =>
  new RegExp(`\\b${key}=(?:"((?:[^"\\\\]|\\\\.)*)"|(\\S+))`)
    .exec(line)
    ?.slice(1)
    .find((x) => x !== undefined);

/**
 * gobgp's API keeps no reason for a session's end; its log does: the last "Peer Down" (its Reason) or
 * "sent notification" (its Data) line for the peer.
 */
function lastError(lines: string[], peer: string): string | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i] as string;
    if (field(line, 'Key') !== peer) continue;
    const msg = field(line, 'msg');
    if (msg === 'Peer Down') return `Peer Down: ${field(line, 'Reason') ?? '?'}`;
    if (msg === 'sent notification') return `sent notification: ${field(line, 'Data') ?? '?'}`;
  }
  return undefined;
}

export class GobgpRouter extends BaseRouter {
  readonly kind = 'gobgp' as const;
  protected readonly kernelProtos: string[] = [];
  private readonly target: string;

  constructor(opts: RouterOptions) {
    if (opts.installKernel) {
      throw new Error('gobgp cannot install routes into the kernel (no zebra here): use bird or frr');
    }
    const dir = mkRunDir('gobgp');
    super(opts, dir, []);
    this.target = `unix://${join(dir, 'gobgp.sock')}`;
    writeFileSync(join(dir, 'gobgpd.toml'), gobgpConfig(opts));
  }

  /** The gobgp CLI against this daemon. */
  cli(args: string[], timeoutMs?: number): Promise<string> {
    return run('gobgp', ['--target', this.target, ...args], timeoutMs);
  }

  command(line: string): Promise<string> {
    return this.cli(line.split(' ').filter(Boolean));
  }

  async launch(): Promise<void> {
    // In a UTS namespace of its own with a fixed hostname: gobgpd puts the hostname into its OPEN (FQDN
    // capability), and the captured fixtures must not depend on the machine's name.
    const argv = [
      'unshare',
      '--uts',
      'sh',
      '-c',
      'hostname kvip-gobgp && exec "$@"',
      'sh',
      'gobgpd',
      '-f',
      join(this.dir, 'gobgpd.toml'),
      '-p', // plain-text log lines
      '-l',
      'debug',
      '--api-hosts',
      this.target,
      '--pprof-disable',
    ];
    await this.procs.start({ name: 'gobgpd', argv }, async () => {
      await this.cli(['global'], 2000);
      return true;
    });
    for (const p of this.opts.originate ?? [])
      await this.cli(['global', 'rib', 'add', '-a', isV6(p) ? 'ipv6' : 'ipv4', p]);
  }

  async routes(family: 4 | 6): Promise<LearnedRoute[]> {
    const out = await this.cli(['global', 'rib', '-a', family === 4 ? 'ipv4' : 'ipv6', '-j']);
    const table = JSON.parse(out || '{}') as Record<string, GobgpPath[]>;
    const routes: LearnedRoute[] = [];
    for (const [prefix, paths] of Object.entries(table)) {
      for (const p of paths) {
        const peer = p['neighbor-ip'];
        if (!peer || peer === '<nil>' || peer === '0.0.0.0') continue; // originated here
        const a = (t: number) => p.attrs.find((x) => x.type === t);
        const r: LearnedRoute = {
          prefix,
          nextHop: a(3)?.nexthop ?? a(14)?.nexthop ?? '',
          asPath: (a(2)?.as_paths ?? []).flatMap((s) => s.asns),
          peer,
          best: p.best === true,
        };
        const origin = a(1)?.value;
        if (origin !== undefined) r.origin = ORIGINS[origin] ?? String(origin);
        if (a(4)?.metric !== undefined) r.med = a(4)?.metric;
        if (a(5)?.value !== undefined) r.localPref = a(5)?.value;
        const comms = a(8)?.communities;
        if (comms) r.communities = comms.map((c) => `${Math.floor(c / 65536)}:${c % 65536}`);
        routes.push(r);
      }
    }
    return routes;
  }

  async sessions(): Promise<Session[]> {
    const out = await this.cli(['neighbor', '-j']);
    const peers = JSON.parse(out || '[]') as {
      conf: { neighbor_address: string };
      state: { session_state?: number | string };
    }[];
    const logs = this.logs().split('\n');
    return peers.map((p) => {
      const peer = p.conf.neighbor_address;
      const s: Session = {
        peer,
        state: STATES[String(p.state.session_state ?? 0)] ?? String(p.state.session_state).toLowerCase(),
      };
      const why = lastError(logs, peer);
      if (why) s.lastError = why;
      return s;
    });
  }
}
