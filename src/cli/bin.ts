#!/usr/bin/env node
import { run } from './main.js';

const code = await run(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
  tty: process.stdout.isTTY === true,
});
process.exitCode = code;
// After a clean stop everything kvip owns is closed; an idle keep-alive socket of the HTTP client must not
// hold the process (and a pod's termination) open: unref'd, a process with nothing left exits at once.
// After a fatal error the elector's timers may still run: exit shortly, once the log lines are out.
const exit = setTimeout(() => process.exit(), code === 0 ? 1000 : 100);
if (code === 0) exit.unref();
