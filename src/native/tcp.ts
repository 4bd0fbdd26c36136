// The TCP connection of a BGP session, opened by the addon (native/src/tcp_connect.c: TCP_MD5SIG, the TTL and
// the source address are set before the SYN, which Node's net cannot do) and then used as an ordinary
// net.Socket.
import { closeSync } from 'node:fs';
import { Socket } from 'node:net';

import { loadNative } from './index.js';

export interface TcpConnectOptions {
  /** The peer: a numeric IPv4 or IPv6 address (no host name, no %scope); it picks the socket's family. */
  address: string;
  /** 1-65535 (179 for BGP). */
  port: number;
  /** Source address to bind before connecting, of the peer's family; the kernel picks one when absent. */
  localAddress?: string;
  /** Source port, 0-65535; 0 or absent: an ephemeral one. */
  localPort?: number;
  /** IP TTL (IPv4) or unicast hop limit (IPv6) of every packet, 1-255; absent: the system's default. */
  ttl?: number;
  /**
   * RFC 2385 TCP MD5 signature key for this peer, 1-80 bytes (a string is taken as UTF-8); EINVAL otherwise,
   * before any socket is opened. The key is never part of an error message.
   */
  md5Key?: Uint8Array | string;
  /**
   * How long the connect may take, 1-2147483647 ms, counted from the call. Always armed, because with a key a
   * refused connect is silent: it ends as ETIMEDOUT here, never as ECONNREFUSED.
   */
  timeoutMs: number;
}

/**
 * Opens a TCP connection and resolves to its connected socket fd (non-blocking, close-on-exec); the caller
 * owns it (wrap it with `new net.Socket({ fd, readable: true, writable: true })`, or use tcpConnectSocket).
 * The wait is on a thread of its own: it blocks neither the event loop nor libuv's threadpool.
 *
 * Rejects with a NativeError: .code ETIMEDOUT (timeoutMs passed), ECONNREFUSED, EHOSTUNREACH, ENETUNREACH,
 * EADDRNOTAVAIL / EADDRINUSE (bind), EINVAL (key length), ENOPROTOOPT (a kernel without TCP MD5), ...;
 * .syscall the failing call. Options of the wrong type or range reject with a TypeError. No fd is left open
 * on any failure.
 */
export async function tcpConnect(opts: TcpConnectOptions): Promise<number> {
  return loadNative().tcpConnect(opts);
}

/** tcpConnect, wrapped in a net.Socket (destroy() or the socket's close closes the fd). */
export async function tcpConnectSocket(opts: TcpConnectOptions): Promise<Socket> {
  const fd = await tcpConnect(opts);
  try {
    return new Socket({ fd, readable: true, writable: true });
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}
