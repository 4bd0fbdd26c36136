import { stringify } from 'yaml';
export { podManifest } from './pod.js';
export { daemonSetManifest } from './daemonset.js';
export { rbacManifest } from './rbac.js';
export type { ManifestResult } from './common.js';

/** Objects as one YAML stream, deterministic: key order as built, no aliases, no line folding. */
export function toYaml(objects: readonly object[]): string {
  return objects.map((o) => stringify(o, { aliasDuplicateObjects: false, lineWidth: 0 })).join('---\n');
}
