// The fake Metal API's state: projects, devices, IP reservations and their assignments, BGP data. Reservations
// and assignments have different UUIDs, both addressed as /ips/{id}, as in the real API. Mutations here are the
// rules every path shares (the API, out-of-band calls, the control socket); HTTP shaping is in render.ts.
import { randomUUID } from 'node:crypto';
import { type Block, contains, nth, overlaps, parseBlock } from './ip.js';
import type {
  AssignmentChange,
  BgpConfigInput,
  BgpNeighbor,
  DeviceInput,
  FakeState,
  ReservationInput,
  ReservationType,
} from './types.js';

export interface Project {
  id: string;
  name: string;
  createdAt: string;
  bgpConfig: (BgpConfigInput & { id: string; created_at: string }) | null;
}

export interface BgpSession {
  id: string;
  addressFamily: 'ipv4' | 'ipv6';
  defaultRoute: boolean;
  createdAt: string;
}

export interface Device {
  id: string;
  projectId: string;
  hostname: string;
  shortId: string;
  metro: string;
  metadataSource: string | null;
  createdAt: string;
  neighbors: BgpNeighbor[];
  sessions: BgpSession[];
  /** What Metal fills in once the device has a session of a neighbour's family (setBgpSessionNeighbors). */
  sessionNeighbors: BgpNeighbor[];
  fillAfterReads: number;
  /** Family -> neighbour reads still answered without that family's sessionNeighbors. */
  filling: Map<4 | 6, number>;
}

export interface Reservation {
  id: string;
  projectId: string;
  block: Block;
  type: ReservationType;
  metro: string;
  management: boolean;
  createdAt: string;
}

export interface Assignment {
  id: string;
  reservationId: string;
  deviceId: string;
  block: Block;
  /** The address as callers know it (network of the assigned block). */
  address: string;
  createdAt: string;
}

export type AssignResult =
  | { ok: true; assignment: Assignment }
  | { ok: false; error: 'taken' | 'noReservation' | 'wrongMetro' | 'badAddress' };

const now = (): string => new Date().toISOString();

export class MetalStore {
  readonly projects = new Map<string, Project>();
  readonly devices = new Map<string, Device>();
  readonly reservations = new Map<string, Reservation>();
  readonly assignments = new Map<string, Assignment>();
  /** Address -> Date.now() of its last unassignment, for releaseLagMs. */
  private readonly released = new Map<string, number>();
  private readonly listeners = new Set<(e: AssignmentChange) => void>();

  constructor(public releaseLagMs: number) {}

  onChange(cb: (e: AssignmentChange) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  private emit(address: string, deviceId: string | null): void {
    const e = { t: Date.now(), address, deviceId };
    for (const cb of [...this.listeners]) cb(e);
  }

  addProject(p: { name: string; id?: string }): Project {
    const id = p.id ?? randomUUID();
    if (this.projects.has(id)) throw new Error(`metal fake: project ${id} exists`);
    const project: Project = { id, name: p.name, createdAt: now(), bgpConfig: null };
    this.projects.set(id, project);
    return project;
  }

  private project(id: string): Project {
    const p = this.projects.get(id);
    if (!p) throw new Error(`metal fake: no project ${id}`);
    return p;
  }

  addDevice(projectId: string, d: DeviceInput): Device {
    this.project(projectId);
    const id = d.id ?? randomUUID();
    if (this.devices.has(id)) throw new Error(`metal fake: device ${id} exists`);
    const device: Device = {
      id,
      projectId,
      hostname: d.hostname,
      shortId: id.slice(0, 8),
      metro: d.metro ?? 'da',
      metadataSource: d.metadataSource ?? null,
      createdAt: now(),
      neighbors: [],
      sessions: [],
      sessionNeighbors: [],
      fillAfterReads: 0,
      filling: new Map(),
    };
    this.devices.set(id, device);
    // A device's own addresses are management /31s (the API lists them among the project's reservations too,
    // which is why clients must skip management blocks).
    const own: Array<[string | undefined, ReservationType]> = [
      [d.publicIpv4, 'public_ipv4'],
      [d.privateIpv4, 'private_ipv4'],
    ];
    for (const [ip, type] of own) {
      if (!ip) continue;
      const r = this.addReservation(projectId, {
        address: ip,
        cidr: 31,
        type,
        metro: device.metro,
        management: true,
      });
      this.link(r, device, r.block, ip);
    }
    return device;
  }

  addReservation(projectId: string, r: ReservationInput): Reservation {
    this.project(projectId);
    const block = parseBlock(r.address, r.cidr);
    if (!block) throw new Error(`metal fake: bad address ${r.address}`);
    const res: Reservation = {
      id: randomUUID(),
      projectId,
      block,
      type: r.type ?? (block.family === 6 ? 'public_ipv6' : 'public_ipv4'),
      metro: r.metro ?? 'da',
      management: r.management ?? false,
      createdAt: now(),
    };
    this.reservations.set(res.id, res);
    return res;
  }

  /** The live reservation containing the address (any project when projectId is omitted). */
  reservationFor(address: string, projectId?: string): Reservation | undefined {
    const b = parseBlock(address);
    if (!b) return undefined;
    return [...this.reservations.values()].find(
      (r) => (projectId === undefined || r.projectId === projectId) && contains(r.block, b),
    );
  }

  assignmentsOf(reservationId: string): Assignment[] {
    return [...this.assignments.values()].filter((a) => a.reservationId === reservationId);
  }

  assignmentsOfDevice(deviceId: string): Assignment[] {
    return [...this.assignments.values()].filter((a) => a.deviceId === deviceId);
  }

  holder(address: string): string | undefined {
    const b = parseBlock(address);
    if (!b) return undefined;
    return [...this.assignments.values()].find((a) => overlaps(a.block, b))?.deviceId;
  }

  private link(r: Reservation, device: Device, block: Block, address: string): Assignment {
    const a: Assignment = {
      id: randomUUID(),
      reservationId: r.id,
      deviceId: device.id,
      block,
      address,
      createdAt: now(),
    };
    this.assignments.set(a.id, a);
    this.emit(address, device.id);
    return a;
  }

  /** POST /devices/{id}/ips with the API's checks; out of band skips only the release lag. */
  assign(deviceId: string, input: string, outOfBand = false): AssignResult {
    const device = this.devices.get(deviceId);
    if (!device) throw new Error(`metal fake: no device ${deviceId}`);
    const block = parseBlock(input);
    if (!block) return { ok: false, error: 'badAddress' };
    const r = this.reservationFor(input.split('/')[0]!, device.projectId);
    if (!r || !contains(r.block, block)) return { ok: false, error: 'noReservation' };
    if (r.metro !== device.metro) return { ok: false, error: 'wrongMetro' };
    const address = nth(block, 0);
    if ([...this.assignments.values()].some((a) => overlaps(a.block, block)))
      return { ok: false, error: 'taken' };
    const releasedAt = this.released.get(address);
    if (!outOfBand && releasedAt !== undefined && Date.now() - releasedAt < this.releaseLagMs) {
      return { ok: false, error: 'taken' };
    }
    return { ok: true, assignment: this.link(r, device, block, address) };
  }

  /** DELETE /ips/{id}: unassigns an assignment, or deletes a whole reservation with its assignments. */
  deleteIp(id: string): boolean {
    const a = this.assignments.get(id);
    if (a) {
      this.assignments.delete(id);
      this.released.set(a.address, Date.now());
      this.emit(a.address, null);
      return true;
    }
    const r = this.reservations.get(id);
    if (!r) return false;
    for (const x of this.assignmentsOf(id)) {
      this.assignments.delete(x.id);
      this.emit(x.address, null);
    }
    this.reservations.delete(id);
    return true;
  }

  createSession(deviceId: string, family: 'ipv4' | 'ipv6', defaultRoute: boolean): BgpSession | null {
    const d = this.devices.get(deviceId)!;
    if (d.sessions.some((s) => s.addressFamily === family)) return null;
    const s: BgpSession = { id: randomUUID(), addressFamily: family, defaultRoute, createdAt: now() };
    d.sessions.push(s);
    this.startFill(d, family === 'ipv4' ? 4 : 6);
    return s;
  }

  /**
   * Metal fills in a device's neighbours only after its session exists, and not always by the next read: once
   * a session of a family exists, `afterReads` more neighbour reads answer without that family's entries.
   */
  setBgpSessionNeighbors(deviceId: string, neighbors: BgpNeighbor[], afterReads: number): void {
    const d = this.devices.get(deviceId);
    if (!d) throw new Error(`metal fake: no device ${deviceId}`);
    d.sessionNeighbors = structuredClone(neighbors);
    d.fillAfterReads = afterReads;
    for (const s of d.sessions) this.startFill(d, s.addressFamily === 'ipv4' ? 4 : 6);
  }

  private startFill(d: Device, family: 4 | 6): void {
    if (!d.sessionNeighbors.some((n) => n.address_family === family)) return;
    if (d.fillAfterReads > 0) d.filling.set(family, d.fillAfterReads);
    else this.fill(d, family);
  }

  private fill(d: Device, family: 4 | 6): void {
    d.filling.delete(family);
    const mine = d.sessionNeighbors.filter((n) => n.address_family === family);
    d.neighbors = [...d.neighbors.filter((n) => n.address_family !== family), ...structuredClone(mine)];
  }

  /** GET /devices/{id}/bgp/neighbors: counts the read towards any pending fill, then answers. */
  readNeighbors(d: Device): BgpNeighbor[] {
    for (const [family, left] of [...d.filling]) {
      if (left === 0) this.fill(d, family);
      else d.filling.set(family, left - 1);
    }
    return structuredClone(d.neighbors);
  }

  setBgpConfig(projectId: string, cfg: BgpConfigInput | null): void {
    const p = this.project(projectId);
    p.bgpConfig = cfg === null ? null : { id: randomUUID(), created_at: now(), ...cfg };
  }

  setBgpNeighbors(deviceId: string, neighbors: BgpNeighbor[]): void {
    const d = this.devices.get(deviceId);
    if (!d) throw new Error(`metal fake: no device ${deviceId}`);
    d.neighbors = structuredClone(neighbors);
  }

  state(): FakeState {
    return {
      projects: [...this.projects.values()].map((p) => ({
        id: p.id,
        name: p.name,
        devices: [...this.devices.values()]
          .filter((d) => d.projectId === p.id)
          .map((d) => ({ id: d.id, hostname: d.hostname, metro: d.metro, metadataSource: d.metadataSource })),
        reservations: [...this.reservations.values()]
          .filter((r) => r.projectId === p.id)
          .map((r) => {
            const a = this.assignmentsOf(r.id)[0];
            return {
              id: r.id,
              address: nth(r.block, 0),
              cidr: r.block.cidr,
              type: r.type,
              metro: r.metro,
              management: r.management,
              holder: a?.deviceId ?? null,
              assignmentId: a?.id ?? null,
            };
          }),
      })),
    };
  }
}
