// `kvip check --leaderElection`: the kubeconfig loads, the API server `kvip start` would talk to answers, the
// credentials may do what kvip does with its Lease (SelfSubjectAccessReviews: ./access.ts), and this node's
// API server passes the health check; and, when the segment row needs it, who leads (./lease.ts). Reads and
// reviews only: no Lease is created, taken or changed.
import type { Config } from '../config/index.js';
import { leaseEndpoint, type Endpoint } from '../election/endpoint.js';
import { KubeHttp } from '../election/kube-http.js';
import { loadKubeConfig, type KubeConnection } from '../election/kubeconfig.js';
import { healthProbeFor, type HealthProbe } from '../health/index.js';
import { VERSION } from '../version.js';
import {
  CredentialsRefusedError,
  describeNeeds,
  requiredAccess,
  reviewAccess,
  type AccessNeed,
} from './access.js';
import { bounded } from './bounded.js';
import { readLease, type LeaseReading } from './lease.js';
import { errorText, notChecked, type CheckRow } from './row.js';

function kubeconfigRow(config: Config, env: NodeJS.ProcessEnv): { row: CheckRow; conn?: KubeConnection } {
  const check = 'kubeconfig';
  try {
    const conn = loadKubeConfig({ inCluster: config.inCluster, path: config.k8sConfigPath }, env);
    const what = config.inCluster ? "the pod's ServiceAccount" : config.k8sConfigPath;
    return { row: { check, ok: true, detail: `${what} (names ${conn.server.origin})` }, conn };
  } catch (err) {
    return { row: { check, ok: false, detail: errorText(err) } };
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
    return { check, ok: false, detail: `${where}: ${errorText(err)}${hint}` };
  }
}

async function accessRow(config: Config, http: KubeHttp): Promise<{ row: CheckRow; mayGet: boolean }> {
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
        : `cannot ask the API server: ${errorText(err)}`;
    return { row: { check, ok: false, detail }, mayGet: false };
  }
  const where = `in namespace ${config.namespace}`;
  const mayGet = !missing.some((m) => m.need.verb === 'get' && m.need.resource === 'leases');
  if (missing.length === 0)
    return { row: { check, ok: true, detail: `${describeNeeds(needs)} ${where}: allowed` }, mayGet };
  const reasons = [...new Set(missing.map((m) => m.reason).filter(Boolean))];
  const row = {
    check,
    ok: false,
    detail:
      `not allowed: ${describeNeeds(missing.map((m) => m.need))} ${where}${reasons.length ? ` (${reasons.join('; ')})` : ''}: ` +
      `kvip manifest rbac --namespace ${config.namespace} --leaseName ${config.leaseName} | kubectl apply -f - ` +
      "grants them to kvip's ServiceAccount; bind that Role to this kubeconfig's user otherwise",
  };
  return { row, mayGet };
}

async function healthRow(config: Config, conn: KubeConnection | undefined): Promise<CheckRow> {
  const check = 'health check';
  let probe: HealthProbe | undefined;
  try {
    probe = healthProbeFor(config.healthCheck, conn, config.port);
  } catch (err) {
    return notChecked(check, conn ? errorText(err) : 'the kubeconfig did not load');
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
        `${probe.description}: ${errorText(err)}: while this fails kvip does not lead on this node; check that ` +
        "this node's API server runs and is ready, or raise --healthCheckTimeout",
    };
  } finally {
    probe.close();
  }
}

export interface KubeFindings {
  rows: CheckRow[];
  /** Only when asked for, and the Lease could be asked for (the API server answers, get is allowed). */
  lease?: LeaseReading;
}

/**
 * The kube rows, and with `wantLease` who leads (./lease.ts): the caller needs it when one other host answers
 * for the VIP, which may be this cluster's leader.
 */
export async function kubeRows(
  config: Config,
  env: NodeJS.ProcessEnv,
  wantLease = false,
): Promise<KubeFindings> {
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
  let lease: LeaseReading | undefined;
  try {
    const api = await apiServerRow(config, http, endpoint);
    if (!api.ok) {
      rows.push(api, notChecked('Lease access', 'see API server'));
    } else {
      const access = await accessRow(config, http);
      rows.push(api, access.row);
      if (wantLease && access.mayGet) lease = await readLease(config, http);
    }
  } finally {
    http.close();
  }
  if (healthOn) rows.push(await healthRow(config, conn));
  return lease ? { rows, lease } : { rows };
}
