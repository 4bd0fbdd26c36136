// Sessions dial through the native addon: TCP_MD5SIG (RFC 2385) and the IP TTL must be on the socket before
// the SYN goes out, which node:net cannot do. The connected fd is then an ordinary net.Socket.
import { tcpConnectSocket } from '../native/tcp.js';
import type { Dialer } from './dial.js';

export const nativeDialer: Dialer = async (t) => {
  return tcpConnectSocket({
    address: t.address,
    port: t.port,
    timeoutMs: t.timeoutMs,
    ...(t.localAddress ? { localAddress: t.localAddress } : {}),
    ...(t.ttl !== undefined ? { ttl: t.ttl } : {}),
    ...(t.password ? { md5Key: t.password } : {}),
  });
};
