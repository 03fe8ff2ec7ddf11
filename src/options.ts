/**
 * Options of {@link Wal.open} and their validation.
 * @module
 */
import { WalInvalidArgumentError } from './errors';
import type { MemoryStorage } from './memory';
import type { NativeOptions } from './native';

/**
 * When appended records are made durable without being asked:
 * - `'none'` (default): only by `sync()`, `write()` and `close()`;
 * - `'always'`: before `append()` returns (each append waits for the disk);
 * - `{ everyBytes: n }`: in the background after `n` bytes;
 * - `{ everyMs: n }`: in the background at most `n` ms after an append.
 *
 * `write()` is durable when its promise resolves under every policy.
 * @example
 * ```ts
 * const wal = await Wal.open(dir, { sync: { everyMs: 5 } }); // appends are durable within ~5 ms
 * wal.append('event'); // returns at once
 * ```
 */
export type SyncPolicy = 'none' | 'always' | { everyBytes: number } | { everyMs: number };

/**
 * What opening does about damage:
 * - `'tolerateTail'` (default): a torn tail (a crash mid-write) is cut off and
 *   reported in {@link Wal.recovery}; any other damage throws `WalCorruptError`;
 * - `'absolute'`: any damage throws, a torn tail included;
 * - `'salvage'`: read-only; keeps every record up to the first damage.
 * @example
 * ```ts
 * const strict = await Wal.open(dir, { recovery: 'absolute' }); // refuse any damage, even a torn tail
 * const rescue = await Wal.open(dir, { recovery: 'salvage' }); // read-only: what precedes the damage
 * ```
 */
export type RecoveryMode = 'tolerateTail' | 'absolute' | 'salvage';

/**
 * Retention for logs used as a stream (checked when a segment fills up).
 * @example
 * ```ts
 * const wal = await Wal.open(dir, { retention: { maxAgeMs: 24 * 3600_000, minSegments: 2 } });
 * ```
 */
export interface RetentionOptions {
  /** Drop sealed segments whose newest entry is older than this. */
  maxAgeMs?: number;
  /** Keep at least this many segments whatever their age. */
  minSegments?: number;
  /** Keep at most this many segments. */
  maxSegments?: number;
}

/**
 * Compression of new records: an algorithm name, or the algorithm with a
 * size threshold (records smaller than it are stored as they are; default 64
 * bytes) and, for zstd, a level (default 3). Records that do not shrink are
 * stored as they are. Logs with mixed settings read back.
 * @example
 * ```ts
 * await Wal.open(dir, { compression: 'lz4' });
 * await Wal.open(dir, { compression: { algorithm: 'zstd', level: 9, threshold: 256 } });
 * ```
 */
export type CompressionOption =
  | 'none'
  | 'lz4'
  | 'zstd'
  | 'snappy'
  | { algorithm: 'none' | 'lz4' | 'zstd' | 'snappy'; threshold?: number; level?: number };

/**
 * Authenticated encryption at rest (XChaCha20-Poly1305) of record payloads.
 * Give every key still needed to read the log; new segments use `activeKeyId`.
 * A missing or wrong key fails reads with `WalBadKeyError`, never garbage.
 * @example
 * ```ts
 * const key = crypto.randomBytes(32); // keep it outside the log directory
 * const wal = await Wal.open(dir, { encryption: { keys: [{ id: 1, key }], activeKeyId: 1 } });
 * ```
 */
export interface EncryptionOptions {
  /** Keys by id (nonzero); each key is 32 bytes. */
  keys: { id: number; key: Uint8Array }[];
  /** Id of the key for new segments. */
  activeKeyId: number;
}

/**
 * Options of {@link Wal.open}.
 * @example
 * ```ts
 * const wal = await Wal.open('./data/wal', {
 *   segmentSize: 16 << 20,
 *   sync: { everyMs: 2 },
 *   compression: 'lz4',
 *   retention: { maxSegments: 64 },
 * });
 * ```
 */
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
  /** Fault in segment pages a few MiB ahead of the writer, on a background thread (default true). */
  prefault?: boolean;
  /** Compression of new records (default `'none'`). */
  compression?: CompressionOption;
  /** Encryption at rest (default: none). */
  encryption?: EncryptionOptions;
  /** Store the append time with every new entry, for `fromTime` seeks. */
  timestamps?: boolean;
  /** Where the log lives: the file system (default) or a {@link MemoryStorage}. */
  storage?: MemoryStorage;
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
  'compression',
  'encryption',
  'timestamps',
  'storage',
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
  const c = options.compression;
  if (c !== undefined) {
    const spec = typeof c === 'string' ? { algorithm: c } : c;
    if (typeof spec !== 'object' || spec === null || !['none', 'lz4', 'zstd', 'snappy'].includes(spec.algorithm)) {
      throw new WalInvalidArgumentError(`unknown compression ${JSON.stringify(c)}`);
    }
    out.compression = spec.algorithm;
    out.compressionThreshold = count((spec as { threshold?: number }).threshold, 'compression.threshold');
    const level = (spec as { level?: number }).level;
    if (level !== undefined && !Number.isInteger(level)) throw new WalInvalidArgumentError('compression.level must be an integer');
    out.compressionLevel = level;
  }
  const e = options.encryption;
  if (e !== undefined) {
    if (typeof e !== 'object' || e === null || !Array.isArray(e.keys)) {
      throw new WalInvalidArgumentError('encryption must be { keys: [{ id, key }], activeKeyId }');
    }
    out.encryptionKeys = e.keys.map((k, n) => {
      if (!Number.isInteger(k?.id) || k.id <= 0 || k.id > 0xffffffff) {
        throw new WalInvalidArgumentError(`encryption.keys[${n}].id must be a positive 32-bit integer`);
      }
      if (!(k.key instanceof Uint8Array) || k.key.byteLength !== 32) {
        throw new WalInvalidArgumentError(`encryption.keys[${n}].key must be 32 bytes`);
      }
      return { id: k.id, key: Buffer.from(k.key) };
    });
    out.encryptionActive = count(e.activeKeyId, 'encryption.activeKeyId');
  }
  out.timestamps = options.timestamps;
  if (options.recovery !== undefined && !['tolerateTail', 'absolute', 'salvage'].includes(options.recovery)) {
    throw new WalInvalidArgumentError(`unknown recovery mode ${JSON.stringify(options.recovery)}`);
  }
  return out;
}
