// A test fixture running inside a network namespace, driven one JSON line at a time: it prints one JSON
// line when it starts and one per request (test/vip/fixtures/packet-sender.ts, arp-ops.ts).
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export type Reply = Record<string, unknown> & { error?: { code: string; message: string } };

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export class LineChild {
  private readonly lines: string[] = [];
  private readonly waiters: ((line: string) => void)[] = [];
  private stderr = '';

  private constructor(
    readonly proc: ChildProcessWithoutNullStreams,
    private readonly name: string,
  ) {
    createInterface({ input: proc.stdout }).on('line', (line) => {
      const waiter = this.waiters.shift();
      if (waiter) waiter(line);
      else this.lines.push(line);
    });
    proc.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }

  /**
   * Starts `node --import tsx <fixture> <args>` inside ns and returns it with its first line; `wrap` may
   * wrap the node command line (e.g. in capsh).
   */
  static start(
    ns: string,
    fixture: string,
    args: string[],
    wrap?: (nodeArgv: string[]) => string[],
  ): Promise<[LineChild, Reply]> {
    const nodeArgv = [process.execPath, '--import', 'tsx', fixture, ...args];
    return LineChild.startArgv(ns, wrap ? wrap(nodeArgv) : nodeArgv, basename(fixture, '.ts'));
  }

  /** Starts any program (argv) inside ns and returns it with its first line; killed if that never comes. */
  static async startArgv(ns: string, argv: string[], name: string): Promise<[LineChild, Reply]> {
    const env = { ...process.env };
    delete env.NODE_OPTIONS; // jest's --experimental-vm-modules is not for the fixture
    const proc = spawn('ip', ['netns', 'exec', ns, ...argv], { cwd: root, env });
    const child = new LineChild(proc, name);
    try {
      return [child, await child.next()];
    } catch (err) {
      child.kill();
      throw err;
    }
  }

  next(timeoutMs = 15_000): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.name}: no reply in ${timeoutMs} ms; stderr: ${this.stderr}`)),
        timeoutMs,
      );
      const take = (line: string): void => {
        clearTimeout(timer);
        try {
          resolve(JSON.parse(line) as Reply);
        } catch {
          reject(new Error(`${this.name}: not JSON: ${line}; stderr: ${this.stderr}`));
        }
      };
      const line = this.lines.shift();
      if (line !== undefined) take(line);
      else this.waiters.push(take);
    });
  }

  request(req: Record<string, unknown>): Promise<Reply> {
    this.proc.stdin.write(`${JSON.stringify(req)}\n`);
    return this.next();
  }

  kill(): void {
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
  }
}
