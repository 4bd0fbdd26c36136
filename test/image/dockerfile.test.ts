// docker/Dockerfile against the repository, since CI has no Docker engine to build it: the build stage copies
// from the context only what exists and .dockerignore lets through, and everything `npm pack` ships and tsc
// needs lands where the repository has it; the runtime stage takes only the production install, runs as the
// user the manifests expect, and gives node the capabilities it is documented to. That the runtime stage's
// COPY lines are enough, and each one needed, is production-install.test.ts's job.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { basename, posix } from 'node:path';
import { IMAGE_UID } from '../../src/manifest/common.js';
import {
  copies,
  dockerignored,
  last,
  loadDockerfile,
  productionInstallDir,
  readDockerignore,
  runtimeFiles,
  ROOT,
  type Copy,
  type Stage,
} from './dockerfile.js';

const stages = loadDockerfile();
const build = stages.find((s) => s.name === 'build') as Stage;
const runtime = stages.at(-1) as Stage;
const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { bin: Record<string, string> };

/** Where each context path lands, relative to the stage's WORKDIR (as Docker places COPY sources). */
function landings(stage: Stage): Map<string, string> {
  const out = new Map<string, string>();
  for (const c of copies(stage).filter((x) => x.from === undefined)) {
    const dest = posix.normalize(c.dest);
    const intoDir = c.dest.endsWith('/') || c.sources.length > 1;
    for (const src of c.sources) out.set(src, intoDir ? posix.join(dest, basename(src)) : dest);
  }
  return out;
}

/** The path a repository file gets in the stage, through the COPY that brings it (a file, or a directory). */
function landing(stage: Stage, file: string): string | undefined {
  for (const [src, dest] of landings(stage)) {
    if (file === src) return dest;
    if (file.startsWith(`${src}/`)) return posix.join(dest, file.slice(src.length + 1));
  }
  return undefined;
}

describe('docker/Dockerfile', () => {
  it('has a build stage with the toolchain and a runtime stage from a slim base', () => {
    expect(stages.map((s) => s.name)).toEqual(['build', undefined]);
    expect(build.from).toMatch(/^node:20-bookworm$/);
    expect(runtime.from).toMatch(/^debian:bookworm-slim$/); // the same Debian release as the build stage
  });

  it('copies from the context only files that exist and that .dockerignore lets through', () => {
    const ignore = readDockerignore();
    const fromContext: Copy[] = stages.flatMap((s) => copies(s).filter((c) => c.from === undefined));
    expect(fromContext.length).toBeGreaterThan(0);
    for (const src of fromContext.flatMap((c) => c.sources)) {
      expect([src, existsSync(`${ROOT}${src}`)]).toEqual([src, true]);
      expect([src, dockerignored(ignore, src)]).toEqual([src, false]);
    }
    // What the repository builds or installs locally never goes into the context.
    for (const local of ['node_modules', 'dist', 'native/build', '.git'])
      expect([local, dockerignored(ignore, local)]).toEqual([local, true]);
  });

  it('the build stage has every file `npm pack` ships (dist it builds itself), each at its own path', () => {
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
        cwd: ROOT,
        encoding: 'utf8',
      }),
    ) as { files: { path: string }[] }[];
    const files = packed[0]!.files.map((f) => f.path).filter((p) => !p.startsWith('dist/'));
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE']));
    expect(files.some((f) => f.startsWith('native/src/'))).toBe(true);
    for (const f of files) expect([f, landing(build, f)]).toEqual([f, f]);
  });

  it('the build stage has what `npm run build` (tsc -p tsconfig.build.json) reads and the lock file', () => {
    const tsconfig = JSON.parse(readFileSync(`${ROOT}tsconfig.build.json`, 'utf8')) as {
      extends: string;
      include: string[];
    };
    const needed = ['tsconfig.build.json', posix.normalize(tsconfig.extends), ...tsconfig.include];
    needed.push('package-lock.json');
    for (const f of needed) expect([f, landing(build, f)]).toEqual([f, f]);
  });

  it('the build stage makes the production install the way production-install.test.ts does', () => {
    const run = build.instructions.map((i) => i.args).join('\n');
    const dir = productionInstallDir(build);
    expect(run).toMatch(
      /npm pack --pack-destination (\S+) .*tar -xzf \1\/kvip-\*\.tgz -C (\S+) --strip-components=1/,
    );
    expect(run).toContain(`cp package-lock.json ${dir}/`);
    expect(run).toContain(`cd ${dir} && npm ci --omit=dev`);
  });

  it('the runtime stage copies only from the production install, into the same layout', () => {
    const dir = productionInstallDir(build);
    expect(last(runtime, 'WORKDIR')).toBe(dir);
    const files = runtimeFiles(runtime, dir); // throws for a COPY from anywhere else
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(f.dest).toBe(f.rel);
  });

  it("runs kvip's bin as the non-root user the manifests expect, on a node with the capabilities +p", () => {
    expect(last(runtime, 'USER')).toBe(`${IMAGE_UID}:${IMAGE_UID}`);
    const entrypoint = JSON.parse(last(runtime, 'ENTRYPOINT')!) as string[];
    const [node, script] = entrypoint;
    expect(script).toBe(posix.join(last(runtime, 'WORKDIR')!, pkg.bin.kvip!));
    const run = runtime.instructions.map((i) => i.args).join('\n');
    // Permitted only, not effective: see the Dockerfile's header (and the nonroot netns test).
    expect(run).toContain(`setcap cap_net_admin,cap_net_raw+p ${node}`);
    expect(run).not.toMatch(/setcap \S*\+\S*e/);
    expect(JSON.parse(last(runtime, 'CMD')!)).toEqual(['start']);
  });
});
