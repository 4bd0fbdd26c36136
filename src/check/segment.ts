// `kvip check` in ARP mode: does anyone else on the segment already answer for the VIP? An ARP probe (IPv4) or
// a DAD neighbour solicitation (IPv6) out of the interface, and 1.2 s to listen to every answer
// (src/vip/neighbour-probe.ts). Neither makes any receiver cache anything. This node's own kernel never
// answers its own probe, so a VIP this node holds (a running kvip leader) shows as held here, not as a
// conflict. On a follower of a running cluster the leader answers: one host answering is expected when the
// Lease names another node and that node renewed it while check watched. More than one host answering, or
// another host while this node holds the VIP, never is.
import { isIP } from 'node:net';
import type { Config } from '../config/index.js';
import { whoAnswers } from '../vip/neighbour-probe.js';
import type { HostFacts } from './host.js';
import type { LeaseReading } from './lease.js';
import { notChecked, type CheckRow } from './row.js';

const CHECK = 'VIP on the segment';

/** What the probe found: the MACs that answered, each once; or the row saying why it did not run. */
export type SegmentProbe = { answers: string[]; how: string } | { row: CheckRow };

export async function probeSegment(config: Config, host: HostFacts): Promise<SegmentProbe> {
  const { vip, interface: ifname } = config;
  if (!host.link) return { row: notChecked(CHECK, host.linkProblem ?? `${ifname} is not usable`) };
  if (host.missingCaps.includes('NET_RAW')) return { row: notChecked(CHECK, 'the probe needs NET_RAW') };
  const how = isIP(vip) === 4 ? 'ARP probe' : 'DAD neighbour solicitation';
  try {
    return { answers: await whoAnswers(ifname, host.link.mac, vip), how };
  } catch (err) {
    return { row: { check: CHECK, ok: false, detail: `the ${how} failed: ${(err as Error).message}` } };
  }
}

/** Whether the probe needs the Lease's holder watched to be judged: one other host answers for the VIP. */
export function needsLeader(found: SegmentProbe | undefined, host: HostFacts | undefined): boolean {
  return found !== undefined && 'answers' in found && found.answers.length === 1 && !host?.holdsVip;
}

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;
/** How far short of the window the last answered read may be and still count as the whole window. */
const SEEN_SLACK_MS = 500;

/** What the Lease adds to "another host answers" when it does not explain it. */
function leaseNote(config: Config, lease: LeaseReading | undefined, identity: string): string {
  const name = `the Lease ${config.namespace}/${config.leaseName}`;
  if (!lease)
    return config.leaderElection
      ? `; ${name} was not read (see the rows below), so whether it is this cluster's leader is not known`
      : '';
  switch (lease.kind) {
    case 'none':
      return `; there is no Lease ${config.namespace}/${config.leaseName}: no kvip leads with it`;
    case 'failed':
      return `; ${name} could not be read: ${lease.reason}`;
    case 'moved':
      return `; ${name} went from ${lease.from} to ${lease.to ?? 'no holder'} during this check (a failover): run it again`;
    case 'deleted':
      return `; ${name}, held by ${lease.from}, was deleted during this check: run it again`;
    case 'read':
      return lease.holder === null
        ? `; ${name} is released: no kvip leads`
        : `; ${name} names this node (${identity}) as leader, yet the VIP is not here`;
    case 'watched': {
      const why = lease.error ? `reading it failed: ${lease.error}` : 'no read was answered';
      // Seen over (nearly) the whole window: a leader would have renewed by then.
      if (lease.seenMs >= lease.windowMs - SEEN_SLACK_MS)
        return (
          `; ${name} names ${lease.holder}, which did not renew it within ${seconds(lease.seenMs)}: no kvip ` +
          'leader is answering (if the cluster runs with other --retryPeriod/--renewDeadline, pass them)'
        );
      return (
        `; ${name} names ${lease.holder}, but whether it renews it is not known: it was seen for ` +
        `${seconds(lease.seenMs)} of ${seconds(lease.windowMs)}, then ${why}; run check again`
      );
    }
  }
}

/** The row, once the Lease is known (undefined: it was not read). */
export function segmentRow(
  config: Config,
  host: HostFacts,
  found: SegmentProbe,
  lease: LeaseReading | undefined,
  identity: string,
): CheckRow {
  if ('row' in found) return found.row;
  const { vip, interface: ifname } = config;
  const { answers, how } = found;
  if (answers.length === 0)
    return {
      check: CHECK,
      ok: true,
      detail: host.holdsVip
        ? `this node holds ${vip} on ${ifname}; nobody else answers for it (${how})`
        : `nobody on ${ifname}'s segment answers for ${vip} (${how})`,
    };
  const macs = answers.join(' and ');
  if (host.holdsVip)
    return {
      check: CHECK,
      ok: false,
      detail:
        `${vip} is answered by ${macs} while this node holds it too: more than one holder; stop the ` +
        'others (kube-vip, keepalived, a static address)',
    };
  if (answers.length > 1)
    return {
      check: CHECK,
      ok: false,
      detail:
        `${vip} is answered by ${macs}: more than one host holds it; at most one may (the kvip leader): stop ` +
        'the others (kube-vip, keepalived, a static address)',
    };
  const mac = answers[0] as string;
  if (lease?.kind === 'watched' && lease.renewed)
    return {
      check: CHECK,
      ok: true,
      detail:
        `${vip} is answered by ${mac} alone, and the Lease names ${lease.holder}, which renewed it during this ` +
        `check: as expected on a follower (${mac} should be ${lease.holder}'s)`,
    };
  return {
    check: CHECK,
    ok: false,
    detail:
      `${vip} is already answered by ${mac}: another node or device holds it; if it is kube-vip/keepalived, ` +
      `stop it first${leaseNote(config, lease, identity)}`,
  };
}
