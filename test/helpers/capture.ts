// Frames on the wire as the receiving end sees them: tcpdump on an interface inside a namespace, one line
// per frame (-e: the link-level header first, so a line starts with the sender's MAC after the time).
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { waitFor } from './netns.js';

export class Capture {
  readonly frames: string[] = [];
  private stderr = '';

  private constructor(private readonly proc: ChildProcess) {}

  /**
   * Starts tcpdump on ifname in ns with a filter expression; resolves once it is listening. extraArgs go to
   * tcpdump before the filter (e.g. -v for the IP header's TTL, -M <secret> to check TCP MD5 signatures).
   */
  static start(
    ns: string,
    ifname: string,
    filter: string,
    timeoutMs = 10_000,
    extraArgs: string[] = [],
  ): Promise<Capture> {
    // --immediate-mode: each frame as it comes, not when a buffer fills or a timeout passes.
    const args = [
      'netns',
      'exec',
      ns,
      'tcpdump',
      '-i',
      ifname,
      '-nn',
      '-e',
      '-l',
      '--immediate-mode',
      ...extraArgs,
      filter,
    ];
    const proc = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const capture = new Capture(proc);
    createInterface({ input: proc.stdout as NodeJS.ReadableStream }).on('line', (l) =>
      capture.frames.push(l),
    );
    return new Promise((resolve, reject) => {
      const fail = (why: string): void => {
        clearTimeout(timer);
        capture.stop();
        reject(new Error(`tcpdump on ${ifname} in ${ns}: ${why}; stderr: ${capture.stderr}`));
      };
      const timer = setTimeout(() => fail(`not listening after ${timeoutMs} ms`), timeoutMs);
      proc.stderr?.on('data', (d: Buffer) => {
        capture.stderr += d.toString();
        if (capture.stderr.includes('listening on')) {
          clearTimeout(timer);
          resolve(capture);
        }
      });
      proc.on('error', (err) => fail(err.message));
      proc.on('exit', (code, signal) => fail(`exited (${signal ?? code})`)); // no effect once listening
    });
  }

  /** The first frame line that matches, waiting up to timeoutMs for it. */
  waitFor(what: string, match: (line: string) => boolean, timeoutMs = 5000): Promise<string> {
    return waitFor(
      `${what} (frames so far: ${JSON.stringify(this.frames)})`,
      () => this.frames.find(match),
      timeoutMs,
    );
  }

  stop(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
  }
}
