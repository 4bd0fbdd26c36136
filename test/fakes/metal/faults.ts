// Fault injection for the fake Metal API: which faults hit a request, given the MetalFaults a test set. Each kind
// matches on its own (method, path) and counts its own hits, so "the next 2 POSTs get 429 while every GET is slow"
// is one setFaults call. At most one answering fault applies per request (the first of ANSWER_ORDER that
// matches); latency adds to it.
import type { FaultRule, MetalFaults } from './types.js';

export type Answer =
  | { kind: 'reset' }
  | { kind: 'hang' }
  | { kind: 'nonJson502' }
  | { kind: 'status5xx'; status: 500 | 503 }
  | { kind: 'status429'; headers: Record<string, string> };

const ANSWER_ORDER = ['reset', 'hang', 'nonJson502', 'status5xx', 'status429'] as const;
const KINDS = ['latencyMs', ...ANSWER_ORDER] as const;

interface Active {
  rule: FaultRule;
  remaining: number;
}

function matches(rule: FaultRule, method: string, path: string): boolean {
  const m = rule.match;
  if (!m) return true;
  if (m.method !== undefined && m.method.toUpperCase() !== method.toUpperCase()) return false;
  if (m.path === undefined) return true;
  return typeof m.path === 'string' ? path.startsWith(m.path) : m.path.test(path);
}

export class FaultState {
  private active = new Map<(typeof KINDS)[number], Active>();
  private faults: MetalFaults = {};

  set(f: MetalFaults | null): void {
    const problem = f === null ? null : checkFaults(f);
    if (problem) throw new Error(problem);
    this.faults = f ?? {};
    this.active.clear();
    for (const k of KINDS) {
      const rule = this.faults[k];
      if (rule) this.active.set(k, { rule, remaining: rule.count ?? Infinity });
    }
  }

  /** Consumes one hit of each fault that applies to this request. */
  take(method: string, path: string): { latencyMs: number; answer: Answer | null } {
    const hit = (k: (typeof KINDS)[number]): boolean => {
      const a = this.active.get(k);
      if (!a || !matches(a.rule, method, path)) return false;
      a.remaining -= 1;
      if (a.remaining <= 0) this.active.delete(k);
      return true;
    };
    const latencyMs = hit('latencyMs') ? this.faults.latencyMs!.ms : 0;
    const kind = ANSWER_ORDER.find(hit);
    let answer: Answer | null = null;
    if (kind === 'status429') answer = { kind, headers: headers429(this.faults.status429!) };
    else if (kind === 'status5xx') answer = { kind, status: this.faults.status5xx!.status };
    else if (kind) answer = { kind };
    return { latencyMs, answer };
  }
}

function headers429(f: NonNullable<MetalFaults['status429']>): Record<string, string> {
  const h: Record<string, string> = {};
  if (f.retryAfter !== undefined) h['Retry-After'] = String(f.retryAfter);
  if (f.rateLimit) {
    h['X-RateLimit-Limit'] = String(f.rateLimit.limit);
    h['X-RateLimit-Remaining'] = String(f.rateLimit.remaining);
    h['X-RateLimit-Reset'] = String(f.rateLimit.reset);
  }
  return h;
}

/** Checks a MetalFaults object (also one parsed from JSON); an error message or null. */
export function checkFaults(f: unknown): string | null {
  if (typeof f !== 'object' || f === null || Array.isArray(f)) return 'faults must be an object';
  const x = f as Record<string, Record<string, unknown> | undefined>;
  for (const k of Object.keys(x)) {
    if (!(KINDS as readonly string[]).includes(k)) return `unknown fault ${JSON.stringify(k)}`;
    const r = x[k];
    if (r === undefined) continue;
    if (typeof r !== 'object' || r === null) return `${k} must be an object`;
    if (r.count !== undefined && !(Number.isInteger(r.count) && (r.count as number) >= 1))
      return `${k}.count must be a positive integer`;
    const m = r.match as Record<string, unknown> | undefined;
    if (m !== undefined) {
      if (typeof m !== 'object' || m === null) return `${k}.match must be an object`;
      if (m.method !== undefined && typeof m.method !== 'string') return `${k}.match.method must be a string`;
      if (m.path !== undefined && typeof m.path !== 'string' && !(m.path instanceof RegExp))
        return `${k}.match.path must be a string prefix or a RegExp`;
    }
  }
  const lat = x.latencyMs;
  if (lat && !(typeof lat.ms === 'number' && lat.ms >= 0)) return 'latencyMs needs ms >= 0';
  const s5 = x.status5xx;
  if (s5 && s5.status !== 500 && s5.status !== 503) return 'status5xx needs status 500 or 503';
  const s4 = x.status429;
  if (s4) {
    const ra = s4.retryAfter;
    if (ra !== undefined && typeof ra !== 'number' && typeof ra !== 'string')
      return 'status429.retryAfter must be a number or a string';
    const rl = s4.rateLimit as Record<string, unknown> | undefined;
    if (rl !== undefined && !['limit', 'remaining', 'reset'].every((n) => typeof rl[n] === 'number'))
      return 'status429.rateLimit needs numbers limit, remaining and reset';
  }
  return null;
}
