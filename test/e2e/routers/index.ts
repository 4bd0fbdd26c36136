// The real router daemons for tests and the bench: `startRouter(kind, opts)` writes a config into a per-run
// directory and starts gobgpd, BIRD or FRR inside an existing network namespace, and returns a handle that
// reads what the daemon learned (routes, sessions), the kernel routes it installed, and its logs. Always
// `await router.stop()` (afterAll): it kills the daemon (SIGTERM, then SIGKILL) and removes the directory;
// any daemon still running when the process exits is SIGKILLed.
//
//   const r = await startRouter('bird', { ns, routerId: '198.51.100.1', localAs: 64512,
//     neighbours: [{ address: '198.51.100.2', as: 64513 }], installKernel: true });
//   await r.waitForSession('198.51.100.2');
//   await r.waitForRoute('203.0.113.100/32');
//
// GoBGP cannot install into the kernel (installKernel throws): it is for session and route tests.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { BirdRouter } from './bird.js';
import type { Router, RouterKind, RouterOptions } from './common.js';
import { FrrRouter } from './frr.js';
import { GobgpRouter } from './gobgp.js';

export type {
  KernelRoute,
  LearnedRoute,
  Neighbour,
  Router,
  RouterKind,
  RouterOptions,
  Session,
} from './common.js';
export { ScriptedPeer } from './peer.js';

export const ROUTER_KINDS: readonly RouterKind[] = ['gobgp', 'bird', 'frr'];

const TOOLS: Record<RouterKind, string[]> = {
  gobgp: ['gobgpd', 'gobgp', 'unshare'],
  bird: ['bird', 'birdc'],
  frr: ['/usr/lib/frr/zebra', '/usr/lib/frr/bgpd', 'vtysh'],
};

/** The programs a kind needs (Debian packages gobgpd, bird2, frr) that are not installed. */
export function missingRouterTools(kinds: readonly RouterKind[] = ROUTER_KINDS): string[] {
  const found = (p: string): boolean =>
    p.startsWith('/')
      ? existsSync(p)
      : (process.env.PATH ?? '/usr/sbin:/usr/bin').split(':').some((d) => existsSync(join(d, p)));
  return kinds.flatMap((k) => TOOLS[k].filter((t) => !found(t)));
}

export async function startRouter(kind: RouterKind, opts: RouterOptions): Promise<Router> {
  const router =
    kind === 'gobgp' ? new GobgpRouter(opts) : kind === 'bird' ? new BirdRouter(opts) : new FrrRouter(opts);
  try {
    await router.launch();
  } catch (err) {
    await router.stop();
    throw err;
  }
  return router;
}
