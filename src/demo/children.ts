// Processes run inside network namespaces (`ip netns exec` execs the command, so the child's pid is the
// program's own), tracked so that clean-up can kill every one of them synchronously.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { dirname, extname, join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
const ext = extname(here); // '.js' when built, '.ts' under tsx or jest

/**
 * node's argv for one of kvip's own scripts, by its path below src/ without extension ('demo/probe',
 * 'cli/bin'): the built file, or the source through tsx when this module runs from source.
 */
export function script(path: string): string[] {
  const file = join(dirname(here), '..', `${path}${ext}`);
  return ext === '.ts' ? ['--import', 'tsx', file] : [file];
}

export class Children {
  private readonly live = new Set<ChildProcess>();

  /**
   * Runs argv in namespace `ns`, in its own process group (a ^C at the terminal reaches only the demo, which
   * then stops everything in order). stdout is a pipe unless `stdio` says otherwise.
   */
  spawn(
    ns: string,
    argv: string[],
    o: { stdio?: StdioOptions; env?: Record<string, string>; cwd?: string } = {},
  ): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, ...argv], {
      stdio: o.stdio ?? ['ignore', 'pipe', 'ignore'],
      // jest's --experimental-vm-modules (or anything else in NODE_OPTIONS) is not for the child.
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', NODE_OPTIONS: '', ...o.env },
      detached: true,
      ...(o.cwd ? { cwd: o.cwd } : {}),
    });
    this.live.add(child);
    child.once('exit', () => this.live.delete(child));
    child.once('error', () => this.live.delete(child));
    return child;
  }

  /** spawn(), then wait for the line saying it is ready (killed if that never comes). */
  async spawnReady(
    ns: string,
    argv: string[],
    marker: RegExp,
    what: string,
    o: Parameters<Children['spawn']>[2] = {},
  ): Promise<ChildProcess> {
    const child = this.spawn(ns, argv, o);
    try {
      await lineMatching(child, marker, what);
    } catch (err) {
      child.kill('SIGKILL');
      throw err;
    }
    return child;
  }

  /** Lets this process exit while the children go on running (their output pipes closed). */
  release(): void {
    for (const child of this.live) {
      child.stdout?.destroy();
      child.unref();
    }
    this.live.clear();
  }

  /** SIGKILLs every child still running (synchronous: safe in signal and exit handlers). */
  killAll(): void {
    for (const child of this.live) child.kill('SIGKILL');
    this.live.clear();
  }
}

const readers = new WeakMap<ChildProcess, Interface>();

/** The lines `child` prints on stdout: one reader per child, so no reader misses what another took in. */
export function stdoutLines(child: ChildProcess): Interface {
  let lines = readers.get(child);
  if (!lines) readers.set(child, (lines = createInterface({ input: child.stdout! })));
  return lines;
}

/** Resolves once `child` prints a line matching `marker`; rejects if it exits first or after `ms`. */
export function lineMatching(child: ChildProcess, marker: RegExp, what: string, ms = 20000): Promise<void> {
  return new Promise((resolve, reject) => {
    const lines = stdoutLines(child);
    const onLine = (line: string) => {
      if (marker.test(line)) done();
    };
    const done = (err?: Error) => {
      clearTimeout(timer);
      child.off('exit', onExit);
      lines.off('line', onLine);
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => done(new Error(`${what} did not start within ${ms} ms`)), ms);
    const onExit = (code: number | null, signal: string | null) =>
      done(new Error(`${what} exited (${signal ?? `code ${code}`}) before it was ready`));
    child.once('exit', onExit);
    lines.on('line', onLine);
  });
}
