/**
 * Every error walnut throws is a {@link WalError} whose `code` is one of the
 * frozen {@link WalErrorCode} constants; branch on `err.code` (or
 * `instanceof` a subclass), never on the message.
 *
 * @module
 */

/**
 * Stable error codes. The values never change between versions.
 * @example
 * ```ts
 * try {
 *   wal.read(1_000_000);
 * } catch (err) {
 *   if (err instanceof WalError && err.code === WalErrorCode.OUT_OF_RANGE) console.log('no such record');
 * }
 * ```
 */
export const WalErrorCode = Object.freeze({
  /** The handle was closed. */
  CLOSED: 'ERR_WAL_CLOSED',
  /** Another handle or process holds the log directory. */
  LOCKED: 'ERR_WAL_LOCKED',
  /** Stored data failed validation where it may not be dropped. */
  CORRUPT: 'ERR_WAL_CORRUPT',
  /** An index outside `[firstIndex, lastIndex]`, or beyond `Number.MAX_SAFE_INTEGER`. */
  OUT_OF_RANGE: 'ERR_WAL_OUT_OF_RANGE',
  /** A record larger than `maxRecordSize`. */
  RECORD_TOO_LARGE: 'ERR_WAL_RECORD_TOO_LARGE',
  /** A wrong argument or option. */
  INVALID_ARGUMENT: 'ERR_WAL_INVALID_ARGUMENT',
  /** The disk is full; nothing was written. */
  NO_SPACE: 'ERR_WAL_NO_SPACE',
  /** Any other I/O failure. */
  IO: 'ERR_WAL_IO',
  /** A sync failed earlier; reopen the log. */
  POISONED: 'ERR_WAL_POISONED',
  /** A transaction outlived its timeout. */
  TX_EXPIRED: 'ERR_WAL_TX_EXPIRED',
  /** The log was opened read-only. */
  READ_ONLY: 'ERR_WAL_READ_ONLY',
  /** A bug in walnut (a caught panic). */
  INTERNAL: 'ERR_WAL_INTERNAL',
  /** An encrypted entry needs a key that was not given, or does not authenticate with it. */
  BAD_KEY: 'ERR_WAL_BAD_KEY',
  /** The log belongs to another application (its segment marker differs). */
  FOREIGN: 'ERR_WAL_FOREIGN',
  /** Raft storage: the index asked for was dropped by compaction. */
  RAFT_COMPACTED: 'ERR_RAFT_COMPACTED',
  /** Raft storage: the index asked for is beyond the last index. */
  RAFT_UNAVAILABLE: 'ERR_RAFT_UNAVAILABLE',
  /** Raft storage: a snapshot no newer than the stored one. */
  RAFT_SNAPSHOT_OUT_OF_DATE: 'ERR_RAFT_SNAPSHOT_OUT_OF_DATE',
  /** Raft storage: entries that would leave a gap after the last index. */
  RAFT_LOG_GAP: 'ERR_RAFT_LOG_GAP',
} as const);

/**
 * One of the {@link WalErrorCode} values.
 * @example
 * ```ts
 * function retryable(code: WalErrorCode): boolean {
 *   return code === WalErrorCode.NO_SPACE;
 * }
 * ```
 */
export type WalErrorCode = (typeof WalErrorCode)[keyof typeof WalErrorCode];

/**
 * Base class of walnut's errors.
 *
 * @example
 * ```ts
 * try { wal.read(42) } catch (err) {
 *   if (err instanceof WalError && err.code === WalErrorCode.OUT_OF_RANGE) { ... }
 * }
 * ```
 */
export class WalError extends Error {
  /** The stable code of this error. */
  readonly code: WalErrorCode;

  /** @param message human-readable description
   *  @param code stable code
   *  @param options standard error options (`cause`) */
  constructor(message: string, code: WalErrorCode, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }

  override get name(): string {
    return this.constructor.name;
  }
}

/**
 * Thrown by any call on a closed handle.
 * @example
 * ```ts
 * await wal.close();
 * wal.append('late'); // throws WalClosedError
 * ```
 */
export class WalClosedError extends WalError {
  /** @param message description */
  constructor(message = 'the log is closed') {
    super(message, WalErrorCode.CLOSED);
  }
}

/**
 * The directory is locked by another handle or process.
 * @example
 * ```ts
 * try {
 *   await Wal.open('./data/wal');
 * } catch (err) {
 *   if (err instanceof WalLockedError) console.error('another process is writing ./data/wal');
 * }
 * ```
 */
export class WalLockedError extends WalError {
  /** @param message description */
  constructor(message: string) {
    super(message, WalErrorCode.LOCKED);
  }
}

/**
 * Damage to stored data, with where it is.
 * @example
 * ```ts
 * try {
 *   wal.read(42);
 * } catch (err) {
 *   if (err instanceof WalCorruptError) console.error(`${err.file} at byte ${err.offset} (index ${err.index}): ${err.reason}`);
 * }
 * ```
 */
export class WalCorruptError extends WalError {
  /** Segment or metadata file name. */
  readonly file: string;
  /** Byte offset of the damage in that file. */
  readonly offset: number;
  /** Log index expected at that position. */
  readonly index: number;
  /** What failed to validate. */
  readonly reason: string;

  /** @param message description
   *  @param where location of the damage */
  constructor(message: string, where: { file: string; offset: number; index: number; reason: string }) {
    super(message, WalErrorCode.CORRUPT);
    this.file = where.file;
    this.offset = where.offset;
    this.index = where.index;
    this.reason = where.reason;
  }
}

/**
 * An index outside the log (or beyond what a JS number holds exactly).
 * @example
 * ```ts
 * try {
 *   wal.read(wal.lastIndex + 1);
 * } catch (err) {
 *   if (err instanceof WalOutOfRangeError) console.log(`the log holds ${err.first}..${err.last}`);
 * }
 * ```
 */
export class WalOutOfRangeError extends WalError {
  /** The index asked for. */
  readonly index: number;
  /** First index held. */
  readonly first: number;
  /** Last index held. */
  readonly last: number;

  /** @param message description
   *  @param range the index and the bounds */
  constructor(message: string, range: { index: number; first: number; last: number }) {
    super(message, WalErrorCode.OUT_OF_RANGE);
    this.index = range.index;
    this.first = range.first;
    this.last = range.last;
  }
}

/**
 * A record larger than `maxRecordSize` (or a batch larger than a segment).
 * @example
 * ```ts
 * const wal = await Wal.open(dir, { maxRecordSize: 1024 });
 * try {
 *   wal.append(Buffer.alloc(4096));
 * } catch (err) {
 *   if (err instanceof WalRecordTooLargeError) console.log(err.size, '>', err.max); // 4096 > 1024
 * }
 * ```
 */
export class WalRecordTooLargeError extends WalError {
  /** Size of the refused record, in bytes. */
  readonly size: number;
  /** The limit. */
  readonly max: number;

  /** @param message description
   *  @param sizes the size and the limit */
  constructor(message: string, sizes: { size: number; max: number }) {
    super(message, WalErrorCode.RECORD_TOO_LARGE);
    this.size = sizes.size;
    this.max = sizes.max;
  }
}

/**
 * A wrong argument or option.
 * @example
 * ```ts
 * await Wal.open(dir, { segmentSize: 1000 }); // throws: not a multiple of 4096
 * ```
 */
export class WalInvalidArgumentError extends WalError {
  /** @param message description */
  constructor(message: string) {
    super(message, WalErrorCode.INVALID_ARGUMENT);
  }
}

/**
 * The file system is full; nothing was written. Free space and retry.
 * @example
 * ```ts
 * try {
 *   await wal.write(record);
 * } catch (err) {
 *   if (!(err instanceof WalNoSpaceError)) throw err;
 *   await deleteOldFiles(); // nothing was written: free space, then retry
 *   await wal.write(record);
 * }
 * ```
 */
export class WalNoSpaceError extends WalError {
  /** @param message description */
  constructor(message: string) {
    super(message, WalErrorCode.NO_SPACE);
  }
}

/**
 * An I/O failure other than a full disk.
 * @example
 * ```ts
 * try {
 *   await wal.backup('/mnt/backup/wal');
 * } catch (err) {
 *   if (err instanceof WalIoError) console.error('backup failed:', err.message);
 * }
 * ```
 */
export class WalIoError extends WalError {
  /** @param message description */
  constructor(message: string) {
    super(message, WalErrorCode.IO);
  }
}

/**
 * A sync failed; the handle refuses all work until the log is reopened.
 * @example
 * ```ts
 * try {
 *   await wal.write(record);
 * } catch (err) {
 *   if (!(err instanceof WalPoisonedError)) throw err;
 *   await wal.close().catch(() => {});
 *   wal = await Wal.open(dir); // recovery decides what survived; never retry the sync
 * }
 * ```
 */
export class WalPoisonedError extends WalError {
  /** @param message description */
  constructor(message: string) {
    super(message, WalErrorCode.POISONED);
  }
}

/**
 * A transaction was committed after its timeout.
 * @example
 * ```ts
 * const tx = wal.begin({ timeoutMs: 100 });
 * tx.append('debit');
 * await slowWork(); // takes longer than 100 ms
 * tx.commit(); // throws WalTxExpiredError; nothing was written
 * ```
 */
export class WalTxExpiredError extends WalError {
  /** @param message description */
  constructor(message = 'the transaction expired before commit') {
    super(message, WalErrorCode.TX_EXPIRED);
  }
}

/**
 * A write on a read-only handle.
 * @example
 * ```ts
 * const ro = await Wal.open(dir, { readOnly: true });
 * ro.append('x'); // throws WalReadOnlyError
 * ```
 */
export class WalReadOnlyError extends WalError {
  /** @param message description */
  constructor(message = 'the log was opened read-only') {
    super(message, WalErrorCode.READ_ONLY);
  }
}

/**
 * An encrypted entry needs a key that was not given, or does not authenticate with the one given.
 * @example
 * ```ts
 * const wal = await Wal.open(dir, { encryption: { keys: [{ id: 2, key: newKey }], activeKeyId: 2 } });
 * wal.read(1); // written with key 1, which was not given: throws WalBadKeyError
 * ```
 */
export class WalBadKeyError extends WalError {
  /** @param message description */
  constructor(message: string) {
    super(message, WalErrorCode.BAD_KEY);
  }
}

/**
 * The log was written by another application (its `marker` differs).
 * @example
 * ```ts
 * await Wal.open(dir, { marker: 0xb111 }); // dir was written with another marker: throws WalForeignError
 * ```
 */
export class WalForeignError extends WalError {
  /** @param message description */
  constructor(message: string) {
    super(message, WalErrorCode.FOREIGN);
  }
}

/**
 * A bug in walnut: a panic caught at the native boundary.
 * @example
 * ```ts
 * try {
 *   wal.append(data);
 * } catch (err) {
 *   if (err instanceof WalInternalError) reportBug(err); // walnut caught its own bug; Node keeps running
 * }
 * ```
 */
export class WalInternalError extends WalError {
  /** @param message description */
  constructor(message: string) {
    super(message, WalErrorCode.INTERNAL);
  }
}

/**
 * Raft storage: the index asked for was dropped by compaction (etcd's `ErrCompacted`).
 * @example
 * ```ts
 * try {
 *   rs.entries(next, next + 100);
 * } catch (err) {
 *   if (err instanceof RaftCompactedError) sendSnapshot(rs.snapshot()); // the follower is too far behind
 * }
 * ```
 */
export class RaftCompactedError extends WalError {
  /** The index asked for. */
  readonly index: number;
  /** First index still held. */
  readonly first: number;

  /** @param message description
   *  @param where the index and the first index held */
  constructor(message: string, where: { index: number; first: number }) {
    super(message, WalErrorCode.RAFT_COMPACTED);
    this.index = where.index;
    this.first = where.first;
  }
}

/**
 * Raft storage: the index asked for is beyond the last index (etcd's `ErrUnavailable`).
 * @example
 * ```ts
 * rs.entries(rs.lastIndex() + 1, rs.lastIndex() + 2); // throws RaftUnavailableError
 * ```
 */
export class RaftUnavailableError extends WalError {
  /** The index asked for. */
  readonly index: number;
  /** Last index held. */
  readonly last: number;

  /** @param message description
   *  @param where the index and the last index held */
  constructor(message: string, where: { index: number; last: number }) {
    super(message, WalErrorCode.RAFT_UNAVAILABLE);
    this.index = where.index;
    this.last = where.last;
  }
}

/**
 * Raft storage: a snapshot no newer than the stored one (etcd's `ErrSnapOutOfDate`).
 * @example
 * ```ts
 * await rs.createSnapshot(50, confState, image);
 * await rs.createSnapshot(40, confState, older); // throws RaftSnapshotOutOfDateError
 * ```
 */
export class RaftSnapshotOutOfDateError extends WalError {
  /** Index of the refused snapshot. */
  readonly index: number;
  /** Index the stored state already covers. */
  readonly current: number;

  /** @param message description
   *  @param where the refused index and the covered one */
  constructor(message: string, where: { index: number; current: number }) {
    super(message, WalErrorCode.RAFT_SNAPSHOT_OUT_OF_DATE);
    this.index = where.index;
    this.current = where.current;
  }
}

/**
 * Raft storage: entries starting after `lastIndex + 1` (a hole in the log).
 * @example
 * ```ts
 * const next = rs.lastIndex() + 1;
 * await rs.save({ entries: [{ index: next + 1, term: 2, data }] }); // skips `next`: throws RaftLogGapError
 * ```
 */
export class RaftLogGapError extends WalError {
  /** Index of the first entry given. */
  readonly index: number;
  /** Last index held. */
  readonly last: number;

  /** @param message description
   *  @param where the first index given and the last index held */
  constructor(message: string, where: { index: number; last: number }) {
    super(message, WalErrorCode.RAFT_LOG_GAP);
    this.index = where.index;
    this.last = where.last;
  }
}

/**
 * A wait (tailing, a durable write) was aborted through its `AbortSignal`.
 * Like Node's own: `name` is `'AbortError'`, `code` is `'ABORT_ERR'`, and
 * `cause` is the signal's reason.
 * @example
 * ```ts
 * const ac = new AbortController();
 * setTimeout(() => ac.abort(), 10_000);
 * try {
 *   for await (const e of wal.tail({ signal: ac.signal })) handle(e);
 * } catch (err) {
 *   if (!(err instanceof AbortError)) throw err; // stopped on purpose
 * }
 * ```
 */
export class AbortError extends Error {
  /** Always `'ABORT_ERR'`, as in Node.js. */
  readonly code = 'ABORT_ERR';

  /** @param message description
   *  @param options `cause`: the signal's reason */
  constructor(message = 'The operation was aborted', options?: ErrorOptions) {
    super(message, options);
  }

  override get name(): string {
    return 'AbortError';
  }
}

interface NativePayload {
  walnut: 1;
  code: WalErrorCode;
  message: string;
  file?: string;
  offset?: number;
  index?: number;
  reason?: string;
  first?: number;
  last?: number;
  size?: number;
  max?: number;
  current?: number;
}

/** Builds the typed error for a code and message from the native layer. */
export function errorFromPayload(p: NativePayload): WalError {
  const m = p.message;
  switch (p.code) {
    case WalErrorCode.CLOSED:
      return new WalClosedError(m);
    case WalErrorCode.LOCKED:
      return new WalLockedError(m);
    case WalErrorCode.CORRUPT:
      return new WalCorruptError(m, {
        file: p.file ?? '',
        offset: p.offset ?? 0,
        index: p.index ?? 0,
        reason: p.reason ?? m,
      });
    case WalErrorCode.OUT_OF_RANGE:
      return new WalOutOfRangeError(m, { index: p.index ?? 0, first: p.first ?? 0, last: p.last ?? 0 });
    case WalErrorCode.RECORD_TOO_LARGE:
      return new WalRecordTooLargeError(m, { size: p.size ?? 0, max: p.max ?? 0 });
    case WalErrorCode.INVALID_ARGUMENT:
      return new WalInvalidArgumentError(m);
    case WalErrorCode.NO_SPACE:
      return new WalNoSpaceError(m);
    case WalErrorCode.IO:
      return new WalIoError(m);
    case WalErrorCode.POISONED:
      return new WalPoisonedError(m);
    case WalErrorCode.TX_EXPIRED:
      return new WalTxExpiredError(m);
    case WalErrorCode.READ_ONLY:
      return new WalReadOnlyError(m);
    case WalErrorCode.BAD_KEY:
      return new WalBadKeyError(m);
    case WalErrorCode.FOREIGN:
      return new WalForeignError(m);
    case WalErrorCode.RAFT_COMPACTED:
      return new RaftCompactedError(m, { index: p.index ?? 0, first: p.first ?? 0 });
    case WalErrorCode.RAFT_UNAVAILABLE:
      return new RaftUnavailableError(m, { index: p.index ?? 0, last: p.last ?? 0 });
    case WalErrorCode.RAFT_SNAPSHOT_OUT_OF_DATE:
      return new RaftSnapshotOutOfDateError(m, { index: p.index ?? 0, current: p.current ?? 0 });
    case WalErrorCode.RAFT_LOG_GAP:
      return new RaftLogGapError(m, { index: p.index ?? 0, last: p.last ?? 0 });
    default:
      return new WalInternalError(m);
  }
}

/**
 * Turns an error thrown by the native binding into its typed `WalError`;
 * anything else (a JS `TypeError` from a wrong argument type, say) is wrapped
 * as {@link WalInvalidArgumentError} when napi rejected an argument, or
 * returned unchanged.
 * @internal
 */
export function fromNative(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  if (err.message.startsWith('{"walnut":1')) {
    try {
      return errorFromPayload(JSON.parse(err.message) as NativePayload);
    } catch {
      return err;
    }
  }
  const code = (err as { code?: unknown }).code;
  if (code === 'InvalidArg' || code === 'NumberExpected' || code === 'StringExpected' || code === 'ObjectExpected') {
    return new WalInvalidArgumentError(err.message);
  }
  return err;
}
