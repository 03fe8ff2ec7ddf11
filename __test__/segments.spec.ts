/** `Wal.segments()`: the files of a log, as `walnut inspect` shows them. */
import test from 'ava';
import { Wal, WalClosedError } from '../src';
import { tempDir } from './helpers';

test('segments() lists the files oldest first; they cover the log and only the last takes appends', async (t) => {
  const { dir, cleanup } = tempDir();
  t.teardown(cleanup);
  const wal = await Wal.open(dir, { segmentSize: 16 * 1024 });
  for (let i = 0; i < 400; i++) wal.append(Buffer.alloc(100, i));
  await wal.sync();
  const segs = wal.segments();
  t.true(segs.length > 2);
  t.is(segs[0].firstIndex, 1);
  t.is(segs.at(-1)!.lastIndex, 400);
  for (let k = 1; k < segs.length; k++) t.is(segs[k].firstIndex, segs[k - 1].lastIndex + 1);
  t.deepEqual(
    segs.map((s) => s.sealed),
    [...segs.slice(1).map(() => true), false],
  );
  for (const s of segs) {
    t.is(s.fileBytes, 16 * 1024);
    t.true(s.usedBytes > 0 && s.usedBytes <= s.fileBytes);
    t.is(s.name, `${String(s.firstIndex).padStart(20, '0')}.seg`);
    t.true(Math.abs(s.createdMs - Date.now()) < 60_000);
  }
  await wal.close();
  t.throws(() => wal.segments(), { instanceOf: WalClosedError });
  const ro = await Wal.open(dir, { readOnly: true });
  t.deepEqual(
    ro.segments().map((s) => [s.name, s.firstIndex, s.lastIndex]),
    segs.map((s) => [s.name, s.firstIndex, s.lastIndex]),
  );
  await ro.close();
});
