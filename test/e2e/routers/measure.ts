// Measures the router daemons' timings that matter for test and bench design (not run by `npm test`):
//
//   sudo npx tsx test/e2e/routers/measure.ts [gobgp|bird|frr ...] [--fast] [--drops fin,cease,error]
//
// For each daemon, in a namespace pair like the smoke test's: start-up until its CLI answers; connect until
// the router's KEEPALIVE; an UPDATE until the route is in routes() and (bird, frr) in the kernel table, and a
// withdraw until it is gone; then, for each kind of session drop, until the routes are gone and how long the
// (passive) router refuses new connections before a session comes up again. --fast: the routers'
// fastReconnect settings. Prints one JSON line per measurement and a table at the end.
import { execFileSync } from 'node:child_process';

import { announce, keepalive, notification, updateMessage, withdraw } from '../fixtures/bgp-wire.js';
import { deleteNamespacesWithPrefix, uniqueTag } from '../../helpers/netns.js';
import { createPair, ROUTER, SPEAKER } from './pair.js';
import { ScriptedPeer, startRouter, type Router, type RouterKind } from './index.js';

const R = ROUTER;
const S = SPEAKER;
const VIP = '203.0.113.100/32';
const OPEN = { as: S.as, holdTime: 9, routerId: S.v4, localAddress: S.v4 };
const INVALID_NLRI = updateMessage(
  Buffer.alloc(0),
  Buffer.from('40010100' + '40020602010000fc01' + '400304c6336402', 'hex'),
  Buffer.from('21cb00716400', 'hex'),
);
type Drop = 'fin' | 'cease' | 'error';

const args = process.argv.slice(2);
const fast = args.includes('--fast');
const dropsArg = args[args.indexOf('--drops') + 1];
const drops = (
  args.includes('--drops') && dropsArg ? dropsArg.split(',') : ['fin', 'cease', 'error']
) as Drop[];
const kinds = args.filter((a): a is RouterKind => ['gobgp', 'bird', 'frr'].includes(a));

const results: Record<string, Record<string, number | string>> = {};
function note(kind: string, key: string, value: number | string): void {
  const v = typeof value === 'number' ? Math.round(value) : value;
  (results[kind] ??= {})[key] = v;
  console.log(JSON.stringify({ kind, fast, key, value: v }));
}

/** Polls cond (sync or async) every few ms; the elapsed ms since t0 when it first holds, or -1 after limitMs. */
async function until(t0: number, cond: () => boolean | Promise<boolean>, limitMs = 60_000): Promise<number> {
  for (;;) {
    if (await cond()) return performance.now() - t0;
    if (performance.now() - t0 > limitMs) return -1;
    await new Promise((r) => setTimeout(r, 5));
  }
}

const kernelHas = (ns: string): boolean =>
  execFileSync('ip', ['-n', ns, 'route', 'show', VIP], { encoding: 'utf8' }).trim() !== '';

async function measure(kind: RouterKind, tag: string): Promise<void> {
  const rns = `${tag}r`;
  const kernel = kind !== 'gobgp';
  let router: Router | undefined;
  const peer = await ScriptedPeer.start(`${tag}s`);
  try {
    let t0 = performance.now();
    router = await startRouter(kind, {
      ns: rns,
      routerId: R.v4,
      localAs: R.as,
      neighbours: [{ address: S.v4, as: S.as, holdTime: 9, keepalive: 3 }],
      installKernel: kernel,
      fastReconnect: fast,
    });
    const r = router;
    note(kind, 'start', performance.now() - t0);
    const e = await peer.establishWithin(R.v4, OPEN, 30_000, 100);
    note(kind, 'establish', e.ms);
    await peer.keepalives(1000);
    t0 = performance.now();
    note(
      kind,
      'sessionsSaysEstablished',
      await until(t0, async () => (await r.sessions())[0]?.state === 'established'),
    );

    const learn = async (label: string): Promise<void> => {
      t0 = performance.now();
      await peer.send(announce({ prefixes: [VIP], nextHop: S.v4, asPath: [S.as] }));
      if (kernel) note(kind, `${label}Kernel`, await until(t0, () => kernelHas(rns)));
      note(
        kind,
        `${label}Rib`,
        await until(t0, async () => (await r.routes(4)).some((x) => x.prefix === VIP)),
      );
    };
    await learn('announce');
    t0 = performance.now();
    await peer.send(withdraw([VIP]));
    if (kernel) note(kind, 'withdrawKernel', await until(t0, () => !kernelHas(rns)));
    note(
      kind,
      'withdrawRib',
      await until(t0, async () => !(await r.routes(4)).some((x) => x.prefix === VIP)),
    );

    for (const drop of drops) {
      await learn(`${drop}:announce`);
      await peer.keepalives(0);
      t0 = performance.now();
      if (drop === 'cease') await peer.send(notification(6, 2));
      if (drop === 'error') await peer.send(INVALID_NLRI);
      if (drop === 'error') await peer.recvType(3, 5000).catch(() => undefined);
      await peer.close();
      if (kernel) note(kind, `${drop}:kernelGone`, await until(t0, () => !kernelHas(rns)));
      note(
        kind,
        `${drop}:ribGone`,
        await until(t0, async () => !(await r.routes(4)).some((x) => x.prefix === VIP)),
      );
      try {
        const again = await peer.establishWithin(R.v4, OPEN, 330_000, 100);
        note(kind, `${drop}:reestablish`, performance.now() - t0);
        note(kind, `${drop}:refusedAttempts`, again.attempts - 1);
      } catch (err) {
        note(kind, `${drop}:reestablish`, `none: ${String(err).slice(0, 80)}`);
      }
      await peer.send(keepalive());
      await peer.keepalives(1000);
    }
    const lastError = (await r.sessions())[0]?.lastError;
    if (lastError) note(kind, 'lastError', lastError);
  } catch (err) {
    console.error(`${kind}: ${String(err)}\n${router?.logs().slice(-2000) ?? ''}`);
    process.exitCode = 1;
  } finally {
    await peer.exit();
    await router?.stop();
  }
}

const tag = uniqueTag('ms');
try {
  createPair(tag);
  for (const k of kinds.length ? kinds : (['gobgp', 'bird', 'frr'] as const)) await measure(k, tag);
  const metrics = [...new Set(Object.values(results).flatMap((r) => Object.keys(r)))];
  console.table(
    Object.fromEntries(
      metrics.map((m) => [m, Object.fromEntries(Object.entries(results).map(([k, r]) => [k, r[m] ?? '']))]),
    ),
  );
} finally {
  deleteNamespacesWithPrefix(tag);
}
