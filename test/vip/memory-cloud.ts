// An in-memory floating-IP cloud with Metal's semantics (assign refuses an address that is assigned, an
// unassign may leave it "taken" for a few more assigns), recording every call and whether the caller's
// guard allowed it. What tests assert on is `holder` (what the network would route to) and `calls`.
import {
  CloudCallAbortedError,
  FloatingIpTakenError,
  type CloudCall,
  type FloatingIpCloud,
  type FloatingIpHolder,
  type FloatingIpReservation,
} from '../../src/vip/floating-ip.js';

export interface CloudCallRecord {
  op: 'find' | 'holders' | 'assign' | 'unassign';
  arg: string;
}

export class MemoryCloud implements FloatingIpCloud {
  readonly name = 'memory';
  readonly assignMoves = false;
  readonly reservationId = 'res-1';
  calls: CloudCallRecord[] = [];
  /** Assignments: id -> device. */
  assignments = new Map<string, string>();
  /** The next N assigns are refused as taken although the address is free (Metal's lag after an unassign). */
  lagAssigns = 0;
  /** The next N calls fail with a retryable error. */
  transientFailures = 0;
  /** The next call fails with a permanent error. */
  permanentFailure = false;
  /** Reads never answer until the caller's signal aborts (a hung API). */
  hangReads = false;
  /** Retryable failures carry this Retry-After (ms). */
  retryAfterMs: number | undefined;
  /** Called before each call settles (a test flips leadership here). */
  onCall: (c: CloudCallRecord) => void = () => undefined;
  private nextId = 1;

  constructor(readonly address: string) {}

  holder(): string | undefined {
    return [...this.assignments.values()][0];
  }

  changing(): CloudCallRecord[] {
    return this.calls.filter((c) => c.op === 'assign' || c.op === 'unassign');
  }

  assignOutOfBand(device: string): string {
    const id = `asg-${this.nextId++}`;
    this.assignments.set(id, device);
    return id;
  }

  private enter(call: CloudCall | undefined, rec: CloudCallRecord): void {
    if (call?.guard && !call.guard()) throw new CloudCallAbortedError('not leading');
    if (call?.signal?.aborted) throw new CloudCallAbortedError('aborted');
    this.calls.push(rec);
    this.onCall(rec);
    if (this.transientFailures > 0) {
      this.transientFailures--;
      throw Object.assign(new Error('503 Service Unavailable'), {
        retryable: true,
        retryAfterMs: this.retryAfterMs,
      });
    }
    if (this.permanentFailure) {
      this.permanentFailure = false;
      throw Object.assign(new Error('403 Forbidden'), { retryable: false });
    }
  }

  private list(): FloatingIpHolder[] {
    return [...this.assignments].map(([assignmentId, deviceId]) => ({ assignmentId, deviceId }));
  }

  async findReservation(address: string): Promise<FloatingIpReservation> {
    this.enter(undefined, { op: 'find', arg: address });
    return { id: this.reservationId, address, holders: this.list() };
  }

  async holders(reservationId: string, call?: CloudCall): Promise<FloatingIpHolder[]> {
    this.enter(call, { op: 'holders', arg: reservationId });
    if (this.hangReads)
      await new Promise((_, reject) => {
        if (!call?.signal) return; // hangs for good: the test must not do this
        call.signal.addEventListener('abort', () => reject(new CloudCallAbortedError('aborted')), {
          once: true,
        });
      });
    return this.list();
  }

  async assign(address: string, deviceId: string, call: CloudCall): Promise<FloatingIpHolder> {
    this.enter(call, { op: 'assign', arg: deviceId });
    if (this.assignments.size > 0) throw new FloatingIpTakenError(`${address} is already assigned`);
    if (this.lagAssigns > 0) {
      this.lagAssigns--;
      throw new FloatingIpTakenError(`${address} is still being released`);
    }
    const id = `asg-${this.nextId++}`;
    this.assignments.set(id, deviceId);
    return { assignmentId: id, deviceId };
  }

  async unassign(assignmentId: string, call: CloudCall): Promise<void> {
    this.enter(call, { op: 'unassign', arg: assignmentId });
    if (assignmentId === this.reservationId) throw new Error('the reservation id was passed to unassign');
    this.assignments.delete(assignmentId);
  }
}
