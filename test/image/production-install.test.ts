// The image's install, without Docker (CI has no engine): `npm pack` of the built repository, unpacked, the
// lock file added, `npm ci --omit=dev` (the addon compiled with npm's bundled node-gyp, no devDependencies),
// as the Dockerfile's build stage does; then a tree of exactly what the runtime stage's COPY lines take from
// it, from which kvip must run: `kvip version`, the addon loaded and called, a manifest. Each of those files
// is shown to be needed by taking it away. Needs no root and no network namespace, so it never skips.
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { IMAGE_UID } from '../../src/manifest/common.js';
import { loadDockerfile, productionInstallDir, ROOT, runtimeFiles } from './dockerfile.js';

const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as {
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const stages = loadDockerfile();
const build = stages.find((s) => s.name === 'build')!;
const files = runtimeFiles(stages.at(-1)!, productionInstallDir(build));

// Children get a clean environment: no npm_* of the `npm test` that runs jest, no NODE_OPTIONS of jest's.
const env = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !k.startsWith('npm_') && k !== 'NODE_OPTIONS'),
);

function run(cmd: string, args: string[], cwd: string) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, out: r.stdout ?? '', err: `${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

/** The brief's example manifest: `kvip manifest pod|daemonset` with these. */
const MANIFEST_ARGS = ['--vip', '198.51.100.10', '--interface', 'eth0', '--arp', '--leaderElection'];

function mustRun(cmd: string, args: string[], cwd: string): string {
  const r = run(cmd, args, cwd);
  if (r.code !== 0)
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}:\n${(r.err || r.out).slice(-3000)}`);
  return r.out;
}

describe('the production install (the image without Docker)', () => {
  const work = mkdtempSync(join(tmpdir(), 'kvip-prod-'));
  const installed = join(work, 'package');
  const runtime = join(work, 'runtime');
  let packed: string[] = [];

  beforeAll(() => {
    if (!existsSync(`${ROOT}dist/cli/bin.js`))
      throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
    const pack = JSON.parse(mustRun('npm', ['pack', '--json', '--pack-destination', work], ROOT)) as {
      filename: string;
      files: { path: string }[];
    }[];
    packed = pack[0]!.files.map((f) => f.path);
    mkdirSync(installed);
    mustRun('tar', ['-xzf', join(work, pack[0]!.filename), '-C', installed, '--strip-components=1'], work);
    // npm never packs package-lock.json; the image's build stage copies it in the same way.
    if (!existsSync(join(installed, 'package-lock.json')))
      cpSync(`${ROOT}package-lock.json`, join(installed, 'package-lock.json'));
    mustRun('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'], installed);
    for (const f of files) cpSync(join(installed, f.rel), join(runtime, f.dest), { recursive: true });
  }, 300_000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it("ships the addon's sources, not this machine's build, nor the lock file", () => {
    expect(packed).toEqual(
      expect.arrayContaining([
        'native/binding.gyp',
        'native/build.mjs',
        'native/src/addon.c',
        'dist/cli/bin.js',
      ]),
    );
    expect(packed.filter((p) => p.startsWith('native/build/') || p === 'package-lock.json')).toEqual([]);
  });

  it('installs the dependencies and no dev-only package, and builds the addon without them', () => {
    const has = (name: string) => existsSync(join(installed, 'node_modules', name, 'package.json'));
    for (const name of Object.keys(pkg.dependencies)) expect([name, has(name)]).toEqual([name, true]);
    // A devDependency is there only if a dependency needs it too (the lock file says which: "dev": true
    // marks the dev-only ones; @kubernetes/client-node depends on @types/node, for one).
    const lock = JSON.parse(readFileSync(`${ROOT}package-lock.json`, 'utf8')) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const devOnly = (name: string) => lock.packages[`node_modules/${name}`]?.dev === true;
    for (const name of Object.keys(pkg.devDependencies))
      expect([name, has(name)]).toEqual([name, !devOnly(name)]);
    // No node-gyp of its own, so the addon was built by the one npm bundles (native/build.mjs).
    expect(['node-gyp', 'typescript', 'jest'].map((n) => [n, devOnly(n), has(n)])).toEqual([
      ['node-gyp', true, false],
      ['typescript', true, false],
      ['jest', true, false],
    ]);
    expect(statSync(join(installed, 'native/build/Release/kvip_native.node')).size).toBeGreaterThan(0);
  });

  /** What the image is for, run from a tree; the first failure, or undefined when all pass. */
  function failureIn(root: string): string | undefined {
    // The bin itself, as `kvip` on PATH runs it (its shebang), so its mode survived pack and install.
    const version = run(join(root, 'dist/cli/bin.js'), ['version'], work);
    if (version.code !== 0 || version.out !== `kvip ${pkg.version}\n`)
      return `kvip version: exit ${version.code}: ${version.out}${version.err}`;
    const script =
      `const n = await import(${JSON.stringify(join(root, 'dist/native/index.js'))});` +
      'const [lo] = n.loadNative().links(1);' +
      'console.log(JSON.stringify({ path: n.nativeAddonPath(), name: lo && lo.name }));';
    const addon = run(process.execPath, ['--input-type=module', '-e', script], work);
    const expected = JSON.stringify({
      path: join(root, 'native/build/Release/kvip_native.node'),
      name: 'lo',
    });
    if (addon.code !== 0 || addon.out.trim() !== expected)
      return `the addon: exit ${addon.code}: ${addon.out}${addon.err}`;
    const manifest = run(
      process.execPath,
      [join(root, 'dist/cli/bin.js'), 'manifest', 'pod', ...MANIFEST_ARGS],
      work,
    );
    if (manifest.code !== 0 || manifest.err !== '')
      return `kvip manifest pod: exit ${manifest.code}: ${manifest.err}`;
    return undefined;
  }

  it("runs from exactly the runtime stage's files: version, the addon, a manifest", () => {
    expect(failureIn(runtime)).toBeUndefined();
    const manifest = (kind: string) =>
      parseAllDocuments(
        mustRun(
          process.execPath,
          [join(runtime, 'dist/cli/bin.js'), 'manifest', kind, ...MANIFEST_ARGS],
          work,
        ),
      ).map((d) => d.toJS() as Record<string, unknown>);
    const pod = manifest('pod');
    expect(pod).toHaveLength(1);
    expect(pod[0]).toMatchObject({
      kind: 'Pod',
      spec: {
        hostNetwork: true,
        containers: [
          {
            image: `ghcr.io/kvip/kvip:${pkg.version}`,
            args: ['start'],
            env: expect.arrayContaining([
              { name: 'vip_arp', value: 'true' },
              { name: 'vip_interface', value: 'eth0' },
              { name: 'vip_leaderelection', value: 'true' },
              { name: 'vip_address', value: '198.51.100.10' },
            ]) as unknown,
            // It reads kubeadm's root-only admin.conf: root, with the two capabilities only.
            securityContext: {
              runAsUser: 0,
              capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] },
            },
          },
        ],
      },
    });
    expect(manifest('daemonset')[0]).toMatchObject({
      kind: 'DaemonSet',
      spec: {
        template: {
          spec: { containers: [{ securityContext: { runAsNonRoot: true, runAsUser: IMAGE_UID } }] },
        },
      },
    });
  });

  it("needs each of the runtime stage's files (the licence is there for its own sake)", () => {
    const needed = files.filter((f) => f.rel !== 'LICENSE');
    expect(needed.length).toBeGreaterThanOrEqual(4);
    for (const f of needed) {
      const path = join(runtime, f.dest);
      renameSync(path, `${path}.away`);
      try {
        expect([f.dest, failureIn(runtime)]).toEqual([f.dest, expect.any(String)]);
      } finally {
        renameSync(`${path}.away`, path);
      }
    }
  });
});
