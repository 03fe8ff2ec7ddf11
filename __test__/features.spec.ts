import test from 'ava';
import { once } from 'node:events';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  MemoryStorage,
  Wal,
  WalBadKeyError,
  WalErrorCode,
  WalForeignError,
  WalInvalidArgumentError,
  WalNoSpaceError,
  WalPoisonedError,
  type Codec,
} from '../src';
import { tempDir } from './helpers';

const SMALL = { segmentSize: 64 * 1024, maxRecordSize: 16 * 1024 };
const KEY1 = { id: 1, key: Buffer.alloc(32, 1) };
const KEY2 = { id: 2, key: Buffer.alloc(32, 2) };

function event(i: number): string {
  return JSON.stringify({ id: i, type: 'page_view', user: `user-${i % 97}`, path: `/products/${i % 13}` }).repeat(3);
}

function scratch(t: { teardown: (f: () => void) => void }): string {
  const { dir, cleanup } = tempDir();
  t.teardown(cleanup);
  return dir;
}

for (const algorithm of ['lz4', 'zstd', 'snappy'] as const) {
  test(`${algorithm} compression stores JSON events in less space and reads them back`, async (t) => {
    const dir = scratch(t);
    const wal = await Wal.open(dir, { ...SMALL, compression: algorithm });
    const plainLog = await Wal.open(`${dir}-plain`, SMALL);
    for (let i = 1; i <= 300; i++) {
      wal.append(event(i));
      plainLog.append(event(i));
    }
    const used = (w: Wal) => w.segments().reduce((n, s) => n + s.usedBytes, 0);
    const [packed, unpacked] = [used(wal), used(plainLog)];
    t.true(packed < unpacked * 0.7, `${packed} bytes on disk compressed, ${unpacked} uncompressed`);
    await Promise.all([wal.close(), plainLog.close()]);
    const plain = await Wal.open(dir, SMALL);
    for (let i = 1; i <= 300; i += 7) t.is(plain.read(i).toString(), event(i));
    const into = Buffer.alloc(1024);
    const n = plain.readInto(11, into);
    t.is(into.subarray(0, n).toString(), event(11), 'readInto gives the record as written, not as stored');
    await plain.close();
  });
}

test('a log written with mixed compression settings reads back', async (t) => {
  const dir = scratch(t);
  let n = 0;
  for (const compression of ['none', 'lz4', { algorithm: 'zstd', level: 9, threshold: 10 }, 'snappy'] as const) {
    const wal = await Wal.open(dir, { ...SMALL, compression });
    for (let k = 0; k < 40; k++) wal.append(event(++n));
    await wal.close();
  }
  const wal = await Wal.open(dir, SMALL);
  for (let i = 1; i <= n; i++) t.is(wal.read(i).toString(), event(i));
  await wal.close();
});

test('encrypted records never reach the disk in clear, and read back with the key', async (t) => {
  const dir = scratch(t);
  const encryption = { keys: [KEY1], activeKeyId: 1 };
  const wal = await Wal.open(dir, { ...SMALL, encryption });
  for (let i = 0; i < 20; i++) wal.append(`launch code ${i}: swordfish`);
  await wal.close();
  for (const name of readdirSync(dir)) {
    t.false(readFileSync(join(dir, name)).includes('swordfish'), `${name} holds plaintext`);
  }
  const again = await Wal.open(dir, { ...SMALL, encryption });
  t.is(again.read(20).toString(), 'launch code 19: swordfish');
  await again.close();
});

test('a wrong or missing key is ERR_WAL_BAD_KEY, never garbage', async (t) => {
  const dir = scratch(t);
  const wal = await Wal.open(dir, { ...SMALL, encryption: { keys: [KEY1], activeKeyId: 1 } });
  wal.append('secret');
  await wal.close();
  const wrong = await Wal.open(dir, { ...SMALL, encryption: { keys: [{ id: 1, key: Buffer.alloc(32, 9) }], activeKeyId: 1 } });
  const err = t.throws(() => wrong.read(1), { instanceOf: WalBadKeyError });
  t.is(err?.code, 'ERR_WAL_BAD_KEY');
  await wrong.close();
  const none = await Wal.open(dir, SMALL);
  t.throws(() => none.read(1), { code: WalErrorCode.BAD_KEY });
  await none.close();
});

test('keys rotate: new segments use the active key, old ones stay readable with old keys', async (t) => {
  const dir = scratch(t);
  const first = await Wal.open(dir, { ...SMALL, encryption: { keys: [KEY1], activeKeyId: 1 } });
  first.append('under key 1');
  await first.close();
  const second = await Wal.open(dir, { ...SMALL, encryption: { keys: [KEY1, KEY2], activeKeyId: 2 } });
  second.append('under key 2');
  t.is(second.read(1).toString(), 'under key 1');
  await second.close();
  const onlyNew = await Wal.open(dir, { ...SMALL, encryption: { keys: [KEY2], activeKeyId: 2 } });
  t.is(onlyNew.read(2).toString(), 'under key 2');
  t.throws(() => onlyNew.read(1), { instanceOf: WalBadKeyError });
  await onlyNew.close();
});

test('bad encryption and compression options are ERR_WAL_INVALID_ARGUMENT', async (t) => {
  const dir = scratch(t);
  for (const options of [
    { encryption: { keys: [{ id: 1, key: Buffer.alloc(16) }], activeKeyId: 1 } },
    { encryption: { keys: [{ id: 0, key: Buffer.alloc(32) }], activeKeyId: 0 } },
    { encryption: { keys: [KEY1], activeKeyId: 7 } },
    { compression: 'brotli' },
    { compression: { algorithm: 'zstd', level: 99 } },
  ]) {
    await t.throwsAsync(Wal.open(dir, options as never), { instanceOf: WalInvalidArgumentError });
  }
});

test("the 'utf8' codec stores and returns strings", async (t) => {
  const wal = await Wal.open(scratch(t), { ...SMALL, codec: 'utf8' });
  const i = wal.append('héllo');
  const s: string = wal.read(i);
  t.is(s, 'héllo');
  t.deepEqual(
    wal.readRange(1, 2).map((e) => e.data),
    ['héllo'],
  );
  await wal.close();
});

test("the 'json' codec stores values and the types follow it", async (t) => {
  const dir = scratch(t);
  const wal = await Wal.open<{ kind: string; n: number }>(dir, { ...SMALL, codec: 'json' });
  await wal.write({ kind: 'a', n: 1 });
  wal.appendBatch([
    { kind: 'b', n: 2 },
    { kind: 'c', n: 3 },
  ]);
  const values = [...wal.entries()].map((e) => e.data.kind + e.data.n);
  t.deepEqual(values, ['a1', 'b2', 'c3']);
  const tx = wal.begin();
  const staged = { kind: 'd', n: 4 };
  tx.append(staged);
  staged.n = 99; // staging copies: later changes do not leak in
  tx.commit();
  t.deepEqual(wal.read(4), { kind: 'd', n: 4 });
  t.throws(() => wal.append(undefined as never), { instanceOf: WalInvalidArgumentError });
  await wal.close();
});

test('a custom codec encodes on append and decodes on every read path', async (t) => {
  const dates: Codec<Date> = {
    encode: (d) => d.toISOString(),
    decode: (b) => new Date(b.toString()),
  };
  const wal = await Wal.open(scratch(t), { ...SMALL, codec: dates });
  const when = new Date('2026-01-02T03:04:05.000Z');
  wal.append(when);
  t.is(wal.read(1).getTime(), when.getTime());
  for await (const e of wal.tail({ from: 1 })) {
    t.true(e.data instanceof Date);
    break;
  }
  await wal.close();
});

test('timestamps let entries() and tail() start at a time', async (t) => {
  const wal = await Wal.open(scratch(t), { ...SMALL, timestamps: true, codec: 'utf8' });
  wal.append('early-1');
  wal.append('early-2');
  await new Promise((r) => setTimeout(r, 20));
  const cut = Date.now();
  wal.append('late-1');
  wal.append('late-2');
  t.true(wal.timestamp(1)! <= cut);
  t.true(wal.timestamp(3)! >= cut);
  t.deepEqual(
    [...wal.entries({ fromTime: cut })].map((e) => e.data),
    ['late-1', 'late-2'],
  );
  const tailed: string[] = [];
  for await (const e of wal.tail({ fromTime: cut })) {
    tailed.push(e.data);
    if (tailed.length === 2) break;
  }
  t.deepEqual(tailed, ['late-1', 'late-2']);
  const plain = await Wal.open(scratch(t), SMALL);
  plain.append('x');
  t.is(plain.timestamp(1), undefined);
  await Promise.all([wal.close(), plain.close()]);
});

test('the commit watermark gates committed readers and survives reopen', async (t) => {
  const dir = scratch(t);
  const wal = await Wal.open(dir, { ...SMALL, codec: 'utf8' });
  for (let i = 1; i <= 5; i++) wal.append(`e${i}`);
  t.is(wal.commitIndex, 0);
  t.deepEqual([...wal.entries({ committed: true })], []);
  const seen: string[] = [];
  const follower = (async () => {
    for await (const e of wal.tail({ committed: true })) {
      seen.push(e.data);
      if (seen.length === 3) break;
    }
  })();
  await new Promise((r) => setTimeout(r, 10));
  t.deepEqual(seen, [], 'nothing is committed yet');
  await wal.commit(3);
  await follower;
  t.deepEqual(seen, ['e1', 'e2', 'e3']);
  await t.throwsAsync(wal.commit(2), { code: WalErrorCode.INVALID_ARGUMENT });
  await t.throwsAsync(wal.commit(99), { code: WalErrorCode.OUT_OF_RANGE });
  await wal.close();
  const again = await Wal.open(dir, SMALL);
  t.is(again.commitIndex, 3);
  t.is([...again.entries({ committed: true })].length, 3);
  await again.close();
});

test('a log with another application marker is ERR_WAL_FOREIGN', async (t) => {
  const dir = scratch(t);
  const wal = await Wal.open(dir, { ...SMALL, marker: 0xa11ce });
  wal.append('mine');
  await wal.close();
  const err = await t.throwsAsync(Wal.open(dir, { ...SMALL, marker: 0xb0b }), { instanceOf: WalForeignError });
  t.is(err?.code, 'ERR_WAL_FOREIGN');
  const ok = await Wal.open(dir, { ...SMALL, marker: 0xa11ce });
  t.is(ok.read(1).toString(), 'mine');
  await ok.close();
});

test('memory storage keeps what was synced through a simulated power loss', async (t) => {
  const storage = new MemoryStorage();
  const wal = await Wal.open('app-log', { ...SMALL, storage, codec: 'utf8' });
  await wal.write('durable');
  wal.append('never synced');
  storage.crash();
  const after = await Wal.open('app-log', { ...SMALL, storage, codec: 'utf8' });
  t.is(after.lastIndex, 1);
  t.is(after.read(1), 'durable');
  t.false(after.recovery.clean);
  await after.close();
});

test('a failed sync poisons the log: ERR_WAL_POISONED until it is reopened', async (t) => {
  const storage = new MemoryStorage();
  const wal = await Wal.open('log', { ...SMALL, storage });
  await wal.write('before');
  storage.fail('sync', 'EIO', { times: 1 });
  const err = await t.throwsAsync(wal.write('during'));
  t.true(err instanceof WalPoisonedError || (err as { code?: string }).code === 'ERR_WAL_IO', String(err));
  t.throws(() => wal.append('after'), { instanceOf: WalPoisonedError });
  await t.throwsAsync(wal.sync(), { code: WalErrorCode.POISONED });
  await wal.close().catch(() => {});
  storage.crash();
  const again = await Wal.open('log', { ...SMALL, storage });
  t.is(again.read(1).toString(), 'before');
  t.is(again.append('resumed'), again.lastIndex);
  await again.close();
});

test('a full disk at segment creation is ERR_WAL_NO_SPACE, and appends resume once space is back', async (t) => {
  const storage = new MemoryStorage();
  const wal = await Wal.open('log', { ...SMALL, storage, prefault: false });
  await new Promise((r) => setTimeout(r, 50)); // let the preparer allocate its segment
  storage.fail('create', 'ENOSPC');
  let last = 0;
  let error: unknown;
  for (let i = 0; i < 1000 && !error; i++) {
    try {
      last = wal.append(Buffer.alloc(8000, i));
    } catch (err) {
      error = err;
    }
  }
  t.true(error instanceof WalNoSpaceError, String(error));
  t.is(wal.lastIndex, last, 'the refused append wrote nothing');
  storage.clearFaults();
  t.is(wal.append('after'), last + 1);
  await wal.close();
});

test('stats(), rotate and truncate events, and diagnostics channels report what happens', async (t) => {
  const wal = await Wal.open(scratch(t), SMALL);
  const rotations: string[] = [];
  const truncations: string[] = [];
  wal.on('rotate', (r) => rotations.push(r.segment));
  wal.on('truncate', (r) => truncations.push(`${r.kind}:${r.index}`));
  const appends: number[] = [];
  const syncs: number[] = [];
  // Channels are process-wide: keep only this log's messages.
  const onAppend = (m: unknown) => {
    const msg = m as { wal: unknown; index: number };
    if (msg.wal === wal) appends.push(msg.index);
  };
  const onSync = (m: unknown) => {
    const msg = m as { wal: unknown; durableIndex: number };
    if (msg.wal === wal) syncs.push(msg.durableIndex);
  };
  subscribe('walnut:append', onAppend);
  subscribe('walnut:sync', onSync);
  try {
    for (let i = 0; i < 200; i++) wal.append(Buffer.alloc(1000));
    await wal.sync();
    // sync() resolves at once when a background sync (of a rotation's seal)
    // already covered 200; that sync's reports reach JavaScript separately,
    // its rotations before its durable index, and reports of earlier syncs
    // (of lower indexes) may still be on their way ahead of it.
    while (!syncs.includes(200)) await once(wal, 'sync');
    t.true(rotations.length > 0, 'small segments rotated');
    t.is(appends.length, 200);
    t.true(syncs.includes(200), `sync reports: ${syncs.join(', ')}`);
    wal.truncateAfter(150);
    wal.truncateBefore(10);
    t.deepEqual(truncations, ['after:150', 'before:10']);
    const s = wal.stats();
    t.is(s.appends, 200);
    t.true(s.rotations >= rotations.length);
    t.is(s.recovery.mode, 'tolerateTail');
  } finally {
    unsubscribe('walnut:append', onAppend);
    unsubscribe('walnut:sync', onSync);
    await wal.close();
  }
});
