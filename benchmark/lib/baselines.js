'use strict';
/**
 * Physical baselines measured in the same run as walnut and its peers: what
 * this machine can do at best for each workload, with no log structure at all.
 */
const fs = require('node:fs');
const path = require('node:path');
const { native } = require('./walnut');
const { record } = require('./stats');

const RING = 64 << 20; // destination of the copies: larger than the caches

let ring;
function destination() {
  ring ??= Buffer.alloc(RING, 1);
  return ring;
}

/**
 * ns per op of a no-op native call taking the record, plus a Buffer.copy of
 * it into a 64 MiB ring. The call is `benchNoopRaw`, a raw N-API callback:
 * the cheapest native call there is (napi-rs's own functions cost more; see
 * `noopCall`).
 */
function noopPlusCopy(buf, n) {
  const dst = destination();
  const len = buf.length;
  const wrap = RING - len;
  let off = 0;
  let sink = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    sink += native.benchNoopRaw(buf);
    buf.copy(dst, off);
    off += len;
    if (off > wrap) off = 0;
  }
  const ns = ((performance.now() - t0) * 1e6) / n;
  if (sink < 0) throw new Error('unreachable');
  return ns;
}

/**
 * Like noopPlusCopy, but copying `len` bytes out of `src` at the given
 * positions: the memory traffic of random reads from a log of that size.
 */
function noopPlusCopyFrom(src, len, positions) {
  const out = Buffer.allocUnsafe(len);
  const n = positions.length;
  let sink = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    sink += native.benchNoopRaw(out);
    const at = positions[i] * len;
    src.copy(out, 0, at, at + len);
  }
  const ns = ((performance.now() - t0) * 1e6) / n;
  if (sink < 0) throw new Error('unreachable');
  return ns;
}

/** ns per call of a no-op native call: `raw` (benchNoopRaw) or napi-rs (benchNoop). */
function noopCall(buf, n, raw = true) {
  const f = raw ? native.benchNoopRaw : native.benchNoop;
  let sink = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) sink += f(buf);
  const ns = ((performance.now() - t0) * 1e6) / n;
  if (sink < 0) throw new Error('unreachable');
  return ns;
}

/** Bytes per second of Buffer.copy of `buf` into a 64 MiB ring, `bytes` in all. */
function memcpyBandwidth(buf, bytes) {
  const dst = destination();
  const len = buf.length;
  const wrap = RING - len;
  const n = Math.max(1, Math.floor(bytes / len));
  let off = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    buf.copy(dst, off);
    off += len;
    if (off > wrap) off = 0;
  }
  return (n * len) / ((performance.now() - t0) / 1e3);
}

/** A file of `size` bytes written with zeros and fdatasynced: every block allocated. */
function preallocated(file, size) {
  const fd = fs.openSync(file, 'w+');
  const zero = Buffer.alloc(1 << 20);
  for (let off = 0; off < size; off += zero.length) fs.writeSync(fd, zero, 0, Math.min(zero.length, size - off), off);
  fs.fdatasyncSync(fd);
  return fd;
}

/**
 * Latency of `n` sequential overwrites of `buf` inside a preallocated file,
 * each followed by fdatasync: the floor for a durable append into space that
 * is already allocated (no metadata to sync). Records ns into `hist`.
 */
function overwriteSync(dir, buf, n, hist) {
  const size = Math.max(buf.length * n, 1 << 20);
  const fd = preallocated(path.join(dir, 'prealloc.bin'), size);
  try {
    let off = 0;
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      fs.writeSync(fd, buf, 0, buf.length, off);
      fs.fdatasyncSync(fd);
      record(hist, (performance.now() - t0) * 1e6);
      off += buf.length;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Like overwriteSync, but appending to a growing file (metadata changes every sync). */
function appendSync(dir, buf, n, hist) {
  const fd = fs.openSync(path.join(dir, 'append.bin'), 'w');
  try {
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      fs.writeSync(fd, buf);
      fs.fdatasyncSync(fd);
      record(hist, (performance.now() - t0) * 1e6);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The group-commit bound for `inflight` records of `buf`: records per second
 * if every sync carried `inflight` records, i.e. inflight / latency of one
 * overwrite of inflight * size bytes + fdatasync (so sync bandwidth caps it).
 * Returns records/s from the median of `syncs` measured syncs.
 */
function groupCommitBound(dir, buf, inflight, syncs) {
  const chunk = Buffer.alloc(buf.length * inflight, 7);
  const fd = preallocated(path.join(dir, 'group.bin'), chunk.length * syncs);
  const lat = [];
  try {
    for (let i = 0; i < syncs; i++) {
      const t0 = performance.now();
      fs.writeSync(fd, chunk, 0, chunk.length, i * chunk.length);
      fs.fdatasyncSync(fd);
      lat.push(performance.now() - t0);
    }
  } finally {
    fs.closeSync(fd);
  }
  lat.sort((a, b) => a - b);
  return inflight / (lat[lat.length >> 1] / 1e3);
}

/**
 * Reads `file` from the page cache (1 MiB reads into one buffer) and runs
 * hardware CRC32C over it (walnut-core's `crc` module through `benchCrc32c`, the
 * same code walnut's frames use). Reads the range [from, to). Returns ms.
 */
function scanCrc(file, from = 0, to = fs.statSync(file).size) {
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  let crc = 0;
  const t0 = performance.now();
  try {
    for (let off = from; off < to; ) {
      const n = fs.readSync(fd, buf, 0, Math.min(buf.length, to - off), off);
      if (n === 0) break;
      crc ^= native.benchCrc32c(n === buf.length ? buf : buf.subarray(0, n));
      off += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  const ms = performance.now() - t0;
  if (crc === 0.5) throw new Error('unreachable');
  return ms;
}

/**
 * Latency of waking an awaiting async function by resolving its promise:
 * the least an in-process tail wake-up can cost. Records ns into `hist`.
 */
async function promiseWakeup(n, hist) {
  for (let i = 0; i < n; i++) {
    let resolve;
    let t0 = 0;
    const p = new Promise((r) => (resolve = r));
    const waiter = (async () => {
      await p;
      record(hist, (performance.now() - t0) * 1e6);
    })();
    await new Promise((r) => setImmediate(r));
    t0 = performance.now();
    resolve();
    await waiter;
  }
}

module.exports = {
  noopPlusCopy,
  noopPlusCopyFrom,
  noopCall,
  memcpyBandwidth,
  overwriteSync,
  appendSync,
  groupCommitBound,
  scanCrc,
  promiseWakeup,
};
