// The hot paths the Wal takes for speed (crates/walnut-node/src/fast.rs):
// reads into a shared slab or natively by size, batches packed
// or handed over as an array by record size, and group commit deferred to the
// end of the current burst of JavaScript, and appends of 512 KiB or more
// written to the file with one call instead of through the mapping
// (crates/walnut-core/src/wal/writer.rs). Each must behave exactly like the
// plain path it replaces.
import test from 'ava';
import { Wal, WalInvalidArgumentError, WalRecordTooLargeError } from '../src';
import { tempDir } from './helpers';

// src/wal.ts: records are read into 64 KiB slabs, replaced with less than 16 KiB left.
const SLAB = 64 * 1024;
const SLAB_ROOM = 16 * 1024;

function record(size: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

async function openWal(t: { teardown: (f: () => void) => void }, options = {}): Promise<Wal> {
  const { dir, cleanup } = tempDir('fastpath');
  const wal = await Wal.open(dir, { segmentSize: 1 << 20, maxRecordSize: 256 * 1024, ...options });
  t.teardown(() => {
    wal.closeSync();
    cleanup();
  });
  return wal;
}

test('read() returns records of every size around the slab limits, and earlier results never change', async (t) => {
  const wal = await openWal(t);
  const sizes = [0, 1, 7, 1024, SLAB_ROOM - 1, SLAB_ROOM, SLAB_ROOM + 1, 40 * 1024, SLAB, SLAB + 1, 200 * 1024];
  const written = sizes.map((size, k) => record(size, k));
  const first = wal.appendBatch(written);
  const reads = sizes.map((_, k) => wal.read(first + k));
  for (let k = 0; k < sizes.length; k++) {
    t.deepEqual(reads[k], written[k], `record of ${sizes[k]} bytes`);
  }
  // Many more reads fill and replace several slabs; no earlier result may
  // change or share bytes with a later one.
  const more = Array.from({ length: 300 }, (_, k) => wal.read(first + (k % sizes.length)));
  for (let k = 0; k < sizes.length; k++) t.deepEqual(reads[k], written[k], `${sizes[k]} bytes, after more reads`);
  for (let k = 0; k < more.length; k++) t.deepEqual(more[k], written[k % sizes.length], `read ${k}`);
  more[3].fill(0xee);
  t.deepEqual(more[3 + sizes.length], written[3], 'writing into one result leaves the others alone');
});
test('appendBatch() stores small and large records alike, whichever way they reach native code', async (t) => {
  const wal = await openWal(t);
  const small = Array.from({ length: 100 }, (_, k) => record(10 + k, k)); // packed into one buffer
  const large = Array.from({ length: 10 }, (_, k) => record(4096 + k, k)); // handed over as an array
  const mixed = [record(1, 1), 'text', record(5000, 2), new Uint8Array([1, 2, 3])];
  const a = wal.appendBatch(small);
  const b = wal.appendBatch(large);
  const c = wal.appendBatch(mixed);
  t.deepEqual(
    [a, b, c],
    [1, 1 + small.length, 1 + small.length + large.length],
  );
  small.forEach((r, k) => t.deepEqual(wal.read(a + k), r));
  large.forEach((r, k) => t.deepEqual(wal.read(b + k), r));
  t.deepEqual(wal.read(c), mixed[0]);
  t.is(wal.read(c + 1).toString(), 'text');
  t.deepEqual(wal.read(c + 2), mixed[2]);
  t.deepEqual([...wal.read(c + 3)], [1, 2, 3]);
});

test('appends of 512 KiB or more, written with one call, read back like the others, also after reopen', async (t) => {
  const { dir, cleanup } = tempDir('fastpath');
  t.teardown(cleanup);
  const options = { segmentSize: 8 << 20, maxRecordSize: 1 << 20 };
  const wal = await Wal.open(dir, options);
  const batch = Array.from({ length: 600 }, (_, k) => record(1001, k)); // 600 KiB of frames
  const big = record(700 * 1024 + 3, 9);
  const written = [record(13, 1), ...batch, big, record(77, 2)];
  wal.append(written[0]);
  wal.appendBatch(batch);
  wal.append(big);
  wal.append(written[written.length - 1]);
  const check = (w: Wal, when: string) => {
    t.is(w.lastIndex, written.length, when);
    written.forEach((r, k) => t.true(w.read(k + 1).equals(r), `${when}: index ${k + 1}`));
  };
  check(wal, 'as written');
  await wal.close();
  const again = await Wal.open(dir, options);
  t.teardown(() => again.closeSync());
  check(again, 'after reopen');
});

test('a batch with a value that is neither bytes nor a string names its position and stores nothing', async (t) => {
  const wal = await openWal(t);
  wal.append('before');
  const err = t.throws(() => wal.appendBatch(['a', 42 as unknown as string, 'c']), {
    instanceOf: WalInvalidArgumentError,
  });
  t.regex(err.message, /items\[1\]/);
  t.is(wal.lastIndex, 1);
});

test('a large-record batch that cannot fit is refused whole, and the log is unchanged', async (t) => {
  const wal = await openWal(t, { segmentSize: 256 * 1024, maxRecordSize: 64 * 1024 });
  wal.append('before');
  const tooBig = Array.from({ length: 8 }, (_, k) => record(60 * 1024, k)); // 480 KiB > one segment
  t.throws(() => wal.appendBatch(tooBig), { instanceOf: WalRecordTooLargeError });
  t.is(wal.lastIndex, 1);
  t.is(wal.append('after'), 2);
});

test('writes issued together share one sync, and each resolves only once durable', async (t) => {
  const wal = await openWal(t);
  const before = wal.stats().syncs;
  const indexes = await Promise.all(Array.from({ length: 64 }, (_, k) => wal.write(record(100, k))));
  t.deepEqual(indexes, Array.from({ length: 64 }, (_, k) => k + 1));
  t.true(wal.durableIndex >= 64);
  t.is(wal.stats().syncs - before, 1, '64 writes of one tick, one sync');
});

test('entries() and tail() copy chunks of records into the slab, and records too large for it natively', async (t) => {
  const wal = await openWal(t);
  // Mostly small records (many per native call), with some that fill or
  // overflow what is left of a slab.
  const sizes = Array.from({ length: 600 }, (_, k) =>
    k % 97 === 0 ? 200 * 1024 : k % 31 === 0 ? 40 * 1024 : k % 7 === 0 ? SLAB_ROOM : (k * 37) % 2000,
  );
  const written = sizes.map((size, k) => record(size, k));
  for (let k = 0; k < written.length; k += 50) wal.appendBatch(written.slice(k, k + 50));
  const seen = [...wal.entries()];
  t.is(seen.length, written.length);
  for (let k = 0; k < seen.length; k++) {
    t.is(seen[k].index, k + 1);
    t.deepEqual(seen[k].data, written[k], `entry ${k + 1} (${sizes[k]} bytes)`);
  }
  const ac = new AbortController();
  let k = 0;
  for await (const e of wal.tail({ from: 1, signal: ac.signal })) {
    t.deepEqual(e.data, written[k], `tailed entry ${e.index}`);
    if (++k === written.length) break;
  }
  t.is(k, written.length);
  // Entries yielded first are still intact after the slabs were replaced.
  t.deepEqual(seen[1].data, written[1]);
});
