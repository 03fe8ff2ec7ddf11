'use strict';
/**
 * W3: durable append, one writer, each write durable before the next starts.
 * Latency p50 (p99, p99.9 alongside). The limit is an overwrite inside a
 * preallocated file followed by fdatasync; appending to a growing file with
 * fdatasync is shown as a second baseline.
 */
const { walnut, PEERS, recordOf, withStore } = require('./common');
const baselines = require('../lib/baselines');
const { histogram, record, percentilesUs } = require('../lib/stats');
const { sizeName, MiB } = require('../lib/plan');

const WARMUP = 10;

function summary(h) {
  const p = percentilesUs(h);
  return { value: p.p50, extra: { p99: p.p99, 'p99.9': p.p999 } };
}

async function timedWrites(store, buf, n, ms) {
  for (let i = 0; i < WARMUP; i++) await store.durableWrite(buf);
  const h = histogram();
  const deadline = performance.now() + ms;
  for (let i = 0; i < n && performance.now() < deadline; i++) {
    const t0 = performance.now();
    const r = store.durableWrite(buf);
    if (r && typeof r.then === 'function') await r;
    record(h, (performance.now() - t0) * 1e6);
  }
  return summary(h);
}

function cells(plan) {
  const out = [];
  for (const size of plan.w3.sizes) {
    const buf = recordOf(size);
    const n = Math.max(20, Math.min(plan.w3.ops, Math.floor((256 * MiB) / size)));
    const base = { id: 'W3', row: sizeName(size), size, unit: 'us p50', better: 'lower', durability: 'durable' };
    out.push({
      ...base,
      role: 'walnut',
      name: "walnut append(), sync: 'always'",
      run: (ctx) => withStore(ctx, walnut, 'always', (s) => timedWrites(s, buf, n, plan.cellMs)),
    });
    out.push({
      ...base,
      role: 'walnut-alt',
      name: 'walnut await write()',
      run: (ctx) => withStore(ctx, walnut, 'write', (s) => timedWrites(s, buf, n, plan.cellMs)),
    });
    for (const peer of PEERS) {
      out.push({
        ...base,
        role: 'peer',
        name: peer.name,
        run: (ctx) => withStore(ctx, peer, 'durable', (s) => timedWrites(s, buf, n, plan.cellMs)),
      });
    }
    const floor = (fn, name, role) => ({
      ...base,
      role,
      durability: '-',
      name,
      run: async (ctx) => {
        const dir = ctx.tmpDir('baseline');
        try {
          const h = histogram();
          fn(dir, buf, n, h);
          return summary(h);
        } finally {
          ctx.rm(dir);
        }
      },
    });
    out.push(floor(baselines.overwriteSync, 'overwrite in preallocated file + fdatasync', 'limit'));
    out.push(floor(baselines.appendSync, 'fs.writeSync append + fdatasync', 'baseline'));
  }
  return out;
}

module.exports = { id: 'W3', title: 'durable append, one writer, sync every append', cells };
