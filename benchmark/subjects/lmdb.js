'use strict';
/**
 * lmdb (lmdb-js): binary values under uint32 keys. lmdb-js batches every
 * `put()` of one event-loop turn into one transaction (its shared-buffer
 * design); `noSync: true` skips the fsync at commit (not durable), the default
 * fsyncs every commit (durable when the `put()` promise resolves).
 *
 * The default on Linux is `overlappingSync`, whose README says write promises
 * resolve when the transaction is committed, with `db.flushed` for durability.
 * In lmdb 3.5.6 the flush still comes first: `mdb_txn_commit` releases the
 * write lock, then runs `mdb_env_sync0` and writes the flushed meta page
 * through its O_DSYNC descriptor before it returns (mdb.c), and the writer
 * thread marks the transaction committed, which resolves the promises, only
 * after that (writer.cpp). So `put()` is durable when it resolves.
 */
const { open: openLmdb } = require('lmdb');

const CHUNK = 1024; // puts issued in one event-loop turn before waiting for them

function open(dir, mode) {
  const db = openLmdb({
    path: dir,
    noSync: mode !== 'durable',
    compression: false,
    encoding: 'binary',
    keyEncoding: 'uint32',
    mapSize: 8 * 2 ** 30,
  });
  let next = 1;
  return {
    label: `lmdb put()${mode === 'durable' ? '' : ', noSync'}`,
    durable: mode === 'durable',
    /** Puts of one turn go into one transaction; a turn is CHUNK puts here. */
    async nonDurablePuts(buf, n, deadline) {
      let done = 0;
      while (done < n && performance.now() < deadline) {
        const m = Math.min(n - done, CHUNK);
        let p;
        for (let i = 0; i < m; i++) p = db.put(next++, buf);
        await p;
        done += m;
      }
      return done;
    },
    nonDurableBatches(bufs, n, deadline) {
      let done = 0;
      for (; done < n && performance.now() < deadline; done++) {
        db.transactionSync(() => {
          for (const b of bufs) db.putSync(next++, b);
        });
      }
      return done;
    },
    durableWrite(buf) {
      return db.put(next++, buf);
    },
    async fill(buf, n) {
      const per = Math.max(1, Math.min(4096, Math.floor((8 << 20) / Math.max(1, buf.length))));
      for (let done = 0; done < n; done += per) {
        const m = Math.min(per, n - done);
        await db.transaction(() => {
          for (let i = 0; i < m; i++) db.put(next++, buf);
        });
      }
      await db.flushed;
    },
    scan() {
      let bytes = 0;
      for (const { value } of db.getRange({ start: 1 })) bytes += value.length;
      return bytes;
    },
    /** `getBinary` returns a copy the caller owns, like walnut's `read()`. */
    readAt(k) {
      return db.getBinary(k + 1);
    },
    async close() {
      await db.close();
    },
  };
}

module.exports = { name: 'lmdb', path: __filename, open };
