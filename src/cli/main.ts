/**
 * `walnut <command>`: parses the command line, runs the command, turns
 * errors into messages and exit codes. Everything writes to injected
 * streams and returns the exit code, so tests run it in-process.
 * @internal
 * @module
 */
import { parseArgs } from 'node:util';
import { benchCommand } from './bench';
import type { Command, CliContext } from './command';
import { dumpCommand } from './dump';
import { CliError, type CliIo, ExitCode, println } from './io';
import { inspectCommand } from './inspect';
import { verifyCommand } from './verify';

/** Every command, in the order `--help` lists them. */
export const COMMANDS: readonly Command[] = [inspectCommand, verifyCommand, dumpCommand, benchCommand];

function version(): string {
  // dist/cli/main.js and src/cli/main.ts both sit two levels below the package root.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('../../package.json') as { version: string }).version;
}

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `Usage: walnut <command> [options] <dir>

Looks inside a walnut write-ahead log directory. Every command opens the log
read-only: it takes no lock and changes nothing, so it is safe next to a
running writer (it then sees a snapshot).

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Run \`walnut <command> --help\` for a command's options.

Options:
  -h, --help     this help
  -v, --version  the version of walnut

Exit codes: 0 ok, 1 damaged log, 2 wrong usage, 3 torn tail (verify),
4 not a walnut log directory, 5 other failure. See docs/cli.md.`;
}

/**
 * Runs `walnut` with `argv` (without the node and script paths) and resolves
 * with the exit code. Never throws.
 */
export async function run(argv: string[], io: CliIo, ctx: CliContext = {}): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    println(io.stderr, mainHelp());
    return ExitCode.USAGE;
  }
  if (name === '-h' || name === '--help' || name === 'help') {
    const topic = name === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    println(io.stdout, topic ? topic.help : mainHelp());
    return name === 'help' && rest[0] !== undefined && !topic ? usage(io, `unknown command ${JSON.stringify(rest[0])}`) : ExitCode.OK;
  }
  if (name === '-v' || name === '--version') {
    println(io.stdout, version());
    return ExitCode.OK;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) return usage(io, `unknown command ${JSON.stringify(name)}`);
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    return usage(io, (err as Error).message, command);
  }
  if (parsed.values.help) {
    println(io.stdout, command.help);
    return ExitCode.OK;
  }
  try {
    return await command.run(parsed.positionals, parsed.values, io, ctx);
  } catch (err) {
    if (err instanceof CliError) {
      println(io.stderr, `walnut ${command.name}: ${err.message}`);
      if (err.exitCode === ExitCode.USAGE) println(io.stderr, `run \`walnut ${command.name} --help\` for usage`);
      return err.exitCode;
    }
    println(io.stderr, `walnut ${command.name}: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return ExitCode.FAILED;
  }
}

function usage(io: CliIo, message: string, command?: Command): number {
  const who = command ? `walnut ${command.name}` : 'walnut';
  println(io.stderr, `${who}: ${message}`);
  println(io.stderr, `run \`${who} --help\` for usage`);
  return ExitCode.USAGE;
}
