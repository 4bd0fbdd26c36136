// The port a BGP session opens its TCP connection through. Production dials through the native addon (TCP
// MD5 and the IP TTL have to be set on the socket before connect, which node:net cannot do); tests of the
// state machine against an in-process peer dial with node:net.
import net from 'node:net';

export interface DialTarget {
  address: string;
  port: number;
  localAddress?: string;
  /** IP TTL / hop limit; the system default when absent. */
  ttl?: number;
  /** TCP MD5 key (RFC 2385). */
  password?: string;
  /** The whole connect is bounded by this: with an MD5 key a refused connect is silence, not a RST. */
  timeoutMs: number;
}

/** Resolves to a connected socket; rejects with an Error whose `.code` is the errno name (ETIMEDOUT, ...). */
export type Dialer = (target: DialTarget) => Promise<net.Socket>;

function timeoutError(target: DialTarget): Error {
  return Object.assign(new Error(`connect to ${target.address}:${target.port} timed out`), {
    code: 'ETIMEDOUT',
  });
}

/** node:net's connect: no TTL, no MD5 (it refuses targets that need them, rather than ignoring them). */
export const netDialer: Dialer = (target) =>
  new Promise((resolve, reject) => {
    if (target.password || target.ttl !== undefined) {
      reject(Object.assign(new Error('node:net cannot set TCP MD5 or the TTL'), { code: 'EINVAL' }));
      return;
    }
    const socket = net.connect({
      host: target.address,
      port: target.port,
      ...(target.localAddress ? { localAddress: target.localAddress } : {}),
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(timeoutError(target));
    }, target.timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    });
  });
