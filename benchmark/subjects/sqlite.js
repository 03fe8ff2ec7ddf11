'use strict';
/**
 * better-sqlite3 in WAL mode, one table `log(id INTEGER PRIMARY KEY, v BLOB)`.
 * Durable rows use `synchronous=FULL` (every commit fsyncs the WAL); the
 * non-durable mode uses `synchronous=NORMAL`, where commits are not synced
 * (only checkpoints are), the closest match to walnut's plain `append()`.
 */
const Database = require('better-sqlite3');
const path = require('node:path');
const fs = require('node:fs');

const CHUNK = 256; // operations between two looks at the clock

function open(dir, mode) {
  fs.mkdirSync(dir, { recursive: true });
  const db = new Database(path.join(dir, 'log.db'));
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${mode === 'durable' ? 'FULL' : 'NORMAL'}`);
  db.exec('CREATE TABLE IF NOT EXISTS log (id INTEGER PRIMARY KEY, v BLOB NOT NULL)');
  const ins = db.prepare('INSERT INTO log (id, v) VALUES (?, ?)');
  const get = db.prepare('SELECT v FROM log WHERE id = ?').pluck();
  let next = (db.prepare('SELECT max(id) FROM log').pluck().get() ?? 0) + 1;
  const insertMany = db.transaction((bufs) => {
    for (const b of bufs) ins.run(next++, b);
  });
  return {
    label: `better-sqlite3 WAL, synchronous=${mode === 'durable' ? 'FULL' : 'NORMAL'}`,
    durable: mode === 'durable',
    nonDurablePuts(buf, n, deadline) {
      let done = 0;
      while (done < n && performance.now() < deadline) {
        const m = Math.min(n - done, CHUNK);
        for (let i = 0; i < m; i++) ins.run(next++, buf);
        done += m;
      }
      return done;
    },
    nonDurableBatches(bufs, n, deadline) {
      let done = 0;
      for (; done < n && performance.now() < deadline; done++) insertMany(bufs);
      return done;
    },
    /** Autocommit insert: with FULL, returns once the WAL is fsynced. */
    durableWrite(buf) {
      ins.run(next++, buf);
    },
    /** `inflight` rows per transaction: how a SQLite user groups concurrent writes. */
    transaction(bufs) {
      insertMany(bufs);
    },
    async fill(buf, n) {
      const per = Math.max(1, Math.min(4096, Math.floor((8 << 20) / Math.max(1, buf.length))));
      const chunk = new Array(per).fill(buf);
      for (let done = 0; done < n; done += per) insertMany(done + per <= n ? chunk : chunk.slice(0, n - done));
    },
    scan() {
      let bytes = 0;
      for (const v of db.prepare('SELECT v FROM log ORDER BY id').pluck().iterate()) bytes += v.length;
      return bytes;
    },
    readAt(k) {
      return get.get(k + 1);
    },
    async close() {
      db.close();
    },
  };
}

module.exports = { name: 'better-sqlite3', path: __filename, open };
