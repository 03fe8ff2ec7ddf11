// The hot paths the Wal takes for speed (crates/walnut-node/src/fast.rs):
// reads into a shared slab or natively by size, batches packed
// or handed over as an array by record size, and group commit deferred to the
// end of the current burst of JavaScript, and appends of 512 KiB or more
// written to the file with one call instead of through the mapping
// (crates/walnut-core/src/wal/writer.rs). Each must behave exactly like the
// plain path it replaces.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { RaftStorage, Wal, WalInvalidArgumentError, WalRecordTooLargeError } from '../src';
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

// src/view.ts: views of the slab are made without Buffer#subarray.
test('records read from the slab are Buffers in every way a caller can see', async (t) => {
  const wal = await openWal(t);
  wal.appendBatch([record(10, 1), record(1000, 2)]);
  const { dir, cleanup } = tempDir('fastpath-raft');
  t.teardown(cleanup);
  const rs = await RaftStorage.open(dir);
  await rs.save({ entries: [{ index: 1, term: 1, data: record(10, 1) }] });
  t.teardown(() => rs.close());
  const reads: [string, Buffer][] = [
    ['read()', wal.read(1)],
    ['entries()', [...wal.entries()][0].data],
    ['readRange()', wal.readRange(1, 2)[0].data],
    ['RaftStorage#entries()', rs.entries(1, 2)[0].data],
  ];
  for (const [how, data] of reads) {
    t.true(Buffer.isBuffer(data), `${how}: Buffer.isBuffer`);
    t.true(data instanceof Buffer, `${how}: instanceof Buffer`);
    t.is(data.constructor, Buffer, `${how}: constructor`);
    t.is(inspect(data), inspect(record(10, 1)), `${how}: util.inspect`);
    t.deepEqual(data.toJSON(), record(10, 1).toJSON(), `${how}: toJSON`);
    t.is(data.readUInt32LE(2), record(10, 1).readUInt32LE(2), `${how}: Buffer methods`);
    const part = data.subarray(2, 6);
    t.is(Object.getPrototypeOf(part), Buffer.prototype, `${how}: its subarrays are plain Buffers`);
    t.deepEqual(part, record(10, 1).subarray(2, 6), `${how}: subarray bytes`);
  }
});

// Deleted files this process still maps under `dir` (Linux: /proc/self/maps).
function mapped(dir: string): { all: number; deleted: number } {
  const lines = readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((l) => l.includes(dir));
  return { all: lines.length, deleted: lines.filter((l) => l.endsWith('(deleted)')).length };
}

// crates/walnut-core/src/segment_list.rs: a handle's reads hold the segments
// they saw until the segment list changes.
(process.platform === 'linux' ? test : test.skip)(
  'segments a read held are let go at once when the log is truncated or closed',
  async (t) => {
    const { dir, cleanup } = tempDir('fastpath-unmap');
    t.teardown(cleanup);
    const wal = await Wal.open(dir, { segmentSize: 1 << 20 });
    const batch = Array.from({ length: 64 }, (_, k) => record(4096, k));
    for (let k = 0; k < 16; k++) wal.appendBatch(batch); // 4 MiB: several segments
    t.true(wal.segments().length > 3);
    t.deepEqual(wal.read(1), batch[0]);
    t.deepEqual(wal.read(wal.lastIndex - 1), batch[62]);

    wal.truncateBefore(wal.lastIndex - 10);
    t.is(mapped(dir).deleted, 0, 'compacted segments are unmapped by truncateBefore');

    t.deepEqual(wal.read(wal.lastIndex - 5), batch[58]);
    wal.truncateAfter(wal.firstIndex);
    t.is(mapped(dir).deleted, 0, 'segments cut by truncateAfter are unmapped');

    t.deepEqual(wal.read(wal.firstIndex), batch[(wal.firstIndex - 1) % 64]);
    await wal.close();
    t.is(mapped(dir).all, 0, 'a closed log maps nothing');
  },
);

(process.platform === 'linux' ? test : test.skip)(
  'segments that retention drops are let go once they rotate out, by batch appends too',
  async (t) => {
    const { dir, cleanup } = tempDir('fastpath-retention');
    t.teardown(cleanup);
    const wal = await Wal.open(dir, { segmentSize: 1 << 20, retention: { maxSegments: 2 } });
    t.teardown(() => wal.closeSync());
    const batch = Array.from({ length: 64 }, (_, k) => record(4096, k));
    for (let k = 0; k < 4; k++) wal.appendBatch(batch); // 1 MiB: the next batches rotate
    t.deepEqual(wal.read(1), batch[0]);
    t.deepEqual(wal.read(wal.lastIndex), batch[63]);
    const rotated = new Promise<void>((resolve) => {
      let n = 0;
      wal.on('rotate', () => ++n === 4 && resolve());
    });
    for (let k = 0; k < 24; k++) wal.appendBatch(batch);
    await rotated;
    t.true(wal.firstIndex > 256, 'retention dropped the first segments');
    t.is(mapped(dir).deleted, 0, 'no dropped segment is still mapped');
  },
);
