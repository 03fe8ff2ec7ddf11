/**
 * walnut: a write-ahead log for Node.js with a Rust core.
 *
 * - {@link Wal}: append, read, tail, truncate, with group-committed durable writes;
 * - {@link WalError} and its subclasses, keyed by {@link WalErrorCode}.
 *
 * @packageDocumentation
 */
export { Wal } from './wal';
export type {
  Entry,
  EntriesOptions,
  RecordData,
  RecoveryReport,
  SegmentInfo,
  TailOptions,
  WalStats,
} from './wal';
export type { RecoveryMode, RetentionOptions, SyncPolicy, WalOptions } from './options';
export { Transaction } from './transaction';
export type { TransactionOptions } from './transaction';
export {
  AbortError,
  WalClosedError,
  WalCorruptError,
  WalError,
  WalErrorCode,
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
