// kvip's JSON log lines (pino, one object a line) from a rig's log files: each with its wall-clock time and
// message, plus whatever fields the caller expects (kvip's own timings, such as firstCallMs or writtenMs).

export type KvipLogLine<Fields> = Fields & { t: number; msg: string };

/** Every JSON line of `texts` (all runs of kvip on one node) that has a time and a message, in order. */
export function kvipLogLines<Fields extends object>(texts: string[]): KvipLogLine<Fields>[] {
  const out: KvipLogLine<Fields>[] = [];
  for (const line of texts.join('\n').split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const o = JSON.parse(line) as { time?: string; msg?: string } & Fields;
      if (o.time && o.msg) out.push({ ...o, msg: o.msg, t: Date.parse(o.time) });
    } catch {
      // not a log line
    }
  }
  return out;
}
