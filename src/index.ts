/**
 * walnut: a write-ahead log for Node.js with a Rust core.
 *
 * - {@link Wal}: append, read, tail, truncate, with group-committed durable writes;
 * - {@link WalError} and its subclasses, keyed by {@link WalErrorCode}.
 *
 * @packageDocumentation
 */
export { Wal, channels } from './wal';
export { MemoryStorage } from './memory';
export type { StorageErrorCode, StorageOperation } from './memory';
export type { Codec, CodecOption } from './codec';
export type {
  Entry,
  EntriesOptions,
  Input,
  WalEvents,
  RecordData,
  RecoveryReport,
  SegmentInfo,
  TailOptions,
  WalStats,
} from './wal';
export type {
  CompressionOption,
  EncryptionOptions,
  RecoveryMode,
  RetentionOptions,
  SyncPolicy,
  WalOptions,
} from './options';
export { RaftStorage } from './raft';
export type {
  ConfState,
  HardState,
  RaftEntriesOptions,
  RaftEntry,
  RaftEntryInput,
  RaftEntryType,
  RaftStorageOptions,
  SaveRequest,
  Snapshot,
  SnapshotMetadata,
} from './raft';
export { Transaction } from './transaction';
export type { TransactionOptions } from './transaction';
export {
  AbortError,
  RaftCompactedError,
  RaftLogGapError,
  RaftSnapshotOutOfDateError,
  RaftUnavailableError,
  WalBadKeyError,
  WalClosedError,
  WalCorruptError,
  WalError,
  WalErrorCode,
  WalForeignError,
  WalInternalError,
  WalInvalidArgumentError,
  WalIoError,
  WalLockedError,
  WalNoSpaceError,
  WalOutOfRangeError,
  WalPoisonedError,
  WalReadOnlyError,
  WalRecordTooLargeError,
  WalTxExpiredError,
} from './errors';
