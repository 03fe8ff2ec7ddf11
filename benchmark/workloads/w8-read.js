'use strict';
/**
 * W8: reading. Sequential scan of every record (payload MB/s), random reads
 * of single records (mean us per read, each returning a copy the caller
 * owns), and tail wake-up latency (walnut only: from just before `append()`
 * to the moment a `for await (... of wal.tail())` loop holds the record).
 * Limits: a page-cache read + CRC32C of walnut's segment files; a no-op
 * native call + Buffer.copy of the record; waking an awaiting function by
 * resolving its promise.
 */
const { walnut, PEERS, recordOf, secondsSince, segmentFiles, framesEnd } = require('./common');
const { Wal } = require('../lib/walnut');
const baselines = require('../lib/baselines');
const { histogram, record, percentilesUs } = require('../lib/stats');
const { sizeName } = require('../lib/plan');

/** A fixed pseudo-random sequence of positions in [0, n). */
function positions(count, n) {
  const out = new Uint32Array(count);
  let x = 0x2545f491;
  for (let i = 0; i < count; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = (x >>> 0) % n;
  }
  return out;
}

async function tailLatency(dir, buf, n) {
  const wal = Wal.openSync(dir);
  const h = histogram();
  const ac = new AbortController();
  let t0 = 0;
  let got = 0;
  let wake;
  const consumer = (async () => {
    try {
      for await (const e of wal.tail({ from: 1, signal: ac.signal })) {
        record(h, (performance.now() - t0) * 1e6);
        got = e.index;
        wake?.();
      }
    } catch (err) {
      if (err.name !== 'AbortError') throw err;
    }
  })();
  for (let i = 1; i <= n; i++) {
    // Let the tailer go back to waiting before the next append.
    await new Promise((r) => setImmediate(r));
    const seen = new Promise((r) => (wake = r));
    t0 = performance.now();
    wal.append(buf);
    await seen;
    if (got !== i) throw new Error(`W8 tail: expected ${i}, got ${got}`);
  }
  ac.abort();
  await consumer;
  await wal.close();
  const p = percentilesUs(h);
  return { value: p.p50, extra: { p99: p.p99, 'p99.9': p.p999 } };
}

function cells(plan) {
  const { size, reads } = plan.w8;
  const records = Math.floor(plan.w8.bytes / size);
  const buf = recordOf(size);
  const pos = positions(reads, records);
  const scanRow = `scan ${sizeName(plan.w8.bytes)} of ${sizeName(size)}`;
  const readRow = `random read, ${sizeName(size)}`;
  const out = [];
  for (const subject of [walnut, ...PEERS]) {
    const isWalnut = subject === walnut;
    const role = isWalnut ? 'walnut' : 'peer';
    const name = isWalnut ? 'walnut' : subject.name;
    let store;
    let dir;
    const setup = async (ctx) => {
      if (store) return;
      dir = ctx.tmp(`w8-${subject.name}`);
      store = await subject.open(dir, isWalnut ? 'none' : 'durable');
      await store.fill(buf, records);
    };
    const teardown = async () => {
      if (!store) return;
      await store.close();
      store = undefined;
    };
    out.push({
      id: 'W8',
      row: scanRow,
      role,
      name: isWalnut ? 'walnut entries()' : name,
      unit: 'MB/s',
      better: 'higher',
      durability: '-',
      setup,
      teardown,
      run: async () => {
        const t0 = performance.now();
        const bytes = await store.scan();
        const s = secondsSince(t0);
        if (bytes !== records * size) throw new Error(`W8 scan: ${name} read ${bytes} bytes`);
        return { value: bytes / s / 1e6 };
      },
    });
    out.push({
      id: 'W8',
      row: readRow,
      role,
      name: isWalnut ? 'walnut read(i)' : name,
      unit: 'us/read',
      better: 'lower',
      durability: '-',
      setup,
      teardown,
      run: async () => {
        let bytes = 0;
        let n = 0;
        const t0 = performance.now();
        const deadline = t0 + plan.cellMs;
        const first = store.readAt(0);
        if (first && typeof first.then === 'function') {
          await first;
          for (; n < reads && (n & 63 || performance.now() < deadline); n++) bytes += (await store.readAt(pos[n])).length;
        } else {
          for (; n < reads && (n & 1023 || performance.now() < deadline); n++) bytes += store.readAt(pos[n]).length;
        }
        const us = ((performance.now() - t0) * 1e3) / n;
        if (bytes !== n * size) throw new Error(`W8 read: ${name} returned ${bytes} bytes for ${n} reads`);
        return { value: us, extra: { reads: n } };
      },
    });
    if (isWalnut) {
      out.push({
        id: 'W8',
        row: scanRow,
        role: 'limit',
        name: 'page-cache read + CRC32C of the segment files',
        unit: 'MB/s',
        better: 'higher',
        durability: '-',
        setup,
        run: async () => {
          // Sealed segments whole, the last one up to its last frame; the rate
          // is given in payload bytes so that it compares with the scans.
          const files = segmentFiles(dir);
          const last = files.pop();
          let ms = 0;
          for (const file of files) ms += baselines.scanCrc(file);
          ms += baselines.scanCrc(last, 0, framesEnd(last, records, size));
          return { value: (records * size) / (ms / 1e3) / 1e6 };
        },
      });
    }
  }
  let image; // as many bytes as the log holds, for the limit's copies
  out.push({
    id: 'W8',
    row: readRow,
    role: 'limit',
    name: 'no-op native call + Buffer.copy from the same random positions',
    unit: 'us/read',
    better: 'lower',
    durability: '-',
    setup: async () => {
      image ??= Buffer.alloc(records * size, 1);
    },
    teardown: async () => {
      image = undefined;
    },
    run: async () => ({ value: baselines.noopPlusCopyFrom(image, size, pos) / 1e3 }),
  });
  out.push({
    id: 'W8',
    row: readRow,
    role: 'baseline',
    name: 'no-op native call + Buffer.copy of one cached record',
    unit: 'us/read',
    better: 'lower',
    durability: '-',
    run: async () => ({ value: baselines.noopPlusCopy(buf, reads) / 1e3 }),
  });
  const tailRow = `tail wake-up, ${sizeName(size)}`;
  out.push({
    id: 'W8',
    row: tailRow,
    role: 'walnut',
    name: 'walnut tail()',
    unit: 'us p50',
    better: 'lower',
    durability: '-',
    run: async (ctx) => {
      const dir = ctx.tmp('w8-tail');
      try {
        return await tailLatency(dir, buf, plan.w8.tails);
      } finally {
        ctx.rm(dir);
      }
    },
  });
  out.push({
    id: 'W8',
    row: tailRow,
    role: 'limit',
    name: 'promise resolve -> await resumes',
    unit: 'us p50',
    better: 'lower',
    durability: '-',
    run: async () => {
      const h = histogram();
      await baselines.promiseWakeup(plan.w8.tails, h);
      const p = percentilesUs(h);
      return { value: p.p50, extra: { p99: p.p99, 'p99.9': p.p999 } };
    },
  });
  return out;
}

module.exports = { id: 'W8', title: 'reads: sequential scan, random read(i), tail wake-up', cells, positions };
