// Runs metal/spec-validator.ts (openapi-backend over the vendored Metal API spec) as a child process for
// metal-contract.test.ts, and asks it about one response at a time.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./metal/spec-validator.ts', import.meta.url));

export interface Verdict {
  operationId: string | null;
  /** The operation declares this status. */
  declared: boolean;
  /** It declares an application/json body for it. */
  json: boolean;
  /** Schema violations (empty when valid or undeclared). */
  errors: string[];
}

export type Question =
  | { method: string; path: string; status: number; body?: unknown }
  | { operationId: string; status: number; body?: unknown };

export interface SpecValidator {
  ask(q: Question): Promise<Verdict>;
  close(): Promise<void>;
}

export async function startSpecValidator(): Promise<SpecValidator> {
  const env = { ...process.env };
  delete env.NODE_OPTIONS; // jest's --experimental-vm-modules is not for the child
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, ['--import', 'tsx', SCRIPT], { env });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pending = new Map<number, (v: Record<string, unknown>) => void>();
  let ready: () => void;
  let failed: (e: Error) => void;
  const started = new Promise<void>((res, rej) => ((ready = res), (failed = rej)));
  void exited.then(() => {
    const e = new Error(`spec validator exited: ${stderr}`);
    failed(e);
    for (const p of pending.values()) p({ error: e.message });
    pending.clear();
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    const msg = JSON.parse(line) as Record<string, unknown>;
    if (msg.ready) return ready();
    const id = msg.id as number;
    pending.get(id)?.(msg);
    pending.delete(id);
  });
  await started;
  let next = 0;
  return {
    ask(q: Question): Promise<Verdict> {
      const id = next++;
      return new Promise((resolve, reject) => {
        pending.set(id, (m) =>
          m.error ? reject(new Error(String(m.error))) : resolve(m as unknown as Verdict),
        );
        child.stdin.write(JSON.stringify({ id, ...q }) + '\n');
      });
    },
    async close(): Promise<void> {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
