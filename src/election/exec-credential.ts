// Exec credential plugins (users[].user.exec), as client-go runs them. Hand-written instead of client-node's
// ExecAuth, which re-runs the plugin on every request when the credential has no expirationTimestamp, refreshes
// only exactly at expiry, has no timeout (a hung plugin hangs the request past its deadline), puts the plugin's
// stderr and part of its stdout (which may hold a token) into error messages, sets no KUBERNETES_EXEC_INFO and
// runs a relative command from the working directory instead of the kubeconfig's.
import { spawn } from 'node:child_process';
import { isAbsolute, resolve as resolvePath, sep } from 'node:path';

export const EXEC_API_VERSIONS = ['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1'];

/** users[].user.exec of a kubeconfig, already checked. */
export interface ExecConfig {
  apiVersion: string;
  command: string;
  args: string[];
  env: { name: string; value: string }[];
}

/** spec.cluster of KUBERNETES_EXEC_INFO, for plugins that set provideClusterInfo. */
export interface ExecClusterInfo {
  server: string;
  'certificate-authority-data'?: string;
  'insecure-skip-tls-verify'?: boolean;
  'tls-server-name'?: string;
}

/** What a plugin gave: a bearer token, a client certificate and key (PEM), or both; when it expires. */
export interface ExecCredential {
  token?: string;
  cert?: string;
  key?: string;
  /** expirationTimestamp in ms; without it the credential is kept until invalidated. */
  expiresAt?: number;
}

export interface ExecOptions {
  /** The kubeconfig's directory: a relative command with a path separator is resolved against it. */
  baseDir: string;
  cluster?: ExecClusterInfo;
  /** The plugin is killed after this long (default 10 s). */
  timeoutMs?: number;
}

export class ExecPluginError extends Error {
  override name = 'ExecPluginError';
}

/** Refresh this long before expiry, as client-go does, so a request never goes out with an expiring token. */
const EXPIRY_MARGIN_MS = 30_000;
const MAX_OUTPUT_BYTES = 1 << 20;

interface Run {
  result: Promise<ExecCredential>;
  waiters: number;
  kill(why: string): void;
}

export class ExecCredentialProvider {
  private cached?: { credential: ExecCredential; until: number };
  private running?: Run;

  constructor(
    private readonly exec: ExecConfig,
    private readonly opts: ExecOptions,
  ) {}

  /** The cached credential, or one from a plugin run shared by every concurrent caller. */
  get(signal?: AbortSignal): Promise<ExecCredential> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.cached && Date.now() < this.cached.until) return Promise.resolve(this.cached.credential);
    const run = (this.running ??= this.start());
    run.waiters++;
    return new Promise((resolve, reject) => {
      let left = false;
      const leave = () => {
        if (left) return false;
        left = true;
        signal?.removeEventListener('abort', onAbort);
        run.waiters--;
        return true;
      };
      // The caller gives up at once; the plugin is killed only when no one else still waits for it.
      const onAbort = () => {
        if (!leave()) return;
        reject(signal?.reason);
        if (run.waiters > 0) return;
        if (this.running === run) this.running = undefined;
        run.kill('killed: the request was aborted');
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      run.result.then(
        (c) => leave() && resolve(c),
        (e) => leave() && reject(e),
      );
    });
  }

  /** The API server rejected the credential: the next request runs the plugin again. */
  invalidate(): void {
    this.cached = undefined;
  }

  private start(): Run {
    const run = runPlugin(this.exec, this.opts);
    const done = () => {
      if (this.running === run) this.running = undefined;
    };
    run.result.then((credential) => {
      done();
      const until = credential.expiresAt === undefined ? Infinity : credential.expiresAt - EXPIRY_MARGIN_MS;
      // Already inside the margin: good for the request that asked, not worth keeping.
      if (until > Date.now()) this.cached = { credential, until };
    }, done);
    return run;
  }
}

function runPlugin(exec: ExecConfig, { baseDir, cluster, timeoutMs = 10_000 }: ExecOptions): Run {
  const fail = (what: string) => new ExecPluginError(`exec plugin "${exec.command}" ${what}`);
  const command =
    exec.command.includes(sep) && !isAbsolute(exec.command)
      ? resolvePath(baseDir, exec.command)
      : exec.command;
  const info = {
    apiVersion: exec.apiVersion,
    kind: 'ExecCredential',
    spec: cluster ? { interactive: false, cluster } : { interactive: false },
  };
  const env: NodeJS.ProcessEnv = { ...process.env, KUBERNETES_EXEC_INFO: JSON.stringify(info) };
  for (const { name, value } of exec.env) env[name] = value;

  let kill!: (why: string) => void;
  const result = new Promise<ExecCredential>((resolve, reject) => {
    // Its own process group, so a kill also reaches whatever a wrapper script started. stderr is dropped: it
    // may hold secrets, and raw plugin output does not belong in kvip's logs.
    const child = spawn(command, exec.args, { env, stdio: ['ignore', 'pipe', 'ignore'], detached: true });
    let settled = false;
    const finish = (err: Error | undefined, out = '') => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) return reject(err);
      try {
        resolve(parseCredential(out, fail));
      } catch (e) {
        reject(e as Error);
      }
    };
    kill = (why) => {
      if (settled) return;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
      child.stdout.destroy();
      finish(fail(why));
    };
    const timer = setTimeout(() => kill(`killed after ${timeoutMs / 1000} s`), timeoutMs);
    const chunks: Buffer[] = [];
    let size = 0;
    child.stdout.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_OUTPUT_BYTES) kill(`killed: output larger than ${MAX_OUTPUT_BYTES} bytes`);
      else chunks.push(c);
    });
    child.on('error', (err: NodeJS.ErrnoException) => finish(fail(`cannot be run (${err.code ?? 'error'})`)));
    child.on('close', (code, signal) => {
      if (code === 0) finish(undefined, Buffer.concat(chunks).toString('utf8'));
      else finish(fail(code === null ? `killed by ${signal}` : `failed: exit code ${code}`));
    });
  });
  return { result, waiters: 0, kill };
}

/** stdout -> credential. Errors say what is wrong, never what was there: it may be a token. */
function parseCredential(out: string, fail: (what: string) => Error): ExecCredential {
  const invalid = (why: string) => fail(`output is not a valid ExecCredential (${why})`);
  let doc: unknown;
  try {
    doc = JSON.parse(out);
  } catch {
    throw invalid('not JSON');
  }
  const { apiVersion, status } = (doc ?? {}) as { apiVersion?: unknown; status?: unknown };
  if (typeof apiVersion !== 'string' || !EXEC_API_VERSIONS.includes(apiVersion))
    throw invalid(`apiVersion is not ${EXEC_API_VERSIONS.join(' or ')}`);
  if (typeof status !== 'object' || status === null) throw invalid('no status');
  const s = status as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const credential: ExecCredential = {};
  if (s.expirationTimestamp !== undefined && s.expirationTimestamp !== null) {
    const at = typeof s.expirationTimestamp === 'string' ? Date.parse(s.expirationTimestamp) : NaN;
    if (Number.isNaN(at)) throw invalid('expirationTimestamp is not a time');
    credential.expiresAt = at;
  }
  const token = text(s.token);
  const cert = text(s.clientCertificateData);
  const key = text(s.clientKeyData);
  if (token) credential.token = token;
  if (cert && key) {
    credential.cert = cert;
    credential.key = key;
  }
  if (!credential.token && !credential.cert) throw fail('gave no token or client certificate and key');
  return credential;
}
