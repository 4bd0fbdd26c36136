// What the Lease store makes of odd bytes from the wire: answers that are no Kubernetes Status (a proxy's
// page, which may carry anything and must never reach a log), watch streams cut into chunks anywhere, and
// lines on a watch that are no event.
import {
  KubeHttp,
  KubeLeaseStore,
  LeaseForbiddenError,
  LeaseUnavailableError,
  parseKubeConfig,
  type WatchEvent,
} from '../../src/election/index.js';
import { startFakeApiServer, type FakeApiServer, type Fault } from '../fakes/apiserver/server.js';
import { within } from '../helpers/wait.js';

const NS = 'kube-system';
const NAME = 'plndr-cp-lock';
const SECRET = 'Bearer eyJhbGciOi-not-for-logs';
const PAGE = `<html><body><h1>502 Bad Gateway</h1><!-- ${SECRET} --></body></html>`;

let server: FakeApiServer;
const clients: KubeHttp[] = [];
const stops: (() => void)[] = [];
beforeEach(async () => {
  server = await startFakeApiServer({ tokens: { 'tok-a': 'a' }, bookmarkIntervalMs: 3_600_000 });
});
afterEach(async () => {
  stops.splice(0).forEach((stop) => stop());
  clients.splice(0).forEach((c) => c.close());
  await server.close();
});

function store(): KubeLeaseStore {
  const http = new KubeHttp(parseKubeConfig(server.kubeconfig('a')));
  clients.push(http);
  return new KubeLeaseStore(http, NS, NAME);
}

const never = () => new AbortController().signal;

function proxy(code: number, contentType: string, body: string): Fault {
  return { kind: 'proxy', code, contentType, body };
}

async function failure(p: Promise<unknown>): Promise<Error> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof Error)) throw new Error(`expected a rejection, got ${String(err)}`);
  return err;
}

/** A watch: its events, and promises of its opening and of how it closed. */
function watchOf(s: KubeLeaseStore, from: string | null = null) {
  const events: WatchEvent[] = [];
  let opened!: () => void;
  const open = new Promise<void>((resolve) => (opened = resolve));
  const closed = new Promise<{ error?: Error; expired?: boolean }>((resolve) => {
    const w = s.watch(from, { onOpen: opened, onEvent: (e) => events.push(e), onClose: resolve });
    stops.push(() => w.stop());
  });
  return { events, open: within(open, 'the watch to open'), closed: within(closed, 'the watch to close') };
}

describe('answers that are no Kubernetes Status', () => {
  const bytes = Buffer.byteLength(PAGE);

  it('an error page is described by type and size, never quoted', async () => {
    server.setFault('a', proxy(502, 'text/html; charset=utf-8', PAGE));
    const err = await failure(store().get(never()));
    expect(err).toBeInstanceOf(LeaseUnavailableError);
    expect(err.message).toBe(
      `get lease: HTTP 502 (a text/html body of ${bytes} bytes, not a Kubernetes Status)`,
    );
  });

  it('a 401 page is described too; a body without a type is just a body', async () => {
    server.setFault('a', proxy(401, '', SECRET));
    const err = await failure(store().get(never()));
    expect(err).toBeInstanceOf(LeaseForbiddenError);
    expect(err.message).toMatch(
      /\(401 Unauthorized\): HTTP 401 \(a body of \d+ bytes, not a Kubernetes Status\)$/,
    );
    expect(err.message).not.toContain(SECRET);
  });

  it('JSON that is no Status is not quoted either; JSON with a message and a code is a Status', async () => {
    server.setFault('a', proxy(503, 'application/json', JSON.stringify({ error: SECRET })), { count: 1 });
    const s = store();
    expect((await failure(s.get(never()))).message).toMatch(
      /^get lease: HTTP 503 \(an application\/json body/,
    );
    server.setFault('a', proxy(503, 'application/json', '{"message":"etcd leader changed","code":503}'));
    expect((await failure(s.get(never()))).message).toBe('get lease: HTTP 503: etcd leader changed');
  });

  it('a 200 answer that is not a Lease is described, never quoted', async () => {
    server.setFault('a', proxy(200, 'text/html', PAGE), { count: 1 });
    const s = store();
    const err = await failure(s.get(never()));
    expect(err).toBeInstanceOf(LeaseUnavailableError);
    expect(err.message).toBe(`get lease: HTTP 200 with a text/html body of ${bytes} bytes, not a Lease`);
    server.setFault('a', proxy(200, 'application/json', 'null'), { count: 1 });
    expect((await failure(s.get(never()))).message).toMatch(
      /^get lease: HTTP 200 with an application\/json body/,
    );
  });

  it('a watch answered with an error page closes with its description', async () => {
    server.setFault('a', proxy(502, 'text/html', PAGE), { verbs: ['watch'] });
    const reason = await watchOf(store()).closed;
    expect(reason.error?.message).toBe(
      `watch lease: HTTP 502 (a text/html body of ${bytes} bytes, not a Kubernetes Status)`,
    );
  });
});

describe('lines on a watch that are no event', () => {
  it('a line that is not JSON closes the watch, described by its size', async () => {
    const w = watchOf(store());
    await w.open;
    expect(server.injectWatch('a', { kind: 'line', text: PAGE })).toBe(1);
    const reason = await w.closed;
    expect(reason.error).toBeInstanceOf(LeaseUnavailableError);
    expect(reason.error!.message).toBe(`watch: a line of ${Buffer.byteLength(PAGE)} bytes that is not JSON`);
  });

  it('JSON that is no event closes the watch; an ERROR without a Status is not quoted', async () => {
    for (const [line, said] of [
      ['null', 'watch: a line of 4 bytes that is not a watch event'],
      [
        JSON.stringify({ type: 'ERROR', object: { note: SECRET } }),
        'watch: an ERROR event without a Kubernetes Status',
      ],
    ]) {
      const w = watchOf(store());
      await w.open;
      expect(server.injectWatch('a', { kind: 'line', text: line! })).toBe(1);
      expect((await w.closed).error?.message).toBe(said);
    }
  });
});
