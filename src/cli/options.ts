// Schema options as commander options: one visible flag per option (aliases hidden), help text with the
// env names and the default, and no commander defaults so the loader can tell "set" from "default".
import { Command, Option } from 'commander';
import { OPTIONS, spec, type OptionKey, type RawInput } from '../config/index.js';
import { KUBE_VIP_ONLY } from '../config/kube-vip.js';

function camel(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function describe(key: OptionKey): string {
  const s = spec(key);
  const parts: string[] = [];
  if (s.env.length > 0) parts.push(`env: ${s.env.join(', ')}`);
  const d = s.default;
  const shown = Array.isArray(d) ? d.join(',') : d;
  if (!s.sensitive && shown !== '' && shown !== null && shown !== undefined)
    parts.push(`default: ${String(shown)}`);
  return parts.length > 0 ? `${s.doc} (${parts.join('; ')})` : s.doc;
}

export function addSchemaOptions(cmd: Command, keys: readonly OptionKey[]): Command {
  for (const key of keys) {
    const s = spec(key);
    s.flags.forEach((flag, i) => {
      const value = s.placeholder ? `<${s.placeholder}>` : '[bool]';
      const opt = new Option(`${flag} ${value}`, i === 0 ? describe(key) : `alias of ${s.flags[0]}`);
      if (i > 0) opt.hideHelp();
      cmd.addOption(opt);
    });
  }
  return cmd;
}

/** Collect what the user typed, keyed by option, with the flag name as typed (for error messages). */
export function rawInput(cmd: Command, keys: readonly OptionKey[], env: NodeJS.ProcessEnv): RawInput {
  const opts = cmd.opts<Record<string, string | boolean | undefined>>();
  const flags: RawInput['flags'] = {};
  for (const key of keys) {
    for (const flag of OPTIONS[key].flags) {
      const value = opts[camel(flag)];
      if (value !== undefined && flags[key] === undefined) flags[key] = { value, name: flag };
    }
  }
  return { flags, env };
}

/** kube-vip's options kvip does not implement: accepted, hidden from help, so that kube-vip's manifests run. */
export function addKubeVipOptions(cmd: Command): Command {
  for (const o of KUBE_VIP_ONLY)
    cmd.addOption(new Option(`${o.flag} ${o.kvip === undefined ? '<value>' : '[bool]'}`).hideHelp());
  return cmd;
}

/** The kube-vip-only flags that were given, keyed by flag name. */
export function kubeVipFlags(cmd: Command): Record<string, string | boolean> {
  const opts = cmd.opts<Record<string, string | boolean | undefined>>();
  const flags: Record<string, string | boolean> = {};
  for (const o of KUBE_VIP_ONLY) {
    const value = opts[camel(o.flag)];
    if (value !== undefined) flags[o.flag] = value;
  }
  return flags;
}
