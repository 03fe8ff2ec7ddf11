'use strict';
/**
 * walnut as the benchmark drives it. Modes name what a returned call
 * guarantees:
 * - `none`: `append()` / `appendBatch()`, durable only after a later sync;
 * - `always`: `sync: 'always'`, each `append()` returns once durable (msync on
 *   the calling thread);
 * - `write`: `await write()`, durable when the promise resolves (group commit
 *   on walnut's sync thread).
 */
const { Wal } = require('../lib/walnut');

const CHUNK = 256; // operations between two looks at the clock

const LABELS = {
  none: 'walnut append()',
  batch: 'walnut appendBatch()',
  always: "walnut append(), sync: 'always'",
  write: 'walnut await write()',
};

/** Opens walnut in `dir`; `mode` is one of the keys of LABELS. */
function open(dir, mode, extra = {}) {
  const wal = Wal.openSync(dir, { sync: mode === 'always' ? 'always' : 'none', ...extra });
  return {
    label: extra.prefault === false ? `${LABELS[mode]}, prefault: false` : LABELS[mode],
    durable: mode === 'always' || mode === 'write',
    wal,
    /** W1: up to `n` single appends of `buf`, stopping after `deadline`; returns how many. */
    nonDurablePuts(buf, n, deadline) {
      let done = 0;
      while (done < n && performance.now() < deadline) {
        const m = Math.min(n - done, CHUNK);
        for (let i = 0; i < m; i++) wal.append(buf);
        done += m;
      }
      return done;
    },
    /** W2: up to `n` atomic batches of `bufs`, one call each, until `deadline`; returns how many. */
    nonDurableBatches(bufs, n, deadline) {
      let done = 0;
      for (; done < n && performance.now() < deadline; done++) wal.appendBatch(bufs);
      return done;
    },
    /** W3/W5: one durable write. */
    durableWrite: mode === 'always' ? (buf) => wal.append(buf) : (buf) => wal.write(buf),
    /** Setup: `n` records of `buf`, made durable. */
    async fill(buf, n) {
      const per = Math.max(1, Math.min(4096, Math.floor((8 << 20) / Math.max(1, buf.length))));
      const chunk = new Array(per).fill(buf);
      for (let done = 0; done < n; done += per) {
        wal.appendBatch(done + per <= n ? chunk : chunk.slice(0, n - done));
      }
      await wal.sync();
    },
    /** W8: reads every record in order; returns the bytes read. */
    scan() {
      let bytes = 0;
      for (const e of wal.entries()) bytes += e.data.length;
      return bytes;
    },
    /** W8: the record at position `k` (0-based). */
    readAt(k) {
      return wal.read(k + 1);
    },
    async close() {
      await wal.close();
    },
  };
}

module.exports = { name: 'walnut', path: __filename, open };
