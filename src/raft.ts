/**
 * {@link RaftStorage}: walnut as the storage of a Raft node, with the surface
 * of etcd-raft's `Storage` plus one crash-atomic `save`.
 * @module
 */
import { call, settle } from './call';
import { WalClosedError, WalInvalidArgumentError } from './errors';
import { native, type NativeRaftStorage } from './native';
import { toNative, type RecoveryMode } from './options';
import { view } from './view';

// Node 20 has no Symbol.asyncDispose yet; this is the symbol Node 22+ uses.
(Symbol as { asyncDispose?: symbol }).asyncDispose ??= Symbol.for('nodejs.asyncDispose');

/**
 * The state a node persists before answering any message.
 * @example
 * ```ts
 * await rs.save({ hardState: { term: 3, vote: 2, commit: 41 } });
 * rs.initialState().hardState; // { term: 3, vote: 2, commit: 41 }
 * ```
 */
export interface HardState {
  /** Current term. */
  term: number;
  /** Node voted for in `term` (0: none). */
  vote: number;
  /** Highest index known committed. */
  commit: number;
}

/**
 * Cluster membership, as etcd's `ConfState`.
 * @example
 * ```ts
 * const confState: ConfState = { voters: [1, 2, 3], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
 * await rs.save({ confState });
 * ```
 */
export interface ConfState {
  /** Voters of the (incoming) configuration. */
  voters: number[];
  /** Learners. */
  learners: number[];
  /** Voters of the outgoing configuration (joint consensus only). */
  votersOutgoing: number[];
  /** Voters that become learners when the joint configuration is left. */
  learnersNext: number[];
  /** Whether the joint configuration is left automatically. */
  autoLeave: boolean;
}

/**
 * What a {@link RaftEntry} holds: the numbering of etcd-raft and raft-rs.
 * @example
 * ```ts
 * await rs.save({ entries: [{ index: 9, term: 2, type: 'confChange', data: encodedChange }] });
 * ```
 */
export type RaftEntryType = 'normal' | 'confChange' | 'confChangeV2';

/**
 * A log entry.
 * @example
 * ```ts
 * const [e] = rs.entries(9, 10);
 * console.log(e.index, e.term, e.type, e.data.length);
 * ```
 */
export interface RaftEntry {
  /** Log index. */
  index: number;
  /** Term of the leader that created it. */
  term: number;
  /** Entry type (default `'normal'` when saving). */
  type: RaftEntryType;
  /** Payload. Entries returned by one {@link RaftStorage.entries} call are views of one buffer. */
  data: Buffer;
}

/**
 * An entry to save; `type` defaults to `'normal'`.
 * @example
 * ```ts
 * const entry: RaftEntryInput = { index: rs.lastIndex() + 1, term: 2, data: Buffer.from('put x=1') };
 * await rs.save({ entries: [entry] });
 * ```
 */
export type RaftEntryInput = Omit<RaftEntry, 'type' | 'data'> & { type?: RaftEntryType; data: Uint8Array };

/**
 * What a snapshot covers.
 * @example
 * ```ts
 * const snap = await rs.createSnapshot(100, { voters: [1, 2, 3], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false }, image);
 * snap.metadata; // { index: 100, term: rs.term(100), confState: ... }
 * ```
 */
export interface SnapshotMetadata {
  /** Last index it covers. */
  index: number;
  /** Term of that entry. */
  term: number;
  /** Membership at `index`. */
  confState: ConfState;
}

/**
 * A snapshot: metadata and the application's state image.
 * @example
 * ```ts
 * const { metadata, data } = rs.snapshot();
 * if (metadata.index > 0) restoreState(data);
 * ```
 */
export interface Snapshot {
  /** What it covers (`index` 0: the empty snapshot). */
  metadata: SnapshotMetadata;
  /** The application's bytes. */
  data: Buffer;
}

/**
 * An update for {@link RaftStorage.save}; every field is optional.
 * @example
 * ```ts
 * // One Ready from the Raft state machine, made durable crash-atomically:
 * await rs.save({ snapshot: ready.snapshot, entries: ready.entries, hardState: ready.hardState });
 * ```
 */
export interface SaveRequest {
  /** New hard state (written last). */
  hardState?: HardState;
  /** Contiguous entries; those at or below `lastIndex` replace the conflicting suffix. */
  entries?: RaftEntryInput[];
  /** A snapshot to install first (the log restarts after its index). */
  snapshot?: { metadata: SnapshotMetadata; data: Uint8Array };
  /** New membership (e.g. after applying a conf change). */
  confState?: ConfState;
  /** Named safe integers to keep with the hard state (`null` removes one). */
  meta?: Record<string, number | null>;
}

/**
 * Options of {@link RaftStorage.open}.
 * @example
 * ```ts
 * const rs = await RaftStorage.open('./node-1', { segmentSize: 16 << 20, recovery: 'absolute' });
 * ```
 */
export interface RaftStorageOptions {
  /** Size of each segment file of the log. Default 64 MiB. */
  segmentSize?: number;
  /** Largest entry payload. Default 16 MiB (or what fits a segment). */
  maxRecordSize?: number;
  /** What opening does about a damaged log (`'salvage'` is not available: an open may write). */
  recovery?: Exclude<RecoveryMode, 'salvage'>;
  /** Fault in new segments' pages ahead of use. */
  prefault?: boolean;
}

/**
 * Options of {@link RaftStorage.entries}.
 * @example
 * ```ts
 * const page = rs.entries(lo, hi, { maxBytes: 1 << 20 }); // at most ~1 MiB, at least one entry
 * ```
 */
export interface RaftEntriesOptions {
  /** Stop before the payloads exceed this many bytes (at least one entry is returned). */
  maxBytes?: number;
}

const TYPES: readonly RaftEntryType[] = ['normal', 'confChange', 'confChangeV2'];
const OPTION_KEYS = new Set(['segmentSize', 'maxRecordSize', 'recovery', 'prefault']);

function safe(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new WalInvalidArgumentError(`${what} must be a non-negative safe integer, got ${String(v)}`);
  }
  return v;
}

function ids(v: unknown, what: string): number[] {
  if (!Array.isArray(v)) throw new WalInvalidArgumentError(`${what} must be an array of ids`);
  return v.map((x, i) => safe(x, `${what}[${i}]`));
}

function checkConf(c: ConfState | undefined, what: string): ConfState {
  if (typeof c !== 'object' || c === null) throw new WalInvalidArgumentError(`${what} must be an object`);
  return {
    voters: ids(c.voters ?? [], `${what}.voters`),
    learners: ids(c.learners ?? [], `${what}.learners`),
    votersOutgoing: ids(c.votersOutgoing ?? [], `${what}.votersOutgoing`),
    learnersNext: ids(c.learnersNext ?? [], `${what}.learnersNext`),
    autoLeave: c.autoLeave === true,
  };
}

function checkHard(h: HardState): HardState {
  if (typeof h !== 'object' || h === null) throw new WalInvalidArgumentError('hardState must be an object');
  return {
    term: safe(h.term, 'hardState.term'),
    vote: safe(h.vote, 'hardState.vote'),
    commit: safe(h.commit, 'hardState.commit'),
  };
}

function checkMeta(m: SnapshotMetadata, what: string): SnapshotMetadata {
  if (typeof m !== 'object' || m === null) throw new WalInvalidArgumentError(`${what} must be an object`);
  return {
    index: safe(m.index, `${what}.index`),
    term: safe(m.term, `${what}.term`),
    confState: checkConf(m.confState, `${what}.confState`),
  };
}

function bytes(d: unknown, what: string): Uint8Array {
  if (!(d instanceof Uint8Array)) throw new WalInvalidArgumentError(`${what} must be a Buffer or Uint8Array`);
  return d;
}

const EMPTY = Buffer.alloc(0);

/**
 * Raft storage in one directory: the log's entries (with term and type in
 * each frame header, so `term(i)` reads no payload), the hard state, the
 * membership, snapshot metadata and image, and named integers, all changed
 * crash-atomically by {@link RaftStorage.save}.
 *
 * Reads are synchronous and never wait for a write. Writes return promises
 * and run, in call order, on a thread of the storage's own: a write that must
 * fsync never blocks the event loop or the libuv pool.
 *
 * @example
 * ```ts
 * await using rs = await RaftStorage.open('./node-1');
 * const { hardState, confState } = rs.initialState();
 * // for every Ready from the Raft state machine:
 * await rs.save({ hardState: ready.hardState, entries: ready.entries, snapshot: ready.snapshot });
 * ```
 */
export class RaftStorage implements AsyncDisposable {
  readonly #native: NativeRaftStorage;
  #closing: Promise<void> | undefined;

  private constructor(n: NativeRaftStorage) {
    this.#native = n;
  }

  /**
   * Opens (creating if needed) Raft storage in `dir`. An update interrupted
   * by a crash is finished or undone here, so the storage shows the state of
   * a whole `save()`.
   *
   * @param dir directory (created with mode 0700 if missing)
   * @param options see {@link RaftStorageOptions}
   * @throws {@link WalLockedError} when another handle or process has it open
   * @throws {@link WalCorruptError} when committed data is damaged
   * @example
   * ```ts
   * const rs = await RaftStorage.open('/var/lib/app/raft', { segmentSize: 16 << 20 });
   * ```
   */
  static async open(dir: string, options: RaftStorageOptions = {}): Promise<RaftStorage> {
    if (typeof dir !== 'string' || dir === '') throw new WalInvalidArgumentError('dir must be a non-empty string');
    if (typeof options !== 'object' || options === null) throw new WalInvalidArgumentError('options must be an object');
    for (const key of Object.keys(options)) {
      if (!OPTION_KEYS.has(key)) throw new WalInvalidArgumentError(`unknown option ${JSON.stringify(key)}`);
    }
    if ((options.recovery as string | undefined) === 'salvage') {
      throw new WalInvalidArgumentError("recovery 'salvage' is read-only; Raft storage must be writable");
    }
    const opts = toNative(options);
    return new RaftStorage(await settle(call(() => native.NativeRaftStorage.open(dir, opts))));
  }

  /**
 * Hard state and membership, as a Raft node reads them at start-up.
 * @example
 * ```ts
 * const { hardState, confState } = rs.initialState();
 * node.restart({ term: hardState.term, vote: hardState.vote, commit: hardState.commit, voters: confState.voters });
 * ```
 */
  initialState(): { hardState: HardState; confState: ConfState } {
    this.#open();
    return call(() => this.#native.initialState());
  }

  /**
   * Entries in `[lo, hi)`, stopping before their payloads exceed
   * `maxBytes`, but at least one when `lo < hi`.
   * @throws {@link RaftCompactedError} when `lo < firstIndex()`
   * @throws {@link RaftUnavailableError} when `hi > lastIndex() + 1`
   * @example
   * ```ts
   * for (const e of rs.entries(rs.firstIndex(), rs.lastIndex() + 1, { maxBytes: 1 << 20 })) apply(e);
   * ```
   */
  entries(lo: number, hi: number, options: RaftEntriesOptions = {}): RaftEntry[] {
    this.#open();
    safe(lo, 'lo');
    safe(hi, 'hi');
    const max = options.maxBytes === undefined ? undefined : safe(options.maxBytes, 'maxBytes');
    const packed = call(() => this.#native.entries(lo, hi, max));
    const out: RaftEntry[] = new Array(packed.terms.length);
    const memory = packed.data.buffer as ArrayBuffer;
    let at = packed.data.byteOffset;
    for (let k = 0; k < out.length; k++) {
      const len = packed.lengths[k];
      out[k] = {
        index: packed.first + k,
        term: packed.terms[k],
        type: TYPES[packed.types[k]] ?? 'normal',
        data: view(memory, at, len),
      };
      at += len;
    }
    return out;
  }

  /**
   * The term of entry `i`, from its frame header alone. Answers for
   * `firstIndex() - 1` too (the term of the compaction point).
   * @throws {@link RaftCompactedError} / {@link RaftUnavailableError} outside that range
 * @example
 * ```ts
 * const prevTerm = rs.term(prevIndex); // matching a leader's AppendEntries
 * ```
   */
  term(i: number): number {
    this.#open();
    return call(() => this.#native.term(safe(i, 'index')));
  }

  /**
 * First index held (entries below were compacted or covered by a snapshot).
 * @example
 * ```ts
 * if (next < rs.firstIndex()) sendSnapshot(rs.snapshot()); // the follower needs compacted entries
 * ```
 */
  firstIndex(): number {
    this.#open();
    return this.#native.firstIndex;
  }

  /**
 * Last index held (`firstIndex() - 1` when no entry is held).
 * @example
 * ```ts
 * await rs.save({ entries: [{ index: rs.lastIndex() + 1, term, data }] });
 * ```
 */
  lastIndex(): number {
    this.#open();
    return this.#native.lastIndex;
  }

  /**
   * The stored snapshot, its image read and checksum-verified; the empty
   * snapshot (`metadata.index` 0) when none was stored.
   * @throws {@link WalCorruptError} when the image fails verification
 * @example
 * ```ts
 * const snap = rs.snapshot();
 * if (snap.metadata.index > 0) app.restore(snap.data);
 * ```
   */
  snapshot(): Snapshot {
    this.#open();
    const s = call(() => this.#native.snapshot());
    return { metadata: s.meta, data: s.data };
  }

  /**
 * Named integers kept with the hard state (dgraph's RaftId, GroupId...).
 * @example
 * ```ts
 * await rs.save({ meta: { raftId: 1, groupId: 7 } });
 * rs.meta(); // { raftId: 1, groupId: 7 }
 * ```
 */
  meta(): Record<string, number> {
    this.#open();
    return call(() => this.#native.metaValues());
  }

  /**
   * Makes an update durable, crash-atomically: snapshot, then entries, then
   * hard state, with one commit point. After a crash, a reopen shows the
   * state before this save or after it, never a mix. Resolves once durable.
   * @throws {@link RaftLogGapError} when entries start after `lastIndex() + 1`
   * @throws {@link RaftSnapshotOutOfDateError} when the snapshot is not newer than the stored one
   * @example
   * ```ts
   * await rs.save({ hardState: { term: 2, vote: 1, commit: 7 }, entries: [{ index: 8, term: 2, data }] });
   * ```
   */
  save(update: SaveRequest): Promise<void> {
    return this.#write(() => {
      if (typeof update !== 'object' || update === null) throw new WalInvalidArgumentError('save() takes an object');
      const entries = update.entries ?? [];
      if (!Array.isArray(entries)) throw new WalInvalidArgumentError('entries must be an array');
      const first = entries.length > 0 ? safe(entries[0]?.index, 'entries[0].index') : 0;
      const terms: number[] = [];
      const types: number[] = [];
      const lengths: number[] = [];
      const parts: Uint8Array[] = [];
      entries.forEach((e, k) => {
        if (typeof e !== 'object' || e === null) throw new WalInvalidArgumentError(`entries[${k}] must be an object`);
        if (e.index !== first + k) {
          throw new WalInvalidArgumentError(`entries must be contiguous: entries[${k}].index is ${String(e.index)}, expected ${first + k}`);
        }
        terms.push(safe(e.term, `entries[${k}].term`));
        const type = TYPES.indexOf(e.type ?? 'normal');
        if (type < 0) throw new WalInvalidArgumentError(`entries[${k}].type ${JSON.stringify(e.type)} is not one of ${TYPES.join(', ')}`);
        types.push(type);
        const d = bytes(e.data, `entries[${k}].data`);
        lengths.push(d.byteLength);
        parts.push(d);
      });
      const metaNames: string[] = [];
      const metaValues: (number | null)[] = [];
      for (const [name, v] of Object.entries(update.meta ?? {})) {
        metaNames.push(name);
        metaValues.push(v === null ? null : safe(v, `meta.${name}`));
      }
      const snap = update.snapshot;
      const req = {
        hardState: update.hardState === undefined ? undefined : checkHard(update.hardState),
        confState: update.confState === undefined ? undefined : checkConf(update.confState, 'confState'),
        snapshot: snap === undefined ? undefined : checkMeta(snap.metadata, 'snapshot.metadata'),
        firstIndex: first,
        terms,
        types,
        lengths,
        metaNames,
        metaValues,
      };
      const data = parts.length === 1 ? parts[0] : Buffer.concat(parts);
      const image = snap === undefined ? EMPTY : bytes(snap.data, 'snapshot.data');
      return this.#native.save(req, data, image);
    });
  }

  /**
   * Stores a snapshot of the application's state at `index` (an entry the
   * log holds) with the membership in force there. The log is untouched;
   * {@link RaftStorage.compact} then drops the prefix it covers.
   * @throws {@link RaftSnapshotOutOfDateError} when `index` is not after the stored snapshot
   * @throws {@link RaftUnavailableError} when `index > lastIndex()`
 * @example
 * ```ts
 * const applied = app.appliedIndex();
 * await rs.createSnapshot(applied, rs.initialState().confState, app.serialize());
 * await rs.compact(applied); // the log before the snapshot is no longer needed
 * ```
   */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Promise<Snapshot> {
    return this.#write(async () => {
      const meta = await this.#native.createSnapshot(
        safe(index, 'index'),
        checkConf(confState, 'confState'),
        bytes(data, 'data'),
      );
      return { metadata: meta, data: Buffer.from(data) };
    });
  }

  /**
   * Installs a snapshot received from the leader: the log restarts empty
   * after `snapshot.metadata.index` and the membership becomes the snapshot's.
   * @throws {@link RaftSnapshotOutOfDateError} when it is not newer than the stored one
 * @example
 * ```ts
 * // A follower receives the leader's snapshot:
 * await rs.applySnapshot({ metadata: msg.snapshot.metadata, data: msg.snapshot.data });
 * rs.firstIndex(); // msg.snapshot.metadata.index + 1
 * ```
   */
  applySnapshot(snapshot: { metadata: SnapshotMetadata; data: Uint8Array }): Promise<void> {
    return this.#write(() => {
      if (typeof snapshot !== 'object' || snapshot === null) throw new WalInvalidArgumentError('snapshot must be an object');
      const meta = checkMeta(snapshot.metadata, 'snapshot.metadata');
      if (meta.index === 0) throw new WalInvalidArgumentError('cannot install the empty snapshot (index 0)');
      return this.#native.applySnapshot(meta, bytes(snapshot.data, 'snapshot.data'));
    });
  }

  /**
   * Drops every entry up to and including `index` (etcd's `Compact`):
   * `firstIndex()` becomes `index + 1` and `term(index)` keeps answering.
   * Returns a promise because it writes durably (off the event loop).
   * @throws {@link RaftCompactedError} when `index < firstIndex()`
   * @throws {@link RaftUnavailableError} when `index > lastIndex()`
 * @example
 * ```ts
 * await rs.compact(snapshotIndex);
 * rs.firstIndex(); // snapshotIndex + 1
 * rs.term(snapshotIndex); // still answers
 * ```
   */
  compact(index: number): Promise<void> {
    return this.#write(() => this.#native.compact(safe(index, 'index')));
  }

  /**
 * Whether {@link RaftStorage.close} was called.
 * @example
 * ```ts
 * await rs.close();
 * rs.closed; // true
 * ```
 */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /**
 * Closes after every pending write; idempotent.
 * @example
 * ```ts
 * process.on('SIGTERM', () => rs.close().then(() => process.exit(0)));
 * ```
 */
  close(): Promise<void> {
    this.#closing ??= settle(call(() => this.#native.close()));
    return this.#closing;
  }

  /**
 * `await using rs = await RaftStorage.open(dir)` closes it at the end of the scope.
 * @example
 * ```ts
 * {
 *   await using rs = await RaftStorage.open('./node-1');
 *   // ...
 * } // closed here
 * ```
 */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #open(): void {
    if (this.#closing !== undefined) throw new WalClosedError('the Raft storage is closed');
  }

  /** Runs a write: argument errors and native errors both reject the promise. */
  async #write<T>(start: () => Promise<T>): Promise<T> {
    this.#open();
    return settle(call(start));
  }
}
