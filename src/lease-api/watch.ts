// Watch streams of the fake kube-apiserver: one JSON line per event as kube-apiserver writes them, cut into
// HTTP chunks the way a test asks (anywhere, inside a UTF-8 sequence too), and what a test puts into open
// streams: bookmarks, an ERROR with a 410 Expired Status, lines that are no event.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { isTrue, labelsMatch, selector } from './routes.js';
import * as st from './status.js';
import type { LeaseStore } from './store.js';
import { API_VERSION, type Lease, type WatchEvent } from './types.js';

/**
 * How a watch's bytes are cut into HTTP chunks. Lines written in one go (the replay of history, or writes a
 * test makes without awaiting) are cut as one run of bytes, so a chunk may hold the end of one line and the
 * start of the next.
 *   event:  a chunk per line (the default; kube-apiserver flushes after each event)
 *   sizes:  chunks of these many bytes, the list repeated over the whole stream
 *   splits: the k-th line of the watch is cut once, at[k % at.length] bytes in (if that is inside it); a
 *           chunk runs from one cut to the next, across line ends
 */
export type WatchChunking =
  { kind: 'event' } | { kind: 'sizes'; sizes: number[] } | { kind: 'splits'; at: number[] };

/** What a test puts into open watches. DELETED events come from deleting the Lease. */
export type WatchInjection =
  /** A BOOKMARK at the current resourceVersion (as sent every bookmarkIntervalMs). */
  | { kind: 'bookmark' }
  /** An ERROR event with a 410 Expired Status, then the end of the stream, as kube-apiserver does. */
  | { kind: 'expired' }
  /** One line as given (default: an HTML error page, not JSON). */
  | { kind: 'line'; text?: string }
  /** A MODIFIED event of the watched Lease, padded with `fill` (default 'x') to at least `bytes` bytes. */
  | { kind: 'oversized'; bytes: number; fill?: string };

const positiveInts = (v: unknown): boolean =>
  Array.isArray(v) && v.length > 0 && v.every((n) => Number.isInteger(n) && (n as number) > 0);

/** Checks a chunking that came from outside (the control routes); an error message or null. */
export function checkChunking(c: unknown): string | null {
  const x = (typeof c === 'object' && c !== null ? c : {}) as Record<string, unknown>;
  if (x.kind === 'event') return null;
  if (x.kind === 'sizes') return positiveInts(x.sizes) ? null : 'sizes needs a list of positive integers';
  if (x.kind === 'splits') return positiveInts(x.at) ? null : 'splits needs a list of positive integers (at)';
  return `unknown chunking ${JSON.stringify(x.kind)}`;
}

/** Checks an injection that came from outside; an error message or null. */
export function checkInjection(i: unknown): string | null {
  const x = (typeof i === 'object' && i !== null ? i : {}) as Record<string, unknown>;
  if (x.kind === 'bookmark' || x.kind === 'expired') return null;
  if (x.kind === 'line')
    return x.text === undefined || (typeof x.text === 'string' && !x.text.includes('\n'))
      ? null
      : 'line text must be a string without a newline';
  if (x.kind === 'oversized') {
    if (!Number.isInteger(x.bytes) || (x.bytes as number) <= 0) return 'oversized needs bytes > 0';
    return x.fill === undefined || (typeof x.fill === 'string' && x.fill !== '')
      ? null
      : 'oversized fill must be a string that is not empty';
  }
  return `unknown watch injection ${JSON.stringify(x.kind)}`;
}

/** Writes lines to a watch response, batched per microtask and cut into chunks by a WatchChunking. */
class ChunkWriter {
  private batch: Buffer[] = [];
  private lines = 0;
  private size = 0;
  private left: number;

  constructor(
    private readonly res: ServerResponse,
    private readonly plan: WatchChunking,
  ) {
    this.left = plan.kind === 'sizes' ? plan.sizes[0]! : 0;
  }

  line(text: string): void {
    this.batch.push(Buffer.from(text + '\n'));
    if (this.batch.length === 1) queueMicrotask(() => this.flush());
  }

  end(): void {
    this.flush();
    if (!this.res.writableEnded) this.res.end();
  }

  private flush(): void {
    const lines = this.batch.splice(0);
    if (!lines.length || this.res.writableEnded || this.res.destroyed) return;
    const bytes = Buffer.concat(lines);
    let from = 0;
    for (const to of this.cuts(lines, bytes.length)) {
      this.res.write(bytes.subarray(from, to));
      from = to;
    }
  }

  /** Ascending offsets in the batch where chunks end; the last is the batch's end. */
  private cuts(lines: Buffer[], total: number): number[] {
    const cuts: number[] = [];
    let offset = 0;
    if (this.plan.kind === 'sizes') {
      const sizes = this.plan.sizes;
      while (offset < total) {
        const step = Math.min(this.left, total - offset);
        offset += step;
        this.left -= step;
        cuts.push(offset);
        if (this.left === 0) this.left = sizes[(this.size = (this.size + 1) % sizes.length)]!;
      }
      return cuts;
    }
    for (const line of lines) {
      if (this.plan.kind === 'event') cuts.push(offset + line.length);
      else {
        const at = this.plan.at[this.lines++ % this.plan.at.length]!;
        if (at < line.length) cuts.push(offset + at);
      }
      offset += line.length;
    }
    if (cuts.at(-1) !== total) cuts.push(total);
    return cuts;
  }
}

export interface OpenWatch {
  client: string;
  socket: Socket;
  stop: () => void;
  inject: (what: WatchInjection) => void;
}

export interface WatchContext {
  store: LeaseStore;
  watches: Set<OpenWatch>;
  bookmarkMs: number;
  /** The chunking for a new watch of `client`. */
  chunking: (client: string) => WatchChunking;
  /** Sends a whole reply and records its status. */
  send: (res: ServerResponse, rec: { status: number }, code: number, body: unknown) => void;
}

export function serveWatch(
  ctx: WatchContext,
  req: IncomingMessage,
  res: ServerResponse,
  rec: { status: number },
  client: string,
  ns: string | undefined,
  name: string | undefined,
  q: URLSearchParams,
): void {
  const sel = selector(q);
  if ('error' in sel) return ctx.send(res, rec, 400, st.badRequest(sel.error));
  if (name !== undefined) sel.name = name;
  const rvParam = q.get('resourceVersion') ?? '';
  if (rvParam !== '' && !/^[0-9]+$/.test(rvParam))
    return ctx.send(res, rec, 400, st.badRequest(`invalid resource version: ${JSON.stringify(rvParam)}`));
  const from = rvParam === '' || rvParam === '0' ? undefined : Number(rvParam);
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-cache, private',
    'Transfer-Encoding': 'chunked',
  });
  res.flushHeaders();
  rec.status = 200;
  const out = new ChunkWriter(res, ctx.chunking(client));
  const write = (ev: WatchEvent): void => out.line(JSON.stringify(ev));
  const labelled = (ev: WatchEvent): void => {
    if (labelsMatch(sel, (ev.object as Lease).metadata.labels)) write(ev);
  };
  const filter = { namespace: ns ?? sel.namespace, name: sel.name };
  const started = ctx.store.watch(filter, from, labelled);
  if (!started.ok) {
    write({ type: 'ERROR', object: st.expired(started.requested, started.oldest) });
    return out.end();
  }
  const rv = () => String(ctx.store.resourceVersion);
  const bookmark = () =>
    write({
      type: 'BOOKMARK',
      object: { kind: 'Lease', apiVersion: API_VERSION, metadata: { resourceVersion: rv() } },
    });
  let bookmarks: NodeJS.Timeout | undefined;
  let timeout: NodeJS.Timeout | undefined;
  const w: OpenWatch = {
    client,
    socket: req.socket,
    stop: () => {
      started.cancel();
      clearInterval(bookmarks);
      clearTimeout(timeout);
      ctx.watches.delete(w);
    },
    inject: (what) => {
      if (what.kind === 'bookmark') return bookmark();
      if (what.kind === 'line') return out.line(what.text ?? NOT_JSON);
      if (what.kind === 'oversized') return write(oversized(filter, rv(), what.bytes, what.fill ?? 'x'));
      const now = ctx.store.resourceVersion;
      write({ type: 'ERROR', object: st.expired(from ?? now, now + 1) });
      w.stop();
      out.end();
    },
  };
  ctx.watches.add(w);
  if (isTrue(q.get('allowWatchBookmarks'))) bookmarks = setInterval(bookmark, ctx.bookmarkMs);
  const secs = Number(q.get('timeoutSeconds') ?? '0');
  if (secs > 0) {
    timeout = setTimeout(() => {
      w.stop();
      out.end();
    }, secs * 1000);
  }
  res.on('close', w.stop);
}

const NOT_JSON =
  '<html><head><title>502 Bad Gateway</title></head><body>upstream: 10.0.0.1:6443</body></html>';

function oversized(
  filter: { namespace?: string; name?: string },
  rv: string,
  bytes: number,
  fill: string,
): WatchEvent {
  const metadata = {
    name: filter.name ?? 'oversized',
    namespace: filter.namespace ?? 'default',
    resourceVersion: rv,
    annotations: { padding: fill.repeat(Math.ceil(bytes / Buffer.byteLength(fill))) },
  };
  return { type: 'MODIFIED', object: { kind: 'Lease', apiVersion: API_VERSION, metadata, spec: {} } };
}
