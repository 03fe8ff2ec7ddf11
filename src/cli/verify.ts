/**
 * `walnut verify <dir>`: checks every record of a log without changing
 * anything, and says whether it is clean, has a torn tail (the normal trace
 * of a crash) or is damaged.
 * @internal
 * @module
 */
import { WalCorruptError } from '../errors';
import { type Command, oneDir } from './command';
import { bytes, count } from './format';
import { ExitCode, println } from './io';
import { lockState, type LockState } from './lock';
import { checkLogDir, describeDamage, type Keys, readKeyFile, toCliError } from './open';
import { Progress } from './progress';
import { RawLog } from './raw';
import { damageOf, type DamageReport, scan } from './scan';

/** What `walnut verify --json` prints. */
export interface VerifyReport {
  /** The log directory (absolute). */
  dir: string;
  /** `clean`, `tornTail` or `damaged`. */
  status: 'clean' | 'tornTail' | 'damaged';
  /** The process exit code that goes with the status. */
  exitCode: number;
  /** Who holds the directory lock (a writer), if anyone. */
  writer: LockState;
  /** Segment files. */
  segments: number;
  /** First readable index. */
  firstIndex: number;
  /** Last readable index (`firstIndex - 1` if none). */
  lastIndex: number;
  /** The records read and checked. */
  checked: { records: number; bytes: number; ms: number };
  /** The last writer closed the log cleanly. */
  cleanClose: boolean;
  /** Whether the log opens with the default recovery (`tolerateTail`). */
  opensWithDefaultRecovery: boolean;
  /** The torn tail the next writable open will cut, if any. */
  tornTail: { segment: string; offset: number; fromIndex: number; bytes: number; reason: string } | null;
  /** Every place that failed validation. */
  damage: DamageReport[];
}

function sameSpot(a: DamageReport, b: { segment: string; offset: number }): boolean {
  return a.file === b.segment && a.offset === b.offset;
}

async function check(dir: string, keys: Keys | undefined, progress: (total: number) => Progress): Promise<VerifyReport> {
  const logDir = checkLogDir(dir);
  const report: VerifyReport = {
    dir: logDir.dir,
    status: 'clean',
    exitCode: ExitCode.OK,
    writer: lockState(logDir.dir),
    segments: 0,
    firstIndex: 0,
    lastIndex: 0,
    checked: { records: 0, bytes: 0, ms: 0 },
    cleanClose: false,
    opensWithDefaultRecovery: true,
    tornTail: null,
    damage: [],
  };
  // Strictest first: `absolute` accounts for every byte of every segment.
  // If it finds damage, the default mode tells a torn tail (which it would
  // cut) from damage to acknowledged data (which it refuses); salvage then
  // reads what is left before the damage. All three open read-only.
  let wal: RawLog | undefined;
  try {
    wal = await RawLog.open(logDir.dir, 'absolute', keys);
  } catch (err) {
    if (!(err instanceof WalCorruptError)) throw err;
    const strict = damageOf(err);
    try {
      wal = await RawLog.open(logDir.dir, 'tolerateTail', keys);
      const torn = wal.recovery.truncated;
      if (torn) report.tornTail = torn;
      if (!torn || !sameSpot(strict, torn)) report.damage.push(strict);
    } catch (err2) {
      if (!(err2 instanceof WalCorruptError)) throw err2;
      report.opensWithDefaultRecovery = false;
      // The default mode's reason says why this is not a torn tail.
      report.damage.push(damageOf(err2));
      wal = await RawLog.open(logDir.dir, 'salvage', keys);
    }
  }
  try {
    report.segments = wal.segments().length;
    report.cleanClose = wal.recovery.clean;
    report.firstIndex = wal.firstIndex;
    report.lastIndex = wal.lastIndex;
    const total = Math.max(0, wal.lastIndex - wal.firstIndex + 1);
    const log = wal;
    const result = scan((lo, hi) => log.check(lo, hi), wal.firstIndex, wal.lastIndex, progress(total));
    report.checked = { records: result.records, bytes: result.bytes, ms: Math.round(result.ms) };
    for (const d of result.damaged) {
      // The strict open may have reported this record already, by position.
      const k = report.damage.findIndex((x) => x.file === d.file && x.offset === d.offset);
      if (k >= 0) report.damage[k] = d;
      else report.damage.push(d);
    }
  } finally {
    await wal.close();
  }
  if (report.damage.length > 0) {
    report.status = 'damaged';
    report.exitCode = ExitCode.DAMAGED;
  } else if (report.tornTail) {
    report.status = 'tornTail';
    report.exitCode = ExitCode.TORN_TAIL;
  }
  return report;
}

function text(r: VerifyReport): string[] {
  const out: string[] = [`walnut verify ${r.dir}`];
  const row = (k: string, v: string): number => out.push(`  ${k.padEnd(11)}${v}`);
  if (r.writer.state === 'held') {
    row('writer', `pid ${r.writer.pid} has the log open; this checked a snapshot (see below)`);
  }
  row('segments', count(r.segments));
  row(
    'records',
    r.lastIndex >= r.firstIndex ? `${count(r.firstIndex)} .. ${count(r.lastIndex)}` : 'none (the log is empty)',
  );
  const rate = r.checked.ms > 0 ? `, ${bytes((r.checked.bytes * 1000) / r.checked.ms)}/s` : '';
  row('checked', `${count(r.checked.records)} records, ${bytes(r.checked.bytes)} in ${r.checked.ms} ms${rate}`);
  row('closed', r.cleanClose ? 'cleanly' : 'not cleanly (a crash, or a writer still running)');
  if (r.tornTail) {
    const t = r.tornTail;
    row(
      'torn tail',
      `${t.segment} at byte ${t.offset}: ${count(t.bytes)} bytes from index ${t.fromIndex} on (${t.reason})`,
    );
  }
  for (const d of r.damage) row('damage', describeDamage(d));
  switch (r.status) {
    case 'clean':
      row('result', 'CLEAN: every record is intact');
      break;
    case 'tornTail':
      row('result', 'TORN TAIL: the normal trace of a crash; every durable record is intact.');
      row('', 'The next writable open cuts the tail (records written after the last sync are gone).');
      break;
    case 'damaged':
      row('result', `DAMAGED: ${count(r.damage.length)} place(s) failed validation`);
      row(
        '',
        r.opensWithDefaultRecovery
          ? 'The log still opens with the default recovery; reading a damaged record throws ERR_WAL_CORRUPT.'
          : 'The log does not open: acknowledged records are damaged.',
      );
      if (!r.opensWithDefaultRecovery) {
        row('', `Records up to the damage: \`walnut dump --salvage ${r.dir}\`.`);
      }
      break;
  }
  if (r.writer.state === 'held' && r.status !== 'clean') {
    row('note', 'The end of a log that is being written can look torn. Stop the writer for a definitive answer.');
  }
  return out;
}

/** `walnut verify`. */
export const verifyCommand: Command = {
  name: 'verify',
  summary: 'check every record of a log without changing anything',
  help: `Usage: walnut verify [options] <dir>

Reads every record of the log in <dir> and checks its CRC32C, the segment
headers and seals, and the bytes after the end of the log. The log is opened
read-only: no lock is taken and nothing on disk changes, so it is safe to run
next to a writer (it then checks a snapshot as of its start).

Options:
  --json             print the report as JSON on stdout
  --key-file <file>  keys of an encrypted log, one per line: <id>:<64 hex digits>
  --no-progress      no progress bar (it is drawn on stderr only when that is a terminal)
  -h, --help         this help

Exit codes:
  0  clean: every record is intact
  1  damaged: stored data failed validation (the report says where)
  3  torn tail only: the normal trace of a crash; the next writable open cuts it
  4  <dir> is missing, not a directory, or not a walnut log
  5  any other failure (I/O, permissions)`,
  options: {
    json: { type: 'boolean' },
    'key-file': { type: 'string' },
    'no-progress': { type: 'boolean' },
  },
  async run(positionals, values, io, ctx) {
    const dir = oneDir(positionals);
    let report: VerifyReport;
    try {
      const keyFile = values['key-file'];
      report = await check(
        dir,
        typeof keyFile === 'string' ? readKeyFile(keyFile) : undefined,
        (total) =>
          new Progress(io.stderr, 'verify', total, {
            enabled: values['no-progress'] ? false : ctx.progress,
            delayMs: ctx.progressDelayMs,
          }),
      );
    } catch (err) {
      throw toCliError(err, dir);
    }
    if (values.json) println(io.stdout, JSON.stringify(report, null, 2));
    else for (const line of text(report)) println(io.stdout, line);
    return report.exitCode;
  },
};
