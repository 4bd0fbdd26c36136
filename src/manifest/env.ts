// The container env of a generated manifest: kube-vip's env names, so a kube-vip user can read it.
import { OPTION_KEYS, spec, type Config, type OptionKey } from '../config/index.js';

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: Record<string, unknown>;
}

/** Written even at their defaults, as kube-vip's `manifest pod` does (the reference page's vip.yaml). */
const ALWAYS: ReadonlySet<OptionKey> = new Set<OptionKey>([
  'arp',
  'interface',
  'leaderElection',
  'leaseDuration',
  'renewDeadline',
  'retryPeriod',
  'vip',
]);

function render(value: unknown): string {
  return Array.isArray(value) ? value.join(',') : String(value);
}

/**
 * Every option that was set (flag or env) plus the ALWAYS ones, in schema order. A secret is written only
 * when it was given as a flag, i.e. the user asked for it in the manifest; the caller warns about it.
 */
export function containerEnv(config: Config): { env: EnvVar[]; literalSecrets: string[] } {
  const env: EnvVar[] = [];
  const literalSecrets: string[] = [];
  for (const key of OPTION_KEYS) {
    const s = spec(key);
    const source = config.sources[key];
    if (s.manifestOnly || s.env.length === 0) continue;
    if (!ALWAYS.has(key) && source.kind === 'default') continue;
    const value = config[key];
    // An empty value is left out where it is the default anyway; where it is not (--prometheusHTTPServer ''
    // turns the server off), it is written.
    if (value === null || (value === '' && s.default === '')) continue;
    if (s.sensitive) {
      if (source.kind !== 'flag') continue;
      literalSecrets.push(source.name);
    }
    env.push({ name: s.env[0] as string, value: render(value) });
  }
  return { env, literalSecrets };
}
