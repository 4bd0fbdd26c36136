// A scenario file for the standalone fake (main.ts): projects with devices, reservations and initial
// assignments, applied through the same calls a test makes in process.
import type { DeviceInput, MetalFake, ReservationInput } from './types.js';

export interface Scenario {
  projects: Array<{
    id?: string;
    name: string;
    devices?: DeviceInput[];
    reservations?: ReservationInput[];
    /** Initial holders, by device hostname. */
    assignments?: Array<{ address: string; hostname: string }>;
  }>;
}

function fail(msg: string): never {
  throw new Error(`metal fake scenario: ${msg}`);
}

export function applyScenario(fake: MetalFake, s: Scenario): void {
  if (typeof s !== 'object' || s === null || !Array.isArray(s.projects)) fail('needs a projects array');
  for (const [i, p] of s.projects.entries()) {
    if (typeof p.name !== 'string' || !p.name) fail(`projects[${i}].name must be a non-empty string`);
    const project = fake.addProject(p.id === undefined ? { name: p.name } : { name: p.name, id: p.id });
    const byHost = new Map<string, string>();
    for (const d of p.devices ?? []) {
      if (typeof d.hostname !== 'string' || !d.hostname) fail(`a device of ${p.name} has no hostname`);
      byHost.set(d.hostname, fake.addDevice(project.id, d).id);
    }
    for (const r of p.reservations ?? []) {
      if (typeof r.address !== 'string') fail(`a reservation of ${p.name} has no address`);
      fake.addReservation(project.id, r);
    }
    for (const a of p.assignments ?? []) {
      const id =
        byHost.get(a.hostname) ?? fail(`assignment of ${a.address}: no device ${a.hostname} in ${p.name}`);
      fake.assign(a.address, id);
    }
  }
}
