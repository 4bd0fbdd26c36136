import { Document, isNode } from 'yaml';
import type { YamlComment } from './common.js';
export { podManifest } from './pod.js';
export { daemonSetManifest } from './daemonset.js';
export { rbacManifest } from './rbac.js';
export type { ManifestResult, YamlComment } from './common.js';

/** Objects as one YAML stream, deterministic: key order as built, no aliases, no line folding. */
export function toYaml(objects: readonly object[], comments?: ReadonlyMap<object, YamlComment[]>): string {
  return objects
    .map((o) => {
      const doc = new Document(o, { aliasDuplicateObjects: false });
      for (const { path, text } of comments?.get(o) ?? []) {
        const node = doc.getIn(path, true);
        if (!isNode(node)) throw new Error(`toYaml: no node at ${path.join('.')}`);
        node.commentBefore = text;
      }
      return doc.toString({ lineWidth: 0 });
    })
    .join('---\n');
}
