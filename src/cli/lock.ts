/**
 * Who holds a log's directory lock, found without touching the lock: on
 * Linux, `/proc/locks` lists every `flock` with the holder's pid and the
 * locked file's device and inode. Taking the lock to test it would make a
 * writer that opens at that moment fail with `ERR_WAL_LOCKED`, so the CLI
 * never does.
 * @internal
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * What is known about a writer: `held` with its pid, `free`, or `unknown`
 * (not Linux, or `/proc/locks` unreadable).
 */
export type LockState = { state: 'held'; pid: number } | { state: 'free' } | { state: 'unknown' };

// Linux's encoding of st_dev (glibc gnu_dev_major / gnu_dev_minor).
function major(dev: bigint): bigint {
  return ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
}
function minor(dev: bigint): bigint {
  return (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
}

/** Looks up the holder of `dir/LOCK`. */
export function lockState(dir: string, procLocks = '/proc/locks'): LockState {
  let st: fs.BigIntStats;
  try {
    st = fs.statSync(path.join(dir, 'LOCK'), { bigint: true });
  } catch {
    // No LOCK file: no writable handle has ever opened this directory.
    return { state: 'free' };
  }
  let table: string;
  try {
    table = fs.readFileSync(procLocks, 'utf8');
  } catch {
    return { state: 'unknown' };
  }
  // "1: FLOCK  ADVISORY  WRITE 4242 08:01:1234567 0 EOF"; blocked waiters
  // are listed as "1: -> FLOCK ..." and do not hold the lock.
  const line = /^\d+:\s+FLOCK\s+\S+\s+WRITE\s+(\d+)\s+([0-9a-f]+):([0-9a-f]+):(\d+)\s/;
  let sameInode: number | undefined;
  for (const l of table.split('\n')) {
    const m = line.exec(l);
    if (!m || BigInt(m[4]) !== st.ino) continue;
    if (BigInt('0x' + m[2]) === major(st.dev) && BigInt('0x' + m[3]) === minor(st.dev)) {
      return { state: 'held', pid: Number(m[1]) };
    }
    // Overlay and FUSE file systems may report another device in stat()
    // than the kernel lists here; an inode match alone is the fallback.
    sameInode ??= Number(m[1]);
  }
  return sameInode === undefined ? { state: 'free' } : { state: 'held', pid: sameInode };
}
