#!/usr/bin/env node
// Wiring walnut into a Raft implementation as its storage.
//
//   node examples/raft-storage.js
//
// A Raft library (etcd-raft, raft-rs, or one written in JS) hands the
// application a "Ready": a hard state, new entries and maybe a snapshot to
// persist, and committed entries to apply. `RaftStorage.save()` persists all
// of it as one crash-atomic update; the library's storage reads (`entries`,
// `term`, `firstIndex`, `lastIndex`, `snapshot`) are synchronous calls.
// This example plays a leader's storage, then a follower installing the
// leader's snapshot, then a restart.
'use strict';

const assert = require('node:assert/strict');
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { RaftStorage, WalErrorCode } = require('../dist/index.js');

const VOTERS = { voters: [1, 2, 3], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };

async function leader(dir) {
  const rs = await RaftStorage.open(dir);
  // What a Raft node reads at start-up.
  const { hardState } = rs.initialState();
  assert.deepEqual(hardState, { term: 0, vote: 0, commit: 0 });
  await rs.save({ confState: VOTERS, meta: { raftId: 1, groupId: 7 } });

  // The node wins term 1 and appends proposals, one Ready at a time: each
  // save persists the entries and the hard state together.
  const applied = [];
  const started = performance.now();
  const READIES = 200;
  for (let r = 0; r < READIES; r++) {
    const first = rs.lastIndex() + 1;
    const entries = Array.from({ length: 8 }, (_, k) => ({
      index: first + k,
      term: 1,
      data: Buffer.from(JSON.stringify({ put: `key${first + k}`, value: first + k })),
    }));
    const commit = first + entries.length - 1; // a quorum acknowledged them
    await rs.save({ hardState: { term: 1, vote: 1, commit }, entries });
    // Apply what is committed, reading it back the way Raft does.
    for (const e of rs.entries(applied.length + 1, commit + 1, { maxBytes: 1 << 20 })) applied.push(e.index);
  }
  const ms = performance.now() - started;
  console.log(`leader: ${READIES} durable saves of 8 entries in ${ms.toFixed(0)} ms (${((READIES * 1000) / ms).toFixed(0)} saves/s)`);

  // The application snapshots its state machine, then drops the log prefix.
  const at = rs.lastIndex() - 100;
  const snap = await rs.createSnapshot(at, VOTERS, Buffer.from(`state machine image up to ${at}`));
  await rs.compact(at);
  console.log(`leader: snapshot at ${snap.metadata.index} (term ${snap.metadata.term}), log now [${rs.firstIndex()}, ${rs.lastIndex()}]`);
  assert.equal(rs.term(at), 1, 'term(firstIndex - 1) still answers after compaction');
  try {
    rs.entries(1, 2);
    assert.fail('compacted entries must not be returned');
  } catch (err) {
    assert.equal(err.code, WalErrorCode.RAFT_COMPACTED);
    console.log(`leader: entries(1, 2) -> ${err.code}: Raft then sends the snapshot instead`);
  }
  const out = { snapshot: rs.snapshot(), tail: rs.entries(rs.firstIndex(), rs.lastIndex() + 1) };
  await rs.close();
  return out;
}

async function follower(dir, { snapshot, tail }) {
  const rs = await RaftStorage.open(dir);
  // A follower far behind receives the snapshot and the entries after it in
  // one Ready: snapshot first, then entries, then hard state, one save.
  await rs.save({
    snapshot,
    entries: tail,
    hardState: { term: 1, vote: 1, commit: tail[tail.length - 1].index },
  });
  console.log(`follower: installed snapshot ${snapshot.metadata.index}, log [${rs.firstIndex()}, ${rs.lastIndex()}]`);
  // A new leader in term 2 overwrites the uncommitted tail: the conflicting
  // suffix is replaced in the same crash-atomic save.
  const from = rs.lastIndex() - 2;
  await rs.save({
    hardState: { term: 2, vote: 3, commit: from - 1 },
    entries: [{ index: from, term: 2, data: Buffer.from('from the term-2 leader') }],
  });
  assert.equal(rs.lastIndex(), from);
  await rs.close();

  // Restart: everything comes back from the directory.
  const again = await RaftStorage.open(dir);
  const { hardState, confState } = again.initialState();
  assert.deepEqual(hardState, { term: 2, vote: 3, commit: from - 1 });
  assert.deepEqual(confState.voters, [1, 2, 3]);
  assert.equal(again.entries(from, from + 1)[0].data.toString(), 'from the term-2 leader');
  assert.equal(again.snapshot().data.toString(), snapshot.data.toString());
  console.log(`follower: after restart, term ${hardState.term}, vote ${hardState.vote}, last index ${again.lastIndex()}`);
  await again.close();
}

async function main() {
  const base = mkdtempSync(join(tmpdir(), 'walnut-raft-example-'));
  try {
    const shipped = await leader(join(base, 'node-1'));
    await follower(join(base, 'node-3'), shipped);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
