// The metrics server as kubelet and Prometheus see it: which paths answer what, how /healthz and /readyz
// follow kvip's state, and an address it cannot listen on as a one-line error naming the option.
import { Agent, request } from 'node:http';
import { createServer, type Server } from 'node:net';
import { ConfigError } from '../../src/config/index.js';
import {
  Health,
  StatusServer,
  formatAddress,
  type ListenAddress,
  type StatusSources,
} from '../../src/metrics/index.js';
import { httpGet } from '../helpers/prom.js';

const LABEL = '--prometheusHTTPServer';
const opened: StatusServer[] = [];
const blockers: Server[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
  await Promise.all(blockers.splice(0).map((b) => new Promise((r) => b.close(r))));
});

async function open(sources: Partial<StatusSources> = {}, health = new Health()) {
  const server = await StatusServer.open({ host: '127.0.0.1', port: 0 }, LABEL, {
    scrape: async () => ({
      contentType: 'text/plain; version=0.0.4; charset=utf-8',
      text: 'kvip_leader 1\n',
    }),
    live: () => health.live(),
    ready: () => health.ready(),
    ...sources,
  });
  opened.push(server);
  const get = (path: string, method?: string) => httpGet(server.port, path, method);
  return { server, health, get };
}

/** Something else listening on a port of 127.0.0.1. */
async function blocker(): Promise<number> {
  const b = createServer();
  blockers.push(b);
  await new Promise<void>((r) => b.listen(0, '127.0.0.1', r));
  return (b.address() as { port: number }).port;
}

describe('paths', () => {
  it('serves /metrics, /healthz and /readyz; 404 for anything else', async () => {
    const { get } = await open();
    expect(await get('/metrics')).toEqual({
      status: 200,
      contentType: 'text/plain; version=0.0.4; charset=utf-8',
      body: 'kvip_leader 1\n',
    });
    expect((await get('/metrics?name[]=kvip_leader')).status).toBe(200);
    expect((await get('/healthz')).status).toBe(200);
    expect((await get('/readyz')).status).toBe(503);
    for (const path of ['/', '/metrics/', '/metricsx', '/health', '/readyz/x'])
      expect(await get(path)).toEqual({
        status: 404,
        contentType: 'text/plain; charset=utf-8',
        body: 'not found: kvip serves /metrics, /healthz and /readyz\n',
      });
  });

  it('GET and HEAD only', async () => {
    const { get } = await open();
    const post = await get('/metrics', 'POST');
    expect(post.status).toBe(405);
    const head = await get('/healthz', 'HEAD');
    expect(head).toEqual({ status: 200, contentType: 'text/plain; charset=utf-8', body: '' });
  });

  it('a failing collection is a 500 with one line', async () => {
    const { get } = await open({ scrape: () => Promise.reject(new Error('collector broke')) });
    expect(await get('/metrics')).toMatchObject({
      status: 500,
      body: 'collecting the metrics failed: collector broke\n',
    });
  });
});

describe('/healthz and /readyz follow the state of kvip start', () => {
  it('starting -> running -> gate closed -> open -> stopping', async () => {
    const { get, health } = await open();
    const gate = { open: true, reason: '' };
    health.readGate({ isOpen: () => gate.open, closedReason: () => gate.reason });
    const both = async () => {
      const [live, ready] = await Promise.all([get('/healthz'), get('/readyz')]);
      return { live: `${live.status} ${live.body}`, ready: `${ready.status} ${ready.body}` };
    };
    expect(await both()).toEqual({
      live: '200 ok\n',
      ready: '503 starting: the start-up checks have not finished\n',
    });
    expect((await both()).ready).toBe('503 starting: the start-up checks have not finished\n');
    health.serviceStarted();
    expect(await both()).toEqual({ live: '200 ok\n', ready: '200 ok\n' });
    Object.assign(gate, { open: false, reason: 'GET https://127.0.0.1:6443/livez:\nconnection refused' });
    expect(await both()).toEqual({
      live: '200 ok\n',
      ready: '503 the health check fails: GET https://127.0.0.1:6443/livez: connection refused\n',
    });
    Object.assign(gate, { open: true, reason: '' });
    expect((await both()).ready).toBe('200 ok\n');
    health.stopping();
    expect(await both()).toEqual({ live: '200 ok\n', ready: '503 stopping: kvip is shutting down\n' });
  });

  it('with the health gate itself to read: closed from its start, before it ever changed', async () => {
    const { get, health } = await open();
    const gate = {
      open: false,
      reason: 'the health check of https://127.0.0.1:6443/readyz is failing: no check has passed yet',
    };
    health.readGate({ isOpen: () => gate.open, closedReason: () => (gate.open ? '' : gate.reason) });
    health.serviceStarted();
    expect(await get('/readyz')).toMatchObject({
      status: 503,
      body: `the health check fails: ${gate.reason}\n`,
    });
    gate.reason = 'the health check of https://127.0.0.1:6443/readyz is failing: connect ECONNREFUSED';
    expect((await get('/readyz')).body).toBe(`the health check fails: ${gate.reason}\n`); // read live
    gate.open = true;
    expect(await get('/readyz')).toMatchObject({ status: 200, body: 'ok\n' });
    expect((await get('/healthz')).status).toBe(200);
  });

  it('a fatal error fails both', async () => {
    const { get, health } = await open();
    health.serviceStarted();
    health.failed('removing the virtual IP kept failing for 5000 ms: EBUSY');
    const line = 'fatal error: removing the virtual IP kept failing for 5000 ms: EBUSY\n';
    expect(await get('/healthz')).toMatchObject({ status: 503, body: line });
    expect(await get('/readyz')).toMatchObject({ status: 503, body: line });
    health.stopping(); // a signal after the fatal error changes nothing
    expect((await get('/healthz')).status).toBe(503);
  });
});

describe('listening', () => {
  /** The rejection of opening a server on `where`. */
  const openFails = (where: ListenAddress, label = LABEL) =>
    StatusServer.open(where, label, {
      scrape: async () => ({ contentType: 'text/plain', text: '' }),
      live: () => ({ ok: true, line: 'ok' }),
      ready: () => ({ ok: true, line: 'ok' }),
    }).then(
      async (s) => {
        await s.close();
        throw new Error(`listening on ${formatAddress(where)} worked`);
      },
      (e: unknown) => e as Error,
    );

  it('a port already in use is one ConfigError line naming the option and the address', async () => {
    const port = await blocker();
    const err = await openFails({ host: '127.0.0.1', port });
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe(
      `--prometheusHTTPServer 127.0.0.1:${port}: port ${port} is already in use on this host (another kvip, or another program); choose another port, or '' to turn the metrics server off`,
    );
  });

  it('an address that is not this host is named as such', async () => {
    const err = await openFails({ host: '198.51.100.1', port: 2112 }, 'prometheus_server');
    expect(err.message).toBe(
      'prometheus_server 198.51.100.1:2112: 198.51.100.1 is not an address of this host',
    );
  });

  it('close ends kept-alive connections and stops listening', async () => {
    const { server, get } = await open();
    const agent = new Agent({ keepAlive: true });
    try {
      await new Promise<void>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: server.port, path: '/healthz', agent }, (res) => {
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', reject);
        req.end();
      });
      await server.close(); // resolves although the agent keeps its socket open
      await expect(get('/healthz')).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      agent.destroy();
    }
  });

  it('close ends a request in flight instead of waiting for it', async () => {
    let reached!: () => void;
    const inFlight = new Promise<void>((r) => (reached = r));
    const { server, get } = await open({
      scrape: () => {
        reached();
        return new Promise(() => undefined); // never answers
      },
    });
    const pending = get('/metrics');
    pending.catch(() => undefined);
    await inFlight;
    await server.close(60_000); // would wait the whole bound for the request without ending it
    await expect(pending).rejects.toThrow(/socket hang up|ECONNRESET/);
  });

  it('writes addresses as the option does', () => {
    expect(formatAddress({ host: undefined, port: 2112 })).toBe(':2112');
    expect(formatAddress({ host: '::1', port: 2112 })).toBe('[::1]:2112');
    expect(formatAddress({ host: 'localhost', port: 9100 })).toBe('localhost:9100');
  });
});
