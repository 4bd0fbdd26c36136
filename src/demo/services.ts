// What runs in a cluster made of network namespaces, as the demo and the e2e rig both start it: the Lease
// API (src/lease-api) in a namespace of its own, on every node a forwarder on 127.0.0.1:6443 to it (the
// node's "own API server", as on a kubeadm node) and a UDP responder, a probing client, and `kvip start`.
// Each function gives node's arguments; the caller spawns them in the namespace and waits for `ready`.
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { script } from './children.js';
import { unixRequest } from './unix-request.js';

export const API_PORT = 6443;
export const PROBE_PORT = 7000;
/** What the forwarder, the responder and the probe print once ready, and the Lease API (`listening <url>`). */
export const READY = /^(ready|listening)/;
export const PROBE_READY = /"type":"ready"/;

export interface LeaseApiOptions {
  /** The address it listens on, in its namespace. */
  host: string;
  /** Names its certificate is for besides the kubernetes names (kubeadm: the VIP); no loopback address. */
  sans: string[];
  /** One bearer token and one kubeconfig (dir/<client>.kubeconfig) per client. */
  clients: string[];
  dir: string;
}

export function leaseApiArgs(o: LeaseApiOptions): string[] {
  return [
    ...script('lease-api/main'),
    '--host',
    o.host,
    '--port',
    String(API_PORT),
    '--tls',
    ...o.sans.flatMap((s) => ['--san', s]),
    '--clients',
    o.clients.join(','),
    '--kubeconfig-dir',
    o.dir,
    '--control-socket',
    controlSocket(o.dir),
  ];
}

export function controlSocket(dir: string): string {
  return join(dir, 'control.sock');
}

export function forwarderArgs(apiHost: string): string[] {
  return [...script('demo/forwarder'), String(API_PORT), apiHost, String(API_PORT)];
}

export function responderArgs(node: string): string[] {
  return [...script('demo/responder'), node, String(PROBE_PORT)];
}

/** A line of the probe (probe.ts). */
export interface ProbeEvent {
  type: 'ready' | 'first' | 'gap' | 'switch' | 'tick' | 'slots';
  t: number;
  node?: string;
  /** gap: wall-clock ms; switch: the node answering before. */
  from?: number | string;
  to?: number | string;
  ms?: number;
  before?: string;
  after?: string;
  lastReply?: number;
  replies?: number;
  /** slots: the first slot's number (wall-clock ms / slotMs) and who answered in each slot from it on. */
  first?: number;
  slotMs?: number;
  nodes?: string[];
}

export function probeArgs(vip: string, intervalMs: number, slotMs = 0): string[] {
  return [...script('demo/probe'), vip, String(PROBE_PORT), String(intervalMs), String(slotMs)];
}

/** kubeadm's admin.conf for `node`: the client credentials the Lease API issued, the VIP as the server. */
export function writeAdminConf(dir: string, node: string, vip: string): string {
  const issued = readFileSync(join(dir, `${node}.kubeconfig`), 'utf8');
  const server = vip.includes(':') ? `[${vip}]` : vip;
  const path = join(dir, node, 'admin.conf');
  mkdirSync(join(dir, node), { recursive: true });
  writeFileSync(path, issued.replace(/server: \S+/, `server: https://${server}:${API_PORT}`), {
    mode: 0o600,
  });
  return path;
}

export interface LeaseTimes {
  /** --leaseDuration, --leaseRenewDuration, --leaseRetry (seconds). */
  ld: number;
  rd: number;
  rp: number;
}

/** `kvip start`'s arguments (after the CLI's path) for a node of such a cluster, leader election on. */
export function kvipStartArgs(o: {
  node: string;
  vip: string;
  interface: string;
  kubeconfig: string;
  lease: LeaseTimes;
}): string[] {
  return [
    'start',
    '--vip',
    o.vip,
    '--interface',
    o.interface,
    '--leaderElection',
    '--nodeName',
    o.node,
    '--k8sConfigPath',
    o.kubeconfig,
    '--leaseDuration',
    String(o.lease.ld),
    '--leaseRenewDuration',
    String(o.lease.rd),
    '--leaseRetry',
    String(o.lease.rp),
  ];
}

export interface LeaseState {
  /** '' when nobody holds it (never taken, or released). */
  holder: string;
  /** Its holder stopped renewing: the lease ran out LeaseDuration after its last renewal. */
  expired: boolean;
}

/** kvip's Lease (kube-system/plndr-cp-lock) as the Lease API has it. */
export async function readLease(dir: string, now = Date.now()): Promise<LeaseState> {
  const r = await unixRequest(controlSocket(dir), 'GET', '/_fake/leases/kube-system/plndr-cp-lock');
  if (r.status !== 200) return { holder: '', expired: false };
  const spec =
    (
      JSON.parse(r.body) as {
        spec?: { holderIdentity?: string; renewTime?: string; leaseDurationSeconds?: number };
      }
    ).spec ?? {};
  const renewed = Date.parse(spec.renewTime ?? '');
  const expired = renewed + (spec.leaseDurationSeconds ?? 0) * 1000 < now;
  return { holder: spec.holderIdentity ?? '', expired: (spec.holderIdentity ?? '') !== '' && expired };
}

/** Who holds the Lease, expired or not; '' when nobody does. */
export async function leaseHolder(dir: string): Promise<string> {
  return (await readLease(dir)).holder;
}
