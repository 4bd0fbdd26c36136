// What both fakes (apiserver, Metal) need of node:http: a bounded body read and a connection reset.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

/** The request body as text; null when it is larger than `maxBytes` or the request failed or was aborted. */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<string | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= maxBytes) chunks.push(c);
    });
    req.on('end', () => resolve(size > maxBytes ? null : Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(null));
    req.on('aborted', () => resolve(null));
  });
}

/**
 * Closes a connection with a TCP RST, so the client sees ECONNRESET. For TLS the TCP socket underneath is reset,
 * after destroying the TLS socket: the other order leaves a dead entry in Node 20's HTTP connection list that
 * makes server.close() throw.
 */
export function resetSocket(socket: Socket): void {
  const raw = (socket as Socket & { _parent?: Socket })._parent;
  if (raw) socket.destroy();
  try {
    (raw ?? socket).resetAndDestroy();
  } catch {
    (raw ?? socket).destroy();
  }
}
