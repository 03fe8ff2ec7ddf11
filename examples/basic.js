#!/usr/bin/env node
// Basic use: open a log, append records, read them back by index, by range
// and by iteration, close, reopen, compact the front.
//
//   node examples/basic.js
//
// Records are bytes (a Buffer or Uint8Array) or strings (stored as UTF-8).
// Indexes start at 1 and are contiguous. `append` is fast and returns at once;
// it is durable after `sync()`, `close()`, or a sync policy (see
// durable-writes.js).
'use strict';

const assert = require('node:assert/strict');
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { Wal, WalOutOfRangeError } = require('walnut');

async function main() {
  const base = mkdtempSync(join(tmpdir(), 'walnut-basic-'));
  const dir = join(base, 'log');
  try {
    // Opening creates the directory (mode 0700) and takes its lock.
    const wal = await Wal.open(dir);

    const first = wal.append('hello');                 // a string, stored as UTF-8
    const second = wal.append(Buffer.from([1, 2, 3])); // bytes
    const batch = wal.appendBatch(['a', 'b', 'c']);    // atomic: all or none after a crash
    console.log(`appended ${first}, ${second}, and a batch starting at ${batch}`);
    assert.deepEqual([first, second, batch, wal.lastIndex], [1, 2, 3, 5]);

    // Reads return a copy the caller owns.
    assert.equal(wal.read(1).toString(), 'hello');
    assert.deepEqual([...wal.read(2)], [1, 2, 3]);
    const page = wal.readRange(3, 6); // [3, 6): at most a byte budget if given
    console.log('readRange(3, 6):', page.map((e) => `${e.index}=${e.data}`).join(' '));

    // A read outside the log is a typed error, never undefined.
    assert.throws(() => wal.read(99), WalOutOfRangeError);

    await wal.sync(); // everything so far now survives a crash or power loss
    await wal.close();

    // Reopen: the same records, in order.
    const again = await Wal.open(dir);
    const all = [...again.entries()].map((e) => e.data.toString('hex'));
    console.log(`after reopen: ${again.firstIndex}..${again.lastIndex}`, all.join(' '));
    assert.equal(all.length, 5);

    // Compaction: drop everything before index 4 (whole old segments are deleted).
    again.truncateBefore(4);
    assert.equal(again.firstIndex, 4);
    console.log(`after truncateBefore(4): ${again.firstIndex}..${again.lastIndex}`);
    await again.close();
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
