// `kvip status`, the pure part: what a Lease record says about leadership right now, as a table or as one
// JSON object. Ages and expiry are measured against this machine's clock (the Lease holds wall-clock stamps),
// so a skewed clock shifts them; the elector itself never compares them with a local clock.
import type { LeaseRecord } from '../election/index.js';

/** valid: held and renewed within its duration; expired: held but not renewed in time; released: no holder. */
export type LeaseState = 'valid' | 'expired' | 'released';

export interface LeaseStatus {
  namespace: string;
  name: string;
  /** Where the Lease was read, and why there (as `kvip start` logs it). */
  apiServer: string;
  /** null when released. */
  holder: string | null;
  state: LeaseState;
  /** ISO 8601; null when the Lease has none. */
  acquireTime: string | null;
  renewTime: string | null;
  /** now - renewTime; null without a renewTime. */
  renewedSecondsAgo: number | null;
  leaseDurationSeconds: number;
  /** renewTime + duration - now: negative once expired; null when released or without a renewTime. */
  expiresInSeconds: number | null;
  leaseTransitions: number;
}

/** A stamp the Lease did not have comes through leaseToStored as the epoch. */
const present = (d: Date) => d.getTime() > 0;
const seconds = (ms: number) => Math.round(ms / 100) / 10;

export function leaseStatus(
  where: { namespace: string; name: string; apiServer: string },
  record: LeaseRecord,
  now: Date,
): LeaseStatus {
  const renewed = present(record.renewTime) ? record.renewTime : undefined;
  const released = record.holderIdentity === '';
  const expiresInMs = renewed
    ? renewed.getTime() + record.leaseDurationSeconds * 1000 - now.getTime()
    : undefined;
  const state: LeaseState = released
    ? 'released'
    : expiresInMs !== undefined && expiresInMs > 0
      ? 'valid'
      : 'expired';
  return {
    ...where,
    holder: released ? null : record.holderIdentity,
    state,
    acquireTime: present(record.acquireTime) ? record.acquireTime.toISOString() : null,
    renewTime: renewed ? renewed.toISOString() : null,
    renewedSecondsAgo: renewed ? seconds(now.getTime() - renewed.getTime()) : null,
    leaseDurationSeconds: record.leaseDurationSeconds,
    expiresInSeconds: !released && expiresInMs !== undefined ? seconds(expiresInMs) : null,
    leaseTransitions: record.leaseTransitions,
  };
}

/** 0.8 s, 42 s, 5m 3s, 2h 5m, 3d 4h. */
export function formatAge(totalSeconds: number): string {
  const s = Math.abs(totalSeconds);
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.floor(s)} s`;
  const units: [string, number][] = [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ];
  const i = units.findIndex(([, size]) => s >= size);
  const [big, bigSize] = units[i] as [string, number];
  const [small, smallSize] = units[i + 1] as [string, number];
  return `${Math.floor(s / bigSize)}${big} ${Math.floor((s % bigSize) / smallSize)}${small}`;
}

function stateText(s: LeaseStatus): string {
  if (s.state === 'released') return 'released (no holder: the next candidate takes it at once)';
  if (s.expiresInSeconds === null) return 'expired (never renewed)';
  if (s.state === 'valid') return `valid, expires in ${formatAge(s.expiresInSeconds)} unless renewed`;
  return `expired ${formatAge(s.expiresInSeconds)} ago (not renewed in time)`;
}

function stamp(iso: string | null, now: Date): string {
  if (iso === null) return '-';
  const ago = (now.getTime() - new Date(iso).getTime()) / 1000;
  return `${iso} (${formatAge(ago)} ${ago >= 0 ? 'ago' : "ahead of this machine's clock"})`;
}

export function formatStatusTable(s: LeaseStatus, now: Date): string {
  const rows: [string, string][] = [
    ['lease', `${s.namespace}/${s.name}`],
    ['read from', s.apiServer],
    ['leader', s.holder ?? '(none)'],
    ['state', stateText(s)],
    ['acquired', stamp(s.acquireTime, now)],
    ['renewed', stamp(s.renewTime, now)],
    ['lease duration', `${s.leaseDurationSeconds} s`],
    ['transitions', String(s.leaseTransitions)],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}\n`).join('');
}
