'use strict';
/**
 * W6: opening a large log (warm page cache). Two walnut cells:
 * - clean: the log was closed cleanly; sealed segments are loaded from their
 *   index blocks and only the last segment is scanned;
 * - torn: the writer was SIGKILLed (never closed), then the last record was
 *   damaged as a torn write would leave it; each round restores that image
 *   and `Wal.open` (default `tolerateTail`) must find and cut the tear.
 * Peers: open time of the same volume of 1 KiB records, plus one read of the
 * last record. The limit is a page-cache read + hardware CRC32C of the bytes
 * walnut's recovery has to examine: the whole last segment, its frames and
 * the space after them (which the format requires checking for leftovers of
 * a torn write). The same over the frames alone is shown as a baseline.
 */
const fs = require('node:fs');
const { Wal } = require('../lib/walnut');
const { runChild } = require('../lib/child');
const baselines = require('../lib/baselines');
const { PEERS, recordOf, segmentFiles, framesEnd } = require('./common');
const { sizeName } = require('../lib/plan');

const TAIL_UNSYNCED = 100; // records appended after the last sync, before the kill

/** Builds a log of `records` records in `dir` in a child process killed before close. */
async function buildCrashed(dir, size, records) {
  await runChild(
    `
    const { Wal } = require(LIB + '/walnut');
    const wal = Wal.openSync(args.dir);
    const buf = Buffer.alloc(args.size, 0x5a);
    const per = Math.floor((8 << 20) / args.size);
    const chunk = new Array(per).fill(buf);
    for (let done = 0; done < args.records; done += per) {
      wal.appendBatch(args.records - done >= per ? chunk : chunk.slice(0, args.records - done));
    }
    await wal.sync();
    for (let i = 0; i < ${TAIL_UNSYNCED}; i++) wal.append(buf);
    process.kill(process.pid, 'SIGKILL');
    `,
    { dir, size, records },
    { killed: true },
  );
}


/**
 * Puts the crashed image back, durably: after a real crash and reboot the page
 * cache is clean, so recovery must not be charged for writing our restore back.
 */
function restore(file, image) {
  const fd = fs.openSync(file, 'r+');
  try {
    fs.writeSync(fd, image, 0, image.length, 0);
    fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function syncFiles(dir) {
  for (const name of fs.readdirSync(dir)) {
    const fd = fs.openSync(`${dir}/${name}`, 'r');
    try {
      fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
}

function cells(plan) {
  const { size } = plan.w6;
  const records = Math.floor(plan.w6.bytes / size);
  const row = (kind) => `${kind}, ${sizeName(plan.w6.bytes)} of ${sizeName(size)}`;
  const base = { id: 'W6', unit: 'ms', better: 'lower', durability: '-' };
  let cleanDir;
  let tornDir;
  let torn; // { file, image }
  let scanRange;

  const setupLogs = async (ctx) => {
    if (cleanDir) return;
    cleanDir = ctx.tmp('w6-clean');
    tornDir = ctx.tmp('w6-torn');
    await buildCrashed(tornDir, size, records);
    const last = records + TAIL_UNSYNCED;
    const file = segmentFiles(tornDir).pop();
    const end = framesEnd(file, last, size);
    const image = fs.readFileSync(file);
    // A torn write: the last record's final 64 bytes never reached the disk.
    image.fill(0xa5, end - 64, end);
    torn = { file, image };
    scanRange = { file, end };
    fs.cpSync(tornDir, cleanDir, { recursive: true });
    syncFiles(cleanDir); // let no write-back of the copy run during the rounds
    // One open + close turns the crashed copy into a cleanly closed log.
    Wal.openSync(cleanDir).closeSync();
  };

  const open = (dir) => {
    const t0 = performance.now();
    const wal = Wal.openSync(dir);
    const ms = performance.now() - t0;
    const r = wal.recovery;
    wal.closeSync();
    return { ms, r };
  };

  const out = [
    {
      ...base,
      row: row('clean'),
      role: 'walnut',
      name: 'walnut Wal.open (clean close)',
      setup: setupLogs,
      run: async () => {
        const { ms, r } = open(cleanDir);
        if (!r.clean) throw new Error('W6: the clean log did not open as cleanly closed');
        return { value: ms, extra: { 'recovery ms': r.durationMs, scanned: r.scannedSegments, segments: r.segments } };
      },
    },
    {
      ...base,
      row: row('torn tail'),
      role: 'walnut',
      name: 'walnut Wal.open (torn tail)',
      setup: setupLogs,
      run: async () => {
        restore(torn.file, torn.image);
        const { ms, r } = open(tornDir);
        if (!r.truncated) throw new Error('W6: the torn tail was not detected');
        return { value: ms, extra: { 'recovery ms': r.durationMs, 'cut bytes': r.truncated.bytes } };
      },
    },
  ];
  for (const kind of ['clean', 'torn tail']) {
    out.push({
      ...base,
      row: row(kind),
      role: 'limit',
      name: 'page-cache read + CRC32C of the last segment',
      setup: setupLogs,
      run: async () => ({ value: baselines.scanCrc(scanRange.file) }),
    });
    out.push({
      ...base,
      row: row(kind),
      role: 'baseline',
      name: "page-cache read + CRC32C of the last segment's frames only",
      setup: setupLogs,
      run: async () => ({ value: baselines.scanCrc(scanRange.file, 0, scanRange.end) }),
    });
  }
  const peerRecords = Math.floor(plan.w6.peerBytes / size);
  for (const peer of PEERS) {
    let dir;
    out.push({
      ...base,
      row: row('clean'),
      role: 'peer',
      name: peer.name,
      // Peers hold less data in the quick plan (filling them is slow); said in the report.
      note: peerRecords === records ? undefined : `holds ${sizeName(plan.w6.peerBytes)}`,
      setup: async (ctx) => {
        dir = ctx.tmp(`w6-${peer.name}`);
        const s = await peer.open(dir, 'durable');
        await s.fill(recordOf(size), peerRecords);
        await s.close();
      },
      run: async () => {
        const t0 = performance.now();
        const s = await peer.open(dir, 'durable');
        const last = await s.readAt(peerRecords - 1);
        const ms = performance.now() - t0;
        await s.close();
        if (!last || last.length !== size) throw new Error(`W6: ${peer.name} lost its last record`);
        return { value: ms };
      },
    });
  }
  return out;
}

module.exports = { id: 'W6', title: 'open and recover a large log', cells };
