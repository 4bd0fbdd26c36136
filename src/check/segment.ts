// `kvip check` in ARP mode: does anyone else on the segment already answer for the VIP? An ARP probe (IPv4) or
// a DAD neighbour solicitation (IPv6) out of the interface, and 1.2 s to listen (src/vip/neighbour-probe.ts).
// Neither makes any receiver cache anything. This node's own kernel never answers its own probe, so a VIP this
// node holds (a running kvip leader) shows as held here, not as a conflict. On a follower of a running
// cluster the leader answers: when the Lease names another node as the valid leader, that answer is expected.
import { isIP } from 'node:net';
import type { Config } from '../config/index.js';
import { formatAge, type LeaseStatus } from '../status/status.js';
import { whoAnswers } from '../vip/neighbour-probe.js';
import type { HostFacts } from './host.js';
import { notChecked, type CheckRow } from './row.js';

const CHECK = 'VIP on the segment';

/** The row as the probe alone judges it, and the MAC that answered (null: nobody, or no probe ran). */
export interface SegmentFinding {
  row: CheckRow;
  answeredBy: string | null;
}

export async function probeSegment(config: Config, host: HostFacts): Promise<SegmentFinding> {
  const { vip, interface: ifname } = config;
  const alone = (row: CheckRow): SegmentFinding => ({ row, answeredBy: null });
  if (!host.link) return alone(notChecked(CHECK, host.linkProblem ?? `${ifname} is not usable`));
  if (host.missingCaps.includes('NET_RAW')) return alone(notChecked(CHECK, 'the probe needs NET_RAW'));
  const how = isIP(vip) === 4 ? 'ARP probe' : 'DAD neighbour solicitation';
  let mac: string | null;
  try {
    mac = await whoAnswers(ifname, host.link.mac, vip);
  } catch (err) {
    return alone({ check: CHECK, ok: false, detail: `the ${how} failed: ${(err as Error).message}` });
  }
  if (mac === null)
    return alone({
      check: CHECK,
      ok: true,
      detail: host.holdsVip
        ? `this node holds ${vip} on ${ifname}; nobody else answers for it (${how})`
        : `nobody on ${ifname}'s segment answers for ${vip} (${how})`,
    });
  const detail = host.holdsVip
    ? `${vip} is answered by ${mac} while this node holds it too: two holders; stop the other one ` +
      '(kube-vip, keepalived, a static address)'
    : `${vip} is already answered by ${mac}: another node or device holds it; if it is kube-vip/keepalived, stop it ` +
      'first (on a follower of a running kvip cluster this is its leader: `kvip status` names it)';
  return { row: { check: CHECK, ok: false, detail }, answeredBy: mac };
}

/**
 * The row once the Lease is known (undefined: it was not read). Another node answering is what a follower
 * sees while the Lease names another node as the valid leader and this node does not hold the VIP; anything
 * else the probe found stands.
 */
export function segmentRow(
  config: Config,
  host: HostFacts,
  found: SegmentFinding,
  lease: LeaseStatus | null | undefined,
): CheckRow {
  const mac = found.answeredBy;
  if (mac === null || host.holdsVip || !lease || lease.state !== 'valid' || lease.holder === null)
    return found.row;
  if (lease.holder === config.nodeName)
    return {
      check: CHECK,
      ok: false,
      detail:
        `${config.vip} is answered by ${mac}, but the Lease names this node (${config.nodeName}) as leader and ` +
        'the VIP is not here: another holder, or another process leads under this node name',
    };
  const renewed =
    lease.renewedSecondsAgo === null ? '' : `, renewed ${formatAge(lease.renewedSecondsAgo)} ago`;
  return {
    check: CHECK,
    ok: true,
    detail:
      `${config.vip} is answered by ${mac}, and the Lease names ${lease.holder} as leader${renewed}: ` +
      `as expected on a follower (${mac} should be ${lease.holder}'s)`,
  };
}
