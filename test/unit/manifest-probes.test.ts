// The kubelet's probes in the generated manifests: liveness /healthz and readiness /readyz on the metrics
// server's port, probed where the server listens; none when the server is off.
import { parseAllDocuments } from 'yaml';
import { Pod } from 'kubernetes-models/v1';
import { DaemonSet } from 'kubernetes-models/apps/v1';
import { runCli } from '../helpers/cli.js';

const POD = ['manifest', 'pod', '--interface', 'ens192', '--vip', '192.168.0.75', '--leaderElection'];
const DAEMONSET = [
  'manifest',
  'daemonset',
  '--interface',
  'ens192',
  '--vip',
  '192.168.0.10',
  '--leaderElection',
];

interface Probe {
  httpGet: { path: string; port: string | number; host?: string };
  periodSeconds: number;
  failureThreshold: number;
  timeoutSeconds: number;
}
interface Container {
  env: { name: string; value?: string }[];
  ports?: { name: string; containerPort: number }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
}

async function container(args: string[]): Promise<{ c: Container; doc: Record<string, unknown> }> {
  const r = await runCli(args);
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  const docs = parseAllDocuments(r.out).map((d) => d.toJS() as Record<string, unknown>);
  const doc = docs[docs.length - 1]!;
  const spec = doc.kind === 'Pod' ? doc.spec : (doc.spec as { template: { spec: unknown } }).template.spec;
  return { c: (spec as { containers: Container[] }).containers[0]!, doc };
}

describe.each([
  ['pod', POD, Pod],
  ['daemonset', DAEMONSET, DaemonSet],
] as const)('%s', (_kind, args, Model) => {
  it('probes /healthz and /readyz on the metrics port, at the pod (= node) IP by default', async () => {
    const { c, doc } = await container([...args]);
    expect(c.ports).toEqual([{ name: 'metrics', containerPort: 2112, protocol: 'TCP' }]);
    expect(c.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(c.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    // Liveness tolerates a minute without an answer; readiness reacts within seconds.
    const live = c.livenessProbe!;
    expect(live.periodSeconds * live.failureThreshold).toBeGreaterThanOrEqual(60);
    expect(c.readinessProbe!.periodSeconds).toBeLessThanOrEqual(5);
    new Model(doc as never).validate();
  });

  it('a server bound to one address is probed on that address and port', async () => {
    const { c, doc } = await container([...args, '--prometheusHTTPServer', '127.0.0.1:9100']);
    expect(c.env).toContainEqual({ name: 'prometheus_server', value: '127.0.0.1:9100' });
    expect(c.ports).toEqual([{ name: 'metrics', containerPort: 9100, protocol: 'TCP' }]);
    expect(c.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'metrics', host: '127.0.0.1' });
    expect(c.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'metrics', host: '127.0.0.1' });
    new Model(doc as never).validate();
  });

  it('"0.0.0.0:2112" is every address: no host', async () => {
    const { c } = await container([...args, '--prometheusHTTPServer', '0.0.0.0:2112']);
    expect(c.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
  });

  it('with the metrics server off: no probes, no port, and the container is told it is off', async () => {
    const { c, doc } = await container([...args, '--prometheusHTTPServer', '']);
    expect(c.env).toContainEqual({ name: 'prometheus_server', value: '' });
    expect(c.ports).toBeUndefined();
    expect(c.livenessProbe).toBeUndefined();
    expect(c.readinessProbe).toBeUndefined();
    new Model(doc as never).validate();
  });
});
