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
