import { run } from '../../src/cli/main.js';

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/** The CLI in-process: same parsing, validation and output as the binary, without a process per case. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  // In-process tests run in the host's network namespace: `start` may only ever see interfaces that do not
  // exist (kvnope*), or it would put a VIP on this machine. Namespace tests run the built CLI inside netns.
  if ((args[0] === 'start' || args[0] === 'manager') && !args.includes('--help')) {
    const i = args.indexOf('--interface');
    const iface = i >= 0 ? args[i + 1] : (env.vip_interface ?? '');
    if (!iface?.startsWith('kvnope') && !args.includes('--packet') && !args.includes('--image'))
      throw new Error(`runCli: refusing to run start on interface "${iface}" in the host namespace`);
    // Nor may it listen on the host's port 2112 (other tests, other runs): the metrics server is off unless
    // a test turns it on with --prometheusHTTPServer.
    env = { prometheus_server: '', ...env };
  }
  let out = '';
  let err = '';
  const code = await run(args, {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    env,
  });
  return { code, out, err };
}
