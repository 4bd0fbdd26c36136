// Providers composed by mode, so that the elector and the service never know which one runs:
//   arp / address-only  the VIP on --interface (+ gratuitous ARP / unsolicited NA)
//   packet-eip          the VIP on lo on every node + the Elastic IP mover (Metal API)
//   bgp                 the VIP on lo on every node (or on --interface while leading) + the BGP announcer
import { isIP } from 'node:net';
import type { Config } from '../config/index.js';
import type { Logger } from '../log.js';
import { closePacket, openPacket, sendPacket } from '../native/index.js';
import type { PacketSetup } from '../packet/setup.js';
import type { SpeakerConfig } from '../bgp/config.js';
import type { Dialer } from '../bgp/dial.js';
import { communitiesOf } from '../bgp/peers.js';
import { BgpAnnouncer } from '../bgp/provider.js';
import { BgpSpeaker } from '../bgp/speaker.js';
import type { SessionState } from '../bgp/session.js';
import type { AddressManager } from '../vip/address.js';
import { ArpProvider } from '../vip/arp.js';
import { LocalBinding } from '../vip/binding.js';
import { ComposedProvider } from '../vip/compose.js';
import { FloatingIpMover } from '../vip/floating-ip-mover.js';
import { gratuitousArp, unsolicitedNa } from '../vip/frames.js';
import type { VipProvider } from '../vip/provider.js';

export interface ProviderDeps {
  addresses: AddressManager;
  log: Logger;
  /** This node's leadership is valid now (the service's predicate, read before every change). */
  leadingNow: () => boolean;
  /** The lease is still this node's, also while stopping (the shutdown unassign's guard). */
  leaseValid: () => boolean;
  /** This node's identity in the Lease. */
  identity: string;
  packet?: PacketSetup;
  bgp?: BgpSetup;
  /** Told what the providers do, for metrics; optional. */
  hooks?: ProviderHooks;
}

/** The BGP sessions as they are at this instant, one entry per peer. */
export type SessionStates = () => Array<{ peer: string; state: SessionState }>;

/** What metrics learn from the providers (src/metrics implements it); every call returns at once. */
export interface ProviderHooks {
  /** One gratuitous ARP (ipv4) or unsolicited NA (ipv6) frame was handed to the kernel. */
  announced?(family: 'ipv4' | 'ipv6'): void;
  /** BGP mode: how to read the speaker's sessions (at scrape time). */
  bgpSessions?(read: SessionStates): void;
}

/** What BGP mode runs with: the speaker's configuration (from flags or the Metal API) and how it dials. */
export interface BgpSetup {
  speaker: SpeakerConfig;
  dial: Dialer;
}

/**
 * Unassign the Elastic IP on SIGTERM (bounded) instead of leaving it for the next leader. Off: leaving it
 * had the shorter outage (README, "Equinix Metal"); the switch stays for the benchmark that compares them.
 */
export const UNASSIGN_ON_SHUTDOWN_ENV = 'KVIP_PACKET_UNASSIGN_ON_SHUTDOWN';

export function buildProvider(config: Config, d: ProviderDeps, env: NodeJS.ProcessEnv): VipProvider {
  const single = isIP(config.vip) === 6 ? 128 : 32;
  if (config.mode === 'packet-eip') {
    if (!d.packet) throw new Error('packet mode without its Metal setup');
    const binding = new LocalBinding({
      ifname: config.interface,
      vip: config.vip,
      prefix: single,
      addresses: d.addresses,
      log: d.log,
      keepOnClose: true,
    });
    const mover = new FloatingIpMover({
      cloud: d.packet.cloud,
      address: config.vip,
      deviceId: d.packet.device.id,
      identity: d.identity,
      leadingNow: d.leadingNow,
      leaseValid: d.leaseValid,
      reservation: d.packet.eip,
      log: d.log,
      ...(env[UNASSIGN_ON_SHUTDOWN_ENV] === '1'
        ? { unassignOnShutdownMs: 1500 /* under the 2 s shutdown step */ }
        : {}),
    });
    return new ComposedProvider('packet-eip', [binding, mover]);
  }
  if (config.mode === 'bgp') {
    if (!d.bgp) throw new Error('bgp mode without its speaker configuration');
    const speaker = new BgpSpeaker({
      config: d.bgp.speaker,
      dial: d.bgp.dial,
      log: d.log,
      mayAnnounce: d.leadingNow,
      communities: communitiesOf(config),
    });
    d.hooks?.bgpSessions?.(() => speaker.states());
    const announcer = new BgpAnnouncer({
      speaker,
      prefix: `${config.vip}/${single}`,
      leadingNow: d.leadingNow,
      log: d.log,
    });
    // On lo the address is on every node, so whichever node the routers pick accepts the traffic at once; on
    // another interface it would answer ARP for the VIP there, so it is added only while leading.
    const address: VipProvider =
      config.interface === 'lo'
        ? new LocalBinding({
            ifname: 'lo',
            vip: config.vip,
            prefix: single,
            addresses: d.addresses,
            log: d.log,
          })
        : arpProvider(config, d, false);
    return new ComposedProvider('bgp', [address, announcer]);
  }
  if (config.mode === 'arp' || config.mode === 'address-only') return arpProvider(config, d, config.arp);
  throw new Error(`no provider for mode ${config.mode}`);
}

function arpProvider(config: Config, d: ProviderDeps, announce: boolean): ArpProvider {
  const family = isIP(config.vip) === 6 ? 'ipv6' : 'ipv4';
  return new ArpProvider({
    ifname: config.interface,
    vip: config.vip,
    prefix: config.prefixLength,
    announce,
    arpRateMs: config.arpRate,
    addresses: d.addresses,
    packets: { open: openPacket, send: (fd, frame) => void sendPacket(fd, frame), close: closePacket },
    frame: family === 'ipv6' ? unsolicitedNa : gratuitousArp,
    log: d.log,
    leadingNow: d.leadingNow,
    ...(d.hooks?.announced ? { onAnnounced: () => d.hooks?.announced?.(family) } : {}),
  });
}
