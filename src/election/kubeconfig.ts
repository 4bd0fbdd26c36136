// Where kvip's Kubernetes credentials come from: the pod's ServiceAccount (DaemonSet) or a kubeconfig file
// (static pod). Failures are KubeConfigErrors with one line saying which file or setting and why.
//
// Parsing and authentication use client-node's own pieces (config_types, ExecAuth, FileAuth), imported by
// path: its index and its KubeConfig class load the whole generated API, about 75 MB of RSS, more than kvip
// may use in total while idle. What is written here (pick the current context, resolve relative paths, read
// the CA and client certificate, build TLS options and headers) mirrors KubeConfig.applyToHTTPSOptions, and a
// test compares the two on a table of kubeconfigs.
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
import { ExecAuth } from '@kubernetes/client-node/dist/exec_auth.js';
import { FileAuth } from '@kubernetes/client-node/dist/file_auth.js';

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
   * TLS options and headers for one request. Usually the same object every time; exec plugins and the
   * ServiceAccount token file are re-run or re-read when their credential expires.
   */
  requestOptions(): Promise<RequestOptions>;
}

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

interface Authenticator {
  applyAuthentication(user: User, opts: RequestOptions): Promise<void>;
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
  let cluster: Cluster;
  let user: User;
  try {
    ({ cluster, user } = currentContext(text));
  } catch (err) {
    throw new KubeConfigError(`${where}: not a valid kubeconfig (${(err as Error).message.split('\n')[0]})`);
  }
  return connect(cluster, user, baseDir, where);
}

/** kubeconfig text -> the cluster and user of its current context (or its only context). */
export function currentContext(text: string): { cluster: Cluster; user: User } {
  const doc = (parse(text) ?? {}) as Record<string, unknown>;
  const clusters = newClusters(doc.clusters);
  const users = newUsers(doc.users);
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
  // A context without a user is anonymous, as in client-go.
  const user = users.find((u) => u.name === context.user) ?? ({ name: '' } as User);
  return { cluster, user };
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
  // Bound ServiceAccount tokens rotate: FileAuth re-reads the file every minute, as client-go does.
  const user = {
    name: 'inClusterUser',
    authProvider: { name: 'tokenFile', config: { tokenFile: join(dir, 'token') } },
  };
  return connect(cluster, user as User, dir, '--inCluster (vip_incluster)');
}

function connect(cluster: Cluster, user: User, baseDir: string, where: string): KubeConnection {
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
    if (!file) return undefined;
    const path = isAbsolute(file) ? file : join(baseDir, file);
    try {
      return readFileSync(path);
    } catch (err) {
      throw new KubeConfigError(
        `${where}: ${field} ${path}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`,
      );
    }
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

  const auth = authenticator(user, where);
  if (!auth) return { server, requestOptions: () => Promise.resolve(base) };
  return {
    server,
    async requestOptions() {
      const opts: RequestOptions = { ...base, headers: { ...headers } };
      await auth.applyAuthentication(user, opts);
      return opts;
    },
  };
}

function authenticator(user: User, where: string): Authenticator | undefined {
  const exec = new ExecAuth();
  if (exec.isAuthProvider(user)) return exec;
  const file = new FileAuth();
  if (file.isAuthProvider(user)) return file;
  const provider = (user.authProvider as { name?: string } | undefined)?.name;
  if (provider)
    throw new KubeConfigError(
      `${where}: user "${user.name}" uses auth-provider "${provider}", which kvip does not support (use a token, a client certificate or exec)`,
    );
  return undefined;
}
