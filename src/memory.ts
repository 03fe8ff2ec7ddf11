/**
 * In-memory storage with the durability of a real disk, for testing code
 * built on walnut: simulate power loss, make syncs or file creation fail.
 * @module
 */
import { native, type NativeMemoryFs } from './native';
import { call } from './call';

/**
 * Operations a {@link MemoryStorage} can be told to fail.
 * @example
 * ```ts
 * storage.fail('rename', 'EIO'); // the next segment rotation fails
 * ```
 */
export type StorageOperation = 'sync' | 'create' | 'writeFile' | 'rename' | 'remove' | 'syncDir';

/**
 * Errors a {@link MemoryStorage} can inject.
 * @example
 * ```ts
 * storage.fail('create', 'ENOSPC', { times: 1 }); // the disk is full once
 * ```
 */
export type StorageErrorCode = 'EIO' | 'ENOSPC' | 'EDQUOT' | 'EROFS';

/**
 * A storage backend in memory, with identical semantics to the disk: data
 * that was synced survives {@link MemoryStorage.crash}, data that was not is
 * lost. Pass it as `storage` to {@link Wal.open}.
 *
 * @example
 * ```ts
 * const storage = new MemoryStorage();
 * const wal = await Wal.open('app-log', { storage });
 * await wal.write('kept');
 * wal.append('lost');                    // never synced
 * storage.crash();                       // power loss
 * const after = await Wal.open('app-log', { storage });
 * after.lastIndex;                       // 1
 * storage.fail('sync', 'EIO');           // the next sync fails: the log is poisoned
 * ```
 */
export class MemoryStorage {
  /** @internal */
  readonly native: NativeMemoryFs = new native.NativeMemoryFs();

  /**
   * Makes the next `times` calls of `operation` fail with `code` (every
   * call from now on when `times` is omitted).
   * @param operation which file-system operation fails
   * @param code the error it fails with
   * @param options `times`: how many calls fail
 * @example
 * ```ts
 * storage.fail('sync', 'EIO', { times: 1 });
 * await wal.write('x').catch((err) => err.code); // 'ERR_WAL_POISONED'
 * ```
   */
  fail(operation: StorageOperation, code: StorageErrorCode = 'EIO', options: { times?: number } = {}): void {
    call(() => this.native.fail(operation, code, options.times));
  }

  /**
 * Removes every pending fault.
 * @example
 * ```ts
 * storage.fail('sync', 'EIO');
 * storage.clearFaults(); // syncs succeed again (a poisoned log still needs reopening)
 * ```
 */
  clearFaults(): void {
    call(() => this.native.clearFaults());
  }

  /**
   * Simulates power loss: from now on the storage holds only what was synced.
   * Logs opened before are cut off from it (as if their process died); open
   * the log again to see what survived.
 * @example
 * ```ts
 * wal.append('not synced');
 * storage.crash();
 * const after = await Wal.open('app-log', { storage }); // only what was synced is there
 * ```
   */
  crash(): void {
    call(() => this.native.crash());
  }
}
