// kvip's command line: subcommands, exit codes and nothing else. Exit codes: 0 done, 1 failed at run time,
// 2 bad input (one line on stderr, nothing on stdout, nothing changed), 3 not implemented yet.
import { Command, CommanderError } from 'commander';
import { ConfigError, loadConfig, OPTION_KEYS, spec, type OptionKey, type Purpose } from '../config/index.js';
import {
  daemonSetManifest,
  podManifest,
  rbacManifest,
  toYaml,
  type ManifestResult,
} from '../manifest/index.js';
import { VERSION } from '../version.js';
import { ElectionConfigError, KubeConfigError, LeaseForbiddenError } from '../election/index.js';
import { kubeVipOnlyWarnings } from '../config/kube-vip.js';
import { addKubeVipOptions, addSchemaOptions, kubeVipFlags, rawInput } from './options.js';
import { runStart } from '../service/run.js';
import { checkFormat, formatReport, runChecks } from '../check/index.js';
import { VipAddressError } from '../vip/address.js';
import { demoRefusal, runDemo, type DemoOptions } from '../demo/demo.js';
import { runStatus, type StatusFormat } from '../status/read.js';

import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from '../exit-codes.js';

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** stdout is a terminal (`kvip demo` draws live, in color). */
  tty?: boolean;
  /** Resolves when `kvip start` should stop; default: SIGTERM or SIGINT. */
  stopSignal?: Promise<string>;
}

/**
 * The first SIGTERM/SIGINT starts the ordered shutdown. The handlers stay installed: a second signal (an
 * impatient ^C, the kubelet repeating itself) must not kill the process with the VIP still configured; the
 * shutdown is bounded anyway.
 */
function processStopSignal(): Promise<string> {
  return new Promise((resolve) => {
    let first: string | undefined;
    for (const sig of ['SIGTERM', 'SIGINT'] as const)
      process.on(sig, () => {
        if (first === undefined) resolve((first = sig));
        else process.stderr.write(`kvip: ${sig} again: already shutting down (bounded)\n`);
      });
  });
}

class ExitRequest extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

const RUNTIME_KEYS = OPTION_KEYS.filter((k) => !spec(k).manifestOnly);
const RBAC_KEYS: OptionKey[] = ['namespace', 'leaseName'];
// What reaching the Lease takes: the same flags and env as `kvip start`.
const STATUS_KEYS: OptionKey[] = [
  'k8sConfigPath',
  'inCluster',
  'apiServer',
  'port',
  'namespace',
  'leaseName',
];

function statusFormat(value: unknown): StatusFormat {
  if (value === 'table' || value === 'json') return value;
  throw new ConfigError(`--output ${String(value)}: table or json`);
}

function buildProgram(io: Io): Command {
  const program = new Command('kvip')
    .description('Keeps the virtual IP of an HA Kubernetes control plane on exactly one healthy node')
    .version(VERSION, '--version', 'print the version')
    .configureOutput({ writeOut: io.out, writeErr: io.err, outputError: () => undefined })
    .exitOverride()
    .showSuggestionAfterError(false);

  program
    .command('version')
    .description('print the version')
    .action(() => io.out(`kvip ${VERSION}\n`));

  // Commands a kube-vip manifest or command line may reach take kube-vip's options kvip does not implement.
  const withOptions = (cmd: Command, keys: readonly OptionKey[]) =>
    addKubeVipOptions(addSchemaOptions(cmd, keys));
  // Warnings only once the config is good: bad input stays one line on stderr. rbac has no kube-vip options.
  const load = (cmd: Command, keys: readonly OptionKey[], purpose: Purpose) => {
    const config = loadConfig(rawInput(cmd, keys, io.env), purpose);
    if (purpose !== 'manifest-rbac')
      for (const w of kubeVipOnlyWarnings(kubeVipFlags(cmd), io.env)) io.err(`${w}\n`);
    return config;
  };

  const manifest = program.command('manifest').description('print the Kubernetes objects that run kvip');
  const emit = (purpose: Purpose, keys: readonly OptionKey[], build: (c: never) => ManifestResult<object>) =>
    function (this: Command) {
      const config = load(this, keys, purpose);
      const { objects, warnings, comments } = build(config as never);
      for (const w of warnings) io.err(`${w}\n`);
      io.out(toYaml(objects, comments));
    };
  withOptions(
    manifest
      .command('pod')
      .description('static pod for kubeadm control-plane nodes (/etc/kubernetes/manifests/)'),
    OPTION_KEYS.filter((k) => k !== 'k3s' && k !== 'packetSecret'),
  ).action(emit('manifest-pod', OPTION_KEYS, podManifest));
  withOptions(
    manifest
      .command('daemonset')
      .description('DaemonSet for the control-plane nodes (k3s: add --k3s for RBAC too)'),
    OPTION_KEYS.filter((k) => k !== 'k8sConfigPath' && k !== 'packetKeyFile'),
  ).action(emit('manifest-daemonset', OPTION_KEYS, daemonSetManifest));
  addSchemaOptions(
    manifest
      .command('rbac')
      .description('ServiceAccount, Role and RoleBinding for the DaemonSet (the Lease only)'),
    RBAC_KEYS,
  ).action(emit('manifest-rbac', RBAC_KEYS, rbacManifest));

  // `manager` is kube-vip's name for it, so a kube-vip manifest's args work unchanged.
  withOptions(
    program.command('start').alias('manager').description('run kvip: elect a leader and hold the VIP'),
    RUNTIME_KEYS,
  ).action(async function (this: Command) {
    const config = load(this, RUNTIME_KEYS, 'start');
    const code = await runStart(config, {
      err: io.err,
      env: io.env,
      stopSignal: io.stopSignal ?? processStopSignal(),
    });
    if (code !== EXIT_OK) throw new ExitRequest(code);
  });
  addSchemaOptions(
    program
      .command('status')
      .description('who leads: the Lease holder, since when, and whether it is still valid'),
    STATUS_KEYS,
  )
    .option('-o, --output <format>', 'table or json', 'table')
    .action(async function (this: Command) {
      const format = statusFormat(this.opts<{ output: unknown }>().output);
      const code = await runStatus(loadConfig(rawInput(this, STATUS_KEYS, io.env), 'status'), format, io);
      if (code !== EXIT_OK) throw new ExitRequest(code);
    });
  withOptions(
    program.command('check').description('tell what is wrong before anything is changed'),
    RUNTIME_KEYS,
  )
    .option('-o, --output <format>', 'table or json', 'table')
    .action(async function (this: Command) {
      const format = checkFormat(this.opts<{ output: unknown }>().output);
      const rows = await runChecks(load(this, RUNTIME_KEYS, 'check'), io.env);
      io.out(formatReport(rows, format));
      if (rows.some((r) => !r.ok)) throw new ExitRequest(EXIT_USAGE);
    });
  program
    .command('demo')
    .description(
      'run a three-node cluster in network namespaces, fail the leader twice, show the outages (root)',
    )
    .option('--mode <mode>', 'arp, or bgp (with BIRD 2 as the router); packet is not in this build', 'arp')
    .option('--keep', 'leave the cluster running at the end, for exploring (prints how to clean up)', false)
    .action(async function (this: Command) {
      const o = this.opts<DemoOptions>();
      const refusal = demoRefusal(o);
      if (refusal !== undefined) {
        io.err(`kvip demo: ${refusal}\n`);
        throw new ExitRequest(EXIT_USAGE);
      }
      const code = await runDemo(o, { out: io.out, err: io.err, tty: io.tty === true, env: io.env });
      if (code !== EXIT_OK) throw new ExitRequest(code);
    });
  return program;
}

/** commander's message without the value of an unknown `--flag=value`: it may be a secret. */
function commanderMessage(err: CommanderError): string {
  const message = err.message.replace(/^error: /, '');
  // commander may append a suggestion ("(Did you mean ...?)"): never echo anything after the name.
  const unknown = /^unknown option '([^']*)'/.exec(message);
  return unknown ? `unknown option '${(unknown[1] as string).split('=')[0]}'` : message;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** Runs the CLI and returns the exit code; never calls process.exit itself (tests call it in-process). */
export async function run(argv: readonly string[], io: Io): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT_OK;
  } catch (err) {
    if (err instanceof ExitRequest) return err.code;
    if (
      err instanceof ConfigError ||
      err instanceof KubeConfigError ||
      err instanceof ElectionConfigError ||
      err instanceof LeaseForbiddenError ||
      err instanceof VipAddressError
    ) {
      io.err(`kvip: ${oneLine(err.message)}\n`);
      return EXIT_USAGE;
    }
    if (err instanceof CommanderError) {
      // --help and --version end here with exit code 0.
      if (err.exitCode === 0) return EXIT_OK;
      // A command group without its subcommand: commander has printed the group's help on stderr.
      if (err.code === 'commander.help') return EXIT_USAGE;
      io.err(`kvip: ${oneLine(commanderMessage(err))}\n`);
      return EXIT_USAGE;
    }
    io.err(`kvip: ${oneLine(err instanceof Error ? err.message : String(err))}\n`);
    return EXIT_FAILED;
  }
}
