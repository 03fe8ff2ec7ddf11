'use strict';
/**
 * W2: non-durable batched append: many records per call (walnut
 * `appendBatch`, one SQLite transaction, one LMDB write transaction, one
 * LevelDB batch). Payload bandwidth; the limit is Buffer.copy bandwidth.
 */
const { walnut, PEERS, recordOf, withStore, secondsSince } = require('./common');
const baselines = require('../lib/baselines');
const { sizeName, KiB } = require('../lib/plan');

/** Records per batch: about 256 KiB of payload, between 8 and 1024 records. */
function batchLength(size) {
  return Math.max(8, Math.min(1024, Math.floor((256 * KiB) / size)));
}

function cells(plan) {
  const out = [];
  for (const size of plan.w2.sizes) {
    const buf = recordOf(size);
    const per = batchLength(size);
    const bufs = new Array(per).fill(buf);
    const batches = Math.max(4, Math.floor(plan.w2.bytes / (per * size)));
    const row = `${sizeName(size)} x ${per}`;
    const base = { id: 'W2', row, size, unit: 'MB/s', better: 'higher', durability: 'none' };
    const run = (store) => async () => {
      const t0 = performance.now();
      const done = await store.nonDurableBatches(bufs, batches, t0 + plan.cellMs);
      const s = secondsSince(t0);
      return { value: (done * per * size) / s / 1e6, extra: { 'records/s': (done * per) / s, batches: done } };
    };
    out.push({
      ...base,
      role: 'walnut',
      name: 'walnut appendBatch()',
      run: (ctx) => withStore(ctx, walnut, 'batch', (s) => run(s)()),
    });
    out.push({
      ...base,
      role: 'walnut-alt',
      name: 'walnut appendBatch(), prefault: false',
      run: (ctx) => withStore(ctx, walnut, 'batch', (s) => run(s)(), { prefault: false }),
    });
    for (const peer of PEERS) {
      out.push({ ...base, role: 'peer', name: peer.name, run: (ctx) => withStore(ctx, peer, 'none', (s) => run(s)()) });
    }
    out.push({
      ...base,
      role: 'limit',
      durability: '-',
      name: 'Buffer.copy bandwidth',
      run: async () => ({ value: baselines.memcpyBandwidth(buf, Math.min(plan.w2.bytes, 256 << 20)) / 1e6 }),
    });
  }
  return out;
}

module.exports = { id: 'W2', title: 'non-durable batched append', cells, batchLength };
