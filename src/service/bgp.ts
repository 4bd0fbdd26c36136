// What BGP mode needs before the first change: the speaker's configuration, from the flags or (with
// --packet) from the Metal API / metadata service, the host routes Metal's peers need, and the dialer every
// session connects through (the native addon: TCP MD5 and the TTL are set on the socket before connect).
import type { Config } from '../config/index.js';
import type { Logger } from '../log.js';
import { nativeDialer } from '../bgp/native-dial.js';
import { speakerConfigFromFlags } from '../bgp/peers.js';
import { describeSpeaker } from '../packet/bgp-source.js';
import { preparePacketBgp } from '../packet/bgp-setup.js';
import { kernelRoutes } from '../vip/routes.js';
import type { MetalResponseHook } from '../packet/setup.js';
import type { BgpSetup } from './providers.js';

export async function prepareBgp(
  config: Config,
  log: Logger,
  onMetalResponse?: MetalResponseHook,
): Promise<BgpSetup> {
  if (config.packet) {
    const setup = await preparePacketBgp(config, log, {
      routes: kernelRoutes(),
      onResponse: onMetalResponse,
    });
    return { speaker: setup.speaker, dial: nativeDialer };
  }
  const speaker = speakerConfigFromFlags(config);
  log.info(describeSpeaker(speaker), `BGP: ${speaker.peers.length} peer(s) from the flags`);
  return { speaker, dial: nativeDialer };
}
