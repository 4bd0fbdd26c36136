// kvip's metrics as a scraper sees them: names, types, labels and values after the service's events, read
// over the real /metrics endpoint.
import { register as globalRegistry } from 'prom-client';
import {
  Health,
  KvipMetrics,
  StatusServer,
  renewBuckets,
  type MetricsOptions,
} from '../../src/metrics/index.js';
import type { ServiceObserver } from '../../src/service/observer.js';
import { VERSION } from '../../src/version.js';
import { httpGet, parseExposition, sampleValue, type Exposition } from '../helpers/prom.js';

const servers: StatusServer[] = [];
/** The metrics as the service calls them: through the ServiceObserver interface, with every argument. */
const observer = (m: KvipMetrics): ServiceObserver => m;
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** Metrics on a fake monotonic clock, served on 127.0.0.1 at an ephemeral port. */
async function serve(over: Partial<MetricsOptions> = {}) {
  const clock = { ms: 10_000 };
  const metrics = new KvipMetrics({
    family: 'ipv4',
    renewDeadlineS: 3,
    leaderElection: true,
    mode: 'arp',
    now: () => clock.ms,
    ...over,
  });
  const health = new Health();
  const server = await StatusServer.open({ host: '127.0.0.1', port: 0 }, '--prometheusHTTPServer', {
    scrape: () => metrics.scrape(),
    live: () => health.live(),
    ready: () => health.ready(),
  });
  servers.push(server);
  const scrape = async (): Promise<Exposition> => {
    const r = await httpGet(server.port, '/metrics');
    expect(r.status).toBe(200);
    expect(r.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    return parseExposition(r.body);
  };
  return { metrics, clock, scrape };
}

describe('kvip metrics over /metrics', () => {
  it('names every metric with its type before anything happened, at its starting value', async () => {
    const { scrape } = await serve();
    const e = await scrape();
    expect(Object.fromEntries([...e.types].filter(([n]) => n.startsWith('kvip_')))).toEqual({
      kvip_build_info: 'gauge',
      kvip_leader: 'gauge',
      kvip_leader_transitions_total: 'counter',
      kvip_vip_held: 'gauge',
      kvip_gratuitous_announcements_total: 'counter',
      kvip_last_failover_seconds: 'gauge',
      kvip_lease_renew_duration_seconds: 'histogram',
      kvip_metal_api_requests_total: 'counter',
      kvip_provider_failures_total: 'counter',
      kvip_health_check_up: 'gauge',
      kvip_health_check_failures_total: 'counter',
      kvip_bgp_session_up: 'gauge',
      kvip_bgp_session_state: 'gauge',
    });
    expect(sampleValue(e, 'kvip_build_info', { version: VERSION, mode: 'arp' })).toBe(1);
    expect(sampleValue(e, 'kvip_leader')).toBe(0);
    expect(sampleValue(e, 'kvip_vip_held')).toBe(0);
    expect(sampleValue(e, 'kvip_last_failover_seconds')).toBe(0);
    expect(sampleValue(e, 'kvip_health_check_up')).toBe(1);
    expect(sampleValue(e, 'kvip_health_check_failures_total')).toBe(0);
    // Only the VIP's family, at 0 until a frame goes out.
    expect(e.samples.filter((s) => s.name === 'kvip_gratuitous_announcements_total')).toEqual([
      { name: 'kvip_gratuitous_announcements_total', labels: { family: 'ipv4' }, value: 0 },
    ]);
    expect(sampleValue(e, 'kvip_lease_renew_duration_seconds_count')).toBe(0);
    expect(e.samples.some((s) => s.name.startsWith('kvip_bgp_'))).toBe(false);
  });

  it('a takeover: leader, transitions, the VIP held, the failover time and the renewals', async () => {
    const { metrics, clock, scrape } = await serve();
    metrics.startedLeading();
    metrics.leaseTakenOver(1500); // n1's record last changed 1.5 s ago, as this node saw it
    clock.ms += 250;
    metrics.vipHeld(true);
    metrics.announced('ipv4');
    metrics.announced('ipv4');
    metrics.leaseRenewed(12);
    metrics.leaseRenewed(700);
    let e = await scrape();
    expect(sampleValue(e, 'kvip_leader')).toBe(1);
    expect(sampleValue(e, 'kvip_vip_held')).toBe(1);
    expect(sampleValue(e, 'kvip_leader_transitions_total', { direction: 'started' })).toBe(1);
    expect(sampleValue(e, 'kvip_leader_transitions_total', { direction: 'stopped' })).toBeUndefined();
    expect(sampleValue(e, 'kvip_last_failover_seconds')).toBe(1.75);
    expect(sampleValue(e, 'kvip_gratuitous_announcements_total', { family: 'ipv4' })).toBe(2);
    expect(sampleValue(e, 'kvip_lease_renew_duration_seconds_count')).toBe(2);
    expect(sampleValue(e, 'kvip_lease_renew_duration_seconds_sum')).toBeCloseTo(0.712, 9);
    expect(sampleValue(e, 'kvip_lease_renew_duration_seconds_bucket', { le: '0.01' })).toBe(0);
    expect(sampleValue(e, 'kvip_lease_renew_duration_seconds_bucket', { le: '0.025' })).toBe(1);
    expect(sampleValue(e, 'kvip_lease_renew_duration_seconds_bucket', { le: '1' })).toBe(2);
    expect(sampleValue(e, 'kvip_lease_renew_duration_seconds_bucket', { le: '3' })).toBe(2);

    observer(metrics).stoppedLeading?.('the lease is held by n2');
    metrics.vipHeld(false);
    e = await scrape();
    expect(sampleValue(e, 'kvip_leader')).toBe(0);
    expect(sampleValue(e, 'kvip_vip_held')).toBe(0);
    expect(sampleValue(e, 'kvip_leader_transitions_total', { direction: 'stopped' })).toBe(1);
    expect(sampleValue(e, 'kvip_last_failover_seconds')).toBe(1.75); // the last one, kept
  });

  it('the failover time is only set by a takeover that ends with the VIP held here', async () => {
    const { metrics, clock, scrape } = await serve();
    metrics.startedLeading();
    metrics.leaseTakenOver(400);
    observer(metrics).stoppedLeading?.('failed to renew the lease before the renew deadline');
    clock.ms += 5000;
    metrics.startedLeading(); // a lease this node created: nothing taken over
    metrics.vipHeld(true);
    const e = await scrape();
    expect(sampleValue(e, 'kvip_last_failover_seconds')).toBe(0);
    expect(sampleValue(e, 'kvip_leader_transitions_total', { direction: 'started' })).toBe(2);
    expect(sampleValue(e, 'kvip_leader_transitions_total', { direction: 'stopped' })).toBe(1);
  });

  it('without leader election every node leads', async () => {
    const { scrape } = await serve({ leaderElection: false });
    expect(sampleValue(await scrape(), 'kvip_leader')).toBe(1);
  });

  it('the health gate: up follows it, failures count each closing', async () => {
    const { metrics, scrape } = await serve();
    observer(metrics).gateChanged?.(false, 'GET https://127.0.0.1:6443/livez: connection refused');
    observer(metrics).gateChanged?.(false, 'still refused');
    let e = await scrape();
    expect(sampleValue(e, 'kvip_health_check_up')).toBe(0);
    expect(sampleValue(e, 'kvip_health_check_failures_total')).toBe(1);
    observer(metrics).gateChanged?.(true, 'ok');
    expect(sampleValue(await scrape(), 'kvip_health_check_up')).toBe(1);
    observer(metrics).gateChanged?.(false, 'refused again');
    e = await scrape();
    expect(sampleValue(e, 'kvip_health_check_up')).toBe(0);
    expect(sampleValue(e, 'kvip_health_check_failures_total')).toBe(2);
  });

  it('with the gate itself to read, up is its state at scrape time, whether it changed or not', async () => {
    const { metrics, scrape } = await serve();
    const gate = { open: false };
    metrics.readGate({ isOpen: () => gate.open, closedReason: () => 'no check has passed yet' });
    let e = await scrape();
    expect(sampleValue(e, 'kvip_health_check_up')).toBe(0);
    expect(sampleValue(e, 'kvip_health_check_failures_total')).toBe(0); // not passed yet is no failure
    gate.open = true;
    e = await scrape();
    expect(sampleValue(e, 'kvip_health_check_up')).toBe(1);
  });

  it('provider failures by step, Metal API requests by operation and status', async () => {
    const { metrics, scrape } = await serve({ family: 'ipv6', mode: 'packet-eip' });
    metrics.providerFailed('acquire');
    metrics.providerFailed('acquire');
    metrics.providerFailed('reconcile');
    metrics.metalResponse({ operation: 'assignIp', status: 422 });
    metrics.metalResponse({ operation: 'assignIp', status: 201 });
    metrics.metalResponse({ operation: 'getIp', status: 'error' });
    const e = await scrape();
    expect(sampleValue(e, 'kvip_provider_failures_total', { step: 'acquire' })).toBe(2);
    expect(sampleValue(e, 'kvip_provider_failures_total', { step: 'reconcile' })).toBe(1);
    expect(sampleValue(e, 'kvip_metal_api_requests_total', { operation: 'assignIp', status: '422' })).toBe(1);
    expect(sampleValue(e, 'kvip_metal_api_requests_total', { operation: 'assignIp', status: '201' })).toBe(1);
    expect(sampleValue(e, 'kvip_metal_api_requests_total', { operation: 'getIp', status: 'error' })).toBe(1);
    expect(sampleValue(e, 'kvip_gratuitous_announcements_total', { family: 'ipv6' })).toBe(0);
    expect(sampleValue(e, 'kvip_build_info', { version: VERSION, mode: 'packet-eip' })).toBe(1);
  });

  it("adds prom-client's process metrics when asked, and nothing lands in prom-client's global registry", async () => {
    const bare = parseExposition((await (await serve()).metrics.scrape()).text);
    expect(bare.types.has('process_cpu_user_seconds_total')).toBe(false);
    const { scrape } = await serve({ processMetrics: true });
    const e = await scrape();
    expect(e.types.get('process_cpu_user_seconds_total')).toBe('counter');
    expect(e.types.get('nodejs_eventloop_lag_seconds')).toBe('gauge');
    expect(globalRegistry.getSingleMetric('kvip_leader')).toBeUndefined();
    expect(globalRegistry.getSingleMetric('process_cpu_user_seconds_total')).toBeUndefined();
  });
});

describe('renew buckets', () => {
  it('are millisecond-scale and end at the renew deadline', () => {
    expect(renewBuckets(3)).toEqual([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 3]);
    expect(renewBuckets(0.5)).toEqual([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5]);
    expect(renewBuckets(10).slice(-3)).toEqual([2.5, 5, 10]);
  });
});
