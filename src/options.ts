/**
 * Options of {@link Wal.open} and their validation.
 * @module
 */
import { WalInvalidArgumentError } from './errors';
import type { NativeOptions } from './native';

/**
 * When appended records are made durable without being asked:
 * - `'none'` (default): only by `sync()`, `write()` and `close()`;
 * - `'always'`: before `append()` returns (each append waits for the disk);
 * - `{ everyBytes: n }`: in the background after `n` bytes;
 * - `{ everyMs: n }`: in the background at most `n` ms after an append.
 *
 * `write()` is durable when its promise resolves under every policy.
 */
export type SyncPolicy = 'none' | 'always' | { everyBytes: number } | { everyMs: number };

/**
 * What opening does about damage:
 * - `'tolerateTail'` (default): a torn tail (a crash mid-write) is cut off and
 *   reported in {@link Wal.recovery}; any other damage throws `WalCorruptError`;
 * - `'absolute'`: any damage throws, a torn tail included;
 * - `'salvage'`: read-only; keeps every record up to the first damage.
 */
export type RecoveryMode = 'tolerateTail' | 'absolute' | 'salvage';

/** Retention for logs used as a stream (checked when a segment fills up). */
export interface RetentionOptions {
  /** Drop sealed segments whose newest entry is older than this. */
  maxAgeMs?: number;
  /** Keep at least this many segments whatever their age. */
  minSegments?: number;
  /** Keep at most this many segments. */
  maxSegments?: number;
}

/** Options of {@link Wal.open}. */
export interface WalOptions {
  /** Bytes per segment file, a multiple of 4096 (default 64 MiB). */
  segmentSize?: number;
  /** Largest record accepted, in bytes (default 16 MiB). */
  maxRecordSize?: number;
  /** Background sync policy (default `'none'`). */
  sync?: SyncPolicy;
  /** Recovery mode (default `'tolerateTail'`). */
  recovery?: RecoveryMode;
  /** Open without the directory lock; every write throws `WalReadOnlyError`. */
  readOnly?: boolean;
  /** Application tag stored in every segment; a log with another tag is refused. */
  marker?: number;
  /** Retention policy. */
  retention?: RetentionOptions;
  /** Fault in new segments' pages ahead of use (default true). */
  prefault?: boolean;
}

const KNOWN = new Set([
  'segmentSize',
  'maxRecordSize',
  'sync',
  'recovery',
  'readOnly',
  'marker',
  'retention',
  'prefault',
]);

function count(v: unknown, what: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new WalInvalidArgumentError(`${what} must be a non-negative integer, got ${String(v)}`);
  }
  return v;
}

/** Validates user options and translates them for the native layer. @internal */
export function toNative(options: WalOptions = {}): NativeOptions {
  if (typeof options !== 'object' || options === null) {
    throw new WalInvalidArgumentError('options must be an object');
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new WalInvalidArgumentError(`unknown option ${JSON.stringify(key)}`);
  }
  const out: NativeOptions = {
    segmentSize: count(options.segmentSize, 'segmentSize'),
    maxRecordSize: count(options.maxRecordSize, 'maxRecordSize'),
    recovery: options.recovery,
    readOnly: options.readOnly,
    marker: count(options.marker, 'marker'),
    prefault: options.prefault,
    retentionMaxAgeMs: count(options.retention?.maxAgeMs, 'retention.maxAgeMs'),
    retentionMinSegments: count(options.retention?.minSegments, 'retention.minSegments'),
    retentionMaxSegments: count(options.retention?.maxSegments, 'retention.maxSegments'),
  };
  const sync = options.sync ?? 'none';
  if (sync === 'none' || sync === 'always') {
    out.sync = sync;
  } else if (typeof sync === 'object' && sync !== null && 'everyBytes' in sync) {
    out.sync = 'bytes';
    out.syncInterval = count(sync.everyBytes, 'sync.everyBytes');
  } else if (typeof sync === 'object' && sync !== null && 'everyMs' in sync) {
    out.sync = 'ms';
    out.syncInterval = count(sync.everyMs, 'sync.everyMs');
  } else {
    throw new WalInvalidArgumentError(`unknown sync policy ${JSON.stringify(sync)}`);
  }
  if (options.recovery !== undefined && !['tolerateTail', 'absolute', 'salvage'].includes(options.recovery)) {
    throw new WalInvalidArgumentError(`unknown recovery mode ${JSON.stringify(options.recovery)}`);
  }
  return out;
}
