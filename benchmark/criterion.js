#!/usr/bin/env node
'use strict';
/**
 * Turns the estimates criterion left in target/criterion (after
 * `cargo bench -p walnut-bench --features peers`) into a Markdown table and
 * writes it into benchmark/RESULTS.md between the `rust:begin` / `rust:end`
 * markers. Usage: node benchmark/criterion.js [target/criterion]
 */
const fs = require('node:fs');
const path = require('node:path');
const os = require('node:os');
const { num } = require('./lib/format');

const root = path.resolve(__dirname, '..');
const dir = path.resolve(process.argv[2] ?? path.join(root, 'target', 'criterion'));
const BEGIN = '<!-- rust:begin -->';
const END = '<!-- rust:end -->';

function* benchmarks(d) {
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const p = path.join(d, e.name);
    const b = path.join(p, 'new', 'benchmark.json');
    if (fs.existsSync(b)) yield { meta: JSON.parse(fs.readFileSync(b, 'utf8')), est: JSON.parse(fs.readFileSync(path.join(p, 'new', 'estimates.json'), 'utf8')) };
    else yield* benchmarks(p);
  }
}

function time(ns) {
  if (ns >= 1e6) return `${num(ns / 1e6)} ms`;
  if (ns >= 1e3) return `${num(ns / 1e3)} µs`;
  return `${num(ns)} ns`;
}

function rate(meta, ns) {
  const t = meta.throughput;
  if (!t) return '-';
  if (t.Elements) return `${num((t.Elements * 1e9) / ns)} records/s`;
  if (t.Bytes) return `${num((t.Bytes * 1e9) / ns / 1e6)} MB/s`;
  return '-';
}

const rows = [...benchmarks(dir)].sort((a, b) => a.meta.full_id.localeCompare(b.meta.full_id, 'en', { numeric: true }));
if (rows.length === 0) throw new Error(`no criterion results under ${dir}`);
const cpus = os.cpus();
const out = [
  BEGIN,
  '',
  `Criterion means with their 95% interval, ${new Date().toISOString().slice(0, 10)}, ${cpus.length} x ${cpus[0]?.model}, ${os.type()} ${os.release()}.`,
  '',
  '| group | subject | parameter | time per iteration | rate |',
  '|---|---|---|---|---|',
];
for (const { meta, est } of rows) {
  const m = est.mean;
  const ci = `${time(m.confidence_interval.lower_bound)} .. ${time(m.confidence_interval.upper_bound)}`;
  out.push(`| ${meta.group_id} | ${meta.function_id} | ${meta.value_str ?? '-'} | ${time(m.point_estimate)} (${ci}) | ${rate(meta, m.point_estimate)} |`);
}
out.push('', END);
const file = path.join(__dirname, 'RESULTS.md');
const text = fs.readFileSync(file, 'utf8');
const a = text.indexOf(BEGIN);
const b = text.indexOf(END);
if (a < 0 || b < a) throw new Error(`${file} has no ${BEGIN} / ${END} markers`);
fs.writeFileSync(file, text.slice(0, a) + out.join('\n') + text.slice(b + END.length));
console.log(out.join('\n'));
