// The namespace pair the router tests, the fixture capture and the timing script use: the router `<tag>r`
// (198.51.100.1, 2001:db8::1, AS 64512) and the speaker `<tag>s` (198.51.100.2, 2001:db8::2, AS 64513) on
// one veth, no other routes. Remove with deleteNamespacesWithPrefix(tag).
import { createNamespace, createVeth, sh } from '../../helpers/netns.js';

export const ROUTER = { v4: '198.51.100.1', v6: '2001:db8::1', as: 64512 } as const;
export const SPEAKER = { v4: '198.51.100.2', v6: '2001:db8::2', as: 64513 } as const;

export interface Pair {
  /** The router's namespace. */
  router: string;
  /** The speaker's namespace (where the scripted peer or kvip runs). */
  speaker: string;
}

/**
 * Creates the pair. fixedMacs: 02:00:00:00:00:01 and :02, so that IPv6 link-local addresses (and the
 * next hops the daemons derive from them) are the same on every run.
 */
export function createPair(tag: string, o: { fixedMacs?: boolean } = {}): Pair {
  const router = `${tag}r`;
  const speaker = `${tag}s`;
  createNamespace(router);
  createNamespace(speaker);
  createVeth(
    { ns: router, name: `${tag}r0`, ...(o.fixedMacs ? { mac: '02:00:00:00:00:01' } : {}) },
    { ns: speaker, name: `${tag}s0`, ...(o.fixedMacs ? { mac: '02:00:00:00:00:02' } : {}) },
  );
  for (const [ns, a, dev] of [
    [router, ROUTER, `${tag}r0`],
    [speaker, SPEAKER, `${tag}s0`],
  ] as const) {
    sh(`ip -n ${ns} addr add ${a.v4}/24 dev ${dev}`);
    sh(`ip -n ${ns} addr add ${a.v6}/64 dev ${dev} nodad`);
  }
  // The link-local addresses are tentative until DAD is done (about a second): a daemon started before
  // then announces IPv6 routes without its link-local next hop, one started after with it.
  const deadline = Date.now() + 10_000;
  while (sh(`ip -n ${router} -6 addr show tentative; ip -n ${speaker} -6 addr show tentative`) !== '') {
    if (Date.now() > deadline) throw new Error('link-local addresses still tentative after 10 s');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  }
  return { router, speaker };
}
