#!/usr/bin/env node
import { run } from './main.js';

process.exitCode = await run(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
});
// Everything kvip owns is closed by now; an idle keep-alive socket of the HTTP client must not hold the
// process (and a pod's termination) open. Unref'd: a process that has nothing left exits at once.
setTimeout(() => process.exit(), 1000).unref();
