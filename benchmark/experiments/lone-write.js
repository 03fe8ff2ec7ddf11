'use strict';
// One durable write at a time (W4 at 1 in flight, W5 at low rates): the
// latency of each `await write()` against each `append()` under
// `sync: 'always'` (the same msync, on the calling thread, with no thread
// hops), with walnut's own sync-latency histogram for each. What it is for:
// telling apart the cost of the hops (the medians) from the rare slow writes
// that drag the mean (the count over 300 us).
//
//   npm run build && node benchmark/experiments/lone-write.js
//
// N=n sets the measured writes per mode (default 5000, after 500 to warm up).
const path = require('node:path');
const fs = require('node:fs');
const os = require('node:os');

const root = process.env.ROOT || path.resolve(__dirname, '..', '..');
const { Wal } = require(path.join(root, 'benchmark', 'lib', 'walnut'));

const n = Number(process.env.N || 5000);
const record = Buffer.alloc(1024, 1);

function report(name, lat, totalMs, stats) {
  lat.sort((a, b) => a - b);
  const us = (ms) => (ms * 1e3).toFixed(0);
  const at = (p) => us(lat[Math.min(lat.length - 1, Math.floor(lat.length * p))]);
  const mean = lat.reduce((a, b) => a + b, 0) / lat.length;
  const slow = lat.filter((ms) => ms > 0.3).length;
  // Bucket b counts syncs under 2^b us: show 16 us .. 8 ms.
  const hist = stats.syncLatencyUs.slice(4, 14).join(' ');
  console.log(
    `${name}: ${((n / totalMs) * 1e3).toFixed(0)}/s, mean ${us(mean)} p50 ${at(0.5)} p90 ${at(0.9)} ` +
      `p99 ${at(0.99)} max ${us(lat[lat.length - 1])} us, ${slow} over 300 us; ` +
      `syncs ${stats.syncs} by 2^b us from b=4: ${hist}`,
  );
}

async function measure(name, sync, one) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'walnut-lone-write-'));
  try {
    const wal = Wal.openSync(dir, { sync });
    for (let i = 0; i < 500; i++) await one(wal);
    const lat = [];
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const s = performance.now();
      await one(wal);
      lat.push(performance.now() - s);
    }
    report(name, lat, performance.now() - t0, wal.stats());
    await wal.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

(async () => {
  await measure('await write()        ', 'none', (wal) => wal.write(record));
  await measure("append(), 'always'   ", 'always', (wal) => wal.append(record));
})();
