// The "VIP on the segment" verdict from what the probe heard and what the Lease says: one other host answering
// is a follower's leader only when the Lease names another node that renewed it while check watched; more
// than one host answering, or this node holding the VIP too, never is.
import { loadConfig } from '../../src/config/index.js';
import type { HostFacts } from '../../src/check/host.js';
import type { LeaseReading } from '../../src/check/lease.js';
import { needsLeader, segmentRow, type SegmentProbe } from '../../src/check/segment.js';

const VIP = '198.51.100.100';
const M1 = '02:00:00:00:00:01';
const M2 = '02:00:00:00:00:02';
const LEASE = 'the Lease kube-system/plndr-cp-lock';
const RENEWING: LeaseReading = { kind: 'watched', holder: 'cp2', renewed: true, seenMs: 420, windowMs: 4000 };

function config(leaderElection = true) {
  const flags: Record<string, string | boolean> = { vip: VIP, interface: 'eth0', arp: true, leaderElection };
  const input = Object.fromEntries(Object.entries(flags).map(([k, v]) => [k, { value: v, name: `--${k}` }]));
  return loadConfig({ flags: input, env: {} }, 'check');
}

const host = (holdsVip = false): HostFacts => ({ rows: [], holdsVip, missingCaps: [] });
const heard = (...answers: string[]): SegmentProbe => ({ answers, how: 'ARP probe' });
const verdict = (found: SegmentProbe, lease?: LeaseReading, holds = false, leaderElection = true) =>
  segmentRow(config(leaderElection), host(holds), found, lease, 'cp1');
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('VIP on the segment', () => {
  it('nobody answers: ✓, whatever the Lease says', () => {
    expect(verdict(heard(), { kind: 'none' })).toMatchObject({
      ok: true,
      detail: `nobody on eth0's segment answers for ${VIP} (ARP probe)`,
    });
    expect(verdict(heard(), undefined, true).detail).toMatch(/^this node holds .* nobody else answers/);
  });

  it('one host, and the Lease names another node that renewed it during the check: ✓ naming both', () => {
    expect(verdict(heard(M1), RENEWING)).toEqual({
      check: 'VIP on the segment',
      ok: true,
      detail:
        `${VIP} is answered by ${M1} alone, and the Lease names cp2, which renewed it during this check: as ` +
        `expected on a follower (${M1} should be cp2's)`,
    });
  });

  it.each<[string, LeaseReading | undefined, boolean, string]>([
    [
      'not renewed while watched over the window',
      { kind: 'watched', holder: 'cp2', renewed: false, seenMs: 3612, windowMs: 4000 },
      true,
      `; ${LEASE} names cp2, which did not renew it within 3.6 s: no kvip leader is answering (if the cluster ` +
        'runs with other --retryPeriod/--renewDeadline, pass them)',
    ],
    [
      'seen for part of the window, then failing',
      { kind: 'watched', holder: 'cp2', renewed: false, seenMs: 1500, windowMs: 4000, error: 'HTTP 500' },
      true,
      `; ${LEASE} names cp2, but whether it renews it is not known: it was seen for 1.5 s of 4 s, then reading ` +
        'it failed: HTTP 500; run check again',
    ],
    [
      'never answered again',
      { kind: 'watched', holder: 'cp2', renewed: false, seenMs: 0, windowMs: 4000 },
      true,
      `; ${LEASE} names cp2, but whether it renews it is not known: it was seen for 0 s of 4 s, then no read ` +
        'was answered; run check again',
    ],
    [
      'deleted while watched',
      { kind: 'deleted', from: 'cp2' },
      true,
      `; ${LEASE}, held by cp2, was deleted during this check: run it again`,
    ],
    [
      'that moved',
      { kind: 'moved', from: 'cp2', to: 'cp3' },
      true,
      `; ${LEASE} went from cp2 to cp3 during this check (a failover): run it again`,
    ],
    [
      'released while watched',
      { kind: 'moved', from: 'cp2', to: null },
      true,
      `; ${LEASE} went from cp2 to no holder during this check (a failover): run it again`,
    ],
    [
      'naming this node',
      { kind: 'read', holder: 'cp1' },
      true,
      `; ${LEASE} names this node (cp1) as leader, yet the VIP is not here`,
    ],
    ['released', { kind: 'read', holder: null }, true, `; ${LEASE} is released: no kvip leads`],
    [
      'missing',
      { kind: 'none' },
      true,
      '; there is no Lease kube-system/plndr-cp-lock: no kvip leads with it',
    ],
    ['unreadable', { kind: 'failed', reason: 'HTTP 500' }, true, `; ${LEASE} could not be read: HTTP 500`],
    [
      'not read',
      undefined,
      true,
      `; ${LEASE} was not read (see the rows below), so whether it is this cluster's leader is not known`,
    ],
    ['absent: no leader election', undefined, false, 'stop it first'],
  ])('one host, a Lease %s: ✗ saying what the Lease says', (_what, lease, election, tail) => {
    const row = verdict(heard(M1), lease, false, election);
    expect(row.ok).toBe(false);
    expect(row.detail).toMatch(
      new RegExp(`^${escape(VIP)} is already answered by ${M1}: another node or device holds it`),
    );
    expect(row.detail.slice(-tail.length)).toBe(tail);
  });

  it('two hosts answer: ✗ naming both, even while the Lease names a renewing leader', () => {
    expect(verdict(heard(M1, M2), RENEWING)).toMatchObject({
      ok: false,
      detail: expect.stringMatching(`answered by ${M1} and ${M2}: more than one host holds it`),
    });
  });

  it('this node holds the VIP and another host answers: ✗ more than one holder, whatever the Lease says', () => {
    expect(verdict(heard(M1), RENEWING, true)).toMatchObject({
      ok: false,
      detail: expect.stringMatching(`answered by ${M1} while this node holds it too: more than one holder`),
    });
  });

  it('a probe that did not run keeps its row', () => {
    const row = { check: 'VIP on the segment', ok: false, detail: 'not checked: the probe needs NET_RAW' };
    expect(verdict({ row }, RENEWING)).toBe(row);
  });

  it('the Lease is wanted only when exactly one other host answers and the VIP is not here', () => {
    expect(needsLeader(heard(M1), host())).toBe(true);
    expect(needsLeader(heard(), host())).toBe(false);
    expect(needsLeader(heard(M1, M2), host())).toBe(false);
    expect(needsLeader(heard(M1), host(true))).toBe(false);
    expect(needsLeader(undefined, host())).toBe(false);
  });
});
