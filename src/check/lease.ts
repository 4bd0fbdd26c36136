// `kvip check`: who leads, from the Lease, to tell whether the one host answering for the VIP is this
// cluster's leader. Judged without any clock but this process's monotonic one: the Lease's wall-clock stamps
// are never compared with this machine's. A holder that leads renews the Lease every --retryPeriod and gives a
// round up after --renewDeadline (as the elector does), so within their sum it writes again: a later GET
// shows the same holder under a newer resourceVersion. GETs only; nothing is created or changed.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../config/index.js';
import type { KubeHttp } from '../election/kube-http.js';
import { KubeLeaseStore } from '../election/kube-store.js';
import type { StoredLease } from '../election/types.js';
import { leaseIdentity } from '../service/identity.js';
import { bounded, NoAnswer } from './bounded.js';
import { errorText } from './row.js';

export type LeaseReading =
  /** There is no such Lease (or it was deleted while check watched). */
  | { kind: 'none' }
  /** The first GET failed. */
  | { kind: 'failed'; reason: string }
  /** Released (holder null), or held by this node: nothing to watch. */
  | { kind: 'read'; holder: string | null }
  /**
   * Held by another node and watched for up to `windowMs`: renewed, or not. `seenMs`: from the first read to
   * the sending of the last GET that was answered (so not renewing was seen over that long); `error`: why the
   * last GET failed, if it did.
   */
  | { kind: 'watched'; holder: string; renewed: boolean; seenMs: number; windowMs: number; error?: string }
  /** While watched, the Lease went from `from` to `to` (null: released): leadership moved during the check. */
  | { kind: 'moved'; from: string; to: string | null }
  /** While watched, the Lease held by `from` was deleted. */
  | { kind: 'deleted'; from: string };

/** How often the Lease is read again while waiting to see its holder renew it. */
const REREAD_MS = 250;
/** No GET is sent with less of the window left than this: it could only be cut short. */
const LAST_GET_MIN_MS = 20;

/** This node's name in the Lease, as kvip start takes it ('' when there is none: then no holder is this node). */
export function identityOf(config: Config): string {
  try {
    return leaseIdentity(config);
  } catch {
    return '';
  }
}

/** One GET, bounded by `ms` of --renewDeadline (a NoAnswer after that). */
function getWithin(store: KubeLeaseStore, ms: number): Promise<StoredLease | null> {
  return bounded(ms, '--renewDeadline', (signal) => store.get(signal));
}

/**
 * Reads the Lease, and while another node holds it, reads it again until that node renews it. Takes at most
 * --renewDeadline for the first GET plus --retryPeriod + --renewDeadline of watching: every later GET is cut
 * to what is left of that window.
 */
export async function readLease(config: Config, http: KubeHttp): Promise<LeaseReading> {
  const store = new KubeLeaseStore(http, config.namespace, config.leaseName);
  const renewDeadlineMs = config.renewDeadline * 1000;
  let first: StoredLease | null;
  try {
    first = await getWithin(store, renewDeadlineMs);
  } catch (err) {
    return { kind: 'failed', reason: errorText(err) };
  }
  if (!first) return { kind: 'none' };
  const holder = first.record.holderIdentity;
  if (holder === '' || holder === identityOf(config)) return { kind: 'read', holder: holder || null };
  const started = performance.now();
  const windowMs = Math.round((config.retryPeriod + config.renewDeadline) * 1000);
  const deadline = started + windowMs;
  let seenMs = 0;
  let error: string | undefined;
  const watched = (renewed: boolean): LeaseReading => ({
    kind: 'watched',
    holder,
    renewed,
    seenMs: Math.round(seenMs),
    windowMs,
    ...(error ? { error } : {}),
  });
  for (;;) {
    await sleep(Math.min(REREAD_MS, Math.max(0, deadline - performance.now())));
    const sentAt = performance.now();
    const left = deadline - sentAt;
    if (left < LAST_GET_MIN_MS) break;
    const ms = Math.min(renewDeadlineMs, left);
    let now: StoredLease | null;
    try {
      now = await getWithin(store, ms);
    } catch (err) {
      // A failure may pass (an API server's hiccup): read again while the window lasts; why it failed is kept
      // until a read is answered. A GET cut short by the end of the window is just the window ending.
      if (!(err instanceof NoAnswer && ms < renewDeadlineMs)) error = errorText(err);
      continue;
    }
    error = undefined;
    seenMs = sentAt - started;
    if (!now) return { kind: 'deleted', from: holder };
    const next = now.record.holderIdentity;
    if (next !== holder) return { kind: 'moved', from: holder, to: next || null };
    if (now.version !== first.version) return watched(true);
  }
  return watched(false);
}
