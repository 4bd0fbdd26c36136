// Equinix Metal as the floating-IP cloud (src/vip/floating-ip.ts): an Elastic IP is a /32 (/128) reservation
// of the project; an assignment links it to one device. Moving it is not atomic: the assignment elsewhere is
// deleted, then a new one is created, and the address can stay "already taken" for a while after the delete.
// Only ever an ASSIGNMENT id goes to DELETE /ips/{id}: given a reservation id, it deletes the Elastic IP from
// the project.
import { isIP } from 'node:net';
import { ipv4ToBytes, ipv6ToBytes } from '../vip/frames.js';
import {
  CloudCallAbortedError,
  FloatingIpConfigError,
  FloatingIpTakenError,
  type CloudCall,
  type FloatingIpCloud,
  type FloatingIpHolder,
  type FloatingIpReservation,
} from '../vip/floating-ip.js';
import type { MetalClient } from './client.js';
import { MetalApiError, MetalCallAbortedError } from './errors.js';
import { lastSegment, type MetalIpAssignment, type MetalIpReservation } from './types.js';

/** The Elastic IP as kvip found it in the project. */
export interface MetalElasticIp extends FloatingIpReservation {
  cidr: number;
  type: string;
  metro: string | undefined;
}

function isAssignment(a: MetalIpAssignment | { href: string }): a is MetalIpAssignment {
  return 'assigned_to' in a || 'id' in a;
}

export function holdersOf(r: MetalIpReservation): FloatingIpHolder[] {
  const out: FloatingIpHolder[] = [];
  for (const a of r.assignments ?? []) {
    if (!isAssignment(a) || !a.assigned_to?.href) continue;
    out.push({ assignmentId: a.id ?? lastSegment(a.href ?? ''), deviceId: lastSegment(a.assigned_to.href) });
  }
  return out;
}

/** Assignments that came back collapsed to `{href}` (an API that ignored `include`): their ids. */
function collapsed(r: MetalIpReservation): string[] {
  return (r.assignments ?? [])
    .filter((a) => !(isAssignment(a) && a.assigned_to?.href) && typeof a.href === 'string')
    .map((a) => lastSegment(a.href as string));
}

/** The address as a number, with its family; null for what is no address (or an IPv4-mapped form). */
function toBig(ip: string): { family: 4 | 6; value: bigint } | null {
  const family = isIP(ip) as 0 | 4 | 6;
  if (family === 0 || (family === 6 && (ip.includes('.') || ip.includes('%')))) return null;
  const bytes = family === 4 ? ipv4ToBytes(ip) : ipv6ToBytes(ip);
  return { family, value: BigInt(`0x${bytes.toString('hex')}`) };
}

/** The same address however it is written (IPv6 has many spellings). */
export function sameAddress(a: string, b: string): boolean {
  const x = toBig(a);
  const y = toBig(b);
  return x !== null && y !== null && x.family === y.family && x.value === y.value;
}

/** Whether `ip` lies in the block network/cidr. */
export function inBlock(ip: string, network: string, cidr: number): boolean {
  const a = toBig(ip);
  const n = toBig(network);
  if (!a || !n || a.family !== n.family) return false;
  const bits = BigInt(a.family === 4 ? 32 : 128);
  const shift = bits - BigInt(cidr);
  return a.value >> shift === n.value >> shift;
}

/**
 * The reservation of exactly `address` among the project's, else the (larger) block that contains it, so
 * that the error can say which; null when there is neither.
 */
export function elasticIpIn(reservations: MetalIpReservation[], address: string): MetalIpReservation | null {
  const blocks = reservations.filter((r) => r.type !== 'vrf');
  return (
    blocks.find((r) => sameAddress(r.address, address)) ??
    blocks.find((r) => inBlock(address, r.network ?? r.address, r.cidr)) ??
    null
  );
}

// Metal answers 422 "Address has already been taken" while the address is assigned, or still being released;
// the wording is not in the spec, so any 422 to an assign (the start-up checks ruled out a wrong project or
// metro) is treated the same way: the mover reads who holds it and tries again, within its deadline.
function taken(err: unknown): boolean {
  return err instanceof MetalApiError && err.status === 422;
}

function rethrow(err: unknown): never {
  if (err instanceof MetalCallAbortedError) throw new CloudCallAbortedError(err.message);
  throw err;
}

export class MetalFloatingIps implements FloatingIpCloud {
  readonly name = 'metal';
  readonly assignMoves = false;

  constructor(
    private readonly client: MetalClient,
    private readonly projectId: string,
  ) {}

  async findReservation(address: string): Promise<MetalElasticIp> {
    const all = await this.client.findProjectIps(this.projectId);
    const r = elasticIpIn(all, address);
    if (r === null)
      throw new FloatingIpConfigError(
        `--vip ${address} is not an Elastic IP of project ${this.projectId}: reserve one (a /32 or /128 public IP) in the project, or pass the address of an existing one`,
      );
    if (r.management === true)
      throw new FloatingIpConfigError(
        `--vip ${address} is a server's management address, not an Elastic IP: reserve an Elastic IP for the VIP`,
      );
    const single = r.address_family === 6 || address.includes(':') ? 128 : 32;
    if (r.cidr !== single)
      throw new FloatingIpConfigError(
        `--vip ${address} is in a /${r.cidr} block; kvip moves a single Elastic IP (/${single}): reserve one for the VIP`,
      );
    return {
      id: r.id,
      address: r.address,
      cidr: r.cidr,
      type: r.type,
      metro: r.metro?.code,
      holders: await this.expand(r, {}),
    };
  }

  /** The holders of `r`, reading each assignment that came back collapsed (one GET each, rare). */
  private async expand(r: MetalIpReservation, call: CloudCall): Promise<FloatingIpHolder[]> {
    const out = holdersOf(r);
    for (const id of collapsed(r)) {
      const a = (await this.client.getIp(id, call)) as MetalIpAssignment;
      if (a.assigned_to?.href)
        out.push({ assignmentId: a.id ?? id, deviceId: lastSegment(a.assigned_to.href) });
    }
    return out;
  }

  async holders(reservationId: string, call: CloudCall = {}): Promise<FloatingIpHolder[]> {
    try {
      const r = (await this.client.getIp(reservationId, call)) as MetalIpReservation;
      return await this.expand(r, call);
    } catch (err) {
      return rethrow(err);
    }
  }

  async assign(address: string, deviceId: string, call: CloudCall): Promise<FloatingIpHolder> {
    try {
      // A retried POST whose first attempt did land answers 422 "taken": the mover then reads the holder
      // and finds itself, so retrying it is safe.
      const a = await this.client.assignIp(deviceId, address, { ...call, idempotent: true });
      return {
        assignmentId: a.id,
        deviceId: a.assigned_to?.href ? lastSegment(a.assigned_to.href) : deviceId,
      };
    } catch (err) {
      if (taken(err))
        throw new FloatingIpTakenError(`${address}: ${(err as MetalApiError).messages.join('; ') || '422'}`);
      return rethrow(err);
    }
  }

  async unassign(assignmentId: string, call: CloudCall): Promise<void> {
    try {
      await this.client.unassignIp(assignmentId, call);
    } catch (err) {
      rethrow(err);
    }
  }
}
