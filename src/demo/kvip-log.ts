// kvip's JSON log lines (pino, one object a line), as the benches and `kvip demo` read them from log files:
// each with its wall-clock time and message, plus whatever fields the caller expects (kvip's own timings,
// such as firstCallMs or writtenMs).

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

/** The messages that tell a failover's story: leadership, the VIP, the lease, shutting down. */
const STORY =
  /^(successfully acquired lease|stopped leading|released the lease|this node is leader|shutting down|(added|removed) (the|a stale) virtual IP|Broadcasting (gratuitous ARP|unsolicited neighbour)|the virtual IP was missing|giving up the lease|fatal error|BGP session with .* (established|down)|announced the virtual IP over BGP|BGP withdraw written|the health check (passes|failed|does not pass))/;

/** Whether a log line of kvip belongs in the demo's account of what each node did. */
export function isStoryLine(msg: string): boolean {
  return STORY.test(msg);
}
