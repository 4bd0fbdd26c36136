// The fake Metal API's standalone runner (test/fakes/metal/main.ts) as a child process: a scenario file, the API,
// the metadata service and the control socket's routes, including the assignment watch stream a netns rig uses.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { http, TOKEN } from './metal-clients.js';
import { until } from '../helpers/wait.js';

const MAIN = fileURLToPath(new URL('./metal/main.ts', import.meta.url));

describe('standalone fake Metal API (main.ts)', () => {
  let child: ChildProcess | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    child = undefined;
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('runs a scenario, serves the API and the control socket, and streams assignment changes', async () => {
    dir = mkdtempSync(join(tmpdir(), 'metal-fake-'));
    const sock = join(dir, 'control.sock');
    writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
    const scenario = {
      projects: [
        {
          name: 'kvip',
          devices: [
            { hostname: 'cp-1', privateIpv4: '10.70.0.3' },
            { hostname: 'cp-2', metadataSource: '127.0.0.1' },
          ],
          reservations: [{ address: '147.28.100.7' }],
          assignments: [{ address: '147.28.100.7', hostname: 'cp-1' }],
        },
      ],
    };
    writeFileSync(join(dir, 'scenario.json'), JSON.stringify(scenario));
    const env = { ...process.env };
    delete env.NODE_OPTIONS; // jest's --experimental-vm-modules is not for the child
    const args = ['--token-file', join(dir, 'token'), '--scenario', join(dir, 'scenario.json')];
    const p = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args, '--control-socket', sock], { env });
    child = p;
    let stderr = '';
    p.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const lines: string[] = [];
    createInterface({ input: p.stdout! }).on('line', (l) => lines.push(l));
    await until(() => lines.length > 0 || p.exitCode !== null, `listening line (stderr: ${stderr})`, 20000);
    const [word, apiUrl, metadataUrl] = lines[0]!.split(' ');
    expect(word).toBe('listening');
    expect(apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metal\/v1$/);
    expect(metadataUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metadata$/);

    const control = (method: string, path: string, body?: unknown): ReturnType<typeof http> =>
      http(`http://control${path}`, method, body, { socketPath: sock, token: null });
    const state = (await control('GET', '/_fake/state')).body;
    const [cp1, cp2] = state.projects[0].devices;
    expect(cp1.hostname).toBe('cp-1');
    const eipRes = state.projects[0].reservations.find(
      (r: { address: string }) => r.address === '147.28.100.7',
    );
    expect(eipRes.holder).toBe(cp1.id);

    const watchLines: string[] = [];
    const watch = request({ socketPath: sock, path: '/_fake/assignments/watch', agent: false });
    watch.on('response', (res) => {
      // 'aborted' when the test hangs up; readline re-emits its input's errors.
      const rl = createInterface({ input: res }).on('line', (l) => watchLines.push(l));
      rl.on('error', () => undefined);
    });
    watch.on('error', () => undefined);
    watch.end();
    const reservations = state.projects[0].reservations.length;
    await until(() => watchLines.length === reservations, 'the watch snapshot');
    expect(watchLines.map((l) => JSON.parse(l))).toContainEqual({
      t: expect.any(Number),
      address: '147.28.100.7',
      deviceId: cp1.id,
    });

    const list = await http(`${apiUrl}/projects/${state.projects[0].id}/ips?include=assignments`, 'GET');
    const assignmentId = list.body.ip_addresses.find((r: { address: string }) => r.address === '147.28.100.7')
      .assignments[0].id;
    expect((await http(`${apiUrl}/ips/${assignmentId}`, 'DELETE')).status).toBe(204);
    expect(
      (await control('POST', '/_fake/assign', { address: '147.28.100.7', deviceId: cp2.id })).status,
    ).toBe(200);
    await until(() => watchLines.length === reservations + 2, 'two watch changes');
    expect(watchLines.slice(reservations).map((l) => JSON.parse(l).deviceId)).toEqual([null, cp2.id]);

    expect(
      (await control('POST', '/_fake/faults', { status5xx: { status: 500, match: { path: '/metal' } } }))
        .status,
    ).toBe(204);
    expect((await http(`${apiUrl}/projects`, 'GET')).status).toBe(500);
    expect((await control('DELETE', '/_fake/faults')).status).toBe(204);
    expect((await http(metadataUrl!, 'GET', undefined, { token: null })).body.hostname).toBe('cp-2');
    const log = (await control('GET', '/_fake/requests?since=1')).body;
    expect(log.map((r: { operation: string }) => r.operation)).toEqual([
      'deleteIPAddress',
      'findProjects',
      'metadata',
    ]);
    expect((await control('POST', '/_fake/release-lag', { ms: 1000 })).status).toBe(204);

    watch.destroy();
    const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
    p.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
