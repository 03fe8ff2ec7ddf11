#!/usr/bin/env node
// Tailing a log into another process.
//
//   node examples/tail-follower.js
//
// One process writes (it holds the directory lock); a follower in another
// process reads what it writes, as a replica, an indexer or a log shipper
// would. The follower opens the log read-only ({ readOnly: true }: no lock,
// nothing on disk changes) and polls.
//
// How the follower sees new records: a read-only handle sees the log as it
// was when it opened, so the follower reopens it at every poll and continues
// from the index after the last one it handled. A reopen maps the segment
// files, loads the index of every sealed segment and scans the active one
// to its end (a whole segment: 64 MiB by default, 4 MiB here), so choose the
// segment size and the poll interval with that cost in mind; this example
// prints what it measured. Inside one
// process, use `wal.tail()` instead: it wakes on every append.
//
// What the follower may act on: the writer publishes a commit watermark
// (`await wal.commit(index)`, durable, kept in the log's metadata) after its
// writes are durable, and the follower reads only up to it
// (`entries({ committed: true })`). A record the follower has handled can
// then never disappear, even if the writer's machine loses power. Reading
// past the watermark (plain `entries()`) would show records sooner, but
// records that were not yet durable can vanish in a crash.
'use strict';

const assert = require('node:assert/strict');
const { fork } = require('node:child_process');
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');
const { Wal, WalCorruptError } = require('walnut');

const BATCHES = 20;
const PER_BATCH = 50;
const POLL_MS = 25;

// ---- the follower (a child process) -------------------------------------

async function follow(dir) {
  let next = 1; // the next index to handle
  let total = 0;
  let count = 0;
  let opens = 0;
  let openMs = 0;
  let transient = 0;
  for (;;) {
    let wal;
    const started = performance.now();
    try {
      wal = await Wal.open(dir, { readOnly: true, codec: 'json' });
      transient = 0;
    } catch (err) {
      // Opening a log while its writer rotates a segment can, rarely, see a
      // state that looks damaged; it is gone at the next poll. Damage that
      // stays is real: give up on it.
      if (err instanceof WalCorruptError && ++transient < 5) {
        await sleep(POLL_MS);
        continue;
      }
      throw err;
    }
    opens++;
    openMs += performance.now() - started;
    try {
      for (const { index, data } of wal.entries({ from: next, committed: true })) {
        next = index + 1;
        if (data.done) {
          process.send({ count, total, lastIndex: index, opens, avgOpenMs: openMs / opens });
          return;
        }
        count++;
        total += data.amount; // "forward" the event: here, sum it up
      }
    } finally {
      await wal.close();
    }
    await sleep(POLL_MS);
  }
}

// ---- the writer (the main process) --------------------------------------

async function main() {
  const base = mkdtempSync(join(tmpdir(), 'walnut-tail-'));
  const dir = join(base, 'log');
  try {
    // Small segments keep each of the follower's reopens cheap (see above).
    const wal = await Wal.open(dir, { codec: 'json', segmentSize: 4 << 20 });
    const follower = fork(__filename, ['follow', dir]);
    const report = new Promise((resolve, reject) => {
      follower.once('message', resolve);
      follower.once('exit', (code) => reject(new Error(`the follower exited with ${code} before reporting`)));
    });

    let expected = 0;
    for (let b = 0; b < BATCHES; b++) {
      const writes = [];
      for (let k = 0; k < PER_BATCH; k++) {
        const amount = b * PER_BATCH + k;
        expected += amount;
        writes.push(wal.write({ seq: b * PER_BATCH + k, amount }));
      }
      await Promise.all(writes); // durable
      await wal.commit(wal.lastIndex); // ...and published to followers
      await sleep(20); // events arrive over time; the follower keeps up
    }
    await wal.write({ done: true });
    await wal.commit(wal.lastIndex);

    const seen = await report;
    console.log(
      `writer: ${BATCHES * PER_BATCH} events in ${BATCHES} committed batches; ` +
        `follower (pid ${follower.pid}): ${seen.count} events, sum ${seen.total}, ` +
        `${seen.opens} read-only opens, ${seen.avgOpenMs.toFixed(2)} ms per open`,
    );
    assert.equal(seen.count, BATCHES * PER_BATCH);
    assert.equal(seen.total, expected);
    assert.equal(seen.lastIndex, wal.lastIndex);
    await new Promise((resolve) => follower.once('exit', resolve));
    await wal.close();
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

const done = (err) => {
  if (err) {
    console.error(err);
    process.exit(1);
  }
};
if (process.argv[2] === 'follow') follow(process.argv[3]).then(() => process.disconnect(), done);
else main().then(() => {}, done);
