// Network namespaces through iproute2 (`ip`), for `kvip demo` and the e2e rig: create one, plug it into a
// bridge, list and delete them by prefix. Synchronous on purpose: clean-up runs from signal and exit handlers,
// where nothing asynchronous is sure to finish.
import { execFileSync } from 'node:child_process';

export function ip(args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Whether `ip` (iproute2) can be run at all. */
export function hasIproute2(): boolean {
  try {
    ip(['-V']);
    return true;
  } catch {
    return false;
  }
}

/** A new namespace with its loopback up. */
export function addNamespace(name: string): void {
  ip(['netns', 'add', name]);
  ip(['-n', name, 'link', 'set', 'lo', 'up']);
}

/** Deletes a namespace and every link in it; false when there was none. */
export function deleteNamespace(name: string): boolean {
  try {
    ip(['netns', 'del', name]);
    return true;
  } catch {
    return false;
  }
}

/** The existing namespaces whose names start with `prefix`. */
export function namespacesWithPrefix(prefix: string): string[] {
  const out = ip(['-j', 'netns', 'list']).trim();
  const all = out === '' ? [] : (JSON.parse(out) as { name: string }[]);
  return all.map((n) => n.name).filter((n) => n.startsWith(prefix));
}

/** A bridge br0, up, in namespace `ns`. */
export function addBridge(ns: string): void {
  ip(['-n', ns, 'link', 'add', 'br0', 'type', 'bridge']);
  ip(['-n', ns, 'link', 'set', 'br0', 'up']);
}

/**
 * eth0 in `host` with `address` (CIDR), its veth peer `port` on the bridge br0 of `bridgeNs`. Both ends are
 * made inside their namespaces, so no link is ever left in the caller's namespace.
 */
export function plugIntoBridge(bridgeNs: string, host: string, port: string, address: string): void {
  ip(['link', 'add', 'eth0', 'netns', host, 'type', 'veth', 'peer', 'name', port, 'netns', bridgeNs]);
  ip(['-n', bridgeNs, 'link', 'set', port, 'master', 'br0', 'up']);
  // IPv6: no duplicate address detection, so the address is usable at once.
  const add = ['-n', host, 'addr', 'add', address, 'dev', 'eth0'];
  ip(address.includes(':') ? [...add, 'nodad'] : add);
  ip(['-n', host, 'link', 'set', 'eth0', 'up']);
}
