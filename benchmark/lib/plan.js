'use strict';
/**
 * What a run measures: the quick plan (CI: a couple of minutes, small data,
 * three rounds) and the full plan (release: every size, 1 GiB logs, five
 * rounds). Sizes in bytes.
 */
const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

const quick = {
  name: 'quick',
  rounds: 3,
  cellMs: 250, // a cell stops issuing operations after this long
  w1: { sizes: [16, 1 * KiB, 64 * KiB], bytes: 16 * MiB, maxOps: 100_000 },
  w2: { sizes: [256, 4 * KiB, 64 * KiB, 1 * MiB], bytes: 32 * MiB },
  w3: { sizes: [1 * KiB], ops: 100 },
  w4: { inflight: [1, 64], size: 1 * KiB, syncs: 150 }, // 30 made 64 in flight a 10 ms cell
  w5: { rates: [2000], seconds: 0.5, size: 1 * KiB },
  w6: { bytes: 128 * MiB, size: 1 * KiB, peerBytes: 32 * MiB },
  w7: { entries: 100_000, size: 100 },
  w8: { bytes: 16 * MiB, size: 1 * KiB, reads: 50_000, tails: 1000 },
};

const full = {
  name: 'full',
  rounds: 5,
  cellMs: 1500,
  w1: { sizes: [16, 256, 1 * KiB, 4 * KiB, 64 * KiB, 1 * MiB], bytes: 128 * MiB, maxOps: 1_000_000 },
  w2: { sizes: [16, 256, 1 * KiB, 4 * KiB, 64 * KiB, 1 * MiB], bytes: 256 * MiB },
  w3: { sizes: [256, 1 * KiB, 4 * KiB, 64 * KiB, 1 * MiB], ops: 1000 },
  w4: { inflight: [1, 8, 64, 512], size: 1 * KiB, syncs: 1000 }, // 200 made 64 in flight a 50 ms cell, mostly start-up
  w5: { rates: [1000, 5000, 20000], seconds: 3, size: 1 * KiB },
  w6: { bytes: 1 * GiB, size: 1 * KiB, peerBytes: 1 * GiB },
  w7: { entries: 1_000_000, size: 100 },
  w8: { bytes: 256 * MiB, size: 1 * KiB, reads: 500_000, tails: 10000 },
};

/** A human name for a byte size: 16 B, 1 KiB, 64 KiB, 1 MiB, 1 GiB. */
function sizeName(n) {
  if (n >= GiB && n % GiB === 0) return `${n / GiB} GiB`;
  if (n >= MiB && n % MiB === 0) return `${n / MiB} MiB`;
  if (n >= KiB && n % KiB === 0) return `${n / KiB} KiB`;
  return `${n} B`;
}

module.exports = { quick, full, sizeName, KiB, MiB, GiB };
