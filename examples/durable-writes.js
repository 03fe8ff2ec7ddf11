#!/usr/bin/env node
// Durable writes with group commit.
//
//   node examples/durable-writes.js
//
// `await wal.write(record)` resolves once the record survives power loss.
// Writes that wait at the same time share one sync (msync/fdatasync) on
// walnut's own sync thread: with many writes in flight, the disk does one
// flush for many records, and the event loop never blocks on it.
'use strict';

const assert = require('node:assert/strict');
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { Wal } = require('walnut');

const WRITES = 2000;

async function oneAtATime(wal, n) {
  const started = performance.now();
  for (let i = 0; i < n; i++) await wal.write(`one at a time ${i}`);
  return performance.now() - started;
}

async function concurrently(wal, n, inFlight) {
  const started = performance.now();
  let next = 0;
  // `inFlight` writers, each waiting for its own durable write before the next.
  const writer = async () => {
    while (next < n) await wal.write(JSON.stringify({ event: next++, at: Date.now() }));
  };
  await Promise.all(Array.from({ length: inFlight }, writer));
  return performance.now() - started;
}

async function main() {
  const base = mkdtempSync(join(tmpdir(), 'walnut-durable-'));
  try {
    const wal = await Wal.open(join(base, 'log'));

    let syncs = wal.stats().syncs;
    const serialMs = await oneAtATime(wal, 200);
    const serialSyncs = wal.stats().syncs - syncs;
    console.log(
      `200 writes one at a time:  ${serialMs.toFixed(0)} ms, ${serialSyncs} syncs ` +
        `(${(200 / (serialMs / 1000)).toFixed(0)} durable records/s)`,
    );

    syncs = wal.stats().syncs;
    const groupMs = await concurrently(wal, WRITES, 64);
    const groupSyncs = wal.stats().syncs - syncs;
    console.log(
      `${WRITES} writes, 64 in flight: ${groupMs.toFixed(0)} ms, ${groupSyncs} syncs ` +
        `(${(WRITES / groupSyncs).toFixed(1)} records per sync, ${(WRITES / (groupMs / 1000)).toFixed(0)} durable records/s)`,
    );
    // Group commit at work: far fewer syncs than writes.
    assert.ok(groupSyncs < WRITES / 4, `expected group commit, got ${groupSyncs} syncs for ${WRITES} writes`);
    assert.equal(wal.durableIndex, wal.lastIndex);

    // A background policy instead: appends return at once, a sync follows
    // within 5 ms; `sync()` waits for everything appended so far.
    await wal.close();
    const timed = await Wal.open(join(base, 'log'), { sync: { everyMs: 5 } });
    for (let i = 0; i < 1000; i++) timed.append(`fire and forget ${i}`);
    const durable = await timed.sync();
    console.log(`1000 appends with sync: { everyMs: 5 }, then sync(): durable up to ${durable}`);
    assert.equal(durable, timed.lastIndex);
    await timed.close();
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
