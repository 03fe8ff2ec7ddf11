/**
 * Opening a log directory for the CLI: read-only, so no lock is taken and
 * nothing on disk changes, with clear errors for a wrong directory.
 * @internal
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { WalBadKeyError, WalCorruptError, WalError } from '../errors';
import type { RecoveryMode } from '../options';
import { Wal } from '../wal';
import { CliError, ExitCode } from './io';

const SEGMENT_NAME = /^\d{20}\.seg$/;

/** The files of a log directory, sorted. */
export interface LogDir {
  /** Absolute path. */
  dir: string;
  /** Every file name in it. */
  files: string[];
}

/**
 * Checks that `dir` is a walnut log directory: it exists, is a directory and
 * holds at least one segment file.
 * @throws {@link CliError} with {@link ExitCode.NOT_A_LOG} or {@link ExitCode.FAILED}
 */
export function checkLogDir(dir: string): LogDir {
  const abs = path.resolve(dir);
  let st: fs.Stats;
  try {
    st = fs.statSync(abs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CliError(`${dir}: no such directory`, ExitCode.NOT_A_LOG);
    throw new CliError(`${dir}: ${(err as Error).message}`, ExitCode.FAILED);
  }
  if (!st.isDirectory()) throw new CliError(`${dir}: not a directory (give the log's directory)`, ExitCode.NOT_A_LOG);
  let files: string[];
  try {
    files = fs.readdirSync(abs).sort();
  } catch (err) {
    throw new CliError(`${dir}: cannot list the directory: ${(err as Error).message}`, ExitCode.FAILED);
  }
  if (!files.some((f) => SEGMENT_NAME.test(f))) {
    throw new CliError(
      `${dir}: not a walnut log (no segment files; a log directory holds files named like 00000000000000000001.seg)`,
      ExitCode.NOT_A_LOG,
    );
  }
  return { dir: abs, files };
}

/** Encryption keys for reading an encrypted log, by id. */
export type Keys = { id: number; key: Uint8Array }[];

/**
 * Reads a key file: one key per line, `<id>:<64 hex digits>` (or `<id>
 * <hex>`); blank lines and lines starting with `#` are ignored. Keys come
 * from a file, not the command line, so they stay out of shell history and
 * process listings.
 */
export function readKeyFile(file: string): Keys {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`--key-file ${file}: ${(err as Error).message}`, ExitCode.USAGE);
  }
  const keys: Keys = [];
  text.split(/\r?\n/).forEach((raw, n) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^(\d+)\s*[:\s]\s*([0-9a-fA-F]{64})$/.exec(line);
    if (!m || Number(m[1]) <= 0 || Number(m[1]) > 0xffffffff) {
      throw new CliError(`--key-file ${file}:${n + 1}: expected "<id>:<64 hex digits>"`, ExitCode.USAGE);
    }
    keys.push({ id: Number(m[1]), key: Buffer.from(m[2], 'hex') });
  });
  if (keys.length === 0) throw new CliError(`--key-file ${file}: no keys in it`, ExitCode.USAGE);
  return keys;
}

/** Opens the log read-only: no lock is taken, nothing is written or removed. */
export function openReadOnly(dir: string, recovery: RecoveryMode, keys?: Keys): Promise<Wal> {
  const encryption = keys ? { keys, activeKeyId: keys[0].id } : undefined;
  return Wal.open(dir, { readOnly: true, recovery, encryption });
}

/** Where damage is, in one line. */
export function describeDamage(d: { file: string; offset: number; index: number; reason: string }): string {
  return `${d.file} at byte ${d.offset} (index ${d.index}): ${d.reason}`;
}

/** Turns an error from the library into a {@link CliError} with the right exit code. */
export function toCliError(err: unknown, dir: string): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof WalCorruptError) {
    return new CliError(
      `${dir}: the log is damaged: ${describeDamage(err)}\n` + `run \`walnut verify ${dir}\` for a full report`,
      ExitCode.DAMAGED,
    );
  }
  if (err instanceof WalBadKeyError) {
    return new CliError(
      `${dir}: ${err.message}\nthe log is encrypted: give its keys with --key-file <file> (lines "<id>:<64 hex digits>")`,
      ExitCode.FAILED,
    );
  }
  if (err instanceof WalError) return new CliError(`${dir}: ${err.message} (${err.code})`, ExitCode.FAILED);
  return new CliError(`${dir}: ${err instanceof Error ? err.message : String(err)}`, ExitCode.FAILED);
}
