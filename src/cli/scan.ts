/**
 * Checking every record of an open log, chunk by chunk, while drawing
 * progress and collecting damage instead of stopping at the first bad
 * record.
 * @internal
 * @module
 */
import type { WalCorruptError } from '../errors';
import type { Progress } from './progress';
import type { Checked } from './raw';

/** A record (or a stretch of the log) that failed validation. */
export interface DamageReport {
  /** Segment (or metadata) file. */
  file: string;
  /** Byte offset in that file. */
  offset: number;
  /** Log index expected there. */
  index: number;
  /** What failed to validate. */
  reason: string;
}

/** What a scan found. */
export interface ScanResult {
  /** Records that validated. */
  records: number;
  /** Their payload bytes. */
  bytes: number;
  /** Records that did not. */
  damaged: DamageReport[];
  /** Wall time of the scan. */
  ms: number;
}

// Large enough that the per-call cost vanishes, small enough that the
// progress bar moves several times a second on a slow disk.
const CHUNK = 64 * 1024;

/** Where a corruption error says the damage is. */
export function damageOf(err: WalCorruptError): DamageReport {
  return { file: err.file, offset: err.offset, index: err.index, reason: err.reason };
}

/**
 * Checks records `[from, to]` with `check` (which validates a range the way
 * reads do). A damaged record is reported and the scan goes on: records are
 * found through the index, so one bad record does not hide the rest.
 */
export function scan(
  check: (lo: number, hi: number) => Checked,
  from: number,
  to: number,
  progress: Progress | undefined,
): ScanResult {
  const started = performance.now();
  const result: ScanResult = { records: 0, bytes: 0, damaged: [], ms: 0 };
  for (let lo = from; lo <= to; lo += CHUNK) {
    const c = check(lo, Math.min(to + 1, lo + CHUNK));
    result.records += c.entries;
    result.bytes += c.bytes;
    result.damaged.push(...c.damaged);
    progress?.update(Math.min(to + 1, lo + CHUNK) - from, result.bytes);
  }
  progress?.done();
  result.ms = performance.now() - started;
  return result;
}
