'use strict';
/**
 * classic-level (LevelDB): 8-byte big-endian keys, binary values. Without
 * `{ sync: true }` a write is in LevelDB's log but not fsynced (not durable);
 * with it, every write fsyncs. Writes run on the libuv pool.
 */
const { ClassicLevel } = require('classic-level');

const WINDOW = 1024; // writes in flight in the non-durable loop

function key(i) {
  const k = Buffer.allocUnsafe(8);
  k.writeUInt32BE(Math.floor(i / 2 ** 32), 0);
  k.writeUInt32BE(i >>> 0, 4);
  return k;
}

async function open(dir, mode) {
  const db = new ClassicLevel(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  const sync = { sync: mode === 'durable' };
  let next = 1;
  return {
    label: `classic-level put()${mode === 'durable' ? ', sync: true' : ''}`,
    durable: mode === 'durable',
    async nonDurablePuts(buf, n, deadline) {
      let done = 0;
      while (done < n && performance.now() < deadline) {
        const m = Math.min(n - done, WINDOW);
        const ps = [];
        for (let i = 0; i < m; i++) ps.push(db.put(key(next++), buf));
        await Promise.all(ps);
        done += m;
      }
      return done;
    },
    async nonDurableBatches(bufs, n, deadline) {
      let done = 0;
      for (; done < n && performance.now() < deadline; done++) {
        const ops = bufs.map((b) => ({ type: 'put', key: key(next++), value: b }));
        await db.batch(ops);
      }
      return done;
    },
    durableWrite(buf) {
      return db.put(key(next++), buf, sync);
    },
    async fill(buf, n) {
      const per = Math.max(1, Math.min(4096, Math.floor((8 << 20) / Math.max(1, buf.length))));
      for (let done = 0; done < n; done += per) {
        const m = Math.min(per, n - done);
        const ops = [];
        for (let i = 0; i < m; i++) ops.push({ type: 'put', key: key(next++), value: buf });
        await db.batch(ops, { sync: true });
      }
    },
    async scan() {
      let bytes = 0;
      const it = db.values();
      for (;;) {
        const vs = await it.nextv(1000);
        if (vs.length === 0) break;
        for (const v of vs) bytes += v.length;
      }
      await it.close();
      return bytes;
    },
    readAt(k) {
      return db.get(key(k + 1));
    },
    async close() {
      await db.close();
    },
  };
}

module.exports = { name: 'classic-level', path: __filename, open };
