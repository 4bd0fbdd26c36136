// BIRD 2: one `protocol bgp` per neighbour (n0, n1, ...), both unicast channels on each, `import all` (an
// eBGP channel without an import filter learns nothing), `protocol device` (interfaces, for next-hop
// resolution of a directly connected neighbour) and, with installKernel, `protocol kernel` exporting all.
// Read through birdc on the run directory's control socket.
import { writeFileSync } from 'node:fs';
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

const q = (s: string): string => JSON.stringify(s);

export function birdConfig(o: RouterOptions, logFile: string): string {
  const c = [`log ${q(logFile)} all;`, `router id ${o.routerId};`, 'protocol device { scan time 10; }'];
  if (o.installKernel) {
    c.push('protocol kernel k4 { ipv4 { import none; export where source = RTS_BGP; }; }');
    c.push('protocol kernel k6 { ipv6 { import none; export where source = RTS_BGP; }; }');
  }
  const v4 = (o.originate ?? []).filter((p) => !isV6(p));
  const v6 = (o.originate ?? []).filter(isV6);
  if (v4.length) c.push(`protocol static s4 { ipv4; ${v4.map((p) => `route ${p} blackhole;`).join(' ')} }`);
  if (v6.length) c.push(`protocol static s6 { ipv6; ${v6.map((p) => `route ${p} blackhole;`).join(' ')} }`);
  o.neighbours.forEach((n, i) => {
    const local = o.listen?.find((a) => isV6(a) === isV6(n.address));
    const p = [`protocol bgp n${i} {`, `  local ${local ?? ''} as ${o.localAs};`];
    p.push(`  neighbor ${n.address} as ${n.as};`);
    if (n.passive !== false) p.push('  passive on;');
    p.push(`  hold time ${holdOf(n)};`, `  keepalive time ${keepaliveOf(n)};`, '  debug { states, events };');
    if (n.password) p.push(`  password ${q(n.password)};`);
    const ttl = ttlOf(n);
    if (ttl !== undefined) p.push(`  multihop ${ttl};`);
    else p.push('  direct;'); // eBGP's default; iBGP's default is multihop with recursive next hops
    if (o.fastReconnect) {
      p.push('  connect delay time 1;', '  connect retry time 1;', '  error wait time 1, 2;');
    }
    const exp = (src: string, list: string[]) => (list.length ? `where proto = "${src}"` : 'none');
    p.push(`  ipv4 { import all; export ${exp('s4', v4)}; };`);
    p.push(`  ipv6 { import all; export ${exp('s6', v6)}; };`);
    p.push('}');
    c.push(p.join('\n'));
  });
  return `${c.join('\n')}\n`;
}

/** Parses `show route all` output into routes (every path of every prefix). */
export function parseBirdRoutes(out: string, peers: Map<string, string>): LearnedRoute[] {
  const routes: LearnedRoute[] = [];
  let prefix = '';
  let cur: LearnedRoute | undefined;
  for (const line of out.split('\n')) {
    const head = /^(\S+)?\s+unicast \[(\S+) [^\]]*?\](\s+\*)?/.exec(line);
    if (head && !line.startsWith('\t')) {
      if (head[1]) prefix = head[1];
      cur = { prefix, nextHop: '', asPath: [], best: head[3] !== undefined };
      const peer = peers.get(head[2] as string);
      if (peer) cur.peer = peer;
      routes.push(cur);
      continue;
    }
    if (!cur) continue;
    const attr = /^\s+BGP\.(\w+): (.*)$/.exec(line);
    if (!attr) continue;
    const [, key, value = ''] = attr;
    if (key === 'next_hop') cur.nextHop = value.split(' ')[0] ?? '';
    else if (key === 'as_path') cur.asPath = value.split(/\s+/).filter(Boolean).map(Number);
    else if (key === 'local_pref') cur.localPref = Number(value);
    else if (key === 'med') cur.med = Number(value);
    else if (key === 'origin') cur.origin = value.toLowerCase();
    else if (key === 'community')
      cur.communities = [...value.matchAll(/\((\d+),(\d+)\)/g)].map((m) => `${m[1]}:${m[2]}`);
  }
  return routes;
}

/** Parses `show protocols all` output into the BGP protocols' sessions. */
export function parseBirdSessions(out: string): (Session & { name: string })[] {
  const sessions: (Session & { name: string })[] = [];
  let cur: (Session & { name: string }) | undefined;
  for (const line of out.split('\n')) {
    const head = /^(\S+)\s+BGP\s+\S+\s+(\S+)/.exec(line);
    if (head) {
      cur = { name: head[1] as string, peer: '', state: (head[2] as string).toLowerCase() };
      sessions.push(cur);
      continue;
    }
    if (/^\S/.test(line)) cur = undefined;
    if (!cur) continue;
    const kv = /^\s+(BGP state|Neighbor address|Last error):\s+(.*?)\s*$/.exec(line);
    if (kv?.[1] === 'BGP state') cur.state = (kv[2] as string).toLowerCase();
    else if (kv?.[1] === 'Neighbor address') cur.peer = kv[2] as string;
    else if (kv?.[1] === 'Last error') cur.lastError = kv[2] as string;
  }
  return sessions;
}

export class BirdRouter extends BaseRouter {
  readonly kind = 'bird' as const;
  protected readonly kernelProtos = ['bird'];
  private readonly sock: string;
  private readonly names: Map<string, string>;

  constructor(opts: RouterOptions) {
    const dir = mkRunDir('bird');
    super(opts, dir, ['bird.log']);
    this.sock = join(dir, 'bird.ctl');
    this.names = new Map(opts.neighbours.map((n, i) => [`n${i}`, n.address]));
    writeFileSync(join(dir, 'bird.conf'), birdConfig(opts, join(dir, 'bird.log')));
  }

  /** birdc against this daemon (its output less the "BIRD x ready." greeting). */
  async cli(command: string, timeoutMs?: number): Promise<string> {
    const out = await run('birdc', ['-s', this.sock, ...command.split(' ')], timeoutMs);
    return out.replace(/^BIRD [^\n]* ready\.\n/, '');
  }

  command(line: string): Promise<string> {
    return this.cli(line);
  }

  override sessionName(i: number): string {
    return `n${i}`;
  }

  async launch(): Promise<void> {
    const argv = ['bird', '-f', '-c', join(this.dir, 'bird.conf'), '-s', this.sock];
    argv.push('-P', join(this.dir, 'bird.pid'));
    await this.procs.start({ name: 'bird', argv }, async () =>
      /Daemon is up and running/.test(await this.cli('show status', 2000)),
    );
  }

  async routes(family: 4 | 6): Promise<LearnedRoute[]> {
    const out = await this.cli(`show route table master${family} where source = RTS_BGP all`);
    return parseBirdRoutes(out, this.names);
  }

  async sessions(): Promise<Session[]> {
    return parseBirdSessions(await this.cli('show protocols all')).map(({ name: _name, ...s }) => s);
  }
}
