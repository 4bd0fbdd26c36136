// What /healthz and /readyz answer: the state of `kvip start` as a liveness and a readiness verdict, each
// with one line saying why. Liveness fails only after a fatal error (the process is about to exit non-zero);
// nothing outside the process (an API server outage, a failing health check) ever makes it fail, so a
// kubelet never restarts kvip for what a restart cannot fix. Readiness needs the service to run and the
// health gate, if there is one, to be open.
export interface Verdict {
  ok: boolean;
  /** One line, no newline. */
  line: string;
}

type Phase = 'starting' | 'running' | 'stopping' | 'failed';

/** What readiness reads of the health gate (src/health's HealthGate), at request time. */
export interface GateView {
  isOpen(): boolean;
  /** One line: why it is closed. */
  closedReason(): string;
}

export class Health {
  private phase: Phase = 'starting';
  private fatal = '';
  /** The gate itself, when there is one: read live, so its state before its first change counts too. */
  private gateView: GateView | undefined;

  /** The preflight checks passed and the service runs. */
  serviceStarted(): void {
    if (this.phase === 'starting') this.phase = 'running';
  }

  /** Asked to stop (SIGTERM/SIGINT): no longer ready, still alive. */
  stopping(): void {
    if (this.phase !== 'failed') this.phase = 'stopping';
  }

  /** A fatal error: the VIP is being dropped and the process exits non-zero. */
  failed(message: string): void {
    this.phase = 'failed';
    this.fatal = oneLine(message);
  }

  /** Read the gate itself from now on (it is closed from its start until a first check passes). */
  readGate(gate: GateView): void {
    this.gateView = gate;
  }

  live(): Verdict {
    if (this.phase === 'failed') return { ok: false, line: `fatal error: ${this.fatal}` };
    return { ok: true, line: 'ok' };
  }

  ready(): Verdict {
    switch (this.phase) {
      case 'starting':
        return { ok: false, line: 'starting: the start-up checks have not finished' };
      case 'stopping':
        return { ok: false, line: 'stopping: kvip is shutting down' };
      case 'failed':
        return { ok: false, line: `fatal error: ${this.fatal}` };
      case 'running': {
        const view = this.gateView;
        if (view && !view.isOpen())
          return {
            ok: false,
            line: `the health check fails: ${oneLine(view.closedReason()) || 'no detail'}`,
          };
        return { ok: true, line: 'ok' };
      }
    }
  }
}

function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}
