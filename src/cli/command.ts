/**
 * The shape of a CLI command, and option parsing helpers shared by them.
 * @internal
 * @module
 */
import type { ParseArgsConfig } from 'node:util';
import { CliError, type CliIo, ExitCode } from './io';

/** Parsed options of one command. */
export type Values = Record<string, string | boolean | undefined>;

/** Hooks tests (and only tests) use to replace parts of the environment. */
export interface CliContext {
  /** Path of the benchmark script `walnut bench` runs. */
  benchScript?: string;
  /** Progress bar override: `true` draws even when stderr is not a TTY. */
  progress?: boolean;
  /** Delay before the progress bar first draws, ms. */
  progressDelayMs?: number;
}

/** One `walnut <name>` command. */
export interface Command {
  /** The word after `walnut`. */
  name: string;
  /** One line for the command list. */
  summary: string;
  /** The full `--help` text. */
  help: string;
  /** Its options (parsed with `node:util` parseArgs, strictly). */
  options: NonNullable<ParseArgsConfig['options']>;
  /** Runs it; resolves with the exit code. */
  run(positionals: string[], values: Values, io: CliIo, ctx: CliContext): Promise<number>;
}

/** The single `<dir>` argument of a command. */
export function oneDir(positionals: string[]): string {
  if (positionals.length === 0) throw new CliError('missing <dir>', ExitCode.USAGE);
  if (positionals.length > 1) {
    throw new CliError(`one <dir> expected, got ${positionals.length} arguments`, ExitCode.USAGE);
  }
  return positionals[0];
}

/** A non-negative integer option (a log index or a count), or `undefined`. */
export function intOption(values: Values, key: string): number | undefined {
  const v = values[key];
  if (v === undefined) return undefined;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n)) {
    throw new CliError(`--${key} must be a non-negative integer, got ${JSON.stringify(v)}`, ExitCode.USAGE);
  }
  return n;
}
