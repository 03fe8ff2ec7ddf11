'use strict';
/** Runs JavaScript in a child Node process with walnut and the harness libs at hand. */
const { spawn } = require('node:child_process');
const path = require('node:path');

const LIB = __dirname;

/**
 * Runs `source` (a function body; `require`, `LIB` and `args` are in scope) in
 * a child process. Resolves with its stdout. A child that ends by SIGKILL is
 * fine when `killed` is true (crash simulations); any other failure rejects.
 * `nodeArgs` go to node before the script (e.g. `--expose-gc`).
 */
function runChild(source, args = {}, { killed = false, nodeArgs = [] } = {}) {
  const prelude = `const LIB = ${JSON.stringify(LIB)}; const args = ${JSON.stringify(args)};\n`;
  const child = spawn(process.execPath, [...nodeArgs, '-e', `(async () => {\n${prelude}${source}\n})().catch((e) => { console.error(e); process.exit(1); });`], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: path.resolve(LIB, '..', '..'),
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0 || (killed && signal === 'SIGKILL')) resolve(out);
      else reject(new Error(`benchmark child failed (code ${code}, signal ${signal}): ${err.trim()}`));
    });
  });
}

module.exports = { runChild };
