/**
 * In-memory storage with the durability of a real disk, for testing code
 * built on walnut: simulate power loss, make syncs or file creation fail.
 * @module
 */
import { native, type NativeMemoryFs } from './native';
import { call } from './call';

/** Operations a {@link MemoryStorage} can be told to fail. */
export type StorageOperation = 'sync' | 'create' | 'writeFile' | 'rename' | 'remove' | 'syncDir';

/** Errors a {@link MemoryStorage} can inject. */
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
   */
  fail(operation: StorageOperation, code: StorageErrorCode = 'EIO', options: { times?: number } = {}): void {
    call(() => this.native.fail(operation, code, options.times));
  }

  /** Removes every pending fault. */
  clearFaults(): void {
    call(() => this.native.clearFaults());
  }

  /**
   * Simulates power loss: from now on the storage holds only what was synced.
   * Logs opened before are cut off from it (as if their process died); open
   * the log again to see what survived.
   */
  crash(): void {
    call(() => this.native.crash());
  }
}
