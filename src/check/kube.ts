// `kvip check --leaderElection`: the kubeconfig loads, the API server `kvip start` would talk to answers, the
// credentials may do what kvip does with its Lease (SelfSubjectAccessReviews: ./access.ts), and this node's
// API server passes the health check; and the Lease is read, to tell who leads. Reads and reviews only: no
// Lease is created, taken or changed.
import type { Config } from '../config/index.js';
import { leaseEndpoint, type Endpoint } from '../election/endpoint.js';
import { KubeHttp } from '../election/kube-http.js';
import { KubeLeaseStore } from '../election/kube-store.js';
import { loadKubeConfig, type KubeConnection } from '../election/kubeconfig.js';
import { healthProbeFor, type HealthProbe } from '../health/index.js';
import { leaseStatus, type LeaseStatus } from '../status/status.js';
import { VERSION } from '../version.js';
import {
  CredentialsRefusedError,
  describeNeeds,
  requiredAccess,
  reviewAccess,
  type AccessNeed,
} from './access.js';
import { notChecked, type CheckRow } from './row.js';

const message = (err: unknown): string => {
  const e = err as NodeJS.ErrnoException;
  const text = e instanceof Error ? e.message : String(err);
  return e.code && !text.includes(e.code) ? `${e.code}: ${text}` : text;
};

/** An AbortSignal that aborts after ms with a reason that names the option setting it. */
function deadline(ms: number, option: string): { signal: AbortSignal; done: () => void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`no answer within ${ms} ms (${option})`)), ms);
  return { signal: controller.signal, done: () => clearTimeout(timer) };
}

/** Runs fn under a deadline; an abort is reported by its reason, not as "This operation was aborted". */
async function bounded<T>(ms: number, option: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const d = deadline(ms, option);
  try {
    return await fn(d.signal);
  } catch (err) {
    if (d.signal.aborted) throw d.signal.reason;
    throw err;
  } finally {
    d.done();
  }
}

function kubeconfigRow(config: Config, env: NodeJS.ProcessEnv): { row: CheckRow; conn?: KubeConnection } {
  const check = 'kubeconfig';
  try {
    const conn = loadKubeConfig({ inCluster: config.inCluster, path: config.k8sConfigPath }, env);
    const what = config.inCluster ? "the pod's ServiceAccount" : config.k8sConfigPath;
    return { row: { check, ok: true, detail: `${what} (names ${conn.server.origin})` }, conn };
  } catch (err) {
    return { row: { check, ok: false, detail: message(err) } };
  }
}

async function apiServerRow(config: Config, http: KubeHttp, endpoint: Endpoint): Promise<CheckRow> {
  const check = 'API server';
  const where = endpoint.description;
  try {
    const res = await bounded(config.renewDeadline * 1000, '--renewDeadline', (signal) =>
      http.request('GET', '/version', undefined, signal),
    );
    if (res.status === 401)
      return {
        check,
        ok: false,
        detail: `${where} refused the credentials (401): renew the kubeconfig's token or client certificate`,
      };
    if (res.status >= 500) return { check, ok: false, detail: `${where} answers HTTP ${res.status}` };
    let version = '';
    try {
      version = (JSON.parse(res.text) as { gitVersion?: string }).gitVersion ?? '';
    } catch {
      // an answer all the same
    }
    return { check, ok: true, detail: `${where} answers${version ? `: Kubernetes ${version}` : ''}` };
  } catch (err) {
    const local = config.apiServer === 'local' && !config.inCluster;
    const hint = local
      ? `: is this node's API server running on port ${config.port}? (--apiServer kubeconfig talks to the server the kubeconfig names)`
      : '';
    return { check, ok: false, detail: `${where}: ${message(err)}${hint}` };
  }
}

async function accessRow(config: Config, http: KubeHttp): Promise<CheckRow> {
  const check = 'Lease access';
  const needs = requiredAccess(config);
  const missing: { need: AccessNeed; reason: string }[] = [];
  try {
    await bounded(config.renewDeadline * 1000, '--renewDeadline', async (signal) => {
      for (const need of needs) {
        const answer = await reviewAccess(http, need, signal);
        if (!answer.allowed) missing.push({ need, reason: answer.reason });
      }
    });
  } catch (err) {
    const detail =
      err instanceof CredentialsRefusedError
        ? `${err.message}: renew the kubeconfig's token or client certificate`
        : `cannot ask the API server: ${message(err)}`;
    return { check, ok: false, detail };
  }
  const where = `in namespace ${config.namespace}`;
  if (missing.length === 0) return { check, ok: true, detail: `${describeNeeds(needs)} ${where}: allowed` };
  const reasons = [...new Set(missing.map((m) => m.reason).filter(Boolean))];
  return {
    check,
    ok: false,
    detail:
      `not allowed: ${describeNeeds(missing.map((m) => m.need))} ${where}${reasons.length ? ` (${reasons.join('; ')})` : ''}: ` +
      `kvip manifest rbac --namespace ${config.namespace} --leaseName ${config.leaseName} | kubectl apply -f - ` +
      "grants them to kvip's ServiceAccount; bind that Role to this kubeconfig's user otherwise",
  };
}

async function healthRow(config: Config, conn: KubeConnection | undefined): Promise<CheckRow> {
  const check = 'health check';
  let probe: HealthProbe | undefined;
  try {
    probe = healthProbeFor(config.healthCheck, conn, config.port);
  } catch (err) {
    return notChecked(check, conn ? message(err) : 'the kubeconfig did not load');
  }
  if (!probe) return { check, ok: true, detail: 'off' };
  const ms = config.healthCheckTimeout * 1000;
  try {
    await bounded(ms, '--healthCheckTimeout', (signal) => probe.check(signal));
    return { check, ok: true, detail: `${probe.description}: healthy` };
  } catch (err) {
    return {
      check,
      ok: false,
      detail:
        `${probe.description}: ${message(err)}: while this fails kvip does not lead on this node; check that ` +
        "this node's API server runs and is ready, or raise --healthCheckTimeout",
    };
  } finally {
    probe.close();
  }
}

/** The kube rows, and the Lease as read (null: there is none; undefined: it could not be read). */
export interface KubeFindings {
  rows: CheckRow[];
  lease?: LeaseStatus | null;
}

/** One GET of the Lease, which Lease access allows: who leads, for the rows that depend on it. */
async function readLease(
  config: Config,
  http: KubeHttp,
  where: string,
): Promise<LeaseStatus | null | undefined> {
  const store = new KubeLeaseStore(http, config.namespace, config.leaseName);
  try {
    const lease = await bounded(config.renewDeadline * 1000, '--renewDeadline', (signal) =>
      store.get(signal),
    );
    if (!lease) return null;
    const at = { namespace: config.namespace, name: config.leaseName, apiServer: where };
    return leaseStatus(at, lease.record, new Date());
  } catch {
    return undefined; // Lease access has said what is wrong with the credentials or the server
  }
}

export async function kubeRows(config: Config, env: NodeJS.ProcessEnv): Promise<KubeFindings> {
  const { row, conn } = kubeconfigRow(config, env);
  const rows = [row];
  const healthOn = config.healthCheck !== 'off';
  if (!conn) {
    const why = 'the kubeconfig did not load';
    rows.push(notChecked('API server', why), notChecked('Lease access', why));
    if (healthOn) rows.push(await healthRow(config, undefined));
    return { rows };
  }
  const endpoint = leaseEndpoint(conn, config);
  // Bounded as kvip start bounds its connections (a dead API server fails at the connect timeout).
  const http = new KubeHttp(endpoint.connection, `kvip/${VERSION} (check)`, {
    connectTimeoutMs: Math.max(100, (config.retryPeriod * 1000) / 2),
  });
  let lease: LeaseStatus | null | undefined;
  try {
    const api = await apiServerRow(config, http, endpoint);
    const access = api.ok ? await accessRow(config, http) : notChecked('Lease access', 'see API server');
    rows.push(api, access);
    if (access.ok) lease = await readLease(config, http, endpoint.description);
  } finally {
    http.close();
  }
  if (healthOn) rows.push(await healthRow(config, conn));
  return { rows, lease };
}
