'use strict';
// The read path's own cost, without memory misses: random reads of 1 KiB
// records from a log small enough to stay in the CPU caches (1 MiB by
// default), through read() (a view of the shared slab) and readInto() (a copy
// into the caller's buffer). Prints the best of 5 passes of 2M reads each, in
// microseconds per read.
//
//   npm run build && node benchmark/experiments/read-hot.js
//   ROOT=/path/to/other/checkout node benchmark/experiments/read-hot.js
//
// RECORDS=n changes the log's size (n records of 1 KiB).
const path = require('node:path');
const fs = require('node:fs');
const os = require('node:os');

const root = process.env.ROOT || path.resolve(__dirname, '..', '..');
const { Wal } = require(path.join(root, 'benchmark', 'lib', 'walnut'));
const { positions } = require('../workloads/w8-read');

(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'walnut-read-hot-'));
  const wal = Wal.openSync(dir, { sync: 'none' });
  const size = 1024;
  const records = Number(process.env.RECORDS || 1024);
  const reads = 2_000_000;
  const chunk = new Array(1024).fill(Buffer.alloc(size, 7));
  for (let d = 0; d < records; d += 1024) wal.appendBatch(chunk);
  const pos = positions(reads, records);
  const target = Buffer.allocUnsafeSlow(64 * 1024);
  const read = [];
  const into = [];
  let bytes = 0;
  for (let r = 0; r < 5; r++) {
    let t0 = performance.now();
    for (let n = 0; n < reads; n++) bytes += wal.read(pos[n] + 1).length;
    read.push(((performance.now() - t0) * 1e3) / reads);
    t0 = performance.now();
    for (let n = 0; n < reads; n++) bytes += wal.readInto(pos[n] + 1, target, (n & 31) << 11);
    into.push(((performance.now() - t0) * 1e3) / reads);
  }
  await wal.close();
  fs.rmSync(dir, { recursive: true });
  if (bytes !== 10 * reads * size) throw new Error(`read ${bytes} bytes`);
  console.log(`read() ${Math.min(...read).toFixed(3)} us, readInto() ${Math.min(...into).toFixed(3)} us`);
})();
