/**
 * `walnut inspect <dir>`: what is in a log directory: its segments with
 * their index ranges, sizes and states, what recovery finds, who writes it,
 * and the other files beside the log (Raft metadata, snapshots).
 * @internal
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { WalCorruptError } from '../errors';
import { native } from '../native';
import type { RecoveryReport, SegmentInfo } from '../wal';
import { type Command, oneDir } from './command';
import { bytes, count, table, time } from './format';
import { ExitCode, println } from './io';
import { lockState, type LockState } from './lock';
import { checkLogDir, describeDamage, openReadOnly, toCliError } from './open';
import { damageOf, type DamageReport } from './scan';

/** What a file beside the segments is. */
function roleOf(name: string): string {
  if (name === 'LOCK') return 'directory lock (held while a writer has the log open)';
  if (name === 'meta') return 'log metadata: first index after compaction';
  if (name === 'next-segment.tmp') return 'segment allocated ahead of rotation';
  if (name === 'truncate.tmp') return 'truncation in progress (removed at the next writable open)';
  if (name === 'raft-meta') return 'Raft metadata: hard state, membership, snapshot';
  if (/^raft-snap-\d{20}$/.test(name)) return 'Raft snapshot image';
  if (name === 'raft-intent') return 'Raft update to finish at the next writable open';
  if (name.endsWith('.tmp')) return 'temporary file (removed at the next writable open)';
  return 'not part of walnut';
}

/** A segment with the state a person wants to see. */
export interface SegmentRow extends SegmentInfo {
  /** `sealed`, `active` (takes appends) or `unsealed` (not last, not sealed: a rotation in progress). */
  state: 'sealed' | 'active' | 'unsealed';
}

/** What `walnut inspect --json` prints. */
export interface InspectReport {
  /** The log directory (absolute). */
  dir: string;
  /** Who holds the directory lock. */
  writer: LockState;
  /** First index held. */
  firstIndex: number;
  /** Last index held. */
  lastIndex: number;
  /** What recovery found, opening read-only (nothing was changed). */
  recovery: RecoveryReport;
  /** Damage that stops the default recovery; the rest of the report is then what salvage mode reads. */
  damage: DamageReport | null;
  /** The segment files, oldest first. */
  segments: SegmentRow[];
  /** Every other file in the directory. */
  files: { name: string; bytes: number; role: string }[];
  /** The committed Raft state, when the directory holds Raft storage. */
  raft: RaftView | null;
}

/** What the Raft metadata (`raft-meta`) says, read without opening the storage. */
export interface RaftView {
  /** Term, vote and commit. */
  hardState: { term: number; vote: number; commit: number };
  /** Membership. */
  confState: { voters: number[]; learners: number[]; votersOutgoing: number[]; learnersNext: number[]; autoLeave: boolean };
  /** Last index compacted away (0: none) and its term. */
  prevIndex: number;
  prevTerm: number;
  /** End of the committed log and its term; entries past it are cut at the next open. */
  lastIndex: number;
  lastTerm: number;
  /** The stored snapshot. */
  snapshot: { index: number; term: number; file: string; bytes: number } | null;
  /** Application integers kept with the hard state. */
  meta: Record<string, number>;
}

function readRaft(dir: string, files: string[]): RaftView | null {
  // Only Raft storage has this file; a plain log skips the native call.
  if (!files.includes('raft-meta')) return null;
  const r = native.peekRaft(dir);
  return r ? { ...r, snapshot: r.snapshot ?? null } : null;
}

async function gather(dir: string): Promise<InspectReport> {
  const logDir = checkLogDir(dir);
  const writer = lockState(logDir.dir);
  let damage: DamageReport | null = null;
  let wal;
  try {
    wal = await openReadOnly(logDir.dir, 'tolerateTail');
  } catch (err) {
    if (!(err instanceof WalCorruptError)) throw err;
    damage = damageOf(err);
    wal = await openReadOnly(logDir.dir, 'salvage');
  }
  try {
    const segs = wal.segments();
    const segments: SegmentRow[] = segs.map((s, k) => ({
      ...s,
      state: s.sealed ? 'sealed' : k === segs.length - 1 ? 'active' : 'unsealed',
    }));
    const segNames = new Set(segs.map((s) => s.name));
    const files = logDir.files
      .filter((name) => !segNames.has(name))
      .map((name) => {
        let size = 0;
        try {
          size = fs.lstatSync(path.join(logDir.dir, name)).size;
        } catch {
          // Removed since the listing (a writer rotating): report it as empty.
        }
        return { name, bytes: size, role: roleOf(name) };
      });
    return {
      dir: logDir.dir,
      writer,
      firstIndex: wal.firstIndex,
      lastIndex: wal.lastIndex,
      recovery: wal.recovery,
      damage,
      segments,
      files,
      raft: readRaft(logDir.dir, logDir.files),
    };
  } finally {
    await wal.close();
  }
}

function recoveryLine(r: InspectReport): string {
  if (r.damage) {
    return `DAMAGED: ${describeDamage(r.damage)}; the default recovery refuses to open this log. Shown: what salvage mode reads.`;
  }
  const rec = r.recovery;
  const t = rec.truncated;
  if (t) {
    return (
      `torn tail in ${t.segment} at byte ${t.offset} (index ${t.fromIndex} on, ${count(t.bytes)} bytes: ${t.reason}); ` +
      'the next writable open cuts it'
    );
  }
  return rec.clean ? 'closed cleanly' : 'not closed cleanly (a crash, or a writer still running); no torn tail';
}

function raftLines(raft: RaftView, walLast: number): string[] {
  const out = ['  raft'];
  const row = (k: string, v: string): number => out.push(`    ${k.padEnd(11)}${v}`);
  const h = raft.hardState;
  row('hard state', `term ${count(h.term)}, vote ${h.vote === 0 ? 'none' : h.vote}, commit ${count(h.commit)}`);
  const c = raft.confState;
  const joint = c.votersOutgoing.length > 0 ? `; outgoing voters [${c.votersOutgoing.join(', ')}] (joint)` : '';
  row('members', `voters [${c.voters.join(', ')}], learners [${c.learners.join(', ')}]${joint}`);
  const ahead = walLast > raft.lastIndex ? ` (${count(walLast - raft.lastIndex)} uncommitted entries after it are cut at the next open)` : '';
  row('log', `committed through ${count(raft.lastIndex)} (term ${count(raft.lastTerm)})${ahead}`);
  if (raft.prevIndex > 0) row('compacted', `through ${count(raft.prevIndex)} (term ${count(raft.prevTerm)})`);
  const s = raft.snapshot;
  row('snapshot', s ? `index ${count(s.index)}, term ${count(s.term)}: ${s.file}, ${bytes(s.bytes)}` : 'none');
  const keys = Object.keys(raft.meta).sort();
  if (keys.length > 0) row('meta', keys.map((k) => `${k}=${raft.meta[k]}`).join(', '));
  return out;
}

function text(r: InspectReport): string[] {
  const out = [`walnut inspect ${r.dir}`];
  const row = (k: string, v: string): number => out.push(`  ${k.padEnd(11)}${v}`);
  row(
    'writer',
    r.writer.state === 'held'
      ? `pid ${r.writer.pid} has the log open (this is a snapshot; inspecting takes no lock)`
      : r.writer.state === 'free'
        ? 'none'
        : 'unknown (no /proc/locks on this system)',
  );
  const n = r.lastIndex - r.firstIndex + 1;
  row('records', n > 0 ? `${count(r.firstIndex)} .. ${count(r.lastIndex)} (${count(n)})` : `none (next index ${count(r.firstIndex)})`);
  row('recovery', recoveryLine(r));
  row(
    'open cost',
    `${r.recovery.scannedSegments} of ${r.recovery.segments} segments scanned (sealed ones load their index), ${r.recovery.durationMs.toFixed(1)} ms`,
  );
  const alloc = r.segments.reduce((a, s) => a + s.fileBytes, 0);
  const used = r.segments.reduce((a, s) => a + s.usedBytes, 0);
  row('disk', `${r.segments.length} segment${r.segments.length === 1 ? '' : 's'}, ${bytes(alloc)} allocated, ${bytes(used)} used`);
  out.push('');
  const rows = r.segments.map((s) => {
    const records = Math.max(0, s.lastIndex - Math.max(s.firstIndex, r.firstIndex) + 1);
    return [
      s.name,
      count(s.firstIndex),
      s.lastIndex >= s.firstIndex ? count(s.lastIndex) : '-',
      count(records),
      bytes(s.usedBytes),
      bytes(s.fileBytes),
      s.state,
      time(s.createdMs),
    ];
  });
  for (const line of table(['segment', 'first', 'last', 'records', 'used', 'size', 'state', 'created'], rows)) {
    out.push('  ' + line);
  }
  if (r.raft) out.push('', ...raftLines(r.raft, r.lastIndex));
  if (r.files.length > 0) {
    out.push('');
    for (const line of table(
      ['file', 'size', 'what'],
      r.files.map((f) => [f.name, bytes(f.bytes), f.role]),
    )) {
      out.push('  ' + line);
    }
  }
  return out;
}

/** `walnut inspect`. */
export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'show segments, index ranges, sizes, recovery state and other files',
  help: `Usage: walnut inspect [options] <dir>

Shows what the log in <dir> holds: every segment with its index range, used
and allocated bytes and state (sealed, or active: taking appends), what
recovery finds (clean close, a torn tail the next writable open would cut,
or damage), who has the log open, and the other files of the directory
(metadata, Raft metadata and snapshots). Opens the log read-only: no lock is
taken and nothing changes.

Options:
  --json      print the report as JSON on stdout
  -h, --help  this help

Exit codes:
  0  shown
  1  the log is damaged (the report shows what salvage mode reads, and where the damage is)
  4  <dir> is missing, not a directory, or not a walnut log
  5  any other failure`,
  options: {
    json: { type: 'boolean' },
  },
  async run(positionals, values, io) {
    const dir = oneDir(positionals);
    let report: InspectReport;
    try {
      report = await gather(dir);
    } catch (err) {
      throw toCliError(err, dir);
    }
    if (values.json) println(io.stdout, JSON.stringify(report, null, 2));
    else for (const line of text(report)) println(io.stdout, line);
    return report.damage ? ExitCode.DAMAGED : ExitCode.OK;
  },
};
