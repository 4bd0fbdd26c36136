// kvip's Prometheus metrics, in a registry of their own (never prom-client's global one, so a library that
// registers there cannot clash with them). They are fed by the service (as a ServiceObserver), by the
// providers (frames sent, the BGP sessions, read at scrape time) and by the Metal API client (each response).
// Every method returns at once: they run on the VIP path.
import { performance } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ServiceObserver, ProviderStep } from '../service/observer.js';
import type { ProviderHooks, SessionStates } from '../service/providers.js';
import type { SessionState } from '../bgp/session.js';
import { VERSION } from '../version.js';
import type { GateView } from './health.js';

export type AddressFamily = 'ipv4' | 'ipv6';

export interface MetricsOptions {
  /** The VIP's family: its announcement counter is shown (at 0) before the first frame. */
  family: AddressFamily;
  /** The renew deadline, seconds: the renewal histogram's buckets end there. */
  renewDeadlineS: number;
  /** Without leader election every node holds the VIP: kvip_leader is 1 from the start. */
  leaderElection: boolean;
  /** A label of kvip_build_info. */
  mode: string;
  /** prom-client's process and Node.js metrics (process_*, nodejs_*). */
  processMetrics?: boolean;
  /** Monotonic ms; replaceable for tests. */
  now?: () => number;
}

/** One Metal API attempt as the transport reports it (packet/http.ts's onResponse). */
export interface MetalResponse {
  operation: string;
  status: number | 'error';
}

const SESSION_STATES: readonly SessionState[] = [
  'idle',
  'connect',
  'open-sent',
  'open-confirm',
  'established',
];

/** Millisecond-scale buckets, cut at the renew deadline (a renewal that takes longer has already failed). */
export function renewBuckets(renewDeadlineS: number): number[] {
  const base = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
  return [...base.filter((b) => b < renewDeadlineS), renewDeadlineS];
}

export class KvipMetrics implements ServiceObserver, ProviderHooks {
  readonly registry = new Registry();
  private readonly now: () => number;
  /** Monotonic ms at which the record this node took over last changed, until the VIP is held. */
  private takeoverFrom: number | undefined;
  private gateOpen = true;
  private gate: GateView | undefined;
  private bgpStates: SessionStates | undefined;

  private readonly leader: Gauge;
  private readonly transitions: Counter<'direction'>;
  private readonly vipHeldGauge: Gauge;
  private readonly announcements: Counter<'family'>;
  private readonly lastFailover: Gauge;
  private readonly renewals: Histogram;
  private readonly metalRequests: Counter<'operation' | 'status'>;
  private readonly providerFailures: Counter<'step'>;
  private readonly healthUp: Gauge;
  private readonly healthFailures: Counter;

  constructor(o: MetricsOptions) {
    this.now = o.now ?? (() => performance.now());
    const registers = [this.registry];
    new Gauge({
      name: 'kvip_build_info',
      help: 'Always 1; the labels say which kvip runs and in which mode',
      labelNames: ['version', 'mode'],
      registers,
    }).set({ version: VERSION, mode: o.mode }, 1);
    this.leader = new Gauge({ name: 'kvip_leader', help: '1 while this node leads, else 0', registers });
    this.transitions = new Counter({
      name: 'kvip_leader_transitions_total',
      help: 'Times this node started (direction="started") or stopped (direction="stopped") leading',
      labelNames: ['direction'],
      registers,
    });
    this.vipHeldGauge = new Gauge({
      name: 'kvip_vip_held',
      help: '1 while the VIP is held here (added, announced or assigned), else 0',
      registers,
    });
    this.announcements = new Counter({
      name: 'kvip_gratuitous_announcements_total',
      help: 'Gratuitous ARP (ipv4) and unsolicited neighbour advertisement (ipv6) frames sent',
      labelNames: ['family'],
      registers,
    });
    this.lastFailover = new Gauge({
      name: 'kvip_last_failover_seconds',
      help:
        'The last takeover by this node: from when it last saw the previous lease record change (a renewal ' +
        'or a release) to when it held the VIP; 0 before the first',
      registers,
    });
    this.renewals = new Histogram({
      name: 'kvip_lease_renew_duration_seconds',
      help: 'Successful lease renewals by this node, from sending the request to its answer',
      buckets: renewBuckets(o.renewDeadlineS),
      registers,
    });
    this.metalRequests = new Counter({
      name: 'kvip_metal_api_requests_total',
      help: 'Equinix Metal API requests (each attempt) by operation and HTTP status, or "error" for none',
      labelNames: ['operation', 'status'],
      registers,
    });
    this.providerFailures = new Counter({
      name: 'kvip_provider_failures_total',
      help: 'Failed steps of the VIP provider (acquire, release, reconcile); each is retried',
      labelNames: ['step'],
      registers,
    });
    const gate = () => this.gate;
    this.healthUp = new Gauge({
      name: 'kvip_health_check_up',
      help: '1 while the health check lets this node lead (or there is none), 0 while it does not',
      registers,
      collect() {
        const g = gate();
        if (g) this.set(g.isOpen() ? 1 : 0);
      },
    });
    this.healthFailures = new Counter({
      name: 'kvip_health_check_failures_total',
      help: 'Times the health check closed the leadership gate',
      registers,
    });
    this.sessionGauges();
    this.announcements.inc({ family: o.family }, 0);
    this.healthUp.set(1);
    if (!o.leaderElection) this.leader.set(1);
    if (o.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /** The Prometheus text format, and its content type. */
  async scrape(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }

  // ---- ServiceObserver ----------------------------------------------------------------------------

  startedLeading(): void {
    this.leader.set(1);
    this.transitions.inc({ direction: 'started' });
  }

  leaseTakenOver(previousRecordAgeMs: number): void {
    this.takeoverFrom = this.now() - previousRecordAgeMs;
  }

  stoppedLeading(): void {
    this.leader.set(0);
    this.transitions.inc({ direction: 'stopped' });
    this.takeoverFrom = undefined;
  }

  vipHeld(held: boolean): void {
    this.vipHeldGauge.set(held ? 1 : 0);
    if (!held || this.takeoverFrom === undefined) return;
    this.lastFailover.set((this.now() - this.takeoverFrom) / 1000);
    this.takeoverFrom = undefined;
  }

  providerFailed(step: ProviderStep): void {
    this.providerFailures.inc({ step });
  }

  leaseRenewed(latencyMs: number): void {
    this.renewals.observe(latencyMs / 1000);
  }

  /** Read the gate itself at scrape time (closed from its start until a first check passes). */
  readGate(gate: GateView): void {
    this.gate = gate;
  }

  gateChanged(open: boolean): void {
    if (this.gateOpen && !open) this.healthFailures.inc();
    this.gateOpen = open;
    this.healthUp.set(open ? 1 : 0);
  }

  // ---- hooks ---------------------------------------------------------------------------------------

  announced(family: AddressFamily): void {
    this.announcements.inc({ family });
  }

  /** For MetalClientOptions.onResponse: bound, so it can be handed over as it is. */
  readonly metalResponse = (e: MetalResponse): void => {
    this.metalRequests.inc({ operation: e.operation, status: String(e.status) });
  };

  bgpSessions(read: SessionStates): void {
    this.bgpStates = read;
  }

  /** Per-peer session gauges, read from the speaker at scrape time (absent without BGP). */
  private sessionGauges(): void {
    const states = () =>
      (this.bgpStates?.() ?? []).map((s) => ({ ...s, peer: s.peer.replace(/^\[|\]$/g, '') }));
    new Gauge({
      name: 'kvip_bgp_session_up',
      help: '1 while the BGP session to the peer is Established, else 0',
      labelNames: ['peer'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const s of states()) this.set({ peer: s.peer }, s.state === 'established' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'kvip_bgp_session_state',
      help: 'The BGP session state per peer: 1 for the state it is in, 0 for the others',
      labelNames: ['peer', 'state'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const s of states())
          for (const state of SESSION_STATES) this.set({ peer: s.peer, state }, s.state === state ? 1 : 0);
      },
    });
  }
}
