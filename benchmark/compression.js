#!/usr/bin/env node
'use strict';
/**
 * Compression on a realistic payload: JSON events (~300-600 bytes each, the
 * shape of clickstream or audit records). For each setting, in interleaved
 * rounds: append throughput (one record per call, non-durable, then one
 * sync) and the bytes the records take on disk, against no compression.
 *
 *   npm run bench:compression            (N=200000 events, 5 rounds)
 *   node benchmark/compression.js --quick
 *
 * It reports and never asserts.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Wal } = require('..');

const quick = process.argv.includes('--quick');
const N = quick ? 20_000 : 200_000;
const ROUNDS = quick ? 3 : 5;
const SETTINGS = ['none', 'lz4', 'snappy', 'zstd'];

// Deterministic pseudo-random events, so every setting stores the same bytes.
function events(n) {
  let x = 0x2545f491;
  const rnd = (m) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % m;
  };
  const pages = ['/', '/search', '/products/shoes', '/products/hats', '/cart', '/checkout', '/account/orders'];
  const agents = ['Mozilla/5.0 (X11; Linux x86_64)', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2)', 'curl/8.5.0'];
  const out = new Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = Buffer.from(
      JSON.stringify({
        id: `evt_${(1e12 + i * 7919).toString(36)}`,
        ts: 1_763_700_000_000 + i * 13 + rnd(10),
        type: ['page_view', 'click', 'add_to_cart', 'purchase'][rnd(4)],
        user: { id: `u_${rnd(50_000)}`, plan: ['free', 'pro', 'team'][rnd(3)], country: ['DE', 'US', 'FR', 'BR', 'JP'][rnd(5)] },
        page: pages[rnd(pages.length)],
        referrer: rnd(3) === 0 ? 'https://www.example.com/landing' : null,
        agent: agents[rnd(agents.length)],
        props: { sku: `SKU-${rnd(9000) + 1000}`, qty: rnd(5) + 1, price_cents: rnd(20_000) },
      }),
    );
  }
  return out;
}

async function once(setting, data, dir) {
  const wal = await Wal.open(dir, { compression: setting, segmentSize: 64 << 20 });
  const t0 = process.hrtime.bigint();
  for (const d of data) wal.append(d);
  await wal.sync();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const used = wal.segments().reduce((n, seg) => n + seg.usedBytes, 0);
  await wal.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return { rate: data.length / s, used };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const data = events(N);
  const raw = data.reduce((n, d) => n + d.length, 0);
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'walnut-compression-'));
  const results = Object.fromEntries(SETTINGS.map((s) => [s, { rates: [], used: 0 }]));
  try {
    for (let r = 0; r < ROUNDS; r++) {
      for (const s of SETTINGS) {
        const { rate, used } = await once(s, data, path.join(base, `${s}-${r}`));
        results[s].rates.push(rate);
        results[s].used = used;
      }
    }
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
  const none = results.none;
  console.log(`Compression on JSON events: ${N} events, ${(raw / N).toFixed(0)} B average, ${(raw / 2 ** 20).toFixed(1)} MiB of payload`);
  console.log(`machine: ${os.cpus().length} x ${os.cpus()[0].model}, Node ${process.version}; median of ${ROUNDS} interleaved rounds`);
  console.log(`command: node benchmark/compression.js${quick ? ' --quick' : ''}\n`);
  console.log('| setting | appends/s (median) | spread (min-max) | vs none | bytes on disk | vs none |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const s of SETTINGS) {
    const r = results[s];
    const m = median(r.rates);
    console.log(
      `| ${s} | ${Math.round(m).toLocaleString('en-US')} | ${Math.round(Math.min(...r.rates)).toLocaleString('en-US')}-${Math.round(Math.max(...r.rates)).toLocaleString('en-US')} | ${(m / median(none.rates)).toFixed(2)}x | ${(r.used / 2 ** 20).toFixed(1)} MiB | ${(r.used / none.used).toFixed(2)}x |`,
    );
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
