// `kvip demo`: builds a three-node cluster in network namespaces, runs the failover story on it (scenario.ts)
// and takes everything down again: at the end, on ^C or SIGTERM, on an error, and on a crash (the process's
// exit handler). Clean-up is synchronous, so a signal handler finishes it before anything else runs.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DemoCluster, type DemoMode } from './cluster.js';
import { hasIproute2 } from './netns.js';
import { hasBird, HOLD_TIME } from './router.js';
import { renderLegend, renderSummary, type Style } from './render.js';
import { LEASE, runScenario, SLOT_MS } from './scenario.js';

export const DEMO_MODES = ['arp', 'bgp', 'packet'] as const;

export interface DemoOptions {
  mode: string;
  /** Leave the cluster running at the end (not after an interrupt or an error). */
  keep: boolean;
}

export interface DemoIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** stdout is a terminal: colors, and a live row if it is wide enough. */
  tty: boolean;
  env: NodeJS.ProcessEnv;
}

/** Bad input or a machine that cannot run the demo: the one-line reason (exit 2), or undefined. */
export function demoRefusal(o: DemoOptions): string | undefined {
  if (!(DEMO_MODES as readonly string[]).includes(o.mode))
    return `--mode must be one of ${DEMO_MODES.join(', ')}, not '${o.mode}'`;
  if (o.mode === 'packet')
    return '--mode packet is not available in this build: it needs the Equinix Metal API fake, which is test code (test/fakes/metal)';
  if (process.platform !== 'linux') return `the demo needs Linux network namespaces, not ${process.platform}`;
  if (process.getuid?.() !== 0)
    return 'the demo must run as root (it creates network namespaces): sudo ./dist/cli/bin.js demo';
  if (!hasIproute2()) return 'the demo needs `ip` (iproute2): apt-get install iproute2';
  if (o.mode === 'bgp' && !hasBird())
    return '--mode bgp needs BIRD 2 as the router (`bird` on the PATH): apt-get install bird2';
  return undefined;
}

const EXIT_BY_SIGNAL: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };
/** The widest row (BGP, a switch and a silence) fits: a narrower terminal wraps it, and erase-line would not. */
const LIVE_COLUMNS = 120;

export async function runDemo(o: DemoOptions, io: DemoIo): Promise<number> {
  const style: Style = { color: io.tty && io.env.NO_COLOR === undefined };
  const tag = `kvd${process.pid % 100000}${Math.floor(Math.random() * 36 ** 2).toString(36)}`;
  const mode = o.mode as DemoMode; // demoRefusal() has let only arp and bgp through
  const cluster = new DemoCluster(tag, mkdtempSync(join(tmpdir(), 'kvip-demo-')), mode);
  const abort = new AbortController();
  let stoppedBy: string | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (stoppedBy !== undefined) return;
    stoppedBy = sig;
    io.err(`${io.tty ? '\n' : ''}kvip demo: ${sig}: cleaning up\n`);
    cluster.destroy();
    abort.abort();
    // Whatever was awaited unwinds on the abort; should anything not, the process still ends.
    setTimeout(() => process.exit(EXIT_BY_SIGNAL[sig]), 5000).unref();
  };
  const onExit = () => cluster.destroy();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', onExit);
  let keep = false;
  try {
    const how =
      mode === 'bgp'
        ? `BGP mode (BIRD as the router, hold time ${HOLD_TIME} s), VIP ${cluster.vip}`
        : `ARP mode, VIP ${cluster.vip}`;
    io.out(
      `kvip demo: ${how} on nodes ${cluster.nodes.join(', ')}; ` +
        `lease ${LEASE.ld} s, renew deadline ${LEASE.rd} s, retry ${LEASE.rp} s\n` +
        `  namespaces ${tag}-{${cluster.hosts.join(',')}}, files in ${cluster.dir}\n`,
    );
    const started = Date.now();
    await cluster.build();
    io.out(
      `  cluster built in ${((Date.now() - started) / 1000).toFixed(1)} s\n` +
        `  ${renderLegend(cluster.nodes, SLOT_MS, style)}\n`,
    );
    const live = io.tty && (process.stdout.columns ?? 0) >= LIVE_COLUMNS;
    const summary = await runScenario(cluster, { out: io.out, style, live, signal: abort.signal });
    io.out(`${renderSummary(summary, style).join('\n')}\n`);
    if (o.keep) {
      keep = true;
      cluster.release();
      io.out(keptHelp(cluster));
    }
    return 0;
  } catch (err) {
    if (stoppedBy !== undefined) return EXIT_BY_SIGNAL[stoppedBy] ?? 1;
    const why = err instanceof Error ? err.message : String(err);
    io.err(`kvip demo: ${why.replace(/\s*\n\s*/g, ' ')}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', onExit);
    if (!keep) cluster.destroy();
  }
}

function keptHelp(cluster: DemoCluster): string {
  const t = cluster.tag;
  return [
    '',
    `Kept: namespaces ${t}-*, the surviving kvip and the Lease API; logs in ${cluster.dir}. For example:`,
    cluster.mode === 'bgp'
      ? `  ip -n ${t}-rt route show ${cluster.vip}     # where the router sends it`
      : `  ip netns exec ${t}-n1 ip -br addr          # who has the VIP`,
    `  ip netns exec ${t}-cl ping -c 3 ${cluster.vip}`,
    'Clean up with:',
    `  for ns in $(ip netns list | grep -o '^${t}-[a-z0-9]*'); do ip netns pids $ns | xargs -r kill -9; ip netns del $ns; done; rm -rf ${cluster.dir}`,
    '',
  ].join('\n');
}
