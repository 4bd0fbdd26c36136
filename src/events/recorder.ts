// The service's observer that reports to Kubernetes: what this node's kvip does to the lease and the VIP, as
// Events on its Pod (or the Lease). Every call only queues (sender.ts): the VIP path never waits on them.
//
//   StartedLeading      Normal   this node leads and takes the VIP
//   StoppedLeading      Normal on shutdown, Warning otherwise (lease lost or given up), the reason in the message
//   HealthCheckFailed   Warning  the health gate closed: this node does not take or keep the lease
//   HealthCheckPassed   Normal   the gate opened again after HealthCheckFailed
//   VipAcquireFailed    Warning  adding/announcing the VIP failed (retried; given up after a few)
//   VipReleaseFailed    Warning  removing the VIP failed (retried; the lease is kept meanwhile)
//   VipReconcileFailed  Warning  repairing the held VIP failed
import type { ProviderStep, ServiceObserver } from '../service/observer.js';
import { oneLine, safeMessage, type EventSpec, type EventType, type ObjectRef } from './event.js';
import type { EventSender } from './sender.js';

export interface EventRecorderOptions {
  sender: Pick<EventSender, 'post' | 'close'>;
  /** The object the Events are about, looked up for each (a Lease's uid is known once it has been read). */
  target: () => ObjectRef;
  /** This node's name (the lease identity). */
  identity: string;
  /** namespace/name of the Lease, for the messages. */
  lease: string;
  vip: string;
  /** Values that must never be in a message (tokens, passwords); replaced by [redacted]. */
  secrets: readonly string[];
}

const STEP: Record<ProviderStep, { reason: string; action: string; what: string }> = {
  acquire: { reason: 'VipAcquireFailed', action: 'AcquireVip', what: 'adding' },
  release: { reason: 'VipReleaseFailed', action: 'ReleaseVip', what: 'removing' },
  reconcile: { reason: 'VipReconcileFailed', action: 'ReconcileVip', what: 'repairing' },
};

export class EventRecorder implements ServiceObserver {
  /** The gate closed and no HealthCheckPassed followed yet. */
  private gateFailed = false;

  constructor(private readonly o: EventRecorderOptions) {}

  startedLeading(): void {
    this.emit(
      'Normal',
      'StartedLeading',
      'Lead',
      `${this.o.identity} became leader of lease ${this.o.lease} and is taking the virtual IP ${this.o.vip}`,
    );
  }

  stoppedLeading(reason: string): void {
    this.emit(
      reason === 'shutdown' ? 'Normal' : 'Warning',
      'StoppedLeading',
      'Lead',
      `${this.o.identity} stopped leading lease ${this.o.lease} (${oneLine(reason)}) and dropped the virtual IP ${this.o.vip}`,
    );
  }

  gateChanged(open: boolean, detail: string): void {
    if (!open) {
      this.gateFailed = true;
      this.emit(
        'Warning',
        'HealthCheckFailed',
        'HealthCheck',
        `the local API server failed its health check, ${this.o.identity} will not lead: ${oneLine(detail)}`,
      );
    } else if (this.gateFailed) {
      this.gateFailed = false;
      this.emit(
        'Normal',
        'HealthCheckPassed',
        'HealthCheck',
        `the local API server passes its health check again, ${this.o.identity} may lead` +
          (detail.trim() ? `: ${oneLine(detail)}` : ''),
      );
    }
  }

  providerFailed(step: ProviderStep, message: string): void {
    const s = STEP[step];
    this.emit('Warning', s.reason, s.action, `${s.what} the virtual IP ${this.o.vip} failed: ${message}`);
  }

  /** Flushes what is queued within `ms`, then stops (see EventSender.close). */
  close(ms: number): Promise<void> {
    return this.o.sender.close(ms);
  }

  private emit(type: EventType, reason: string, action: string, message: string): void {
    const spec: EventSpec = {
      involvedObject: this.o.target(),
      type,
      reason,
      action,
      message: safeMessage(message, this.o.secrets),
    };
    this.o.sender.post(spec);
  }
}
