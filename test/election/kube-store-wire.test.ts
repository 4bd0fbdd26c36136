// What the Lease store makes of odd bytes from the wire: answers that are no Kubernetes Status (a proxy's
// page, which may carry anything and must never reach a log), watch streams cut into chunks anywhere, and
// lines on a watch that are no event.
import {
  KubeHttp,
  KubeLeaseStore,
  LeaseForbiddenError,
  LeaseUnavailableError,
  parseKubeConfig,
  type LeaseRecord,
  type StoredLease,
  type WatchEvent,
} from '../../src/election/index.js';
import { startFakeApiServer, type FakeApiServer, type Fault } from '../../src/lease-api/server.js';
import { until, within } from '../helpers/wait.js';

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

function rec(): LeaseRecord {
  const at = new Date('2026-11-25T10:00:00.123Z');
  return {
    holderIdentity: 'a',
    leaseDurationSeconds: 5,
    acquireTime: at,
    renewTime: at,
    leaseTransitions: 0,
  };
}

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

/** A watch: its events, and waits (bounded, only when asked for) for its opening and for how it closed. */
function watchOf(s: KubeLeaseStore, from: string | null = null) {
  const events: WatchEvent[] = [];
  let opened!: () => void;
  const open = new Promise<void>((resolve) => (opened = resolve));
  const closed = new Promise<{ error?: Error; expired?: boolean }>((resolve) => {
    const w = s.watch(from, { onOpen: opened, onEvent: (e) => events.push(e), onClose: resolve });
    stops.push(() => w.stop());
  });
  return {
    events,
    opened: () => within(open, 'the watch to open'),
    closed: () => within(closed, 'the watch to close'),
  };
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

  it("a proxy's 404 page is no NotFound: unavailable, not 'no lease'; the API server's 404 is", async () => {
    server.setFault('a', proxy(404, 'text/html', PAGE), { count: 1 });
    const s = store();
    const err = await failure(s.get(never()));
    expect(err).toBeInstanceOf(LeaseUnavailableError);
    expect(err.message).toBe(
      `get lease: HTTP 404 (a text/html body of ${bytes} bytes, not a Kubernetes Status)`,
    );
    expect(await s.get(never())).toBeNull(); // the fake's own 404 Status: the Lease does not exist
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
    const reason = await watchOf(store()).closed();
    expect(reason.error?.message).toBe(
      `watch lease: HTTP 502 (a text/html body of ${bytes} bytes, not a Kubernetes Status)`,
    );
  });
});

describe('lines on a watch that are no event', () => {
  it('a line that is not JSON closes the watch, described by its size', async () => {
    const w = watchOf(store());
    await w.opened();
    expect(server.injectWatch('a', { kind: 'line', text: PAGE })).toBe(1);
    const reason = await w.closed();
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
      await w.opened();
      expect(server.injectWatch('a', { kind: 'line', text: line! })).toBe(1);
      expect((await w.closed()).error?.message).toBe(said);
    }
  });
});

describe('watch streams cut anywhere', () => {
  /** 2-, 3- and 4-byte UTF-8 sequences, in an annotation and in the holder (which each event reports). */
  const NOTE = 'Grüße · 日本語 · 🎉';
  const holder = (i: number) => `${i} ${NOTE}`;
  const put = (i: number) =>
    server.putLease({
      metadata: { name: NAME, namespace: NS, annotations: { note: NOTE } },
      spec: { holderIdentity: holder(i), leaseDurationSeconds: 5 },
    });
  const holders = (events: WatchEvent[]) =>
    events.map((e) => (e.type === 'upsert' ? e.lease.record.holderIdentity : e.type));

  it('every byte in a chunk of its own: events, bookmarks and deletions come through whole', async () => {
    server.setWatchChunking('a', { kind: 'sizes', sizes: [1] });
    const s = store();
    const w = watchOf(s);
    await w.opened();
    put(1);
    await until(() => w.events.length === 1, 'the first event');
    const first = w.events[0]!;
    expect(first.type === 'upsert' && first.lease.record.holderIdentity).toBe(holder(1));
    // The update sends back the object as the watch decoded it: the annotation must have survived the cuts.
    await s.update(
      { ...rec(), holderIdentity: holder(2) },
      (first as { lease: StoredLease }).lease.version,
      never(),
    );
    expect(server.getLease(NS, NAME)!.metadata.annotations).toEqual({ note: NOTE });
    await until(() => w.events.length === 2, 'the update');
    server.injectWatch('a', { kind: 'bookmark' });
    server.deleteLease(NS, NAME);
    await until(() => w.events.length === 4, 'the bookmark and the deletion');
    expect(holders(w.events)).toEqual([holder(1), holder(2), 'bookmark', 'deleted']);
    expect(w.events.slice(2)).toEqual([
      { type: 'bookmark', version: String(Number(server.resourceVersion) - 1) },
      { type: 'deleted', version: server.resourceVersion },
    ]);
  });

  it('each line cut once at every byte position in turn, chunks spanning line ends', async () => {
    const positions = 400;
    put(0);
    const line = JSON.stringify({ type: 'MODIFIED', object: server.getLease(NS, NAME) });
    expect(Buffer.byteLength(line) + 1).toBeLessThan(positions); // so every position inside a line is cut
    server.setWatchChunking('a', { kind: 'splits', at: Array.from({ length: positions }, (_, i) => i + 1) });
    const w = watchOf(store(), server.resourceVersion);
    await w.opened();
    for (let i = 1; i <= positions; i++) put(i); // one run of bytes: the cuts fall across line ends too
    await until(() => w.events.length === positions, 'every event');
    expect(holders(w.events)).toEqual(Array.from({ length: positions }, (_, i) => holder(i + 1)));
  });

  it('chunks of seeded random sizes from 1 to 64 bytes', async () => {
    // mulberry32: the same sizes on every run.
    let seed = 20261125;
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const sizes = Array.from({ length: 500 }, () => 1 + Math.floor(random() * 64));
    server.setWatchChunking('a', { kind: 'sizes', sizes });
    const w = watchOf(store());
    await w.opened();
    for (let i = 1; i <= 200; i++) put(i);
    await until(() => w.events.length === 200, 'every event');
    expect(holders(w.events)).toEqual(Array.from({ length: 200 }, (_, i) => holder(i + 1)));
  });

  it('an event larger than 1 MiB, counted in bytes, closes the watch without quoting it', async () => {
    const w = watchOf(store());
    await w.opened();
    // 3-byte characters: over the limit in bytes, under it in characters.
    expect(server.injectWatch('a', { kind: 'oversized', bytes: (1 << 20) + 1, fill: '日' })).toBe(1);
    const reason = await w.closed();
    expect(reason.error).toBeInstanceOf(LeaseUnavailableError);
    expect(reason.error!.message).toBe('watch: an event larger than 1048576 bytes');
    expect(w.events).toEqual([]);
  });

  it('an ERROR with a 410 Expired Status in the stream closes the watch as expired', async () => {
    const w = watchOf(store());
    await w.opened();
    expect(server.injectWatch('a', { kind: 'expired' })).toBe(1);
    const reason = await w.closed();
    expect(reason.expired).toBe(true);
    expect(reason.error!.message).toMatch(/^watch: too old resource version: \d+ \(\d+\)$/);
  });
});
