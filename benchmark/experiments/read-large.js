'use strict';
/**
 * `read()` against `readInto()` for random records of one size: a 256 MiB
 * log, the same pseudo-random positions for both, alternating passes (the
 * best pass of each is printed). `read()` returns a new Buffer per record
 * (records over 16 KiB are created natively); `readInto()` copies into one
 * buffer the caller reuses (benchmark/RESULTS.md, "readView").
 *
 *   npm run build
 *   node benchmark/experiments/read-large.js 65536
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Wal } = require('../lib/walnut');
const { positions } = require('../workloads/w8-read');

const size = Number(process.argv[2] ?? 65536);
const records = Math.floor((256 << 20) / size);
const reads = Math.min(records, 20_000);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'walnut-read-large-'));
const wal = Wal.openSync(dir);
try {
  const record = Buffer.alloc(size, 9);
  const per = Math.max(1, Math.floor((4 << 20) / size));
  for (let done = 0; done < records; done += per) {
    wal.appendBatch(new Array(Math.min(per, records - done)).fill(record));
  }
  const pos = positions(reads, records); // W8's own sequence
  const target = Buffer.allocUnsafe(size);
  const ways = {
    'read()': (i) => wal.read(i).length,
    'readInto()': (i) => wal.readInto(i, target),
  };
  const best = {};
  for (let pass = 0; pass < 3; pass++) {
    for (const [name, read] of Object.entries(ways)) {
      let bytes = 0;
      const t0 = performance.now();
      for (let k = 0; k < reads; k++) bytes += read(pos[k] + 1);
      const us = ((performance.now() - t0) * 1e3) / reads;
      if (bytes !== reads * size) throw new Error(`${name} read ${bytes} bytes`);
      best[name] = Math.min(best[name] ?? Infinity, us);
    }
  }
  console.log(`${size} B records: ` + Object.entries(best).map(([k, v]) => `${k} ${v.toFixed(2)} us`).join(', '));
} finally {
  wal.closeSync();
  fs.rmSync(dir, { recursive: true, force: true });
}
