#!/usr/bin/env node
/* global process, console */
// Builds native/ (kvip_native.node) with node-gyp; run by the root package's `install` script (so `npm ci`
// builds it) and by `npm run build:native`. Extra arguments are passed to node-gyp (e.g. --debug).
//
// Headers, without network: node-gyp downloads Node's headers from nodejs.org unless it is given a nodedir.
// Order: 1. npm's `nodedir` config (env npm_config_nodedir, e.g. `nodedir=/usr` in ~/.npmrc), used as is;
// 2. the prefix of the running node (/usr for /usr/bin/node, /usr/local in the node Docker images) when
// <prefix>/include/node/node_api.h exists; 3. /usr when /usr/include/node/node_api.h exists (Debian's
// libnode-dev / nodejs packages); 4. otherwise node-gyp's default (download once into its cache).
// The addon uses N-API only (ABI-stable), so headers from another Node >= 12.22 build it just as well.
//
// node-gyp: the pinned devDependency; without devDependencies (`npm ci --omit=dev`), the node-gyp bundled
// with npm (env npm_config_node_gyp, set by npm for every script); else `node-gyp` on PATH.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

function findNodedir() {
  const configured = process.env.npm_config_nodedir;
  if (configured) return { dir: configured, why: 'npm config nodedir' };
  const prefix = dirname(dirname(process.execPath));
  for (const dir of [prefix, '/usr']) {
    if (existsSync(join(dir, 'include', 'node', 'node_api.h'))) {
      return { dir, why: `${join(dir, 'include', 'node')} has node_api.h` };
    }
  }
  return undefined;
}

function findNodeGyp() {
  try {
    return [process.execPath, createRequire(join(here, 'package.json')).resolve('node-gyp/bin/node-gyp.js')];
  } catch {
    // no devDependencies installed
  }
  const bundled = process.env.npm_config_node_gyp;
  if (bundled && existsSync(bundled)) return [process.execPath, bundled];
  return ['node-gyp'];
}

const nodedir = findNodedir();
const [cmd, ...pre] = findNodeGyp();
const args = [...pre, 'rebuild', `--directory=${here}`, ...process.argv.slice(2)];
if (nodedir) args.push(`--nodedir=${nodedir.dir}`);
console.error(
  `kvip native: node-gyp ${nodedir ? `--nodedir=${nodedir.dir} (${nodedir.why})` : 'with downloaded headers (no local Node headers found)'}`,
);
const result = spawnSync(cmd, args, { stdio: 'inherit' });
if (result.error) {
  console.error(`kvip native: cannot run node-gyp: ${result.error.message}`);
  process.exit(1);
}
process.exit(result.status ?? 1);
