#!/usr/bin/env node
// Runs every example, so none of them rots: each must exit 0 within its
// time limit. CI runs this (`npm run examples`) after the build.
//
//   node examples/run-all.js [name ...]   # all, or only the named ones
'use strict';

const { spawn } = require('node:child_process');
const { existsSync } = require('node:fs');
const { join } = require('node:path');

// In the order a reader meets them; the ones other parts of the project add
// (Raft storage wiring, the crash-and-recover demo) run when present.
const EXAMPLES = [
  { file: 'basic.js', timeoutMs: 30_000 },
  { file: 'durable-writes.js', timeoutMs: 60_000 },
  { file: 'tail-follower.js', timeoutMs: 60_000 },
  { file: 'raft-storage.js', timeoutMs: 60_000, optional: true },
  { file: 'demo.js', timeoutMs: 120_000, optional: true },
];

function runOne({ file, timeoutMs }) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [join(__dirname, file)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ ok: code === 0, code, signal, output, ms: Date.now() - started });
    });
  });
}

async function main() {
  const only = process.argv.slice(2);
  let failed = 0;
  for (const example of EXAMPLES) {
    if (only.length > 0 && !only.some((n) => example.file.startsWith(n))) continue;
    if (!existsSync(join(__dirname, example.file))) {
      if (example.optional) continue;
      console.log(`FAIL ${example.file}: missing`);
      failed++;
      continue;
    }
    const r = await runOne(example);
    const why = r.signal === 'SIGKILL' ? `timed out after ${example.timeoutMs} ms` : `exit code ${r.code}`;
    console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${example.file} (${r.ms} ms)${r.ok ? '' : `: ${why}`}`);
    const text = r.output.trimEnd();
    if (text) console.log(text.replace(/^/gm, '     | '));
    if (!r.ok) failed++;
  }
  if (failed > 0) {
    console.log(`${failed} example(s) failed`);
    process.exitCode = 1;
  }
}

main();
