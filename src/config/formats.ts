// Value formats for the option schema. Each one is registered with convict (validate + coerce), and each
// validator throws an Error whose message says what is expected, so the loader can print one line that
// names the option and the fix.
import { isIP } from 'node:net';
import convict from 'convict';

export interface BgpPeer {
  address: string;
  as: number;
  password: string;
  multihop: boolean;
}

function fail(message: string): never {
  throw new Error(message);
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];
const LOGRUS_LEVELS = ['fatal', 'fatal', 'error', 'warn', 'info', 'debug', 'trace'];

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

/** Strict booleans: convict's own coerces any string but "false" to true, so "flase" would enable a mode. */
export function coerceBool(value: string): boolean | string {
  const v = value.trim().toLowerCase();
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  return value;
}

export function isAsn(n: unknown): boolean {
  // 0 and AS_TRANS (23456, RFC 6793) cannot be a speaker's own or a peer's real AS number.
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 4294967295 && n !== 23456;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function isDnsSubdomain(s: string): boolean {
  return s.length <= 253 && s.split('.').every((label) => label.length <= 63 && DNS_LABEL.test(label));
}

/**
 * "address:as[:password[:multihop]]", IPv6 addresses in brackets: kube-vip's bgp_peers form. A password may
 * sit in any field of a mistyped entry, so errors name the entry (1-based) and the field, never a value.
 */
export function parsePeer(entry: string, index: number): BgpPeer {
  const where = `entry ${index + 1}`;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):([^:]+)(?::([^:]*))?(?::([^:]*))?$/.exec(entry.trim());
  if (!m) fail(`${where} is not address:as[:password[:multihop]] (IPv6 in brackets)`);
  const address = (m[1] ?? m[2]) as string;
  if (isIP(address) === 0) fail(`${where}: the address field is not an IP address`);
  if (!/^\d+$/.test(m[3] as string)) fail(`${where}: the AS field is not a number`);
  const as = Number(m[3]);
  if (!isAsn(as)) fail(`${where}: the AS field must be 1-4294967295 (not 23456)`);
  const multihop = m[5] === undefined || m[5] === '' ? false : coerceBool(m[5]);
  if (typeof multihop !== 'boolean') fail(`${where}: the multihop field must be true or false`);
  const password = m[4] ?? '';
  if (Buffer.byteLength(password) > MD5_KEY_MAX)
    fail(`${where}: the password field is over ${MD5_KEY_MAX} bytes (the TCP MD5 limit)`);
  return { address, as, password, multihop };
}

/** TCP_MD5SIG_MAXKEYLEN: Linux takes keys of 1-80 bytes. */
export const MD5_KEY_MAX = 80;

/** "asn:value" (RFC 1997), each 0-65535, as one 32-bit number. */
export function parseCommunity(text: string): number {
  const m = /^(\d{1,5}):(\d{1,5})$/.exec(text.trim());
  const hi = Number(m?.[1]);
  const lo = Number(m?.[2]);
  if (!m || hi > 65535 || lo > 65535) fail(`"${text}" is not asn:value (each 0-65535)`);
  return ((hi << 16) | lo) >>> 0;
}

/** The value as a URL, or undefined when it is not one. */
function urlOf(v: unknown): URL | undefined {
  try {
    return new URL(String(v));
  } catch {
    return undefined;
  }
}

export function registerFormats(): void {
  convict.addFormats({
    bool: {
      validate: (v: unknown) => {
        if (typeof v !== 'boolean') fail('must be true or false');
      },
      coerce: coerceBool,
    },
    'ip-or-empty': {
      validate: (v: unknown) => {
        if (typeof v !== 'string' || (v !== '' && isIP(v) === 0)) fail('must be an IPv4 or IPv6 address');
      },
    },
    'ipv4-or-empty': {
      validate: (v: unknown) => {
        if (typeof v !== 'string' || (v !== '' && isIP(v) !== 4)) fail('must be an IPv4 address');
      },
    },
    'prefix-length': {
      validate: (v: unknown) => {
        if (v === null) return;
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 128)
          fail('must be a prefix length (1-32 for IPv4, 1-128 for IPv6)');
      },
      coerce: (v: string) => (v.trim() === '' ? null : /^\d+$/.test(v.trim()) ? Number(v) : v),
    },
    'tcp-port': {
      validate: (v: unknown) => {
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535)
          fail('must be a port 1-65535');
      },
      coerce: (v: string) => (/^\d+$/.test(v.trim()) ? Number(v) : v),
    },
    asn: {
      validate: (v: unknown) => {
        if (!isAsn(v)) fail('must be an AS number 1-4294967295 (not 23456, AS_TRANS)');
      },
      coerce: (v: string) => (/^\d+$/.test(v.trim()) ? Number(v) : v),
    },
    'whole-seconds': {
      validate: (v: unknown) => {
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
          fail('must be a whole number of seconds >= 1 (it is written to the Lease as leaseDurationSeconds)');
      },
      coerce: (v: string) => (/^\d+$/.test(v.trim()) ? Number(v) : v),
    },
    seconds: {
      validate: (v: unknown) => {
        if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) fail('must be a number of seconds > 0');
      },
      coerce: (v: string) => (/^\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : v),
    },
    'positive-int': {
      validate: (v: unknown) => {
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) fail('must be a whole number >= 1');
      },
      coerce: (v: string) => (/^\d+$/.test(v.trim()) ? Number(v) : v),
    },
    'keepalive-interval': {
      validate: (v: unknown) => {
        if (v === null) return;
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 21845)
          fail('must be 1-21845 seconds (or unset: a third of the hold time)');
      },
      coerce: (v: string) => (v.trim() === '' ? null : /^\d+$/.test(v.trim()) ? Number(v) : v),
    },
    communities: {
      validate: (v: unknown) => {
        if (!Array.isArray(v)) fail('must be a comma-separated list of asn:value');
        // An UPDATE is at most 4096 bytes; 4 bytes a community leaves room for the rest with 512.
        if (v.length > 512) fail('must list at most 512 communities');
        v.forEach((c) => parseCommunity(String(c)));
      },
      coerce: (v: string) => (v.trim() === '' ? [] : v.split(',').map((s) => s.trim())),
    },
    'hold-time': {
      validate: (v: unknown) => {
        // RFC 4271 4.2: the hold time is zero or at least three seconds.
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535 || (v > 0 && v < 3))
          fail('must be 0 or 3-65535 seconds (RFC 4271)');
      },
      coerce: (v: string) => (/^\d+$/.test(v.trim()) ? Number(v) : v),
    },
    'interface-name': {
      validate: (v: unknown) => {
        // Linux IFNAMSIZ is 16 including the NUL; '/', ':' and whitespace are not allowed in a name.
        if (typeof v !== 'string' || (v !== '' && (!/^[^\s/:]{1,15}$/.test(v) || v === '.' || v === '..')))
          fail('must be a network interface name (1-15 characters, no "/", ":" or spaces)');
      },
    },
    'dns-subdomain': {
      validate: (v: unknown) => {
        if (typeof v !== 'string' || v === '' || !isDnsSubdomain(v))
          fail('must be a lowercase DNS-1123 name (a-z, 0-9, "-" and ".")');
      },
    },
    'dns-subdomain-or-empty': {
      validate: (v: unknown) => {
        if (typeof v !== 'string' || (v !== '' && !isDnsSubdomain(v.toLowerCase())))
          fail('must be a DNS-1123 node name');
      },
    },
    'dns-label': {
      validate: (v: unknown) => {
        if (typeof v !== 'string' || v.length > 63 || !DNS_LABEL.test(v))
          fail('must be a DNS-1123 label (a-z, 0-9 and "-", at most 63 characters)');
      },
    },
    'uuid-or-empty': {
      validate: (v: unknown) => {
        if (typeof v !== 'string' || (v !== '' && !/^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/i.test(v)))
          fail('must be a project UUID');
      },
    },
    'token-or-empty': {
      validate: (v: unknown) => {
        if (typeof v !== 'string' || /\s/.test(v)) fail('must be a token without spaces or newlines');
      },
    },
    'http-url': {
      validate: (v: unknown) => {
        const url = urlOf(v);
        if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) fail('must be an http(s) URL');
      },
    },
    'health-check': {
      validate: (v: unknown) => {
        if (v === 'local' || v === 'off') return;
        const url = urlOf(v);
        const ok =
          url !== undefined &&
          !url.username &&
          !url.password &&
          (url.protocol === 'http:' ||
            url.protocol === 'https:' ||
            (url.protocol === 'tcp:' && url.hostname !== '' && url.port !== '' && url.pathname === ''));
        if (!ok) fail('must be "local", "off", an http(s):// URL or tcp://host:port');
      },
    },
    'api-server': {
      validate: (v: unknown) => {
        if (v === 'local' || v === 'kubeconfig') return;
        const url = urlOf(v);
        if (!url || url.protocol !== 'https:' || url.pathname !== '/' || url.search || url.username)
          fail('must be "local", "kubeconfig" or an https://host:port URL');
      },
    },
    'abs-path-or-empty': {
      validate: (v: unknown) => {
        if (typeof v !== 'string' || (v !== '' && !v.startsWith('/'))) fail('must be an absolute path');
      },
    },
    'listen-address': {
      validate: (v: unknown) => {
        if (typeof v !== 'string') fail('must be [host]:port or empty');
        if (v !== '' && !splitListenAddress(v))
          fail('must be [host]:port (e.g. ":2112"), or empty to turn the metrics server off');
      },
    },
    'bgp-peers': {
      validate: (v: unknown) => {
        if (!Array.isArray(v)) fail('must be a comma-separated list of address:as[:password[:multihop]]');
        v.forEach((entry, i) => parsePeer(String(entry), i));
      },
      coerce: (v: string) => (v.trim() === '' ? [] : v.split(',').map((s) => s.trim())),
    },
    text: {
      validate: (v: unknown) => {
        if (typeof v !== 'string' || /[\r\n]/.test(v)) fail('must be one line of text');
      },
    },
    'log-level': {
      validate: (v: unknown) => {
        if (typeof v !== 'string' || !LOG_LEVELS.includes(v)) fail(`must be one of ${LOG_LEVELS.join(', ')}`);
      },
      // kube-vip took logrus numbers (0 panic ... 6 trace); pino has no panic, so 0 and 1 are both fatal.
      coerce: (v: string) => (/^[0-6]$/.test(v.trim()) ? LOGRUS_LEVELS[Number(v)] : v.trim().toLowerCase()),
    },
    image: {
      validate: (v: unknown) => {
        if (typeof v !== 'string' || !/^[a-zA-Z0-9][a-zA-Z0-9._\-/:@]*$/.test(v))
          fail('must be an image reference');
      },
    },
  });
}

/**
 * '[v6]:port', 'host:port' or ':port' (host undefined: every address); undefined when it is none of them or
 * the port is out of range.
 */
export function splitListenAddress(v: string): { host: string | undefined; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([^:]*)):(\d+)$/.exec(v);
  if (!m) return undefined;
  const port = Number(m[3]);
  const host = m[1] ?? m[2] ?? '';
  if (port < 1 || port > 65535 || (m[1] !== undefined && isIP(host) !== 6)) return undefined;
  return { host: host === '' ? undefined : host, port };
}
