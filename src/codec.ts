/**
 * Codecs: how values are turned into record bytes and back. The types of a
 * {@link Wal} follow its codec: `Wal<Buffer>` for `'bytes'`, `Wal<string>`
 * for `'utf8'`, `Wal<T>` for `'json'` or a custom codec.
 * @module
 */
import { WalInvalidArgumentError } from './errors';

/**
 * A custom codec.
 * @example
 * ```ts
 * const dates: Codec<Date> = {
 *   encode: (d) => d.toISOString(),
 *   decode: (b) => new Date(b.toString()),
 * };
 * const wal = await Wal.open('./dates', { codec: dates });
 * ```
 */
export interface Codec<T> {
  /**
 * Turns a value into the bytes to store (a string is stored as UTF-8).
 * @example
 * ```ts
 * const csv: Codec<string[]> = { encode: (row) => row.join(','), decode: (b) => b.toString().split(',') };
 * csv.encode(['a', 'b']); // 'a,b'
 * ```
 */
  encode(value: T): Uint8Array | string;
  /**
 * Turns stored bytes back into a value.
 * @example
 * ```ts
 * csv.decode(Buffer.from('a,b')); // ['a', 'b']
 * ```
 */
  decode(data: Buffer): T;
}

/**
 * A codec, by name or as an object.
 * @example
 * ```ts
 * const events = await Wal.open('./events', { codec: 'json' }); // Wal<unknown>
 * const lines = await Wal.open('./lines', { codec: 'utf8' }); // Wal<string>
 * ```
 */
export type CodecOption<T> = 'bytes' | 'utf8' | 'json' | Codec<T>;

const utf8: Codec<string> = {
  encode: (value) => {
    if (typeof value !== 'string') throw new WalInvalidArgumentError('the utf8 codec stores strings');
    return value;
  },
  decode: (data) => data.toString('utf8'),
};

const json: Codec<unknown> = {
  encode: (value) => {
    const text = JSON.stringify(value);
    if (text === undefined) throw new WalInvalidArgumentError('the value has no JSON representation');
    return text;
  },
  decode: (data) => JSON.parse(data.toString('utf8')) as unknown,
};

/** The codec to apply, or `undefined` for raw bytes. @internal */
export function resolveCodec<T>(option: CodecOption<T> | undefined): Codec<T> | undefined {
  if (option === undefined || option === 'bytes') return undefined;
  if (option === 'utf8') return utf8 as unknown as Codec<T>;
  if (option === 'json') return json as Codec<T>;
  if (typeof option === 'object' && typeof option.encode === 'function' && typeof option.decode === 'function') {
    return option;
  }
  throw new WalInvalidArgumentError(`unknown codec ${JSON.stringify(option)}`);
}
