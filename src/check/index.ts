// `kvip check`: everything `kvip start` needs, checked before anything is changed, one row each. Every check
// that can run does, so one run shows all that is wrong; a row that depends on a failed one says so. None
// changes the host, the cloud or the cluster: rtnetlink and /proc are read, the ARP probe / DAD solicitation
// makes no receiver cache anything, the API server is asked (SelfSubjectAccessReview) rather than tried and
// the Lease only read (GET), the Metal API only gets GETs, and a BGP peer gets a TCP connection that is
// closed before a byte is sent.
import type { Config } from '../config/index.js';
import { createLogger } from '../log.js';
import { checkPacket } from '../packet/check.js';
import { AddressManager } from '../vip/address.js';
import { kernelRoutes } from '../vip/routes.js';
import { bgpPeerRows } from './bgp.js';
import { hostRows, type HostFacts } from './host.js';
import { kubeRows } from './kube.js';
import { identityOf } from './lease.js';
import type { CheckRow } from './row.js';
import { needsLeader, probeSegment, segmentRow, type SegmentProbe } from './segment.js';

export { checkFormat, formatReport, type CheckFormat, type CheckRow } from './row.js';

/** What the options amount to: they are valid, or loading them failed before any check ran. */
function configRow(config: Config): CheckRow {
  const election = config.leaderElection
    ? `leader election in ${config.namespace}/${config.leaseName}`
    : 'no leader election: this node holds the VIP at once';
  return {
    check: 'configuration',
    ok: true,
    detail: `${config.mode} mode, VIP ${config.vip}/${config.prefixLength} on ${config.interface}, ${election}`,
  };
}

/** The kernel's routes, unless the addon does not load (the interface row has said so then). */
function routesIfAny(): { routes?: ReturnType<typeof kernelRoutes> } {
  try {
    return { routes: kernelRoutes() };
  } catch {
    return {};
  }
}

export async function runChecks(config: Config, env: NodeJS.ProcessEnv): Promise<CheckRow[]> {
  let hostOut: CheckRow[] = [];
  let host: HostFacts | undefined;
  let segment: SegmentProbe | undefined;
  let addresses: AddressManager | undefined;
  try {
    addresses = await AddressManager.open();
    host = await hostRows(config, addresses);
    hostOut = host.rows;
    if (config.mode === 'arp') segment = await probeSegment(config, host);
  } catch (err) {
    hostOut = [
      ...hostOut,
      { check: 'interface', ok: false, detail: err instanceof Error ? err.message : String(err) },
    ];
  } finally {
    addresses?.close();
  }
  // The Lease tells whether one other host answering for the VIP is this follower's leader.
  const kube = config.leaderElection ? await kubeRows(config, env, needsLeader(segment, host)) : undefined;
  const segmentOut =
    segment && host ? [segmentRow(config, host, segment, kube?.lease, identityOf(config))] : [];
  const rows = [configRow(config), ...hostOut, ...segmentOut, ...(kube?.rows ?? [])];
  if (config.packet) {
    // With --bgp the Metal part also checks the routes to Metal's peers (reads only).
    rows.push(...(await checkPacket(config, createLogger('silent'), config.bgp ? routesIfAny() : {})));
  } else if (config.bgp) {
    rows.push(...(await bgpPeerRows(config)));
  }
  return rows;
}
