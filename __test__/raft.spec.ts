import test from 'ava';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import {
  RaftCompactedError,
  RaftLogGapError,
  RaftSnapshotOutOfDateError,
  RaftStorage,
  RaftUnavailableError,
  Wal,
  WalClosedError,
  WalCorruptError,
  WalErrorCode,
  WalInvalidArgumentError,
  WalLockedError,
  type ConfState,
  type RaftEntryInput,
} from '../src/index';
import { DIST, tempDir } from './helpers';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { observe, digest } = require('./fixtures/raft-model.js') as {
  observe: (rs: RaftStorage) => unknown;
  digest: (o: unknown) => string;
};

const conf = (voters: number[], more: Partial<ConfState> = {}): ConfState => ({
  voters,
  learners: [],
  votersOutgoing: [],
  learnersNext: [],
  autoLeave: false,
  ...more,
});

const ents = (first: number, term: number, datas: string[]): RaftEntryInput[] =>
  datas.map((d, k) => ({ index: first + k, term, data: Buffer.from(d) }));

const texts = (rs: RaftStorage, lo: number, hi: number) =>
  rs.entries(lo, hi).map((e) => [e.index, e.term, e.data.toString()]);

async function withStorage(t: { teardown: (f: () => void) => void }) {
  const { dir, cleanup } = tempDir('walnut-raft');
  t.teardown(cleanup);
  return { dir, rs: await RaftStorage.open(dir, { segmentSize: 64 << 10 }) };
}

test('a new storage is empty, like etcd MemoryStorage', async (t) => {
  const { rs } = await withStorage(t);
  t.deepEqual(rs.initialState(), { hardState: { term: 0, vote: 0, commit: 0 }, confState: conf([]) });
  t.is(rs.firstIndex(), 1);
  t.is(rs.lastIndex(), 0);
  t.is(rs.term(0), 0);
  t.deepEqual(rs.entries(1, 1), []);
  t.is(rs.snapshot().metadata.index, 0);
  t.deepEqual(rs.meta(), {});
  await rs.close();
});

test('save() makes entries, hard state, membership and meta durable, and a reopen reads them back', async (t) => {
  const { dir, rs } = await withStorage(t);
  await rs.save({
    hardState: { term: 2, vote: 3, commit: 1 },
    confState: conf([1, 2, 3], { learners: [4], votersOutgoing: [1, 2], learnersNext: [5], autoLeave: true }),
    entries: [
      { index: 1, term: 1, type: 'confChange', data: Buffer.from('cc') },
      { index: 2, term: 2, type: 'confChangeV2', data: Buffer.from('cc2') },
      { index: 3, term: 2, data: new Uint8Array([1, 2, 3]) },
    ],
    meta: { raftId: 3, groupId: 2 ** 53 - 1 },
  });
  await rs.close();
  const again = await RaftStorage.open(dir);
  t.deepEqual(again.initialState(), {
    hardState: { term: 2, vote: 3, commit: 1 },
    confState: conf([1, 2, 3], { learners: [4], votersOutgoing: [1, 2], learnersNext: [5], autoLeave: true }),
  });
  const got = again.entries(1, 4);
  t.deepEqual(
    got.map((e) => [e.index, e.term, e.type]),
    [
      [1, 1, 'confChange'],
      [2, 2, 'confChangeV2'],
      [3, 2, 'normal'],
    ],
  );
  t.deepEqual([...got[2]!.data], [1, 2, 3]);
  t.deepEqual(again.meta(), { groupId: 2 ** 53 - 1, raftId: 3 });
  await again.save({ meta: { groupId: null } });
  t.deepEqual(again.meta(), { raftId: 3 });
  await again.close();
});

test('entries() honours maxBytes but returns at least one entry', async (t) => {
  const { rs } = await withStorage(t);
  await rs.save({ entries: ents(1, 1, ['aaaa', 'bbbb', 'cccc', 'dddd']) });
  t.is(rs.entries(1, 5, { maxBytes: 8 }).length, 2);
  t.is(rs.entries(1, 5, { maxBytes: 1 }).length, 1);
  t.is(rs.entries(2, 5).length, 3);
  await rs.close();
});

test('entries starting at or below lastIndex replace the conflicting suffix', async (t) => {
  const { dir, rs } = await withStorage(t);
  await rs.save({ entries: ents(1, 1, ['a', 'b', 'c', 'd']) });
  await rs.save({ entries: ents(3, 2, ['C']), hardState: { term: 2, vote: 1, commit: 2 } });
  t.is(rs.lastIndex(), 3);
  t.deepEqual(texts(rs, 1, 4), [
    [1, 1, 'a'],
    [2, 1, 'b'],
    [3, 2, 'C'],
  ]);
  await rs.close();
  const again = await RaftStorage.open(dir);
  t.deepEqual(texts(again, 1, 4), [
    [1, 1, 'a'],
    [2, 1, 'b'],
    [3, 2, 'C'],
  ]);
  await again.close();
});

test('a gap after lastIndex is ERR_RAFT_LOG_GAP and changes nothing', async (t) => {
  const { rs } = await withStorage(t);
  await rs.save({ entries: ents(1, 1, ['a']) });
  const err = await t.throwsAsync(rs.save({ entries: ents(3, 1, ['c']), hardState: { term: 9, vote: 0, commit: 0 } }), {
    instanceOf: RaftLogGapError,
  });
  t.is(err.code, WalErrorCode.RAFT_LOG_GAP);
  t.is(err.index, 3);
  t.is(err.last, 1);
  t.is(rs.initialState().hardState.term, 0);
  await rs.save({ entries: ents(2, 1, ['b']) });
  t.is(rs.lastIndex(), 2);
  await rs.close();
});

test('reads beyond lastIndex are ERR_RAFT_UNAVAILABLE', async (t) => {
  const { rs } = await withStorage(t);
  await rs.save({ entries: ents(1, 1, ['a', 'b']) });
  const e1 = t.throws(() => rs.term(3), { instanceOf: RaftUnavailableError });
  t.is(e1.code, WalErrorCode.RAFT_UNAVAILABLE);
  t.is(e1.index, 3);
  t.is(e1.last, 2);
  t.throws(() => rs.entries(1, 4), { instanceOf: RaftUnavailableError });
  await t.throwsAsync(rs.compact(3), { instanceOf: RaftUnavailableError });
  await t.throwsAsync(rs.createSnapshot(3, conf([1]), Buffer.from('x')), { instanceOf: RaftUnavailableError });
  await rs.close();
});

test('compact() drops the prefix, term(firstIndex - 1) still answers, older reads are ERR_RAFT_COMPACTED', async (t) => {
  const { dir, rs } = await withStorage(t);
  await rs.save({ entries: [...ents(1, 1, ['a', 'b']), ...ents(3, 2, ['c', 'd'])] });
  await rs.compact(3);
  t.is(rs.firstIndex(), 4);
  t.is(rs.term(3), 2);
  const err = t.throws(() => rs.term(2), { instanceOf: RaftCompactedError });
  t.is(err.code, WalErrorCode.RAFT_COMPACTED);
  t.is(err.first, 4);
  t.throws(() => rs.entries(3, 5), { instanceOf: RaftCompactedError });
  await t.throwsAsync(rs.compact(3), { instanceOf: RaftCompactedError });
  // Entries the compaction point already covers are skipped, as etcd does.
  await rs.save({ entries: [...ents(3, 2, ['c']), ...ents(4, 2, ['d']), ...ents(5, 2, ['e'])] });
  t.deepEqual(texts(rs, 4, 6), [
    [4, 2, 'd'],
    [5, 2, 'e'],
  ]);
  await rs.close();
  const again = await RaftStorage.open(dir);
  t.is(again.firstIndex(), 4);
  t.is(again.term(3), 2);
  await again.close();
});

test('createSnapshot() stores an image that snapshot() reads back; an older one is ERR_RAFT_SNAPSHOT_OUT_OF_DATE', async (t) => {
  const { dir, rs } = await withStorage(t);
  await rs.save({ entries: [...ents(1, 1, ['a']), ...ents(2, 3, ['b', 'c'])] });
  const s = await rs.createSnapshot(2, conf([1, 2]), Buffer.from('image@2'));
  t.deepEqual(s.metadata, { index: 2, term: 3, confState: conf([1, 2]) });
  t.is(rs.snapshot().data.toString(), 'image@2');
  const err = await t.throwsAsync(rs.createSnapshot(2, conf([1]), Buffer.from('again')), {
    instanceOf: RaftSnapshotOutOfDateError,
  });
  t.is(err.code, WalErrorCode.RAFT_SNAPSHOT_OUT_OF_DATE);
  t.is(err.current, 2);
  await rs.compact(2);
  t.is(rs.firstIndex(), 3);
  await rs.close();
  const again = await RaftStorage.open(dir);
  const back = again.snapshot();
  t.deepEqual(back.metadata, { index: 2, term: 3, confState: conf([1, 2]) });
  t.is(back.data.toString(), 'image@2');
  await again.close();
});

test('applySnapshot() restarts the log after the snapshot and takes its membership', async (t) => {
  const { dir, rs } = await withStorage(t);
  await rs.save({ entries: ents(1, 1, ['a', 'b', 'c']) });
  const snap = { metadata: { index: 10, term: 4, confState: conf([1, 2, 3]) }, data: Buffer.from('leader image') };
  await rs.applySnapshot(snap);
  t.is(rs.firstIndex(), 11);
  t.is(rs.lastIndex(), 10);
  t.is(rs.term(10), 4);
  t.deepEqual(rs.initialState().confState, conf([1, 2, 3]));
  await t.throwsAsync(rs.applySnapshot(snap), { instanceOf: RaftSnapshotOutOfDateError });
  await rs.save({ entries: ents(11, 4, ['k']), hardState: { term: 4, vote: 0, commit: 10 } });
  await rs.close();
  const again = await RaftStorage.open(dir);
  t.deepEqual(texts(again, 11, 12), [[11, 4, 'k']]);
  t.is(again.snapshot().data.toString(), 'leader image');
  await again.close();
});

test('save() installs a snapshot, then entries, then the hard state, in one update', async (t) => {
  const { dir, rs } = await withStorage(t);
  await rs.save({ entries: ents(1, 1, ['a', 'b']) });
  await rs.save({
    snapshot: { metadata: { index: 5, term: 2, confState: conf([7]) }, data: Buffer.from('s') },
    entries: ents(6, 2, ['f', 'g']),
    hardState: { term: 2, vote: 7, commit: 6 },
  });
  await rs.close();
  const again = await RaftStorage.open(dir);
  t.is(again.firstIndex(), 6);
  t.deepEqual(texts(again, 6, 8), [
    [6, 2, 'f'],
    [7, 2, 'g'],
  ]);
  t.deepEqual(again.initialState(), { hardState: { term: 2, vote: 7, commit: 6 }, confState: conf([7]) });
  await again.close();
});

test('writes issued without awaiting run in call order', async (t) => {
  const { rs } = await withStorage(t);
  const saves = [];
  for (let i = 1; i <= 50; i++) saves.push(rs.save({ entries: ents(i, 1, [`e${i}`]), hardState: { term: 1, vote: 1, commit: i - 1 } }));
  await Promise.all(saves);
  t.is(rs.lastIndex(), 50);
  t.is(rs.entries(50, 51)[0]!.data.toString(), 'e50');
  t.is(rs.initialState().hardState.commit, 49);
  await rs.close();
});

test('arguments are checked: unsafe integers, gaps inside a batch, bad types and options', async (t) => {
  const { dir, rs } = await withStorage(t);
  t.throws(() => rs.term(2 ** 53), { instanceOf: WalInvalidArgumentError });
  t.throws(() => rs.entries(-1, 2), { instanceOf: WalInvalidArgumentError });
  await t.throwsAsync(rs.save({ entries: [ents(1, 1, ['a'])[0]!, ents(3, 1, ['c'])[0]!] }), {
    instanceOf: WalInvalidArgumentError,
  });
  await t.throwsAsync(rs.save({ entries: [{ index: 1, term: 1, type: 'bogus' as 'normal', data: Buffer.from('x') }] }), {
    instanceOf: WalInvalidArgumentError,
  });
  await t.throwsAsync(rs.save({ hardState: { term: 1.5, vote: 0, commit: 0 } }), { instanceOf: WalInvalidArgumentError });
  await t.throwsAsync(rs.save({ meta: { n: -1 } }), { instanceOf: WalInvalidArgumentError });
  const huge = Array.from({ length: 10_000 }, (_, i) => i + 1);
  await t.throwsAsync(rs.save({ confState: conf(huge) }), { instanceOf: WalInvalidArgumentError });
  await t.throwsAsync(rs.applySnapshot({ metadata: { index: 0, term: 0, confState: conf([]) }, data: Buffer.alloc(0) }), {
    instanceOf: WalInvalidArgumentError,
  });
  await rs.close();
  await t.throwsAsync(RaftStorage.open(dir, { sync: 'always' } as never), { instanceOf: WalInvalidArgumentError });
  await t.throwsAsync(RaftStorage.open(dir, { recovery: 'salvage' } as never), { instanceOf: WalInvalidArgumentError });
});

test('a closed storage refuses every call; close is idempotent; a second handle is ERR_WAL_LOCKED', async (t) => {
  const { dir, rs } = await withStorage(t);
  await t.throwsAsync(RaftStorage.open(dir), { instanceOf: WalLockedError });
  await rs.close();
  await rs.close();
  t.true(rs.closed);
  t.throws(() => rs.lastIndex(), { instanceOf: WalClosedError });
  t.throws(() => rs.initialState(), { instanceOf: WalClosedError });
  await t.throwsAsync(rs.save({}), { instanceOf: WalClosedError });
  {
    await using scoped = await RaftStorage.open(dir);
    t.is(scoped.lastIndex(), 0);
  }
  const after = await RaftStorage.open(dir); // the scope released the lock
  await after.close();
});

test('a damaged snapshot image is ERR_WAL_CORRUPT, never returned', async (t) => {
  const { dir, rs } = await withStorage(t);
  await rs.save({ entries: ents(1, 1, ['a']) });
  await rs.createSnapshot(1, conf([1]), Buffer.from('precious state'));
  const name = readdirSync(dir).find((n) => n.startsWith('raft-snap-'))!;
  const bytes = readFileSync(join(dir, name));
  bytes[bytes.length - 1]! ^= 0x01;
  writeFileSync(join(dir, name), bytes);
  t.throws(() => rs.snapshot(), { instanceOf: WalCorruptError });
  await rs.close();
});

test('a plain walnut log is not opened as Raft storage', async (t) => {
  const { dir, cleanup } = tempDir('walnut-raft');
  t.teardown(cleanup);
  const wal = await Wal.open(dir);
  wal.append('not raft');
  await wal.close();
  await t.throwsAsync(RaftStorage.open(dir), { instanceOf: WalInvalidArgumentError });
});

// The crash test: a child loops over writes, a SIGKILL lands at a random
// moment, and the reopened state must be the last resolved one or the one in
// flight, never a mix. CI runs RAFT_KILLS (default 50); `npm run test:raft:full`
// runs more.
const KILLS = Number(process.env.RAFT_KILLS ?? 50);
const CHILD = resolve(__dirname, 'fixtures', 'raft-crash-child.js');

function runChild(dir: string, seed: number, killAfterMs: number): Promise<{ lines: string[]; stderr: string; killed: boolean }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CHILD, DIST, dir, String(seed)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (timer === undefined && out.includes('ready ')) timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', fail);
    child.on('exit', (_code, signal) => {
      clearTimeout(timer);
      done({ lines: out.split('\n').filter(Boolean), stderr: err, killed: signal === 'SIGKILL' });
    });
  });
}

test(`SIGKILL during save() loops (${KILLS} kills): a reopen shows a whole resolved or in-flight state`, async (t) => {
  t.timeout(Math.max(120_000, KILLS * 2_000));
  const { dir, cleanup } = tempDir('walnut-raft-crash');
  t.teardown(cleanup);
  let expected: string | undefined; // the state the last reopen showed
  let writes = 0;
  let inFlight = 0;
  for (let k = 1; k <= KILLS; k++) {
    const { lines, stderr, killed } = await runChild(dir, k, 20 + ((k * 7919) % 180));
    if (!killed) t.fail(`child ${k} ended by itself: ${stderr}`);
    let resolved = expected;
    let pending: string | undefined;
    for (const line of lines) {
      const [kind, d] = line.split(' ');
      if (kind === 'ready') {
        if (expected !== undefined && d !== expected) t.fail(`child ${k} opened ${d}, the parent saw ${expected}`);
        resolved = d;
      } else if (kind === 'begin') {
        pending = d;
      } else if (kind === 'ok') {
        if (d !== pending) t.fail(`child ${k} resolved ${d} but announced ${pending}`);
        resolved = d;
        pending = undefined;
        writes++;
      }
    }
    const rs = await RaftStorage.open(dir);
    const seen = digest(observe(rs));
    await rs.close();
    if (seen === pending) inFlight++;
    else if (seen !== resolved) t.fail(`kill ${k}: reopened state ${seen} is neither the resolved ${resolved} nor the in-flight ${pending}`);
    expected = seen;
  }
  t.log(`${KILLS} kills, ${writes} resolved writes, ${inFlight} reopens showed the in-flight write, 0 mixed states`);
  t.true(writes > KILLS, 'the children made progress between kills');
});
