// Runs the fake kube-apiserver as its own process (e.g. inside a network namespace, for end-to-end tests):
//
//   node --import tsx src/lease-api/main.ts [--host 127.0.0.1] [--port 6443] [--tls [--san NAME]...]
//        [--clients a,b,c]
//        [--kubeconfig-dir DIR] [--control-port N | --control-socket PATH] [--bookmark-interval-ms N]
//
// --clients creates one bearer token per client (without it: no auth); --kubeconfig-dir writes
// DIR/<client>.kubeconfig for each (and DIR/ca.crt with --tls). The /_fake/ control routes (control.ts) are
// served on the API port, or only on a separate plain-http port with --control-port, or on a unix socket with
// --control-socket (reachable from outside the fake's network namespace: sockets on the filesystem are not
// namespaced). Prints
// `control <url>` (with --control-port) and then `listening <url>` once ready; exits 0 on SIGTERM/SIGINT.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { handleControl } from './control.js';
import { newToken, startFakeApiServer } from './server.js';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    tls: { type: 'boolean', default: false },
    san: { type: 'string', multiple: true },
    clients: { type: 'string' },
    'kubeconfig-dir': { type: 'string' },
    'control-port': { type: 'string' },
    'control-socket': { type: 'string' },
    'bookmark-interval-ms': { type: 'string' },
  },
  strict: true,
});

const clients = (values.clients ?? '')
  .split(',')
  .map((c) => c.trim())
  .filter(Boolean);
const tokens = clients.length ? Object.fromEntries(clients.map((c) => [newToken(), c])) : undefined;
const controlPort = values['control-port'];
const controlSocket = values['control-socket'];

const fake = await startFakeApiServer({
  host: values.host,
  port: Number(values.port),
  tls: values.tls,
  ...(values.san ? { sans: values.san } : {}),
  ...(tokens ? { tokens } : {}),
  ...(values['bookmark-interval-ms'] ? { bookmarkIntervalMs: Number(values['bookmark-interval-ms']) } : {}),
  control: controlPort === undefined && controlSocket === undefined,
});

const dir = values['kubeconfig-dir'];
if (dir) {
  mkdirSync(dir, { recursive: true });
  for (const c of clients.length ? clients : ['anonymous']) {
    writeFileSync(join(dir, `${c}.kubeconfig`), fake.kubeconfig(c), { mode: 0o600 });
  }
  if (fake.caPem) writeFileSync(join(dir, 'ca.crt'), fake.caPem);
}

let control: ReturnType<typeof createServer> | undefined;
if (controlPort !== undefined || controlSocket !== undefined) {
  control = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://control.invalid');
    void handleControl(fake, req, res, url);
  });
}
if (control && controlSocket !== undefined) {
  await new Promise<void>((resolve) => control!.listen(controlSocket, resolve));
  process.stdout.write(`control unix:${controlSocket}\n`);
} else if (control && controlPort !== undefined) {
  await new Promise<void>((resolve) => control!.listen(Number(controlPort), values.host, resolve));
  const port = (control.address() as AddressInfo).port;
  const host = values.host.includes(':') ? `[${values.host}]` : values.host;
  process.stdout.write(`control http://${host}:${port}\n`);
}

process.stdout.write(`listening ${fake.url}\n`);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  control?.closeAllConnections();
  await Promise.all([fake.close(), new Promise((r) => (control ? control.close(r) : r(undefined)))]);
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
