'use strict';
/** Number formatting for tables and charts. */

/** Three significant digits with a k/M/G suffix for large numbers. */
function num(x) {
  if (x === undefined || x === null || Number.isNaN(x)) return '-';
  const a = Math.abs(x);
  if (a >= 1e9) return `${sig(x / 1e9)}G`;
  if (a >= 1e6) return `${sig(x / 1e6)}M`;
  if (a >= 1e4) return `${sig(x / 1e3)}k`;
  return sig(x);
}

function sig(x) {
  const a = Math.abs(x);
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  if (a === 0) return '0';
  return x.toPrecision(2);
}

/** A value with its unit: "1.23M records/s", "95.1 us p50". */
function withUnit(x, unit) {
  return `${num(x)} ${unit}`;
}

/** A ratio: "3.21x". */
function ratio(x) {
  return x === undefined || !Number.isFinite(x) ? '-' : `${sig(x)}x`;
}

/** Spread as a +-percentage of the median. */
function spreadPct(s) {
  return `±${(s * 50).toFixed(s < 0.2 ? 1 : 0)}%`;
}

module.exports = { num, withUnit, ratio, spreadPct };
