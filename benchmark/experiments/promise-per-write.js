'use strict';
/**
 * What the promises of group commit cost in JavaScript alone: 64 writers
 * each await a value per write, and a loop resolves every waiting write once
 * per turn of the event loop (as one completed sync does), with no native
 * calls. Three ways (benchmark/RESULTS.md, "One promise per sync"):
 *   per-write: a promise per write, resolved with its index (walnut's way);
 *   shared:    one promise per turn, each write a `.then` of it;
 *   floor:     one promise per turn, awaited with no per-write value.
 *
 *   node benchmark/experiments/promise-per-write.js
 */
const WRITERS = 64;
const TURNS = 20_000;

/** Microseconds per write of `waitFor(index)` under the loop above. */
async function perWrite(makeWaiter) {
  const total = WRITERS * TURNS;
  const { waitFor, release, pending } = makeWaiter();
  let issued = 0;
  const writer = async () => {
    while (issued < total) {
      issued++;
      await waitFor(issued);
    }
  };
  const t0 = performance.now();
  const all = Promise.all(Array.from({ length: WRITERS }, writer));
  while (issued < total || pending()) {
    await new Promise(setImmediate);
    release();
  }
  await all;
  return ((performance.now() - t0) * 1e3) / total;
}

function promiseEach() {
  let waiters = [];
  return {
    waitFor: (index) => new Promise((resolve, reject) => waiters.push({ index, resolve, reject })),
    release() {
      const ws = waiters;
      waiters = [];
      for (const w of ws) w.resolve(w.index);
    },
    pending: () => waiters.length > 0,
  };
}

function sharedPromise(withValue) {
  let group = null;
  let resolveGroup = null;
  return {
    waitFor(index) {
      group ??= new Promise((resolve) => (resolveGroup = resolve));
      return withValue ? group.then(() => index) : group;
    },
    release() {
      const resolve = resolveGroup;
      group = resolveGroup = null;
      resolve?.();
    },
    pending: () => group !== null,
  };
}

async function main() {
  for (let round = 0; round < 3; round++) {
    const a = await perWrite(promiseEach);
    const b = await perWrite(() => sharedPromise(true));
    const c = await perWrite(() => sharedPromise(false));
    console.log(`us per write: per-write ${a.toFixed(3)}, shared ${b.toFixed(3)}, floor ${c.toFixed(3)}`);
  }
}

main();
