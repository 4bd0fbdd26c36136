// The demo's story, on a built cluster: three kvip nodes elect a leader; the leader is stopped (SIGTERM),
// the VIP moves; the next leader's host dies (its kvip SIGKILLed, its link cut: a killed kvip alone leaves
// the VIP on a live kernel, which goes on answering), the VIP moves again. The client's probe measures each
// outage; the timeline shows it as it happens; the summary has the outages and what each kvip logged.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DemoCluster } from './cluster.js';
import { isStoryLine, kvipLogLines } from './kvip-log.js';
import { nodeName, type NodeLogLine, type Outage, type Style, type Summary } from './render.js';
import type { LeaseTimes, ProbeEvent } from './services.js';
import { Timeline } from './timeline.js';

/** kube-vip's defaults: a crash costs about a lease (5 s), a graceful stop well under one retry period. */
export const LEASE: LeaseTimes = { ld: 5, rd: 3, rp: 1 };
export const PROBE_INTERVAL_MS = 5;
export const SLOT_MS = 20;
/** How long the timeline shows a steady state before each step, and after the last one. */
const STEADY_MS = 3000;
/** Functional bounds only: a step that takes longer than this means something is broken. */
const STEP_BOUND_MS = 30000;
/** Shorter silences (a busy machine's scheduling) are left to the bar. */
const GAP_EVENT_MS = 50;

export interface ScenarioIo {
  out: (text: string) => void;
  style: Style;
  live: boolean;
  signal: AbortSignal;
}

class Story {
  readonly switches: Array<{ t: number; from: string; to: string; ms: number }> = [];
  /** Who answered the client last. */
  answering = '';
  lease = { holder: '', expired: false };
  /** BGP: where the router sends the VIP's traffic. */
  route: string | undefined;

  constructor(
    readonly timeline: Timeline,
    private readonly style: Style,
  ) {}

  onProbe(e: ProbeEvent): void {
    const n = (node: string) => nodeName(node, this.style);
    if (e.type === 'slots' && e.first !== undefined && e.nodes) this.timeline.addSlots(e.first, e.nodes);
    else if (e.type === 'first' && e.node) {
      this.answering = e.node;
      this.timeline.event(`the client gets its first answer, from ${n(e.node)}`, e.t);
    } else if (e.type === 'switch' && e.ms !== undefined) {
      const [from, to] = [String(e.from), String(e.to)];
      this.answering = to;
      this.switches.push({ t: e.t, from, to, ms: e.ms });
      this.timeline.event(
        `${n(to)} answers now: ${Math.round(e.ms)} ms without an answer since ${n(from)}'s last`,
        e.t,
      );
    } else if (e.type === 'gap' && e.before === e.after && e.ms !== undefined && e.ms >= GAP_EVENT_MS)
      this.timeline.event(`${Math.round(e.ms)} ms without an answer (then ${n(e.after ?? '')} again)`, e.t);
  }

  onRoute(route: string | undefined): void {
    if (route === undefined || route === this.route) return;
    this.route = route;
    this.timeline.setRoute(route);
    this.timeline.event(
      route === ''
        ? 'the router has no route to the VIP'
        : `the router sends the VIP's traffic to ${nodeName(route, this.style)}`,
    );
  }

  onLease(lease: { holder: string; expired: boolean }): void {
    const before = this.lease;
    this.lease = lease;
    this.timeline.setLease(lease);
    const n = nodeName(lease.holder, this.style);
    if (lease.holder !== before.holder)
      this.timeline.event(
        lease.holder === '' ? 'the Lease is released: nobody holds it' : `${n} holds the Lease`,
      );
    else if (lease.expired && !before.expired)
      this.timeline.event(`${n}'s Lease has expired (not renewed for ${LEASE.ld} s)`);
  }
}

async function until(cond: () => boolean, what: string, signal: AbortSignal): Promise<void> {
  const end = Date.now() + STEP_BOUND_MS;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${STEP_BOUND_MS / 1000} s waiting for ${what}`);
    await sleep(20, undefined, { signal });
  }
}

/** Starts the probe and kvip on every node, runs the two failovers, and returns what was measured. */
export async function runScenario(cluster: DemoCluster, io: ScenarioIo): Promise<Summary> {
  const t0 = Math.floor(Date.now() / SLOT_MS) * SLOT_MS;
  const timeline = new Timeline({ out: io.out, style: io.style, live: io.live, t0, slotMs: SLOT_MS });
  const story = new Story(timeline, io.style);
  const n = (node: string) => nodeName(node, io.style);
  let polling = true;
  const poll = (async () => {
    while (polling) {
      story.onLease(await cluster.lease().catch(() => story.lease));
      try {
        story.onRoute(cluster.routedTo());
      } catch {
        // torn down meanwhile
      }
      await sleep(100);
    }
  })();
  try {
    await cluster.startProbe(PROBE_INTERVAL_MS, SLOT_MS, (e) => story.onProbe(e));
    timeline.event(`starting kvip on ${cluster.nodes.map(n).join(', ')}`);
    for (const node of cluster.nodes) cluster.startKvip(node, LEASE);
    await until(
      () => story.lease.holder !== '' && story.answering === story.lease.holder,
      'a leader that the client reaches',
      io.signal,
    );
    const outages: Outage[] = [];
    for (const action of ['SIGTERM', 'SIGKILL'] as const) {
      await sleep(STEADY_MS, undefined, { signal: io.signal });
      const leader = story.lease.holder;
      const seen = story.switches.length;
      if (action === 'SIGKILL') cluster.linkDown(leader);
      const exited = cluster.stopKvip(leader, action);
      timeline.event(
        action === 'SIGTERM'
          ? `SIGTERM to ${n(leader)}'s kvip (the leader): a graceful stop`
          : `${n(leader)} (the leader) dies: its link cut, its kvip SIGKILLed; nothing is cleaned up`,
      );
      void exited.then((how) => timeline.event(`${n(leader)}'s kvip: ${how}`));
      await until(
        () => story.switches.slice(seen).some((s) => s.from === leader),
        `another node to answer after ${action} to ${leader}`,
        io.signal,
      );
      const moved = story.switches.slice(seen).find((s) => s.from === leader)!;
      outages.push({ action, from: leader, to: moved.to, ms: moved.ms });
      await until(() => story.lease.holder === moved.to, `${moved.to} to hold the Lease`, io.signal);
    }
    await sleep(STEADY_MS, undefined, { signal: io.signal });
    timeline.finish();
    return { vip: cluster.vip, probeIntervalMs: PROBE_INTERVAL_MS, outages, log: storyLines(cluster, t0) };
  } finally {
    polling = false;
    await poll;
  }
}

/** Each node's key log lines, node by node, in order. */
function storyLines(cluster: DemoCluster, t0: number): NodeLogLine[] {
  return cluster.nodes.flatMap((node) => {
    let text = '';
    try {
      text = readFileSync(cluster.kvipLogFile(node), 'utf8');
    } catch {
      // never started
    }
    return kvipLogLines([text])
      .filter((l) => isStoryLine(l.msg))
      .map((l) => ({ node, ms: l.t - t0, msg: l.msg }));
  });
}
