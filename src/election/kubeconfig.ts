// Where kvip's Kubernetes credentials come from: the pod's ServiceAccount (DaemonSet) or a kubeconfig file
// (static pod). Failures are KubeConfigErrors with one line saying which file or setting and why.
//
// Parsing uses client-node's config_types, imported by path: its index and its KubeConfig class load the whole
// generated API, about 75 MB of RSS, more than kvip may use in total while idle. What is written here (pick the
// current context, resolve relative paths, read the CA and client certificate, build TLS options and headers)
// mirrors KubeConfig.applyToHTTPSOptions, and a test compares the two on a table of kubeconfigs. Token files
// and exec plugins (exec-credential.ts) are handled as client-go does, not as client-node does: relative to
// the kubeconfig, trimmed, cached and refreshed, with a timeout and without secrets in error messages.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import type { RequestOptions } from 'node:https';
import { parse } from 'yaml';
import {
  newClusters,
  newContexts,
  newUsers,
  type Cluster,
  type User,
} from '@kubernetes/client-node/dist/config_types.js';
import {
  EXEC_API_VERSIONS,
  ExecCredentialProvider,
  type ExecClusterInfo,
  type ExecConfig,
} from './exec-credential.js';

export class KubeConfigError extends Error {
  override name = 'KubeConfigError';
}

export interface KubeConfigSource {
  inCluster: boolean;
  path: string;
  /** Where the ServiceAccount is mounted in a pod (a test points it elsewhere). */
  serviceAccountDir?: string;
}

/** How to reach one API server as one user. */
export interface KubeConnection {
  /** The API server's base URL, without a trailing slash. */
  readonly server: URL;
  /**
   * TLS options and headers for one request. Usually the same object every time; exec plugins and token
   * files are re-run or re-read when their credential expires. `signal` ends the wait for an exec plugin
   * (rejecting with its reason) and kills the plugin if no other request waits for it.
   */
  requestOptions(signal?: AbortSignal): Promise<RequestOptions>;
  /**
   * The API server answered 401: drop cached credentials so the next request fetches new ones (runs the exec
   * plugin, re-reads the token file). A no-op for static credentials.
   */
  invalidate(): void;
}

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** Token files may be rewritten (bound ServiceAccount tokens rotate): re-read at most this often, as client-go. */
const TOKEN_FILE_REREAD_MS = 60_000;

/** Credentials that change: added to each request's options, dropped on 401. */
interface Credentials {
  apply(opts: RequestOptions, signal?: AbortSignal): Promise<void> | void;
  invalidate(): void;
}

export function loadKubeConfig(
  source: KubeConfigSource,
  env: NodeJS.ProcessEnv = process.env,
): KubeConnection {
  if (source.inCluster) return inCluster(source.serviceAccountDir ?? SERVICE_ACCOUNT_DIR, env);
  const where = `--k8sConfigPath ${source.path}`;
  if (source.path === '')
    throw new KubeConfigError('--k8sConfigPath (k8s_config_file) is empty: name a kubeconfig file');
  let text: string;
  try {
    text = readFileSync(source.path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new KubeConfigError(`${where}: cannot read the kubeconfig (${code})`);
  }
  return parseKubeConfig(text, dirname(source.path), where);
}

/** A kubeconfig's text -> a connection; relative file names are resolved against `baseDir`. */
export function parseKubeConfig(text: string, baseDir = '.', where = 'kubeconfig'): KubeConnection {
  let context: ReturnType<typeof currentContext>;
  try {
    context = currentContext(text);
  } catch (err) {
    throw new KubeConfigError(`${where}: not a valid kubeconfig (${(err as Error).message.split('\n')[0]})`);
  }
  return connect(context.cluster, context.user, baseDir, where, context.tokenFile);
}

/** kubeconfig text -> the cluster and user of its current context (or its only context). */
export function currentContext(text: string): { cluster: Cluster; user: User; tokenFile?: string } {
  const doc = (parse(text) ?? {}) as Record<string, unknown>;
  const clusters = newClusters(doc.clusters);
  // token-file is taken out before client-node sees it: it would read the file at once, relative to the working
  // directory, untrimmed. connect() reads it instead.
  const tokenFiles = new Map<string, string>();
  const users = newUsers(
    Array.isArray(doc.users)
      ? doc.users.map((e: { name?: unknown; user?: Record<string, unknown> }) => {
          const file = e?.user?.['token-file'];
          if (typeof file !== 'string' || file === '') return e;
          tokenFiles.set(String(e.name), file);
          return { ...e, user: { ...e.user, 'token-file': undefined } };
        })
      : doc.users,
  );
  const contexts = newContexts(doc.contexts);
  const name = doc['current-context'];
  const context =
    typeof name === 'string' && name !== ''
      ? contexts.find((c) => c.name === name)
      : contexts.length === 1
        ? contexts[0]
        : undefined;
  if (!context)
    throw new Error(name ? `current-context "${String(name)}" is not defined` : 'no current-context');
  const cluster = clusters.find((c) => c.name === context.cluster);
  if (!cluster)
    throw new Error(`context "${context.name}" names cluster "${context.cluster}", which is not defined`);
  // A context without a user is anonymous, as in client-go; one naming a user that is not there is a mistake.
  if (!context.user) return { cluster, user: { name: '' } as User };
  const user = users.find((u) => u.name === context.user);
  if (!user) throw new Error(`context "${context.name}" names user "${context.user}", which is not defined`);
  return { cluster, user, tokenFile: tokenFiles.get(user.name) };
}

function inCluster(dir: string, env: NodeJS.ProcessEnv): KubeConnection {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port)
    throw new KubeConfigError(
      '--inCluster (vip_incluster): KUBERNETES_SERVICE_HOST/PORT are not set; this is not a pod (use --k8sConfigPath)',
    );
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const cluster: Cluster = { name: 'inCluster', server, caFile: join(dir, 'ca.crt'), skipTLSVerify: false };
  const user = { name: 'inClusterUser' } as User;
  return connect(cluster, user, dir, '--inCluster (vip_incluster)', join(dir, 'token'));
}

function connect(
  cluster: Cluster,
  user: User,
  baseDir: string,
  where: string,
  tokenFile?: string,
): KubeConnection {
  let server: URL;
  try {
    server = new URL(cluster.server);
  } catch {
    throw new KubeConfigError(
      `${where}: cluster "${cluster.name}" has server "${cluster.server}", not a URL`,
    );
  }
  if (server.protocol !== 'https:' && server.protocol !== 'http:')
    throw new KubeConfigError(
      `${where}: cluster "${cluster.name}" server must be https:// (got ${server.protocol})`,
    );
  // client-node's rule: plain HTTP only where TLS verification is explicitly off.
  if (server.protocol === 'http:' && !cluster.skipTLSVerify)
    throw new KubeConfigError(
      `${where}: cluster "${cluster.name}" uses http:// without insecure-skip-tls-verify: true`,
    );
  if (cluster.proxyUrl)
    throw new KubeConfigError(
      `${where}: cluster "${cluster.name}" sets proxy-url, which kvip does not support`,
    );

  const read = (field: string, file: string | undefined | null, data: string | undefined | null) => {
    if (data) return Buffer.from(data, 'base64');
    return file ? readConfigFile(where, field, inDir(baseDir, file)) : undefined;
  };
  const base: RequestOptions = { headers: {} };
  if (cluster.skipTLSVerify) base.rejectUnauthorized = false;
  if (cluster.tlsServerName) base.servername = cluster.tlsServerName;
  const ca = read('certificate-authority', cluster.caFile, cluster.caData);
  const cert = read('client-certificate', user.certFile, user.certData);
  const key = read('client-key', user.keyFile, user.keyData);
  if (ca) base.ca = ca;
  if (cert) base.cert = cert;
  if (key) base.key = key;
  const headers = base.headers as Record<string, string>;
  if (user.impersonateUser) headers['Impersonate-User'] = user.impersonateUser;
  if (user.username) base.auth = `${user.username}:${user.password ?? ''}`;
  if (user.token) headers.Authorization = `Bearer ${user.token}`;

  const info: ExecClusterInfo = { server: cluster.server };
  if (ca) info['certificate-authority-data'] = ca.toString('base64');
  if (cluster.skipTLSVerify) info['insecure-skip-tls-verify'] = true;
  if (cluster.tlsServerName) info['tls-server-name'] = cluster.tlsServerName;
  const auth = credentials(user, user.token ? undefined : tokenFile, baseDir, where, info);
  if (!auth) return { server, requestOptions: () => Promise.resolve(base), invalidate() {} };
  return {
    server,
    async requestOptions(signal) {
      const opts: RequestOptions = { ...base, headers: { ...headers } };
      await auth.apply(opts, signal);
      return opts;
    },
    invalidate: () => auth.invalidate(),
  };
}

function credentials(
  user: User,
  tokenFile: string | undefined,
  baseDir: string,
  where: string,
  cluster: ExecClusterInfo,
): Credentials | undefined {
  if (user.exec) {
    const provider = new ExecCredentialProvider(execConfig(user, where), {
      baseDir,
      cluster: user.exec.provideClusterInfo === true ? cluster : undefined,
    });
    return {
      async apply(opts, signal) {
        const c = await provider.get(signal);
        if (c.token) (opts.headers as Record<string, string>).Authorization = `Bearer ${c.token}`;
        if (c.cert) [opts.cert, opts.key] = [c.cert, c.key];
      },
      invalidate: () => provider.invalidate(),
    };
  }
  const provider = (user.authProvider as { name?: string } | undefined)?.name;
  if (provider)
    throw new KubeConfigError(
      `${where}: user "${user.name}" uses auth-provider "${provider}", which kvip does not support (use a token, a client certificate or exec)`,
    );
  return tokenFile === undefined ? undefined : tokenFileCredentials(inDir(baseDir, tokenFile), where);
}

function execConfig(user: User, where: string): ExecConfig {
  const bad = (what: string) => new KubeConfigError(`${where}: user "${user.name}" exec ${what}`);
  const { command, apiVersion, args = [], env = [] } = user.exec as Record<string, unknown>;
  if (typeof command !== 'string' || command === '') throw bad('has no command');
  if (typeof apiVersion !== 'string' || !EXEC_API_VERSIONS.includes(apiVersion))
    throw bad(`apiVersion must be ${EXEC_API_VERSIONS.join(' or ')}`);
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string'))
    throw bad('args must be a list of strings');
  const pair = (v: { name?: unknown; value?: unknown } | null) =>
    typeof v?.name === 'string' && typeof v.value === 'string';
  if (!Array.isArray(env) || !env.every(pair)) throw bad('env must be a list of name/value strings');
  return { command, apiVersion, args, env };
}

/** A bearer token from a file: read now (a failure names the file), then again as TOKEN_FILE_REREAD_MS says. */
function tokenFileCredentials(path: string, where: string): Credentials {
  const read = () => readFileSync(path, 'utf8').trim();
  let token = readConfigFile(where, 'token-file', path).toString('utf8').trim();
  if (token === '') throw new KubeConfigError(`${where}: token-file ${path}: empty`);
  let readAt = Date.now();
  return {
    apply(opts) {
      if (Date.now() - readAt >= TOKEN_FILE_REREAD_MS) {
        try {
          const fresh = read();
          if (fresh !== '') [token, readAt] = [fresh, Date.now()];
        } catch {
          // Keep the old token, as client-go does; the next request tries again.
        }
      }
      (opts.headers as Record<string, string>).Authorization = `Bearer ${token}`;
    },
    invalidate() {
      readAt = -Infinity;
    },
  };
}

/** A file named in the kubeconfig, relative to its directory. */
function inDir(baseDir: string, file: string): string {
  return isAbsolute(file) ? file : join(baseDir, file);
}

/** Reads a file the kubeconfig names; failing, one line naming the setting, the file and the errno. */
function readConfigFile(where: string, field: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new KubeConfigError(
      `${where}: ${field} ${path}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`,
    );
  }
}
