/**
 * Reading every record of an open log, so that each record's CRC32C is
 * checked, while drawing progress and collecting damage instead of stopping
 * at the first bad record.
 * @internal
 * @module
 */
import { WalCorruptError } from '../errors';
import type { Wal } from '../wal';
import type { Progress } from './progress';

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

const CHUNK_RECORDS = 4096;
const CHUNK_BYTES = 8 << 20;

/** Where a corruption error says the damage is. */
export function damageOf(err: WalCorruptError): DamageReport {
  return { file: err.file, offset: err.offset, index: err.index, reason: err.reason };
}

/**
 * Reads records `[from, to]` of `wal`, calling `each` with every valid one.
 * A damaged record is reported and skipped (the offsets of the others come
 * from the index, so one bad record does not hide the rest).
 */
export function scan(
  wal: Wal,
  from: number,
  to: number,
  progress: Progress | undefined,
  each?: (index: number, data: Buffer) => void,
): ScanResult {
  const started = performance.now();
  const result: ScanResult = { records: 0, bytes: 0, damaged: [], ms: 0 };
  const ok = (index: number, data: Buffer): void => {
    result.records++;
    result.bytes += data.length;
    each?.(index, data);
  };
  let next = from;
  while (next <= to) {
    const end = Math.min(to + 1, next + CHUNK_RECORDS);
    try {
      const chunk = wal.readRange(next, end, { maxBytes: CHUNK_BYTES });
      for (const e of chunk) ok(e.index, e.data);
      next += chunk.length;
    } catch (err) {
      if (!(err instanceof WalCorruptError)) throw err;
      // Find the bad records of this chunk one by one.
      for (; next < end; next++) {
        try {
          ok(next, wal.read(next));
        } catch (e) {
          if (!(e instanceof WalCorruptError)) throw e;
          result.damaged.push(damageOf(e));
        }
      }
    }
    progress?.update(next - from, result.bytes);
  }
  progress?.done();
  result.ms = performance.now() - started;
  return result;
}
