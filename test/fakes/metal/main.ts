// Runs the fake Metal API and metadata service as its own process (e.g. inside a network namespace, for
// end-to-end tests):
//
//   node --import tsx test/fakes/metal/main.ts --host H --port P --metadata-port M --token-file F
//        --scenario S.json [--page-size N] [--release-lag-ms N] --control-socket PATH
//
// The scenario (scenario.ts) seeds projects, devices, reservations and assignments. The /_fake/ control routes
// (control.ts) are served over plain http on the unix socket, which is reachable from outside the fake's network
// namespace (sockets on the filesystem are not namespaced). Prints `listening <apiUrl> <metadataUrl>` once
// ready; exits 0 on SIGTERM/SIGINT.
import { readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { handleControl } from './control.js';
import { applyScenario, type Scenario } from './scenario.js';
import { startMetalFake } from './server.js';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    'metadata-port': { type: 'string', default: '0' },
    'token-file': { type: 'string' },
    scenario: { type: 'string' },
    'page-size': { type: 'string' },
    'release-lag-ms': { type: 'string' },
    'control-socket': { type: 'string' },
  },
  strict: true,
});

function die(msg: string): never {
  process.stderr.write(`metal fake: ${msg}\n`);
  process.exit(2);
}

function int(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) die(`--${name} must be a non-negative integer`);
  return n;
}

const tokenFile = values['token-file'] ?? die('--token-file is required');
const scenarioFile = values.scenario ?? die('--scenario is required');
const controlSocket = values['control-socket'] ?? die('--control-socket is required');
const token = readFileSync(tokenFile, 'utf8').trim();
if (!token) die('the token file is empty');
const scenario = JSON.parse(readFileSync(scenarioFile, 'utf8')) as Scenario;
const pageSize = int('page-size', values['page-size']);
const releaseLagMs = int('release-lag-ms', values['release-lag-ms']);

const fake = await startMetalFake({
  host: values.host,
  port: int('port', values.port)!,
  metadataPort: int('metadata-port', values['metadata-port'])!,
  token,
  ...(pageSize === undefined ? {} : { pageSize: Math.max(1, pageSize) }),
  ...(releaseLagMs === undefined ? {} : { releaseLagMs }),
});
try {
  applyScenario(fake, scenario);
} catch (e) {
  await fake.close();
  die((e as Error).message);
}

const control = createServer((req, res) => {
  void handleControl(fake, req, res, new URL(req.url ?? '/', 'http://control.invalid'));
});
rmSync(controlSocket, { force: true }); // a stale socket from a killed run would make listen fail
await new Promise<void>((resolve) => control.listen(controlSocket, resolve));

process.stdout.write(`listening ${fake.apiUrl} ${fake.metadataUrl}\n`);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  control.closeAllConnections(); // the watch streams never end by themselves
  await Promise.all([fake.close(), new Promise((r) => control.close(r))]);
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
