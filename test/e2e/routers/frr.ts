// FRR 8: zebra and bgpd started directly (no frrinit/watchfrr, nothing in /etc/frr or /run/frr): each with
// its config (-f), pid file (-i), the zserv socket (-z) and vty sockets (--vty_socket) in the run directory.
// They run as root: `-u root -g frrvty`, because FRR refuses a user outside its vty group (frrvty) and
// root is not in it, while the group passed with -g counts. zebra always runs (next-hop tracking, connected
// routes); without installKernel bgpd gets -n and hands zebra nothing to install. Read through vtysh.
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
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

export function frrBgpdConfig(o: RouterOptions, logFile: string): string {
  const c = ['frr defaults traditional', 'hostname kvip-frr', `log file ${logFile} debugging`];
  c.push('debug bgp neighbor-events');
  c.push(`router bgp ${o.localAs}`, ` bgp router-id ${o.routerId}`, ' no bgp ebgp-requires-policy');
  c.push(' no bgp default ipv4-unicast', ' no bgp network import-check');
  for (const n of o.neighbours) {
    const a = n.address;
    c.push(` neighbor ${a} remote-as ${n.as}`);
    if (n.passive !== false) c.push(` neighbor ${a} passive`);
    c.push(` neighbor ${a} timers ${keepaliveOf(n)} ${holdOf(n)}`);
    if (o.fastReconnect) c.push(` neighbor ${a} timers connect 1`);
    if (n.password) c.push(` neighbor ${a} password ${n.password}`);
    const ttl = ttlOf(n);
    if (ttl !== undefined) c.push(` neighbor ${a} ebgp-multihop ${ttl}`);
    const local = o.listen?.find((x) => isV6(x) === isV6(a));
    if (local) c.push(` neighbor ${a} update-source ${local}`);
  }
  for (const fam of [4, 6] as const) {
    c.push(` address-family ipv${fam} unicast`);
    for (const p of (o.originate ?? []).filter((x) => isV6(x) === (fam === 6))) c.push(`  network ${p}`);
    for (const n of o.neighbours) c.push(`  neighbor ${n.address} activate`);
    c.push(' exit-address-family');
  }
  return `${c.join('\n')}\n`;
}

interface FrrPath {
  aspath?: { segments?: { list: number[] }[] };
  origin?: string;
  /** MED */
  metric?: number;
  locPrf?: number;
  community?: { string: string };
  bestpath?: { overall?: boolean };
  nexthops?: { ip: string; scope?: string }[];
  peer?: { peerId: string };
}

function vtyGroup(): string {
  try {
    execFileSync('getent', ['group', 'frrvty'], { stdio: 'ignore' });
    return 'frrvty';
  } catch {
    return 'root';
  }
}

export class FrrRouter extends BaseRouter {
  readonly kind = 'frr' as const;
  protected readonly kernelProtos = ['bgp'];

  constructor(opts: RouterOptions) {
    const dir = mkRunDir('frr');
    super(opts, dir, ['zebra.log', 'bgpd.log']);
    writeFileSync(join(dir, 'bgpd.conf'), frrBgpdConfig(opts, join(dir, 'bgpd.log')));
    writeFileSync(join(dir, 'zebra.conf'), `hostname kvip-frr\nlog file ${join(dir, 'zebra.log')}\n`);
    writeFileSync(join(dir, 'vtysh.conf'), ''); // so that vtysh (--config_dir) reads nothing in /etc/frr
  }

  /** vtysh against this instance's bgpd (or zebra). */
  cli(command: string, daemon: 'bgpd' | 'zebra' = 'bgpd', timeoutMs?: number): Promise<string> {
    const args = ['--vty_socket', this.dir, '--config_dir', this.dir, '-d', daemon, '-c', command];
    return run('vtysh', args, timeoutMs);
  }

  command(line: string): Promise<string> {
    const args = ['--vty_socket', this.dir, '--config_dir', this.dir, '-d', 'bgpd'];
    for (const l of line.split('\n')) args.push('-c', l);
    return run('vtysh', args);
  }

  async launch(): Promise<void> {
    const d = (f: string) => join(this.dir, f);
    const common = ['-z', d('zserv.api'), '--vty_socket', this.dir, '-u', 'root', '-g', vtyGroup()];
    await this.procs.start(
      { name: 'zebra', argv: ['/usr/lib/frr/zebra', '-f', d('zebra.conf'), '-i', d('zebra.pid'), ...common] },
      async () => existsSync(d('zserv.api')) && (await this.cli('show version', 'zebra', 2000)) !== '',
    );
    const argv = ['/usr/lib/frr/bgpd', '-f', d('bgpd.conf'), '-i', d('bgpd.pid'), ...common];
    for (const a of this.opts.listen ?? []) argv.push('-l', a);
    if (!this.opts.installKernel) argv.push('-n');
    await this.procs.start({ name: 'bgpd', argv }, async () =>
      /BGP router identifier/.test(await this.cli('show bgp summary', 'bgpd', 2000)),
    );
  }

  async routes(family: 4 | 6): Promise<LearnedRoute[]> {
    const afi = family === 4 ? 'ipv4' : 'ipv6';
    const table = JSON.parse(await this.cli(`show bgp ${afi} unicast json`)) as {
      routes?: Record<string, unknown>;
    };
    const peers = new Set(this.opts.neighbours.map((n) => n.address));
    const routes: LearnedRoute[] = [];
    // The table's JSON has no communities or local-pref per path: ask for each prefix (few in tests).
    for (const prefix of Object.keys(table.routes ?? {})) {
      const detail = JSON.parse(await this.cli(`show bgp ${afi} unicast ${prefix} json`)) as {
        paths?: FrrPath[];
      };
      for (const p of detail.paths ?? []) {
        const peer = p.peer?.peerId ?? '';
        if (!peers.has(peer)) continue; // originated here
        const hop = p.nexthops?.find((h) => h.scope !== 'link-local') ?? p.nexthops?.[0];
        const r: LearnedRoute = {
          prefix,
          nextHop: hop?.ip ?? '',
          asPath: (p.aspath?.segments ?? []).flatMap((s) => s.list),
          peer,
          best: p.bestpath?.overall === true,
        };
        if (p.origin) r.origin = p.origin.toLowerCase();
        if (p.locPrf !== undefined) r.localPref = p.locPrf;
        if (p.metric !== undefined) r.med = p.metric;
        if (p.community) r.communities = p.community.string.split(' ');
        routes.push(r);
      }
    }
    return routes;
  }

  async sessions(): Promise<Session[]> {
    const all = JSON.parse(await this.cli('show bgp neighbors json')) as Record<
      string,
      { bgpState?: string; lastResetDueTo?: string; lastNotificationReason?: string }
    >;
    return Object.entries(all).map(([peer, n]) => {
      const s: Session = { peer, state: (n.bgpState ?? 'unknown').toLowerCase() };
      // FRR records no reset for an OPEN it refused on an incoming connection (bad AS, hold time): that
      // is only in the log. "No AFI/SAFI activated" is the reset that loading the config makes.
      const reset = n.lastResetDueTo === 'No AFI/SAFI activated for peer' ? undefined : n.lastResetDueTo;
      const why = [reset, n.lastNotificationReason].filter(Boolean).join(': ');
      if (why) s.lastError = why;
      return s;
    });
  }
}
