// Resolve the options from flags and environment (flag > env > default) through convict, then check the
// rules that tie options together. Every failure is a ConfigError: one line naming the option as the user
// set it (the flag or the env name) and what is expected.
import { isIP } from 'node:net';
import convict from 'convict';
import { leaseTimingProblem } from '../election/timing.js';
import { registerFormats, parsePeer, MD5_KEY_MAX, type BgpPeer } from './formats.js';
import { OPTIONS, OPTION_KEYS, optionLabel, spec, type OptionKey } from './schema.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export interface Settings {
  arp: boolean;
  interface: string;
  leaderElection: boolean;
  leaseDuration: number;
  renewDeadline: number;
  retryPeriod: number;
  healthCheck: string;
  healthCheckPeriod: number;
  healthCheckTimeout: number;
  healthCheckFailures: number;
  healthCheckSuccesses: number;
  vip: string;
  cidr: number | null;
  port: number;
  arpRate: number;
  leaseName: string;
  namespace: string;
  nodeName: string;
  packet: boolean;
  packetKey: string;
  packetKeyFile: string;
  packetProject: string;
  packetProjectID: string;
  packetDeviceID: string;
  packetAPIURL: string;
  packetMetadataURL: string;
  packetSecret: string;
  bgp: boolean;
  localAS: number;
  bgpRouterID: string;
  peerAS: number;
  peerAddress: string;
  peerPass: string;
  multihop: boolean;
  peers: string[];
  holdTime: number;
  keepaliveInterval: number | null;
  bgpCommunities: string[];
  prometheusServer: string;
  k8sConfigPath: string;
  apiServer: string;
  inCluster: boolean;
  logLevel: string;
  image: string;
  k3s: boolean;
}

/** How the VIP is held: announced on layer 2, routed by BGP, or moved as a Metal Elastic IP. */
export type VipMode = 'arp' | 'bgp' | 'packet-eip' | 'address-only';

export type Source = { kind: 'flag' | 'env'; name: string } | { kind: 'default' };

export interface Config extends Settings {
  mode: VipMode;
  /** VIP prefix length actually used: --cidr, or 32 / 128. */
  prefixLength: number;
  /** --peerAddress (if any) followed by --bgppeers, parsed. */
  bgpPeers: BgpPeer[];
  /** --keepaliveInterval, or a third of --holdTime when it is not set (0 with hold time 0). */
  keepaliveInterval: number;
  /** Where each option's value came from; manifests write what was set, errors name it as it was set. */
  sources: Record<OptionKey, Source>;
}

export type Purpose = 'start' | 'check' | 'status' | 'manifest-pod' | 'manifest-daemonset' | 'manifest-rbac';

export interface RawInput {
  /** Values from the command line keyed by option, with the flag name the user typed. */
  flags: Partial<Record<OptionKey, { value: string | boolean; name: string }>>;
  env: NodeJS.ProcessEnv;
}

let formatsRegistered = false;

function convictSchema(): convict.Schema<Settings> {
  const schema: Record<string, unknown> = {};
  for (const key of OPTION_KEYS) {
    const s = spec(key);
    schema[key] = {
      format: s.format,
      default: s.default,
      doc: s.doc,
      sensitive: s.sensitive === true,
      nullable: s.default === null,
    };
  }
  return schema as unknown as convict.Schema<Settings>;
}

export function labelOf(key: OptionKey, sources: Record<OptionKey, Source>): string {
  const src = sources[key];
  return src.kind === 'default' ? optionLabel(key) : src.name;
}

export function loadConfig(input: RawInput, purpose: Purpose): Config {
  if (!formatsRegistered) {
    registerFormats();
    formatsRegistered = true;
  }
  // convict reads no env or argv of its own: kube-vip has alias names it does not know about.
  const conf = convict<Settings>(convictSchema(), { env: {}, args: [] });
  const sources = {} as Record<OptionKey, Source>;
  for (const key of OPTION_KEYS) {
    const flag = input.flags[key];
    const envName = spec(key).env.find((name) => input.env[name] !== undefined);
    if (flag !== undefined) {
      conf.set(key, flag.value as never);
      sources[key] = { kind: 'flag', name: flag.name };
    } else if (envName !== undefined) {
      conf.set(key, input.env[envName] as never);
      sources[key] = { kind: 'env', name: envName };
    } else {
      sources[key] = { kind: 'default' };
    }
  }
  try {
    conf.validate({ allowed: 'strict' });
  } catch (err) {
    throw formatConvictError(String((err as Error).message), sources);
  }
  const settings = conf.getProperties();
  return resolve(settings, sources, purpose);
}

function formatConvictError(message: string, sources: Record<OptionKey, Source>): ConfigError {
  const first = message.split('\n')[0] ?? message;
  const m = /^([A-Za-z0-9]+): (.*?)(?:: value was (.*))?$/.exec(first);
  if (!m || !((m[1] as string) in OPTIONS)) return new ConfigError(first);
  const key = m[1] as OptionKey;
  const got = m[3] !== undefined && spec(key).sensitive !== true ? ` (got ${m[3]})` : '';
  return new ConfigError(`${labelOf(key, sources)} ${m[2]}${got}`);
}

function resolve(s: Settings, sources: Record<OptionKey, Source>, purpose: Purpose): Config {
  const label = (key: OptionKey) => labelOf(key, sources);
  const isSet = (key: OptionKey) => sources[key].kind !== 'default';
  const fail = (message: string): never => {
    throw new ConfigError(message);
  };
  const needsVip = purpose !== 'manifest-rbac' && purpose !== 'status';

  const { leaseDuration: ld, renewDeadline: rd, retryPeriod: rp } = s;
  const values = { leaseDuration: ld, renewDeadline: rd, retryPeriod: rp };
  const timing = leaseTimingProblem(
    { leaseDurationMs: ld * 1000, renewDeadlineMs: rd * 1000, retryPeriodMs: rp * 1000 },
    (key) => `${label(key)} ${values[key]}`,
  );
  if (timing) fail(timing);
  if (isSet('healthCheck') && s.healthCheck !== 'off' && !s.leaderElection)
    fail(
      `${label('healthCheck')} gates leadership and needs ${label('leaderElection')}: add it, or drop the health check option`,
    );

  // A DaemonSet, and so any in-cluster kvip, runs on every control-plane node: without an election all hold the VIP.
  const everyNode = 'each node would add the VIP at once';
  if (!s.leaderElection && purpose === 'manifest-daemonset')
    fail(
      `${label('leaderElection')} is required for a DaemonSet: it runs on every control-plane node and ${everyNode}`,
    );
  if (!s.leaderElection && s.inCluster && (purpose === 'start' || purpose === 'check'))
    fail(
      `${label('leaderElection')} is required with ${label('inCluster')}: in-cluster kvip runs on several nodes and ${everyNode}`,
    );

  const family = isIP(s.vip);
  if (needsVip && family === 0) fail(`${label('vip')} is required: the virtual IP, e.g. --vip 192.168.0.75`);
  const maxPrefix = family === 6 ? 128 : 32;
  if (s.cidr !== null && s.cidr > maxPrefix)
    fail(
      `${label('cidr')} ${s.cidr} is too long for an IPv${family === 6 ? 6 : 4} VIP (at most ${maxPrefix})`,
    );

  if (s.packet && isSet('arp') && s.arp)
    fail(
      `${label('arp')} cannot be used with ${label('packet')}: ARP does not work in the Metal network; drop --arp`,
    );
  if (s.bgp && isSet('arp') && s.arp)
    fail(`${label('arp')} cannot be used with ${label('bgp')}: choose one way to move the VIP`);
  const arp = isSet('arp') ? s.arp : s.arp && !s.packet && !s.bgp;

  let iface = s.interface;
  if (iface === '' && (s.packet || s.bgp)) iface = 'lo';
  if (needsVip && iface === '')
    fail(`${label('interface')} is required: the interface on the VIP's network, e.g. --interface eth0`);
  if (s.packet && !s.bgp && iface !== 'lo')
    fail(
      `${label('interface')} must be lo with ${label('packet')}: the Elastic IP is routed to the server and bound to lo`,
    );
  if (arp && iface === 'lo')
    fail(`${label('interface')} lo cannot carry ARP; name a physical interface or use --arp=false`);

  if (s.packet) {
    if (s.packetProject === '' && s.packetProjectID === '')
      fail(`${label('packet')} needs ${label('packetProject')} or ${label('packetProjectID')}`);
    // A token in the generating shell's environment (the reference page exports PACKET_AUTH_TOKEN) is never
    // written into a manifest, so for manifests only a --packetKey flag counts.
    const literalKey = sources.packetKey.kind === 'flag';
    const keyCounts = purpose === 'start' || purpose === 'check' ? s.packetKey !== '' : literalKey;
    if (keyCounts && s.packetKeyFile !== '')
      fail(`${label('packetKey')} and ${label('packetKeyFile')} cannot both be set; use one`);
    if (purpose === 'manifest-pod' && !s.bgp && !literalKey && s.packetKeyFile === '')
      fail(
        `${label('packet')} needs ${label('packetKeyFile')} (a file on each node holding the Metal API token)`,
      );
    // BGP peers can come from the metadata service alone (no token); the Elastic IP moves only through the API.
    if (
      (purpose === 'start' || purpose === 'check') &&
      !s.bgp &&
      s.packetKey === '' &&
      s.packetKeyFile === ''
    )
      fail(
        `${label('packet')} needs the Metal API token: ${label('packetKey')} or ${label('packetKeyFile')}`,
      );
  }

  if (s.peerPass !== '' && s.peerAddress === '')
    fail(`${label('peerPass')} is set but ${label('peerAddress')} is not`);
  let bgpPeers: BgpPeer[];
  try {
    bgpPeers = s.peers.map((entry, i) => parsePeer(entry, i));
  } catch (err) {
    return fail(`${label('peers')} ${(err as Error).message}`);
  }
  if (s.peerAddress !== '')
    bgpPeers.unshift({ address: s.peerAddress, as: s.peerAS, password: s.peerPass, multihop: s.multihop });
  if (s.bgp && !s.packet && bgpPeers.length === 0)
    fail(
      `${label('bgp')} needs a peer: ${label('peerAddress')} or ${label('peers')} (or --packet to ask the Metal API)`,
    );
  if (s.holdTime > 0 && s.keepaliveInterval !== null && s.keepaliveInterval >= s.holdTime)
    fail(
      `${label('keepaliveInterval')} ${s.keepaliveInterval} must be less than ${label('holdTime')} ${s.holdTime}`,
    );
  const keepaliveInterval =
    s.keepaliveInterval ?? (s.holdTime === 0 ? 0 : Math.max(1, Math.floor(s.holdTime / 3)));
  if (Buffer.byteLength(s.peerPass) > MD5_KEY_MAX)
    fail(`${label('peerPass')} is over ${MD5_KEY_MAX} bytes (the TCP MD5 limit)`);
  if (s.bgp) {
    const vipFamily = isIP(s.vip);
    bgpPeers.forEach((p, i) => {
      const name =
        i === 0 && s.peerAddress !== ''
          ? label('peerAddress')
          : `${label('peers')} entry ${i + (s.peerAddress !== '' ? 0 : 1)}`;
      if (vipFamily !== 0 && isIP(p.address) !== vipFamily)
        fail(
          `${name} is IPv${isIP(p.address)} but ${label('vip')} is IPv${vipFamily}: the VIP is announced to peers of its own family`,
        );
    });
    if (s.bgpRouterID === '0.0.0.0' || s.bgpRouterID === '255.255.255.255')
      fail(`${label('bgpRouterID')} cannot be ${s.bgpRouterID}`);
    if (s.peerAddress.includes('%'))
      fail(`${label('peerAddress')} cannot carry a %zone: link-local peers are not supported`);
    const seen = new Set<string>();
    for (const p of bgpPeers) {
      const key = p.address.toLowerCase();
      if (seen.has(key)) fail(`${label('peers')}: peer ${p.address} is listed twice`);
      seen.add(key);
    }
    if (
      !s.packet &&
      s.bgpRouterID === '' &&
      bgpPeers.length > 0 &&
      bgpPeers.every((p) => isIP(p.address) === 6)
    )
      fail(`${label('bgpRouterID')} is required when every peer is IPv6 (the router id is an IPv4 address)`);
  }

  const mode: VipMode = s.bgp ? 'bgp' : s.packet ? 'packet-eip' : arp ? 'arp' : 'address-only';
  return {
    ...s,
    arp,
    interface: iface,
    mode,
    prefixLength: s.cidr ?? maxPrefix,
    bgpPeers,
    keepaliveInterval,
    sources,
  };
}
