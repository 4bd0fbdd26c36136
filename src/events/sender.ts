// Posts Events in the background, so that nothing the API server does (hang, fail, refuse) reaches the VIP
// path: post() only puts the Event into a bounded queue and returns; one loop sends them, one at a time.
//
// - The queue holds `queueLimit` Events; a newer one pushes out the oldest, and the drops are counted in a
//   warning (once per run of a full queue).
// - A repeat of an Event still queued only bumps its count; a repeat of one posted within `aggregateMs` is a
//   PATCH of that Event's count and lastTimestamp (`kubectl get events` shows "x5 over 3m"), as client-go does.
// - Each request is bounded by `requestTimeoutMs`; a network error, a 429 or a 5xx is tried again after a
//   backoff, `attempts` times in all; a 4xx is not (the same request gets the same answer) and is logged once
//   per status, naming the permission when it is a 403.
// - close() gives what is queued `ms` to get out, then aborts the rest.
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeHttp, KubeResponse } from '../election/kube-http.js';
import { describeBody, statusText } from '../election/kube-store.js';
import type { Logger } from '../log.js';
import { eventBody, eventName, repeatPatch, type EventSpec, type Reporter } from './event.js';

export interface EventSenderOptions {
  /** The connection to post on, as the elector uses it now (its kubeconfig may switch). */
  http: () => KubeHttp;
  reporter: Reporter;
  log: Logger;
  queueLimit?: number;
  requestTimeoutMs?: number;
  attempts?: number;
  /** The first retry's wait; each next one doubles it. */
  backoffMs?: number;
  /** A repeat within this long of the last post of the same Event counts on it instead of a new one. */
  aggregateMs?: number;
  now?: () => Date;
}

interface Queued {
  spec: EventSpec;
  key: string;
  count: number;
  first: Date;
  last: Date;
}

interface Posted {
  name: string;
  count: number;
  /** ms since epoch of the last post or patch. */
  at: number;
}

type Outcome = 'ok' | 'notFound' | 'refused' | 'failed';

/** How many posted Events are remembered for aggregation. */
const POSTED_LIMIT = 64;

export class EventSender {
  private readonly queue: Queued[] = [];
  private readonly posted = new Map<string, Posted>();
  private readonly abort = new AbortController();
  private loop: Promise<void> | null = null;
  private closed = false;
  private dropped = 0;
  /** Events in flight when close() aborted them. */
  private cutOff = 0;
  private droppedInRun = 0;
  /** Statuses already logged ("create 403"): each is logged once. */
  private readonly refusals = new Set<string>();
  /** Whether the API server's being unreachable has been logged (again after a success). */
  private outageLogged = false;
  private readonly o: Required<Omit<EventSenderOptions, 'http' | 'reporter' | 'log'>>;

  constructor(private readonly opts: EventSenderOptions) {
    this.o = {
      queueLimit: opts.queueLimit ?? 64,
      requestTimeoutMs: opts.requestTimeoutMs ?? 2000,
      attempts: opts.attempts ?? 3,
      backoffMs: opts.backoffMs ?? 250,
      aggregateMs: opts.aggregateMs ?? 10 * 60_000,
      now: opts.now ?? (() => new Date()),
    };
  }

  /** Events dropped so far because the queue was full. */
  get droppedCount(): number {
    return this.dropped;
  }

  /** Queues an Event and returns at once; never throws, never waits. */
  post(spec: EventSpec): void {
    if (this.closed) return;
    const now = this.o.now();
    const key = JSON.stringify([spec.involvedObject, spec.type, spec.reason, spec.message]);
    const same = this.queue.find((q) => q.key === key);
    if (same) {
      same.count += 1;
      same.last = now;
    } else {
      this.queue.push({ spec, key, count: 1, first: now, last: now });
      if (this.queue.length > this.o.queueLimit) this.drop();
    }
    this.kick();
  }

  /** Starts the sending loop unless it runs; on a later turn, so that post() does no I/O of its own. */
  private kick(): void {
    if (this.loop || this.abort.signal.aborted) return;
    this.loop = new Promise((resolve) => setImmediate(resolve))
      .then(() => this.run())
      .finally(() => {
        this.loop = null;
        // Posted between the loop's last look at the queue and its end.
        if (this.queue.length > 0) this.kick();
      });
  }

  /**
   * Stops taking Events and gives the queued ones up to `ms` to be posted; then aborts what is in flight and
   * drops the rest. Resolves by then, whatever the API server does.
   */
  async close(ms: number): Promise<void> {
    this.closed = true;
    const timer = setTimeout(
      () => this.abort.abort(new Error(`closing: ${ms} ms to post Events are over`)),
      ms,
    );
    while (this.loop) await this.loop;
    clearTimeout(timer);
    this.abort.abort(new Error('closed'));
    const lost = this.queue.length + this.cutOff;
    if (lost > 0)
      this.opts.log.warn(
        { events: lost },
        `shutdown: ${lost} Kubernetes Event(s) not posted within ${ms} ms`,
      );
    this.queue.length = 0;
  }

  private drop(): void {
    this.queue.shift();
    this.dropped += 1;
    this.droppedInRun += 1;
    if (this.droppedInRun === 1)
      this.opts.log.warn(
        { dropped: this.dropped, queueLimit: this.o.queueLimit },
        `Kubernetes Events queue full (${this.o.queueLimit}): dropping the oldest (${this.dropped} dropped so far)`,
      );
  }

  private async run(): Promise<void> {
    while (this.queue.length > 0 && !this.abort.signal.aborted) {
      const next = this.queue.shift()!;
      const posted = await this.send(next);
      // Cut off by close(): not posted, though it left the queue.
      if (!posted && this.abort.signal.aborted) this.cutOff += 1;
      if (this.queue.length === 0) this.endDropRun();
    }
  }

  private endDropRun(): void {
    if (this.droppedInRun > 1)
      this.opts.log.warn(
        { dropped: this.dropped },
        `dropped ${this.droppedInRun} Kubernetes Events while the queue was full (${this.dropped} in all)`,
      );
    this.droppedInRun = 0;
  }

  /** Posts (or counts on) one Event; whether the API server has it now. */
  private async send(q: Queued): Promise<boolean> {
    const ns = q.spec.involvedObject.namespace;
    const collection = `/api/v1/namespaces/${encodeURIComponent(ns)}/events`;
    const seen = this.posted.get(q.key);
    if (seen && this.o.now().getTime() - seen.at < this.o.aggregateMs) {
      const count = seen.count + q.count;
      const path = `${collection}/${encodeURIComponent(seen.name)}`;
      const outcome = await this.request('patch', ns, 'PATCH', path, repeatPatch(count, q.last));
      if (outcome === 'ok') return this.remember(q.key, seen.name, count);
      if (outcome !== 'notFound') return false;
      // Gone (Events expire after an hour by default): post it anew.
    }
    const name = eventName(q.spec.involvedObject.name, q.first);
    const body = eventBody(name, q.spec, this.opts.reporter, q);
    if ((await this.request('create', ns, 'POST', collection, body)) !== 'ok') return false;
    return this.remember(q.key, name, q.count);
  }

  private remember(key: string, name: string, count: number): true {
    this.posted.delete(key);
    this.posted.set(key, { name, count, at: this.o.now().getTime() });
    if (this.posted.size > POSTED_LIMIT) this.posted.delete(this.posted.keys().next().value as string);
    return true;
  }

  private async request(
    verb: string,
    ns: string,
    method: string,
    path: string,
    body: object,
  ): Promise<Outcome> {
    const type = method === 'PATCH' ? 'application/merge-patch+json' : 'application/json';
    for (let attempt = 1; ; attempt++) {
      let res: KubeResponse | undefined;
      let err: unknown;
      try {
        const signal = AbortSignal.any([AbortSignal.timeout(this.o.requestTimeoutMs), this.abort.signal]);
        res = await this.opts.http().request(method, path, body, signal, type);
      } catch (e) {
        err = e;
      }
      if (res && res.status >= 200 && res.status < 300) {
        this.outageLogged = false;
        return 'ok';
      }
      if (this.abort.signal.aborted) return 'failed';
      // A create that timed out may have been committed all the same: its retry finds it there.
      if (res?.status === 409 && verb === 'create') return 'ok';
      if (res?.status === 404 && verb === 'patch') return 'notFound';
      const transient = !res || res.status === 429 || res.status >= 500;
      if (!transient) return this.refused(verb, ns, res!);
      if (attempt >= this.o.attempts) return this.failed(verb, res, err);
      try {
        await sleep(this.o.backoffMs * 2 ** (attempt - 1), undefined, { signal: this.abort.signal });
      } catch {
        return 'failed';
      }
    }
  }

  /** What the answer said, if it was a Kubernetes Status; else what it was (never its text). */
  private detail(res: KubeResponse): string {
    let parsed: unknown;
    try {
      parsed = JSON.parse(res.text);
    } catch {
      parsed = undefined;
    }
    return statusText(parsed) ?? `${describeBody(res.contentType, res.bytes)}, not a Kubernetes Status`;
  }

  private refused(verb: string, ns: string, res: KubeResponse): Outcome {
    const key = `${verb} ${res.status}`;
    if (this.refusals.has(key)) return 'refused';
    this.refusals.add(key);
    const detail = this.detail(res);
    const why =
      res.status === 403
        ? `RBAC forbids "${verb}" on events (core API group) in namespace ${ns}; kvip needs create and patch ` +
          `on events to report what it does (see \`kvip manifest rbac\`)`
        : res.status === 401
          ? `the API server rejected kvip's credentials (401 Unauthorized)`
          : `the API server refused a Kubernetes Event (${verb}: HTTP ${res.status})`;
    this.opts.log.warn({ status: res.status, err: detail }, `${why}: ${detail} (logged once)`);
    return 'refused';
  }

  private failed(verb: string, res: KubeResponse | undefined, err: unknown): Outcome {
    const e = err as { name?: unknown; message?: unknown } | undefined;
    const why = res
      ? `HTTP ${res.status}: ${this.detail(res)}`
      : e?.name === 'AbortError' || e?.name === 'TimeoutError'
        ? `no answer within ${this.o.requestTimeoutMs} ms`
        : typeof e?.message === 'string'
          ? e.message
          : String(err);
    const line = `a Kubernetes Event was not posted (${verb}, ${this.o.attempts} attempts): ${why}`;
    if (this.outageLogged) this.opts.log.debug({ err: why }, line);
    else this.opts.log.warn({ err: why }, line);
    this.outageLogged = true;
    return 'failed';
  }
}
