/**
 * The {@link Wal} class: a write-ahead log in one directory.
 * @module
 */
import {
  AbortError,
  fromNative,
  WalClosedError,
  WalError,
  WalInvalidArgumentError,
  WalOutOfRangeError,
} from './errors';
import { EventEmitter } from 'node:events';
import diagnostics from 'node:diagnostics_channel';
import { call, settle } from './call';
import { ChunkIterator } from './chunks';
import { resolveCodec, type Codec, type CodecOption } from './codec';
import { native, raw, type NativeOptions, type NativeWal, type SyncNote, type WalRawHandle } from './native';
import { toNative, type WalOptions } from './options';
import { Transaction, type TransactionOptions } from './transaction';
import { view } from './view';

/**
 * `node:diagnostics_channel` channels walnut publishes to. Publishing costs
 * nothing while a channel has no subscriber.
 * - `walnut:append`: `{ wal, index, count }` after every append or batch;
 * - `walnut:sync`: `{ wal, durableIndex }` after every completed sync;
 * - `walnut:rotate`: `{ wal, segment, firstIndex, lastIndex }` when a full segment is sealed.
 * @example
 * ```ts
 * import diagnostics from 'node:diagnostics_channel';
 * diagnostics.subscribe('walnut:sync', (msg) => metrics.gauge('wal.durable', (msg as { durableIndex: number }).durableIndex));
 * channels.rotate.subscribe((msg) => console.log('sealed', (msg as { segment: string }).segment));
 * ```
 */
export const channels = Object.freeze({
  append: diagnostics.channel('walnut:append'),
  sync: diagnostics.channel('walnut:sync'),
  rotate: diagnostics.channel('walnut:rotate'),
});

// Node 20 has no Symbol.asyncDispose yet; this is the symbol Node 22+ uses.
(Symbol as { asyncDispose?: symbol }).asyncDispose ??= Symbol.for('nodejs.asyncDispose');

/**
 * What a record can be given as; strings are stored as UTF-8.
 * @example
 * ```ts
 * const records: RecordData[] = ['text', Buffer.from([1, 2]), new Uint8Array(8)];
 * wal.appendBatch(records);
 * ```
 */
export type RecordData = Uint8Array | string;

/**
 * A stored record, decoded by the log's codec.
 * @example
 * ```ts
 * for (const { index, data } of wal.entries({ from: 10, to: 20 })) console.log(index, data.toString());
 * ```
 */
export interface Entry<T = Buffer> {
  /** Its log index. */
  index: number;
  /** Its value (for the default codec, a copy of its bytes that the caller owns). */
  data: T;
}

/**
 * What {@link Wal.append} takes: bytes or a string for the default codec, else the codec's type.
 * @example
 * ```ts
 * const events = await Wal.open<{ type: string }>(dir, { codec: 'json' });
 * events.append({ type: 'login' }); // Input<{ type: string }> is the object itself
 * ```
 */
export type Input<T> = T extends Buffer ? RecordData : T;

/**
 * What opening the log found and did.
 * @example
 * ```ts
 * const wal = await Wal.open(dir);
 * const r = wal.recovery;
 * if (!r.clean) console.warn(`recovered ${r.entries} entries after a crash`, r.truncated ?? 'no torn tail');
 * ```
 */
export interface RecoveryReport {
  /** The recovery mode used. */
  mode: 'tolerateTail' | 'absolute' | 'salvage';
  /** Segment files found. */
  segments: number;
  /** Segments scanned record by record (the others were loaded from their index). */
  scannedSegments: number;
  /** Entries recovered. */
  entries: number;
  /** The torn tail that was cut off, if any. */
  truncated?: { segment: string; offset: number; fromIndex: number; bytes: number; reason: string };
  /** Segment files removed because they lay wholly in the torn tail. */
  removedSegments: string[];
  /** Salvage mode: where reading stopped. */
  damage?: { file: string; offset: number; index: number; reason: string };
  /** The previous handle was closed cleanly. */
  clean: boolean;
  /** Time the recovery took, in milliseconds. */
  durationMs: number;
}

/**
 * Counters and shape of a log.
 * @example
 * ```ts
 * const s = wal.stats();
 * console.log(`${s.appends} appends, ${s.syncs} syncs, ${s.segments} segments, durable up to ${s.durableIndex}`);
 * ```
 */
export interface WalStats {
  /** Entries appended through this handle. */
  appends: number;
  /** Payload bytes appended through this handle. */
  appendedBytes: number;
  /** Successful syncs. */
  syncs: number;
  /** Failed syncs (the first one poisons the handle). */
  syncFailures: number;
  /** Segment rotations. */
  rotations: number;
  /** Sync latency histogram: element `b` counts syncs under `2^b` microseconds. */
  syncLatencyUs: number[];
  /** Segment files in the log. */
  segments: number;
  /** First index held. */
  firstIndex: number;
  /** Last index held. */
  lastIndex: number;
  /** Highest durable index. */
  durableIndex: number;
  /** Bytes of RAM used by the index (4 per entry). */
  indexBytes: number;
  /** What recovery found when the log was opened. */
  recovery: RecoveryReport;
}

/**
 * One segment file of a log, as {@link Wal.segments} lists it.
 * @example
 * ```ts
 * for (const s of wal.segments()) console.log(s.name, s.firstIndex, s.lastIndex, s.sealed ? 'sealed' : 'active');
 * ```
 */
export interface SegmentInfo {
  /** File name inside the log directory. */
  name: string;
  /** Index of the segment's first entry (its file name); entries below
   *  {@link Wal.firstIndex} may still be stored here after a compaction. */
  firstIndex: number;
  /** Index of its last entry (`firstIndex - 1` when empty). */
  lastIndex: number;
  /** Size of the file on disk (segments are preallocated in full). */
  fileBytes: number;
  /** Bytes in use by the headers and records. */
  usedBytes: number;
  /** Whether the segment is sealed: full, its index durable, no more appends. */
  sealed: boolean;
  /** When the segment was created, Unix milliseconds. */
  createdMs: number;
}

/**
 * Options of {@link Wal.entries}.
 * @example
 * ```ts
 * for (const e of wal.entries({ from: 100, to: 200, committed: true })) replicate(e);
 * ```
 */
export interface EntriesOptions {
  /** First index (default: `firstIndex`). */
  from?: number;
  /** Start at the first entry appended at or after this time (Unix ms); needs `timestamps: true`. */
  fromTime?: number;
  /** Stop before this index (default: after `lastIndex` at each step). */
  to?: number;
  /** Never go past the commit watermark ({@link Wal.commit}). */
  committed?: boolean;
}

/**
 * Options of {@link Wal.tail}.
 * @example
 * ```ts
 * const ac = new AbortController();
 * for await (const e of wal.tail({ from: wal.lastIndex + 1, durable: true, signal: ac.signal })) ship(e);
 * ```
 */
export interface TailOptions {
  /** First index to yield (default: `firstIndex`). */
  from?: number;
  /** Start at the first entry appended at or after this time (Unix ms); needs `timestamps: true`. */
  fromTime?: number;
  /** Yield only entries at or below the commit watermark, waiting for {@link Wal.commit}. */
  committed?: boolean;
  /** Stops the iteration (the pending `next()` rejects with {@link AbortError}). */
  signal?: AbortSignal;
  /** Yield only entries already durable (covered by a completed sync). */
  durable?: boolean;
}

interface Waiter {
  index: number;
  resolve: (index: number) => void;
  reject: (err: unknown) => void;
}

const RANGE_CHUNK = 256;

// Records are copied by native code straight into a shared slab, and read()
// returns a view of their bytes there: one native call and one view, where a
// Buffer created through N-API costs about 1.3 us, and a copy out of a
// scratch buffer into Node's pool (Buffer.allocUnsafe) about 0.4 us. A slab
// is replaced when less than SLAB_ROOM is left; a record that does not fit
// in what is left (larger than SLAB_ROOM) is created natively, in one copy.
// Like Node's own pool, a slab stays alive while any view of it does.
const SLAB = 64 * 1024;
const SLAB_ROOM = 16 * 1024;
let slab = Buffer.allocUnsafeSlow(SLAB);
// Its memory, for views (allocUnsafeSlow: from offset 0).
let slabMemory = slab.buffer as ArrayBuffer;
let slabAt = 0;
// Lengths of the records a scan copies into the slab in one call.
const LENGTHS = new Uint32Array(RANGE_CHUNK);
const LENGTHS_BYTES = new Uint8Array(LENGTHS.buffer);

function slabRoom(): void {
  if (SLAB - slabAt < SLAB_ROOM) {
    slab = Buffer.allocUnsafeSlow(SLAB);
    slabMemory = slab.buffer as ArrayBuffer;
    slabAt = 0;
  }
}

// Batches whose records average this size or more are handed to native code
// as they are (one copy, into the log); smaller ones are packed into one
// buffer first, which costs less than native code visiting one array element
// per record.
const PACK_BELOW = 256;

/** The fast-path handle of a native log (see crates/walnut-node/src/fast.rs). */
type WalHandle = ReturnType<typeof native.walHandle>;

function checkIndex(i: unknown, what = 'index'): number {
  if (typeof i !== 'number' || !Number.isSafeInteger(i) || i < 0) {
    throw new WalInvalidArgumentError(`${what} must be a non-negative safe integer, got ${String(i)}`);
  }
  return i;
}

function isReadOnly(opts: NativeOptions): boolean {
  return opts.readOnly === true || opts.recovery === 'salvage';
}

function abortError(signal: AbortSignal): AbortError {
  return new AbortError('The operation was aborted', { cause: signal.reason });
}

/**
 * Events a {@link Wal} emits.
 * @example
 * ```ts
 * wal.on('rotate', ({ segment, firstIndex, lastIndex }) => console.log(`sealed ${segment}: ${firstIndex}..${lastIndex}`));
 * wal.on('sync', ({ durableIndex }) => console.log('durable up to', durableIndex));
 * ```
 */
export interface WalEvents {
  /** A full segment was sealed durably and a new one took over. */
  rotate: [info: { segment: string; firstIndex: number; lastIndex: number }];
  /** Entries were dropped: `after` (suffix) or `before` (prefix). */
  truncate: [info: { kind: 'after' | 'before'; index: number }];
  /** A sync completed; everything up to `durableIndex` is durable. */
  sync: [info: { durableIndex: number }];
}

/**
 * A write-ahead log in one directory.
 *
 * Appends are synchronous and fast (a copy into a memory-mapped segment);
 * durability is asynchronous: {@link Wal.write} and {@link Wal.sync} resolve
 * once a background sync thread has made the data durable, one sync serving
 * every write waiting at that moment (group commit).
 *
 * The type parameter is the record type, set by the `codec` option:
 * `Buffer` by default, `string` for `'utf8'`, any JSON value for `'json'`.
 *
 * @example
 * ```ts
 * await using wal = await Wal.open('./my-log');
 * const i = wal.append('hello');        // fast, not yet durable
 * await wal.write('important');         // resolves once durable
 * for (const { index, data } of wal.entries()) console.log(index, data.toString());
 * ```
 */
export class Wal<T = Buffer> extends EventEmitter<WalEvents> implements AsyncDisposable {
  readonly #native: NativeWal;
  readonly #h: WalHandle;
  readonly #raw: WalRawHandle;
  readonly #dir: string;
  readonly #readOnly: boolean;
  readonly #codec: Codec<T> | undefined;
  // `sync: 'always'`: append() returns once its record is durable.
  readonly #appendIsDurable: boolean;
  #closed = false;
  #closing: Promise<void> | undefined;
  #poison: WalError | undefined;
  #durable: number;
  #waiters: Waiter[] = [];
  #head = 0;
  #syncInFlight = false;
  #syncScheduled = false;
  #change: { promise: Promise<void>; resolve: () => void } | undefined;

  private constructor(nativeWal: NativeWal, dir: string, opts: NativeOptions, codec: Codec<T> | undefined) {
    super();
    const readOnly = isReadOnly(opts);
    this.#appendIsDurable = opts.sync === 'always';
    this.#native = nativeWal;
    this.#h = native.walHandle(nativeWal);
    this.#raw = native.walRawHandle(nativeWal);
    this.#dir = dir;
    this.#readOnly = readOnly;
    this.#codec = codec;
    this.#durable = nativeWal.durableIndex;
    if (!readOnly) nativeWal.setSyncListener((note: SyncNote) => this.#onSync(note));
  }

  /**
   * Opens (creating if needed) the log in `dir`. Recovery runs on a thread of
   * its own; the returned log is ready for appends.
   *
   * @param dir directory of the log (created with mode 0700 if missing)
   * @param options see {@link WalOptions}; `codec` sets the record type
   * @throws {@link WalLockedError} when another handle or process has it open
   * @throws {@link WalCorruptError} when acknowledged data is damaged
   * @example
   * ```ts
   * const wal = await Wal.open('/var/lib/app/wal', { sync: { everyMs: 5 } });
   * const events = await Wal.open<{ type: string }>('/var/lib/app/events', { codec: 'json' });
   * ```
   */
  static async open(dir: string, options?: WalOptions & { codec?: 'bytes' }): Promise<Wal<Buffer>>;
  static async open(dir: string, options: WalOptions & { codec: 'utf8' }): Promise<Wal<string>>;
  static async open<V = unknown>(dir: string, options: WalOptions & { codec: 'json' | Codec<V> }): Promise<Wal<V>>;
  static async open<V>(dir: string, options: WalOptions & { codec?: CodecOption<V> } = {}): Promise<Wal<V>> {
    const { opts, codec } = Wal.#prepare<V>(dir, options);
    return new Wal<V>(await settle(native.NativeWal.open(dir, opts, options.storage?.native)), dir, opts, codec);
  }

  /**
   * Opens the log synchronously (blocks the event loop during recovery).
   * @param dir directory of the log
   * @param options see {@link WalOptions}
   * @example
   * ```ts
   * const wal = Wal.openSync('./my-log');
   * ```
   */
  static openSync(dir: string, options?: WalOptions & { codec?: 'bytes' }): Wal<Buffer>;
  static openSync(dir: string, options: WalOptions & { codec: 'utf8' }): Wal<string>;
  static openSync<V = unknown>(dir: string, options: WalOptions & { codec: 'json' | Codec<V> }): Wal<V>;
  static openSync<V>(dir: string, options: WalOptions & { codec?: CodecOption<V> } = {}): Wal<V> {
    const { opts, codec } = Wal.#prepare<V>(dir, options);
    const handle = call(() => native.NativeWal.openSync(dir, opts, options.storage?.native));
    return new Wal<V>(handle, dir, opts, codec);
  }

  static #prepare<V>(dir: string, options: WalOptions & { codec?: CodecOption<V> }) {
    if (typeof dir !== 'string' || dir === '') throw new WalInvalidArgumentError('dir must be a non-empty string');
    const { codec, ...rest } = options ?? {};
    return { opts: toNative(rest), codec: resolveCodec<V>(codec) };
  }

  /**
 * Directory of the log.
 * @example
 * ```ts
 * const wal = await Wal.open('./data/wal');
 * wal.dir; // './data/wal'
 * ```
 */
  get dir(): string {
    return this.#dir;
  }

  /**
 * Whether the handle was opened read-only (or in salvage mode).
 * @example
 * ```ts
 * (await Wal.open(dir, { readOnly: true })).readOnly; // true
 * ```
 */
  get readOnly(): boolean {
    return this.#readOnly;
  }

  /**
 * First index held (entries before it were compacted away).
 * @example
 * ```ts
 * wal.truncateBefore(100);
 * wal.firstIndex; // 100
 * ```
 */
  get firstIndex(): number {
    return this.#native.firstIndex;
  }

  /**
 * Last index held (`firstIndex - 1` when empty).
 * @example
 * ```ts
 * const i = wal.append('x');
 * wal.lastIndex === i; // true
 * ```
 */
  get lastIndex(): number {
    return native.walLastIndex(this.#h);
  }

  /**
 * Every entry up to this index survives a crash or power loss.
 * @example
 * ```ts
 * wal.append('a');
 * await wal.sync();
 * wal.durableIndex === wal.lastIndex; // true
 * ```
 */
  get durableIndex(): number {
    return native.walDurableIndex(this.#h);
  }

  /**
 * The commit watermark set by {@link Wal.commit} (0 before the first).
 * @example
 * ```ts
 * await wal.commit(42);
 * wal.commitIndex; // 42
 * ```
 */
  get commitIndex(): number {
    return this.#native.commitIndex;
  }

  /**
 * Whether {@link Wal.close} was called.
 * @example
 * ```ts
 * await wal.close();
 * wal.closed; // true
 * ```
 */
  get closed(): boolean {
    return this.#closed;
  }

  /**
 * What recovery found and did when the log was opened.
 * @example
 * ```ts
 * const { clean, truncated } = (await Wal.open(dir)).recovery;
 * if (!clean && truncated) console.warn(`cut a torn tail at index ${truncated.fromIndex}`);
 * ```
 */
  get recovery(): RecoveryReport {
    const r = this.#native.recovery();
    return {
      mode: r.mode as RecoveryReport['mode'],
      segments: r.segments,
      scannedSegments: r.scannedSegments,
      entries: r.entries,
      truncated: r.truncated ?? undefined,
      removedSegments: r.removedSegments,
      damage: r.damage ?? undefined,
      clean: r.clean,
      durationMs: r.durationMs,
    };
  }

  /**
   * The segment files of the log, oldest first; the last one takes new
   * appends.
   * @example
   * ```ts
   * const bytes = wal.segments().reduce((n, s) => n + s.fileBytes, 0);
   * ```
   */
  segments(): SegmentInfo[] {
    this.#checkOpen();
    return call(() => this.#native.segments());
  }

  /**
 * Counters and shape of the log, with the recovery report.
 * @example
 * ```ts
 * setInterval(() => console.log(wal.stats().syncLatencyUs), 60_000);
 * ```
 */
  stats(): WalStats {
    this.#checkOpen();
    return { ...call(() => this.#native.stats()), recovery: this.recovery };
  }

  /**
   * Appends one record and returns its index. Not durable until a sync
   * (unless `sync: 'always'`); use {@link Wal.write} to wait for durability.
   * @param value bytes or a string (default codec), else a value of the codec's type
   * @example
   * ```ts
   * const index = wal.append(Buffer.from([1, 2, 3]));
   * ```
   */
  append(value: Input<T>): number {
    this.#checkOpen();
    const data = this.#codec ? this.#codec.encode(value as T) : (value as RecordData);
    let index: number;
    try {
      if (typeof data === 'string') index = this.#native.appendString(data);
      else if (data instanceof Uint8Array) index = raw.walAppendRaw(this.#raw, data);
      else throw new WalInvalidArgumentError('data must be a Uint8Array or a string');
    } catch (err) {
      throw fromNative(err);
    }
    this.#appended(index, 1);
    return index;
  }

  /**
   * Appends records as one atomic batch (after a crash, all or none of them
   * are there) in one native call; returns the index of the first.
   * @param items the records
   * @example
   * ```ts
   * const first = wal.appendBatch(['a', 'b', 'c']); // first, first+1, first+2
   * ```
   */
  appendBatch(items: readonly Input<T>[]): number {
    this.#checkOpen();
    if (!Array.isArray(items) || items.length === 0) {
      throw new WalInvalidArgumentError('items must be a non-empty array');
    }
    return this.#appendEncoded(items.map((item, k) => this.#encode(item, k)));
  }

  // The record bytes of a value: the codec's output, strings as UTF-8. `at` is
  // the value's position in a batch, named only in the error: building the
  // name for every record held batches of 1024 records of 16 B to 3.8-5.4M
  // records/s, against 5.7-6.6M without (alternating runs).
  #encode(value: Input<T>, at?: number): Uint8Array {
    const item = this.#codec ? this.#codec.encode(value as T) : (value as RecordData);
    const b = typeof item === 'string' ? Buffer.from(item) : item;
    if (!(b instanceof Uint8Array)) {
      throw new WalInvalidArgumentError(`${at === undefined ? 'data' : `items[${at}]`} must be a Uint8Array or a string`);
    }
    return b;
  }

  // Appends already-encoded records as one atomic batch in one native call.
  #appendEncoded(bufs: readonly Uint8Array[]): number {
    this.#checkOpen();
    const lengths = new Uint32Array(bufs.length);
    let total = 0;
    for (let k = 0; k < bufs.length; k++) {
      lengths[k] = bufs[k].byteLength;
      total += bufs[k].byteLength;
    }
    let first: number;
    if (total >= bufs.length * PACK_BELOW) {
      first = call(() => native.walAppendMany(this.#h, bufs as Uint8Array[]));
    } else {
      const packed = Buffer.allocUnsafe(total);
      let at = 0;
      for (const b of bufs) {
        packed.set(b, at);
        at += b.byteLength;
      }
      first = call(() => native.walAppendPacked(this.#h, packed, lengths));
    }
    this.#appended(first, bufs.length);
    return first;
  }

  /**
   * Appends a record and resolves with its index once it is durable. Writes
   * waiting together share one sync (group commit); the sync runs on a
   * dedicated thread, never on the libuv pool.
   * @param value the record
   * @example
   * ```ts
   * await Promise.all(events.map((e) => wal.write(JSON.stringify(e))));
   * ```
   */
  write(value: Input<T>): Promise<number> {
    try {
      return this.#awaitAppended(this.append(value));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Appends an atomic batch and resolves with its first index once durable.
   * @param items the records
   * @example
   * ```ts
   * const first = await wal.writeBatch(['debit', 'credit']);
   * ```
   */
  writeBatch(items: readonly Input<T>[]): Promise<number> {
    try {
      const first = this.appendBatch(items);
      return this.#awaitAppended(first + items.length - 1).then(() => first);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Makes everything appended so far durable; resolves with the durable index.
   * @example
   * ```ts
   * wal.append('a'); wal.append('b');
   * await wal.sync(); // both survive power loss now
   * ```
   */
  sync(): Promise<number> {
    try {
      this.#checkOpen();
      if (this.readOnly) return Promise.resolve(this.lastIndex);
      return this.#awaitDurable(this.lastIndex);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Moves the commit watermark to `index` (for example the Raft commit index
   * after consensus) and makes it durable. Readers that ask for committed
   * entries never go past it. It only moves forward; truncation below it pulls
   * it back.
   * @param index the new watermark, at most `lastIndex`
   * @example
   * ```ts
   * await wal.commit(i);
   * for await (const e of wal.tail({ committed: true })) replicate(e);
   * ```
   */
  async commit(index: number): Promise<void> {
    this.#checkOpen();
    checkIndex(index);
    await settle(this.#native.commit(index));
    this.#notifyChange();
  }

  /**
   * Reads (copies) the record at `index`. Records of up to 16 KiB are
   * copied into a shared 64 KiB slab, as `Buffer.allocUnsafe` does with
   * Node's pool: keep a record longer than the slab's other records with
   * `Buffer.from(data)` if memory matters.
   * @param index a log index in `[firstIndex, lastIndex]`
   * @throws {@link WalOutOfRangeError} outside the log
   * @example
   * ```ts
   * const data = wal.read(1);
   * ```
   */
  read(index: number): T {
    this.#checkOpen();
    checkIndex(index);
    const data = this.#readBytes(index);
    return this.#codec ? this.#codec.decode(data) : (data as T);
  }

  /**
   * Copies the bytes of the record at `index` into `target`, from `offset`
   * on, and returns how many there are. Nothing is allocated, so reading
   * many records, or large ones, into one buffer is faster than
   * {@link Wal.read}: 1.5-2.5x as fast from 64 KiB up (benchmark/RESULTS.md).
   * With a codec these are the encoded bytes.
   * @param index a log index in `[firstIndex, lastIndex]`
   * @param target where the bytes go
   * @param offset where in `target` the first byte goes (default 0)
   * @returns the record's length in bytes
   * @throws {@link WalInvalidArgumentError} when the record does not fit in
   * `target` after `offset` (nothing is copied; the message gives its length)
   * @throws {@link WalOutOfRangeError} outside the log
   * @example
   * ```ts
   * const buf = Buffer.allocUnsafe(1 << 20);
   * const n = wal.readInto(7, buf);
   * consume(buf.subarray(0, n));
   * ```
   */
  readInto(index: number, target: Uint8Array, offset = 0): number {
    this.#checkOpen();
    checkIndex(index);
    if (!(target instanceof Uint8Array)) throw new WalInvalidArgumentError('target must be a Uint8Array');
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > target.byteLength) {
      throw new WalInvalidArgumentError(`offset must be an integer in [0, ${target.byteLength}], got ${String(offset)}`);
    }
    const n = call(() => raw.walReadIntoRaw(this.#raw, index, target, offset));
    const room = target.byteLength - offset;
    if (n > room) {
      throw new WalInvalidArgumentError(`record ${index} is ${n} bytes, more than the ${room} after offset ${offset}`);
    }
    return n;
  }

  // A copy of the record at `index` (see SLAB).
  #readBytes(index: number): Buffer {
    slabRoom();
    let n: number;
    try {
      n = raw.walReadIntoRaw(this.#raw, index, slab, slabAt);
    } catch (err) {
      throw fromNative(err);
    }
    if (n > SLAB - slabAt) return call(() => this.#native.read(index));
    const out = view(slabMemory, slabAt, n);
    slabAt = (slabAt + n + 7) & ~7;
    return out;
  }

  // The entries of `[lo, hi)` (hi - lo <= RANGE_CHUNK) as far as they fit in
  // the slab in one native call, at least one.
  #readChunk(lo: number, hi: number): Entry<T>[] {
    slabRoom();
    let n: number;
    try {
      n = raw.walReadRangeIntoRaw(this.#raw, lo, hi, slab, slabAt, LENGTHS_BYTES);
    } catch (err) {
      throw fromNative(err);
    }
    if (n === 0) return this.readRange(lo, lo + 1); // larger than the slab's room
    const out = new Array<Entry<T>>(n);
    const codec = this.#codec;
    for (let k = 0; k < n; k++) {
      const data = view(slabMemory, slabAt, LENGTHS[k]);
      slabAt = (slabAt + LENGTHS[k] + 7) & ~7;
      out[k] = { index: lo + k, data: codec ? codec.decode(data) : (data as T) };
    }
    return out;
  }

  /**
   * The time (Unix ms) the entry at `index` was appended, when the log stores
   * timestamps (`timestamps: true`); `undefined` otherwise.
   * @param index a log index
   * @example
   * ```ts
   * new Date(wal.timestamp(i)!);
   * ```
   */
  timestamp(index: number): number | undefined {
    this.#checkOpen();
    checkIndex(index);
    return call(() => this.#native.timestamp(index)) ?? undefined;
  }

  /**
   * Reads the records in `[lo, hi)`, stopping before their total size exceeds
   * `maxBytes`, but always returning at least one when `lo < hi`.
   * @param lo first index
   * @param hi index to stop before
   * @param options `maxBytes`: byte budget
   * @example
   * ```ts
   * const page = wal.readRange(100, 200, { maxBytes: 1 << 20 });
   * ```
   */
  readRange(lo: number, hi: number, options: { maxBytes?: number } = {}): Entry<T>[] {
    this.#checkOpen();
    checkIndex(lo, 'lo');
    checkIndex(hi, 'hi');
    const budget = options.maxBytes === undefined ? undefined : checkIndex(options.maxBytes, 'maxBytes');
    const datas = call(() => this.#native.readRange(lo, hi, budget));
    const codec = this.#codec;
    return datas.map((data, k) => ({ index: lo + k, data: codec ? codec.decode(data) : (data as T) }));
  }

  /**
   * Iterates stored entries, reading lazily in chunks. It follows appends made
   * during the iteration until it reaches `to` or the end.
   * @param options range, time and commit bounds
   * @example
   * ```ts
   * for (const { index, data } of wal.entries({ from: 10 })) { ... }
   * ```
   */
  entries(options: EntriesOptions = {}): IterableIterator<Entry<T>> {
    let next = -1;
    let to = Infinity;
    return new ChunkIterator(() => {
      if (next < 0) {
        next = this.#start(options);
        if (options.to !== undefined) to = checkIndex(options.to, 'to');
      }
      this.#checkOpen();
      const limit = options.committed ? this.commitIndex : this.lastIndex;
      const end = Math.min(to, limit + 1, next + RANGE_CHUNK);
      if (next >= end) return undefined;
      const chunk = this.#readChunk(next, end);
      next += chunk.length;
      return chunk;
    });
  }

  /**
   * Follows the log: yields stored entries from `from`, then every new entry
   * as it is appended (with `durable: true`, as it becomes durable; with
   * `committed: true`, as the commit watermark passes it). Ends when the log
   * closes; an aborted `signal` rejects the pending step with {@link AbortError}.
   * @param options start, abort signal, durability or commit gate
   * @example
   * ```ts
   * const ac = new AbortController();
   * for await (const { index, data } of wal.tail({ from: 1, signal: ac.signal })) { ... }
   * ```
   */
  async *tail(options: TailOptions = {}): AsyncIterableIterator<Entry<T>> {
    const { signal, durable = false, committed = false } = options;
    if (signal?.aborted) throw abortError(signal);
    let next = this.#start(options);
    for (;;) {
      if (this.#closed) return;
      let limit = durable ? this.#knownDurable() : this.lastIndex;
      if (committed) limit = Math.min(limit, this.commitIndex);
      while (next <= limit) {
        const end = Math.min(limit + 1, next + RANGE_CHUNK);
        const chunk = this.#readChunk(next, end);
        for (const e of chunk) {
          yield e;
          if (this.#closed) return;
          if (signal?.aborted) throw abortError(signal);
        }
        next += chunk.length;
      }
      await this.#nextChange(signal);
    }
  }

  /**
   * Starts a transaction: records staged with `tx.append()` are written by
   * `tx.commit()` as one atomic batch, or dropped by `tx.rollback()`.
   * @param options `timeoutMs`: after it, commit throws `WalTxExpiredError`
   * @example
   * ```ts
   * const tx = wal.begin({ timeoutMs: 1000 });
   * tx.append('debit').append('credit');
   * const first = tx.commit();
   * ```
   */
  begin(options: TransactionOptions = {}): Transaction<Input<T>> {
    this.#checkOpen();
    return new Transaction<Input<T>>(
      (value) => Buffer.from(this.#encode(value)),
      (records) => this.#appendEncoded(records),
      options,
    );
  }

  /**
   * Drops every entry after `index` (a Raft conflict). Pending
   * {@link Wal.write} promises of dropped entries reject with
   * {@link WalOutOfRangeError}.
   * @param index last index to keep (`firstIndex - 1` drops everything)
   * @example
   * ```ts
   * wal.truncateAfter(conflictIndex - 1);
   * ```
   */
  truncateAfter(index: number): void {
    this.#checkOpen();
    checkIndex(index);
    call(() => this.#native.truncateAfter(index));
    raw.walReleaseSegmentsRaw(this.#raw);
    this.#durable = Math.min(this.#durable, index);
    const kept: Waiter[] = [];
    for (let k = this.#head; k < this.#waiters.length; k++) {
      const w = this.#waiters[k];
      if (w.index <= index) kept.push(w);
      else
        w.reject(
          new WalOutOfRangeError(`entry ${w.index} was truncated before it became durable`, {
            index: w.index,
            first: this.firstIndex,
            last: index,
          }),
        );
    }
    this.#waiters = kept;
    this.#head = 0;
    this.emit('truncate', { kind: 'after', index });
    this.#notifyChange();
  }

  /**
   * Drops every entry before `index` (compaction); `firstIndex` becomes
   * `index`. Beyond `lastIndex + 1` the log restarts empty at `index`.
   * @param index first index to keep
   * @example
   * ```ts
   * wal.truncateBefore(snapshotIndex + 1);
   * ```
   */
  truncateBefore(index: number): void {
    this.#checkOpen();
    checkIndex(index);
    call(() => this.#native.truncateBefore(index));
    raw.walReleaseSegmentsRaw(this.#raw);
    this.#durable = Math.max(this.#durable, this.#native.durableIndex);
    this.emit('truncate', { kind: 'before', index });
    this.#notifyChange();
  }

  /**
   * Copies the log up to its durable index into `dest` (which must not exist
   * or be empty); the copy opens as a valid log. Appends may continue meanwhile.
   * @param dest destination directory
   * @returns the last index copied
   * @example
   * ```ts
   * await wal.backup('/backups/wal-' + Date.now());
   * ```
   */
  async backup(dest: string): Promise<number> {
    this.#checkOpen();
    return settle(this.#native.backup(dest));
  }

  /**
   * Makes everything durable, writes a clean-shutdown mark and releases the
   * directory. Idempotent. Pending writes resolve (they are durable now).
   * @example
   * ```ts
   * await wal.close();
   * ```
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closed = true;
    this.#closing = (async () => {
      try {
        await this.#native.close();
        this.#settleAll(this.#native.lastIndex, undefined);
      } catch (err) {
        const e = fromNative(err);
        this.#settleAll(-1, e);
        throw e;
      } finally {
        raw.walReleaseSegmentsRaw(this.#raw);
        this.#notifyChange();
      }
    })();
    return this.#closing;
  }

  /**
   * Closes synchronously (blocks the event loop for the final sync).
   * @example
   * ```ts
   * process.on('exit', () => wal.closeSync());
   * ```
   */
  closeSync(): void {
    if (this.#closing) return;
    this.#closed = true;
    this.#closing = Promise.resolve();
    try {
      call(() => this.#native.closeSync());
      this.#settleAll(this.#native.lastIndex, undefined);
    } finally {
      raw.walReleaseSegmentsRaw(this.#raw);
      this.#notifyChange();
    }
  }

  /**
 * `await using wal = await Wal.open(dir)` closes it at the end of the scope.
 * @example
 * ```ts
 * {
 *   await using wal = await Wal.open(dir);
 *   await wal.write('x');
 * } // closed here, cleanly
 * ```
 */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #start(options: { from?: number; fromTime?: number }): number {
    if (options.fromTime !== undefined) {
      const t = checkIndex(options.fromTime, 'fromTime');
      return Math.max(call(() => this.#native.seekTime(t)), options.from ?? 0);
    }
    return checkIndex(options.from ?? this.firstIndex, 'from');
  }

  #appended(index: number, count: number): void {
    if (channels.append.hasSubscribers) channels.append.publish({ wal: this, index, count });
    this.#notifyChange();
  }

  #checkOpen(): void {
    if (this.#closed) throw new WalClosedError();
    if (this.#poison) throw this.#poison;
  }

  #knownDurable(): number {
    return (this.#durable = Math.max(this.#durable, native.walDurableIndex(this.#h)));
  }

  // For a record appended just now: unless appends sync themselves it cannot
  // be durable yet, and asking the native side would cost a call per write.
  #awaitAppended(index: number): Promise<number> {
    return this.#appendIsDurable ? Promise.resolve(index) : this.#wait(index);
  }

  #awaitDurable(index: number): Promise<number> {
    if (index <= this.#durable || index <= this.#knownDurable()) return Promise.resolve(index);
    return this.#wait(index);
  }

  #wait(index: number): Promise<number> {
    if (this.#poison) return Promise.reject(this.#poison);
    return new Promise<number>((resolve, reject) => {
      if (this.#head === this.#waiters.length) this.#native.keepAlive(true);
      this.#waiters.push({ index, resolve, reject });
      this.#scheduleSync();
    });
  }

  // Asks for a sync once the current burst of JavaScript is over, so that
  // every write issued meanwhile shares it: a microtask queued now runs after
  // the writers a completed sync has just released, and the tick it queues
  // runs once all microtasks are done. Asking at the first write instead made
  // each sync carry that one write plus whatever the sync thread happened to
  // see (64 writers in flight: 35 writes per sync; now 63.5).
  #scheduleSync(): void {
    if (this.#syncScheduled) return;
    this.#syncScheduled = true;
    queueMicrotask(() =>
      process.nextTick(() => {
        this.#syncScheduled = false;
        // After close() began, close settles the waiters (its final sync covers them).
        if (this.#closed || this.#syncInFlight || this.#head === this.#waiters.length) return;
        this.#requestSync(this.#waiters[this.#waiters.length - 1].index);
      }),
    );
  }

  #requestSync(index: number): void {
    this.#syncInFlight = true;
    try {
      this.#native.requestSync(index);
    } catch (err) {
      this.#syncInFlight = false;
      this.#settleAll(-1, fromNative(err));
    }
  }

  // Runs on the JS thread once per completed sync (or seal): resolves every
  // waiter the sync covered, then asks for the next sync if writes arrived
  // meanwhile.
  #onSync(note: SyncNote): void {
    if (note.sealed) {
      // Retention drops segments when one rotates out: let go of any the
      // reads' segment cache still holds (their mappings and disk space).
      raw.walReleaseSegmentsRaw(this.#raw);
      const info = note.sealed;
      this.emit('rotate', info);
      if (channels.rotate.hasSubscribers) channels.rotate.publish({ wal: this, ...info });
      return;
    }
    this.#syncInFlight = false;
    if (note.error) {
      const err = fromNative(new Error(note.error));
      this.#poison = err instanceof WalError ? err : new WalClosedError(String(err));
      this.#settleAll(-1, this.#poison);
      return;
    }
    if (note.durable > this.#durable) this.#durable = note.durable;
    const ws = this.#waiters;
    let h = this.#head;
    for (; h < ws.length && ws[h].index <= this.#durable; h++) ws[h].resolve(ws[h].index);
    if (h === ws.length) {
      this.#waiters = [];
      this.#head = 0;
      if (!this.#closed) this.#native.keepAlive(false);
    } else {
      this.#head = h;
      if (h > 1024 && h * 2 > ws.length) {
        this.#waiters = ws.slice(h);
        this.#head = 0;
      }
      this.#scheduleSync();
    }
    if (this.listenerCount('sync') > 0) this.emit('sync', { durableIndex: this.#durable });
    if (channels.sync.hasSubscribers) channels.sync.publish({ wal: this, durableIndex: this.#durable });
    this.#notifyChange();
  }

  #settleAll(durable: number, err: unknown): void {
    const ws = this.#waiters;
    for (let k = this.#head; k < ws.length; k++) {
      if (ws[k].index <= durable) ws[k].resolve(ws[k].index);
      else ws[k].reject(err ?? new WalClosedError());
    }
    this.#waiters = [];
    this.#head = 0;
  }

  #notifyChange(): void {
    const c = this.#change;
    if (c) {
      this.#change = undefined;
      c.resolve();
    }
  }

  #nextChange(signal: AbortSignal | undefined): Promise<void> {
    if (!this.#change) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.#change = { promise, resolve };
    }
    const change = this.#change.promise;
    if (!signal) return change;
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(abortError(signal));
      signal.addEventListener('abort', onAbort, { once: true });
      change.then(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }
}
