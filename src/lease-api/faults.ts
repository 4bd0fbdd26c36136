// Per-client fault injection for the fake kube-apiserver: which fault (if any) applies to a request, given the
// rules tests set (client or '*', optional verbs, optional count of requests). The same rule table picks the
// chunking of each new watch.

export type Fault =
  | { kind: 'delay'; ms: number }
  | { kind: 'hang' }
  | { kind: 'status'; code: number }
  | { kind: 'reset' }
  | { kind: 'partition' }
  /** An answer from something between client and API server (a proxy's error page): any status and body. */
  | { kind: 'proxy'; code: number; contentType: string; body: string };

export interface FaultOptions {
  /** Only requests with one of these verbs (get, list, watch, create, update, delete ...); default all. */
  verbs?: string[];
  /** Only the next `count` matching requests; default every one until cleared. */
  count?: number;
  /** Only requests for these resources ('leases', 'events'; /version, /readyz and the like have none); default all. */
  resources?: string[];
}

interface Rule<T> {
  client: string;
  value: T;
  verbs?: Set<string>;
  resources?: Set<string>;
  remaining?: number;
}

const sameSet = (a: Set<string> | undefined, b: string[] | undefined): boolean =>
  a === undefined
    ? b === undefined
    : b !== undefined && a.size === new Set(b).size && b.every((v) => a.has(v));

const sameScope = <T>(r: Rule<T>, opts: FaultOptions): boolean =>
  sameSet(r.verbs, opts.verbs) && sameSet(r.resources, opts.resources);

/** Checks a fault description that came from outside (the control endpoint); returns an error message or null. */
export function checkFault(f: unknown): string | null {
  if (typeof f !== 'object' || f === null) return 'fault must be an object';
  const x = f as Record<string, unknown>;
  switch (x.kind) {
    case 'delay':
      return typeof x.ms === 'number' && x.ms >= 0 ? null : 'delay needs ms >= 0';
    case 'status':
      return typeof x.code === 'number' && (x.code === 429 || (x.code >= 500 && x.code <= 599))
        ? null
        : 'status needs code 429 or 5xx';
    case 'proxy':
      if (!Number.isInteger(x.code) || (x.code as number) < 200 || (x.code as number) > 599)
        return 'proxy needs a code from 200 to 599';
      return typeof x.contentType === 'string' && typeof x.body === 'string'
        ? null
        : 'proxy needs contentType and body (strings)';
    case 'hang':
    case 'reset':
    case 'partition':
      return null;
    default:
      return `unknown fault kind ${JSON.stringify(x.kind)}`;
  }
}

/** Rules by client ('*': every client), optional verbs and optional count; the newest matching rule wins. */
export class RuleTable<T> {
  private rules: Rule<T>[] = [];

  /** `check` validates a value (an error message or null). */
  constructor(private readonly check: (value: unknown) => string | null) {}

  /**
   * Adds (or replaces, for the same client, verbs and resources) a rule; `value` null removes the client's rules
   * (only the one with exactly `opts.verbs` and `opts.resources` when either is given). The caller handles side
   * effects (a partition cuts watches).
   */
  set(client: string, value: T | null, opts: FaultOptions = {}): void {
    const problem = value === null ? null : this.check(value);
    if (problem) throw new Error(problem);
    if (opts.count !== undefined && (!Number.isInteger(opts.count) || opts.count < 1)) {
      throw new Error('count must be a positive integer');
    }
    this.rules = this.rules.filter((r) => {
      if (r.client !== client) return true;
      if (value === null)
        return (opts.verbs !== undefined || opts.resources !== undefined) && !sameScope(r, opts);
      return !sameScope(r, opts);
    });
    if (value !== null) {
      const rule: Rule<T> = { client, value: structuredClone(value) };
      if (opts.verbs) rule.verbs = new Set(opts.verbs);
      if (opts.resources) rule.resources = new Set(opts.resources);
      if (opts.count !== undefined) rule.remaining = opts.count;
      this.rules.push(rule);
    }
  }

  clear(): void {
    this.rules = [];
  }

  /** The value for this request (newest matching rule wins), consuming one use of a counted rule. */
  take(client: string, verb: string, resource = 'leases'): T | null {
    for (let i = this.rules.length - 1; i >= 0; i--) {
      const r = this.rules[i]!;
      if (r.client !== '*' && r.client !== client) continue;
      if (r.verbs && !r.verbs.has(verb)) continue;
      if (r.resources && !r.resources.has(resource)) continue;
      if (r.remaining !== undefined) {
        r.remaining -= 1;
        if (r.remaining <= 0) this.rules.splice(i, 1);
      }
      return r.value;
    }
    return null;
  }
}

export class FaultTable extends RuleTable<Fault> {
  constructor() {
    super(checkFault);
  }
}
