'use strict';
/**
 * W7: anonymous memory per entry. A child process (run with --expose-gc)
 * measures RssAnon (/proc/self/status: heap and other private memory, not the
 * page cache or mapped files) before opening a store of N entries and after
 * opening it and reading its last entry, with a GC before each reading. The
 * same is measured for an empty store (threads, buffers, caches: what a store
 * costs whatever it holds) and subtracted: the figure is the cost of one more
 * entry. The whole delta per entry is shown alongside, and for walnut
 * `stats().indexBytes`.
 */
const { walnut, PEERS, recordOf } = require('./common');
const { runChild } = require('../lib/child');

const MEASURE = `
  const fs = require('node:fs');
  const subject = require(args.subject);
  const anon = () => {
    global.gc();
    const m = /RssAnon:\\s+(\\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return Number(m[1]) * 1024;
  };
  // Load the native code and warm the allocator with a throwaway store first.
  const warm = await subject.open(args.warmDir, args.mode);
  await warm.close();
  const before = anon();
  const store = await subject.open(args.dir, args.mode);
  if (args.entries > 0) {
    const last = await store.readAt(args.entries - 1);
    if (!last || last.length !== args.size) throw new Error('last entry missing');
  }
  const after = anon();
  const indexBytes = store.wal ? store.wal.stats().indexBytes : undefined;
  console.log(JSON.stringify({ delta: after - before, indexBytes }));
  await store.close();
`;

function cells(plan) {
  const { entries, size } = plan.w7;
  const row = `${(entries / 1e6).toString()} M entries of ${size} B`;
  const base = { id: 'W7', row, unit: 'B/entry', better: 'lower', durability: '-' };
  const out = [];
  for (const subject of [walnut, ...PEERS]) {
    const isWalnut = subject === walnut;
    const mode = isWalnut ? 'none' : 'durable';
    let dir;
    let warmDir;
    let emptyDir;
    out.push({
      ...base,
      role: isWalnut ? 'walnut' : 'peer',
      name: isWalnut ? 'walnut (open log, RssAnon delta)' : subject.name,
      setup: async (ctx) => {
        dir = ctx.tmp(`w7-${subject.name}`);
        warmDir = ctx.tmp(`w7-${subject.name}-warm`);
        emptyDir = ctx.tmp(`w7-${subject.name}-empty`);
        const s = await subject.open(dir, mode);
        await s.fill(recordOf(size), entries);
        await s.close();
        await (await subject.open(emptyDir, mode)).close();
      },
      run: async () => {
        const measure = async (d, n) => {
          const args = { subject: subject.path, dir: d, warmDir, mode, entries: n, size };
          const out = await runChild(MEASURE, args, { nodeArgs: ['--expose-gc'] });
          return JSON.parse(out.trim().split('\n').pop());
        };
        const full = await measure(dir, entries);
        const empty = await measure(emptyDir, 0);
        const extra = { 'whole delta B/entry': full.delta / entries, 'empty store KiB': empty.delta / 1024 };
        if (full.indexBytes !== undefined) extra['index B/entry'] = full.indexBytes / entries;
        return { value: Math.max(0, full.delta - empty.delta) / entries, extra };
      },
    });
  }
  out.push({
    ...base,
    role: 'limit',
    name: 'design: one u32 offset per entry (not measured)',
    run: async () => ({ value: 4 }),
  });
  return out;
}

module.exports = { id: 'W7', title: 'anonymous RAM per entry', cells };
