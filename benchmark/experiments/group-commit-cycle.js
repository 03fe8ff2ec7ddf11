'use strict';
/**
 * One W4 cell in a script of its own: N writers each `await wal.write()` of
 * 1 KiB in a loop. Prints records/s, the time between consecutive syncs as
 * JavaScript sees them, and the log's own sync-latency histogram. Run it
 * under `perf trace` and `timeline.py` splits each cycle into its parts
 * (benchmark/RESULTS.md, "Where each target stands": W4).
 *
 *   npm run build
 *   node benchmark/experiments/group-commit-cycle.js 64 [writes]
 *   perf trace -e msync,madvise,futex,epoll_pwait,write,read -o /tmp/t.txt \
 *     node benchmark/experiments/group-commit-cycle.js 64
 *   python3 benchmark/experiments/timeline.py /tmp/t.txt
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Wal } = require('../lib/walnut');

async function main() {
  const inFlight = Number(process.argv[2] ?? 64);
  const total = Number(process.argv[3] ?? 64_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'walnut-cycle-'));
  const wal = Wal.openSync(dir);
  try {
    const buf = Buffer.alloc(1024, 1);
    const cycles = [];
    let last = 0;
    wal.on('sync', () => {
      const t = performance.now();
      if (last) cycles.push((t - last) * 1e3);
      last = t;
    });
    let issued = 0;
    const writer = async () => {
      while (issued < total) {
        issued++;
        await wal.write(buf);
      }
    };
    const t0 = performance.now();
    await Promise.all(Array.from({ length: inFlight }, writer));
    const seconds = (performance.now() - t0) / 1e3;
    cycles.sort((a, b) => a - b);
    const at = (q) => cycles[Math.floor(cycles.length * q)].toFixed(0);
    console.log(`${inFlight} in flight: ${(total / seconds).toFixed(0)} records/s; ` +
      `${cycles.length} syncs, time between them p50 ${at(0.5)} us, p90 ${at(0.9)} us`);
    const hist = wal.stats().syncLatencyUs;
    const buckets = hist.flatMap((n, b) => (n ? [`<${2 ** b}us: ${n}`] : []));
    console.log(`sync latency (walnut's histogram): ${buckets.join(', ')}`);
  } finally {
    await wal.close();
    fs.rmSync(dir, { recursive: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
