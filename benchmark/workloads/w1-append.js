'use strict';
/**
 * W1: non-durable append, one record per call. Records per second for each
 * size; the limit is a no-op native call taking the record plus a Buffer.copy
 * of it (the least any native append can do).
 */
const { walnut, PEERS, recordOf, withStore, secondsSince } = require('./common');
const baselines = require('../lib/baselines');
const { sizeName } = require('../lib/plan');

function cells(plan) {
  const out = [];
  for (const size of plan.w1.sizes) {
    const buf = recordOf(size);
    const ops = Math.max(64, Math.min(plan.w1.maxOps, Math.floor(plan.w1.bytes / size)));
    const row = sizeName(size);
    const base = { id: 'W1', row, size, unit: 'records/s', better: 'higher', durability: 'none' };
    const puts = (store) => async () => {
      const t0 = performance.now();
      const done = await store.nonDurablePuts(buf, ops, t0 + plan.cellMs);
      const s = secondsSince(t0);
      return { value: done / s, extra: { 'MB/s': (done * size) / s / 1e6, records: done } };
    };
    out.push({
      ...base,
      role: 'walnut',
      name: 'walnut append()',
      run: (ctx) => withStore(ctx, walnut, 'none', (s) => puts(s)()),
    });
    out.push({
      ...base,
      role: 'walnut-alt',
      name: 'walnut append(), prefault: false',
      run: (ctx) => withStore(ctx, walnut, 'none', (s) => puts(s)(), { prefault: false }),
    });
    for (const peer of PEERS) {
      out.push({
        ...base,
        role: 'peer',
        name: peer.name,
        run: (ctx) => withStore(ctx, peer, 'none', (s) => puts(s)()),
      });
    }
    out.push({
      ...base,
      role: 'limit',
      durability: '-',
      name: 'no-op native call + Buffer.copy',
      run: async () => ({ value: 1e9 / baselines.noopPlusCopy(buf, Math.min(ops, 200_000)) }),
    });
    out.push({
      ...base,
      role: 'baseline',
      durability: '-',
      name: 'no-op napi-rs function call (benchNoop)',
      run: async () => ({ value: 1e9 / baselines.noopCall(buf, Math.min(ops, 200_000), false) }),
    });
  }
  return out;
}

module.exports = { id: 'W1', title: 'non-durable append, one record per call', cells };
