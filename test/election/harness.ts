// A simulated cluster of electors on one fake clock and one in-memory lease server.
import { Elector, type ElectorConfig, type LeadershipGate } from '../../src/election/index.js';
import { FakeClock, ProcessClock } from '../fakes/clock.js';
import { MemoryLeaseServer, type Link } from '../fakes/memory-lease-store.js';

export interface SimNode {
  name: string;
  elector: Elector;
  clock: ProcessClock;
  link: Link;
  events: { at: number; event: 'started' | 'stopped' | `leader:${string}` }[];
  /** Set when onStoppedLeading ran, to check ordering against the release write. */
  stoppedAt: number[];
  /**
   * When this node changed the world as a leader would (a provider's add or announcement): at started
   * leading, then every `actEveryMs` on its own clock while it believes it leads, each gated on the
   * elector's isLeader() as kvip's providers are. A paused node's repeats fire on resume, in expiry order.
   */
  acts: number[];
  /** onStartedLeading's previousRecordAgeMs, one per start. */
  takeovers: (number | undefined)[];
}

export const PRESETS = {
  reference: { leaseDurationMs: 5000, renewDeadlineMs: 3000, retryPeriodMs: 1000 },
  fast: { leaseDurationMs: 1000, renewDeadlineMs: 500, retryPeriodMs: 200 },
};

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Sim {
  readonly clock = new FakeClock();
  readonly server = new MemoryLeaseServer(this.clock);
  readonly nodes: SimNode[] = [];
  /** How often a simulated provider repeats its announcement; default RetryPeriod / 2. */
  actEveryMs: number;
  /** Warnings and errors the electors log, as "<node>: <message>". */
  readonly logged: string[] = [];

  constructor(
    readonly timing: Omit<ElectorConfig, 'identity' | 'watch'>,
    readonly watch = true,
    readonly random: () => number = Math.random,
  ) {
    this.actEveryMs = timing.retryPeriodMs / 2;
  }

  link(latencyMs = 0): Link {
    return { up: () => latencyMs, down: () => latencyMs, partitioned: false };
  }

  add(
    name: string,
    link: Link = this.link(),
    onStopped?: () => void | Promise<void>,
    gate?: LeadershipGate,
  ): SimNode {
    const clock = new ProcessClock(this.clock);
    const node: SimNode = {
      name,
      clock,
      link,
      events: [],
      stoppedAt: [],
      acts: [],
      takeovers: [],
      elector: undefined as never,
    };
    let repeat: { cancel(): void } | undefined;
    const act = () => {
      if (node.elector.isLeader()) node.acts.push(this.clock.now());
    };
    const schedule = () => {
      repeat = clock.setTimer(this.actEveryMs, () => {
        act();
        schedule();
      });
    };
    node.elector = new Elector(
      { identity: name, watch: this.watch, ...this.timing },
      {
        store: this.server.client(name, clock, link),
        clock,
        random: this.random,
        ...(gate ? { gate } : {}),
        log: {
          debug() {},
          info() {},
          warn: (_o: object, m: string) => void this.logged.push(`${name}: ${m}`),
          error: (_o: object, m: string) => void this.logged.push(`${name}: ${m}`),
        },
        callbacks: {
          onStartedLeading: (previousRecordAgeMs) => {
            node.events.push({ at: this.clock.now(), event: 'started' });
            node.takeovers.push(previousRecordAgeMs);
            act();
            repeat?.cancel();
            schedule();
          },
          onStoppedLeading: async () => {
            repeat?.cancel();
            repeat = undefined;
            node.events.push({ at: this.clock.now(), event: 'stopped' });
            node.stoppedAt.push(this.server.writes.length);
            await onStopped?.();
          },
          onNewLeader: (id) => void node.events.push({ at: this.clock.now(), event: `leader:${id}` }),
        },
      },
    );
    this.nodes.push(node);
    return node;
  }

  /** A node that is running (not crashed, not paused) and believes it leads. */
  leaders(): SimNode[] {
    return this.nodes.filter((n) => !n.clock.dead && !n.clock.paused && n.elector.isLeader());
  }

  startAll(): void {
    for (const n of this.nodes) n.elector.start();
  }
}
