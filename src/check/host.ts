// `kvip check`, this host: the interface (there, up, with carrier; IPv6 on it for an IPv6 VIP), whether the
// VIP is already on this node and whether that is what kvip would have done, and the capabilities kvip needs.
// Reads only: rtnetlink dumps, /proc.
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Config } from '../config/index.js';
import { missingCapabilities, neededCapabilities, raiseCapabilities } from '../service/capabilities.js';
import { ipv4Label, type AddressManager, type LinkInfo } from '../vip/address.js';
import { notChecked, type CheckRow } from './row.js';

export interface HostFacts {
  rows: CheckRow[];
  /** The interface, when it is there, up and has carrier. */
  link?: LinkInfo;
  /** Why the interface cannot be used, for the rows that need it. */
  linkProblem?: string;
  /** This node has the VIP on the interface kvip puts it on. */
  holdsVip: boolean;
  /** The capabilities this process lacks of those kvip needs. */
  missingCaps: string[];
}

/** In Packet mode, and BGP mode on lo, the VIP is on every node; elsewhere only on the leader. */
export function vipOnEveryNode(config: Config): boolean {
  return config.mode === 'packet-eip' || (config.mode === 'bgp' && config.interface === 'lo');
}

/** What kvip start checks for: NET_ADMIN (addresses, routes), and NET_RAW for ARP / NA frames. */
const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

async function interfaceRow(
  config: Config,
  addresses: AddressManager,
): Promise<{ row: CheckRow; link?: LinkInfo }> {
  const name = config.interface;
  const check = 'interface';
  let link: LinkInfo;
  try {
    link = await addresses.link(name);
  } catch (err) {
    return { row: { check, ok: false, detail: message(err) } };
  }
  if (!link.up) return { row: { check, ok: false, detail: `${name} is down: ip link set ${name} up` } };
  if (!link.carrier)
    return {
      row: {
        check,
        ok: false,
        detail: `${name} is up but has no carrier: check its cable, switch port or peer`,
      },
    };
  const mac = /^[0:]*$/.test(link.mac) ? '' : `, MAC ${link.mac}`;
  return {
    row: { check, ok: true, detail: `${name}: up${mac}${link.mtu ? `, MTU ${link.mtu}` : ''}` },
    link,
  };
}

/** IPv6 on the interface, for an IPv6 VIP: the kernel may have it off everywhere or on this interface. */
function ipv6Row(ifname: string): CheckRow {
  const check = `IPv6 on ${ifname}`;
  if (!existsSync('/proc/sys/net/ipv6'))
    return { check, ok: false, detail: 'IPv6 is off in this kernel (ipv6.disable=1?): use an IPv4 --vip' };
  let value = '';
  try {
    value = readFileSync(`/proc/sys/net/ipv6/conf/${ifname}/disable_ipv6`, 'utf8').trim();
  } catch {
    return { check, ok: true, detail: 'no per-interface setting: enabled' };
  }
  return value === '1'
    ? {
        check,
        ok: false,
        detail: `disabled: sysctl -w net.ipv6.conf.${ifname}.disable_ipv6=0, or use an IPv4 --vip`,
      }
    : { check, ok: true, detail: 'enabled' };
}

/** Is the VIP on this node already, where, and is that what kvip would have done? */
async function vipRow(config: Config, addresses: AddressManager): Promise<{ row: CheckRow; holds: boolean }> {
  const check = 'VIP on this node';
  const { vip, interface: ifname } = config;
  const found = await addresses.find(vip);
  const elsewhere = found.filter((f) => f.ifname !== ifname);
  const here = found.some((f) => f.ifname === ifname);
  if (elsewhere.length > 0) {
    const where = elsewhere.map((f) => `${vip}/${f.prefix} on ${f.ifname}`).join(', ');
    return {
      row: {
        check,
        ok: false,
        detail:
          `${where}, where kvip does not put it: kvip start removes it; if another program put it there ` +
          '(keepalived, kube-vip, a static address), stop that first',
      },
      holds: here,
    };
  }
  if (!here) {
    const detail = vipOnEveryNode(config)
      ? `not on ${ifname} yet: kvip adds it when it starts (${config.mode} mode: on every node)`
      : `not on this node: kvip adds it to ${ifname} while this node leads`;
    return { row: { check, ok: true, detail }, holds: false };
  }
  if (vipOnEveryNode(config))
    return {
      row: {
        check,
        ok: true,
        detail: `on ${ifname}, as expected in ${config.mode} mode (every node has it)`,
      },
      holds: true,
    };
  // kvip labels an IPv4 VIP "<ifname>:kvip" where the name fits: another label is another program's address.
  const label = isIP(vip) === 4 ? ipv4Label(ifname, 'kvip') : undefined;
  const labels = label ? await addresses.labels(ifname, vip) : [];
  if (label && !labels.includes(label))
    return {
      row: {
        check,
        ok: false,
        detail:
          `on ${ifname} without kvip's label ${label} (${labels.join(', ')}): another program or a static ` +
          'address holds it; remove it, or stop that program (keepalived, kube-vip) first',
      },
      holds: true,
    };
  const whose = label ? ` with kvip's label ${label}` : '';
  return {
    row: {
      check,
      ok: true,
      detail: `on ${ifname}${whose}: this node holds it (a running kvip leader, or an earlier run's, which kvip start removes)`,
    },
    holds: true,
  };
}

function capabilityRow(missing: string[], needed: string[]): CheckRow {
  const check = 'capabilities';
  if (missing.length === 0) return { check, ok: true, detail: `${needed.join(', ')} effective` };
  return {
    check,
    ok: false,
    detail:
      `missing ${missing.join(', ')}: run as root, or add ${needed.join(', ')} to the container's ` +
      'securityContext.capabilities.add (kvip manifest pod and daemonset do)',
  };
}

export async function hostRows(config: Config, addresses: AddressManager): Promise<HostFacts> {
  const rows: CheckRow[] = [];
  const { row, link } = await interfaceRow(config, addresses);
  rows.push(row);
  const linkProblem = link ? undefined : `${config.interface} is not usable (see interface)`;
  if (isIP(config.vip) === 6)
    rows.push(
      linkProblem ? notChecked(`IPv6 on ${config.interface}`, linkProblem) : ipv6Row(config.interface),
    );
  let holdsVip = false;
  try {
    const vip = await vipRow(config, addresses);
    rows.push(vip.row);
    holdsVip = vip.holds;
  } catch (err) {
    rows.push({ check: 'VIP on this node', ok: false, detail: message(err) });
  }
  const needed = neededCapabilities(config);
  // As `kvip start` does: a non-root kvip's permitted file capabilities made effective (this process only).
  raiseCapabilities(needed);
  const missingCaps = missingCapabilities(needed);
  rows.push(
    capabilityRow(
      missingCaps,
      needed.map((c) => c.name),
    ),
  );
  return {
    rows,
    ...(link ? { link } : {}),
    ...(linkProblem ? { linkProblem } : {}),
    holdsVip,
    missingCaps,
  };
}
