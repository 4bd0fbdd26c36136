// Metrics and health for `kvip start`: the metrics, the health state and the HTTP server that shows both,
// made in one call so that run.ts only opens, feeds and closes them.
import { isIP } from 'node:net';
import { labelOf, type Config } from '../config/index.js';
import { splitListenAddress } from '../config/formats.js';
import { Health, type GateView } from './health.js';
import { KvipMetrics } from './metrics.js';
import { StatusServer } from './server.js';

export { Health, type GateView, type Verdict } from './health.js';
export { KvipMetrics, renewBuckets, type MetricsOptions, type MetalResponse } from './metrics.js';
export { StatusServer, formatAddress, type ListenAddress, type StatusSources } from './server.js';

export interface Status {
  metrics: KvipMetrics;
  health: Health;
  /** Absent when --prometheusHTTPServer is ''. */
  server: StatusServer | undefined;
  /** The health gate, when there is one: readiness and kvip_health_check_up read it from then on. */
  watchGate(gate: GateView): void;
  /** Stops the server (bounded); safe to call more than once. */
  close(): Promise<void>;
}

/**
 * Metrics and health for `config`, and the server on --prometheusHTTPServer listening already. Rejects with
 * a ConfigError (exit 2) when it cannot listen there: call it before anything on the host is changed.
 */
export async function openStatus(config: Config): Promise<Status> {
  const metrics = new KvipMetrics({
    family: isIP(config.vip) === 6 ? 'ipv6' : 'ipv4',
    renewDeadlineS: config.renewDeadline,
    leaderElection: config.leaderElection,
    mode: config.mode,
    processMetrics: true,
  });
  const health = new Health();
  const where = config.prometheusServer === '' ? undefined : splitListenAddress(config.prometheusServer);
  const server =
    where &&
    (await StatusServer.open(where, labelOf('prometheusServer', config.sources), {
      scrape: () => metrics.scrape(),
      live: () => health.live(),
      ready: () => health.ready(),
    }));
  let closing: Promise<void> | undefined;
  return {
    metrics,
    health,
    server,
    watchGate: (gate) => {
      health.readGate(gate);
      metrics.readGate(gate);
    },
    close: () => (closing ??= server?.close() ?? Promise.resolve()),
  };
}
