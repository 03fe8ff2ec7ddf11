#!/usr/bin/env node
/**
 * The `walnut` command (`npx walnut <command> <dir>`): inspect, verify and
 * dump a log directory, and run the quick benchmark. See docs/cli.md.
 * @internal
 * @module
 */
import { run } from './cli/main';

// `walnut inspect dir | head`: the reader left early. That is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(process.exitCode ?? 0);
});

run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    // exitCode, not exit(): let stdout drain when it is a pipe.
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`walnut: ${String(err)}\n`);
    process.exitCode = 5;
  },
);
