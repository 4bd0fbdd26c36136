// A VIP left on this node by an earlier run (SIGKILL, a crash, then the kubelet restarted kvip) would keep
// answering for the VIP while another node holds it. It is removed before anything else happens.
import type { Logger } from '../log.js';
import type { AddressPort } from './arp.js';

export async function removeStaleVip(
  addresses: Pick<AddressPort, 'find' | 'remove'>,
  vip: string,
  log: Logger,
  /** An interface where the VIP belongs on every node (lo in Packet mode): left alone. */
  keepOn?: string,
): Promise<void> {
  for (const stale of await addresses.find(vip)) {
    if (stale.ifname === keepOn) continue;
    await addresses.remove(stale.ifname, vip, stale.prefix);
    log.warn({ vip, interface: stale.ifname }, 'removed a stale virtual IP left by an earlier run');
  }
}
