import test from 'ava';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AbortError,
  Wal,
  WalClosedError,
  WalCorruptError,
  WalErrorCode,
  WalInvalidArgumentError,
  WalIoError,
  WalLockedError,
  WalOutOfRangeError,
  WalReadOnlyError,
  WalRecordTooLargeError,
  WalTxExpiredError,
} from '../src';
import type { WalOptions } from '../src';
import { kill, startChild, tempDir } from './helpers';

const SMALL = { segmentSize: 64 * 1024, maxRecordSize: 16 * 1024 };

async function withWal(
  t: { teardown: (f: () => void) => void },
  options: WalOptions = SMALL,
): Promise<{ wal: Wal; dir: string }> {
  const { dir, cleanup } = tempDir();
  const wal = await Wal.open(dir, options);
  t.teardown(() => {
    wal.closeSync();
    cleanup();
  });
  return { wal, dir };
}

test('a new log starts empty at index 1 and appends return consecutive indexes', async (t) => {
  const { wal } = await withWal(t);
  t.is(wal.firstIndex, 1);
  t.is(wal.lastIndex, 0);
  t.is(wal.append('a'), 1);
  t.is(wal.append(Buffer.from([0, 1, 2])), 2);
  t.is(wal.append(new Uint8Array([9])), 3);
  t.is(wal.lastIndex, 3);
  t.is(wal.read(1).toString(), 'a');
  t.deepEqual([...wal.read(2)], [0, 1, 2]);
  t.deepEqual([...wal.read(3)], [9]);
});

test('strings are stored as UTF-8 and empty records are records', async (t) => {
  const { wal } = await withWal(t);
  const i = wal.append('héllo ☃');
  const j = wal.append('');
  const k = wal.append(Buffer.alloc(0));
  t.is(wal.read(i).toString('utf8'), 'héllo ☃');
  t.is(wal.read(j).length, 0);
  t.is(wal.read(k).length, 0);
});

test('appendBatch returns the first index of a contiguous run', async (t) => {
  const { wal } = await withWal(t);
  wal.append('before');
  const first = wal.appendBatch(['x', Buffer.from('y'), 'z']);
  t.is(first, 2);
  t.is(wal.lastIndex, 4);
  t.deepEqual(
    wal.readRange(2, 5).map((e) => [e.index, e.data.toString()]),
    [
      [2, 'x'],
      [3, 'y'],
      [4, 'z'],
    ],
  );
});

test('records survive close and reopen, across many segments', async (t) => {
  const { dir, cleanup } = tempDir();
  t.teardown(cleanup);
  const wal = await Wal.open(dir, SMALL);
  const payload = (i: number) => Buffer.alloc(100 + (i % 900), i % 251);
  for (let i = 1; i <= 2000; i++) wal.append(payload(i));
  t.true(wal.stats().segments > 5, 'small segments must rotate');
  await wal.close();
  const again = await Wal.open(dir, SMALL);
  t.is(again.lastIndex, 2000);
  t.true(again.recovery.clean);
  t.is(again.recovery.scannedSegments, 1, 'sealed segments are loaded from their index, not scanned');
  for (let i = 1; i <= 2000; i += 97) t.deepEqual(again.read(i), payload(i));
  await again.close();
});

test('write() resolves only once the record is durable, and concurrent writes share syncs', async (t) => {
  const { wal } = await withWal(t);
  const indexes = await Promise.all(Array.from({ length: 500 }, (_, k) => wal.write(`w${k}`)));
  t.deepEqual(indexes, Array.from({ length: 500 }, (_, k) => k + 1));
  t.true(wal.durableIndex >= 500);
  const syncs = wal.stats().syncs;
  t.true(syncs < 500, `500 writes took ${syncs} syncs: group commit must batch them`);
});

test('sync() makes everything appended so far durable', async (t) => {
  const { wal } = await withWal(t);
  wal.append('a');
  wal.append('b');
  t.is(wal.durableIndex, 0);
  t.is(await wal.sync(), 2);
  t.is(wal.durableIndex, 2);
});

test("sync: 'always' makes each append durable before it returns", async (t) => {
  const { wal } = await withWal(t, { ...SMALL, sync: 'always' });
  for (let i = 1; i <= 5; i++) {
    wal.append(`r${i}`);
    t.is(wal.durableIndex, i);
  }
});

test('background sync policies make appends durable without being asked', async (t) => {
  for (const sync of [{ everyMs: 5 }, { everyBytes: 256 }] as const) {
    const { wal } = await withWal(t, { ...SMALL, sync });
    for (let i = 0; i < 10; i++) wal.append(Buffer.alloc(64));
    const deadline = Date.now() + 5000;
    while (wal.durableIndex < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    t.true(wal.durableIndex >= 4, `policy ${JSON.stringify(sync)} left durableIndex at ${wal.durableIndex}`);
  }
});

test('readInto copies a record into a buffer from an offset and returns its length', async (t) => {
  const { wal } = await withWal(t);
  const records = [Buffer.from('hello'), Buffer.alloc(0), Buffer.alloc(10_000, 7)];
  const first = wal.appendBatch(records);
  const target = Buffer.alloc(20_000, 0xaa);
  for (const [k, r] of records.entries()) {
    const n = wal.readInto(first + k, target, 100);
    t.is(n, r.length, `record ${k}: its length`);
    t.deepEqual(target.subarray(100, 100 + n), r, `record ${k}: its bytes`);
  }
  t.is(target[99], 0xaa, 'nothing before the offset is touched');
  // A Uint8Array that views the middle of a larger buffer.
  const view = new Uint8Array(target.buffer, target.byteOffset + 5, 10);
  t.is(wal.readInto(first, view), 5);
  t.deepEqual(Buffer.from(view.subarray(0, 5)), records[0]);
  t.is(target[4], 0xaa, 'nothing before the view is touched');
});

test('readInto refuses a target too small, bad arguments and indexes outside the log, copying nothing', async (t) => {
  const { wal } = await withWal(t);
  const i = wal.append(Buffer.alloc(100, 1));
  const small = Buffer.alloc(150, 0);
  const tooSmall = t.throws(() => wal.readInto(i, small, 60), { instanceOf: WalInvalidArgumentError });
  t.regex(tooSmall.message, /100 bytes, more than the 90 after offset 60/);
  t.true(small.every((b) => b === 0), 'nothing copied');
  for (const offset of [-1, 151, 1.5, Number.NaN]) {
    t.throws(() => wal.readInto(i, small, offset), { instanceOf: WalInvalidArgumentError }, `offset ${offset}`);
  }
  t.throws(() => wal.readInto(i, [] as unknown as Uint8Array), { instanceOf: WalInvalidArgumentError });
  t.throws(() => wal.readInto(i + 1, small), { instanceOf: WalOutOfRangeError });
  wal.closeSync();
  t.throws(() => wal.readInto(i, small), { instanceOf: WalClosedError });
});

test('readRange honours the byte budget but returns at least one entry', async (t) => {
  const { wal } = await withWal(t);
  for (let i = 0; i < 10; i++) wal.append(Buffer.alloc(100));
  t.is(wal.readRange(1, 11, { maxBytes: 250 }).length, 2);
  t.is(wal.readRange(1, 11, { maxBytes: 1 }).length, 1);
  t.is(wal.readRange(1, 11).length, 10);
  t.deepEqual(wal.readRange(5, 5), []);
});

test('entries() iterates a range and follows appends made while iterating', async (t) => {
  const { wal } = await withWal(t);
  for (let i = 1; i <= 600; i++) wal.append(String(i));
  t.deepEqual(
    [...wal.entries({ from: 3, to: 6 })].map((e) => e.data.toString()),
    ['3', '4', '5'],
  );
  let seen = 0;
  for (const e of wal.entries()) {
    seen++;
    if (e.index === 600) wal.append('601');
  }
  t.is(seen, 601);
});

test('entries() is lazy, ends for good at a break or an error, and is an Iterator like a generator', async (t) => {
  const { wal } = await withWal(t);
  for (let i = 1; i <= 600; i++) wal.append(String(i));
  const bad = wal.entries({ from: -1 });
  t.throws(() => bad.next(), { instanceOf: WalInvalidArgumentError }, 'arguments are checked at the first next()');
  t.true(bad.next().done, 'an error ends it');

  const it = wal.entries();
  for (const e of it) if (e.index === 3) break;
  t.deepEqual(it.next(), { value: undefined, done: true }, 'a break ends it');

  const iteratorPrototype = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]()));
  t.is(Object.getPrototypeOf(Object.getPrototypeOf(it)), iteratorPrototype);
  t.is(it[Symbol.iterator](), it);

  const open = wal.entries();
  t.is(open.next().value?.index, 1);
  wal.closeSync();
  t.throws(() => {
    for (;;) if (open.next().done) break; // through the first chunk, then a read
  }, { instanceOf: WalClosedError });
  t.true(open.next().done, 'closing the log ended it');
});

test('tail() yields stored entries, then new ones as they are appended', async (t) => {
  const { wal } = await withWal(t);
  wal.append('old');
  const got: string[] = [];
  const done = (async () => {
    for await (const e of wal.tail({ from: 1 })) {
      got.push(e.data.toString());
      if (got.length === 3) break;
    }
  })();
  await new Promise((r) => setTimeout(r, 5));
  wal.append('new1');
  wal.appendBatch(['new2']);
  await done;
  t.deepEqual(got, ['old', 'new1', 'new2']);
});

test('tail({ durable: true }) only yields entries covered by a completed sync', async (t) => {
  const { wal } = await withWal(t);
  wal.append('a');
  const got: number[] = [];
  const done = (async () => {
    for await (const e of wal.tail({ durable: true })) {
      got.push(e.index);
      t.true(wal.durableIndex >= e.index, 'a durable tail must not run ahead of durableIndex');
      if (got.length === 2) break;
    }
  })();
  await new Promise((r) => setTimeout(r, 20));
  t.deepEqual(got, [], 'nothing is durable yet');
  wal.append('b');
  await wal.sync();
  await done;
  t.deepEqual(got, [1, 2]);
});

test('an aborted signal ends tailing with an AbortError', async (t) => {
  const { wal } = await withWal(t);
  const ac = new AbortController();
  const iterating = (async () => {
    for await (const _ of wal.tail({ from: 1, signal: ac.signal })) {
      /* nothing is appended */
    }
  })();
  setTimeout(() => ac.abort(new Error('stop')), 10);
  const err = await t.throwsAsync(iterating, { instanceOf: AbortError });
  t.is(err?.name, 'AbortError');
  t.is((err?.cause as Error).message, 'stop');
  const pre = new AbortController();
  pre.abort();
  await t.throwsAsync(wal.tail({ signal: pre.signal }).next(), { instanceOf: AbortError });
});

test('closing the log ends tailing', async (t) => {
  const { dir, cleanup } = tempDir();
  t.teardown(cleanup);
  const wal = await Wal.open(dir, SMALL);
  const iterating = (async () => {
    let n = 0;
    for await (const _ of wal.tail()) n++;
    return n;
  })();
  wal.append('x');
  await new Promise((r) => setTimeout(r, 5));
  await wal.close();
  t.is(await iterating, 1);
});

test('a transaction commits its records as one batch, or drops them', async (t) => {
  const { wal } = await withWal(t);
  const tx = wal.begin();
  tx.append('a').append(Buffer.from('b'));
  t.is(wal.lastIndex, 0, 'staged records are not in the log');
  t.is(tx.commit(), 1);
  t.is(wal.lastIndex, 2);
  const rolled = wal.begin();
  rolled.append('c');
  rolled.rollback();
  t.is(wal.lastIndex, 2);
  t.throws(() => rolled.commit(), { code: WalErrorCode.INVALID_ARGUMENT });
});

test('an expired transaction refuses to commit with ERR_WAL_TX_EXPIRED', async (t) => {
  const { wal } = await withWal(t);
  const tx = wal.begin({ timeoutMs: 1 });
  tx.append('late');
  await new Promise((r) => setTimeout(r, 10));
  const err = t.throws(() => tx.commit(), { instanceOf: WalTxExpiredError });
  t.is(err?.code, 'ERR_WAL_TX_EXPIRED');
  t.is(wal.lastIndex, 0);
});

test('truncateAfter drops the suffix and rejects writes that were cut before becoming durable', async (t) => {
  const { wal, dir } = await withWal(t);
  for (let i = 1; i <= 10; i++) wal.append(`r${i}`);
  await wal.sync();
  const pending = wal.write('r11');
  wal.truncateAfter(5);
  await t.throwsAsync(pending, { instanceOf: WalOutOfRangeError });
  t.is(wal.lastIndex, 5);
  t.throws(() => wal.read(6), { instanceOf: WalOutOfRangeError });
  t.is(wal.append('new6'), 6);
  await wal.close();
  const again = await Wal.open(dir, SMALL);
  t.is(again.read(6).toString(), 'new6');
  t.is(again.read(5).toString(), 'r5');
  await again.close();
});

test('truncateBefore compacts the prefix and survives reopen', async (t) => {
  const { wal, dir } = await withWal(t);
  for (let i = 1; i <= 3000; i++) wal.append(Buffer.alloc(200, i % 256));
  const before = wal.stats().segments;
  wal.truncateBefore(2500);
  t.is(wal.firstIndex, 2500);
  t.true(wal.stats().segments < before, 'whole segments below the first index are deleted');
  t.throws(() => wal.read(2499), { code: WalErrorCode.OUT_OF_RANGE });
  await wal.close();
  const again = await Wal.open(dir, SMALL);
  t.is(again.firstIndex, 2500);
  t.is(again.lastIndex, 3000);
  await again.close();
});

test('stats() counts appends, syncs and index memory', async (t) => {
  const { wal } = await withWal(t);
  for (let i = 0; i < 100; i++) wal.append(Buffer.alloc(10));
  await wal.sync();
  const s = wal.stats();
  t.is(s.appends, 100);
  t.is(s.appendedBytes, 1000);
  t.true(s.syncs >= 1);
  t.is(s.indexBytes, 400, 'the index costs 4 bytes per entry');
  t.is(s.syncLatencyUs.reduce((a, b) => a + b, 0), s.syncs);
});

test('close() is idempotent, settles pending writes, and every later call throws ERR_WAL_CLOSED', async (t) => {
  const { dir, cleanup } = tempDir();
  t.teardown(cleanup);
  const wal = await Wal.open(dir, SMALL);
  const pending = wal.write('last words');
  await Promise.all([wal.close(), wal.close()]);
  t.is(await pending, 1, 'close makes pending writes durable');
  t.true(wal.closed);
  for (const f of [() => wal.append('x'), () => wal.read(1), () => wal.stats(), () => wal.begin()]) {
    const err = t.throws(f, { instanceOf: WalClosedError });
    t.is(err?.code, 'ERR_WAL_CLOSED');
  }
  await t.throwsAsync(wal.write('x'), { code: WalErrorCode.CLOSED });
  await t.throwsAsync(wal.sync(), { code: WalErrorCode.CLOSED });
});

test('await using closes the log at the end of the scope', async (t) => {
  const { dir, cleanup } = tempDir();
  t.teardown(cleanup);
  let escaped: Wal;
  {
    await using wal = await Wal.open(dir, SMALL);
    wal.append('scoped');
    escaped = wal;
  }
  t.true(escaped.closed);
  const again = Wal.openSync(dir, SMALL);
  t.is(again.read(1).toString(), 'scoped');
  again.closeSync();
});

test('a second process cannot open a log that is open, with ERR_WAL_LOCKED', async (t) => {
  const { dir, cleanup } = tempDir();
  t.teardown(cleanup);
  const child = await startChild(
    `const w = walnut.Wal.openSync(${JSON.stringify(dir)}); w.append('child'); console.log('open'); setInterval(() => {}, 1000);`,
    'open',
  );
  try {
    const err = await t.throwsAsync(Wal.open(dir), { instanceOf: WalLockedError });
    t.is(err?.code, 'ERR_WAL_LOCKED');
    t.throws(() => Wal.openSync(dir), { code: WalErrorCode.LOCKED });
  } finally {
    await kill(child);
  }
  const wal = await Wal.open(dir);
  t.is(wal.read(1).toString(), 'child', 'the lock dies with the process');
  await wal.close();
});

test('the same process cannot open a log twice either', async (t) => {
  const { wal, dir } = await withWal(t);
  t.truthy(wal);
  t.throws(() => Wal.openSync(dir), { instanceOf: WalLockedError });
});

test('a log reopens after its writer was killed with SIGKILL, keeping every durable write', async (t) => {
  const { dir, cleanup } = tempDir();
  t.teardown(cleanup);
  const child = await startChild(
    `(async () => {
      const w = await walnut.Wal.open(${JSON.stringify(dir)}, { segmentSize: 65536 });
      for (let i = 1; ; i++) {
        await w.write('r' + i);
        if (i === 300) console.log('acked300');
        if (i > 300 && i % 7 === 0) await new Promise((r) => setImmediate(r));
      }
    })();`,
    'acked300',
  );
  await kill(child);
  const wal = await Wal.open(dir, { segmentSize: 65536 });
  t.true(wal.lastIndex >= 300, 'acknowledged writes survive');
  for (let i = 1; i <= wal.lastIndex; i++) t.is(wal.read(i).toString(), `r${i}`);
  await wal.close();
});

test('a damaged record is ERR_WAL_CORRUPT with its file, offset and index', async (t) => {
  const { dir, cleanup } = tempDir();
  t.teardown(cleanup);
  const wal = await Wal.open(dir, { ...SMALL, sync: 'always' });
  for (let i = 1; i <= 20; i++) wal.append(`record number ${i}`);
  await wal.close();
  const seg = readdirSync(dir).find((n) => n.endsWith('.seg'))!;
  const bytes = readFileSync(join(dir, seg));
  bytes[576 + 40] ^= 0xff; // inside the payload of record 1
  writeFileSync(join(dir, seg), bytes);
  for (const recovery of ['tolerateTail', 'absolute'] as const) {
    const err = await t.throwsAsync(Wal.open(dir, { ...SMALL, recovery }), { instanceOf: WalCorruptError });
    t.is(err?.code, 'ERR_WAL_CORRUPT');
    t.is(err?.file, seg);
    t.is(err?.offset, 576);
    t.is(err?.index, 1);
  }
  const salvage = await Wal.open(dir, { ...SMALL, recovery: 'salvage' });
  t.is(salvage.recovery.damage?.index, 1);
  t.throws(() => salvage.append('x'), { instanceOf: WalReadOnlyError });
  await salvage.close();
});

test('a torn tail is cut off at open and reported', async (t) => {
  const { dir, cleanup } = tempDir();
  t.teardown(cleanup);
  const wal = await Wal.open(dir, SMALL);
  for (let i = 1; i <= 10; i++) wal.append(`r${i}`);
  await wal.sync();
  wal.closeSync();
  // Simulate a half-written record after the clean end: garbage where the next
  // frame would start, as a crash mid-append leaves it.
  const seg = readdirSync(dir).find((n) => n.endsWith('.seg'))!;
  const bytes = readFileSync(join(dir, seg));
  let end = 576;
  for (;;) {
    const size = bytes.readUInt32LE(end);
    if (size === 0) break;
    end += (size + 7) & ~7;
  }
  bytes.fill(0xab, end, end + 100);
  writeFileSync(join(dir, seg), bytes);
  const refused = await t.throwsAsync(Wal.open(dir, { ...SMALL, recovery: 'absolute' }), {
    instanceOf: WalCorruptError,
  });
  t.is(refused?.index, 11, 'absolute mode refuses even a torn tail');
  const again = await Wal.open(dir, SMALL);
  t.is(again.lastIndex, 10);
  t.is(again.recovery.truncated?.fromIndex, 11);
  t.is(again.recovery.truncated?.segment, seg);
  t.is(again.append('next'), 11);
  await again.close();
});

test('wrong arguments and options are ERR_WAL_INVALID_ARGUMENT', async (t) => {
  const { wal } = await withWal(t);
  const bad = [
    () => wal.read(-1),
    () => wal.read(1.5),
    () => wal.read('1' as unknown as number),
    () => wal.append(42 as unknown as string),
    () => wal.appendBatch([]),
    () => wal.readRange(1, 2, { maxBytes: -1 }),
    () => wal.truncateAfter(Number.NaN),
  ];
  for (const f of bad) t.throws(f, { instanceOf: WalInvalidArgumentError });
  const { dir, cleanup } = tempDir();
  t.teardown(cleanup);
  for (const options of [
    { segmentSize: 1000 },
    { sync: 'sometimes' },
    { recovery: 'hope' },
    { nonsense: true },
    { sync: { everyMs: 0 } },
  ]) {
    await t.throwsAsync(Wal.open(dir, options as never), { code: WalErrorCode.INVALID_ARGUMENT });
  }
  await t.throwsAsync(Wal.open(''), { instanceOf: WalInvalidArgumentError });
});

test('a record over maxRecordSize is ERR_WAL_RECORD_TOO_LARGE and nothing is written', async (t) => {
  const { wal } = await withWal(t);
  const err = t.throws(() => wal.append(Buffer.alloc(16 * 1024 + 1)), { instanceOf: WalRecordTooLargeError });
  t.is(err?.size, 16 * 1024 + 1);
  t.is(err?.max, 16 * 1024);
  t.is(wal.lastIndex, 0);
  t.is(wal.append('fits'), 1);
});

test('indexes beyond Number.MAX_SAFE_INTEGER are ERR_WAL_OUT_OF_RANGE', async (t) => {
  const { wal } = await withWal(t);
  wal.truncateBefore(Number.MAX_SAFE_INTEGER);
  t.is(wal.append('last'), Number.MAX_SAFE_INTEGER);
  t.throws(() => wal.append('one too many'), { instanceOf: WalOutOfRangeError });
  t.throws(() => wal.read(Number.MAX_SAFE_INTEGER + 1), { instanceOf: WalInvalidArgumentError });
});

test('an unusable directory is ERR_WAL_IO', async (t) => {
  const { dir, cleanup } = tempDir();
  t.teardown(cleanup);
  writeFileSync(dir, 'a file where the log directory should be');
  const err = await t.throwsAsync(Wal.open(dir), { instanceOf: WalIoError });
  t.is(err?.code, 'ERR_WAL_IO');
});

test('a read-only handle reads without the lock and refuses writes with ERR_WAL_READ_ONLY', async (t) => {
  const { wal, dir } = await withWal(t);
  wal.append('visible');
  await wal.sync();
  const ro = await Wal.open(dir, { ...SMALL, readOnly: true });
  t.true(ro.readOnly);
  t.is(ro.read(1).toString(), 'visible');
  t.throws(() => ro.append('x'), { code: WalErrorCode.READ_ONLY });
  t.throws(() => ro.truncateAfter(0), { code: WalErrorCode.READ_ONLY });
  await ro.close();
});

test('backup() copies the durable log into a directory that opens as a log', async (t) => {
  const { wal, dir } = await withWal(t);
  for (let i = 1; i <= 1000; i++) wal.append(`b${i}`);
  const dest = `${dir}-backup`;
  t.is(await wal.backup(dest), 1000);
  const copy = await Wal.open(dest, SMALL);
  t.is(copy.lastIndex, 1000);
  t.is(copy.read(1000).toString(), 'b1000');
  await copy.close();
});
