// Reads return views of a shared slab, one per record. `buf.subarray()`
// finds the class of its result through `constructor[Symbol.species]`, which
// costs V8 about 60 ns here; constructing a typed array of a known class
// costs about 23 (benchmark/RESULTS.md). Node's own Buffer class is built
// the same way as this one (its internal FastBuffer: a Uint8Array subclass
// whose prototype inherits Buffer.prototype), so a view is a Buffer in every
// respect a caller can see: `Buffer.isBuffer`, `instanceof Buffer`,
// `.constructor === Buffer`, Buffer methods, `util.inspect`, and its own
// subarrays are Buffers (Node's `Buffer[Symbol.species]`).
class BufferView extends Uint8Array {}
Object.setPrototypeOf(BufferView.prototype, Buffer.prototype);
Object.defineProperty(BufferView.prototype, 'constructor', {
  value: Buffer,
  writable: true,
  configurable: true,
});

/**
 * A Buffer over `length` bytes of `memory` from `byteOffset` on. The caller
 * passes the ArrayBuffer rather than a Buffer over it because `.buffer` is a
 * call into V8's runtime (about 20 ns), which a caller making many views of
 * one buffer can read once.
 */
export function view(memory: ArrayBuffer, byteOffset: number, length: number): Buffer {
  return new BufferView(memory, byteOffset, length) as unknown as Buffer;
}
