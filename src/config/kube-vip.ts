// kube-vip options kvip does not implement, in one table. A kube-vip manifest with only its image swapped
// keeps working: each is accepted, and what kvip makes of it is one warning line on stderr, or nothing when
// the setting is what kvip does anyway. Warnings name the option, never its value.
import { coerceBool } from './formats.js';

export interface KubeVipOnly {
  /** kube-vip's flag. */
  flag: string;
  /** kube-vip's env names; a trailing `*` stands for every name with that prefix. */
  env: string[];
  /** An on/off option: what kvip always does. Set so, it is accepted silently. Absent: a value option. */
  kvip?: boolean;
  /** Why kvip ignores any other setting. */
  says: string;
}

const SERVICES = 'kvip holds the control-plane VIP only, no Service (type LoadBalancer) VIPs';
const LB = 'kvip has no IPVS load balancer: the API server on the node holding the VIP answers';
const DHCP = 'kvip takes the VIP from --vip and leases none by DHCP';

export const KUBE_VIP_ONLY: readonly KubeVipOnly[] = [
  { flag: '--controlplane', env: ['cp_enable'], kvip: true, says: 'kvip always holds the control-plane VIP' },
  { flag: '--services', env: ['svc_enable'], kvip: false, says: SERVICES },
  { flag: '--servicesElection', env: ['svc_election'], kvip: false, says: SERVICES },
  { flag: '--egressWithNftables', env: ['egress_*'], kvip: false, says: SERVICES },
  { flag: '--enableLoadBalancer', env: ['lb_enable'], kvip: false, says: LB },
  { flag: '--lbPort', env: ['lb_port'], says: LB },
  { flag: '--lbForwardingMethod', env: ['lb_fwdmethod'], says: LB },
  { flag: '--ddns', env: ['vip_ddns'], kvip: false, says: DHCP },
  { flag: '--dhcpMode', env: ['dhcp_mode'], says: DHCP },
  { flag: '--wireguard', env: ['vip_wireguard'], kvip: false, says: 'kvip has no WireGuard mode' },
  {
    flag: '--autodetectcp',
    env: ['cp_detect'],
    kvip: false,
    says: 'kvip reaches the API server as --apiServer (vip_apiserver) says, by default on 127.0.0.1',
  },
];

type Setting = [name: string, value: string | boolean];

function envSettings(names: readonly string[], env: NodeJS.ProcessEnv): Setting[] {
  const keys = names.flatMap((n) =>
    n.endsWith('*')
      ? Object.keys(env)
          .filter((k) => k.startsWith(n.slice(0, -1)))
          .sort()
      : [n],
  );
  return keys.flatMap((k): Setting[] => (env[k] === undefined ? [] : [[k, env[k]]]));
}

function agrees(option: KubeVipOnly, value: string | boolean): boolean {
  if (value === '') return true;
  if (option.kvip === undefined) return false;
  return (typeof value === 'boolean' ? value : coerceBool(value)) === option.kvip;
}

/**
 * One warning for each kube-vip-only option set to something kvip does not do. `flags` holds the flags as
 * typed (a bare switch is `true`); a flag wins over the env names of the same option, as everywhere.
 */
export function kubeVipOnlyWarnings(
  flags: Readonly<Record<string, string | boolean>>,
  env: NodeJS.ProcessEnv,
): string[] {
  const warnings: string[] = [];
  for (const option of KUBE_VIP_ONLY) {
    const flag = flags[option.flag];
    const settings: Setting[] = flag !== undefined ? [[option.flag, flag]] : envSettings(option.env, env);
    for (const [name, value] of settings)
      if (!agrees(option, value)) warnings.push(`warning: ${name} is ignored: ${option.says}`);
  }
  return warnings;
}
