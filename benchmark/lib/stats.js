'use strict';
/**
 * Small statistics helpers: medians over rounds, spread, and latency
 * histograms (HdrHistogram, nanosecond resolution up to one minute).
 */
const hdr = require('hdr-histogram-js');

/** Median of a non-empty array of numbers. */
function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Spread of the rounds around their median, as a fraction: (max - min) / median.
 * Printed as "±x%" (half of it) so one glance tells how noisy a cell was.
 */
function spread(xs) {
  const m = median(xs);
  if (m === 0) return 0;
  return (Math.max(...xs) - Math.min(...xs)) / Math.abs(m);
}

/** A latency histogram recording nanoseconds (1 ns .. 60 s, 3 significant digits). */
function histogram() {
  return hdr.build({
    bitBucketSize: 32,
    autoResize: true,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60e9,
    numberOfSignificantValueDigits: 3,
  });
}

/** Records one latency (ns, any number) into `h`, clamped to its range. */
function record(h, ns) {
  h.recordValue(Math.max(1, Math.min(59e9, Math.round(ns))));
}

/** p50 / p99 / p99.9 of a histogram, in microseconds. */
function percentilesUs(h) {
  return {
    p50: h.getValueAtPercentile(50) / 1e3,
    p99: h.getValueAtPercentile(99) / 1e3,
    p999: h.getValueAtPercentile(99.9) / 1e3,
    count: h.totalCount,
  };
}

module.exports = { median, spread, histogram, record, percentilesUs };
