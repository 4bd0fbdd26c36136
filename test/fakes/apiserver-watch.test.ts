// The fake kube-apiserver's watch streams byte by byte: how it cuts events into HTTP chunks (per event, by
// sizes, at given cuts; per watch or for every client) and what it puts into open streams on request.
import { get as httpGet, type IncomingMessage } from 'node:http';
import { type FakeApiServer, startFakeApiServer } from '../../src/lease-api/server.js';
import { until, within } from '../helpers/wait.js';

const NS = 'kube-system';
const LEASES = `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases`;
/** 2-, 3- and 4-byte UTF-8 sequences. */
const NOTE = 'Grüße · 日本語 · 🎉';

interface RawChunks {
  res: IncomingMessage;
  /** Every chunk as the client's 'data' events delivered it. */
  chunks: Buffer[];
  /** Complete lines so far. */
  lines(): string[];
  ended: Promise<void>;
  close(): void;
}

const opened: RawChunks[] = [];

/** A watch read as raw chunks; resolves once the response headers are in. */
function rawChunks(fake: FakeApiServer, client: string, query = 'watch=1'): Promise<RawChunks> {
  const token = fake.tokenFor(client);
  return new Promise((resolve, reject) => {
    const req = httpGet(
      `${fake.url}${LEASES}?${query}`,
      { headers: token ? { Authorization: `Bearer ${token}` } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', () => undefined);
        const ended = new Promise<void>((done) => res.on('close', done));
        const lines = () => Buffer.concat(chunks).toString('utf8').split('\n').slice(0, -1);
        const w = { res, chunks, lines, ended, close: () => req.destroy() };
        opened.push(w);
        resolve(w);
      },
    );
    req.on('error', reject);
  });
}

function put(fake: FakeApiServer, name: string, holder = 'a'): void {
  fake.putLease({
    metadata: { name, namespace: NS, annotations: { note: NOTE } },
    spec: { holderIdentity: holder, leaseDurationSeconds: 15 },
  });
}

/** Where each chunk ends, as offsets into the stream. */
function cuts(chunks: Buffer[]): number[] {
  let at = 0;
  return chunks.map((c) => (at += c.length));
}

describe('fake kube-apiserver watch streams', () => {
  let fake: FakeApiServer;
  beforeEach(async () => {
    fake = await startFakeApiServer({
      tokens: { 'tok-a': 'a', 'tok-b': 'b' },
      bookmarkIntervalMs: 3_600_000,
    });
  });
  afterEach(async () => {
    opened.splice(0).forEach((w) => w.close());
    await fake.close();
  });

  it('writes a chunk per event by default, also for events written in one go', async () => {
    const w = await rawChunks(fake, 'a');
    put(fake, 'l1');
    put(fake, 'l2');
    await until(() => w.lines().length === 2, 'two events');
    expect(w.chunks.map(String)).toEqual(w.lines().map((l) => l + '\n'));
  });

  it('cuts every byte into a chunk of its own, inside UTF-8 sequences too', async () => {
    fake.setWatchChunking('a', { kind: 'sizes', sizes: [1] });
    const w = await rawChunks(fake, 'a');
    put(fake, 'l1');
    await until(() => w.lines().length === 1, 'the event');
    expect(w.chunks.every((c) => c.length === 1)).toBe(true);
    expect(w.chunks.some((c) => (c[0]! & 0xc0) === 0x80)).toBe(true); // a chunk inside a character
    expect(JSON.parse(w.lines()[0]!).object.metadata.annotations.note).toBe(NOTE);
  });

  it('cuts chunks of the given sizes, repeated, across line ends', async () => {
    fake.setWatchChunking('a', { kind: 'sizes', sizes: [5, 13] });
    const w = await rawChunks(fake, 'a');
    put(fake, 'l1');
    put(fake, 'l2');
    await until(() => w.lines().length === 2, 'two events');
    // The two lines were written in one go: cut only by the sizes, not where one line ends.
    const total = Buffer.concat(w.chunks).length;
    const expected: number[] = [];
    for (let at = 0, i = 0; at < total; i++) expected.push((at = Math.min(total, at + (i % 2 ? 13 : 5))));
    expect(cuts(w.chunks)).toEqual(expected);
  });

  it('cuts the k-th line once, at[k] bytes in; chunks run from one cut to the next', async () => {
    fake.setWatchChunking('a', { kind: 'splits', at: [1, 2, 3] });
    const w = await rawChunks(fake, 'a');
    for (const name of ['l1', 'l2', 'l3']) put(fake, name);
    await until(() => w.lines().length === 3, 'three events');
    const [l1, l2, l3] = w.lines().map((l) => Buffer.byteLength(l) + 1);
    expect(cuts(w.chunks)).toEqual([1, l1! + 2, l1! + l2! + 3, l1! + l2! + l3!]);
  });

  it('chunks the next `count` watches of one client that way, or every watch of every client with *', async () => {
    fake.setWatchChunking('a', { kind: 'sizes', sizes: [1] }, { count: 1 });
    const once = await rawChunks(fake, 'a');
    const after = await rawChunks(fake, 'a');
    fake.setWatchChunking('*', { kind: 'sizes', sizes: [2] });
    const other = await rawChunks(fake, 'b');
    fake.setWatchChunking('*', null);
    const cleared = await rawChunks(fake, 'b');
    put(fake, 'l1');
    const all = [once, after, other, cleared];
    await until(() => all.every((w) => w.lines().length === 1), 'the event on every watch');
    const sizes = all.map((w) => new Set(w.chunks.slice(0, -1).map((c) => c.length)));
    expect(sizes[0]).toEqual(new Set([1]));
    expect(after.chunks).toHaveLength(1);
    expect(sizes[2]).toEqual(new Set([2]));
    expect(cleared.chunks).toHaveLength(1);
  });

  it("puts bookmarks, a line that is not JSON and an oversized event into one client's open watches", async () => {
    put(fake, 'l1');
    const a = await rawChunks(fake, 'a', `watch=1&resourceVersion=${fake.resourceVersion}`);
    const b = await rawChunks(fake, 'b', `watch=1&resourceVersion=${fake.resourceVersion}`);
    expect(fake.injectWatch('a', { kind: 'bookmark' })).toBe(1);
    expect(fake.injectWatch('a', { kind: 'line', text: 'token=hunter2 <html>' })).toBe(1);
    expect(fake.injectWatch('a', { kind: 'oversized', bytes: 4096, fill: '日' })).toBe(1);
    await until(() => a.lines().length === 3, 'three lines');
    const [bookmark, notJson, oversized] = a.lines();
    expect(JSON.parse(bookmark!)).toEqual({
      type: 'BOOKMARK',
      object: {
        kind: 'Lease',
        apiVersion: 'coordination.k8s.io/v1',
        metadata: { resourceVersion: fake.resourceVersion },
      },
    });
    expect(notJson).toBe('token=hunter2 <html>');
    expect(Buffer.byteLength(oversized!)).toBeGreaterThan(4096);
    expect(oversized!.length).toBeLessThan(4096); // padded with a 3-byte character
    expect(JSON.parse(oversized!)).toMatchObject({ type: 'MODIFIED', object: { kind: 'Lease' } });
    // b's watch got none of it: the next line on it is the next real change.
    put(fake, 'l1', 'b');
    await until(() => b.lines().length === 1, "the change on b's watch");
    expect(JSON.parse(b.lines()[0]!)).toMatchObject({
      type: 'MODIFIED',
      object: { spec: { holderIdentity: 'b' } },
    });
  });

  it('ends a watch with an ERROR event carrying a 410 Expired Status, as kube-apiserver does', async () => {
    const w = await rawChunks(fake, 'a');
    expect(fake.injectWatch('a', { kind: 'expired' })).toBe(1);
    await within(w.ended, 'the end of the stream');
    expect(w.lines().map((l) => JSON.parse(l))).toEqual([
      {
        type: 'ERROR',
        object: expect.objectContaining({ kind: 'Status', status: 'Failure', reason: 'Expired', code: 410 }),
      },
    ]);
    expect(fake.injectWatch('a', { kind: 'bookmark' })).toBe(0); // no longer open
  });

  it('answers as a proxy in between would, with its own status and body', async () => {
    const page = '<html><body>502 Bad Gateway</body></html>';
    fake.setFault('a', { kind: 'proxy', code: 502, contentType: 'text/html', body: page }, { count: 1 });
    const res = await fetch(`${fake.url}${LEASES}/l1`, { headers: { Authorization: 'Bearer tok-a' } });
    expect(res.status).toBe(502);
    expect(res.headers.get('content-type')).toBe('text/html');
    expect(await res.text()).toBe(page);
    expect(fake.requests.at(-1)).toMatchObject({ client: 'a', verb: 'get', status: 502 });
  });
});

describe('fake kube-apiserver watch control routes', () => {
  let fake: FakeApiServer;
  beforeEach(async () => {
    fake = await startFakeApiServer({ control: true });
  });
  afterEach(async () => {
    opened.splice(0).forEach((w) => w.close());
    await fake.close();
  });

  const post = (path: string, body: unknown) =>
    fetch(`${fake.url}/_fake/${path}`, { method: 'POST', body: JSON.stringify(body) });

  it('sets a chunking and puts events into watches; refuses what it does not know', async () => {
    const chunking = { kind: 'sizes', sizes: [1] };
    expect((await post('watch-chunking', { client: 'anonymous', chunking, count: 1 })).status).toBe(204);
    expect((await post('watch-chunking', { client: 'anonymous', chunking: { kind: 'sizes' } })).status).toBe(
      400,
    );
    const w = await rawChunks(fake, 'anonymous');
    const sent = await post('watch-events', { client: 'anonymous', event: { kind: 'bookmark' } });
    expect(await sent.json()).toEqual({ watches: 1 });
    expect((await post('watch-events', { client: 'anonymous', event: { kind: 'nope' } })).status).toBe(400);
    expect((await post('watch-events', { event: { kind: 'bookmark' } })).status).toBe(400);
    await until(() => w.lines().length === 1, 'the bookmark');
    expect(w.chunks.every((c) => c.length === 1)).toBe(true);
    expect(JSON.parse(w.lines()[0]!)).toMatchObject({ type: 'BOOKMARK' });
  });
});
