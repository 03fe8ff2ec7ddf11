'use strict';
/** Pieces every workload uses: subjects, fresh stores, records. */
const fs = require('node:fs');
const path = require('node:path');
const walnut = require('../subjects/walnut');
const sqlite = require('../subjects/sqlite');
const lmdb = require('../subjects/lmdb');
const level = require('../subjects/level');

/** The peers a Node user would pick instead of walnut. */
const PEERS = [sqlite, lmdb, level];

/** A record of `size` bytes (not all zero, so nothing can shortcut it). */
function recordOf(size) {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (i * 131 + 7) & 0xff;
  return b;
}

/**
 * Opens `subject` in a fresh directory with `mode`, runs `fn(store, dir)`,
 * then closes the store and removes the directory (neither is timed).
 * Returns what `fn` returned, with the store's label.
 */
async function withStore(ctx, subject, mode, fn, extra) {
  const dir = ctx.tmp(subject.name);
  const store = await subject.open(dir, mode, extra);
  try {
    const r = await fn(store, dir);
    return { ...r, label: store.label };
  } finally {
    await store.close();
    ctx.rm(dir);
  }
}

const FRAME_HEADER = 32; // docs/format.md: frame header bytes
const FRAMES_START = 576; // docs/format.md: first frame offset in a segment

/** Segment files of the walnut log in `dir`, oldest first. */
function segmentFiles(dir) {
  return fs
    .readdirSync(dir)
    .filter((n) => /^\d{20}\.seg$/.test(n))
    .sort()
    .map((n) => path.join(dir, n));
}

/** End of the frames in segment `file` when every record has `size` bytes. */
function framesEnd(file, lastIndex, size) {
  const first = Number(path.basename(file).slice(0, 20));
  const frame = (FRAME_HEADER + size + 7) & ~7;
  return FRAMES_START + (lastIndex - first + 1) * frame;
}

/** Seconds elapsed since `t0` (a performance.now() value). */
function secondsSince(t0) {
  return (performance.now() - t0) / 1e3;
}

module.exports = { walnut, sqlite, lmdb, level, PEERS, recordOf, withStore, secondsSince, segmentFiles, framesEnd };
