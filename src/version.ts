import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// package.json sits one level above src/ (sources, tests) or dist/ (the built CLI): walk up to find it.
function readVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'kvip' && pkg.version) return pkg.version;
    } catch {
      // not here; try the parent
    }
    dir = dirname(dir);
  }
  return '0.0.0';
}

export const VERSION = readVersion();
