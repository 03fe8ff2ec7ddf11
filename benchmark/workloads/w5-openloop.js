'use strict';
/**
 * W5: open-loop durable writes at a fixed rate. Write k is due at
 * start + k / rate; its latency runs from that due time (not from when the
 * harness got round to issuing it) to durability, so a stalled writer is
 * charged for every write that queued behind it: no coordinated omission.
 * Latency p50 (p99, p99.9 alongside) from an HdrHistogram. The limit is the
 * preallocated overwrite + fdatasync p50 (one write alone on the disk).
 */
const { walnut, PEERS, recordOf, withStore } = require('./common');
const baselines = require('../lib/baselines');
const { histogram, record, percentilesUs } = require('../lib/stats');
const { sizeName } = require('../lib/plan');

const yieldToLoop = () => new Promise((r) => setImmediate(r));

async function openLoop(store, buf, rate, seconds) {
  const h = histogram();
  const total = Math.max(50, Math.round(rate * seconds));
  const interval = 1e3 / rate; // ms
  const outstanding = new Set();
  let done = 0;
  const start = performance.now() + 1;
  // A writer that cannot keep up is cut off at twice the planned time; the
  // writes that were due by then but never issued are charged as waiting
  // until the cut, so falling behind is never hidden.
  const cutoff = start + 2 * seconds * 1e3;
  let k = 0;
  while (k < total) {
    const now = performance.now();
    if (now > cutoff) {
      for (; k < total && start + k * interval <= now; k++) record(h, (now - (start + k * interval)) * 1e6);
      break;
    }
    while (k < total && start + k * interval <= now && performance.now() <= cutoff) {
      const due = start + k * interval;
      k++;
      const r = store.durableWrite(buf);
      if (r && typeof r.then === 'function') {
        const p = r.then(() => {
          record(h, (performance.now() - due) * 1e6);
          done++;
          outstanding.delete(p);
        });
        outstanding.add(p);
      } else {
        record(h, (performance.now() - due) * 1e6);
        done++;
      }
    }
    await yieldToLoop();
  }
  await Promise.all(outstanding);
  const elapsed = (performance.now() - start) / 1e3;
  const p = percentilesUs(h);
  return { value: p.p50, extra: { p99: p.p99, 'p99.9': p.p999, 'achieved/s': done / elapsed } };
}

function cells(plan) {
  const out = [];
  const { size, seconds } = plan.w5;
  const buf = recordOf(size);
  for (const rate of plan.w5.rates) {
    const base = {
      id: 'W5',
      row: `${rate}/s, ${sizeName(size)}`,
      unit: 'us p50',
      better: 'lower',
      durability: 'durable',
    };
    out.push({
      ...base,
      role: 'walnut',
      name: 'walnut await write()',
      run: (ctx) => withStore(ctx, walnut, 'write', (s) => openLoop(s, buf, rate, seconds)),
    });
    out.push({
      ...base,
      role: 'walnut-alt',
      name: "walnut append(), sync: 'always'",
      run: (ctx) => withStore(ctx, walnut, 'always', (s) => openLoop(s, buf, rate, seconds)),
    });
    for (const peer of PEERS) {
      out.push({
        ...base,
        role: 'peer',
        name: peer.name,
        run: (ctx) => withStore(ctx, peer, 'durable', (s) => openLoop(s, buf, rate, seconds)),
      });
    }
    out.push({
      ...base,
      role: 'limit',
      durability: '-',
      name: 'overwrite in preallocated file + fdatasync',
      run: async (ctx) => {
        const dir = ctx.tmpDir('baseline');
        try {
          const h = histogram();
          baselines.overwriteSync(dir, buf, 100, h);
          const p = percentilesUs(h);
          return { value: p.p50, extra: { p99: p.p99, 'p99.9': p.p999 } };
        } finally {
          ctx.rm(dir);
        }
      },
    });
  }
  return out;
}

module.exports = { id: 'W5', title: 'open-loop durable writes at a fixed rate', cells };
