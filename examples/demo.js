#!/usr/bin/env node
// The walnut demo: write, crash, recover, read back, tail.
//
//   npm run demo
//
// 1. A child process writes durably (`await wal.write()`) and reports every
//    acknowledged index; the demo kills it with SIGKILL mid-stream.
// 2. The demo reopens the log, shows the recovery report, and checks that every
//    acknowledged record is there, byte for byte.
// 3. It tails the log while appending, then closes.
'use strict';

const { spawn } = require('node:child_process');
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { Wal } = require('..');

const record = (i) => `event #${i}: ${'x'.repeat(i % 200)}`;

function writerChild(dir) {
  const source = `
    const { Wal } = require(${JSON.stringify(require.resolve('..'))});
    (async () => {
      const wal = await Wal.open(${JSON.stringify(dir)});
      const record = ${record.toString()};
      for (let i = wal.lastIndex + 1; ; i++) {
        const index = await wal.write(record(i));   // resolves once durable
        process.stdout.write(index + '\\n');
      }
    })();`;
  return spawn(process.execPath, ['-e', source], { stdio: ['ignore', 'pipe', 'inherit'] });
}

async function main() {
  const base = mkdtempSync(join(tmpdir(), 'walnut-demo-'));
  const dir = join(base, 'log');
  try {
    // 1. Write from a child process, then pull the plug on it.
    let acked = 0;
    const child = writerChild(dir);
    child.stdout.on('data', (d) => {
      for (const line of d.toString().split('\n')) if (line) acked = Math.max(acked, Number(line));
    });
    await new Promise((r) => setTimeout(r, 1500));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    console.log(`writer killed with SIGKILL after ${acked} acknowledged durable writes`);

    // 2. Recover and check every acknowledged record.
    const wal = await Wal.open(dir);
    const r = wal.recovery;
    console.log(
      `recovered ${r.entries} entries from ${r.segments} segment(s) in ${r.durationMs.toFixed(2)} ms` +
        ` (clean shutdown: ${r.clean}${r.truncated ? `, torn tail cut at index ${r.truncated.fromIndex}` : ''})`,
    );
    if (wal.lastIndex < acked) throw new Error(`lost acknowledged writes: last ${wal.lastIndex} < ${acked}`);
    for (let i = 1; i <= wal.lastIndex; i++) {
      if (wal.read(i).toString() !== record(i)) throw new Error(`record ${i} differs`);
    }
    console.log(`all ${acked} acknowledged records are present and intact (log holds ${wal.lastIndex})`);

    // 3. Fast appends, a group-committed sync, and a tail that follows them.
    const ac = new AbortController();
    const tailed = [];
    const tail = (async () => {
      try {
        for await (const { index, data } of wal.tail({ from: wal.lastIndex + 1, signal: ac.signal })) {
          tailed.push(`${index}:${data}`);
          if (tailed.length === 3) ac.abort();
        }
      } catch (err) {
        if (err.name !== 'AbortError') throw err;
      }
    })();
    const t0 = process.hrtime.bigint();
    const first = wal.appendBatch(['alpha', 'beta', 'gamma']);
    for (let i = 0; i < 100_000; i++) wal.append('fast append');
    const durable = await wal.sync();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    await tail;
    console.log(`appended 100,003 records and made them durable in ${ms.toFixed(1)} ms (durable index ${durable})`);
    console.log(`tail saw: ${tailed.join(', ')} (first of the batch was ${first})`);
    await wal.close();
    console.log('closed cleanly');
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
