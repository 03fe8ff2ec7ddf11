/**
 * `walnut <command>`: inspect, verify, dump and bench, run in-process through
 * the same entry point as the bin (streams captured), on real log
 * directories that real writers produced, crashed or damaged.
 */
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { RaftStorage, Wal } from '../src';
import { run } from '../src/cli/main';
import { DIST, tempDir } from './helpers';

const CLI = resolve(__dirname, '..', 'dist', 'cli.js');
const SMALL = { segmentSize: 16 * 1024, maxRecordSize: 4 * 1024 };
const onLinux = process.platform === 'linux' ? test : test.skip;

/** A writable stream that keeps what is written, optionally posing as a terminal. */
class Capture extends Writable {
  text = '';
  isTTY: boolean;
  columns = 100;
  constructor(tty = false) {
    super();
    this.isTTY = tty;
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

async function cli(
  argv: string[],
  options: { tty?: boolean; benchScript?: string; progressDelayMs?: number } = {},
): Promise<{ code: number; out: string; err: string }> {
  const stdout = new Capture();
  const stderr = new Capture(options.tty);
  const code = await run(argv, { stdout, stderr }, { benchScript: options.benchScript, progressDelayMs: options.progressDelayMs });
  return { code, out: stdout.text, err: stderr.text };
}

function record(i: number): string {
  return `record ${i} ` + 'x'.repeat(i % 90);
}

/** A closed log of `n` records in small segments. */
async function closedLog(t: { teardown: (f: () => void) => void }, n: number): Promise<string> {
  const { dir, cleanup } = tempDir('walnut-cli');
  t.teardown(cleanup);
  const wal = await Wal.open(dir, SMALL);
  for (let i = 1; i <= n; i++) wal.append(record(i));
  await wal.close();
  return dir;
}

/**
 * A log whose writer was killed with SIGKILL after appending `n` records, a
 * sync, and one more record (so later frames attest that the first `n` were
 * durable, as after any crash of a busy writer).
 */
function crashedLog(t: { teardown: (f: () => void) => void }, n: number): string {
  const { dir, cleanup } = tempDir('walnut-cli');
  t.teardown(cleanup);
  const src = `
    const { Wal } = require(${JSON.stringify(DIST)});
    const wal = Wal.openSync(${JSON.stringify(dir)}, ${JSON.stringify(SMALL)});
    for (let i = 1; i <= ${n}; i++) wal.append('record ' + i + ' ' + 'x'.repeat(i % 90));
    wal.sync().then(() => { wal.append('after the last sync'); process.kill(process.pid, 'SIGKILL'); });`;
  const r = spawnSync(process.execPath, ['-e', src], { encoding: 'utf8' });
  // Windows has no signals: a process that kills itself is terminated with
  // exit code 1, and the parent sees no signal.
  const killed = r.signal === 'SIGKILL' || (process.platform === 'win32' && r.status === 1 && r.stderr === '');
  if (!killed) throw new Error(`the writer was supposed to be killed: ${r.status} ${r.stderr}`);
  return dir;
}

function segmentFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.seg'))
    .sort();
}

/** Every file of a directory, by name. */
function snapshot(dir: string): Record<string, Buffer> {
  return Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f))]));
}

/** Flips one bit inside the payload of `record(i)` wherever it is stored. */
function flipBitIn(dir: string, i: number): string {
  const needle = Buffer.from(record(i));
  for (const f of segmentFiles(dir)) {
    const bytes = readFileSync(join(dir, f));
    const at = bytes.indexOf(needle);
    if (at >= 0) {
      bytes[at + 3] ^= 0x01;
      writeFileSync(join(dir, f), bytes);
      return f;
    }
  }
  throw new Error(`record ${i} not found`);
}

/** Writes half a frame right after the last record of the last segment: a torn write. */
function tearTail(dir: string): void {
  const last = join(dir, segmentFiles(dir).at(-1)!);
  const bytes = readFileSync(last);
  let end = bytes.length - 64;
  while (end > 0 && bytes[end - 1] === 0) end--;
  const at = Math.ceil(end / 8) * 8;
  Buffer.from('\x40\x00\x00\x00half-written frame').copy(bytes, at);
  writeFileSync(last, bytes);
}

test('inspect lists every segment with its index range, sizes and state', async (t) => {
  const dir = await closedLog(t, 500);
  const { code, out } = await cli(['inspect', '--json', dir]);
  t.is(code, 0);
  const report = JSON.parse(out);
  const ro = await Wal.open(dir, { readOnly: true });
  const segments = ro.segments();
  await ro.close();
  t.true(segments.length > 2, 'small segments must have rotated');
  t.deepEqual(
    report.segments.map((s: { name: string; firstIndex: number; lastIndex: number; usedBytes: number }) => [s.name, s.firstIndex, s.lastIndex, s.usedBytes]),
    segments.map((s) => [s.name, s.firstIndex, s.lastIndex, s.usedBytes]),
  );
  t.deepEqual(
    report.segments.map((s: { state: string }) => s.state),
    [...segments.slice(1).map(() => 'sealed'), 'active'],
  );
  t.deepEqual([report.firstIndex, report.lastIndex], [1, 500]);
  t.true(report.recovery.clean);
  t.deepEqual(
    report.files.map((f: { name: string }) => f.name),
    ['LOCK', 'meta'],
  );

  const text = await cli(['inspect', dir]);
  t.is(text.code, 0);
  t.regex(text.out, /records\s+1 \.\. 500 \(500\)/);
  t.regex(text.out, /recovery\s+closed cleanly/);
  for (const s of segments) t.true(text.out.includes(s.name), `${s.name} is listed`);
});

onLinux('inspect names the process that holds the lock, and takes no lock itself', async (t) => {
  const { dir, cleanup } = tempDir('walnut-cli');
  t.teardown(cleanup);
  const writer = await Wal.open(dir, SMALL);
  writer.append('live');
  await writer.sync();
  const { code, out } = await cli(['inspect', '--json', dir]);
  t.is(code, 0);
  t.deepEqual(JSON.parse(out).writer, { state: 'held', pid: process.pid });
  // The writer keeps working: nothing the CLI did got in its way.
  t.is(await writer.write('still writing'), 2);
  await writer.close();
  t.deepEqual(JSON.parse((await cli(['inspect', '--json', dir])).out).writer, { state: 'free' });
});

test('verify reads every record of a clean log and exits 0', async (t) => {
  const dir = await closedLog(t, 700);
  const before = snapshot(dir);
  const { code, out } = await cli(['verify', '--json', dir]);
  t.is(code, 0);
  const r = JSON.parse(out);
  t.is(r.status, 'clean');
  t.is(r.checked.records, 700);
  let bytes = 0;
  for (let i = 1; i <= 700; i++) bytes += Buffer.byteLength(record(i));
  t.is(r.checked.bytes, bytes);
  t.true(r.cleanClose);
  t.deepEqual(r.damage, []);
  t.deepEqual(snapshot(dir), before, 'verify changed nothing');
  const text = await cli(['verify', dir]);
  t.is(text.code, 0);
  t.regex(text.out, /result\s+CLEAN/);
});

test('verify reports a torn tail after a crash with exit code 3, and changes nothing', async (t) => {
  const dir = crashedLog(t, 300);
  tearTail(dir);
  const before = snapshot(dir);
  const { code, out } = await cli(['verify', '--json', dir]);
  t.is(code, 3);
  const r = JSON.parse(out);
  t.is(r.status, 'tornTail');
  t.is(r.tornTail.fromIndex, 302, 'the records before the torn write, the unsynced one included, are intact');
  t.is(r.checked.records, 301);
  t.false(r.cleanClose);
  t.deepEqual(r.damage, []);
  t.deepEqual(snapshot(dir), before, 'verify changed nothing');

  // The next writable open cuts the tail; the log is then clean.
  const wal = await Wal.open(dir, SMALL);
  t.is(wal.recovery.truncated?.fromIndex, 302);
  await wal.close();
  t.is((await cli(['verify', dir])).code, 0);
});

test('verify finds a flipped bit in a sealed segment, names the record, and exits 1', async (t) => {
  const dir = await closedLog(t, 500);
  const file = flipBitIn(dir, 42);
  t.is(file, segmentFiles(dir)[0], 'record 42 lives in the first, sealed segment');
  const before = snapshot(dir);
  const { code, out } = await cli(['verify', '--json', dir]);
  t.is(code, 1);
  const r = JSON.parse(out);
  t.is(r.status, 'damaged');
  t.deepEqual(
    r.damage.map((d: { file: string; index: number }) => [d.file, d.index]),
    [[file, 42]],
  );
  t.true(r.opensWithDefaultRecovery, 'sealed segments are not scanned at open');
  t.is(r.checked.records, 499, 'every other record was still checked');
  t.deepEqual(snapshot(dir), before);
  const text = await cli(['verify', dir]);
  t.regex(text.out, /damage\s+0+1\.seg at byte \d+ \(index 42\): frame checksum mismatch/);
  t.regex(text.out, /result\s+DAMAGED/);
});

test('damage the default recovery refuses: verify says so, dump --salvage prints what comes before it', async (t) => {
  const dir = crashedLog(t, 300);
  const file = flipBitIn(dir, 250);
  t.is(file, segmentFiles(dir).at(-1)!, 'record 250 lives in the active segment');
  const { code, out } = await cli(['verify', '--json', dir]);
  t.is(code, 1);
  const r = JSON.parse(out);
  t.false(r.opensWithDefaultRecovery);
  t.is(r.damage[0].index, 250);
  t.regex(r.damage[0].reason, /later records prove it was durable/);
  t.is(r.lastIndex, 249, 'salvage mode reads up to the damage');

  const inspect = await cli(['inspect', dir]);
  t.is(inspect.code, 1);
  t.regex(inspect.out, /recovery\s+DAMAGED: .*index 250/);

  const refused = await cli(['dump', dir]);
  t.is(refused.code, 1);
  t.regex(refused.err, /walnut dump --salvage/);
  const salvaged = await cli(['dump', '--salvage', '--from', '248', dir]);
  t.is(salvaged.code, 1, 'exit 1: the log is damaged, even though records were printed');
  t.is(salvaged.out, `248\t${record(248)}\n249\t${record(249)}\n`);
  t.regex(salvaged.err, /salvage stopped at the damage: .*index 250/);
});

test('a wrong directory exits with 4 and says what is wrong', async (t) => {
  const { dir, cleanup } = tempDir('walnut-cli');
  t.teardown(cleanup);
  for (const cmd of ['inspect', 'verify', 'dump']) {
    const missing = await cli([cmd, dir]);
    t.is(missing.code, 4);
    t.regex(missing.err, /no such directory/);
  }
  mkdirSync(dir);
  writeFileSync(join(dir, 'notes.txt'), 'hello');
  const empty = await cli(['verify', dir]);
  t.is(empty.code, 4);
  t.regex(empty.err, /not a walnut log \(no segment files/);
  const file = await cli(['inspect', join(dir, 'notes.txt')]);
  t.is(file.code, 4);
  t.regex(file.err, /not a directory/);
});

test('dump prints records as text, hex or JSON lines, within --from, --to and --limit', async (t) => {
  const { dir, cleanup } = tempDir('walnut-cli');
  t.teardown(cleanup);
  const wal = await Wal.open(dir, SMALL);
  wal.append('plain');
  wal.append('two\nlines\tand a tab \\ backslash');
  wal.append(Buffer.from([0x00, 0xff, 0x41]));
  wal.append('héllo ☃');
  await wal.close();

  const text = await cli(['dump', dir]);
  t.is(text.code, 0);
  t.is(text.out, '1\tplain\n2\ttwo\\nlines\\tand a tab \\\\ backslash\n3\t\\x00\\xffA\n4\théllo ☃\n');

  const json = await cli(['dump', '--format', 'json', '--from', '3', dir]);
  t.deepEqual(
    json.out.trim().split('\n').map((l) => JSON.parse(l)),
    [
      { index: 3, size: 3, base64: Buffer.from([0x00, 0xff, 0x41]).toString('base64') },
      { index: 4, size: Buffer.byteLength('héllo ☃'), utf8: 'héllo ☃' },
    ],
  );

  const hex = await cli(['dump', '--format', 'hex', '--from', '1', '--to', '1', dir]);
  t.is(hex.out, '1 (5 bytes)\n  00000000  70 6c 61 69 6e' + ' '.repeat(36) + '|plain|\n');

  const limited = await cli(['dump', '--from', '2', '--limit', '2', dir]);
  t.deepEqual(
    limited.out.trim().split('\n').map((l) => l.split('\t')[0]),
    ['2', '3'],
  );
  const to = await cli(['dump', '--to', '2', dir]);
  t.deepEqual(
    to.out.trim().split('\n').map((l) => l.split('\t')[0]),
    ['1', '2'],
  );
});

test('dump refuses ranges outside the log and bad options with exit code 2', async (t) => {
  const { dir, cleanup } = tempDir('walnut-cli');
  t.teardown(cleanup);
  const wal = await Wal.open(dir, SMALL);
  for (let i = 1; i <= 10; i++) wal.append(record(i));
  wal.truncateBefore(5);
  await wal.close();
  const cases: [string[], RegExp][] = [
    [['--from', '2'], /before the first index 5 \(earlier records were compacted away\)/],
    [['--from', '11'], /after the last index 10/],
    [['--from', '8', '--to', '7'], /--to 7 is before --from 8/],
    [['--limit', 'many'], /--limit must be a non-negative integer/],
    [['--from', '-1'], /--from/],
    [['--format', 'xml'], /--format must be one of text, hex, json/],
  ];
  for (const [args, message] of cases) {
    const r = await cli(['dump', ...args, dir]);
    t.is(r.code, 2, args.join(' '));
    t.regex(r.err, message);
    t.is(r.out, '');
  }
  t.is((await cli(['dump', '--from', '5', '--limit', '1', dir])).out, `5\t${record(5)}\n`);
});

test('every command has --help; wrong usage exits with 2', async (t) => {
  for (const cmd of ['inspect', 'verify', 'dump', 'bench']) {
    const help = await cli([cmd, '--help']);
    t.is(help.code, 0, cmd);
    t.true(help.out.startsWith(`Usage: walnut ${cmd}`), cmd);
    t.regex(help.out, /Exit codes:/);
    t.deepEqual(await cli(['help', cmd]), help);
    const unknown = await cli([cmd, '--frobnicate']);
    t.is(unknown.code, 2, cmd);
    t.regex(unknown.err, new RegExp(`walnut ${cmd}: Unknown option '--frobnicate'`));
  }
  const top = await cli(['--help']);
  t.is(top.code, 0);
  for (const cmd of ['inspect', 'verify', 'dump', 'bench']) t.regex(top.out, new RegExp(`^  ${cmd} `, 'm'));
  t.is((await cli([])).code, 2, 'no command');
  const bad = await cli(['inspekt', '/tmp']);
  t.is(bad.code, 2);
  t.regex(bad.err, /unknown command "inspekt"/);
  t.is((await cli(['verify'])).code, 2, 'no directory');
  t.is((await cli(['verify', 'a', 'b'])).code, 2, 'two directories');
  const version = await cli(['--version']);
  t.is(version.out.trim(), JSON.parse(readFileSync(resolve(__dirname, '..', 'package.json'), 'utf8')).version);
});

test('the progress bar draws on a terminal and nothing is drawn when stderr is piped', async (t) => {
  const dir = await closedLog(t, 3000);
  const tty = await cli(['verify', dir], { tty: true, progressDelayMs: 0 });
  t.is(tty.code, 0);
  t.regex(tty.err, /\rverify \[#+-*\]\s+\d+% [\d,]+\/3,000 /);
  t.true(tty.err.endsWith('\r'), 'the bar is erased before the report');
  t.false(tty.out.includes('\r'), 'the report itself has no bar in it');
  const piped = await cli(['verify', dir], { progressDelayMs: 0 });
  t.is(piped.err, '');
  const off = await cli(['verify', '--no-progress', dir], { tty: true, progressDelayMs: 0 });
  t.is(off.err, '');
});

test('bench runs the harness in quick mode and reports its failure with exit code 5', async (t) => {
  const { dir, cleanup } = tempDir('walnut-cli');
  t.teardown(cleanup);
  mkdirSync(dir);
  const script = join(dir, 'run.js');
  writeFileSync(script, 'console.log(JSON.stringify(process.argv.slice(2))); process.exitCode = process.argv.includes("--fail") ? 3 : 0;');
  const quick = await cli(['bench'], { benchScript: script });
  t.is(quick.code, 0);
  t.deepEqual(JSON.parse(quick.out), ['--quick']);
  t.deepEqual(JSON.parse((await cli(['bench', '--full'], { benchScript: script })).out), []);
  const failed = await cli(['bench', '--', '--fail'], { benchScript: script });
  t.is(failed.code, 5);
  t.regex(failed.err, /the benchmark harness failed \(exit code 3\)/);
  const missing = await cli(['bench'], { benchScript: join(dir, 'nope.js') });
  t.is(missing.code, 5);
  t.regex(missing.err, /not part of this installation/);
});

test('the bin runs as a program and stops quietly when its reader goes away', async (t) => {
  const dir = await closedLog(t, 2000);
  // Like `walnut dump dir | head -1`.
  const child = spawn(process.execPath, [CLI, 'dump', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const first = await new Promise<string>((done) => {
    child.stdout.once('data', (d: Buffer) => {
      child.stdout.destroy();
      done(d.toString().split('\n')[0]);
    });
  });
  const code = await new Promise<number | null>((done) => child.on('close', (c) => done(c)));
  t.is(first, `1\t${record(1)}`);
  t.is(code, 0);
  t.is(err, '');
});

test('an encrypted log is verified and dumped with its keys from --key-file, and says so without them', async (t) => {
  const { dir, cleanup } = tempDir('walnut-cli');
  t.teardown(cleanup);
  const key = Buffer.alloc(32, 7);
  const wal = await Wal.open(dir, { ...SMALL, encryption: { keys: [{ id: 3, key }], activeKeyId: 3 } });
  for (let i = 1; i <= 20; i++) wal.append(record(i));
  await wal.close();
  const keyFile = join(dir, '..', 'keys.txt');
  writeFileSync(keyFile, `# the log's keys\n3:${key.toString('hex')}\n`);

  const without = await cli(['verify', dir]);
  t.is(without.code, 5);
  t.regex(without.err, /ERR_WAL_BAD_KEY|bad encryption key/);
  t.regex(without.err, /--key-file/);

  const verified = await cli(['verify', '--json', '--key-file', keyFile, dir]);
  t.is(verified.code, 0);
  t.is(JSON.parse(verified.out).checked.records, 20);
  const dumped = await cli(['dump', '--key-file', keyFile, '--from', '20', dir]);
  t.is(dumped.out, `20\t${record(20)}\n`);

  writeFileSync(keyFile, '3:not-hex\n');
  const bad = await cli(['dump', '--key-file', keyFile, dir]);
  t.is(bad.code, 2);
  t.regex(bad.err, /keys\.txt:1: expected "<id>:<64 hex digits>"/);
});

test('inspect shows the committed Raft state of Raft storage, read without opening it', async (t) => {
  const { dir, cleanup } = tempDir('walnut-cli');
  t.teardown(cleanup);
  const rs = await RaftStorage.open(dir, SMALL);
  const entries = Array.from({ length: 12 }, (_, i) => ({ index: i + 1, term: i < 6 ? 1 : 2, data: Buffer.from(`cmd ${i + 1}`) }));
  await rs.save({
    hardState: { term: 2, vote: 3, commit: 10 },
    confState: { voters: [1, 2, 3], learners: [4], votersOutgoing: [], learnersNext: [], autoLeave: false },
    entries,
  });
  await rs.createSnapshot(8, { voters: [1, 2, 3], learners: [4], votersOutgoing: [], learnersNext: [], autoLeave: false }, Buffer.from('image'));
  // The storage stays open: inspect must neither need nor take its lock.
  const before = snapshot(dir);
  const { code, out } = await cli(['inspect', '--json', dir]);
  t.is(code, 0);
  const raft = JSON.parse(out).raft;
  t.deepEqual(raft.hardState, { term: 2, vote: 3, commit: 10 });
  t.deepEqual([raft.confState.voters, raft.confState.learners], [[1, 2, 3], [4]]);
  t.deepEqual([raft.lastIndex, raft.lastTerm], [12, 2]);
  t.is(raft.snapshot.index, 8);
  t.is(raft.snapshot.term, 2);
  t.is(raft.snapshot.bytes, 5);
  t.deepEqual(snapshot(dir), before);
  const text = await cli(['inspect', dir]);
  t.regex(text.out, /hard state term 2, vote 3, commit 10/);
  t.regex(text.out, /members\s+voters \[1, 2, 3\], learners \[4\]/);
  t.regex(text.out, /snapshot\s+index 8, term 2: raft-snap-\d{20}, 5 B/);
  await rs.close();
  t.is(JSON.parse((await cli(['inspect', '--json', await closedLog(t, 3)])).out).raft, null, 'a plain log has no Raft state');
});
