/**
 * Transactions: records staged in memory and written as one atomic batch.
 * @module
 */
import { WalError, WalErrorCode, WalInvalidArgumentError, WalTxExpiredError } from './errors';

/**
 * Options of {@link Wal.begin}.
 * @example
 * ```ts
 * const tx = wal.begin({ timeoutMs: 500 }); // commit within 500 ms or not at all
 * ```
 */
export interface TransactionOptions {
  /** Commit must happen within this many milliseconds (default: no limit). */
  timeoutMs?: number;
}

/**
 * Records staged with {@link Transaction.append}, written by
 * {@link Transaction.commit} as one atomic batch: after a crash all of them or
 * none are in the log, never a part (the staging is in memory; the batch is
 * framed so recovery drops an incomplete one).
 * @example
 * ```ts
 * const tx = wal.begin();
 * tx.append('debit account 1').append('credit account 2');
 * if (ok) tx.commit(); // both records, or (after a crash) neither
 * else tx.rollback(); // nothing is written
 * ```
 */
export class Transaction<I = Uint8Array | string> {
  readonly #encode: (value: I) => Uint8Array;
  readonly #commitBatch: (records: Uint8Array[]) => number;
  readonly #deadline: number;
  #items: Uint8Array[] = [];
  #state: 'open' | 'committed' | 'rolledBack' = 'open';

  /** @internal */
  constructor(
    encode: (value: I) => Uint8Array,
    commitBatch: (records: Uint8Array[]) => number,
    options: TransactionOptions,
  ) {
    const t = options.timeoutMs;
    if (t !== undefined && (typeof t !== 'number' || !(t >= 0))) {
      throw new WalInvalidArgumentError('timeoutMs must be a non-negative number');
    }
    this.#encode = encode;
    this.#commitBatch = commitBatch;
    this.#deadline = t === undefined ? Infinity : performance.now() + t;
  }

  /**
 * Records staged so far.
 * @example
 * ```ts
 * wal.begin().append('a').append('b').size; // 2
 * ```
 */
  get size(): number {
    return this.#items.length;
  }

  /**
 * `'open'`, `'committed'` or `'rolledBack'`.
 * @example
 * ```ts
 * const tx = wal.begin().append('a');
 * tx.commit();
 * tx.state; // 'committed'
 * ```
 */
  get state(): 'open' | 'committed' | 'rolledBack' {
    return this.#state;
  }

  /**
 * Whether the timeout has passed.
 * @example
 * ```ts
 * if (tx.expired) tx.rollback(); // commit() would throw WalTxExpiredError
 * ```
 */
  get expired(): boolean {
    return performance.now() > this.#deadline;
  }

  /**
   * Stages a record, encoded (and copied) now with the log's codec, so later
   * changes to `value` do not leak in.
   * @param value the record
 * @example
 * ```ts
 * const tx = wal.begin();
 * for (const item of cart) tx.append(JSON.stringify(item));
 * ```
   */
  append(value: I): this {
    this.#checkOpen();
    this.#items.push(this.#encode(value));
    return this;
  }

  /**
   * Writes the staged records as one atomic batch; returns the first index.
   * @throws {@link WalTxExpiredError} after the timeout (the records are dropped)
 * @example
 * ```ts
 * const first = wal.begin().append('a').append('b').commit();
 * wal.read(first + 1).toString(); // 'b'
 * ```
   */
  commit(): number {
    this.#checkOpen();
    if (this.expired) {
      this.#state = 'rolledBack';
      this.#items = [];
      throw new WalTxExpiredError();
    }
    if (this.#items.length === 0) throw new WalInvalidArgumentError('cannot commit an empty transaction');
    const first = this.#commitBatch(this.#items);
    this.#state = 'committed';
    this.#items = [];
    return first;
  }

  /**
 * Drops the staged records.
 * @example
 * ```ts
 * const tx = wal.begin().append('draft');
 * tx.rollback();
 * tx.state; // 'rolledBack': nothing was written
 * ```
 */
  rollback(): void {
    this.#checkOpen();
    this.#state = 'rolledBack';
    this.#items = [];
  }

  #checkOpen(): void {
    if (this.#state !== 'open') {
      throw new WalError(`the transaction is already ${this.#state}`, WalErrorCode.INVALID_ARGUMENT);
    }
  }
}
