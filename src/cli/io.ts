/**
 * What every CLI command shares: where output goes, the exit codes, and the
 * error type that carries one.
 * @internal
 * @module
 */

/** The streams a command writes to (injected so tests can capture them). */
export interface CliIo {
  /** Results: tables, records, JSON. */
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  /** Errors, notes and the progress bar. */
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
}

/**
 * Exit codes of `walnut`; documented in docs/cli.md and `walnut --help`.
 * Scripts may rely on them: they never change meaning.
 */
export const ExitCode = Object.freeze({
  /** Success; for `verify`: every record checked, no damage. */
  OK: 0,
  /** Damage: stored data failed validation (`verify` found it, or a command could not read past it). */
  DAMAGED: 1,
  /** Wrong usage: an unknown command or option, or a bad option value. */
  USAGE: 2,
  /** `verify` only: a torn tail (normal after a crash); nothing acknowledged is damaged. */
  TORN_TAIL: 3,
  /** The directory does not exist, is not a directory, or holds no walnut log. */
  NOT_A_LOG: 4,
  /** Anything else: an I/O error, a permission problem, a failed benchmark. */
  FAILED: 5,
} as const);

/** An error that ends a command with a message and an exit code. */
export class CliError extends Error {
  /** The process exit code. */
  readonly exitCode: number;

  /** @param message what to tell the user
   *  @param exitCode one of {@link ExitCode} */
  constructor(message: string, exitCode: number) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** Writes a line to a stream. */
export function println(stream: NodeJS.WritableStream, line = ''): void {
  stream.write(line + '\n');
}
