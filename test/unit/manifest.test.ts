// Manifests: golden files pin the exact output for the reference page's examples, every object validates
// against the Kubernetes schemas, and the pod carries what kube-vip's vip.yaml carries.
import { readFileSync, writeFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { Pod, ServiceAccount } from 'kubernetes-models/v1';
import { DaemonSet } from 'kubernetes-models/apps/v1';
import { Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { runCli } from '../helpers/cli.js';

const GOLDEN: Record<string, string[]> = {
  // The reference page's kubeadm example.
  'pod-arp.yaml': [
    'manifest',
    'pod',
    '--interface',
    'ens192',
    '--vip',
    '192.168.0.75',
    '--arp',
    '--leaderElection',
  ],
  // The reference page's Packet example, with the token in a host file instead of the manifest.
  'pod-packet.yaml': [
    'manifest',
    'pod',
    '--arp=false',
    '--interface',
    'lo',
    '--vip',
    '203.0.113.7',
    '--leaderElection',
    '--packet',
    '--packetKeyFile',
    '/etc/kubernetes/metal-token',
    '--packetProject',
    'vipTest',
  ],
  'pod-bgp.yaml': [
    'manifest',
    'pod',
    '--vip',
    '198.51.100.10',
    '--leaderElection',
    '--bgp',
    '--localAS',
    '64513',
    '--bgpRouterID',
    '198.51.100.2',
    '--peerAS',
    '64512',
    '--peerAddress',
    '198.51.100.1',
  ],
  'pod-ipv6.yaml': [
    'manifest',
    'pod',
    '--vip',
    '2001:db8::75',
    '--interface',
    'eth0',
    '--leaderElection',
    '--k8sConfigPath',
    '/etc/kubernetes/super-admin.conf',
  ],
  // The reference page's k3s example.
  'daemonset-k3s.yaml': [
    'manifest',
    'daemonset',
    '--k3s',
    '--interface',
    'ens192',
    '--vip',
    '192.168.0.10',
    '--arp',
    '--leaderElection',
  ],
  'daemonset-packet.yaml': [
    'manifest',
    'daemonset',
    '--vip',
    '203.0.113.7',
    '--leaderElection',
    '--packet',
    '--packetProjectID',
    '0b3f6a2e-1c4d-4e5f-8a9b-0c1d2e3f4a5b',
  ],
  'rbac.yaml': ['manifest', 'rbac'],
};

const golden = (name: string) => new URL(`../golden/${name}`, import.meta.url);

function docs(yamlText: string): Record<string, unknown>[] {
  return parseAllDocuments(yamlText).map((d) => d.toJS() as Record<string, unknown>);
}

function validate(obj: Record<string, unknown>): void {
  const models: Record<string, new (o: never) => { validate(): void }> = {
    Pod,
    ServiceAccount,
    DaemonSet,
    Role,
    RoleBinding,
  };
  const Model = models[String(obj.kind)];
  if (!Model) throw new Error(`no schema for kind ${String(obj.kind)}`);
  new Model(obj as never).validate();
}

describe.each(Object.entries(GOLDEN))('%s', (name, args) => {
  it('matches the golden file and validates against the Kubernetes schemas', async () => {
    const r = await runCli(args);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(golden(name), r.out);
    expect(r.out).toBe(readFileSync(golden(name), 'utf8'));
    const objects = docs(r.out);
    expect(objects.length).toBeGreaterThan(0);
    for (const o of objects) expect(() => validate(o)).not.toThrow();
  });
});

describe('schema validation catches a broken object', () => {
  it('rejects a pod whose container has no name', () => {
    expect(() =>
      validate({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' }, spec: { containers: [{}] } }),
    ).toThrow();
  });
});

type Env = { name: string; value?: string; valueFrom?: unknown };

const POD_ENV: Env[] = [
  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
  { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
  { name: 'POD_UID', valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } },
];

function podOf(text: string) {
  const pod = docs(text)[0] as {
    metadata: { namespace: string };
    spec: {
      hostNetwork: boolean;
      hostAliases: { ip: string; hostnames: string[] }[];
      containers: {
        args: string[];
        env: Env[];
        securityContext: { capabilities: { add: string[]; drop: string[] } };
      }[];
      volumes?: { name: string; hostPath: { path: string } }[];
    };
  };
  return { pod, container: pod.spec.containers[0]! };
}

describe('manifest pod is equivalent to the reference vip.yaml', () => {
  it('has the same env names and values, namespace, host network and args', async () => {
    const r = await runCli(GOLDEN['pod-arp.yaml']!);
    const { pod, container } = podOf(r.out);
    // vip.yaml from the reference page, for `--interface ens192 --vip 192.168.0.75 --arp --leaderElection`.
    expect(container.env).toEqual([
      { name: 'vip_arp', value: 'true' },
      { name: 'vip_interface', value: 'ens192' },
      { name: 'vip_leaderelection', value: 'true' },
      { name: 'vip_leaseduration', value: '5' },
      { name: 'vip_renewdeadline', value: '3' },
      { name: 'vip_retryperiod', value: '1' },
      { name: 'vip_address', value: '192.168.0.75' },
      // kvip's addition: the pod's own name, namespace and uid, which its Kubernetes Events are about.
      ...POD_ENV,
    ]);
    expect(pod.metadata.namespace).toBe('kube-system');
    expect(pod.spec.hostNetwork).toBe(true);
    expect(container.args).toEqual(['start']);
    expect(container.securityContext.capabilities).toEqual({ add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] });
    expect(pod.spec.hostAliases).toEqual([{ ip: '127.0.0.1', hostnames: ['kubernetes'] }]);
    // One deliberate difference: kubeadm's directory, read-only, so super-admin.conf is there on the first
    // node (kube-vip mounts admin.conf alone, and its users edit the manifest during kubeadm init).
    expect(pod.spec.volumes).toEqual([
      { name: 'kubeconfig', hostPath: { path: '/etc/kubernetes', type: 'Directory' } },
    ]);
  });

  it('writes options set through the environment, under kube-vip names', async () => {
    const r = await runCli(['manifest', 'pod'], {
      vip_address: '198.51.100.10',
      vip_interface: 'eth1',
      vip_arpRate: '500',
      vip_leasename: 'plunder-lock',
    });
    const { container } = podOf(r.out);
    expect(container.env).toEqual(
      expect.arrayContaining([
        { name: 'vip_interface', value: 'eth1' },
        { name: 'vip_arpRate', value: '500' },
        { name: 'vip_leasename', value: 'plunder-lock' },
      ]),
    );
  });

  it('names the pod through the downward API only with --leaderElection (Events need the API server)', async () => {
    const withElection = podOf((await runCli(GOLDEN['pod-arp.yaml']!)).out).container.env;
    expect(withElection.filter((e) => e.name.startsWith('POD_'))).toEqual(POD_ENV);
    const args = GOLDEN['pod-arp.yaml']!.filter((a) => a !== '--leaderElection');
    const without = podOf((await runCli(args)).out).container.env;
    expect(without.map((e) => e.name)).not.toContain('POD_NAME');
    expect(without).toContainEqual({ name: 'vip_leaderelection', value: 'false' });
  });

  it('uses --image', async () => {
    const r = await runCli([...GOLDEN['pod-arp.yaml']!, '--image', 'registry.example/kvip:dev']);
    expect(r.out).toContain('image: registry.example/kvip:dev');
  });
});

describe('packet mode', () => {
  it('binds to lo, turns ARP off and mounts the token file', async () => {
    const r = await runCli(GOLDEN['pod-packet.yaml']!);
    const { pod, container } = podOf(r.out);
    expect(container.env).toEqual(
      expect.arrayContaining([
        { name: 'vip_arp', value: 'false' },
        { name: 'vip_interface', value: 'lo' },
        { name: 'vip_packetkeyfile', value: '/etc/kubernetes/metal-token' },
      ]),
    );
    expect(container.env.map((e) => e.name)).not.toContain('PACKET_AUTH_TOKEN');
    expect(pod.spec.volumes?.map((v) => v.hostPath.path)).toContain('/etc/kubernetes/metal-token');
  });

  it('turns ARP off without --arp=false', async () => {
    const r = await runCli([
      'manifest',
      'pod',
      '--vip',
      '203.0.113.7',
      '--packet',
      '--packetProject',
      'p',
      '--packetKeyFile',
      '/t',
    ]);
    expect(podOf(r.out).container.env).toEqual(expect.arrayContaining([{ name: 'vip_arp', value: 'false' }]));
  });

  it('writes a literal token only for an explicit --packetKey, with a warning on stderr', async () => {
    const r = await runCli([
      'manifest',
      'pod',
      '--vip',
      '203.0.113.7',
      '--packet',
      '--packetProject',
      'vipTest',
      '--packetKey',
      'XYZ',
    ]);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/^warning: --packetKey is written into the manifest in clear text/);
    expect(podOf(r.out).container.env).toContainEqual({ name: 'PACKET_AUTH_TOKEN', value: 'XYZ' });
  });

  it('DaemonSet reads the token from a Secret', async () => {
    const r = await runCli(GOLDEN['daemonset-packet.yaml']!);
    const ds = docs(r.out)[0] as { spec: { template: { spec: { containers: { env: Env[] }[] } } } };
    expect(ds.spec.template.spec.containers[0]!.env).toContainEqual({
      name: 'PACKET_AUTH_TOKEN',
      valueFrom: { secretKeyRef: { name: 'kvip-metal', key: 'token' } },
    });
  });
});

describe('daemonset and rbac', () => {
  it('k3s mode prints RBAC and the DaemonSet in one file, control-plane only', async () => {
    const r = await runCli(GOLDEN['daemonset-k3s.yaml']!);
    const objects = docs(r.out);
    expect(objects.map((o) => o.kind)).toEqual(['ServiceAccount', 'Role', 'RoleBinding', 'DaemonSet']);
    const text = r.out;
    expect(text).toContain('node-role.kubernetes.io/control-plane');
    expect(text).toContain('node-role.kubernetes.io/master');
    expect(text).toContain('serviceAccountName: kvip');
    expect(text).toContain('fieldPath: spec.nodeName');
  });

  it('grants only what the elector needs, on its own Lease, in its namespace', async () => {
    const r = await runCli(['manifest', 'rbac', '--namespace', 'vip-system', '--leaseName', 'plunder-lock']);
    expect(r.code).toBe(0);
    const [sa, role, binding] = docs(r.out) as [
      { metadata: { namespace: string } },
      {
        kind: string;
        metadata: { namespace: string };
        rules: { apiGroups: string[]; resources: string[]; resourceNames?: string[]; verbs: string[] }[];
      },
      {
        kind: string;
        metadata: { namespace: string };
        roleRef: { kind: string; name: string };
        subjects: { kind: string; name: string; namespace: string }[];
      },
    ];
    expect(sa.metadata.namespace).toBe('vip-system');
    expect(role.kind).toBe('Role');
    expect(role.metadata.namespace).toBe('vip-system');
    expect(binding.kind).toBe('RoleBinding');
    expect(binding.metadata.namespace).toBe('vip-system');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'kvip' });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'kvip', namespace: 'vip-system' }]);
    // Events: create, and patch to count a repeat; nothing else of them.
    expect(role.rules).toEqual([
      {
        apiGroups: ['coordination.k8s.io'],
        resources: ['leases'],
        resourceNames: ['plunder-lock'],
        verbs: ['get', 'update', 'watch'],
      },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
      { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
    ]);
    expect(r.out).toMatch(/# create cannot be limited by resourceNames.*\n.*\n\s+- apiGroups:/);
    expect(r.out).toMatch(/# Kubernetes Events about kvip's Pod.*\n.*\n\s+- apiGroups:\n\s+- ""\n/);
  });

  it('k3s mode limits the Role to the lease name it was given', async () => {
    const r = await runCli([...GOLDEN['daemonset-k3s.yaml']!, '--leaseName', 'plunder-lock']);
    const role = docs(r.out)[1] as { rules: { resourceNames?: string[] }[] };
    expect(role.rules[0]!.resourceNames).toEqual(['plunder-lock']);
  });
});

describe('the user the container runs as (docker/Dockerfile: non-root, node with file capabilities)', () => {
  type Sc = Record<string, unknown> & { capabilities: unknown };
  const securityContext = (out: string, kind: string) => {
    const o = docs(out).find((d) => d.kind === kind) as {
      spec: {
        containers?: { securityContext: Sc }[];
        template?: { spec: { containers: { securityContext: Sc }[] } };
      };
    };
    return (o.spec.containers ?? o.spec.template!.spec.containers)[0]!.securityContext;
  };
  const caps = { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] };

  it("a static pod that mounts the host's root-only kubeconfig or token file runs as root, with the two capabilities only", async () => {
    for (const golden of ['pod-arp.yaml', 'pod-packet.yaml']) {
      const r = await runCli(GOLDEN[golden]!);
      expect([golden, securityContext(r.out, 'Pod')]).toEqual([golden, { runAsUser: 0, capabilities: caps }]);
      expect(r.out).toMatch(/# kubeadm's admin.conf .* root only/);
    }
  });

  it("a DaemonSet, and a pod that mounts nothing, run as the image's non-root user", async () => {
    const nonRoot = { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, capabilities: caps };
    const ds = await runCli(GOLDEN['daemonset-k3s.yaml']!);
    expect(securityContext(ds.out, 'DaemonSet')).toEqual(nonRoot);
    // File capabilities need exec to be allowed to gain privileges: never allowPrivilegeEscalation: false.
    expect(ds.out).not.toMatch(/^\s*allowPrivilegeEscalation:/m);
    const pod = await runCli([...GOLDEN['pod-arp.yaml']!, '--inCluster']);
    expect(securityContext(pod.out, 'Pod')).toEqual(nonRoot);
  });
});
