// kvip's kubeconfig loader against client-node's KubeConfig, the reference: for each kubeconfig, both must
// produce the same server, TLS options and headers. Then what only kvip decides: in-cluster, errors, token
// files and exec plugins (caching, single-flight, timeouts, no plugin output in errors).
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { RequestOptions } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import { KubeConfigError, KubeHttp, KubeLeaseStore, loadKubeConfig } from '../../src/election/index.js';
import { ExecCredentialProvider } from '../../src/election/exec-credential.js';
import { startFakeApiServer } from '../../src/lease-api/server.js';

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
const execCertPlugin = join(dir, 'exec-cert-plugin.sh');
writeFileSync(
  execCertPlugin,
  '#!/bin/sh\necho \'{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"clientCertificateData":"EXEC CERT","clientKeyData":"EXEC KEY"}}\'\n',
);
chmodSync(execCertPlugin, 0o755);

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
    'exec plugin giving a client certificate',
    kubeconfig(
      { server },
      { exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: execCertPlugin } },
    ),
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

  it('trims the token and re-reads it after invalidate()', async () => {
    const sa2 = join(dir, 'sa2');
    mkdirSync(sa2);
    writeFileSync(join(sa2, 'ca.crt'), 'SA CA');
    writeFileSync(join(sa2, 'token'), 'first\n');
    const env = { KUBERNETES_SERVICE_HOST: '203.0.113.1', KUBERNETES_SERVICE_PORT: '443' };
    const conn = loadKubeConfig({ inCluster: true, path: '', serviceAccountDir: sa2 }, env);
    expect(essentials(await conn.requestOptions()).authorization).toBe('Bearer first');
    writeFileSync(join(sa2, 'token'), 'second\n');
    expect(essentials(await conn.requestOptions()).authorization).toBe('Bearer first');
    conn.invalidate();
    expect(essentials(await conn.requestOptions()).authorization).toBe('Bearer second');
  });

  it('refuses a missing token, naming the file', () => {
    const empty = mkdtempSync(join(dir, 'sa-'));
    writeFileSync(join(empty, 'ca.crt'), 'SA CA');
    const env = { KUBERNETES_SERVICE_HOST: '203.0.113.1', KUBERNETES_SERVICE_PORT: '443' };
    expect(() => loadKubeConfig({ inCluster: true, path: '', serviceAccountDir: empty }, env)).toThrow(
      new KubeConfigError(`--inCluster (vip_incluster): token-file ${join(empty, 'token')}: ENOENT`),
    );
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
    [
      'a context naming an undefined user',
      kubeconfig({ server }, {}, { contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'ghost' } }] }),
      /context "ctx" names user "ghost", which is not defined/,
    ],
    [
      'a missing token-file',
      kubeconfig({ server }, { 'token-file': 'nope.token' }),
      new RegExp(`token-file ${join(dir, 'nope.token')}: ENOENT`),
    ],
    [
      'an exec apiVersion kvip does not know',
      kubeconfig({ server }, { exec: { apiVersion: 'client.authentication.k8s.io/v1alpha1', command: 'x' } }),
      /user "u" exec apiVersion must be client.authentication.k8s.io\/v1 or/,
    ],
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

describe('a token-file in a kubeconfig', () => {
  it('is relative to the kubeconfig, trimmed, and re-read after invalidate()', async () => {
    const tf = mkdtempSync(join(dir, 'tf-'));
    writeFileSync(join(tf, 'tok.txt'), 'one\n');
    writeFileSync(join(tf, 'kc.conf'), kubeconfig({ server }, { 'token-file': 'tok.txt' }));
    const conn = loadKubeConfig({ inCluster: false, path: join(tf, 'kc.conf') });
    expect(essentials(await conn.requestOptions()).authorization).toBe('Bearer one');
    writeFileSync(join(tf, 'tok.txt'), 'two\n');
    expect(essentials(await conn.requestOptions()).authorization).toBe('Bearer one');
    conn.invalidate();
    expect(essentials(await conn.requestOptions()).authorization).toBe('Bearer two');
  });
});

describe('exec plugins', () => {
  const v1 = 'client.authentication.k8s.io/v1';
  /** Pids of plugins that hang, killed at the end in case a test failed to. */
  const hung: number[] = [];
  afterAll(() => {
    for (const pid of hung)
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
  });

  const credential = (status: object, apiVersion = v1) =>
    JSON.stringify({ apiVersion, kind: 'ExecCredential', status });

  /** A #!/bin/sh plugin working in a directory of its own; every run appends a line to `runs` there. */
  function plugin(body: string, home = mkdtempSync(join(dir, 'plugin-')), name = 'plugin.sh') {
    const runs = join(home, 'runs');
    const path = join(home, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, `#!/bin/sh\ncd '${home}'\necho run >> runs\n${body}\n`);
    chmodSync(path, 0o755);
    return {
      path,
      home,
      runs: () => (existsSync(runs) ? readFileSync(runs, 'utf8').split('\n').length - 1 : 0),
    };
  }
  /** A plugin that prints `out` (a heredoc: no shell quoting) and exits 0. */
  const printing = (out: string, home?: string) => plugin(`cat <<'EOF'\n${out}\nEOF`, home);

  function connect(exec: object) {
    return loadKubeConfig({
      inCluster: false,
      path: write(kubeconfig({ server }, { exec: { apiVersion: v1, ...exec } })),
    });
  }
  const bearer = async (conn: { requestOptions(): Promise<RequestOptions> }) =>
    essentials(await conn.requestOptions()).authorization;

  async function until(cond: () => boolean): Promise<void> {
    while (!cond()) await new Promise((r) => setTimeout(r, 20));
  }
  /** Running, as opposed to gone or a zombie nobody reaped yet. */
  function alive(pid: number): boolean {
    try {
      return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
    } catch {
      return false;
    }
  }
  /** A plugin that never answers: a shell waiting for a child; both pids land in its `pids` file. */
  function hanging() {
    const p = plugin(`sleep 600 &\necho "$$ $!" > pids.tmp\nmv pids.tmp pids\nwait`);
    const pidsFile = join(p.home, 'pids');
    const pids = async () => {
      await until(() => existsSync(pidsFile));
      const found = readFileSync(pidsFile, 'utf8').trim().split(' ').map(Number);
      hung.push(...found);
      return found;
    };
    return { ...p, pids };
  }

  it('without an expirationTimestamp runs once for many requests, and again after invalidate()', async () => {
    const p = printing(credential({ token: 'forever' }));
    const conn = connect({ command: p.path });
    for (let i = 0; i < 3; i++) expect(await bearer(conn)).toBe('Bearer forever');
    expect(p.runs()).toBe(1);
    conn.invalidate();
    expect(await bearer(conn)).toBe('Bearer forever');
    expect(p.runs()).toBe(2);
  });

  it('keeps a credential until 30 s before it expires', async () => {
    const later = printing(
      credential({ token: 'later', expirationTimestamp: new Date(Date.now() + 3600_000) }),
    );
    const soon = printing(credential({ token: 'soon', expirationTimestamp: new Date(Date.now() + 10_000) }));
    const keeps = connect({ command: later.path });
    const refreshes = connect({ command: soon.path });
    for (let i = 0; i < 2; i++) {
      expect(await bearer(keeps)).toBe('Bearer later');
      expect(await bearer(refreshes)).toBe('Bearer soon');
    }
    expect([later.runs(), soon.runs()]).toEqual([1, 2]);
  });

  it('runs once for concurrent requests', async () => {
    const p = printing(credential({ token: 'shared' }));
    const conn = connect({ command: p.path });
    const all = await Promise.all(Array.from({ length: 5 }, () => bearer(conn)));
    expect(all).toEqual(Array(5).fill('Bearer shared'));
    expect(p.runs()).toBe(1);
  });

  it('resolves a relative command against the kubeconfig directory and passes args and env', async () => {
    const home = mkdtempSync(join(dir, 'rel-'));
    const p = plugin(
      `cat <<EOF\n{"apiVersion":"${v1}","kind":"ExecCredential","status":{"token":"$1-$SUFFIX"}}\nEOF`,
      home,
      'bin/plugin.sh',
    );
    writeFileSync(
      join(home, 'kc.conf'),
      kubeconfig(
        { server },
        {
          exec: {
            apiVersion: v1,
            command: './bin/plugin.sh',
            args: ['arg'],
            env: [{ name: 'SUFFIX', value: 'env' }],
          },
        },
      ),
    );
    const conn = loadKubeConfig({ inCluster: false, path: join(home, 'kc.conf') });
    expect(await bearer(conn)).toBe('Bearer arg-env');
    expect(p.runs()).toBe(1);
  });

  it('sets KUBERNETES_EXEC_INFO, with the cluster only when provideClusterInfo is set', async () => {
    const info = (home: string) => JSON.parse(readFileSync(join(home, 'info'), 'utf8')) as unknown;
    const token = credential({ token: 't' }, 'client.authentication.k8s.io/v1beta1');
    const body = `printf '%s' "$KUBERNETES_EXEC_INFO" > info\ncat <<'EOF'\n${token}\nEOF`;
    const plain = plugin(body);
    const withCluster = plugin(body);
    const exec = { apiVersion: 'client.authentication.k8s.io/v1beta1' };
    const cluster = { server, 'certificate-authority-data': b64('CA DATA'), 'tls-server-name': 'kubernetes' };
    for (const [p, provideClusterInfo] of [
      [plain, false],
      [withCluster, true],
    ] as const)
      await loadKubeConfig({
        inCluster: false,
        path: write(kubeconfig(cluster, { exec: { ...exec, command: p.path, provideClusterInfo } })),
      }).requestOptions();
    const spec = { interactive: false };
    expect(info(plain.home)).toEqual({ ...exec, kind: 'ExecCredential', spec });
    expect(info(withCluster.home)).toEqual({ ...exec, kind: 'ExecCredential', spec: { ...spec, cluster } });
  });

  it('kills a hung plugin when the request is aborted, and rejects with the reason at once', async () => {
    const p = hanging();
    const conn = connect({ command: p.path });
    const ac = new AbortController();
    const pending = conn.requestOptions(ac.signal);
    const pids = await p.pids();
    const reason = new Error('deadline');
    ac.abort(reason);
    await expect(pending).rejects.toBe(reason);
    await until(() => !pids.some(alive));
    // The next request starts afresh instead of joining the killed run.
    const again = conn.requestOptions(AbortSignal.abort(reason));
    await expect(again).rejects.toBe(reason);
  });

  it('keeps running a plugin another request still waits for', async () => {
    const p = plugin(
      `while [ ! -f go ]; do sleep 0.05; done\ncat <<'EOF'\n${credential({ token: 'late' })}\nEOF`,
    );
    const conn = connect({ command: p.path });
    const ac = new AbortController();
    const aborted = conn.requestOptions(ac.signal);
    const waiting = conn.requestOptions();
    ac.abort(new Error('gave up'));
    await expect(aborted).rejects.toThrow('gave up');
    writeFileSync(join(p.home, 'go'), '');
    expect(essentials(await waiting).authorization).toBe('Bearer late');
    expect(p.runs()).toBe(1);
  });

  it('kills a hung plugin after the timeout', async () => {
    const p = hanging();
    const provider = new ExecCredentialProvider(
      { apiVersion: v1, command: p.path, args: [], env: [] },
      { baseDir: p.home, timeoutMs: 1000 },
    );
    const pending = provider.get();
    const pids = await p.pids();
    await expect(pending).rejects.toThrow(`exec plugin "${p.path}" killed after 1 s`);
    await until(() => !pids.some(alive));
  });

  describe('errors name the plugin and the problem, never its output', () => {
    // Characters that appear in no error message (nor in mkdtemp's names): any of them there came from the plugin.
    const secret = '#%@~^+=';
    it.each([
      ['a failure', `echo '${secret}'\necho '${secret}' >&2\nexit 3`, /failed: exit code 3$/],
      ['output that is not JSON', `echo '${secret}'\necho '${secret}' >&2`, /\(not JSON\)$/],
      ['JSON cut short', `echo '{"status":{"token":"${secret}'`, /\(not JSON\)$/],
      ['an unknown apiVersion', `echo '${credential({ token: 't' }, secret)}'`, /apiVersion is not/],
      [
        'neither a token nor a certificate',
        `echo '${credential({ clientCertificateData: secret })}'`,
        /gave no token or client certificate and key$/,
      ],
      [
        'a bad expirationTimestamp',
        `echo '${credential({ token: 't', expirationTimestamp: secret })}'`,
        /not a time/,
      ],
    ])('%s', async (_name, body, problem) => {
      const p = plugin(body);
      const err = (await connect({ command: p.path })
        .requestOptions()
        .catch((e: unknown) => e)) as Error;
      expect(err).toBeInstanceOf(Error);
      expect(err.message).toMatch(new RegExp(`^exec plugin "${p.path}" `));
      expect(err.message).toMatch(problem);
      for (const text of [err.message, String(err.cause ?? '')])
        expect([...secret].filter((c) => text.includes(c))).toEqual([]);
    });

    it('a command that does not exist', async () => {
      const conn = connect({ command: join(dir, 'no-such-plugin') });
      await expect(conn.requestOptions()).rejects.toThrow(/cannot be run \(ENOENT\)/);
    });
  });
});
