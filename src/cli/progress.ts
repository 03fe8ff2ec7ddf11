/**
 * A progress bar for long scans. It draws on standard error only when that is
 * a terminal, so piped or redirected output never contains it.
 * @internal
 * @module
 */
import { bytes, count } from './format';

type Stream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

/** Options of {@link Progress}. */
export interface ProgressOptions {
  /** Draw even if the stream is not a terminal (`false`: never draw). Default: whether it is a TTY. */
  enabled?: boolean;
  /** Stay silent until the scan has run this long, so quick scans do not flicker. */
  delayMs?: number;
}

/** A one-line progress bar redrawn in place with `\r`. */
export class Progress {
  readonly #stream: Stream;
  readonly #label: string;
  readonly #total: number;
  readonly #enabled: boolean;
  readonly #started = Date.now();
  readonly #delayMs: number;
  #lastDraw = 0;
  #drawn = false;

  /** @param stream where to draw (standard error)
   *  @param label what is being done ("verify")
   *  @param total records to process
   *  @param options see {@link ProgressOptions} */
  constructor(stream: Stream, label: string, total: number, options: ProgressOptions = {}) {
    this.#stream = stream;
    this.#label = label;
    this.#total = total;
    this.#enabled = options.enabled ?? stream.isTTY === true;
    this.#delayMs = options.delayMs ?? 250;
  }

  /** Reports `done` records (and `doneBytes` bytes) processed; redraws at most 10 times a second. */
  update(done: number, doneBytes: number): void {
    if (!this.#enabled) return;
    const now = Date.now();
    if (now - this.#started < this.#delayMs) return;
    if (this.#drawn && now - this.#lastDraw < 100 && done < this.#total) return;
    this.#lastDraw = now;
    this.#drawn = true;
    const width = Math.max(40, Math.min(this.#stream.columns ?? 80, 120));
    const frac = this.#total > 0 ? Math.min(1, done / this.#total) : 1;
    const secs = Math.max((now - this.#started) / 1000, 0.001);
    const tail = ` ${String(Math.floor(frac * 100)).padStart(3)}% ${count(done)}/${count(this.#total)} ${bytes(doneBytes / secs)}/s`;
    const barWidth = Math.max(10, width - this.#label.length - tail.length - 4);
    const filled = Math.round(frac * barWidth);
    const bar = '#'.repeat(filled) + '-'.repeat(barWidth - filled);
    this.#stream.write(`\r${this.#label} [${bar}]${tail}`.slice(0, width));
  }

  /** Erases the bar (if it was drawn) so the report starts on a clean line. */
  done(): void {
    if (!this.#drawn) return;
    const width = Math.max(40, Math.min(this.#stream.columns ?? 80, 120));
    this.#stream.write('\r' + ' '.repeat(width) + '\r');
    this.#drawn = false;
  }
}
