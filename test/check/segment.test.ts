// The "VIP on the segment" verdict from what the probe heard and what the Lease says: one other host answering
// is a follower's leader only when the Lease names another node that renewed it while check watched; two
// hosts answering, or this node holding the VIP too, never is.
import { loadConfig } from '../../src/config/index.js';
import type { HostFacts } from '../../src/check/host.js';
import type { LeaseReading } from '../../src/check/kube.js';
import { needsLeader, segmentRow, type SegmentProbe } from '../../src/check/segment.js';

const VIP = '198.51.100.100';
const M1 = '02:00:00:00:00:01';
const M2 = '02:00:00:00:00:02';

function config(leaderElection = true) {
  const flags: Record<string, string | boolean> = { vip: VIP, interface: 'eth0', arp: true, leaderElection };
  const input = Object.fromEntries(Object.entries(flags).map(([k, v]) => [k, { value: v, name: `--${k}` }]));
  return loadConfig({ flags: input, env: {} }, 'check');
}

const host = (holdsVip = false): HostFacts => ({ rows: [], holdsVip, missingCaps: [] });
const heard = (...answers: string[]): SegmentProbe => ({ answers, how: 'ARP probe' });
const verdict = (found: SegmentProbe, lease?: LeaseReading, holds = false, leaderElection = true) =>
  segmentRow(config(leaderElection), host(holds), found, lease, 'cp1');

describe('VIP on the segment', () => {
  it('nobody answers: ✓, whoever the Lease names', () => {
    expect(verdict(heard(), { kind: 'read', holder: 'cp2', renewing: false })).toMatchObject({
      ok: true,
      detail: `nobody on eth0's segment answers for ${VIP} (ARP probe)`,
    });
    expect(verdict(heard(), undefined, true).detail).toMatch(/^this node holds .* nobody else answers/);
  });

  it('one host, and the Lease names another node that renewed it during the check: ✓ naming both', () => {
    expect(verdict(heard(M1), { kind: 'read', holder: 'cp2', renewing: true })).toEqual({
      check: 'VIP on the segment',
      ok: true,
      detail:
        `${VIP} is answered by ${M1} alone, and the Lease names cp2, which renewed it during this check: as ` +
        `expected on a follower (${M1} should be cp2's)`,
    });
  });

  it.each<[string, LeaseReading | undefined, boolean, RegExp]>([
    [
      'not renewed while watched',
      { kind: 'read', holder: 'cp2', renewing: false, watchedMs: 4000 },
      true,
      /; the Lease kube-system\/plndr-cp-lock names cp2, which did not renew it within 4 s: no kvip leader is answering$/,
    ],
    [
      'naming this node',
      { kind: 'read', holder: 'cp1' },
      true,
      /; the Lease kube-system\/plndr-cp-lock names this node \(cp1\) as leader, yet the VIP is not here$/,
    ],
    [
      'released',
      { kind: 'read', holder: null },
      true,
      /; the Lease kube-system\/plndr-cp-lock is released: no kvip leads$/,
    ],
    [
      'missing',
      { kind: 'none' },
      true,
      /; there is no Lease kube-system\/plndr-cp-lock: no kvip leads with it$/,
    ],
    [
      'unreadable',
      { kind: 'failed', reason: 'HTTP 500' },
      true,
      /; the Lease kube-system\/plndr-cp-lock could not be read: HTTP 500$/,
    ],
    [
      'not read (no access)',
      undefined,
      true,
      /stop it first; the Lease kube-system\/plndr-cp-lock was not read \(see the rows below\), so whether it is this cluster's leader is not known$/,
    ],
    ['no leader election', undefined, false, /stop it first$/],
  ])('one host, a Lease %s: ✗ saying what the Lease says', (_what, lease, election, tail) => {
    const row = verdict(heard(M1), lease, false, election);
    expect(row.ok).toBe(false);
    expect(row.detail).toMatch(
      new RegExp(`^${VIP} is already answered by ${M1}: another node or device holds it`),
    );
    expect(row.detail).toMatch(tail);
  });

  it('two hosts answer: ✗ naming both, even while the Lease names a renewing leader', () => {
    const row = verdict(heard(M1, M2), { kind: 'read', holder: 'cp2', renewing: true });
    expect(row).toMatchObject({
      ok: false,
      detail: expect.stringMatching(`answered by ${M1} and ${M2}: more than one host holds it`),
    });
  });

  it('this node holds the VIP and another host answers: ✗ two holders, whatever the Lease says', () => {
    const row = verdict(heard(M1), { kind: 'read', holder: 'cp2', renewing: true }, true);
    expect(row).toMatchObject({
      ok: false,
      detail: expect.stringMatching(`answered by ${M1} while this node holds it too`),
    });
  });

  it('a probe that did not run keeps its row', () => {
    const row = { check: 'VIP on the segment', ok: false, detail: 'not checked: the probe needs NET_RAW' };
    expect(verdict({ row }, { kind: 'read', holder: 'cp2', renewing: true })).toBe(row);
  });

  it('the holder is watched only when exactly one other host answers and the VIP is not here', () => {
    expect(needsLeader(heard(M1), host())).toBe(true);
    expect(needsLeader(heard(), host())).toBe(false);
    expect(needsLeader(heard(M1, M2), host())).toBe(false);
    expect(needsLeader(heard(M1), host(true))).toBe(false);
    expect(needsLeader(undefined, host())).toBe(false);
  });
});
