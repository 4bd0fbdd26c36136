// Helpers for tests that use the real Linux kernel in network namespaces: namespaces, veth pairs and
// bridges made per test.
//
// Policy: such a test needs root and `ip netns` (iproute2). When they are missing, `describeNetns` skips the
// suite with a printed reason on a developer machine, and FAILS it when CI=true (so CI never passes by
// skipping). Usage:
//
//   const tag = uniqueTag('p');                      // "kv12345p": prefix of every namespace and link made
//   describeNetns('packet sockets', () => {
//     beforeAll(() => { createNamespace(`${tag}a`); createNamespace(`${tag}b`);
//                       createVeth({ ns: `${tag}a`, name: `${tag}a0` }, { ns: `${tag}b`, name: `${tag}b0` }); });
//     afterAll(() => deleteNamespacesWithPrefix(tag)); // always runs, also after a failure
//     it('...', () => { sh(`ip -n ${tag}a link show`); });
//   });
//
// Rules for what a test builds: addresses only from 198.51.100.0/24, 203.0.113.0/24 and 2001:db8::/32, no
// default route, nothing sent to any other address; every name starts with the test's tag.
import { execFileSync } from 'node:child_process';

export type NetnsAvailability = { ok: true } | { ok: false; reason: string };

/** Linux's interface-name limit (IFNAMSIZ 16, including the terminating NUL). */
export const MAX_IFNAME = 15;

/** Runs a shell command (sh -c) and returns its stdout, trimmed. Throws with the command and stderr on failure. */
export function sh(cmd: string, opts: { input?: string; timeoutMs?: number } = {}): string {
  try {
    return execFileSync('/bin/sh', ['-c', cmd], {
      encoding: 'utf8',
      input: opts.input,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: opts.timeoutMs ?? 20_000,
    }).trim();
  } catch (err) {
    const e = err as { status?: number | null; signal?: string | null; stderr?: string };
    const why = e.signal ? `killed by ${e.signal}` : `exit ${e.status ?? '?'}`;
    throw new Error(`\`${cmd}\` failed (${why}): ${(e.stderr ?? String(err)).trim()}`, { cause: err });
  }
}

/** Like sh, but returns undefined instead of throwing (for clean-up and probes). */
export function trySh(cmd: string): string | undefined {
  try {
    return sh(cmd);
  } catch {
    return undefined;
  }
}

/**
 * A short prefix unique to this process: `kv<pid % 100000><suffix>`, e.g. "kv12345p". Jest runs each test
 * file in its own worker process, so files never collide; within a file use different suffixes. Leaves room
 * for a few characters of link name (15 at most in all): throws if the tag itself is longer than 12.
 */
export function uniqueTag(suffix = ''): string {
  const tag = `kv${process.pid % 100000}${suffix}`;
  if (!/^[a-z0-9]+$/i.test(tag) || tag.length > 12) {
    throw new Error(`uniqueTag: "${tag}" must be alphanumeric and at most 12 characters`);
  }
  return tag;
}

/** Throws unless name is a usable Linux interface name (1-15 characters, no '/', ':' or whitespace). */
export function assertIfname(name: string): string {
  if (name.length < 1 || name.length > MAX_IFNAME || /[\s/:]/.test(name)) {
    throw new Error(
      `"${name}" is not a valid interface name (1-${MAX_IFNAME} characters, no '/', ':', spaces)`,
    );
  }
  return name;
}

let availability: NetnsAvailability | undefined;

/**
 * Whether this process can run netns tests: Linux, uid 0, `ip` present and `ip netns add` working (probed
 * once per process by creating and deleting a namespace, so a root user without CAP_SYS_ADMIN, e.g. in an
 * unprivileged container, is detected too). Cached.
 */
export function netnsAvailable(): NetnsAvailability {
  if (availability) return availability;
  availability = probe();
  return availability;
}

function probe(): NetnsAvailability {
  if (process.platform !== 'linux')
    return { ok: false, reason: `network namespaces need Linux, not ${process.platform}` };
  const uid = process.getuid?.();
  if (uid !== 0) return { ok: false, reason: `network namespace tests need root (uid is ${uid})` };
  if (trySh('ip -V') === undefined) return { ok: false, reason: '`ip` (iproute2) is not installed' };
  const probeNs = uniqueTag('probe');
  try {
    sh(`ip netns add ${probeNs}`);
  } catch (err) {
    return { ok: false, reason: `\`ip netns add\` does not work here: ${(err as Error).message}` };
  } finally {
    trySh(`ip netns del ${probeNs}`);
  }
  return { ok: true };
}

/**
 * `describe` for netns suites, applying the policy above at load time: available -> describe(name, fn); not
 * available and CI=true -> a suite whose beforeAll throws the reason (so its one test fails); otherwise
 * describe.skip(name, fn) and a console.warn with the reason.
 */
export function describeNetns(name: string, fn: () => void): void {
  const avail = netnsAvailable();
  if (avail.ok) {
    describe(name, fn);
  } else if (process.env.CI === 'true') {
    describe(name, () => {
      beforeAll(() => {
        throw new Error(`${name}: cannot run on CI: ${avail.reason}`);
      });
      it('has root and ip netns', () => undefined);
    });
  } else {
    console.warn(`skipping "${name}": ${avail.reason} (set CI=true to make this a failure)`);
    describe.skip(name, fn);
  }
}

/** Creates a namespace with its loopback up. Replaces a leftover one of the same name (a crashed run). */
export function createNamespace(name: string): void {
  assertIfname(name);
  trySh(`ip netns del ${name}`);
  sh(`ip netns add ${name}`);
  sh(`ip -n ${name} link set lo up`);
}

/** Deletes a namespace (and with it every link in it); no error if it does not exist. */
export function deleteNamespace(name: string): void {
  trySh(`ip netns del ${name}`);
}

/** Names of the existing namespaces (`ip netns list`). */
export function listNamespaces(): string[] {
  const out = trySh('ip -j netns list');
  if (!out) return [];
  return (JSON.parse(out) as { name: string }[]).map((n) => n.name);
}

/** Deletes every namespace whose name starts with prefix (a test's tag): the one-line afterAll. */
export function deleteNamespacesWithPrefix(prefix: string): void {
  if (prefix.length < 3) throw new Error(`refusing to delete namespaces by the short prefix "${prefix}"`);
  for (const ns of listNamespaces()) if (ns.startsWith(prefix)) deleteNamespace(ns);
}

export interface VethEnd {
  ns: string;
  name: string;
  /** Optional MAC, e.g. "02:00:00:00:00:01"; the kernel picks a random one otherwise. */
  mac?: string;
}

/** Creates a veth pair between two namespaces and brings both ends up. */
export function createVeth(a: VethEnd, b: VethEnd): void {
  assertIfname(a.name);
  assertIfname(b.name);
  const mac = (e: VethEnd): string => (e.mac ? ` address ${e.mac}` : '');
  sh(`ip link add ${a.name}${mac(a)} netns ${a.ns} type veth peer name ${b.name}${mac(b)} netns ${b.ns}`);
  sh(`ip -n ${a.ns} link set ${a.name} up`);
  sh(`ip -n ${b.ns} link set ${b.name} up`);
}

/** The MAC address of a link in a namespace (`ip -j link show`). */
export function linkMac(ns: string, link: string): string {
  const [info] = JSON.parse(sh(`ip -n ${ns} -j link show dev ${link}`)) as { address: string }[];
  if (!info) throw new Error(`no link ${link} in ${ns}`);
  return info.address;
}

/** A command line prefix that runs a program inside a namespace: `ip netns exec <ns> `. */
export function inNetns(ns: string, cmd: string): string {
  return `ip netns exec ${ns} ${cmd}`;
}

/** Polls check() every intervalMs until it returns a value other than undefined, or throws after timeoutMs. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined,
  timeoutMs = 3000,
  intervalMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
