// `npm run bench -- <name> [options]`: runs one benchmark, prints its tables and a final JSON line.
const benches: Record<string, () => Promise<{ main: (argv: string[]) => Promise<void> }>> = {
  election: () => import('./election.js'),
  failover: () => import('./failover.js'),
  soak: () => import('./soak.js'),
  latency: () => import('./latency.js'),
  'health-gate': () => import('./health-gate.js'),
};

const [name, ...rest] = process.argv.slice(2);
const load = name ? benches[name] : undefined;
if (!load) {
  console.error(`usage: npm run bench -- <${Object.keys(benches).join('|')}> [options]`);
  process.exit(2);
}
await (await load()).main(rest);
