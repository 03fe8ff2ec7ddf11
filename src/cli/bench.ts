/**
 * `walnut bench`: runs the project's benchmark harness (`benchmark/run.js`,
 * quick mode) on this machine; the harness prints the headline table.
 * @internal
 * @module
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from './command';
import { CliError, ExitCode } from './io';

/** Where the harness lives: `benchmark/run.js` at the package root. */
export function defaultBenchScript(): string {
  // This file is dist/cli/bench.js (or src/cli/bench.ts under tsx).
  return path.resolve(__dirname, '..', '..', 'benchmark', 'run.js');
}

/** `walnut bench`. */
export const benchCommand: Command = {
  name: 'bench',
  summary: 'run the quick benchmark on this machine and print the headline table',
  help: `Usage: walnut bench [--full] [-- <harness options>]

Runs walnut's benchmark harness (benchmark/run.js) in quick mode on this
machine, next to the same-run physical baselines, and prints the headline
table. Arguments after "--" go to the harness unchanged.

The harness and its peers (better-sqlite3, lmdb, classic-level) ship with
walnut's source repository, not with the npm package: run this command from
a clone after \`npm ci\` (it is the same as \`npm run bench:quick\`).

Options:
  --full      the full benchmark instead of the quick one (takes much longer)
  -h, --help  this help

Exit codes:
  0  done
  5  the harness is missing or failed`,
  options: {
    full: { type: 'boolean' },
  },
  async run(positionals, values, io, ctx) {
    const script = ctx.benchScript ?? defaultBenchScript();
    if (!fs.existsSync(script)) {
      throw new CliError(
        `the benchmark harness is not part of this installation (${script} is missing).\n` +
          'It ships with the source repository: clone it, run `npm ci`, then `npx walnut bench` or `npm run bench:quick`.',
        ExitCode.FAILED,
      );
    }
    const args = [script, ...(values.full ? [] : ['--quick']), ...positionals];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(io.stdout, { end: false });
    child.stderr.pipe(io.stderr, { end: false });
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (status) => resolve(status));
    });
    if (code !== 0) {
      throw new CliError(`the benchmark harness failed (exit code ${code ?? 'none: killed by a signal'})`, ExitCode.FAILED);
    }
    return ExitCode.OK;
  },
};
