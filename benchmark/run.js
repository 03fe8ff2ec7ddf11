#!/usr/bin/env node
'use strict';
/**
 * walnut's benchmark harness: walnut, its peers (better-sqlite3, lmdb,
 * classic-level) and the physical baselines, measured side by side in the
 * same run, in interleaved rounds.
 *
 *   npm run bench          full plan (release figures; writes benchmark/RESULTS.md and results.svg)
 *   npm run bench:quick    quick plan (CI; writes benchmark/.work/quick/)
 *
 * Options: --quick, --only W1,W3 (workloads), --rounds N, --dir DIR (where
 * the data goes; default the OS temp dir), --out DIR (where RESULTS.md and
 * results.svg go), --verbose (every cell's figure and time on stderr).
 *
 * It reports and never asserts: slow figures do not fail it. It exits
 * non-zero only when a measurement throws (a crash, an error, lost data).
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const v8 = require('node:v8');
const vm = require('node:vm');
const { profile } = require('./lib/walnut');
const plans = require('./lib/plan');
const { describe } = require('./lib/machine');
const { summarizeCell, rows, targets } = require('./lib/summary');
const { textTable, targetsText, markdown, writeMarkdown } = require('./lib/report');
const { chart } = require('./lib/svg');

const WORKLOADS = [
  require('./workloads/w1-append'),
  require('./workloads/w2-batch'),
  require('./workloads/w3-durable'),
  require('./workloads/w4-group'),
  require('./workloads/w5-openloop'),
  require('./workloads/w6-recovery'),
  require('./workloads/w7-memory'),
  require('./workloads/w8-read'),
];

function parseArgs(argv) {
  const a = { quick: false, only: undefined, rounds: undefined, dir: os.tmpdir(), out: undefined, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${k} needs a value`);
      return argv[++i];
    };
    if (k === '--quick') a.quick = true;
    else if (k === '--only') a.only = new Set(val().toUpperCase().split(','));
    else if (k === '--rounds') a.rounds = Number(val());
    else if (k === '--dir') a.dir = path.resolve(val());
    else if (k === '--out') a.out = path.resolve(val());
    else if (k === '--verbose') a.verbose = true;
    else if (k === '--help' || k === '-h') {
      const src = fs.readFileSync(__filename, 'utf8');
      console.log(src.slice(src.indexOf('/**') + 4, src.indexOf('*/')).replace(/^ \* ?/gm, ''));
      process.exit(0);
    } else throw new Error(`unknown option ${k}`);
  }
  if (a.rounds !== undefined && !(Number.isInteger(a.rounds) && a.rounds >= 1)) throw new Error('--rounds must be a positive integer');
  return a;
}

// A GC between cells keeps one subject's garbage from being collected on another's time.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

function log(msg) {
  process.stderr.write(`${msg}\n`);
}

async function main() {
  const started = performance.now();
  const args = parseArgs(process.argv.slice(2));
  const plan = { ...(args.quick ? plans.quick : plans.full) };
  if (args.rounds) plan.rounds = args.rounds;
  const root = path.resolve(__dirname, '..');
  const outDir = args.out ?? (args.quick ? path.join(__dirname, '.work', 'quick') : __dirname);
  fs.mkdirSync(args.dir, { recursive: true });
  const base = fs.mkdtempSync(path.join(args.dir, 'walnut-bench-'));
  let seq = 0;
  const ctx = {
    plan,
    /** A fresh path (not yet created) for one store or file set. */
    tmp: (label) => path.join(base, `${label.replace(/[^a-z0-9-]/gi, '_')}-${++seq}`),
    /** A fresh, created directory. */
    tmpDir: (label) => {
      const dir = ctx.tmp(label);
      fs.mkdirSync(dir);
      return dir;
    },
    rm: (dir) => fs.rmSync(dir, { recursive: true, force: true }),
  };
  const machine = describe(base, root);
  const override = process.env.NAPI_RS_NATIVE_LIBRARY_PATH;
  const command = `${override ? `NAPI_RS_NATIVE_LIBRARY_PATH=${override} ` : ''}node benchmark/run.js ${process.argv
    .slice(2)
    .join(' ')}`.trim();
  log(`walnut benchmark: ${plan.name} plan, ${plan.rounds} rounds, ${profile} addon, data in ${base}`);
  if (profile !== 'release') log('WARNING: the native addon is a debug build; figures are not representative');

  const workloads = WORKLOADS.filter((w) => !args.only || args.only.has(w.id));
  const cells = workloads.flatMap((w) => w.cells(plan));
  const groups = [];
  for (const c of cells) {
    const g = groups.find((x) => x.id === c.id && x.row === c.row);
    if (g) g.cells.push(c);
    else groups.push({ id: c.id, row: c.row, cells: [c] });
  }
  const results = new Map(cells.map((c) => [c, []]));
  const failures = [];
  try {
    for (const c of cells) {
      if (!c.setup) continue;
      const t0 = performance.now();
      await c.setup(ctx);
      if (args.verbose) log(`setup  ${c.id} ${c.row} ${c.name} (${(performance.now() - t0).toFixed(0)} ms)`);
    }
    for (let round = 0; round < plan.rounds; round++) {
      log(`round ${round + 1}/${plan.rounds}`);
      for (const g of groups) {
        // Rotate the order every round so no subject always runs first.
        const order = g.cells.map((_, i) => g.cells[(i + round) % g.cells.length]);
        for (const c of order) {
          gc();
          try {
            const t0 = performance.now();
            const r = await c.run(ctx);
            if (!Number.isFinite(r.value)) throw new Error(`no figure (${r.value})`);
            results.get(c).push(r);
            if (args.verbose) log(`  ${c.id} ${c.row} ${c.name}: ${r.value.toPrecision(4)} ${c.unit} (${(performance.now() - t0).toFixed(0)} ms)`);
          } catch (err) {
            failures.push(`${c.id} ${c.row} ${c.name}: ${err.stack ?? err}`);
            log(`FAILED ${c.id} ${c.row} ${c.name}: ${err.message ?? err}`);
          }
        }
      }
    }
  } finally {
    for (const c of cells) if (c.teardown) await c.teardown(ctx).catch((e) => failures.push(`teardown: ${e}`));
    fs.rmSync(base, { recursive: true, force: true });
  }

  const cellList = cells.filter((c) => results.get(c).length).map((c) => summarizeCell(c, results.get(c)));
  const rowList = rows(cellList);
  const ts = targets(rowList);
  const elapsed = (performance.now() - started) / 1e3;
  console.log(`\nwalnut benchmark (${plan.name}, ${plan.rounds} rounds, ${profile} build) on ${machine.cpu}, ${machine.os}`);
  console.log(`command: ${command}\n`);
  console.log(textTable(rowList));
  console.log(`\ntargets:\n${targetsText(ts)}`);
  fs.mkdirSync(outDir, { recursive: true });
  const svg = chart(rowList, `${machine.cpu}, ${machine.os}, Node ${machine.node}, ${plan.name} plan, ${machine.date.slice(0, 10)}`);
  if (svg) fs.writeFileSync(path.join(outDir, 'results.svg'), svg);
  const generated = markdown({ machine, command, plan, profile, rowList, cellList, ts, svgName: svg && 'results.svg', elapsed });
  writeMarkdown(path.join(outDir, 'RESULTS.md'), generated);
  console.log(`\nwrote ${path.relative(process.cwd(), path.join(outDir, 'RESULTS.md'))}${svg ? ' and results.svg' : ''} (${elapsed.toFixed(0)} s)`);
  if (failures.length) {
    console.error(`\n${failures.length} measurement(s) failed:\n${failures.join('\n\n')}`);
    process.exitCode = 1;
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
