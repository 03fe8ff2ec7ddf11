'use strict';
/**
 * W4: durable group commit with N writes in flight (closed loop: N writers,
 * each issuing its next write when the previous one is durable). Records per
 * second, p99 latency alongside. SQLite, being synchronous, gets the same
 * concurrency as transactions of N rows. The limit is the group-commit bound:
 * N records per sync / latency of one fdatasync of N records' bytes.
 */
const { walnut, sqlite, PEERS, recordOf, withStore, secondsSince } = require('./common');
const baselines = require('../lib/baselines');
const { histogram, record, percentilesUs } = require('../lib/stats');
const { sizeName } = require('../lib/plan');

async function closedLoop(store, buf, inflight, total, ms) {
  const h = histogram();
  let issued = 0;
  const deadline = performance.now() + ms;
  const worker = async () => {
    while (issued < total && performance.now() < deadline) {
      issued++;
      const t0 = performance.now();
      await store.durableWrite(buf);
      record(h, (performance.now() - t0) * 1e6);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: inflight }, worker));
  return { value: issued / secondsSince(t0), extra: { 'p99 us': percentilesUs(h).p99 } };
}

function transactions(store, buf, inflight, total, ms) {
  const h = histogram();
  const rows = new Array(inflight).fill(buf);
  const t0 = performance.now();
  let done = 0;
  for (; done < total && performance.now() < t0 + ms; done += inflight) {
    const t1 = performance.now();
    store.transaction(rows);
    const ns = (performance.now() - t1) * 1e6;
    for (let i = 0; i < inflight; i++) record(h, ns);
  }
  return { value: done / secondsSince(t0), extra: { 'p99 us': percentilesUs(h).p99 } };
}

function cells(plan) {
  const out = [];
  const { size } = plan.w4;
  const buf = recordOf(size);
  for (const inflight of plan.w4.inflight) {
    const total = Math.max(300, inflight * plan.w4.syncs);
    const base = {
      id: 'W4',
      row: `${inflight} in flight, ${sizeName(size)}`,
      unit: 'records/s',
      better: 'higher',
      durability: 'durable',
    };
    out.push({
      ...base,
      role: 'walnut',
      name: 'walnut await write()',
      run: (ctx) => withStore(ctx, walnut, 'write', (s) => closedLoop(s, buf, inflight, total, plan.cellMs)),
    });
    for (const peer of PEERS) {
      const fn =
        peer === sqlite
          ? (s) => transactions(s, buf, inflight, total, plan.cellMs)
          : (s) => closedLoop(s, buf, inflight, total, plan.cellMs);
      out.push({ ...base, role: 'peer', name: peer.name, run: (ctx) => withStore(ctx, peer, 'durable', fn) });
    }
    out.push({
      ...base,
      role: 'limit',
      durability: '-',
      name: 'group-commit bound (N / fdatasync of N records)',
      run: async (ctx) => {
        const dir = ctx.tmpDir('baseline');
        try {
          return { value: baselines.groupCommitBound(dir, buf, inflight, plan.w4.syncs) };
        } finally {
          ctx.rm(dir);
        }
      },
    });
  }
  return out;
}

module.exports = { id: 'W4', title: 'durable group commit, N writes in flight', cells };
