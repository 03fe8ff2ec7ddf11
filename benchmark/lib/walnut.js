'use strict';
/**
 * Loads walnut the way a user gets it (the compiled TypeScript package in
 * `dist/`, which loads the native addon through the napi-rs loader) plus the
 * benchmarking baselines the addon exports (`benchNoopRaw`, `benchNoop`,
 * `benchCrc32c`).
 *
 * `NAPI_RS_NATIVE_LIBRARY_PATH=/path/to/walnut.node` selects another build of
 * the addon (the loader honours it), e.g. a private release build.
 */
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
let walnut;
let native;
try {
  walnut = require(path.join(root, 'dist', 'index.js'));
  native = require(path.join(root, 'index.js'));
} catch (err) {
  throw new Error(`cannot load walnut (run \`npm run build\` first): ${err.message}`);
}
if (['benchNoop', 'benchNoopRaw', 'benchCrc32c'].some((f) => typeof native[f] !== 'function')) {
  throw new Error('the native addon lacks the benchmark baselines (rebuild it: `npm run build`)');
}

/** `"release"` or `"debug"`: figures of a debug build are flagged in every report. */
const profile = native.benchBuildProfile();

module.exports = { Wal: walnut.Wal, native, profile };
