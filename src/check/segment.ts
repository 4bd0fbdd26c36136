// `kvip check` in ARP mode: does anyone else on the segment already answer for the VIP? An ARP probe (IPv4) or
// a DAD neighbour solicitation (IPv6) out of the interface, and 1.2 s to listen (src/vip/neighbour-probe.ts).
// Neither makes any receiver cache anything. This node's own kernel never answers its own probe, so a VIP this
// node holds (a running kvip leader) shows as held here, not as a conflict.
import { isIP } from 'node:net';
import type { Config } from '../config/index.js';
import { whoAnswers } from '../vip/neighbour-probe.js';
import type { HostFacts } from './host.js';
import { notChecked, type CheckRow } from './row.js';

const CHECK = 'VIP on the segment';

export async function segmentRow(config: Config, host: HostFacts): Promise<CheckRow> {
  const { vip, interface: ifname } = config;
  if (!host.link) return notChecked(CHECK, host.linkProblem ?? `${ifname} is not usable`);
  if (host.missingCaps.includes('NET_RAW')) return notChecked(CHECK, 'the probe needs NET_RAW');
  const how = isIP(vip) === 4 ? 'ARP probe' : 'DAD neighbour solicitation';
  let mac: string | null;
  try {
    mac = await whoAnswers(ifname, host.link.mac, vip);
  } catch (err) {
    return { check: CHECK, ok: false, detail: `the ${how} failed: ${(err as Error).message}` };
  }
  if (mac === null)
    return {
      check: CHECK,
      ok: true,
      detail: host.holdsVip
        ? `this node holds ${vip} on ${ifname}; nobody else answers for it (${how})`
        : `nobody on ${ifname}'s segment answers for ${vip} (${how})`,
    };
  return {
    check: CHECK,
    ok: false,
    detail: host.holdsVip
      ? `${vip} is answered by ${mac} while this node holds it too: two holders; stop the other one ` +
        '(kube-vip, keepalived, a static address)'
      : `${vip} is already answered by ${mac}: another node or device holds it; if it is kube-vip/keepalived, stop it first`,
  };
}
