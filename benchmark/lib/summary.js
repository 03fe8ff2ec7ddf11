'use strict';
/**
 * Turns the raw rounds into what the report shows: a median and spread per
 * cell, one comparison row per (workload, row), and the targets.
 */
const { median, spread } = require('./stats');

/** Median value, spread and median extras of one cell's rounds. */
function summarizeCell(cell, results) {
  const values = results.map((r) => r.value);
  const extras = {};
  for (const key of Object.keys(results[0]?.extra ?? {})) {
    const xs = results.map((r) => r.extra?.[key]).filter((x) => typeof x === 'number');
    if (xs.length) extras[key] = median(xs);
  }
  return {
    id: cell.id,
    row: cell.row,
    role: cell.role,
    name: results.find((r) => r.label)?.label ?? cell.name,
    short: cell.name,
    durability: cell.durability,
    unit: cell.unit,
    better: cell.better,
    note: cell.note,
    size: cell.size,
    rounds: values.length,
    median: median(values),
    spread: spread(values),
    extras,
  };
}

/** walnut / other, oriented so that > 1 means walnut is better. */
function advantage(better, walnut, other) {
  if (walnut === undefined || other === undefined) return undefined;
  return better === 'higher' ? walnut / other : other / walnut;
}

/** One comparison row per (workload, row): walnut, best peer, limit, ratios. */
function rows(cells) {
  const groups = new Map();
  for (const c of cells) {
    const key = `${c.id}\u0000${c.row}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(c);
  }
  const out = [];
  for (const cs of groups.values()) {
    const walnut = cs.find((c) => c.role === 'walnut');
    if (!walnut) continue;
    const peers = cs.filter((c) => c.role === 'peer');
    const pick = walnut.better === 'higher' ? (a, b) => (b.median > a.median ? b : a) : (a, b) => (b.median < a.median ? b : a);
    const bestPeer = peers.length ? peers.reduce(pick) : undefined;
    const limit = cs.find((c) => c.role === 'limit');
    out.push({
      id: walnut.id,
      row: walnut.row,
      size: walnut.size,
      unit: walnut.unit,
      better: walnut.better,
      durability: walnut.durability,
      walnut,
      bestPeer,
      limit,
      vsPeer: advantage(walnut.better, walnut.median, bestPeer?.median),
      vsLimit: advantage(walnut.better, walnut.median, limit?.median),
    });
  }
  return out;
}

/** The targets, each with where it stands (undefined when not measured). */
function targets(rowList) {
  const find = (id, re) => rowList.find((r) => r.id === id && re.test(r.row));
  const all = (id, pred) => rowList.filter((r) => r.id === id && pred(r));
  const t = [];
  const add = (name, row, ok, figure) => t.push({ name, measured: row !== undefined, ok: row ? ok : undefined, figure });
  const w1 = rowList.find((r) => r.id === 'W1' && r.size === 1024);
  add('W1 1 KiB: >= 3x the fastest non-durable peer', w1, w1?.vsPeer >= 3, w1 && `${w1.vsPeer?.toFixed(2)}x`);
  add('W1 1 KiB: within 2x of native call + memcpy', w1, w1?.vsLimit >= 0.5, w1 && `${w1.vsLimit?.toFixed(2)} of the limit`);
  const w2 = all('W2', (r) => r.size >= 4096);
  const w2ok = w2.length ? w2.every((r) => r.vsLimit >= 0.5) : undefined;
  add('W2 >= 4 KiB: at least half of memcpy bandwidth', w2.length ? w2 : undefined, w2ok, w2.map((r) => `${r.row}: ${r.vsLimit?.toFixed(2)}`).join(', '));
  const w3 = rowList.find((r) => r.id === 'W3' && r.size === 1024) ?? all('W3', () => true)[0];
  add('W3: p50 within 1.15x of overwrite + fdatasync', w3, w3 && w3.walnut.median <= 1.15 * w3.limit?.median, w3 && `${w3.row}: ${(w3.walnut.median / w3.limit?.median).toFixed(2)}x the floor`);
  add('W3: >= 1.3x better than every peer', w3, w3?.vsPeer >= 1.3, w3 && `${w3.vsPeer?.toFixed(2)}x`);
  const w4 = find('W4', /^64 in flight/);
  add('W4 64 in flight: >= 0.8x of the group-commit bound', w4, w4?.vsLimit >= 0.8, w4 && `${w4.vsLimit?.toFixed(2)}`);
  add('W4 64 in flight: >= 2x the best durable peer', w4, w4?.vsPeer >= 2, w4 && `${w4.vsPeer?.toFixed(2)}x`);
  const w6c = find('W6', /^clean/);
  add('W6: open the clean log in <= 100 ms', w6c, w6c?.walnut.median <= 100, w6c && `${w6c.walnut.median.toFixed(1)} ms (${w6c.row})`);
  const w6t = find('W6', /^torn/);
  add('W6: torn tail at >= 0.7x of the scan baseline (the bytes recovery examines)', w6t, w6t?.vsLimit >= 0.7, w6t && `${w6t.vsLimit?.toFixed(2)}`);
  const w7 = find('W7', /./);
  add('W7: <= 8 B of anonymous RAM per entry', w7, w7?.walnut.median <= 8, w7 && `${w7.walnut.median.toFixed(2)} B/entry`);
  const w8t = find('W8', /^tail/);
  add('W8: tail wake-up p50 < 50 us', w8t, w8t?.walnut.median < 50, w8t && `${w8t.walnut.median.toFixed(1)} us`);
  const w8r = find('W8', /^random read, 1 KiB/);
  add('W8: random read(i) of 1 KiB < 1 us', w8r, w8r?.walnut.median < 1, w8r && `${w8r.walnut.median.toFixed(2)} us`);
  return t;
}

module.exports = { summarizeCell, rows, targets, advantage };
