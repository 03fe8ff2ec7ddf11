/**
 * A log opened read-only through the binding itself, for `walnut verify`:
 * it checks records with `checkRange`, which validates a whole chunk in one
 * native call without copying a byte to JavaScript, where going through
 * `Wal.readRange` would create a Buffer per record (about 30x slower).
 * Only the CLI uses this; applications use {@link Wal}.
 * @internal
 * @module
 */
import { call } from '../call';
import { fromNative } from '../errors';
import { native, type NativeWal } from '../native';
import { type RecoveryMode, toNative } from '../options';
import type { RecoveryReport, SegmentInfo } from '../wal';
import type { Keys } from './open';

/** One chunk checked. */
export interface Checked {
  /** Records that validated. */
  entries: number;
  /** Their payload bytes. */
  bytes: number;
  /** Records that did not. */
  damaged: { file: string; offset: number; index: number; reason: string }[];
}

/** The read-only view `verify` needs. */
export class RawLog {
  readonly #native: NativeWal;

  private constructor(n: NativeWal) {
    this.#native = n;
  }

  /** Opens `dir` read-only (no lock, no change) in `recovery` mode. */
  static async open(dir: string, recovery: RecoveryMode, keys?: Keys): Promise<RawLog> {
    const encryption = keys ? { keys, activeKeyId: keys[0].id } : undefined;
    const opts = toNative({ readOnly: true, recovery, encryption });
    try {
      return new RawLog(await native.NativeWal.open(dir, opts));
    } catch (err) {
      throw fromNative(err);
    }
  }

  /** First index held. */
  get firstIndex(): number {
    return this.#native.firstIndex;
  }

  /** Last index held. */
  get lastIndex(): number {
    return this.#native.lastIndex;
  }

  /** What recovery found (read-only: what it would do). */
  get recovery(): RecoveryReport {
    const r = this.#native.recovery();
    return { ...r, mode: r.mode as RecoveryMode, truncated: r.truncated ?? undefined, damage: r.damage ?? undefined };
  }

  /** The segment files. */
  segments(): SegmentInfo[] {
    return call(() => this.#native.segments());
  }

  /** Validates records `[lo, hi)`; damage is collected, other errors throw. */
  check(lo: number, hi: number): Checked {
    return call(() => native.checkRange(this.#native, lo, hi));
  }

  /** Releases the mappings. */
  async close(): Promise<void> {
    try {
      await this.#native.close();
    } catch (err) {
      throw fromNative(err);
    }
  }
}
