/**
 * Text formatting for the CLI: sizes, tables, and the three record formats
 * of `walnut dump`.
 * @internal
 * @module
 */

/** `1536` -> `1.5 KiB`. */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

/** `1234567` -> `1,234,567`. */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** A Unix-ms time as local `YYYY-MM-DD HH:MM:SS`. */
export function time(ms: number): string {
  const d = new Date(ms);
  const p = (x: number): string => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Left-aligned columns; numbers (cells that look numeric) right-aligned. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const numeric = header.map((_, c) => rows.length > 0 && rows.every((r) => /^[\d,.]+$/.test(r[c])));
  const line = (cells: string[]): string =>
    cells
      .map((cell, c) => (numeric[c] ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** The payload as UTF-8 text, or `undefined` if it is not valid UTF-8. */
export function utf8(data: Uint8Array): string | undefined {
  try {
    return decoder.decode(data);
  } catch {
    return undefined;
  }
}

/**
 * One line of readable text: valid UTF-8 is shown as is, except control
 * characters and backslashes, which are escaped (`\n`, `\x07`, `\\`); bytes
 * that are not UTF-8 are shown as `\xNN`. So every record fits on one line
 * and no record can move the terminal's cursor.
 */
export function escapeText(data: Uint8Array): string {
  const text = utf8(data);
  if (text === undefined) {
    let out = '';
    for (const b of data) out += b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${hex2(b)}`;
    return out;
  }
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\\\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    switch (c) {
      case '\\':
        return '\\\\';
      case '\n':
        return '\\n';
      case '\r':
        return '\\r';
      case '\t':
        return '\\t';
      default: {
        const code = c.charCodeAt(0);
        return code < 0x100 ? `\\x${hex2(code)}` : `\\u${code.toString(16).padStart(4, '0')}`;
      }
    }
  });
}

function hex2(b: number): string {
  return b.toString(16).padStart(2, '0');
}

/** `hexdump -C` style lines: offset, 16 bytes in hex, the printable ASCII. */
export function hexLines(data: Uint8Array): string[] {
  const out: string[] = [];
  for (let at = 0; at < data.length; at += 16) {
    const row = data.subarray(at, at + 16);
    let hex = '';
    let ascii = '';
    for (let k = 0; k < 16; k++) {
      if (k === 8) hex += ' ';
      if (k < row.length) {
        hex += hex2(row[k]) + ' ';
        ascii += row[k] >= 0x20 && row[k] < 0x7f ? String.fromCharCode(row[k]) : '.';
      } else {
        hex += '   ';
      }
    }
    out.push(`  ${at.toString(16).padStart(8, '0')}  ${hex} |${ascii}|`);
  }
  return out;
}
