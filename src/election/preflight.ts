// Before electing: can kvip reach the lease at all with the credentials it has? A wrong kubeconfig or
// missing RBAC will not fix itself, so it is a start-up error; an unreachable API server is only a warning
// (the elector keeps retrying, and the API server may be the one this node is about to front).
import { LeaseForbiddenError, LeaseUnavailableError } from './errors.js';
import type { LeaseStore } from './types.js';

export type PreflightResult = { ok: true; exists: boolean } | { ok: false; transient: string };

export async function checkLeaseAccess(store: LeaseStore, timeoutMs: number): Promise<PreflightResult> {
  try {
    const lease = await store.get(AbortSignal.timeout(timeoutMs));
    return { ok: true, exists: lease !== null };
  } catch (err) {
    if (err instanceof LeaseForbiddenError) throw err;
    if (err instanceof LeaseUnavailableError) return { ok: false, transient: err.message };
    return { ok: false, transient: err instanceof Error ? err.message : String(err) };
  }
}
