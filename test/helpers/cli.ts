import { run } from '../../src/cli/main.js';

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

function interfaceOf(args: string[], env: NodeJS.ProcessEnv): string | undefined {
  const i = args.indexOf('--interface');
  return i >= 0 ? args[i + 1] : (env.vip_interface ?? '');
}

/** The CLI in-process: same parsing, validation and output as the binary, without a process per case. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  // In-process tests run in the host's network namespace: `start` may only ever see interfaces that do not
  // exist (kvnope*), or it would put a VIP on this machine. Namespace tests run the built CLI inside netns.
  if ((args[0] === 'start' || args[0] === 'manager') && !args.includes('--help')) {
    const iface = interfaceOf(args, env);
    if (!iface?.startsWith('kvnope') && !args.includes('--packet') && !args.includes('--image'))
      throw new Error(`runCli: refusing to run start on interface "${iface}" in the host namespace`);
    // Nor may it listen on the host's port 2112 (other tests, other runs): the metrics server is off unless
    // a test turns it on with --prometheusHTTPServer.
    env = { prometheus_server: '', ...env };
  }
  // Nor may `check` send an ARP probe out of a host interface or connect to a BGP peer from here.
  if (args[0] === 'check' && !args.includes('--help') && !args.includes('--packet')) {
    const iface = interfaceOf(args, env);
    if ((!iface?.startsWith('kvnope') && iface !== 'lo') || args.includes('--bgp'))
      throw new Error(`runCli: refusing to run check on "${iface}" (or with --bgp) in the host namespace`);
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
