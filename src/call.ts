/**
 * Calls into the native layer, turning its errors into typed ones.
 * @internal
 * @module
 */
import { fromNative } from './errors';

/** Runs `f`, rethrowing native errors as their `WalError` subclass. @internal */
export function call<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw fromNative(err);
  }
}

/** Awaits `p`, rethrowing native errors as their `WalError` subclass. @internal */
export async function settle<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw fromNative(err);
  }
}
