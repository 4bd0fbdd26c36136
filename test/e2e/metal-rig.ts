// The e2e rig laid out like Equinix Metal: the router rig (rig.ts with `router`), the Metal API and metadata
// fake (test/fakes/metal) in the api namespace, and a route follower that does what Metal's network does:
// when the fake's assignment of the Elastic IP changes, the router's route for it points at the assigned
// device (or goes) after a propagation delay. The client probes the EIP through the router, so an outage
// is measured end to end. Every node is a Metal device whose metadata the fake serves by source address.
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { MetalRequest } from '../fakes/metal/types.js';
import { ROOT, Rig, unixRequest } from './rig.js';

export interface MetalRigOptions {
  /** Assignment change -> route change at the router (Metal: seconds). Default 0. */
  propagationMs?: number;
  /** The fake keeps an unassigned address "taken" this long. Default 0. */
  releaseLagMs?: number;
  nodes?: number;
}

export type { MetalRequest } from '../fakes/metal/types.js';

export interface AssignmentEvent {
  /** Wall-clock ms when the rig saw it. */
  t: number;
  node: string;
}

export const PROJECT = 'vipTest';
const API_PORT = 8080;
const METADATA_PORT = 8081;

export class MetalRig {
  /** A sentinel: it must never appear in any output of kvip. */
  readonly token = `kvip-sentinel-${randomBytes(12).toString('hex')}`;
  readonly tokenFile: string;
  readonly assignments: AssignmentEvent[] = [];
  readonly routes: AssignmentEvent[] = [];
  readonly devices = new Map<string, string>(); // node -> device id
  projectId = '';
  reservationId = '';
  private watch: { destroy(): void } | null = null;
  private closing = false;
  private routeTimers = new Set<NodeJS.Timeout>();

  private constructor(
    readonly rig: Rig,
    private readonly o: MetalRigOptions,
  ) {
    this.tokenFile = join(rig.dir, 'metal-token');
  }

  get eip(): string {
    return this.rig.vip;
  }

  get apiUrl(): string {
    return `http://${this.rig.apiAddress}:${API_PORT}/metal/v1`;
  }

  get metadataUrl(): string {
    return `http://${this.rig.apiAddress}:${METADATA_PORT}/metadata`;
  }

  static async create(o: MetalRigOptions = {}): Promise<MetalRig> {
    const rig = await Rig.create({ family: 4, router: true, ...(o.nodes ? { nodes: o.nodes } : {}) });
    const m = new MetalRig(rig, o);
    try {
      await m.startFake();
      await m.follow();
    } catch (err) {
      await m.destroy();
      throw err;
    }
    return m;
  }

  private async startFake(): Promise<void> {
    const { rig } = this;
    writeFileSync(this.tokenFile, `${this.token}\n`, { mode: 0o600 });
    const scenario = {
      projects: [
        { name: 'other', devices: [], reservations: [{ address: '203.0.113.101', cidr: 32, metro: 'da' }] },
        {
          name: PROJECT,
          devices: rig.nodes.map((n) => ({
            hostname: `${n}.${rig.tag}`,
            metro: 'da',
            privateIpv4: rig.nodeAddress(n),
            metadataSource: rig.nodeAddress(n),
          })),
          reservations: [
            { address: this.eip, cidr: 32, metro: 'da', type: 'public_ipv4' },
            { address: '203.0.113.104', cidr: 30, metro: 'da', type: 'public_ipv4' },
            { address: '203.0.113.110', cidr: 32, metro: 'ny', type: 'public_ipv4' },
          ],
        },
      ],
    };
    const file = join(rig.dir, 'metal-scenario.json');
    writeFileSync(file, JSON.stringify(scenario));
    await rig.spawnReady(
      'api',
      'metal',
      [
        '--import',
        'tsx',
        join(ROOT, 'test/fakes/metal/main.ts'),
        '--host',
        rig.apiAddress,
        '--port',
        String(API_PORT),
        '--metadata-port',
        String(METADATA_PORT),
        '--token-file',
        this.tokenFile,
        '--scenario',
        file,
        '--release-lag-ms',
        String(this.o.releaseLagMs ?? 0),
        '--control-socket',
        this.socket,
      ],
      /^listening/,
    );
    const state = (await this.control('GET', '/_fake/state')).json as FakeState;
    const project = state.projects.find((p) => p.name === PROJECT);
    if (!project) throw new Error('the Metal fake has no project ' + PROJECT);
    this.projectId = project.id;
    for (const d of project.devices) this.devices.set(d.hostname.split('.')[0] as string, d.id);
    this.reservationId = project.reservations.find((r) => r.address === this.eip)?.id ?? '';
  }

  private get socket(): string {
    return join(this.rig.dir, 'metal.sock');
  }

  /** The route follower: the fake's assignment stream -> the router's route for the EIP. */
  private follow(): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = request(
        { socketPath: this.socket, method: 'GET', path: '/_fake/assignments/watch' },
        (res) => {
          res.on('error', () => undefined); // 'aborted' when destroy() ends the stream
          const lines = createInterface({ input: res });
          lines.on('error', () => undefined); // readline re-emits the stream's error
          lines.on('line', (line) => {
            let e: { address?: string; deviceId?: string | null };
            try {
              e = JSON.parse(line) as typeof e;
            } catch {
              return;
            }
            if (e.address !== this.eip) return;
            const node = this.nodeOf(e.deviceId ?? null);
            this.assignments.push({ t: Date.now(), node });
            this.route(node);
            resolve();
          });
        },
      );
      req.on('error', (err) => (this.closing ? undefined : reject(err)));
      req.end();
      this.watch = req;
    });
  }

  private route(node: string): void {
    const apply = () => {
      this.rig.setRoute(node === '' ? '' : this.rig.nodeAddress(node));
      this.routes.push({ t: Date.now(), node });
    };
    const ms = this.o.propagationMs ?? 0;
    if (ms === 0) return apply();
    const t = setTimeout(() => {
      this.routeTimers.delete(t);
      apply();
    }, ms);
    this.routeTimers.add(t);
  }

  nodeOf(deviceId: string | null): string {
    if (deviceId === null) return '';
    for (const [n, id] of this.devices) if (id === deviceId) return n;
    return `?${deviceId}`;
  }

  /** The Metal flags every node runs with (kube-vip's names), plus `extra`. */
  packetArgs(): string[] {
    return [
      '--packet',
      '--packetProject',
      PROJECT,
      '--packetKeyFile',
      this.tokenFile,
      '--packetAPIURL',
      this.apiUrl,
      '--packetMetadataURL',
      this.metadataUrl,
    ];
  }

  /** rig.startKvip with the Metal flags first. */
  startKvip(...[node, lease, extra = [], env = {}]: Parameters<Rig['startKvip']>): ChildProcess {
    return this.rig.startKvip(node, lease, [...this.packetArgs(), ...extra], env);
  }

  /** The node the fake assigns the EIP to now ('' for none), from its state. */
  async holder(): Promise<string> {
    const state = (await this.control('GET', '/_fake/state')).json as FakeState;
    const r = state.projects.flatMap((p) => p.reservations).find((x) => x.address === this.eip);
    return this.nodeOf(r?.holder ?? null);
  }

  /** Whether the EIP's reservation still exists in the project. */
  async reservationExists(): Promise<boolean> {
    const state = (await this.control('GET', '/_fake/state')).json as FakeState;
    return state.projects.some((p) => p.reservations.some((r) => r.id === this.reservationId));
  }

  async requests(since = 0): Promise<MetalRequest[]> {
    return (await this.control('GET', `/_fake/requests?since=${since}`)).json as MetalRequest[];
  }

  /** Requests that change an assignment (or anything else). */
  static changing(reqs: MetalRequest[]): MetalRequest[] {
    return reqs.filter((r) => r.method !== 'GET');
  }

  nodeOfSource(source: string): string {
    return this.rig.nodes.find((n) => this.rig.nodeAddress(n) === source.replace(/^::ffff:/, '')) ?? source;
  }

  async setFaults(faults: unknown): Promise<void> {
    const r = await this.control('POST', '/_fake/faults', faults);
    if (r.status >= 300) throw new Error(`setting faults: ${r.status} ${r.text}`);
  }

  async clearFaults(): Promise<void> {
    await this.control('DELETE', '/_fake/faults');
  }

  async control(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; text: string; json: unknown }> {
    const r = await unixRequest(this.socket, method, path, body);
    let json: unknown;
    try {
      json = r.body ? JSON.parse(r.body) : undefined;
    } catch {
      json = undefined;
    }
    return { status: r.status, text: r.body, json };
  }

  async destroy(): Promise<void> {
    this.closing = true;
    this.watch?.destroy();
    for (const t of this.routeTimers) clearTimeout(t);
    await this.rig.destroy();
  }
}

interface FakeState {
  projects: {
    id: string;
    name: string;
    devices: { id: string; hostname: string }[];
    reservations: { id: string; address: string; holder: string | null }[];
  }[];
}
