// A scripted HTTP server on 127.0.0.1 for the Metal client tests: records every request it gets and lets the
// test answer each one (or drop the connection, or never answer).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Logger } from '../../src/log.js';

export interface Seen {
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: string;
}

/** Answers the n-th request (1-based). */
export type Handler = (req: Seen, n: number, res: ServerResponse) => void;

export interface FakeHttp {
  url: string;
  seen: Seen[];
  close(): Promise<void>;
}

export async function fakeHttp(handler: Handler): Promise<FakeHttp> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const s: Seen = {
        method: req.method ?? '',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      seen.push(s);
      handler(s, seen.length, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** A Logger that keeps every line, as pino would write it, for the test to search. */
export function recordingLogger(): { log: Logger; lines: string[]; entries: Record<string, unknown>[] } {
  const lines: string[] = [];
  const entries: Record<string, unknown>[] = [];
  const write = (level: string) => (obj: object, msg: string) => {
    const entry = { level, ...obj, msg };
    entries.push(entry);
    lines.push(JSON.stringify(entry));
  };
  return {
    lines,
    entries,
    log: { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') },
  };
}
