/**
 * Real processes, real disks: what a Node user of walnut can rely on.
 *
 * - A kill loop: a child appends with durable acknowledgements and reports
 *   each acknowledged index; the parent SIGKILLs it at random moments and
 *   checks, after every kill, that the log reopens (100%) and that every
 *   acknowledged record is there, byte for byte, in a gap-free log.
 *   `WALNUT_CRASH_KILLS` sets the number of kills (`npm run test:crash:full`).
 * - A full disk (a small tmpfs): the append that does not fit fails with
 *   `ERR_WAL_NO_SPACE`, the process lives on, the log stays readable, and
 *   appends resume once space is freed. Linux only; needs root to mount; in
 *   CI a failed mount fails the test, elsewhere the test is skipped with the
 *   reason.
 * - Another process truncating or deleting a segment under an open log: the
 *   Node process survives (the core's SIGBUS guard, Linux) with typed errors.
 *   Windows refuses both while the log maps the file; that is checked instead.
 */
import test from 'ava';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Wal, WalCorruptError, WalNoSpaceError } from '../src/index';
import { DIST, tempDir } from './helpers';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { payload } = require('./fixtures/crash-payload.js') as { payload: (i: number) => Buffer };

const WRITER = resolve(__dirname, 'fixtures', 'crash-writer.js');
const KILLS = Number(process.env.WALNUT_CRASH_KILLS ?? 200);
const POLICIES = ['always', 'none', 'everyMs', 'everyBytes'];

/** A running kill-loop writer. */
interface Writer {
  child: ChildProcess;
  /** Why it exited before it was killed, if it did (a loop that tests nothing). */
  diedOnItsOwn: () => string | undefined;
}

/** Starts the writer and resolves with it once it printed `ready`. */
function startWriter(dir: string, seed: number, policy: string, acks: { max: number }): Promise<Writer> {
  const child = spawn(process.execPath, [WRITER, DIST, dir, String(seed), policy], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((ready, fail) => {
    let out = '';
    let err = '';
    let started = false;
    let ownDeath: string | undefined;
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const lines = out.split('\n');
      out = lines.pop()!;
      for (const line of lines) {
        const [what, n] = line.split(' ');
        if (what === 'ack') acks.max = Math.max(acks.max, Number(n));
        if (what === 'ready' && !started) {
          started = true;
          ready({ child, diedOnItsOwn: () => ownDeath });
        }
      }
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code, signal) => {
      if (!started) fail(new Error(`writer exited (${code ?? signal}) before ready: ${err}`));
      else if (signal !== 'SIGKILL') ownDeath = `writer died on its own (${code ?? signal}): ${err}`;
    });
  });
}

function killAndWait(child: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    child.once('exit', () => done());
    child.kill('SIGKILL');
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test(`kill loop: ${KILLS} SIGKILLs, every acknowledged record survives, every reopen succeeds`, async (t) => {
  t.timeout(Math.max(120_000, KILLS * 1_000));
  const { dir, cleanup } = tempDir('walnut-crash');
  t.teardown(cleanup);
  const acks = { max: 0 };
  let verifiedUpTo = 0;
  let reopens = 0;
  let rng = 12345;
  const rand = (n: number) => {
    rng = (Math.imul(rng, 1103515245) + 12345) >>> 0;
    return (rng >>> 8) % n;
  };
  for (let k = 0; k < KILLS; k++) {
    // The writer's own open is the recovery after the previous kill.
    const writer = await startWriter(dir, k + 1, POLICIES[k % POLICIES.length], acks);
    reopens++;
    await sleep(2 + rand(40));
    await killAndWait(writer.child);
    const ownDeath = writer.diedOnItsOwn();
    if (ownDeath) t.fail(`kill ${k}: ${ownDeath}`);

    // Check the oracle on what the kill left, without changing it.
    const wal = await Wal.open(dir, { readOnly: true });
    try {
      const last = wal.lastIndex;
      t.is(wal.firstIndex, 1);
      if (last < acks.max) t.fail(`kill ${k}: the log ends at ${last} but ${acks.max} was acknowledged`);
      // Records checked before cannot change, but every 25th kill rereads all.
      const from = k % 25 === 24 ? 1 : Math.max(1, verifiedUpTo - 20);
      for (let i = from; i <= last; i++) {
        const got = wal.read(i);
        if (!payload(i).equals(got)) t.fail(`kill ${k}: record ${i} does not hold what was written`);
      }
      verifiedUpTo = Math.min(last, acks.max);
    } finally {
      await wal.close();
    }
  }
  // The last writer's crash is recovered by a writable open too.
  const wal = await Wal.open(dir);
  t.true(wal.lastIndex >= acks.max);
  await wal.close();
  reopens++;
  t.true(acks.max > 0, 'the writers acknowledged something');
  t.log(`${KILLS} kills, ${acks.max} acknowledged records, 0 lost, ${reopens}/${reopens} reopens succeeded`);
});

// The SIGBUS guard is Linux-only: elsewhere on Unix the truncation kills the
// process, and Windows refuses to truncate a mapped file (tested below).
const onLinux = process.platform === 'linux' ? test : test.skip;
const onWindows = process.platform === 'win32' ? test : test.skip;
const onUnix = process.platform === 'win32' ? test.skip : test;

onLinux('a segment truncated by another process: typed errors, the process lives on', async (t) => {
  const { dir, cleanup } = tempDir('walnut-sigbus');
  t.teardown(cleanup);
  const wal = await Wal.open(dir, { segmentSize: 1 << 20 });
  for (let i = 1; i <= 200; i++) wal.append(payload(i));
  await wal.sync();
  const segment = join(dir, '00000000000000000001.seg');
  execFileSync(process.execPath, ['-e', `require('fs').truncateSync(${JSON.stringify(segment)}, 0)`]);
  // Reading pages that no longer exist would be SIGBUS without the guard.
  const err = t.throws(() => wal.read(150));
  t.true(err instanceof WalCorruptError, `got ${String(err)}`);
  t.regex(String(err?.message), /truncated by another process/);
  // The appended record lands in the zero page, not in the file: the sync
  // must fail, and the handle is poisoned after it.
  try {
    wal.append('after the truncation');
  } catch {
    // already poisoned: also fine
  }
  const synced = await wal.sync().then(
    () => 'resolved',
    (e: { code?: string }) => e.code,
  );
  t.true(synced === 'ERR_WAL_IO' || synced === 'ERR_WAL_POISONED', `sync settled with ${synced}`);
  await wal.close().catch(() => undefined);
  t.pass('the process survived');
});

onWindows('Windows: another process can neither truncate nor delete a segment the log maps', async (t) => {
  const { dir, cleanup } = tempDir('walnut-mapped');
  t.teardown(cleanup);
  const wal = await Wal.open(dir, { segmentSize: 1 << 20 });
  for (let i = 1; i <= 100; i++) wal.append(payload(i));
  await wal.sync();
  const segment = JSON.stringify(join(dir, '00000000000000000001.seg'));
  for (const op of [`require('fs').truncateSync(${segment}, 0)`, `require('fs').unlinkSync(${segment})`]) {
    t.throws(() => execFileSync(process.execPath, ['-e', op], { stdio: 'pipe' }), undefined, op);
  }
  for (let i = 1; i <= 100; i++) t.true(payload(i).equals(wal.read(i)));
  t.is(await wal.write(payload(101)), 101);
  await wal.close();
});

onUnix('a segment deleted by another process stays readable through the open log', async (t) => {
  const { dir, cleanup } = tempDir('walnut-unlink');
  t.teardown(cleanup);
  const wal = await Wal.open(dir, { segmentSize: 1 << 20 });
  for (let i = 1; i <= 100; i++) wal.append(payload(i));
  await wal.sync();
  execFileSync('rm', ['-f', join(dir, '00000000000000000001.seg')]);
  for (let i = 1; i <= 100; i++) t.true(payload(i).equals(wal.read(i)));
  t.is(await wal.write(payload(101)), 101);
  await wal.close();
});

/** Mounts a tmpfs of `size` at a fresh directory; the reason when it cannot. */
function mountTmpfs(size: string): { dir: string; unmount: () => void } | string {
  const dir = mkdtempSync(join(tmpdir(), 'walnut-enospc-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    return `cannot mount a tmpfs (needs root): ${String((e as Error).message).split('\n')[0]}`;
  }
  return {
    dir,
    unmount: () => {
      // Lazy: a closed log's mappings go away only when its native object is
      // garbage-collected, which may be after this test.
      execFileSync('umount', ['-l', dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const enospc = 'a full disk: ERR_WAL_NO_SPACE, the log stays readable, appends resume after space is freed';
const probe = process.platform === 'linux' ? mountTmpfs('64k') : 'needs a Linux tmpfs';
const canMount = typeof probe !== 'string';
if (canMount) probe.unmount();
if (!canMount && (process.env.CI !== 'true' || process.platform !== 'linux')) {
  console.log(`skipping "${enospc}": ${probe}`);
  test.skip(enospc, () => undefined);
} else {
  test(enospc, async (t) => {
    const mounted = mountTmpfs('1m');
    if (typeof mounted === 'string') {
      t.fail(`CI must be able to run the full-disk test: ${mounted}`);
      return;
    }
    t.teardown(mounted.unmount);
    const dir = join(mounted.dir, 'log');
    mkdirSync(dir);
    // Ballast to free later.
    const ballast = join(mounted.dir, 'ballast');
    writeFileSync(ballast, Buffer.alloc(320 << 10));
    const wal = await Wal.open(dir, { segmentSize: 128 << 10, sync: 'none' });
    let last = 0;
    let err: unknown;
    for (let i = 1; i < 10_000; i++) {
      try {
        last = wal.append(payload(i));
      } catch (e) {
        err = e;
        break;
      }
    }
    t.true(err instanceof WalNoSpaceError, `expected ERR_WAL_NO_SPACE, got ${String(err)}`);
    t.is((err as { code?: string }).code, 'ERR_WAL_NO_SPACE');
    t.true(last > 0);
    t.is(wal.lastIndex, last, 'the append that did not fit changed nothing');
    t.is(await wal.sync(), last, 'what fitted is durable');
    for (let i = 1; i <= last; i++) t.true(payload(i).equals(wal.read(i)));
    rmSync(ballast);
    let resumed = 0;
    for (let i = last + 1; i <= last + 80; i++) resumed = wal.append(payload(i));
    t.is(resumed, last + 80, 'appends resume once space is freed');
    t.is(await wal.sync(), resumed);
    await wal.close();
    const again = await Wal.open(dir, { readOnly: true });
    t.is(again.lastIndex, resumed);
    t.true(readdirSync(dir).some((n) => n.endsWith('.seg')));
    await again.close();
  });
}
