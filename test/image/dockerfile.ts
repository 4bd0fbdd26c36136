// docker/Dockerfile as data for the image tests: stages, their instructions (continuations joined, comments
// dropped) and COPY lines. Only what this repository's Dockerfile uses: shell-form COPY with --from, exec-form
// ENTRYPOINT.
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DOCKERFILE = `${ROOT}docker/Dockerfile`;

export interface Instruction {
  op: string;
  args: string;
}

export interface Stage {
  name: string | undefined;
  from: string;
  instructions: Instruction[];
}

export interface Copy {
  /** The stage copied from; undefined: the build context. */
  from: string | undefined;
  sources: string[];
  dest: string;
}

export function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && pending === '')) continue;
    if (line.endsWith('\\')) pending += `${line.slice(0, -1)} `;
    else {
      logical.push(pending + line);
      pending = '';
    }
  }
  if (pending) throw new Error('Dockerfile ends inside a continued line');
  const stages: Stage[] = [];
  for (const line of logical) {
    const m = /^([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`not an instruction: ${line}`);
    const op = m[1]!.toUpperCase();
    const args = m[2]!;
    if (op === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!f) throw new Error(`FROM ${args}`);
      stages.push({ from: f[1]!, name: f[2], instructions: [] });
    } else {
      const stage = stages.at(-1);
      if (!stage) throw new Error(`${op} before FROM`);
      stage.instructions.push({ op, args });
    }
  }
  return stages;
}

export function copies(stage: Stage): Copy[] {
  return stage.instructions
    .filter((i) => i.op === 'COPY')
    .map((i) => {
      if (i.args.startsWith('[')) throw new Error(`exec-form COPY is not handled: COPY ${i.args}`);
      const words = i.args.split(/\s+/);
      let from: string | undefined;
      while (words[0]?.startsWith('--')) {
        const flag = words.shift()!;
        if (flag.startsWith('--from=')) from = flag.slice('--from='.length);
        else throw new Error(`COPY flag ${flag} is not handled`);
      }
      const dest = words.pop();
      if (!dest || words.length === 0) throw new Error(`COPY ${i.args}: no source`);
      return { from, sources: words, dest };
    });
}

export function loadDockerfile(): Stage[] {
  return parseDockerfile(readFileSync(DOCKERFILE, 'utf8'));
}

/** The args of the one instruction `op` of a stage (the last, as Docker uses it). */
export function last(stage: Stage, op: string): string | undefined {
  return stage.instructions.filter((i) => i.op === op).at(-1)?.args;
}

/** .dockerignore's patterns (only the forms it uses: a path, or `*.ext` anywhere at the top). */
export function dockerignored(patterns: string[], path: string): boolean {
  return patterns.some((p) => {
    if (p.startsWith('*.')) return !path.includes('/') && path.endsWith(p.slice(1));
    return path === p || path.startsWith(`${p}/`);
  });
}

export function readDockerignore(): string[] {
  return readFileSync(`${ROOT}.dockerignore`, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** The production install's directory in the build stage: where it runs `npm ci --omit=dev`. */
export function productionInstallDir(build: Stage): string {
  const run = build.instructions
    .filter((i) => i.op === 'RUN')
    .map((i) => i.args)
    .find((a) => a.includes('npm ci --omit=dev'));
  const m = run ? /cd (\/\S+) && npm ci --omit=dev/.exec(run) : null;
  if (!m) throw new Error('the build stage has no `cd <dir> && npm ci --omit=dev`');
  return m[1]!;
}

/** One source of a runtime COPY: its path inside the production install and where it lands under WORKDIR. */
export interface RuntimeFile {
  rel: string;
  dest: string;
}

/** The runtime stage's COPY --from=build sources (those outside the production install throw). */
export function runtimeFiles(runtime: Stage, installDir: string): RuntimeFile[] {
  return copies(runtime).flatMap((c) =>
    c.sources.map((src) => {
      if (c.from !== 'build' || !src.startsWith(`${installDir}/`))
        throw new Error(`runtime COPY ${src} (from ${c.from ?? 'the context'}) is not from ${installDir}`);
      const rel = src.slice(installDir.length + 1);
      const intoDir = c.dest.endsWith('/') || c.sources.length > 1;
      return { rel, dest: posix.normalize(intoDir ? posix.join(c.dest, posix.basename(rel)) : c.dest) };
    }),
  );
}
