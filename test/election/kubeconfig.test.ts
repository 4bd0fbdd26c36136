// kvip's kubeconfig loader against client-node's KubeConfig, the reference: for each kubeconfig, both must
// produce the same server, TLS options and headers. Then what only kvip decides: in-cluster, errors.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RequestOptions } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import { KubeConfigError, KubeHttp, KubeLeaseStore, loadKubeConfig } from '../../src/election/index.js';
import { startFakeApiServer } from '../fakes/apiserver/server.js';

const dir = mkdtempSync(join(tmpdir(), 'kvip-kcfg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const b64 = (s: string) => Buffer.from(s).toString('base64');
writeFileSync(join(dir, 'ca.crt'), 'CA FILE');
writeFileSync(join(dir, 'client.crt'), 'CERT FILE');
writeFileSync(join(dir, 'client.key'), 'KEY FILE');
writeFileSync(join(dir, 'token'), 'file-token');
const execPlugin = join(dir, 'exec-plugin.sh');
writeFileSync(
  execPlugin,
  '#!/bin/sh\necho \'{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"exec-token"}}\'\n',
);
chmodSync(execPlugin, 0o755);

function kubeconfig(cluster: object, user: object, extra: object = {}): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster }],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
    'current-context': 'ctx',
    ...extra,
  });
}

let n = 0;
function write(text: string): string {
  const p = join(dir, `kc-${n++}.conf`);
  writeFileSync(p, text);
  return p;
}

/** The parts of request options both sides set, normalised for comparison. */
function essentials(o: RequestOptions): Record<string, unknown> {
  const h = (o.headers ?? {}) as Record<string, string>;
  const s = (v: unknown) => (v === undefined ? undefined : Buffer.from(v as Buffer).toString());
  return {
    ca: s(o.ca),
    cert: s(o.cert),
    key: s(o.key),
    rejectUnauthorized: o.rejectUnauthorized ?? true,
    servername: o.servername,
    auth: o.auth,
    authorization: h.Authorization ?? h.authorization,
    impersonate: h['Impersonate-User'],
  };
}

const server = 'https://198.51.100.10:6443';
const cases: [string, string][] = [
  [
    'token and CA data',
    kubeconfig({ server, 'certificate-authority-data': b64('CA DATA') }, { token: 'tok' }),
  ],
  [
    'relative CA, client certificate and key files',
    kubeconfig(
      { server, 'certificate-authority': 'ca.crt' },
      { 'client-certificate': 'client.crt', 'client-key': 'client.key' },
    ),
  ],
  [
    'certificate data, insecure-skip-tls-verify and tls-server-name',
    kubeconfig(
      { server, 'insecure-skip-tls-verify': true, 'tls-server-name': 'kubernetes' },
      { 'client-certificate-data': b64('CERT DATA'), 'client-key-data': b64('KEY DATA') },
    ),
  ],
  ['basic auth', kubeconfig({ server }, { username: 'admin', password: 'pw' })],
  ['impersonation', kubeconfig({ server }, { token: 'tok', as: 'someone' })],
  ['token-file', kubeconfig({ server }, { 'token-file': join(dir, 'token') })],
  [
    'exec plugin',
    kubeconfig({ server }, { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: execPlugin } }),
  ],
  [
    'current-context picks one of two',
    stringify({
      clusters: [
        { name: 'a', cluster: { server: 'https://198.51.100.1' } },
        { name: 'b', cluster: { server: 'https://198.51.100.2:8443/' } },
      ],
      users: [
        { name: 'ua', user: { token: 'ta' } },
        { name: 'ub', user: { token: 'tb' } },
      ],
      contexts: [
        { name: 'ca', context: { cluster: 'a', user: 'ua' } },
        { name: 'cb', context: { cluster: 'b', user: 'ub' } },
      ],
      'current-context': 'cb',
    }),
  ],
];

describe('loadKubeConfig agrees with client-node KubeConfig', () => {
  it.each(cases)('%s', async (_name, text) => {
    const path = write(text);
    const reference = new KubeConfig();
    reference.loadFromFile(path);
    const want: RequestOptions = {};
    await reference.applyToHTTPSOptions(want);

    const conn = loadKubeConfig({ inCluster: false, path });
    const got = await conn.requestOptions();
    expect(conn.server.href.replace(/\/$/, '')).toBe(reference.getCurrentCluster()!.server);
    expect(essentials(got)).toEqual(essentials(want));
    expect(essentials(got).authorization ?? essentials(got).auth ?? essentials(got).cert).toBeDefined();
  });
});

describe('loadKubeConfig in a pod', () => {
  const sa = join(dir, 'sa');
  beforeAll(() => {
    mkdirSync(sa);
    writeFileSync(join(sa, 'ca.crt'), 'SA CA');
    writeFileSync(join(sa, 'token'), 'sa-token');
  });

  it('uses the ServiceAccount token and CA and the service address', async () => {
    const conn = loadKubeConfig(
      { inCluster: true, path: '', serviceAccountDir: sa },
      { KUBERNETES_SERVICE_HOST: '203.0.113.1', KUBERNETES_SERVICE_PORT: '443' },
    );
    expect(conn.server.href).toBe('https://203.0.113.1/');
    const o = essentials(await conn.requestOptions());
    expect(o).toMatchObject({ ca: 'SA CA', authorization: 'Bearer sa-token', rejectUnauthorized: true });
  });

  it('brackets an IPv6 service host', () => {
    const conn = loadKubeConfig(
      { inCluster: true, path: '', serviceAccountDir: sa },
      { KUBERNETES_SERVICE_HOST: '2001:db8::1', KUBERNETES_SERVICE_PORT: '6443' },
    );
    expect(conn.server.host).toBe('[2001:db8::1]:6443');
  });
});

describe('loadKubeConfig refuses what it cannot honour, naming the setting', () => {
  it.each([
    [
      'http:// without insecure-skip-tls-verify',
      kubeconfig({ server: 'http://198.51.100.1' }, {}),
      /uses http:\/\/ without insecure-skip-tls-verify/,
    ],
    ['a proxy', kubeconfig({ server, 'proxy-url': 'http://198.51.100.9:3128' }, {}), /proxy-url/],
    [
      'a legacy auth-provider',
      kubeconfig({ server }, { 'auth-provider': { name: 'gcp', config: {} } }),
      /auth-provider "gcp", which kvip does not support/,
    ],
    [
      'a missing CA file',
      kubeconfig({ server, 'certificate-authority': 'nope.crt' }, {}),
      /certificate-authority .*nope.crt: ENOENT/,
    ],
    [
      'an undefined current-context',
      kubeconfig({ server }, {}, { 'current-context': 'other' }),
      /current-context "other" is not defined/,
    ],
    ['a server that is not a URL', kubeconfig({ server: 'not a url' }, {}), /server "not a url", not a URL/],
  ])('%s', (_name, text, message) => {
    const path = write(text);
    const err = (() => {
      try {
        loadKubeConfig({ inCluster: false, path });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(KubeConfigError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).toContain(`--k8sConfigPath ${path}`);
  });
});

function withExec(text: string): string {
  const doc = parse(text) as { users: { user: Record<string, unknown> }[] };
  doc.users[0]!.user = { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: execPlugin } };
  return stringify(doc);
}

describe('an exec plugin authenticates real requests', () => {
  it('reads a lease from the fake with the token the plugin prints', async () => {
    const fake = await startFakeApiServer({ tls: true, tokens: { 'exec-token': 'a' } });
    const http = new KubeHttp(
      loadKubeConfig({
        inCluster: false,
        path: write(withExec(fake.kubeconfig('a'))),
      }),
    );
    try {
      expect(await new KubeLeaseStore(http, 'kube-system', 'l').get(new AbortController().signal)).toBeNull();
      expect(fake.requests.at(-1)).toMatchObject({ client: 'a' });
    } finally {
      http.close();
      await fake.close();
    }
  });
});
