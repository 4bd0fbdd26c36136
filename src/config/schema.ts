// The one option schema: every option kvip has, with its kube-vip flag and env names, default, format and
// doc. The CLI, the loader, the manifests and docs/config.md are all generated from this table, so an
// option is added here and nowhere else. Order matters: it is the order of env entries in a manifest.
import { VERSION } from '../version.js';
import { HEALTH_OPTIONS } from './schema-health.js';

export type Group = 'vip' | 'election' | 'packet' | 'bgp' | 'runtime' | 'manifest';

export interface OptionSpec {
  /** Flag names, the first is the one shown in help; the rest are accepted aliases. */
  flags: string[];
  /** Environment names, the first is the one written into manifests; the rest are accepted aliases. */
  env: string[];
  format: string;
  default: unknown;
  doc: string;
  group: Group;
  /** Never printed: masked in errors, help and logs; never written to a manifest unless asked for. */
  sensitive?: boolean;
  /** Flag takes a value (`--flag <v>`); booleans take an optional one (`--arp`, `--arp=false`). */
  placeholder?: string;
  /** Only `kvip manifest` reads it; it is not written into the pod env. */
  manifestOnly?: boolean;
}

export const METAL_API_URL = 'https://api.equinix.com/metal/v1';
export const METAL_METADATA_URL = 'https://metadata.platformequinix.com/metadata';

export const OPTIONS = {
  arp: {
    flags: ['--arp'],
    env: ['vip_arp'],
    format: 'bool',
    default: true,
    doc: 'Announce the VIP with gratuitous ARP / unsolicited IPv6 NA (layer 2); off with --packet or --bgp',
    group: 'vip',
  },
  interface: {
    flags: ['--interface'],
    env: ['vip_interface'],
    format: 'interface-name',
    default: '',
    doc: 'Interface that carries the VIP (lo with --packet or --bgp, where it is the default)',
    group: 'vip',
    placeholder: 'name',
  },
  leaderElection: {
    flags: ['--leaderElection'],
    env: ['vip_leaderelection'],
    format: 'bool',
    default: false,
    doc: 'Elect one holder through a Kubernetes Lease; without it this node holds the VIP at once',
    group: 'election',
  },
  leaseDuration: {
    flags: ['--leaseDuration'],
    env: ['vip_leaseduration'],
    format: 'whole-seconds',
    default: 5,
    doc: 'Seconds a follower waits after the last renewal it saw before taking the lease',
    group: 'election',
    placeholder: 'seconds',
  },
  renewDeadline: {
    flags: ['--leaseRenewDuration', '--renewDeadline'],
    env: ['vip_renewdeadline'],
    format: 'seconds',
    default: 3,
    doc: 'Seconds the leader keeps trying to renew before it gives the VIP up',
    group: 'election',
    placeholder: 'seconds',
  },
  retryPeriod: {
    flags: ['--leaseRetry', '--retryPeriod'],
    env: ['vip_retryperiod'],
    format: 'seconds',
    default: 1,
    doc: 'Seconds between attempts to acquire or renew the lease',
    group: 'election',
    placeholder: 'seconds',
  },
  ...HEALTH_OPTIONS,
  vip: {
    flags: ['--vip', '--address'],
    env: ['vip_address', 'address'],
    format: 'ip-or-empty',
    default: '',
    doc: 'The virtual IP (IPv4 or IPv6) the control plane is reached on',
    group: 'vip',
    placeholder: 'address',
  },
  cidr: {
    flags: ['--cidr'],
    env: ['vip_cidr', 'vip_subnet'],
    format: 'prefix-length',
    default: null,
    doc: 'Prefix length the VIP is added with (default: 32 for IPv4, 128 for IPv6)',
    group: 'vip',
    placeholder: 'bits',
  },
  port: {
    flags: ['--port'],
    env: ['port'],
    format: 'tcp-port',
    default: 6443,
    doc: 'API server port behind the VIP (health check and manifests)',
    group: 'vip',
    placeholder: 'port',
  },
  arpRate: {
    flags: ['--arpRate'],
    env: ['vip_arpRate'],
    format: 'positive-int',
    default: 3000,
    doc: 'Milliseconds between gratuitous ARP / NA repeats while leading',
    group: 'vip',
    placeholder: 'ms',
  },
  leaseName: {
    flags: ['--leaseName'],
    env: ['vip_leasename'],
    format: 'dns-subdomain',
    default: 'plndr-cp-lock',
    doc: 'Name of the Lease (kube-vip 0.2 used plunder-lock; use the same name on every node)',
    group: 'election',
    placeholder: 'name',
  },
  namespace: {
    flags: ['--namespace'],
    env: ['cp_namespace'],
    format: 'dns-label',
    default: 'kube-system',
    doc: 'Namespace of the Lease and of the generated manifests',
    group: 'election',
    placeholder: 'name',
  },
  nodeName: {
    flags: ['--nodeName'],
    env: ['vip_nodename'],
    format: 'dns-subdomain-or-empty',
    default: '',
    doc: "This node's identity in the Lease (default: the host name)",
    group: 'election',
    placeholder: 'name',
  },
  packet: {
    flags: ['--packet'],
    env: ['vip_packet'],
    format: 'bool',
    default: false,
    doc: 'Equinix Metal (Packet): move the Elastic IP to the leader, or with --bgp take peers from the Metal API',
    group: 'packet',
  },
  packetKey: {
    flags: ['--packetKey'],
    env: ['PACKET_AUTH_TOKEN'],
    format: 'token-or-empty',
    default: '',
    doc: 'Metal API token (prefer --packetKeyFile: a literal token ends up in the manifest)',
    group: 'packet',
    sensitive: true,
    placeholder: 'token',
  },
  packetKeyFile: {
    flags: ['--packetKeyFile'],
    env: ['vip_packetkeyfile'],
    format: 'abs-path-or-empty',
    default: '',
    doc: 'File holding the Metal API token (mounted from the host into the static pod)',
    group: 'packet',
    placeholder: 'path',
  },
  packetProject: {
    flags: ['--packetProject'],
    env: ['vip_packetproject'],
    format: 'text',
    default: '',
    doc: 'Name of the Metal project that holds the servers and the Elastic IP',
    group: 'packet',
    placeholder: 'name',
  },
  packetProjectID: {
    flags: ['--packetProjectID'],
    env: ['vip_packetprojectid'],
    format: 'uuid-or-empty',
    default: '',
    doc: 'UUID of the Metal project (saves a lookup by name)',
    group: 'packet',
    placeholder: 'uuid',
  },
  packetDeviceID: {
    flags: ['--packetDeviceID'],
    env: ['vip_packetdeviceid'],
    format: 'uuid-or-empty',
    default: '',
    doc: "UUID of this server in Metal (default: asked of the metadata service, else this host's exact name in the project)",
    group: 'packet',
    placeholder: 'uuid',
  },
  packetAPIURL: {
    flags: ['--packetAPIURL', '--metalAPIURL'],
    env: ['vip_packetapiurl', 'METAL_API_URL'],
    format: 'http-url',
    default: METAL_API_URL,
    doc: 'Base URL of the Metal API',
    group: 'packet',
    placeholder: 'url',
  },
  packetMetadataURL: {
    flags: ['--packetMetadataURL'],
    env: ['vip_packetmetadataurl'],
    format: 'http-url',
    default: METAL_METADATA_URL,
    doc: "URL of the Metal metadata service (this server's id and BGP neighbours, no token)",
    group: 'packet',
    placeholder: 'url',
  },
  packetSecret: {
    flags: ['--packetSecret'],
    env: [],
    format: 'dns-subdomain',
    default: 'kvip-metal',
    doc: 'DaemonSet only: Secret (key "token") the Metal API token is read from',
    group: 'manifest',
    placeholder: 'name',
    manifestOnly: true,
  },
  bgp: {
    flags: ['--bgp'],
    env: ['bgp_enable'],
    format: 'bool',
    default: false,
    doc: 'Announce the VIP over BGP from the leader',
    group: 'bgp',
  },
  localAS: {
    flags: ['--localAS'],
    env: ['bgp_as'],
    format: 'asn',
    default: 65000,
    doc: 'Local AS number',
    group: 'bgp',
    placeholder: 'asn',
  },
  bgpRouterID: {
    flags: ['--bgpRouterID'],
    env: ['bgp_routerid'],
    format: 'ipv4-or-empty',
    default: '',
    doc: 'BGP router id (default: the local address of the first session)',
    group: 'bgp',
    placeholder: 'ipv4',
  },
  peerAS: {
    flags: ['--peerAS'],
    env: ['bgp_peeras'],
    format: 'asn',
    default: 65000,
    doc: 'AS number of --peerAddress',
    group: 'bgp',
    placeholder: 'asn',
  },
  peerAddress: {
    flags: ['--peerAddress'],
    env: ['bgp_peeraddress'],
    format: 'ip-or-empty',
    default: '',
    doc: 'Address of a single BGP peer',
    group: 'bgp',
    placeholder: 'address',
  },
  peerPass: {
    flags: ['--peerPass'],
    env: ['bgp_peerpass'],
    format: 'token-or-empty',
    default: '',
    doc: 'TCP MD5 password for --peerAddress',
    group: 'bgp',
    sensitive: true,
    placeholder: 'password',
  },
  multihop: {
    flags: ['--multihop'],
    env: ['bgp_multihop'],
    format: 'bool',
    default: false,
    doc: 'eBGP multihop for --peerAddress',
    group: 'bgp',
  },
  peers: {
    flags: ['--bgppeers', '--peers'],
    env: ['bgp_peers'],
    format: 'bgp-peers',
    default: [],
    doc: 'More peers: address:as[:password[:multihop]],... (IPv6 in brackets)',
    group: 'bgp',
    sensitive: true,
    placeholder: 'list',
  },
  holdTime: {
    flags: ['--holdTime'],
    env: ['bgp_hold_time'],
    format: 'hold-time',
    default: 30,
    doc: 'BGP hold time offered to peers, seconds (0 or >= 3)',
    group: 'bgp',
    placeholder: 'seconds',
  },
  keepaliveInterval: {
    flags: ['--keepaliveInterval'],
    env: ['bgp_keepalive_interval'],
    format: 'keepalive-interval',
    default: null,
    doc: 'Seconds between BGP KEEPALIVEs, below the hold time (default: a third of --holdTime)',
    group: 'bgp',
    placeholder: 'seconds',
  },
  bgpCommunities: {
    flags: ['--bgpCommunities'],
    env: ['bgp_communities'],
    format: 'communities',
    default: [],
    doc: 'BGP communities on the VIP route: asn:value,...',
    group: 'bgp',
    placeholder: 'list',
  },
  prometheusServer: {
    flags: ['--prometheusHTTPServer'],
    env: ['prometheus_server'],
    format: 'listen-address',
    default: ':2112',
    doc: 'Address of the metrics and health server (/metrics, /healthz, /readyz): ":2112" listens on every address, "127.0.0.1:2112" on one, empty turns it off',
    group: 'runtime',
    placeholder: 'host:port',
  },
  k8sConfigPath: {
    flags: ['--k8sConfigPath', '--kubeconfig'],
    env: ['k8s_config_file'],
    format: 'abs-path-or-empty',
    default: '/etc/kubernetes/admin.conf',
    doc: 'kubeconfig used outside a DaemonSet; with admin.conf, super-admin.conf beside it is used while admin.conf is refused (kubeadm >= 1.29 first node)',
    group: 'runtime',
    placeholder: 'path',
  },
  apiServer: {
    flags: ['--apiServer'],
    env: ['vip_apiserver'],
    format: 'api-server',
    default: 'local',
    doc: 'API server kvip talks to with a kubeconfig: "local" dials 127.0.0.1:<port> and verifies the certificate as "kubernetes" (never through the VIP it provides); "kubeconfig" dials the server the kubeconfig names; or an https:// URL',
    group: 'runtime',
    placeholder: 'local|kubeconfig|url',
  },
  inCluster: {
    flags: ['--inCluster'],
    env: ['vip_incluster'],
    format: 'bool',
    default: false,
    doc: 'Use the pod ServiceAccount instead of a kubeconfig (set in the DaemonSet)',
    group: 'runtime',
  },
  logLevel: {
    flags: ['--logLevel', '--log'],
    env: ['vip_loglevel'],
    format: 'log-level',
    default: 'info',
    doc: 'Log level: fatal, error, warn, info, debug or trace (kube-vip numbers 0-6 accepted)',
    group: 'runtime',
    placeholder: 'level',
  },
  image: {
    flags: ['--image'],
    env: [],
    format: 'image',
    default: `ghcr.io/kvip/kvip:${VERSION}`,
    doc: 'Container image written into manifests',
    group: 'manifest',
    placeholder: 'ref',
    manifestOnly: true,
  },
  k3s: {
    flags: ['--k3s'],
    env: [],
    format: 'bool',
    default: false,
    doc: 'manifest daemonset: print RBAC and DaemonSet as one file for /var/lib/rancher/k3s/server/manifests/',
    group: 'manifest',
    manifestOnly: true,
  },
} satisfies Record<string, OptionSpec>;

export type OptionKey = keyof typeof OPTIONS;
export const OPTION_KEYS = Object.keys(OPTIONS) as OptionKey[];

export function spec(key: OptionKey): OptionSpec {
  return OPTIONS[key] as OptionSpec;
}

/** How an option is named to a user: "--vip (vip_address)". */
export function optionLabel(key: OptionKey): string {
  const s = spec(key);
  return s.env.length > 0 ? `${s.flags[0]} (${s.env[0]})` : (s.flags[0] as string);
}
