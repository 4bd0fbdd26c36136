// `kvip demo` end to end: the built CLI as a user runs it (no terminal, so plain lines), the whole tour,
// then interrupted at two points. Afterwards none of its namespaces, files or processes may be left.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { namespacesWithPrefix } from '../../src/demo/netns.js';
import { describeNetns } from '../helpers/netns.js';

const BIN = fileURLToPath(new URL('../../dist/cli/bin.js', import.meta.url));
const RUN_BOUND_MS = 120000; // functional deadline only

interface DemoRun {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  ended: Promise<{ code: number | null; signal: string | null }>;
}

function startDemo(): DemoRun {
  let out = '';
  let err = '';
  const child = spawn(process.execPath, [BIN, 'demo'], {
    env: { PATH: process.env.PATH, CI: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const ended = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, out: () => out, err: () => err, ended };
}

async function until(cond: () => boolean, what: string, ms = RUN_BOUND_MS): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The namespace prefix and the directory the demo says it uses (its second line). */
function whatItMade(out: string): { prefix: string; dir: string } {
  const m = /namespaces (kvd[a-z0-9]+-)\{[^}]*\}, files in (\S+)/.exec(out);
  if (!m) throw new Error(`no namespaces line in: ${out}`);
  return { prefix: m[1] as string, dir: m[2] as string };
}

/** Processes whose command line names `dir` (every kvip, the Lease API: their kubeconfigs are in it). */
function processesUsing(dir: string): string[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dir);
      } catch {
        return false; // gone meanwhile
      }
    });
}

async function expectNothingLeft(made: { prefix: string; dir: string }): Promise<void> {
  expect(namespacesWithPrefix(made.prefix)).toEqual([]);
  expect(existsSync(made.dir)).toBe(false);
  // SIGKILLed just before the demo exited: give the kernel a moment to reap them.
  await until(() => processesUsing(made.dir).length === 0, `no process left using ${made.dir}`, 5000);
}

describeNetns('kvip demo', () => {
  let run: DemoRun | undefined;
  afterEach(async () => {
    // A failed test must not leave the demo running: it cleans up after SIGTERM.
    if (run && run.child.exitCode === null && run.child.signalCode === null) {
      run.child.kill('SIGTERM');
      await run.ended;
    }
    run = undefined;
  });

  it(
    'runs the tour: exit 0, two measured outages, the key log lines of each node, nothing left afterwards',
    async () => {
      run = startDemo();
      const { code } = await run.ended;
      const out = run.out();
      expect(run.err()).toBe('');
      expect(code).toBe(0);
      const made = whatItMade(out);
      // Rows of the timeline, one a second, with who holds the lease and who answered.
      expect(out).toMatch(/^ +\d+s {2}lease n\d +\|[123. ]{50}\| n\d/m);
      const outages = [...out.matchAll(/^ {2}\d\. (.*) (n\d) -> (n\d) +(\d+) ms$/gm)];
      expect(outages.map((m) => m[1]!.split(':')[0]!.trim())).toEqual([
        `SIGTERM to ${outages[0]![2]}`,
        `${outages[1]![2]} dies (SIGKILL, link cut)`,
      ]);
      // Three different nodes led in turn: the first stopped, the second died, the third took over.
      const [first, second, third] = [outages[0]![2], outages[0]![3], outages[1]![3]];
      expect(outages[1]![2]).toBe(second);
      expect(new Set([first, second, third]).size).toBe(3);
      const log = out.slice(out.indexOf('What kvip logged'));
      const said = (node: string, msg: string) =>
        new RegExp(`^ {2}${node} +\\+[\\d.]+s {2}${msg}`, 'm').test(log);
      for (const node of [first, second, third] as string[]) {
        expect(said(node, 'successfully acquired lease')).toBe(true);
        expect(said(node, 'added the virtual IP')).toBe(true);
      }
      expect(said(first!, 'removed the virtual IP')).toBe(true);
      expect(said(first!, 'released the lease')).toBe(true);
      expect(said(second!, 'released the lease')).toBe(false); // killed: it never got to
      await expectNothingLeft(made);
    },
    RUN_BOUND_MS + 10000,
  );

  it.each([
    ['while it builds the cluster', /^ {2}namespaces /m],
    ['in the middle of the tour', /SIGTERM to n\d's kvip/],
  ])(
    'SIGINT %s: exit 130, everything it made is gone',
    async (_when, moment) => {
      run = startDemo();
      await until(() => moment.test(run!.out()), `the demo to print ${moment}`);
      const made = whatItMade(run.out());
      run.child.kill('SIGINT');
      const { code } = await run.ended;
      expect(run.err()).toMatch(/kvip demo: SIGINT: cleaning up\n$/);
      expect(code).toBe(130);
      await expectNothingLeft(made);
    },
    RUN_BOUND_MS + 10000,
  );
});
