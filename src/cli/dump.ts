/**
 * `walnut dump <dir>`: prints records as text, hex or JSON lines.
 * @internal
 * @module
 */
import { WalCorruptError } from '../errors';
import { type Command, intOption, oneDir } from './command';
import { escapeText, hexLines, utf8 } from './format';
import { CliError, ExitCode } from './io';
import { checkLogDir, describeDamage, openReadOnly, readKeyFile, toCliError } from './open';
import { Progress } from './progress';

type Format = 'text' | 'hex' | 'json';
const FORMATS: readonly Format[] = ['text', 'hex', 'json'];

/** The lines that show one record in a format. */
export function formatRecord(format: Format, index: number, data: Buffer): string {
  switch (format) {
    case 'text':
      return `${index}\t${escapeText(data)}\n`;
    case 'hex':
      return [`${index} (${data.length} bytes)`, ...hexLines(data), ''].join('\n');
    case 'json': {
      const text = utf8(data);
      const body = text === undefined ? { base64: data.toString('base64') } : { utf8: text };
      return JSON.stringify({ index, size: data.length, ...body }) + '\n';
    }
  }
}

/** Writes to a stream, waiting when it is full; false once the reader went away (EPIPE). */
class Sink {
  #closed = false;
  #stream: NodeJS.WritableStream;
  #pending = '';

  constructor(stream: NodeJS.WritableStream) {
    this.#stream = stream;
    stream.on('error', (err: NodeJS.ErrnoException) => {
      // `walnut dump | head`: the reader left; that is not an error.
      if (err.code === 'EPIPE') this.#closed = true;
      else throw err;
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  async write(text: string): Promise<void> {
    this.#pending += text;
    if (this.#pending.length >= 1 << 16) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.#pending === '' || this.#closed) return;
    const chunk = this.#pending;
    this.#pending = '';
    if (!this.#stream.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.#stream.off('drain', done);
          this.#stream.off('error', done);
          resolve();
        };
        this.#stream.on('drain', done);
        this.#stream.on('error', done);
      });
    }
  }
}

/** `walnut dump`. */
export const dumpCommand: Command = {
  name: 'dump',
  summary: 'print records in a range as text, hex or JSON lines',
  help: `Usage: walnut dump [options] <dir>

Prints the records of the log in <dir>, one per line (text, json) or as a
hex dump (hex). Opens the log read-only: no lock is taken, nothing changes.

Options:
  --from <index>     first record to print (default: the first index)
  --to <index>       last record to print, inclusive (default: the last index)
  --limit <n>        print at most n records
  --format <format>  text (default): "<index><TAB><payload>"; UTF-8 shown as is,
                       control characters and other bytes escaped (\\n, \\xNN)
                     hex: "<index> (<size> bytes)" and a hexdump -C style dump
                     json: one object per line: {"index":1,"size":5,"utf8":"hello"},
                       with "base64" instead of "utf8" when the payload is not UTF-8
  --salvage          read a damaged log up to the damage (recovery mode 'salvage')
  --key-file <file>  keys of an encrypted log, one per line: <id>:<64 hex digits>
  --no-progress      no progress bar (drawn on stderr when stderr is a terminal
                       and stdout is not)
  -h, --help         this help

Exit codes:
  0  printed (also when the reader closes the pipe early, as head does)
  1  the log, or a record in the range, is damaged; records before it were printed
  2  a bad option, or a range outside the log
  4  <dir> is missing, not a directory, or not a walnut log
  5  any other failure`,
  options: {
    from: { type: 'string' },
    to: { type: 'string' },
    limit: { type: 'string' },
    format: { type: 'string' },
    salvage: { type: 'boolean' },
    'key-file': { type: 'string' },
    'no-progress': { type: 'boolean' },
  },
  async run(positionals, values, io, ctx) {
    const dir = oneDir(positionals);
    const format = (values.format ?? 'text') as Format;
    if (!FORMATS.includes(format)) {
      throw new CliError(`--format must be one of ${FORMATS.join(', ')}, got ${JSON.stringify(values.format)}`, ExitCode.USAGE);
    }
    const limit = intOption(values, 'limit');
    const fromOpt = intOption(values, 'from');
    const toOpt = intOption(values, 'to');
    const keyFile = values['key-file'];
    const keys = typeof keyFile === 'string' ? readKeyFile(keyFile) : undefined;
    let wal;
    try {
      checkLogDir(dir);
      wal = await openReadOnly(dir, values.salvage ? 'salvage' : 'tolerateTail', keys);
    } catch (err) {
      const e = toCliError(err, dir);
      if (err instanceof WalCorruptError) e.message += `\nto print the records before the damage: walnut dump --salvage ${dir}`;
      throw e;
    }
    try {
      const first = wal.firstIndex;
      const last = wal.lastIndex;
      const from = fromOpt ?? first;
      let to = toOpt ?? last;
      if (from < first) {
        throw new CliError(`--from ${from} is before the first index ${first} (earlier records were compacted away)`, ExitCode.USAGE);
      }
      if (toOpt !== undefined && toOpt < from) throw new CliError(`--to ${toOpt} is before --from ${from}`, ExitCode.USAGE);
      if (fromOpt !== undefined && from > last) {
        throw new CliError(`--from ${from} is after the last index ${last}`, ExitCode.USAGE);
      }
      to = Math.min(to, last);
      if (limit !== undefined) to = Math.min(to, from + limit - 1);
      const sink = new Sink(io.stdout);
      const progress = new Progress(io.stderr, 'dump', Math.max(0, to - from + 1), {
        enabled: values['no-progress'] ? false : (ctx.progress ?? (io.stderr.isTTY === true && io.stdout.isTTY !== true)),
        delayMs: ctx.progressDelayMs,
      });
      let next = from;
      let done = 0;
      try {
        while (next <= to && !sink.closed) {
          const end = Math.min(to + 1, next + 1024);
          let chunk;
          try {
            chunk = wal.readRange(next, end, { maxBytes: 4 << 20 });
          } catch (err) {
            if (!(err instanceof WalCorruptError)) throw err;
            // Print the good records before the damaged one; `read` throws there.
            for (; next < end; next++) {
              const data = wal.read(next);
              done += data.length;
              await sink.write(formatRecord(format, next, data));
            }
            continue;
          }
          for (const e of chunk) {
            done += e.data.length;
            await sink.write(formatRecord(format, e.index, e.data));
          }
          next += chunk.length;
          progress.update(next - from, done);
        }
      } catch (err) {
        await sink.flush();
        progress.done();
        if (err instanceof WalCorruptError) {
          throw new CliError(
            `${dir}: record ${err.index} is damaged: ${describeDamage(err)}\nrecords ${from} .. ${err.index - 1} were printed`,
            ExitCode.DAMAGED,
          );
        }
        throw toCliError(err, dir);
      }
      await sink.flush();
      progress.done();
      const damage = wal.recovery.damage;
      if (damage && (toOpt === undefined || toOpt > last) && !sink.closed) {
        io.stderr.write(`walnut dump: salvage stopped at the damage: ${describeDamage(damage)}\n`);
        return ExitCode.DAMAGED;
      }
      return ExitCode.OK;
    } finally {
      await wal.close();
    }
  },
};
