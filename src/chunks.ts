// `Wal#entries()` reads a chunk of entries per native call and hands them
// out one by one. As a generator (`for (const e of chunk) yield e`) that cost
// about 35 ns per entry in V8 here, a tenth of a 1 KiB entry's whole scan;
// this iterator costs 3-6 ns, because a `for...of` loop that inlines `next()`
// never materialises its result objects (benchmark/RESULTS.md). It behaves
// as the generator did: nothing is fetched before the first `next()`, a
// `break` (`return()`) or an error ends it for good, and it inherits
// %IteratorPrototype% (so Node 22's iterator helpers work on it).

/** The next chunk of entries, or `undefined` (or an empty chunk) at the end. */
export type FetchChunk<E> = () => E[] | undefined;

/** An iterator over entries fetched a chunk at a time. */
export class ChunkIterator<E> implements IterableIterator<E> {
  #fetch: FetchChunk<E> | undefined;
  #chunk: E[] = [];
  #at = 0;

  constructor(fetch: FetchChunk<E>) {
    this.#fetch = fetch;
  }

  next(): IteratorResult<E, undefined> {
    while (this.#at === this.#chunk.length) {
      if (!this.#fetch) return { value: undefined, done: true };
      let chunk: E[] | undefined;
      try {
        chunk = this.#fetch();
      } catch (err) {
        this.#fetch = undefined;
        throw err;
      }
      if (!chunk || chunk.length === 0) return this.return();
      this.#chunk = chunk;
      this.#at = 0;
    }
    return { value: this.#chunk[this.#at++], done: false };
  }

  /** Ends the iteration (a `for...of` loop calls it on `break`). */
  return(): IteratorResult<E, undefined> {
    this.#fetch = undefined;
    this.#chunk = [];
    this.#at = 0;
    return { value: undefined, done: true };
  }

  [Symbol.iterator](): this {
    return this;
  }
}

Object.setPrototypeOf(
  ChunkIterator.prototype,
  Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]())) as object,
);
