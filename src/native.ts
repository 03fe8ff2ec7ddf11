/**
 * Loads the native binding (the platform package, or a local build) through
 * the loader napi-rs generates at the package root.
 * @internal
 * @module
 */
import type * as Binding from '../index.js';

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const native: typeof Binding = require('../index.js');

export type NativeWal = Binding.NativeWal;
export type NativeMemoryFs = Binding.NativeMemoryFs;
export type NativeOptions = Binding.NativeOptions;
export type NativeRecovery = Binding.NativeRecovery;
export type NativeStats = Binding.NativeStats;
export type SyncNote = Binding.SyncNote;
export type NativeRaftStorage = Binding.NativeRaftStorage;

/** The raw-callback handle of a log (`walRawHandle`). @internal */
export type WalRawHandle = ReturnType<typeof native.walRawHandle>;

/**
 * The raw N-API callbacks of crates/walnut-node/src/raw.rs, which the
 * generated typings do not list (they are not napi-rs functions). @internal
 */
export interface RawBinding {
  /** Appends one record; returns its index. */
  walAppendRaw(handle: WalRawHandle, data: Uint8Array): number;
  /** Copies record `index` into `dst` at `at` if it fits there; returns its length either way. */
  walReadIntoRaw(handle: WalRawHandle, index: number, dst: Uint8Array, at: number): number;
  /**
   * Copies records `[lo, hi)` into `dst` from `at` on (8-aligned), their
   * lengths into `lengths` (bytes of a Uint32Array), until one does not fit;
   * returns how many.
   */
  walReadRangeIntoRaw(
    handle: WalRawHandle,
    lo: number,
    hi: number,
    dst: Uint8Array,
    at: number,
    lengths: Uint8Array,
  ): number;
  /** Lets go of the segments the handle's reads hold (after closing, truncating, or a rotation). */
  walReleaseSegmentsRaw(handle: WalRawHandle): void;
  /** Returns `data.length`: the benchmark's floor for a native call. */
  benchNoopRaw(data: Uint8Array): number;
}

/** The raw callbacks, typed. @internal */
export const raw = native as unknown as RawBinding;
